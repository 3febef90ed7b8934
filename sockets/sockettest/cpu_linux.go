package sockettest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of the times in /proc/<pid>/stat (USER_HZ, 100
// on every Linux).
const clockTick = 10 * time.Millisecond

// SelfCPU returns the processor time this process has used so far, in
// user and kernel mode together (getrusage(2)). A benchmark that runs a
// server in the test process reads it before and after loading the
// server, to report the time each request cost, a figure that another
// program's load on the machine disturbs far less than requests per
// second.
func SelfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// ChildrenCPU returns the processor time used so far by the living
// children of process pid (nginx's workers, for its master), from
// /proc/<child>/stat, in steps of 10 ms.
func ChildrenCPU(pid int) (time.Duration, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	var total time.Duration
	found := false
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the process has gone
		}
		// pid (comm) state ppid … utime stime: the name may hold
		// spaces and parentheses, so fields are counted after its last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 || f[1] != strconv.Itoa(pid) {
			continue
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("sockettest: %s: bad times %q %q", path, f[11], f[12])
		}
		total += time.Duration(utime+stime) * clockTick
		found = true
	}
	if !found {
		return 0, fmt.Errorf("sockettest: process %d has no children", pid)
	}
	return total, nil
}
