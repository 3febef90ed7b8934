package cdn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func readTestMap(t testing.TB) *Map {
	t.Helper()
	f, err := os.Open("testdata/kingcdn.map")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseMap(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseMap(t *testing.T) {
	m := readTestMap(t)
	if len(m.Clusters) != 3 || len(m.Nodes) != 4 || len(m.Zones) != 4 {
		t.Fatalf("map has %d clusters, %d edges, %d zones; want 3, 4, 4", len(m.Clusters), len(m.Nodes), len(m.Zones))
	}
	want := Node{"nyc1", "newyork", netip.MustParseAddrPort("127.0.0.21:8080")}
	if m.Nodes[2] != want {
		t.Errorf("edge 3 = %+v, want %+v", m.Nodes[2], want)
	}
	// Written out and read back, it is the same map.
	var buf bytes.Buffer
	m.WriteTo(&buf)
	again, err := ParseMap(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, again, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
		cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }), cmpopts.IgnoreUnexported(Map{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	bad := []struct{ name, text string }{
		{"unknown entry", "server x\n"},
		{"short cluster", "cluster a 1\n"},
		{"bad latitude", "cluster a 91 0\n"},
		{"bad address", "cluster a 1 1\nedge e a 127.0.0.1\n"},
		{"unknown cluster", "cluster a 1 1\nedge e b 127.0.0.1:80\n"},
		{"duplicate edge", "cluster a 1 1\nedge e a 127.0.0.1:80\nedge e a 127.0.0.2:80\n"},
		{"bad prefix", "cluster a 1 1\nzone 10.0.0.0/33 a\n"},
		{"zone of unknown cluster", "zone 10.0.0.0/8 x\n"},
		{"long line", "# " + strings.Repeat("x", MaxMapLine) + "\n"},
	}
	for _, tt := range bad {
		if _, err := ParseMap(strings.NewReader(tt.text)); !errors.Is(err, ErrMap) {
			t.Errorf("%s: err = %v, want ErrMap", tt.name, err)
		}
	}
}

func TestRoute(t *testing.T) {
	m := readTestMap(t)
	names := func(ns []Node) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.Name)
		}
		return out
	}
	// Inside a cluster the ring orders the edges; take it from the policy.
	bos := names(Route(m, nil, netip.MustParseAddr("10.1.2.3"), "/6Y7B23V", 0, 2))
	if len(bos) != 2 || !strings.HasPrefix(bos[0], "bos") || !strings.HasPrefix(bos[1], "bos") {
		t.Fatalf("Boston client: %v, want its two Boston edges", bos)
	}
	first, second := bos[0], bos[1]
	down := map[string]NodeState{first: {Healthy: false}}
	busy := map[string]NodeState{first: {Healthy: true, Load: 100}}
	tests := []struct {
		name    string
		client  string
		states  map[string]NodeState
		maxLoad int64
		want    []string
	}{
		{"home cluster, then nearest first", "10.1.2.3", nil, 0, []string{first, second, "nyc1", "sjc1"}},
		{"longest prefix wins", "10.1.99.7", nil, 0, []string{"nyc1", first, second, "sjc1"}},
		{"west coast", "10.3.0.1", nil, 0, []string{"sjc1", "nyc1", first, second}},
		{"failed edge never chosen", "10.1.2.3", down, 0, []string{second, "nyc1", "sjc1"}},
		{"overloaded edge goes last", "10.1.2.3", busy, 50, []string{second, "nyc1", "sjc1", first}},
		{"load under the limit is fine", "10.1.2.3", busy, 500, []string{first, second, "nyc1", "sjc1"}},
		{"whole cluster down: nearest other", "10.1.2.3",
			map[string]NodeState{"bos1": {}, "bos2": {}}, 0, []string{"nyc1", "sjc1"}},
		{"no zone: map order", "192.0.2.1", nil, 0, []string{first, second, "nyc1", "sjc1"}},
		{"everything down", "10.1.2.3",
			map[string]NodeState{"bos1": {}, "bos2": {}, "nyc1": {}, "sjc1": {}}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(Route(m, tt.states, netip.MustParseAddr(tt.client), "/6Y7B23V", tt.maxLoad, 10))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFailedEdgeLeavesWithinOneTTL drives a Monitor in virtual time: an
// edge that fails is out of the answers at the first check after it
// failed, and checks come at least once per TTL.
func TestFailedEdgeLeavesWithinOneTTL(t *testing.T) {
	m := readTestMap(t)
	var failed atomic.Value
	failed.Store("")
	c := newClock()
	mon := &Monitor{
		Nodes: m.Nodes,
		Now:   c.Now,
		Probe: func(_ context.Context, n Node) (int64, error) {
			if failed.Load() == n.Name {
				return 0, errors.New("connection refused")
			}
			return 1, nil
		},
	}
	if DefaultCheckInterval > DefaultTTL*time.Second {
		t.Fatalf("check interval %v longer than the TTL %ds", DefaultCheckInterval, DefaultTTL)
	}
	r := &Router{Map: m, Monitor: mon}
	client := netip.MustParseAddr("10.1.2.3")
	mon.Check(context.Background())
	victim := r.Choose(client, "/6Y7B23V", 1)[0].Name

	failed.Store(victim)
	failAt := c.Now()
	// Checks every Interval; the TTL of answers given just before the
	// failure runs out at failAt+TTL. By then the victim must be gone.
	for c.Now().Sub(failAt) < DefaultTTL*time.Second {
		c.Advance(DefaultCheckInterval)
		mon.Check(context.Background())
		if r.Choose(client, "/6Y7B23V", 1)[0].Name != victim {
			return
		}
	}
	t.Errorf("%s still chosen %v after it failed", victim, c.Now().Sub(failAt))
}

func TestMonitorHTTPProbeAndOverload(t *testing.T) {
	release := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	joined := make(chan struct{})
	e := &Edge{Origin: u, onJoin: func() { close(joined) }}
	defer e.Close()
	es := httptest.NewServer(e)
	defer es.Close()
	defer close(release)
	node := Node{Name: "bos1", Cluster: "boston", Addr: netip.MustParseAddrPort(strings.TrimPrefix(es.URL, "http://"))}
	dead := Node{Name: "bos2", Cluster: "boston", Addr: netip.MustParseAddrPort("127.0.0.1:1")}
	mon := &Monitor{Nodes: []Node{node, dead}, Timeout: 5 * time.Second}

	// Two requests stuck at the origin make the edge's load 2.
	for range 2 {
		go func() {
			if resp, err := http.Get(es.URL + "/slow"); err == nil {
				resp.Body.Close()
			}
		}()
	}
	<-joined // the second request waits on the first one's fetch
	mon.Check(context.Background())
	st := mon.States()
	if !st["bos1"].Healthy || st["bos1"].Load < 2 {
		t.Errorf("bos1 state %+v: want healthy with load >= 2", st["bos1"])
	}
	if st["bos2"].Healthy || st["bos2"].Err == "" {
		t.Errorf("bos2 state %+v: want down with a reason", st["bos2"])
	}
	e.SetDown(true)
	mon.Check(context.Background())
	if mon.States()["bos1"].Healthy {
		t.Error("bos1 healthy after SetDown(true)")
	}
}

func TestRedirector(t *testing.T) {
	m := readTestMap(t)
	d := &Redirector{Router: &Router{Map: m}}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "http://video.netcinema.com/6Y7B23V/manifest.mpd?x=1", nil)
	req.RemoteAddr = "10.3.0.9:5555"
	d.ServeHTTP(rec, req)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "http://127.0.0.31:8080/6Y7B23V/manifest.mpd?x=1" {
		t.Errorf("got %d Location %q; want 302 to sjc1", rec.Code, rec.Header().Get("Location"))
	}
	all := map[string]NodeState{}
	for _, n := range m.Nodes {
		all[n.Name] = NodeState{}
	}
	rec = httptest.NewRecorder()
	d2 := &Redirector{Router: &Router{Map: m, Monitor: &Monitor{states: all}}}
	d2.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("every edge down: %d, want 503", rec.Code)
	}
}

func TestFailoverGoesToAnotherCopy(t *testing.T) {
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "chunk from "+r.Host)
	}))
	defer good.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	stop := make(chan struct{})
	defer close(stop)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select { // the congested path: the body never finishes
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	host := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

	var trace bytes.Buffer
	f := &Failover{
		AttemptTimeout: 200 * time.Millisecond,
		Copies: func(context.Context, *http.Request) ([]string, error) {
			return []string{"127.0.0.1:1", host(broken), host(slow), host(good)}, nil
		},
		Trace: &trace,
	}
	client := &http.Client{Transport: f}
	resp, err := client.Get("http://kingcdn.com/NetC6y&B23V/1.m4s")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "chunk from kingcdn.com" {
		t.Errorf("body %q: want the good copy's, asked under the original Host", b)
	}
	if n := strings.Count(trace.String(), "trying another copy"); n != 3 {
		t.Errorf("trace shows %d failed attempts, want 3:\n%s", n, trace.String())
	}
	// The failed copies now wait at the back: the good one answers first.
	trace.Reset()
	if resp, err := client.Get("http://kingcdn.com/NetC6y&B23V/2.m4s"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if trace.Len() != 0 {
		t.Errorf("second request tried failed copies first:\n%s", trace.String())
	}
	f.Copies = func(context.Context, *http.Request) ([]string, error) { return []string{host(broken)}, nil }
	if _, err := client.Get("http://kingcdn.com/x"); !errors.Is(err, ErrNoCopy) {
		t.Errorf("all copies broken: err %v, want ErrNoCopy", err)
	}
}

func TestMonitorRunStopsWithItsContext(t *testing.T) {
	probed := make(chan struct{}, 1)
	mon := &Monitor{
		Nodes:    []Node{{Name: "bos1", Cluster: "boston", Addr: netip.MustParseAddrPort("127.0.0.11:80")}},
		Interval: time.Hour,
		Probe: func(context.Context, Node) (int64, error) {
			select {
			case probed <- struct{}{}:
			default:
			}
			return 3, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- mon.Run(ctx) }()
	<-probed // the first round runs at once
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if st := mon.States()["bos1"]; !st.Healthy || st.Load != 3 {
		t.Errorf("state %+v", st)
	}
}

// BenchmarkRoute is one routing decision on KingCDN's test map (four
// clusters of edges, Bob in Boston): the consistent-hashing rings of the
// clusters are built once per Map, not on every call.
func BenchmarkRoute(b *testing.B) {
	m := readTestMap(b)
	bob := netip.MustParseAddr("10.1.2.3")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(Route(m, nil, bob, "/6Y7B23V/high/0000"+strconv.Itoa(i%10)+".toy", 0, 2)) != 2 {
			b.Fatal("no route")
		}
	}
}

func TestRouteSeesReplacedNodes(t *testing.T) {
	m := readTestMap(t)
	bob := netip.MustParseAddr("10.1.2.3")
	if got := Route(m, nil, bob, "/6Y7B23V", 0, 1); len(got) != 1 || got[0].Cluster != "boston" {
		t.Fatalf("before: %v, want a Boston edge", got)
	}
	// KingCDN takes Boston out of the map: a new Nodes slice, new rings.
	m.Nodes = slices.DeleteFunc(slices.Clone(m.Nodes), func(n Node) bool { return n.Cluster == "boston" })
	if got := Route(m, nil, bob, "/6Y7B23V", 0, 1); len(got) != 1 || got[0].Cluster == "boston" {
		t.Errorf("after: %v, want no Boston edge", got)
	}
}
