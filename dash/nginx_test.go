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
// http-level directives in extra, and returns its address. nginx runs
// as sockettest.StartNginx runs it (two workers, stopped by the master's
// PID when the benchmark ends); the benchmark is skipped without it.
func startNginx(tb testing.TB, root, extra string) string {
	tb.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(tb))
	sockettest.StartNginx(tb, fmt.Sprintf(`  sendfile on;
  tcp_nopush on;
  types { application/dash+xml mpd; video/x-toy toy; }
  %s
  server { listen %s; root %s; }`, extra, addr, root), addr)
	return addr
}

// BenchmarkServerVsNginx serves the same chunk directory with our Server
// and with nginx, and loads each with wrk in turn (alternating rounds),
// fetching one mid-rate chunk: requests per second for both and the ratio,
// beside the floor that net/http itself sets (a bare handler writing the
// chunk from memory).
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
	nginxAddr := startNginx(b, filepath.Join(dir, "www"), "")
	nginxCached := startNginx(b, filepath.Join(dir, "www"), "open_file_cache max=1024;")
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
