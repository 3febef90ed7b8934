//go:build unix

package web

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// run runs a peer to completion, bounded in time, and returns its
// output, standard error after standard output.
func run(t *testing.T, name string, args ...string) string {
	out, errOut := run2(t, name, args...)
	return out + errOut
}

// run2 is run with standard output and standard error apart.
func run2(t *testing.T, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, o.String(), e.String())
	}
	return o.String(), e.String()
}

// TestCurl: curl on a persistent connection, with HTTP/1.0, posting a form
// and uploading chunked with Expect: 100-continue.
func TestCurl(t *testing.T) {
	curl := sockettest.Need(t, "curl", "curl")
	base := "http://" + start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t)})

	out := run(t, curl, "-sS", "-v", base+"/hello", base+"/file")
	if !strings.Contains(out, "hello\n") || !strings.Contains(out, "Hello from a file on disk.") ||
		!strings.Contains(out, "Re-using existing connection") {
		t.Errorf("two GETs on one connection:\n%s", out)
	}

	out = run(t, curl, "-sS", "-v", "-0", base+"/info")
	if !strings.Contains(out, "> GET /info HTTP/1.0") || !strings.Contains(out, "Proto HTTP/1.0 1.0") ||
		!strings.Contains(out, "< Connection: close") {
		t.Errorf("HTTP/1.0:\n%s", out)
	}

	out = run(t, curl, "-sS", "--data", "name=value", base+"/info")
	if !strings.Contains(out, "Method POST") || !strings.Contains(out, `Body "name=value" <nil>`) ||
		!strings.Contains(out, `Content-Type ["application/x-www-form-urlencoded"]`) {
		t.Errorf("--data:\n%s", out)
	}

	upload := filepath.Join(t.TempDir(), "upload")
	payload := strings.Repeat("uploaded by curl\n", 5000)
	if err := os.WriteFile(upload, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	body, trace := run2(t, curl, "-sS", "-v", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue", "--data-binary", "@"+upload, base+"/echo")
	if !strings.Contains(trace, "< HTTP/1.1 100 Continue") || body != payload {
		t.Errorf("chunked upload: %d bytes back of %d\n%s", len(body), len(payload), trace)
	}

	out = run(t, curl, "-sS", "-i", base+"/www/hello.txt", "-r", "6-9")
	if !strings.Contains(out, "HTTP/1.1 206 Partial Content") || !strings.HasSuffix(out, "from") {
		t.Errorf("range:\n%s", out)
	}
}

var (
	wrkLine  = regexp.MustCompile(`(\d+) requests in`)
	abFailed = regexp.MustCompile(`Failed requests:\s+(\d+)`)
	abDone   = regexp.MustCompile(`Complete requests:\s+(\d+)`)
)

// TestWrk: wrk's load for a second, with no error and no error status.
func TestWrk(t *testing.T) {
	wrk := sockettest.Need(t, "wrk", "wrk")
	base := "http://" + start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t)})
	for _, path := range []string{"/hello", "/file", "/big?n=20000"} {
		out := run(t, wrk, "-t2", "-c16", "-d1s", base+path)
		m := wrkLine.FindStringSubmatch(out)
		if m == nil || m[1] == "0" || strings.Contains(out, "Non-2xx") || strings.Contains(out, "Socket errors") {
			t.Errorf("wrk %s:\n%s", path, out)
		}
	}
}

// TestApacheBench: ab, with and without keep-alive (-k: it speaks
// HTTP/1.0 with "Connection: Keep-Alive").
func TestApacheBench(t *testing.T) {
	ab := sockettest.Need(t, "ab", "apache2-utils")
	base := "http://" + start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t)})
	for _, args := range [][]string{
		{"-n", "2000", "-c", "8", "-k", base + "/hello"},
		{"-n", "500", "-c", "8", base + "/file"},
		{"-n", "500", "-c", "4", "-k", "-p", testFile, "-T", "text/plain", base + "/echo"},
	} {
		out := run(t, ab, args...)
		done, failed := abDone.FindStringSubmatch(out), abFailed.FindStringSubmatch(out)
		if done == nil || failed == nil || done[1] != args[1] || failed[1] != "0" || strings.Contains(out, "Non-2xx") {
			t.Errorf("ab %s:\n%s", strings.Join(args, " "), out)
		}
		if args[4] == "-k" && !strings.Contains(out, "Keep-Alive requests:    "+args[1]) {
			t.Errorf("ab %s: not every request kept the connection:\n%s", strings.Join(args, " "), out)
		}
	}
}

// TestNginxReverseProxy: nginx in front of the server, as a CDN or a
// site would put it, with persistent upstream connections (keepalive,
// HTTP/1.1 to the upstream): GETs, a POST, a chunked response, and the
// file through the proxy, many times over the pooled connections.
func TestNginxReverseProxy(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	var seen sockettest.SyncBuffer
	var conns atomic.Int32
	upstream := start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t), Trace: &seen,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			conns.Add(1)
			return ctx
		}})
	proxy := "http://" + startNginx(t, fmt.Sprintf(`    location / {
      proxy_pass http://upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
  }
  upstream upstream {
    server %s;
    keepalive 8;`, upstream))
	client := &http.Client{Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		return resp, b.String()
	}
	for i := range 50 {
		if resp, body := get("/hello"); resp.StatusCode != 200 || body != "hello\n" {
			t.Fatalf("request %d: %s %q", i, resp.Status, body)
		}
	}
	if resp, body := get("/big?n=100000"); resp.StatusCode != 200 || len(body) != 100000 {
		t.Errorf("chunked through nginx: %s, %d bytes", resp.Status, len(body))
	}
	if resp, body := get("/file"); resp.StatusCode != 200 || body != "Hello from a file on disk.\n" {
		t.Errorf("file through nginx: %s %q", resp.Status, body)
	}
	resp, err := client.Post(proxy+"/info", "text/plain", strings.NewReader("posted"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	io.Copy(&b, resp.Body)
	resp.Body.Close()
	if !strings.Contains(b.String(), `Body "posted" <nil>`) || !strings.Contains(b.String(), "Proto HTTP/1.1 1.1") {
		t.Errorf("POST through nginx:\n%s", b.String())
	}
	// nginx kept its upstream connections: at most 8 for each of its two
	// workers, far fewer than one per request.
	if n := strings.Count(seen.String(), "C: "); n != 53 {
		t.Errorf("the upstream saw %d requests, want 53", n)
	}
	if n := conns.Load(); n < 1 || n > 16 {
		t.Errorf("nginx opened %d connections to the upstream for 53 requests", n)
	}
}
