//go:build unix

package dash

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startNginx runs nginx in the foreground (daemon off, so the master is
// the very process started here) serving root on a free loopback port,
// and returns its address. The master runs in a process group of its
// own with its workers; cleanup stops the master gracefully (SIGQUIT,
// then SIGTERM), waits for it, and checks that no worker outlived it,
// killing the group by the master's PID if one did.
func startNginx(tb testing.TB, nginx, dir, root, extra string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	addr := freePort(tb)
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
  types { application/dash+xml mpd; video/x-toy toy; }
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  %[4]s
  server { listen %[2]s; root %[3]s; }
}
`, dir, addr, root, extra)
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
		// The workers leave when the master tells them to; any left in
		// the group now would be orphans.
		if err := syscall.Kill(-pid, 0); err == nil {
			tb.Errorf("nginx workers of %d outlived their master: killing group %d", pid, pid)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	// Wait for nginx to accept, bounded.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case err := <-exited:
			exited <- err
			out, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			tb.Fatalf("nginx exited: %v\n%s", err, out)
		default:
		}
		if i == 100 {
			tb.Fatalf("nginx does not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond) // polling a child process's start-up, not synchronising goroutines
	}
}

// BenchmarkServerVsNginx serves the same chunk directory with our Server
// and with nginx, and loads each with wrk in turn (alternating rounds),
// fetching one mid-rate chunk: requests per second for both and the ratio,
// beside the floor that net/http itself sets (a bare handler writing the
// chunk from memory).
func BenchmarkServerVsNginx(b *testing.B) {
	needTool(b, "wrk", "wrk")
	nginx := needTool(b, "nginx", "nginx")
	dir := b.TempDir()
	e := encodeDemo(b, 4*time.Second)
	if err := e.WriteDir(filepath.Join(dir, "www")); err != nil {
		b.Fatal(err)
	}
	// nginx's workers run as an unprivileged user when it is started as
	// root: let them read the files.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	chunk := "/mid/00002.toy"
	// nginx as installed, which opens the file for each request, and
	// nginx keeping files open (open_file_cache), beside our Dir and
	// CachedDir, which do the same two things.
	nginxAddr := startNginx(b, nginx, filepath.Join(dir, "plain"), filepath.Join(dir, "www"), "")
	nginxCached := startNginx(b, nginx, filepath.Join(dir, "cached"), filepath.Join(dir, "www"), "open_file_cache max=1024;")
	ours := serve(b, &Server{FS: Dir(filepath.Join(dir, "www"))})
	cd := NewCachedDir(filepath.Join(dir, "www"))
	defer cd.Close()
	cached := serve(b, &Server{FS: cd})
	mem := serve(b, &Server{FS: e.Files})
	// The floor: a bare net/http handler writing the same bytes from
	// memory, to show how much of the time is net/http's own.
	body := e.Files[strings.TrimPrefix(chunk, "/")]
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer bare.Close()
	// The machine is shared: alternate short runs and keep each one's
	// median, so that a burst of load elsewhere does not decide.
	const rounds = 5
	var oursRates, memRates, nginxRates, bareRates, cachedRates, nginxCachedRates []float64
	for b.Loop() {
		for round := 0; round < rounds; round++ {
			oursRates = append(oursRates, wrk(b, ours+chunk, 2*time.Second))
			nginxRates = append(nginxRates, wrk(b, "http://"+nginxAddr+chunk, 2*time.Second))
			memRates = append(memRates, wrk(b, mem+chunk, 2*time.Second))
			bareRates = append(bareRates, wrk(b, bare.URL+chunk, 2*time.Second))
			cachedRates = append(cachedRates, wrk(b, cached+chunk, 2*time.Second))
			nginxCachedRates = append(nginxCachedRates, wrk(b, "http://"+nginxCached+chunk, 2*time.Second))
		}
	}
	o, m, n, f := Median(oursRates), Median(memRates), Median(nginxRates), Median(bareRates)
	b.ReportMetric(o, "dir-req/s")
	b.ReportMetric(m, "mem-req/s")
	b.ReportMetric(n, "nginx-req/s")
	b.ReportMetric(o/n, "dir/nginx")
	b.ReportMetric(m/n, "mem/nginx")
	b.ReportMetric(f, "bare-nethttp-req/s")
	b.ReportMetric(f/n, "bare/nginx")
	c, nc := Median(cachedRates), Median(nginxCachedRates)
	b.ReportMetric(c, "cached-req/s")
	b.ReportMetric(nc, "nginx-ofc-req/s")
	b.ReportMetric(c/nc, "cached/nginx-ofc")
}
