//go:build unix

package sockettest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartNginxServesAFileAndStops starts nginx on two ports, fetches a
// file from the test's own temporary directory on each, and stops it:
// the master exits, no worker is left in its group, and nothing listens
// any more.
func TestStartNginxServesAFileAndStops(t *testing.T) {
	www := t.TempDir()
	const body = "Hello from nginx.\n"
	if err := os.WriteFile(filepath.Join(www, "hello.txt"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	a := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	b := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	n := StartNginx(t, fmt.Sprintf("server { listen %s; root %s; }\nserver { listen %s; root %s; }", a, www, b, www), a, b)

	client := &http.Client{Timeout: 10 * time.Second}
	for _, addr := range []string{a, b} {
		resp, err := client.Get("http://" + addr + "/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || string(got) != body {
			t.Errorf("GET http://%s/hello.txt: %s %q, want 200 %q\nerror log:\n%s", addr, resp.Status, got, body, n.ErrorLog())
		}
	}
	client.CloseIdleConnections()

	pid := n.Process.Cmd.Process.Pid
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-n.Process.Exited():
	default:
		t.Errorf("Stop returned before the master %d exited", pid)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after Stop: %v, want ESRCH (no worker left)", pid, err)
	}
	for _, addr := range []string{a, b} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts after Stop", addr)
		}
	}
	if err := n.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// fatalTB records a Fatal instead of failing the test, so the test below
// can see what StartNginx says; everything else is the real test's.
type fatalTB struct {
	*testing.T
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(f)
}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(f)
}

// TestStartNginxShowsWhyItFailed gives nginx a directive it does not
// know: StartNginx fails the test at once, showing nginx's complaint.
func TestStartNginxShowsWhyItFailed(t *testing.T) {
	nginxBinary(t) // skips when nginx is missing
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	f := &fatalTB{T: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != f {
				panic(r)
			}
		}()
		StartNginx(f, fmt.Sprintf("server { listen %s; no_such_directive on; }", addr), addr)
		t.Fatal("StartNginx returned for a configuration nginx refuses")
	}()
	if !strings.Contains(f.msg, `unknown directive "no_such_directive"`) {
		t.Errorf("StartNginx failed with %q, want nginx's complaint naming the unknown directive", f.msg)
	}
}

// TestNginxStopKillsOrphanedWorkers kills the master outright, which
// leaves its workers running: Stop reports them (and kills their group;
// SIGKILL is asynchronous, so the test does not wait for them to go).
//
// The master listens before it forks its workers, so StartNginx may
// return before any worker exists; a request answered first proves one
// does.
func TestNginxStopKillsOrphanedWorkers(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	n := StartNginx(t, fmt.Sprintf("server { listen %s; return 204; }", addr), addr)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("GET http://%s/: %s, want 204 from a worker", addr, resp.Status)
	}
	if err := n.Process.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = n.Stop()
	if err == nil || !strings.Contains(err.Error(), "outlived their master") {
		t.Fatalf("Stop after killing the master: %v, want the orphaned workers reported", err)
	}
}
