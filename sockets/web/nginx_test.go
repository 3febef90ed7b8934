//go:build unix

package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// startNginx runs nginx in the foreground (daemon off: the master is the
// very process started here) with two workers, listening on a free
// loopback port with the server block's directives inside, and returns
// its address. dir holds its configuration, logs and temporary files.
// The master and its workers run in a process group of their own; cleanup
// stops the master gracefully (SIGQUIT, then SIGTERM, then SIGKILL), waits
// for it, and kills the group by the master's PID if a worker outlived it.
func startNginx(tb testing.TB, dir, serverBlock string) string {
	tb.Helper()
	nginx := sockettest.Need(tb, "nginx", "nginx")
	addr := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(tb))
	conf := fmt.Sprintf(`daemon off;
master_process on;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server {
    listen %[2]s;
%[3]s
  }
}
`, dir, addr, serverBlock)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(nginx, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		stopped := false
		for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGKILL} {
			if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				tb.Logf("nginx %d: %v: %v", pid, sig, err)
			}
			t := time.NewTimer(10 * time.Second)
			select {
			case <-exited:
				stopped = true
			case <-t.C:
			}
			t.Stop()
			if stopped {
				break
			}
		}
		if !stopped {
			tb.Errorf("nginx master %d did not exit", pid)
		}
		if err := syscall.Kill(-pid, 0); err == nil {
			tb.Errorf("nginx workers of %d outlived their master: killing group %d", pid, pid)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waited := make(chan error, 1)
	go func() { waited <- sockettest.WaitDial(ctx, "tcp", addr) }()
	select {
	case err := <-waited:
		if err != nil {
			out, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			tb.Fatalf("nginx: %v\n%s", err, out)
		}
	case err := <-exited:
		exited <- err
		cancel()
		<-waited
		out, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		tb.Fatalf("nginx exited: %v\n%s", err, out)
	}
	return addr
}

// readableByWorkers lets nginx's workers, which drop root for an
// unprivileged user, read the files under dir: the test's temporary
// directories are private to root.
func readableByWorkers(tb testing.TB, dir string) {
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if d == os.TempDir() {
			break
		}
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}
