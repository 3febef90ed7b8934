//go:build unix

package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/sockets/sockettest"
	"appnet.dev/sockets/web"
	"github.com/google/go-cmp/cmp"
)

// run runs a command with a time limit and returns its output.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nginxSite is an nginx instance on loopback: an origin serving www/ with
// per-path Cache-Control, and a proxy_cache in front of it.
type nginxSite struct {
	origin, cache string // base URLs
}

// startNginx writes files into the origin's www/ and starts the site, as
// sockettest.StartNginx runs nginx (two workers, stopped by the master's
// PID when the test ends); the test is skipped without nginx.
func startNginx(t testing.TB, files map[string]string) nginxSite {
	t.Helper()
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(www, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	origin := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(t))
	cache := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(t))
	sockettest.StartNginx(t, fmt.Sprintf(`
    proxy_cache_path %[1]s/cache levels=1:2 keys_zone=edge:10m max_size=100m inactive=60m use_temp_path=off;
    server {
        listen %[2]s;
        root %[1]s/www;
        location /a       { add_header Cache-Control "max-age=3"; }
        location /swr     { add_header Cache-Control "max-age=3, stale-while-revalidate=30"; }
        location /nostore { add_header Cache-Control "no-store"; }
        location /private { add_header Cache-Control "private, max-age=60"; }
        location /small   { add_header Cache-Control "max-age=3600"; }
    }
    server {
        listen %[3]s;
        location / {
            proxy_pass http://%[2]s;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache edge;
            proxy_cache_revalidate on;
            proxy_cache_background_update on;
            add_header X-Cache $upstream_cache_status always;
        }
    }`, dir, origin, cache), origin, cache)
	return nginxSite{origin: "http://" + origin, cache: "http://" + cache}
}

func startEdge(t testing.TB, origin string) (*Edge, string) {
	t.Helper()
	u, err := url.Parse(origin)
	if err != nil {
		t.Fatal(err)
	}
	e := &Edge{Origin: u}
	return e, serveWeb(t, e, e.Close)
}

// serveWeb serves h on a loopback port with appnet's HTTP/1.1 server, as
// examples/cdn/edge does, and returns its base URL; cleanup closes the
// server, then calls also.
func serveWeb(t testing.TB, h http.Handler, also func() error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &web.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, web.ErrServerClosed) {
			t.Errorf("web server: %v", err)
		}
		if also != nil {
			also()
		}
	})
	return "http://" + l.Addr().String()
}

func xcache(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("X-Cache")
}

// TestInteropCacheStatusAgainstNginx sends one request sequence through
// our edge and through nginx's proxy_cache, both in front of the same
// nginx origin, and compares the cache status of every request.
func TestInteropCacheStatusAgainstNginx(t *testing.T) {
	files := map[string]string{"a": "object a", "swr": "object swr", "nostore": "secret", "private": "bob's"}
	site := startNginx(t, files)
	_, edge := startEdge(t, site.origin)
	client := &http.Client{Timeout: 10 * time.Second}

	type step struct {
		path  string
		pause bool // wait for max-age (3 s) to pass first
	}
	steps := []step{
		{"/a", false}, {"/a", false}, {"/swr", false}, {"/swr", false},
		{"/nostore", false}, {"/nostore", false}, {"/private", false}, {"/private", false},
		{"/a", true}, {"/a", false}, {"/swr", false},
	}
	var ours, theirs []string
	for _, s := range steps {
		if s.pause {
			// Not synchronisation: the objects must grow older than
			// max-age=3 on both caches' clocks.
			time.Sleep(4200 * time.Millisecond)
		}
		ours = append(ours, s.path+" "+xcache(t, client, edge+s.path))
		theirs = append(theirs, s.path+" "+xcache(t, client, site.cache+s.path))
	}
	t.Logf("ours:  %v", ours)
	t.Logf("nginx: %v", theirs)
	if diff := cmp.Diff(theirs, ours); diff != "" {
		t.Errorf("cache status (-nginx +ours):\n%s", diff)
	}
	want := []string{"/a MISS", "/a HIT", "/swr MISS", "/swr HIT", "/nostore MISS", "/nostore MISS",
		"/private MISS", "/private MISS", "/a REVALIDATED", "/a HIT", "/swr STALE"}
	if diff := cmp.Diff(want, ours); diff != "" {
		t.Errorf("our sequence (-want +got):\n%s", diff)
	}
}

// TestInteropNginxOriginAndCurl puts our edge in front of nginx and talks
// to it with curl: validators from nginx, ranges from the cache.
func TestInteropNginxOriginAndCurl(t *testing.T) {
	curl := sockettest.Need(t, "curl", "curl")
	body := strings.Repeat("0123456789", 100)
	site := startNginx(t, map[string]string{"small": body})
	e, edge := startEdge(t, site.origin)

	head := func(args ...string) (string, string) {
		out := run(t, curl, append([]string{"-s", "-D", "-", "--max-time", "10"}, args...)...)
		h, b, _ := strings.Cut(out, "\r\n\r\n")
		return h, b
	}
	field := func(h, name string) string {
		for _, line := range strings.Split(h, "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	h1, b1 := head(edge + "/small")
	h2, b2 := head(edge + "/small")
	if field(h1, "X-Cache") != "MISS" || field(h2, "X-Cache") != "HIT" || b1 != body || b2 != body {
		t.Errorf("curl twice: %q then %q, bodies ok %v %v", field(h1, "X-Cache"), field(h2, "X-Cache"), b1 == body, b2 == body)
	}
	if field(h2, "ETag") == "" || field(h2, "Last-Modified") == "" || !strings.Contains(field(h2, "Via"), DefaultEdgeName) {
		t.Errorf("cached answer lost nginx's validators or our Via:\n%s", h2)
	}
	h3, b3 := head("-r", "10-19", edge+"/small")
	if !strings.Contains(h3, " 206") || b3 != body[10:20] || field(h3, "Content-Range") != "bytes 10-19/1000" {
		t.Errorf("curl -r 10-19: %q\n%s", b3, h3)
	}
	h4, _ := head("-H", "If-None-Match: "+field(h2, "ETag"), edge+"/small")
	if !strings.Contains(h4, " 304") {
		t.Errorf("curl with nginx's ETag: want 304\n%s", h4)
	}
	if n := e.OriginFetches(); n != 1 {
		t.Errorf("origin fetches %d, want 1", n)
	}
	// A path that climbs out is refused before it reaches nginx.
	h5, _ := head("--path-as-is", edge+"/../etc/passwd")
	if !strings.Contains(h5, " 400") {
		t.Errorf("curl --path-as-is /../etc/passwd: want 400\n%s", h5)
	}
}

// TestInteropDigClientSubnet asks KingCDN's DNS router with dig: the
// answer depends on the client subnet dig sends.
func TestInteropDigClientSubnet(t *testing.T) {
	dig := sockettest.Need(t, "dig", "bind9-dnsutils")
	m := readTestMap(t)
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: &DNSRouter{Router: &Router{Map: m}, Zone: dns.MustParseName("kingcdn.com"),
		NS: dns.MustParseName("ns.kingcdn.com"), TTL: 20}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeBoth(pc, ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	ask := func(subnet string, tcp bool) (string, string) {
		args := []string{"@127.0.0.1", "-p", port, "netc6y-b23v.kingcdn.com", "A", "+subnet=" + subnet, "+time=5", "+tries=1"}
		if tcp {
			args = append(args, "+tcp")
		}
		out := run(t, dig, args...)
		ans := regexp.MustCompile(`(?m)^netc6y-b23v\.kingcdn\.com\.\s+20\s+IN\s+A\s+(\S+)$`).FindStringSubmatch(out)
		ecs := regexp.MustCompile(`CLIENT-SUBNET: (\S+)`).FindStringSubmatch(out)
		if ans == nil || ecs == nil || !strings.Contains(out, " aa") {
			t.Fatalf("dig for %s: no authoritative answer with ECS:\n%s", subnet, out)
		}
		return ans[1], ecs[1]
	}
	want := map[string][]string{
		"10.1.2.0/24":  {"127.0.0.11", "127.0.0.12"},
		"10.1.99.0/24": {"127.0.0.21"},
		"10.3.7.0/24":  {"127.0.0.31"},
	}
	// 10.1.2.0/24: Boston for 10.1.0.0/18, short of New York's 10.1.99.0/24.
	scope := map[string]string{"10.1.2.0/24": "10.1.2.0/24/18", "10.1.99.0/24": "10.1.99.0/24/24", "10.3.7.0/24": "10.3.7.0/24/16"}
	for subnet, addrs := range want {
		for _, tcp := range []bool{false, true} {
			got, ecs := ask(subnet, tcp)
			if !slices.Contains(addrs, got) {
				t.Errorf("dig +subnet=%s (tcp %v): %s, want one of %v", subnet, tcp, got, addrs)
			}
			if ecs != scope[subnet] {
				t.Errorf("dig +subnet=%s: reply ECS %s, want %s", subnet, ecs, scope[subnet])
			}
		}
	}
}

// wrkRate runs wrk against u and returns its requests per second.
func wrkRate(b *testing.B, wrk, u string) float64 {
	b.Helper()
	out := run(b, wrk, "-t2", "-c32", "-d3s", u)
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no rate:\n%s", out)
	}
	if strings.Contains(out, "Non-2xx") {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	r, _ := strconv.ParseFloat(m[1], 64)
	return r
}

// BenchmarkWrkEdgeVsNginx measures cached small objects under wrk: our
// edge and nginx's proxy_cache, both in front of one nginx origin, in the
// same run, alternating, three rounds each; the metrics are the medians.
func BenchmarkWrkEdgeVsNginx(b *testing.B) {
	wrk := sockettest.Need(b, "wrk", "wrk")
	site := startNginx(b, map[string]string{"small": strings.Repeat("x", 1024)})
	_, edge := startEdge(b, site.origin)
	for _, u := range []string{edge + "/small", site.cache + "/small"} {
		resp, err := http.Get(u) // warm the caches
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// The floor: a bare net/http handler writing the same 1 KiB, to show
	// how much of the time is net/http's and how much the edge's.
	small := []byte(strings.Repeat("x", 1024))
	bare := serveWeb(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1024")
		w.Write(small)
	}), nil)
	var ours, theirs, floor []float64
	for b.Loop() {
		for range 3 {
			ours = append(ours, wrkRate(b, wrk, edge+"/small"))
			theirs = append(theirs, wrkRate(b, wrk, site.cache+"/small"))
			floor = append(floor, wrkRate(b, wrk, bare+"/small"))
		}
	}
	median := func(xs []float64) float64 {
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	o, n, f := median(ours), median(theirs), median(floor)
	b.ReportMetric(o, "edge-req/s")
	b.ReportMetric(n, "nginx-req/s")
	b.ReportMetric(f, "bare-web-req/s")
	b.ReportMetric(o/n, "edge/nginx")
}
