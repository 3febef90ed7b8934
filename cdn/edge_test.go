package cdn

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a virtual clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testOrigin is a scriptable origin: it answers every request with the
// current headers and body, honours If-None-Match, and counts requests.
type testOrigin struct {
	mu       sync.Mutex
	clock    *clock
	header   http.Header
	body     string
	status   int
	requests int
	lastReq  http.Header
}

func (o *testOrigin) set(status int, body string, fields ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.status, o.body = status, body
	o.header = http.Header{}
	for i := 0; i+1 < len(fields); i += 2 {
		o.header.Add(fields[i], fields[i+1])
	}
}

func (o *testOrigin) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests
}

func (o *testOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.requests++
	o.lastReq = r.Header.Clone()
	h, body, status := o.header.Clone(), o.body, o.status
	o.mu.Unlock()
	for k, vs := range h {
		w.Header()[k] = vs
	}
	w.Header().Set("Date", o.clock.Now().Format(http.TimeFormat))
	if et := h.Get("ETag"); et != "" && r.Header.Get("If-None-Match") == et && status == 200 {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// fixture is an edge in front of a testOrigin, both on loopback.
type fixture struct {
	clock  *clock
	origin *testOrigin
	edge   *Edge
	url    string // the edge's base URL
}

func newFixture(t *testing.T, configure func(*Edge)) *fixture {
	t.Helper()
	c := newClock()
	o := &testOrigin{clock: c}
	o.set(200, "hello", "Cache-Control", "max-age=10", "ETag", `"v1"`)
	os := httptest.NewServer(o)
	t.Cleanup(os.Close)
	u, _ := url.Parse(os.URL)
	e := &Edge{Origin: u, Now: c.Now}
	if configure != nil {
		configure(e)
	}
	es := httptest.NewServer(e)
	t.Cleanup(func() {
		es.Close()
		e.Close()
	})
	return &fixture{clock: c, origin: o, edge: e, url: es.URL}
}

type result struct {
	status int
	cache  string
	body   string
	header http.Header
}

func (f *fixture) get(t *testing.T, path string, fields ...string) result {
	t.Helper()
	req, _ := http.NewRequest("GET", f.url+path, nil)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "Host" {
			req.Host = fields[i+1]
			continue
		}
		req.Header.Set(fields[i], fields[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return result{resp.StatusCode, resp.Header.Get("X-Cache"), string(b), resp.Header}
}

// seq runs GETs of /v at the given virtual times (seconds since the start)
// and returns their X-Cache values.
func (f *fixture) seq(t *testing.T, times []int, fields ...string) []string {
	t.Helper()
	start := f.clock.Now()
	var got []string
	for _, s := range times {
		f.clock.Advance(start.Add(time.Duration(s) * time.Second).Sub(f.clock.Now()))
		r := f.get(t, "/v", fields...)
		got = append(got, r.cache)
		// A background revalidation finishes before the next request.
		f.edge.wg.Wait()
	}
	return got
}

func TestEdgeFreshness(t *testing.T) {
	tests := []struct {
		name    string
		fields  []string // origin response fields
		times   []int
		want    []string
		fetches int
	}{
		{"max-age", []string{"Cache-Control", "max-age=10", "ETag", `"v1"`},
			[]int{0, 5, 9, 11, 12}, []string{"MISS", "HIT", "HIT", "REVALIDATED", "HIT"}, 2},
		{"s-maxage wins over max-age", []string{"Cache-Control", "max-age=100, s-maxage=5", "ETag", `"v1"`},
			[]int{0, 4, 6}, []string{"MISS", "HIT", "REVALIDATED"}, 2},
		{"no-store", []string{"Cache-Control", "no-store", "ETag", `"v1"`},
			[]int{0, 1}, []string{"MISS", "MISS"}, 2},
		{"private", []string{"Cache-Control", "private, max-age=60"},
			[]int{0, 1}, []string{"MISS", "MISS"}, 2},
		{"no-cache revalidates every time", []string{"Cache-Control", "no-cache", "ETag", `"v1"`},
			[]int{0, 1, 2}, []string{"MISS", "REVALIDATED", "REVALIDATED"}, 3},
		{"Expires", []string{"Expires", "Wed, 25 Nov 2026 12:00:20 GMT", "ETag", `"v1"`},
			[]int{0, 19, 21}, []string{"MISS", "HIT", "REVALIDATED"}, 2},
		{"invalid Expires is expired", []string{"Expires", "0", "ETag", `"v1"`},
			[]int{0, 0}, []string{"MISS", "REVALIDATED"}, 2},
		{"heuristic: a tenth of Last-Modified's age", []string{"Last-Modified", "Wed, 25 Nov 2026 11:58:20 GMT", "ETag", `"v1"`},
			[]int{0, 9, 11}, []string{"MISS", "HIT", "REVALIDATED"}, 2},
		{"Age from upstream counts", []string{"Cache-Control", "max-age=10", "Age", "8", "ETag", `"v1"`},
			[]int{0, 1, 3}, []string{"MISS", "HIT", "REVALIDATED"}, 2},
		{"stale-while-revalidate", []string{"Cache-Control", "max-age=10, stale-while-revalidate=30", "ETag", `"v1"`},
			[]int{0, 15, 16, 60}, []string{"MISS", "STALE", "HIT", "REVALIDATED"}, 3},
		{"must-revalidate beats stale-while-revalidate", []string{"Cache-Control", "max-age=10, must-revalidate, stale-while-revalidate=30", "ETag", `"v1"`},
			[]int{0, 15}, []string{"MISS", "REVALIDATED"}, 2},
		{"no validator: refetch", []string{"Cache-Control", "max-age=10"},
			[]int{0, 11}, []string{"MISS", "MISS"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.origin.set(200, "hello", tt.fields...)
			got := f.seq(t, tt.times)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("X-Cache sequence (-want +got):\n%s", diff)
			}
			if n := f.origin.count(); n != tt.fetches {
				t.Errorf("origin requests = %d, want %d", n, tt.fetches)
			}
		})
	}
}

func TestEdgeRequestDirectives(t *testing.T) {
	f := newFixture(t, nil)
	f.origin.set(200, "hello", "Cache-Control", "max-age=100", "ETag", `"v1"`)
	var got []string
	got = append(got, f.get(t, "/v").cache)
	got = append(got, f.get(t, "/v", "Cache-Control", "no-cache").cache)
	got = append(got, f.get(t, "/v", "Pragma", "no-cache").cache)
	// max-age=0 accepts a copy of age 0 (RFC 9111 §5.2.1.1), not older.
	got = append(got, f.get(t, "/v", "Cache-Control", "max-age=0").cache)
	f.clock.Advance(time.Second)
	got = append(got, f.get(t, "/v", "Cache-Control", "max-age=0").cache)
	got = append(got, f.get(t, "/v", "Cache-Control", "min-fresh=200").cache)
	got = append(got, f.get(t, "/v", "Cache-Control", "no-store").cache)
	got = append(got, f.get(t, "/v").cache)
	want := []string{"MISS", "REVALIDATED", "REVALIDATED", "HIT", "REVALIDATED", "REVALIDATED", "BYPASS", "HIT"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("X-Cache (-want +got):\n%s", diff)
	}
	if r := f.get(t, "/other", "Cache-Control", "only-if-cached"); r.status != http.StatusGatewayTimeout {
		t.Errorf("only-if-cached miss: status %d, want 504", r.status)
	}
	if r := f.get(t, "/v", "Cache-Control", "only-if-cached"); r.status != 200 || r.cache != "HIT" {
		t.Errorf("only-if-cached hit: %d %s, want 200 HIT", r.status, r.cache)
	}
	f.clock.Advance(200 * time.Second)
	if r := f.get(t, "/v", "Cache-Control", "only-if-cached"); r.status != http.StatusGatewayTimeout {
		t.Errorf("only-if-cached, stale copy: status %d, want 504", r.status)
	}
}

func TestEdgeStaleIfError(t *testing.T) {
	f := newFixture(t, nil)
	f.origin.set(200, "good copy", "Cache-Control", "max-age=10, stale-if-error=60", "ETag", `"v1"`)
	if r := f.get(t, "/v"); r.cache != "MISS" || r.body != "good copy" {
		t.Fatalf("first GET = %+v", r)
	}
	f.origin.set(503, "overloaded")
	f.clock.Advance(30 * time.Second)
	if r := f.get(t, "/v"); r.status != 200 || r.cache != "STALE" || r.body != "good copy" {
		t.Errorf("origin failing within stale-if-error: got %d %s %q, want 200 STALE \"good copy\"", r.status, r.cache, r.body)
	}
	f.clock.Advance(60 * time.Second)
	if r := f.get(t, "/v"); r.status != http.StatusBadGateway {
		t.Errorf("origin failing past stale-if-error: got %d %s %q, want 502", r.status, r.cache, r.body)
	}
}

func TestEdgeCoalescesMisses(t *testing.T) {
	const clients = 1000
	var originHits atomic.Int64
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "MadMen episode 1")
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	var joined sync.WaitGroup
	joined.Add(clients - 1)
	e := &Edge{Origin: u, onJoin: joined.Done}
	defer e.Close()

	var wg sync.WaitGroup
	results := make([]*httptest.ResponseRecorder, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest("GET", "http://netcinema.com/madmen/1.m4s", nil))
			results[i] = rec
		}()
	}
	joined.Wait() // every other request waits on the leader's fetch
	close(release)
	wg.Wait()
	if n := originHits.Load(); n != 1 {
		t.Errorf("origin fetches = %d, want 1", n)
	}
	for i, rec := range results {
		if rec.Code != 200 || rec.Body.String() != "MadMen episode 1" {
			t.Fatalf("client %d: %d %q", i, rec.Code, rec.Body.String())
		}
	}
}

func TestEdgeRanges(t *testing.T) {
	f := newFixture(t, nil)
	body := "0123456789abcdefghijklmnopqrstuvwxyz"
	f.origin.set(200, body, "Cache-Control", "max-age=60", "ETag", `"v1"`, "Content-Type", "video/mp4")

	r := f.get(t, "/v", "Range", "bytes=10-19")
	if r.status != 206 || r.body != body[10:20] || r.cache != "MISS" || r.header.Get("Content-Range") != "bytes 10-19/36" {
		t.Errorf("range on a miss: %d %s %q %q", r.status, r.cache, r.body, r.header.Get("Content-Range"))
	}
	if got := f.origin.lastReq.Get("Range"); got != "" {
		t.Errorf("origin got Range %q; the edge should fetch the whole object", got)
	}
	r = f.get(t, "/v", "Range", "bytes=-6")
	if r.status != 206 || r.body != body[30:] || r.cache != "HIT" {
		t.Errorf("suffix range from cache: %d %s %q", r.status, r.cache, r.body)
	}
	r = f.get(t, "/v", "Range", "bytes=40-")
	if r.status != 416 || r.header.Get("Content-Range") != "bytes */36" {
		t.Errorf("unsatisfiable range: %d %q", r.status, r.header.Get("Content-Range"))
	}
	r = f.get(t, "/v", "Range", "bytes=0-9", "If-Range", `"v0"`)
	if r.status != 200 || r.body != body {
		t.Errorf("If-Range with an old ETag: %d %q, want the whole object", r.status, r.body)
	}
	r = f.get(t, "/v", "Range", "bytes=0-1,34-")
	_, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if r.status != 206 || err != nil {
		t.Fatalf("two ranges: %d %v", r.status, err)
	}
	mr := multipart.NewReader(strings.NewReader(r.body), params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Range")+" "+string(b))
	}
	if diff := cmp.Diff([]string{"bytes 0-1/36 01", "bytes 34-35/36 yz"}, parts); diff != "" {
		t.Errorf("multipart/byteranges parts (-want +got):\n%s", diff)
	}
	if n := f.origin.count(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
}

func TestEdgeCacheStatusField(t *testing.T) {
	f := newFixture(t, nil)
	var got []string
	got = append(got, f.get(t, "/v").header.Get("Cache-Status"))
	f.clock.Advance(4 * time.Second)
	got = append(got, f.get(t, "/v").header.Get("Cache-Status"))
	f.clock.Advance(10 * time.Second)
	got = append(got, f.get(t, "/v").header.Get("Cache-Status"))
	got = append(got, f.get(t, "/v", "Cache-Control", "no-store").header.Get("Cache-Status"))
	want := []string{
		"appnet-edge; fwd=uri-miss; fwd-status=200",
		"appnet-edge; hit; ttl=6",
		"appnet-edge; fwd=stale; fwd-status=304; ttl=10",
		"appnet-edge; fwd=bypass; fwd-status=200",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Cache-Status (-want +got):\n%s", diff)
	}
}

func TestEdgeConditionalFromClient(t *testing.T) {
	f := newFixture(t, nil)
	f.get(t, "/v")
	if r := f.get(t, "/v", "If-None-Match", `"v1"`); r.status != 304 || r.body != "" || r.cache != "HIT" {
		t.Errorf("If-None-Match of the stored ETag: %d %s %q, want 304 HIT", r.status, r.cache, r.body)
	}
	if r := f.get(t, "/v", "If-None-Match", `"v0"`); r.status != 200 || r.body != "hello" {
		t.Errorf("If-None-Match of another ETag: %d %q, want 200", r.status, r.body)
	}
}

func TestEdgeHostIsInTheKey(t *testing.T) {
	c := newClock()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "site "+r.Header.Get("X-Forwarded-Host"))
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	e := &Edge{Origin: u, Now: c.Now}
	defer e.Close()
	es := httptest.NewServer(e)
	defer es.Close()
	f := &fixture{clock: c, edge: e, url: es.URL}
	got := []string{
		f.get(t, "/index.html", "Host", "netcinema.com").body,
		f.get(t, "/index.html", "Host", "crepes.fr").body,
		f.get(t, "/index.html", "Host", "NETCINEMA.com").body,
	}
	want := []string{"site netcinema.com", "site crepes.fr", "site netcinema.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// rawGET sends a request line as written, bypassing any client-side path
// cleaning, and returns the status code.
func rawGET(t *testing.T, base, target string) int {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: netcinema.com\r\nConnection: close\r\n\r\n", target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestEdgeRefusesDotSegments(t *testing.T) {
	f := newFixture(t, nil)
	for _, target := range []string{"/a/../secret", "/../etc/passwd", "/a/%2e%2e/secret", "/./v", "/a/..%2fsecret"} {
		if code := rawGET(t, f.url, target); code != http.StatusBadRequest {
			t.Errorf("GET %s: %d, want 400", target, code)
		}
	}
	if n := f.origin.count(); n != 0 {
		t.Errorf("origin requests = %d, want 0", n)
	}
}

func TestEdgeViaAndHopByHop(t *testing.T) {
	f := newFixture(t, nil)
	f.origin.set(200, "x", "Cache-Control", "max-age=60", "Connection", "X-Secret", "X-Secret", "1", "Keep-Alive", "timeout=5")
	r := f.get(t, "/v", "Connection", "X-Hop", "X-Hop", "a", "X-End", "b")
	if got := f.origin.lastReq.Get("Via"); got != "1.1 "+DefaultEdgeName {
		t.Errorf("origin saw Via %q", got)
	}
	if f.origin.lastReq.Get("X-Hop") != "" || f.origin.lastReq.Get("X-End") != "b" {
		t.Errorf("origin saw X-Hop %q, X-End %q: want the hop-by-hop one dropped only",
			f.origin.lastReq.Get("X-Hop"), f.origin.lastReq.Get("X-End"))
	}
	for _, rr := range []result{r, f.get(t, "/v")} {
		if rr.header.Get("X-Secret") != "" || rr.header.Get("Keep-Alive") != "" {
			t.Errorf("%s response kept hop-by-hop fields: %v", rr.cache, rr.header)
		}
		if got := rr.header.Get("Via"); got != "1.1 "+DefaultEdgeName {
			t.Errorf("%s response Via %q", rr.cache, got)
		}
	}
	if r := f.get(t, "/v", "Via", "1.0 proxy.crepes.fr, 1.1 "+DefaultEdgeName+" (appnet)"); r.status != http.StatusLoopDetected {
		t.Errorf("request that already went through the edge: %d, want 508", r.status)
	}
	if r := f.get(t, "/v", "Via", "1.1 "+DefaultEdgeName+"2"); r.status != 200 {
		t.Errorf("request through another edge: %d, want 200", r.status)
	}
}

func TestEdgeVary(t *testing.T) {
	c := newClock()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	e := &Edge{Origin: u, Now: c.Now}
	defer e.Close()
	es := httptest.NewServer(e)
	defer es.Close()
	f := &fixture{clock: c, edge: e, url: es.URL}
	var got []string
	for _, lang := range []string{"fr", "fr", "en", "en"} {
		r := f.get(t, "/v", "Accept-Language", lang)
		got = append(got, r.cache+" "+r.body)
	}
	want := []string{"MISS lang=fr", "HIT lang=fr", "MISS lang=en", "HIT lang=en"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEdgeUnsafeMethodInvalidates(t *testing.T) {
	f := newFixture(t, nil)
	f.origin.set(200, "hello", "Cache-Control", "max-age=60")
	f.get(t, "/v")
	req, _ := http.NewRequest("POST", f.url+"/v", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Cache"); got != "BYPASS" {
		t.Errorf("POST X-Cache %q, want BYPASS", got)
	}
	if r := f.get(t, "/v"); r.cache != "MISS" {
		t.Errorf("GET after POST: %s, want MISS", r.cache)
	}
}

// brokenOrigin answers every connection with raw bytes from respond.
func brokenOrigin(t *testing.T, respond func(c net.Conn, stop <-chan struct{})) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	t.Cleanup(func() {
		close(stop)
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				http.ReadRequest(bufio.NewReader(c))
				respond(c, stop)
			}()
		}
	}()
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}
}

func TestEdgeBadOrigins(t *testing.T) {
	tests := []struct {
		name    string
		respond func(net.Conn, <-chan struct{})
		want    int
	}{
		{"short body", func(c net.Conn, hang <-chan struct{}) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\n"+strings.Repeat("x", 50))
		}, http.StatusBadGateway},
		{"hangs after the header", func(c net.Conn, hang <-chan struct{}) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\nxx")
			<-hang
		}, http.StatusGatewayTimeout},
		{"hangs before the header", func(c net.Conn, hang <-chan struct{}) { <-hang }, http.StatusGatewayTimeout},
		{"garbage", func(c net.Conn, hang <-chan struct{}) { io.WriteString(c, "SMTP/1.0 220 hamburger.edu\r\n\r\n") }, http.StatusBadGateway},
		{"broken chunking", func(c net.Conn, hang <-chan struct{}) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx")
		}, http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Edge{Origin: brokenOrigin(t, tt.respond), OriginTimeout: 300 * time.Millisecond}
			defer e.Close()
			for i := range 2 {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, httptest.NewRequest("GET", "http://netcinema.com/v", nil))
				if rec.Code != tt.want {
					t.Errorf("request %d: status %d, want %d", i, rec.Code, tt.want)
				}
			}
			if s := e.CacheStats(); s.Objects != 0 {
				t.Errorf("cache holds %d objects, want none", s.Objects)
			}
			if n := e.OriginFetches(); n != 2 {
				t.Errorf("origin fetches = %d, want 2 (nothing cached)", n)
			}
		})
	}
}

func TestEdgeHugeBodiesPassThrough(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				if !chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				}
				for i := 0; i < len(big); i += 4096 {
					w.Write(big[i : i+4096])
				}
			}))
			defer origin.Close()
			u, _ := url.Parse(origin.URL)
			e := &Edge{Origin: u, Cache: NewCache(256<<10, nil)}
			defer e.Close()
			es := httptest.NewServer(e)
			defer es.Close()
			for range 2 {
				resp, err := http.Get(es.URL + "/big")
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(b, big) {
					t.Fatalf("body: %d bytes, err %v; want the origin's %d bytes", len(b), err, len(big))
				}
			}
			if s := e.CacheStats(); s.Bytes > 256<<10 || s.Objects != 0 {
				t.Errorf("cache %+v: want nothing stored", s)
			}
		})
	}
}

func TestEdgeClientAbortDoesNotCancelTheFetch(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		started <- struct{}{}
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "segment 7")
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	e := &Edge{Origin: u}
	defer e.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", "http://netcinema.com/s7", nil).WithContext(ctx))
	}()
	<-started // the fetch is under way: give up on it
	cancel()
	<-done
	close(release)
	e.wg.Wait()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "http://netcinema.com/s7", nil))
	if rec.Header().Get("X-Cache") != "HIT" || rec.Body.String() != "segment 7" {
		t.Errorf("after the abort: %s %q, want HIT \"segment 7\"", rec.Header().Get("X-Cache"), rec.Body.String())
	}
	if hits.Load() != 1 {
		t.Errorf("origin hits = %d, want 1", hits.Load())
	}
}

func TestOrigin(t *testing.T) {
	mod := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	o := &Origin{Content: fstest.MapFS{
		"6Y7B23V/manifest.mpd": {Data: []byte("<MPD/>"), ModTime: mod},
		"6Y7B23V/index.html":   {Data: []byte("page")},
		"mem.txt":              {Data: []byte("0123456789")},
	}}
	get := func(target string, fields ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://netcinema.com/", nil)
		req.URL.Path = target
		for i := 0; i+1 < len(fields); i += 2 {
			req.Header.Set(fields[i], fields[i+1])
		}
		o.ServeHTTP(rec, req)
		return rec
	}
	r := get("/6Y7B23V/manifest.mpd")
	if r.Code != 200 || r.Header().Get("ETag") != ETag([]byte("<MPD/>"), mod) || r.Header().Get("Last-Modified") != "Wed, 25 Nov 2026 10:00:00 GMT" ||
		r.Header().Get("Content-Type") != "application/dash+xml" || r.Header().Get("Cache-Control") != DefaultOriginCacheControl {
		t.Errorf("manifest: %d %v", r.Code, r.Header())
	}
	if r := get("/6Y7B23V/manifest.mpd", "If-None-Match", ETag([]byte("<MPD/>"), mod)); r.Code != 304 {
		t.Errorf("If-None-Match: %d, want 304", r.Code)
	}
	if r := get("/6Y7B23V/manifest.mpd", "If-Modified-Since", "Wed, 25 Nov 2026 11:00:00 GMT"); r.Code != 304 {
		t.Errorf("If-Modified-Since later: %d, want 304", r.Code)
	}
	if r := get("/6Y7B23V/manifest.mpd", "If-Modified-Since", "Wed, 25 Nov 2026 09:00:00 GMT"); r.Code != 200 {
		t.Errorf("If-Modified-Since earlier: %d, want 200", r.Code)
	}
	if r := get("/6Y7B23V/"); r.Code != 200 || r.Body.String() != "page" {
		t.Errorf("directory: %d %q, want its index.html", r.Code, r.Body.String())
	}
	if r := get("/mem.txt", "Range", "bytes=2-4"); r.Code != 206 || r.Body.String() != "234" || !strings.HasPrefix(r.Header().Get("ETag"), `"`) {
		t.Errorf("range: %d %q etag %q", r.Code, r.Body.String(), r.Header().Get("ETag"))
	}
	for _, bad := range []string{"/../secret", "/6Y7B23V/../../x", "/a\\b"} {
		if r := get(bad); r.Code != 400 {
			t.Errorf("%s: %d, want 400", bad, r.Code)
		}
	}
	if r := get("/nothing"); r.Code != 404 {
		t.Errorf("missing file: %d", r.Code)
	}
}

func TestEdgeMaxFetches(t *testing.T) {
	var inFlight, most atomic.Int64
	release := make(chan struct{})
	arrived := make(chan struct{}, 10)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		arrived <- struct{}{}
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.URL.Path)
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	e := &Edge{Origin: u, MaxFetches: 2}
	defer e.Close()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("http://netcinema.com/seg%d", i), nil))
			if rec.Body.String() != fmt.Sprintf("/seg%d", i) {
				t.Errorf("seg%d: %q", i, rec.Body.String())
			}
		}()
	}
	// Let the fetches through one at a time: at most two are ever at the
	// origin together.
	for range 6 {
		<-arrived
		release <- struct{}{}
	}
	wg.Wait()
	if m := most.Load(); m > 2 {
		t.Errorf("%d fetches at the origin at once, want at most 2", m)
	}
}

// BenchmarkEdgeHit serves a cached 1 KiB object straight from the handler,
// without the network: the edge's own cost per HIT. The response writer
// keeps its header map from one request to the next, as net/http's own
// per-request cost (which wrk measures, with a bare handler as the floor)
// is not the edge's.
func BenchmarkEdgeHit(b *testing.B) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		w.Write(make([]byte, 1024))
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	e := &Edge{Origin: u}
	defer e.Close()
	req := httptest.NewRequest("GET", "http://video.netcinema.com/6Y7B23V/high/00001.toy", nil)
	e.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.code, w.n = 0, 0
			e.ServeHTTP(w, req)
			if w.code != 200 || w.n != 1024 || w.h.Get("X-Cache") != StatusHit {
				b.Fatal(w.code, w.n, w.h)
			}
		}
	})
}

// benchWriter is a ResponseWriter that keeps nothing but the status and
// the length of the body.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *benchWriter) Write(p []byte) (int, error) {
	w.WriteHeader(200)
	w.n += len(p)
	return len(p), nil
}

// TestEdgeHitSharesNoMutableHeader: the HIT path hands out some header
// values without copying them; a handler wrapping the edge that adds to
// them afterwards must not change what the next client gets.
func TestEdgeHitSharesNoMutableHeader(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte("MadMen"))
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	e := &Edge{Origin: u}
	defer e.Close()
	req := httptest.NewRequest("GET", "http://video.netcinema.com/6Y7B23V/manifest.mpd", nil)
	for i := range 3 {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		h := rec.Result().Header
		if i > 0 && (h.Get("X-Cache") != StatusHit || len(h.Values("X-Cache")) != 1 ||
			len(h.Values("Via")) != 1 || len(h.Values("Accept-Ranges")) != 1 ||
			h.Get("Content-Length") != "6" || len(h.Values("ETag")) != 1) {
			t.Fatalf("request %d: header %v", i, h)
		}
		// What a wrapping handler might do after the edge has answered.
		for _, f := range []string{"X-Cache", "Via", "Accept-Ranges", "Content-Length", "ETag"} {
			rec.Header().Add(f, "tampered")
		}
	}
}
