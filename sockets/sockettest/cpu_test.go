//go:build linux

package sockettest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCPU: SelfCPU grows with this process's own work, and the processor
// time a child spent computing shows in ChildrenCPU of its parent.
func TestCPU(t *testing.T) {
	before, err := SelfCPU()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 50_000_000 {
		x ^= i * i
	}
	if after, _ := SelfCPU(); after <= before {
		t.Errorf("SelfCPU did not grow (%v → %v; x=%d)", before, after, x)
	}

	// A child of this process counts to 300,000 in the shell (well over
	// 50 ms of work on any machine), says so, and stays alive.
	var out SyncBuffer
	cmd := exec.Command("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo counted; exec sleep 60")
	cmd.Stdout = &out
	StartProcess(t, context.Background(), cmd)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := out.WaitFor(ctx, func(s string) bool { return strings.Contains(s, "counted") }); err != nil {
		t.Fatal(err)
	}
	cpu, err := ChildrenCPU(os.Getpid())
	if err != nil || cpu < 50*time.Millisecond {
		t.Errorf("ChildrenCPU = %v, %v; want at least the child's 50 ms", cpu, err)
	}
	if _, err := ChildrenCPU(1 << 30); err == nil {
		t.Error("a process that does not exist has children")
	}
}
