package cdn_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing/fstest"
	"time"

	"appnet.dev/cdn"
)

// An edge in front of netcinema.com's origin, in virtual time: the first
// request is a MISS, the next ones HITs while the copy is fresh; once it is
// stale the edge asks the origin "has it changed?" and the origin's 304
// makes it REVALIDATED.
func ExampleEdge() {
	now := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	origin := &cdn.Origin{
		Content:      fstest.MapFS{"6Y7B23V/manifest.mpd": {Data: []byte("<MPD/>"), ModTime: now.Add(-time.Hour)}},
		CacheControl: func(string) string { return "max-age=60" },
		Now:          clock,
	}
	os := httptest.NewServer(origin)
	defer os.Close()
	u, _ := url.Parse(os.URL)
	edge := &cdn.Edge{Origin: u, Now: clock, Name: "bos1.kingcdn.com"}
	defer edge.Close()

	get := func() {
		rec := httptest.NewRecorder()
		edge.ServeHTTP(rec, httptest.NewRequest("GET", "http://video.netcinema.com/6Y7B23V/manifest.mpd", nil))
		fmt.Printf("%s  GET /6Y7B23V/manifest.mpd  %d %s  Age: %s\n",
			now.Format("15:04:05"), rec.Code, rec.Header().Get("X-Cache"), rec.Header().Get("Age"))
	}
	get()
	now = now.Add(30 * time.Second)
	get()
	now = now.Add(40 * time.Second)
	get()
	get()
	fmt.Println("origin requests:", origin.Requests())
	// Output:
	// 20:00:00  GET /6Y7B23V/manifest.mpd  200 MISS  Age: 0
	// 20:00:30  GET /6Y7B23V/manifest.mpd  200 HIT  Age: 30
	// 20:01:10  GET /6Y7B23V/manifest.mpd  200 REVALIDATED  Age: 0
	// 20:01:10  GET /6Y7B23V/manifest.mpd  200 HIT  Age: 0
	// origin requests: 2
}

// Route is the request-routing policy: Bob's network is covered by the
// Boston cluster; when its edges are down he goes to the nearest other
// cluster.
func ExampleRoute() {
	m, _ := cdn.ParseMap(strings.NewReader(`
cluster boston  42.36  -71.06
cluster newyork 40.71  -74.01
cluster sanjose 37.34 -121.89
edge bos1 boston  127.0.0.11:80
edge nyc1 newyork 127.0.0.21:80
edge sjc1 sanjose 127.0.0.31:80
zone 10.1.0.0/16 boston
`))
	bob := netip.MustParseAddr("10.1.2.3")
	fmt.Println(cdn.Route(m, nil, bob, "/6Y7B23V", 0, 3))
	down := map[string]cdn.NodeState{"bos1": {Healthy: false, Err: "connection refused"}}
	fmt.Println(cdn.Route(m, down, bob, "/6Y7B23V", 0, 3))
	// Output:
	// [{bos1 boston 127.0.0.11:80} {nyc1 newyork 127.0.0.21:80} {sjc1 sanjose 127.0.0.31:80}]
	// [{nyc1 newyork 127.0.0.21:80} {sjc1 sanjose 127.0.0.31:80}]
}

// ParseCacheControl reads what the origin allows caches to do.
func ExampleParseCacheControl() {
	cc := cdn.ParseCacheControl([]string{"public, max-age=60, stale-while-revalidate=30", "stale-if-error=86400"})
	fmt.Println(cc.Public, cc.MaxAge, cc.StaleWhileRevalidate, cc.StaleIfError, cc.SMaxAge == cdn.NotSet)
	fmt.Println(cc)
	// Output:
	// true 1m0s 30s 24h0m0s true
	// public, max-age=60, stale-while-revalidate=30, stale-if-error=86400
}

// A Redirector answers with a 302 to the edge chosen for the client.
func ExampleRedirector() {
	m, _ := cdn.ParseMap(strings.NewReader("cluster boston 42.36 -71.06\nedge bos1 boston 127.0.0.11:80\nzone 10.1.0.0/16 boston\n"))
	d := &cdn.Redirector{Router: &cdn.Router{Map: m}}
	req := httptest.NewRequest("GET", "http://kingcdn.com/NetC6y&B23V/manifest.mpd", nil)
	req.RemoteAddr = "10.1.2.3:40000"
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	resp := rec.Result()
	io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode, http.StatusText(resp.StatusCode), resp.Header.Get("Location"))
	// Output:
	// 302 Found http://127.0.0.11:80/NetC6y&B23V/manifest.mpd
}
