//go:build unix

package sockettest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// An Nginx is an nginx server started by [StartNginx]: a master process
// and its two workers, in a process group of their own.
type Nginx struct {
	// Dir is nginx's prefix, a fresh temporary directory holding its
	// nginx.conf, error.log, nginx.pid and temporary files.
	Dir string
	// Process is the master, the very process StartNginx started.
	Process *Process

	mu      sync.Mutex
	stopped bool  // Stop has run
	stopErr error // what it returned
}

// nginxStartTimeout bounds the wait for every listen address to accept.
const nginxStartTimeout = 20 * time.Second

// StartNginx runs nginx in the foreground (daemon off, so the master is
// the process started here; master_process on, worker_processes 2) with
// httpBody as the body of its http{} block, and waits until every address
// in addrs (those of httpBody's listen directives) accepts connections.
// It skips the test when nginx is not installed (Debian package nginx).
//
// Everything nginx writes goes to a fresh temporary directory, [Nginx.Dir]:
// its error log, its pid file and every temporary path (client bodies,
// proxy, FastCGI, uwsgi, SCGI). The access log is off (a server block may
// turn it on again). When the test runs as root, the workers run as root
// too ("user root;"), so that they can read the test's files and write
// their caches in its private temporary directories, as they do when the
// test runs as an ordinary user.
//
// If nginx exits or does not listen, the test fails showing what nginx
// wrote on stderr and in its error log. When the test ends, [Nginx.Stop]
// stops it; a failure to stop cleanly fails the test.
func StartNginx(tb testing.TB, httpBody string, addrs ...string) *Nginx {
	tb.Helper()
	bin := nginxBinary(tb)
	if len(addrs) == 0 {
		tb.Fatal("sockettest: StartNginx needs the address of at least one listen directive")
	}
	n := &Nginx{Dir: tb.TempDir()}
	conf := nginxConf(n.Dir, httpBody, os.Geteuid() == 0)
	confPath := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", n.Dir, "-c", confPath)
	// Workers share the master's group: if one outlives the master, the
	// group still exists and Stop can kill it by the master's PID.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// nginx prints nothing on stdout, and once it has read its
	// configuration its stderr is its error log. A pipe on stdout would
	// be held open by workers that outlived their master, and Exited
	// would wait for them too.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer devNull.Close()
	cmd.Stdout = devNull
	n.Process = StartProcess(tb, context.Background(), cmd)
	// Registered after StartProcess's cleanup, so it runs first: the
	// master is stopped gracefully before StartProcess would kill it.
	tb.Cleanup(func() {
		if first, err := n.stopOnce(); first && err != nil {
			tb.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), nginxStartTimeout)
	defer cancel()
	for _, addr := range addrs {
		if err := n.Process.WaitDial(ctx, "tcp", addr); err != nil {
			// A bad configuration is reported on stderr, before the
			// error log is open; later trouble goes to the log.
			tb.Fatalf("sockettest: nginx did not start: %v\noutput:\n%s\nerror log:\n%s", err, n.Process.Output(), n.ErrorLog())
		}
	}
	return n
}

// nginxBinary finds nginx on PATH, or in /usr/sbin (where Debian puts
// it, and which an ordinary user's PATH often lacks), or skips the test.
func nginxBinary(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return Need(tb, "nginx", "nginx")
}

// nginxConf is the configuration StartNginx writes: everything nginx
// writes goes to dir, and httpBody is the http{} block's body.
func nginxConf(dir, httpBody string, root bool) string {
	var b strings.Builder
	if root {
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/client_body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, httpBody)
	return b.String()
}

// ErrorLog returns what nginx has written to its error log so far.
func (n *Nginx) ErrorLog() string {
	b, err := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	if err != nil {
		return fmt.Sprintf("(no error log: %v)", err)
	}
	return string(b)
}

// nginxStopWait is how long Stop waits after each signal.
const nginxStopWait = 10 * time.Second

// Stop stops nginx by its master's PID: SIGQUIT, the graceful shutdown
// (the master tells its workers to finish their requests and waits for
// them); if the master has not exited after a while, SIGTERM (the fast
// shutdown); then SIGKILL. A master that is killed leaves its workers
// running, so Stop then checks that none is left in the group and kills
// the group if one is. It returns an error if the master would not exit
// or a worker outlived it. Stop is called when the test ends (which then
// fails if it returns an error); calling it earlier, or twice, is fine:
// later calls return the first one's error.
func (n *Nginx) Stop() error {
	_, err := n.stopOnce()
	return err
}

// stopOnce stops nginx the first time it is called, and says whether
// this call was the first.
func (n *Nginx) stopOnce() (first bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.stopped {
		n.stopped, first = true, true
		n.stopErr = n.stop()
	}
	return first, n.stopErr
}

func (n *Nginx) stop() error {
	p := n.Process
	pid := p.Cmd.Process.Pid
	var errs []error
	stopped := false
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGKILL} {
		if err := p.Cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			errs = append(errs, fmt.Errorf("sockettest: nginx %d: %v: %w", pid, sig, err))
		}
		t := time.NewTimer(nginxStopWait)
		select {
		case <-p.Exited():
			stopped = true
		case <-t.C:
		}
		t.Stop()
		if stopped {
			break
		}
	}
	if !stopped {
		errs = append(errs, fmt.Errorf("sockettest: nginx master %d did not exit", pid))
	}
	// The workers leave when the master tells them to; any left in the
	// group now would be orphans.
	if err := syscall.Kill(-pid, 0); err == nil {
		errs = append(errs, fmt.Errorf("sockettest: nginx workers of %d outlived their master: killed group %d", pid, pid))
		syscall.Kill(-pid, syscall.SIGKILL)
	}
	return errors.Join(errs...)
}
