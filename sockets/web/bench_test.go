//go:build unix

package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// The two loads of BenchmarkWrkVersusNginx: a small object from memory
// and a DASH-segment-sized file.
const (
	smallSize = 1 << 10
	fileSize  = 55_000
)

// memHandler writes body from memory, leaving its length to the server.
func memHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})
}

// fileHandler serves the file named by the path from dir the way a
// segment server does: open, stat, Content-Length, io.Copy from the
// *os.File (sendfile where the server can).
func fileHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		io.Copy(w, f)
	})
}

// keptFileHandler serves one file that it keeps open, as a segment
// server with a cache of open files would: each request reads it through
// an io.SectionReader of its own, which web.Server sends with sendfile at
// the section's offset (nginx's open_file_cache does the same).
func keptFileHandler(tb testing.TB, path string) http.Handler {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	size := strconv.FormatInt(fi.Size(), 10)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", size)
		io.Copy(w, io.NewSectionReader(f, 0, fi.Size()))
	})
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk loads url with wrk -t2 -c32 for d and returns the requests per
// second; any error response or socket error fails the benchmark.
func wrk(tb testing.TB, url string, d time.Duration) float64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "wrk", "-t2", "-c32", fmt.Sprintf("-d%ds", int(d.Seconds())), url).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
		tb.Fatalf("wrk %s saw errors:\n%s", url, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("wrk printed no rate:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkWrkVersusNginx loads the same objects — 1 KiB from memory
// (small), and a 55 KB file opened for each request (file) — from
// web.Server, from net/http's http.Server running the same handlers, and
// from nginx serving the files statically, with wrk -t2 -c32 in short
// alternating runs, and reports the medians and the ratios to nginx. A
// third pair (kept) serves the file kept open: web.Server with
// keptFileHandler, nginx with open_file_cache. Run it with -benchtime=1x;
// it takes about a minute and a half.
func BenchmarkWrkVersusNginx(b *testing.B) {
	sockettest.Need(b, "wrk", "wrk")
	dir := b.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		b.Fatal(err)
	}
	small := []byte(strings.Repeat("a", smallSize))
	if err := os.WriteFile(filepath.Join(www, "small.bin"), small, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "file.bin"), []byte(strings.Repeat("v", fileSize)), 0o644); err != nil {
		b.Fatal(err)
	}
	nginx := "http://" + startNginx(b, "    root "+www+";\n"+
		"    location /kept/ { alias "+www+"/; open_file_cache max=64 inactive=60s; open_file_cache_valid 60s; }")

	mux := http.NewServeMux()
	mux.Handle("/small.bin", memHandler(small))
	mux.Handle("/file.bin", fileHandler(www))
	mux.Handle("/kept/file.bin", keptFileHandler(b, filepath.Join(www, "file.bin")))
	ours := "http://" + start(b, &Server{Handler: mux})
	theirs := "http://" + serveNetHTTP(b, mux)

	const rounds, d = 5, 2 * time.Second
	type target struct{ name, url string }
	targets := []target{
		{"web-small", ours + "/small.bin"}, {"nethttp-small", theirs + "/small.bin"}, {"nginx-small", nginx + "/small.bin"},
		{"web-file", ours + "/file.bin"}, {"nethttp-file", theirs + "/file.bin"}, {"nginx-file", nginx + "/file.bin"},
		{"web-kept", ours + "/kept/file.bin"}, {"nginx-kept", nginx + "/kept/file.bin"},
	}
	rates := map[string][]float64{}
	for b.Loop() {
		for range rounds {
			for _, t := range targets {
				rates[t.name] = append(rates[t.name], wrk(b, t.url, d))
			}
		}
	}
	m := map[string]float64{}
	for _, t := range targets {
		m[t.name] = median(rates[t.name])
		b.ReportMetric(m[t.name], t.name+"-req/s")
	}
	b.ReportMetric(m["web-small"]/m["nginx-small"], "web/nginx-small")
	b.ReportMetric(m["nethttp-small"]/m["nginx-small"], "nethttp/nginx-small")
	b.ReportMetric(m["web-file"]/m["nginx-file"], "web/nginx-file")
	b.ReportMetric(m["nethttp-file"]/m["nginx-file"], "nethttp/nginx-file")
	b.ReportMetric(m["web-kept"]/m["nginx-kept"], "web/nginx-kept")
}

// BenchmarkRoundTrip is one request and its response over a loopback
// connection, for a body from memory and for a file sent with sendfile:
// the server's cost per request, with its allocations (and the handler's).
func BenchmarkRoundTrip(b *testing.B) {
	dir := b.TempDir()
	small := []byte(strings.Repeat("a", smallSize))
	if err := os.WriteFile(filepath.Join(dir, "file.bin"), []byte(strings.Repeat("v", fileSize)), 0o644); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/small.bin", memHandler(small))
	mux.Handle("/file.bin", fileHandler(dir))
	addr := start(b, &Server{Handler: mux})
	for _, bc := range []struct {
		path string
		size int
	}{{"/small.bin", smallSize}, {"/file.bin", fileSize}} {
		b.Run(strings.TrimPrefix(bc.path, "/"), func(b *testing.B) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			req := []byte("GET " + bc.path + " HTTP/1.1\r\nHost: bench\r\n\r\n")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if n, err := readResponse(br); err != nil || n != bc.size {
					b.Fatalf("response: %d bytes of body, %v", n, err)
				}
			}
		})
	}
}

// readResponse reads one response with a Content-Length from br, with
// few allocations of its own, and returns the body's length.
func readResponse(br *bufio.Reader) (int, error) {
	n := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			n = 0
			for _, d := range bytes.TrimSpace(v) {
				n = 10*n + int(d-'0')
			}
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("no Content-Length")
	}
	_, err := br.Discard(n)
	return n, err
}
