package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
	"appnet.dev/dns/resolver"
)

// clock is virtual time for the cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startInternet(t testing.TB) (*hierarchy.Internet, []resolver.NameServer) {
	t.Helper()
	in, err := hierarchy.Start(hierarchy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	roots, err := resolver.ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		t.Fatal(err)
	}
	return in, roots
}

func newResolver(in *hierarchy.Internet, roots []resolver.NameServer, clk *clock) *resolver.Resolver {
	r := &resolver.Resolver{Roots: roots, Dial: in.Dial, Name: "dns.nyu.edu"}
	if clk != nil {
		r.Cache = &resolver.Cache{Now: clk.Now}
	}
	return r
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func addrs(m *dns.Message, t dns.Type) []string {
	var out []string
	for _, rr := range m.Answers {
		if rr.Type() == t {
			out = append(out, rr.Data.String())
		}
	}
	return out
}

func TestIterativeGaia(t *testing.T) {
	in, roots := startInternet(t)
	var trace strings.Builder
	r := newResolver(in, roots, nil)
	r.Trace = &trace
	m, err := r.Resolve(ctxT(t), dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m, dns.TypeA); len(got) != 1 || got[0] != "128.119.245.12" {
		t.Fatalf("answer %v\n%s", got, trace.String())
	}
	// root, edu, umass.edu, cs.umass.edu: four servers, one query each.
	q := r.Queries()
	total := 0
	for _, n := range q {
		total += n
	}
	if total != 4 {
		t.Errorf("%d queries, want 4: %v\n%s", total, q, trace.String())
	}
	for _, want := range []string{
		"I don't know gaia.cs.umass.edu., but ask this server: a.edu-servers.net (192.12.94.30) (for edu.)",
		"ask this server: dns.umass.edu (128.119.40.186) (for umass.edu.)",
		"ask this server: dns.cs.umass.edu (128.119.240.1) (for cs.umass.edu.)",
		"dns.cs.umass.edu: gaia.cs.umass.edu.\t3600\tIN\tA\t128.119.245.12",
	} {
		if !strings.Contains(trace.String(), want) {
			t.Errorf("trace lacks %q:\n%s", want, trace.String())
		}
	}
}

func TestCacheSparesRoot(t *testing.T) {
	in, roots := startInternet(t)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	r := newResolver(in, roots, clk)
	ctx := ctxT(t)
	if _, err := r.Resolve(ctx, dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA); err != nil {
		t.Fatal(err)
	}
	before := r.Queries()
	clk.Advance(100 * time.Second)
	m, err := r.Resolve(ctx, dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) != 1 || m.Answers[0].TTL != 3500 {
		t.Fatalf("cached answer %v, want TTL 3500", m.Answers)
	}
	if after := r.Queries(); len(after) != len(before) || sum(after) != sum(before) {
		t.Errorf("cached answer asked upstream: %v then %v", before, after)
	}
	// A new name under .edu: the TLD server is known; the root is not asked.
	rootAddr := roots[0].Addr
	rootsBefore := sum(pick(r.Queries(), roots))
	m, err = r.Resolve(ctx, dns.MustParseName("www.nyu.edu"), dns.TypeA)
	if err != nil || len(addrs(m, dns.TypeA)) != 1 {
		t.Fatalf("www.nyu.edu: %v %v", m, err)
	}
	if got := sum(pick(r.Queries(), roots)); got != rootsBefore {
		t.Errorf("root (%s) asked again for a name under a cached TLD", rootAddr)
	}
	// After the TTL, the answer is gone and asked for again.
	clk.Advance(3600 * time.Second)
	if _, ok := r.Cache.Get(dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA); ok {
		t.Error("answer still cached after its TTL")
	}
}

func sum(m map[netip.Addr]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func pick(m map[netip.Addr]int, ns []resolver.NameServer) map[netip.Addr]int {
	out := map[netip.Addr]int{}
	for _, s := range ns {
		out[s.Addr] = m[s.Addr]
	}
	return out
}

func TestNegativeCache(t *testing.T) {
	in, roots := startInternet(t)
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	r := newResolver(in, roots, clk)
	ctx := ctxT(t)
	m, err := r.Resolve(ctx, dns.MustParseName("nosuch.cs.umass.edu"), dns.TypeA)
	if err != nil || m.RCode != dns.RCodeNameError || len(m.Authorities) != 1 {
		t.Fatalf("NXDOMAIN: %v %v", m, err)
	}
	n := sum(r.Queries())
	clk.Advance(10 * time.Second)
	m, err = r.Resolve(ctx, dns.MustParseName("nosuch.cs.umass.edu"), dns.TypeMX)
	if err != nil || m.RCode != dns.RCodeNameError || m.Authorities[0].TTL != 290 {
		t.Fatalf("cached NXDOMAIN: %v %v", m, err)
	}
	if sum(r.Queries()) != n {
		t.Error("cached NXDOMAIN asked upstream")
	}
	// NODATA: gaia has no MX.
	m, err = r.Resolve(ctx, dns.MustParseName("gaia.cs.umass.edu"), dns.TypeMX)
	if err != nil || m.RCode != dns.RCodeSuccess || len(m.Answers) != 0 || len(m.Authorities) != 1 {
		t.Fatalf("NODATA: %v %v", m, err)
	}
	clk.Advance(301 * time.Second)
	n = sum(r.Queries())
	if _, err := r.Resolve(ctx, dns.MustParseName("nosuch.cs.umass.edu"), dns.TypeA); err != nil {
		t.Fatal(err)
	}
	if sum(r.Queries()) == n {
		t.Error("expired negative answer still served")
	}
}

func TestCNAMEAndMissingGlue(t *testing.T) {
	in, roots := startInternet(t)
	var trace strings.Builder
	r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
	r.Trace = &trace
	// amazon.com's server, pdns1.ultradns.net, has no glue in .com.
	m, err := r.Resolve(ctxT(t), dns.MustParseName("smile.amazon.com"), dns.TypeA)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace.String())
	}
	if len(m.Answers) != 3 || m.Answers[0].Type() != dns.TypeCNAME || m.Answers[2].Data.String() != "205.251.242.103" {
		t.Fatalf("answers %v", m.Answers)
	}
	if !strings.Contains(trace.String(), "no address for pdns1.ultradns.net. given") {
		t.Errorf("trace:\n%s", trace.String())
	}
}

func TestReverse(t *testing.T) {
	in, roots := startInternet(t)
	r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
	m, err := r.Resolve(ctxT(t), dns.MustParseName("12.245.119.128.in-addr.arpa"), dns.TypePTR)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m, dns.TypePTR); len(got) != 1 || got[0] != "gaia.cs.umass.edu." {
		t.Fatalf("PTR %v", got)
	}
	m, err = r.Resolve(ctxT(t), dns.MustParseName("2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.5.4.2.0.8.b.d.0.1.0.0.2.ip6.arpa"), dns.TypePTR)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m, dns.TypePTR); len(got) != 1 || got[0] != "gaia.cs.umass.edu." {
		t.Fatalf("ip6.arpa PTR %v", got)
	}
}

func TestRecursiveServer(t *testing.T) {
	in, roots := startInternet(t)
	r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: r, Workers: 4}
	go srv.ServeBoth(pc, ln)
	t.Cleanup(func() { srv.Close() })
	var c dns.Client
	q := dns.NewQuery(dns.MustParseName("www.cs.umass.edu"), dns.TypeA)
	q.RecursionDesired = true
	m, err := c.Exchange(ctxT(t), pc.LocalAddr().String(), q)
	if err != nil {
		t.Fatal(err)
	}
	if !m.RecursionAvailable || m.Authoritative || m.RCode != dns.RCodeSuccess {
		t.Errorf("header %+v", m.Header)
	}
	if got := addrs(m, dns.TypeA); len(got) != 1 || got[0] != "128.119.245.12" {
		t.Errorf("answer %v", m.Answers)
	}
	q = dns.NewQuery(dns.MustParseName("nosuch.example"), dns.TypeA)
	q.RecursionDesired = true
	m, err = c.Exchange(ctxT(t), pc.LocalAddr().String(), q)
	if err != nil || m.RCode != dns.RCodeNameError {
		t.Errorf("nosuch.example: %v %v", m, err)
	}
}

func TestUnreachableServFail(t *testing.T) {
	in, _ := startInternet(t)
	r := &resolver.Resolver{
		Roots:   []resolver.NameServer{{Addr: netip.MustParseAddr("192.0.2.1")}},
		Dial:    in.Dial,
		Timeout: 50 * time.Millisecond,
	}
	m, err := r.Resolve(ctxT(t), dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
	if !errors.Is(err, resolver.ErrServFail) || m.RCode != dns.RCodeServerFailure {
		t.Fatalf("got %v %v", m.RCode, err)
	}
}

func TestCacheBounded(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	c := &resolver.Cache{Now: clk.Now, MaxEntries: 10}
	for i := range 25 {
		name, _ := dns.MustParseName("umass.edu").Child(fmt.Sprintf("h%d", i))
		c.Add([]dns.RR{{Name: name, Class: dns.ClassINET, TTL: uint32(10 + i), Data: &dns.A{Addr: netip.MustParseAddr("128.119.0.1")}}})
		if c.Len() > 10 {
			t.Fatalf("%d entries, over the bound of 10", c.Len())
		}
	}
	last, _ := dns.MustParseName("umass.edu").Child("h24")
	if _, ok := c.Get(last, dns.TypeA); !ok {
		t.Error("the newest entry is missing")
	}
	clk.Advance(40 * time.Second)
	if _, ok := c.Get(last, dns.TypeA); ok {
		t.Error("entry kept past its TTL")
	}
}

// TestServerSelectionByRTT gives the resolver two root servers, one of
// which never answers: the resolver falls back to the other, measures
// both, and from then on asks the one that answers.
func TestServerSelectionByRTT(t *testing.T) {
	in, roots := startInternet(t)
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	dead := netip.MustParseAddr("192.0.2.53")
	r := &resolver.Resolver{
		Roots:   []resolver.NameServer{{Host: dns.MustParseName("dead.root-servers.net"), Addr: dead}, roots[0]},
		Timeout: 500 * time.Millisecond,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if netip.MustParseAddrPort(addr).Addr() == dead {
				var d net.Dialer
				return d.DialContext(ctx, network, silent.LocalAddr().String())
			}
			return in.Dial(ctx, network, addr)
		},
	}
	ctx := ctxT(t)
	for _, name := range []string{"gaia.cs.umass.edu", "www.nyu.edu", "www.amazon.com", "www.wikipedia.org"} {
		if _, err := r.Resolve(ctx, dns.MustParseName(name), dns.TypeA); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if n := r.Queries()[dead]; n > 1 {
		t.Errorf("the dead root was asked %d times", n)
	}
	if r.Queries()[dead] == 1 && r.RTT(dead) <= r.RTT(roots[0].Addr) {
		t.Errorf("RTT of the dead root %v, of the live one %v", r.RTT(dead), r.RTT(roots[0].Addr))
	}
}

func TestCacheCapsTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1e9, 0)}
	c := &resolver.Cache{Now: clk.Now}
	name := dns.MustParseName("gaia.cs.umass.edu")
	c.Add([]dns.RR{{Name: name, Class: dns.ClassINET, TTL: 1 << 31, Data: &dns.A{Addr: netip.MustParseAddr("128.119.245.12")}}})
	rrs, ok := c.Get(name, dns.TypeA)
	if !ok || rrs[0].TTL != 86400 {
		t.Fatalf("TTL %v, want capped at a day", rrs)
	}
	clk.Advance(24 * time.Hour)
	if _, ok := c.Get(name, dns.TypeA); ok {
		t.Error("kept past a day")
	}
}
