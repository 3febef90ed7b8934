//go:build unix

package dash

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// startNginx serves root with nginx on a free loopback port, with the
// http-level directives in extra, and returns its address and its master
// process's PID. nginx runs as sockettest.StartNginx runs it (two
// workers, stopped by the master's PID when the benchmark ends); the
// benchmark is skipped without it.
func startNginx(tb testing.TB, root, extra string) (addr string, pid int) {
	tb.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(tb))
	n := sockettest.StartNginx(tb, fmt.Sprintf(`  sendfile on;
  tcp_nopush on;
  types { application/dash+xml mpd; video/x-toy toy; }
  %s
  server { listen %s; root %s; }`, extra, addr, root), addr)
	return addr, n.Process.Cmd.Process.Pid
}

// A loadTarget is one server that BenchmarkServerVsNginx loads with wrk:
// its URL, how to read the processor time it has used, and what each
// round measured.
type loadTarget struct {
	name   string
	url    string
	cpu    func() (time.Duration, error) // nil: not measured
	rates  []float64                     // requests per second
	perReq []float64                     // processor µs per request
}

// BenchmarkServerVsNginx serves the same chunk directory with our Server
// and with nginx, and loads each with wrk in turn (alternating rounds),
// fetching one mid-rate chunk: requests per second for both and the
// ratio, beside the floor that net/http itself sets (a bare handler
// writing the chunk from memory). It also reports the processor time a
// request cost each server (our servers run in this process; nginx's
// workers are its master's children): wrk shares the machine's two cores
// with the server under test, so requests per second move with whatever
// else runs, while the time per request moves much less.
func BenchmarkServerVsNginx(b *testing.B) {
	needTool(b, "wrk", "wrk")
	dir := b.TempDir()
	e := encodeDemo(b, 4*time.Second)
	if err := e.WriteDir(filepath.Join(dir, "www")); err != nil {
		b.Fatal(err)
	}
	chunk := "/mid/00002.toy"
	// nginx as installed, which opens the file for each request, and
	// nginx keeping files open (open_file_cache), beside our Dir and
	// CachedDir, which do the same two things.
	nginxAddr, nginxPID := startNginx(b, filepath.Join(dir, "www"), "")
	nginxCached, nginxCachedPID := startNginx(b, filepath.Join(dir, "www"), "open_file_cache max=1024;")
	cd := NewCachedDir(filepath.Join(dir, "www"))
	defer cd.Close()
	// The floor: a bare net/http handler writing the same bytes from
	// memory, to show how much of the time is net/http's own.
	body := e.Files[strings.TrimPrefix(chunk, "/")]
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer bare.Close()
	children := func(pid int) func() (time.Duration, error) {
		return func() (time.Duration, error) { return sockettest.ChildrenCPU(pid) }
	}
	targets := []*loadTarget{
		{name: "dir", url: serve(b, &Server{FS: Dir(filepath.Join(dir, "www"))}) + chunk, cpu: sockettest.SelfCPU},
		{name: "nginx", url: "http://" + nginxAddr + chunk, cpu: children(nginxPID)},
		{name: "mem", url: serve(b, &Server{FS: e.Files}) + chunk, cpu: sockettest.SelfCPU},
		{name: "bare-nethttp", url: bare.URL + chunk, cpu: sockettest.SelfCPU},
		{name: "cached", url: serve(b, &Server{FS: cd}) + chunk, cpu: sockettest.SelfCPU},
		{name: "nginx-ofc", url: "http://" + nginxCached + chunk, cpu: children(nginxCachedPID)},
	}
	// The machine is shared: alternate short runs and keep each one's
	// median, so that a burst of load elsewhere does not decide.
	const rounds = 5
	for b.Loop() {
		for round := 0; round < rounds; round++ {
			for _, t := range targets {
				before, err := t.cpu()
				rate, n := wrk(b, t.url, 2*time.Second)
				after, err2 := t.cpu()
				t.rates = append(t.rates, rate)
				if err == nil && err2 == nil && n > 0 {
					t.perReq = append(t.perReq, float64((after-before).Microseconds())/float64(n))
				}
			}
		}
	}
	get := map[string]*loadTarget{}
	for _, t := range targets {
		get[t.name] = t
		b.ReportMetric(Median(t.rates), t.name+"-req/s")
		if len(t.perReq) > 0 {
			b.ReportMetric(Median(t.perReq), t.name+"-cpu-µs/req")
		}
	}
	ratio := func(ours, theirs string) {
		o, n := get[ours], get[theirs]
		b.ReportMetric(Median(o.rates)/Median(n.rates), ours+"/"+theirs)
		if len(o.perReq) > 0 && len(n.perReq) > 0 {
			// Requests per processor second, ours over theirs.
			b.ReportMetric(Median(n.perReq)/Median(o.perReq), ours+"/"+theirs+"-per-cpu")
		}
	}
	ratio("dir", "nginx")
	ratio("mem", "nginx")
	ratio("bare-nethttp", "nginx")
	ratio("cached", "nginx-ofc")
	ratio("cached", "nginx")
}
