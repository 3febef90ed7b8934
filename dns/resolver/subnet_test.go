package resolver_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
	"appnet.dev/sockets/sockettest"
)

// Public addresses of the little Internet of the ECS tests, each mapped by
// the resolver's dialer to a listener on 127.0.0.1.
var (
	ecsRoot    = netip.MustParseAddr("198.41.0.4")
	ecsKingCDN = netip.MustParseAddr("192.0.2.5") // ns.kingcdn.test
	ecsPlain   = netip.MustParseAddr("192.0.2.6") // ns.plain.test, no ECS
)

// asked is what one authoritative server was asked.
type asked struct {
	name   string
	subnet netip.Prefix // invalid: no ECS option
}

// queryLog records the queries a server got.
type queryLog struct {
	mu sync.Mutex
	qs []asked
}

func (l *queryLog) add(req *dns.Request) dns.ClientSubnet {
	cs, ok, _ := req.EDNS.ClientSubnet()
	a := asked{name: req.Questions[0].Name.String()}
	if ok {
		a.subnet = cs.Source
	}
	l.mu.Lock()
	l.qs = append(l.qs, a)
	l.mu.Unlock()
	return cs
}

func (l *queryLog) all() []asked {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]asked(nil), l.qs...)
}

func (l *queryLog) len() int { return len(l.all()) }

// kingCDN answers for kingcdn.test as a CDN's DNS does: the edge for the
// client's network, told by ECS (RFC 7871 §7.2).
//
//	video.kingcdn.test   10.1.0.0/16 -> 10.1.0.80 (Boston), 10.2.0.0/16 ->
//	                     10.2.0.80 (New York), scope /16; elsewhere
//	                     192.0.2.80, scope = the source sent
//	static.kingcdn.test  192.0.2.99 for everyone, scope /0
//	forged.kingcdn.test  echoes another subnet than it was sent
//	picky.kingcdn.test   REFUSED with ECS, 192.0.2.77 without
func kingCDN(log *queryLog) dns.HandlerFunc {
	boston, newyork := netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.0.0/16")
	return func(_ context.Context, reply *dns.Message, req *dns.Request) {
		q := req.Questions[0]
		cs, has, err := req.EDNS.ClientSubnet()
		log.add(req)
		if err != nil {
			reply.RCode = dns.RCodeFormatError
			return
		}
		reply.Authoritative = true
		a := func(addr string) {
			reply.Answers = append(reply.Answers, dns.RR{Name: q.Name, Class: dns.ClassINET, TTL: 20, Data: &dns.A{Addr: netip.MustParseAddr(addr)}})
		}
		echo := func(source netip.Prefix, scope int) {
			if has && reply.EDNS != nil {
				reply.EDNS.Options = append(reply.EDNS.Options, dns.ClientSubnet{Source: source, Scope: scope}.Option())
			}
		}
		switch q.Name.FirstLabel() {
		case "video":
			switch {
			case has && boston.Contains(cs.Source.Addr()):
				a("10.1.0.80")
				echo(cs.Source, 16)
			case has && newyork.Contains(cs.Source.Addr()):
				a("10.2.0.80")
				echo(cs.Source, 16)
			default:
				a("192.0.2.80")
				echo(cs.Source, cs.Source.Bits())
			}
		case "static":
			a("192.0.2.99")
			echo(cs.Source, 0)
		case "picky": // refuses queries with ECS
			if has {
				reply.RCode = dns.RCodeRefused
				return
			}
			a("192.0.2.77")
		case "forged":
			a("10.9.9.80")
			echo(netip.MustParsePrefix("10.9.9.0/24"), 24)
		default:
			reply.RCode = dns.RCodeNameError
		}
	}
}

// plainServer answers every name of plain.test, knowing nothing of ECS.
func plainServer(log *queryLog) dns.HandlerFunc {
	return func(_ context.Context, reply *dns.Message, req *dns.Request) {
		log.add(req)
		reply.Authoritative = true
		reply.Answers = append(reply.Answers, dns.RR{Name: req.Questions[0].Name, Class: dns.ClassINET, TTL: 60, Data: &dns.A{Addr: netip.MustParseAddr("192.0.2.7")}})
	}
}

// ecsRootServer refers kingcdn.test and plain.test to their servers.
func ecsRootServer(log *queryLog) dns.HandlerFunc {
	return func(_ context.Context, reply *dns.Message, req *dns.Request) {
		log.add(req)
		q := req.Questions[0].Name
		refer := func(zone, host string, addr netip.Addr) {
			reply.Authorities = append(reply.Authorities, dns.RR{Name: dns.MustParseName(zone), Class: dns.ClassINET, TTL: 3600, Data: &dns.NS{Host: dns.MustParseName(host)}})
			reply.Additionals = append(reply.Additionals, dns.RR{Name: dns.MustParseName(host), Class: dns.ClassINET, TTL: 3600, Data: &dns.A{Addr: addr}})
		}
		switch {
		case q.IsSubdomainOf(dns.MustParseName("kingcdn.test")):
			refer("kingcdn.test", "ns.kingcdn.test", ecsKingCDN)
		case q.IsSubdomainOf(dns.MustParseName("plain.test")):
			refer("plain.test", "ns.plain.test", ecsPlain)
		default:
			reply.RCode = dns.RCodeNameError
		}
	}
}

// serveOn serves h on 127.0.0.1 (UDP and TCP) until the test ends.
func serveOn(t testing.TB, h dns.Handler) string {
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: h, Workers: 2}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return pc.LocalAddr().String()
}

// ecsNet is the ECS tests' Internet: a root, KingCDN's DNS and a server
// without ECS, with the logs of what each was asked.
type ecsNet struct {
	root, cdn, plain queryLog
	cdnAddr          string // KingCDN's listener
	dial             func(ctx context.Context, network, addr string) (net.Conn, error)
}

func startECSNet(t testing.TB) *ecsNet {
	n := &ecsNet{}
	at := map[netip.Addr]string{
		ecsRoot:    serveOn(t, ecsRootServer(&n.root)),
		ecsKingCDN: serveOn(t, kingCDN(&n.cdn)),
		ecsPlain:   serveOn(t, plainServer(&n.plain)),
	}
	n.cdnAddr = at[ecsKingCDN]
	n.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return nil, err
		}
		l, ok := at[ap.Addr()]
		if !ok {
			return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError("no such host in the test")}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, l)
	}
	return n
}

// lab10 lets the subnets of 10.0.0.0/8 be sent: the private networks the
// tests place their clients in.
func lab10() *resolver.SubnetPolicy {
	return &resolver.SubnetPolicy{Clients: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
}

func (n *ecsNet) resolver(clk *clock, policy *resolver.SubnetPolicy) *resolver.Resolver {
	return &resolver.Resolver{
		Roots:        []resolver.NameServer{{Host: dns.MustParseName("a.root-servers.net"), Addr: ecsRoot}},
		Dial:         n.dial,
		Cache:        &resolver.Cache{Now: clk.Now},
		Name:         "dns.nyu.edu",
		ClientSubnet: policy,
	}
}

// stubECS asks the recursive server at addr for name's A records as a stub
// in subnet does ("" sends no ECS), and returns the reply and the ECS
// option it carried, if any.
func stubECS(t testing.TB, addr, name, subnet string) (*dns.Message, dns.ClientSubnet, bool) {
	t.Helper()
	q := dns.NewQuery(dns.MustParseName(name), dns.TypeA)
	q.RecursionDesired = true
	q.EDNS = &dns.EDNS{UDPSize: 1232}
	if subnet != "" {
		p := netip.MustParsePrefix(subnet)
		q.EDNS.Options = []dns.Option{{Code: dns.OptionClientSubnet, Data: dns.ClientSubnet{Source: p}.Append(nil)}}
	}
	c := dns.Client{Attempts: 1, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := c.Exchange(ctx, addr, q)
	if err != nil {
		t.Fatalf("%s from %s: %v", name, subnet, err)
	}
	cs, ok, err := m.EDNS.ClientSubnet()
	if err != nil {
		t.Fatalf("%s from %s: reply's ECS: %v", name, subnet, err)
	}
	return m, cs, ok
}

// TestClientSubnetPlacesClients: two stubs in different networks resolve
// the same CDN name through one resolver and get the edges of their own
// networks; a stub in a network the first answer's scope covers is answered
// from the cache, one outside it is not; the root never learns a subnet.
func TestClientSubnetPlacesClients(t *testing.T) {
	n := startECSNet(t)
	r := n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10())
	addr := startOurs(t, r)
	for i, c := range []struct {
		subnet   string
		want     string
		scope    int
		upstream int // queries KingCDN has had after this one
	}{
		{"10.1.1.0/24", "10.1.0.80", 16, 1},
		{"10.2.2.0/24", "10.2.0.80", 16, 2},
		{"10.1.1.0/24", "10.1.0.80", 16, 2},  // the same /24: from the cache
		{"10.1.9.0/24", "10.1.0.80", 16, 2},  // within the /16 scope: from the cache
		{"10.3.3.0/24", "192.0.2.80", 24, 3}, // outside both: asked
		{"10.2.7.0/24", "10.2.0.80", 16, 3},
	} {
		m, cs, ok := stubECS(t, addr, "video.kingcdn.test", c.subnet)
		if got := data(m, dns.TypeA); len(got) != 1 || got[0] != c.want {
			t.Errorf("#%d from %s: answer %v (%v), want %s", i, c.subnet, got, m.RCode, c.want)
		}
		if want := (dns.ClientSubnet{Source: netip.MustParsePrefix(c.subnet), Scope: c.scope}); !ok || cs != want {
			t.Errorf("#%d from %s: ECS in reply %v (%v), want %v", i, c.subnet, cs, ok, want)
		}
		if got := n.cdn.len(); got != c.upstream {
			t.Errorf("#%d from %s: KingCDN asked %d times, want %d", i, c.subnet, got, c.upstream)
		}
	}
	for _, q := range n.cdn.all() {
		if !q.subnet.IsValid() || q.subnet.Bits() != 24 {
			t.Errorf("KingCDN was asked %s without the client's /24: %v", q.name, q.subnet)
		}
	}
	for _, q := range n.root.all() {
		if q.subnet.IsValid() {
			t.Errorf("the root learnt client subnet %s", q.subnet)
		}
	}
}

// TestClientSubnetScopeZeroShared: an answer of scope /0 holds for every
// client: the second network is answered from the cache.
func TestClientSubnetScopeZeroShared(t *testing.T) {
	n := startECSNet(t)
	addr := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10()))
	for _, subnet := range []string{"10.1.1.0/24", "10.2.2.0/24"} {
		m, cs, ok := stubECS(t, addr, "static.kingcdn.test", subnet)
		if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "192.0.2.99" {
			t.Errorf("from %s: %v", subnet, got)
		}
		if !ok || cs.Scope != 0 || cs.Source != netip.MustParsePrefix(subnet) {
			t.Errorf("from %s: ECS in reply %v %v", subnet, cs, ok)
		}
	}
	if got := n.cdn.len(); got != 1 {
		t.Errorf("KingCDN asked %d times, want 1", got)
	}
}

// TestClientSubnetSourceZero: a stub sending a /0 asks that nothing of its
// address be revealed (RFC 7871 §7.1.2): the query upstream carries no ECS,
// and the reply echoes the /0. The answer, placed by the resolver's own
// address, then goes to clients whose subnet is not sent (the stub on
// loopback, outside the networks the policy sends), never to a client
// whose subnet is (§7.3.1).
func TestClientSubnetSourceZero(t *testing.T) {
	n := startECSNet(t)
	addr := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10()))
	m, cs, ok := stubECS(t, addr, "video.kingcdn.test", "0.0.0.0/0")
	if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "192.0.2.80" {
		t.Errorf("answer %v", got)
	}
	if !ok || cs != (dns.ClientSubnet{Source: netip.MustParsePrefix("0.0.0.0/0")}) {
		t.Errorf("ECS in reply %v %v, want 0.0.0.0/0/0", cs, ok)
	}
	if qs := n.cdn.all(); len(qs) != 1 || qs[0].subnet.IsValid() {
		t.Fatalf("KingCDN was asked %v, want once without ECS", qs)
	}
	m, _, ok = stubECS(t, addr, "video.kingcdn.test", "")
	if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "192.0.2.80" || ok {
		t.Errorf("stub on loopback without ECS: %v, ECS in reply %v", got, ok)
	}
	if got := n.cdn.len(); got != 1 {
		t.Errorf("stub on loopback: KingCDN asked again (%d)", got)
	}
	m, _, _ = stubECS(t, addr, "video.kingcdn.test", "10.1.1.0/24")
	if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "10.1.0.80" {
		t.Errorf("from 10.1.1.0/24 after the /0: %v, want its own edge", got)
	}
	if got := n.cdn.len(); got != 2 {
		t.Errorf("from 10.1.1.0/24 after the /0: KingCDN asked %d times, want 2", got)
	}
}

// TestClientSubnetOff: without a policy the resolver sends no ECS, and a
// stub's option is neither used nor echoed.
func TestClientSubnetOff(t *testing.T) {
	n := startECSNet(t)
	addr := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, nil))
	m, _, ok := stubECS(t, addr, "video.kingcdn.test", "10.1.1.0/24")
	if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "192.0.2.80" || ok {
		t.Errorf("answer %v, ECS in reply %v", got, ok)
	}
	if qs := n.cdn.all(); len(qs) != 1 || qs[0].subnet.IsValid() {
		t.Errorf("KingCDN was asked %v", qs)
	}
}

// TestClientSubnetTruncatedAndRefused: a stub's /32 goes upstream cut to
// the policy's /24, and comes back as the stub sent it; a subnet outside
// the networks that may be sent is REFUSED (RFC 7871 §7.5).
func TestClientSubnetTruncatedAndRefused(t *testing.T) {
	n := startECSNet(t)
	addr := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10()))
	m, cs, ok := stubECS(t, addr, "video.kingcdn.test", "10.1.1.77/32")
	if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "10.1.0.80" {
		t.Errorf("answer %v", got)
	}
	if want := (dns.ClientSubnet{Source: netip.MustParsePrefix("10.1.1.77/32"), Scope: 16}); !ok || cs != want {
		t.Errorf("ECS in reply %v %v, want %v", cs, ok, want)
	}
	if qs := n.cdn.all(); len(qs) != 1 || qs[0].subnet != netip.MustParsePrefix("10.1.1.0/24") {
		t.Errorf("KingCDN was asked %v, want 10.1.1.0/24", qs)
	}
	m, _, _ = stubECS(t, addr, "video.kingcdn.test", "192.168.1.0/24")
	if m.RCode != dns.RCodeRefused {
		t.Errorf("subnet 192.168.1.0/24, not to be sent: %v, want REFUSED", m.RCode)
	}
}

// TestClientSubnetForgedEcho: a reply whose ECS option is not the one sent
// is dropped (RFC 7871 §7.3, §11.2): with no other server, SERVFAIL.
func TestClientSubnetForgedEcho(t *testing.T) {
	n := startECSNet(t)
	r := n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10())
	r.Timeout = 200 * time.Millisecond
	addr := startOurs(t, r)
	m, _, _ := stubECS(t, addr, "forged.kingcdn.test", "10.1.1.0/24")
	if m.RCode != dns.RCodeServerFailure || len(m.Answers) != 0 {
		t.Errorf("forged echo: %v %v, want SERVFAIL", m.RCode, m.Answers)
	}
}

// TestClientSubnetRefusedRetried: a server that refuses a query with ECS
// is asked again without it (RFC 7871 §7.3), and not sent subnets again.
func TestClientSubnetRefusedRetried(t *testing.T) {
	n := startECSNet(t)
	addr := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10()))
	m, cs, ok := stubECS(t, addr, "picky.kingcdn.test", "10.1.1.0/24")
	if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "192.0.2.77" {
		t.Errorf("picky: %v (%v)", got, m.RCode)
	}
	if !ok || cs.Scope != 0 {
		t.Errorf("picky: ECS in reply %v %v, want scope 0", cs, ok)
	}
	stubECS(t, addr, "video.kingcdn.test", "10.1.1.0/24")
	qs := n.cdn.all()
	if len(qs) != 3 || !qs[0].subnet.IsValid() || qs[1].subnet.IsValid() || qs[2].subnet.IsValid() {
		t.Errorf("KingCDN was asked %v, want picky with ECS, picky and video without", qs)
	}
}

// TestClientSubnetServerWithoutECS: a server that answers a query with ECS
// without the option does not use it: its answer is for everyone, and it
// is not told subnets again until the policy's Recheck has passed.
func TestClientSubnetServerWithoutECS(t *testing.T) {
	n := startECSNet(t)
	clk := &clock{t: time.Unix(1e9, 0)}
	policy := lab10()
	policy.Recheck = time.Hour
	addr := startOurs(t, n.resolver(clk, policy))
	for _, c := range []struct{ name, subnet string }{
		{"a.plain.test", "10.1.1.0/24"},
		{"a.plain.test", "10.2.2.0/24"}, // from the cache: the answer is for everyone
		{"b.plain.test", "10.2.2.0/24"},
	} {
		m, cs, ok := stubECS(t, addr, c.name, c.subnet)
		if got := data(m, dns.TypeA); len(got) != 1 || got[0] != "192.0.2.7" {
			t.Errorf("%s from %s: %v", c.name, c.subnet, got)
		}
		if !ok || cs.Scope != 0 {
			t.Errorf("%s from %s: ECS in reply %v %v, want scope 0", c.name, c.subnet, cs, ok)
		}
	}
	qs := n.plain.all()
	if len(qs) != 2 || !qs[0].subnet.IsValid() || qs[1].subnet.IsValid() {
		t.Fatalf("plain.test's server was asked %v, want a.plain.test with ECS, then b.plain.test without", qs)
	}
	clk.Advance(2 * time.Hour)
	stubECS(t, addr, "c.plain.test", "10.1.1.0/24")
	if qs := n.plain.all(); len(qs) != 3 || !qs[2].subnet.IsValid() {
		t.Errorf("after Recheck: %v, want ECS sent again", qs)
	}
}

// TestClientSubnetCacheBounded: answers tailored to ever more networks do
// not grow the cache past MaxNetworks for one name; the newest stays.
func TestClientSubnetCacheBounded(t *testing.T) {
	n := startECSNet(t)
	r := n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10())
	r.Cache.MaxNetworks = 4
	addr := startOurs(t, r)
	stubECS(t, addr, "video.kingcdn.test", "10.3.0.0/24")
	base := r.Cache.Len() // the referral, its glue and one answer
	for i := 1; i < 12; i++ {
		subnet := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 3, byte(i), 0}), 24).String()
		stubECS(t, addr, "video.kingcdn.test", subnet)
		if got := r.Cache.Len(); got > base+3 {
			t.Fatalf("after %d networks: %d entries, want at most %d", i+1, got, base+3)
		}
	}
	if got := n.cdn.len(); got != 12 {
		t.Errorf("KingCDN asked %d times for 12 networks", got)
	}
	stubECS(t, addr, "video.kingcdn.test", "10.3.11.0/24")
	if got := n.cdn.len(); got != 12 {
		t.Error("the newest network's answer was not kept")
	}
}

func TestSubnetPolicySource(t *testing.T) {
	lab := lab10()
	lab.IPv6Bits = 48
	loop := &resolver.SubnetPolicy{}
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	for _, c := range []struct {
		policy *resolver.SubnetPolicy
		client string
		ecs    string // the client's own option; "" for none
		want   string // "" for nothing sent
		refuse bool
	}{
		{nil, "10.1.1.7", "10.1.1.0/24", "", false},             // off
		{lab, "127.0.0.1", "10.1.1.0/24", "10.1.1.0/24", false}, // the client's option
		{lab, "127.0.0.1", "10.1.1.77/32", "10.1.1.0/24", false},
		{lab, "127.0.0.1", "10.1.0.0/16", "10.1.0.0/16", false}, // shorter: kept
		{lab, "10.1.1.7", "0.0.0.0/0", "", false},               // "reveal nothing"
		{lab, "127.0.0.1", "::ffff:10.1.0.0/112", "10.1.0.0/16", false},
		{lab, "10.1.1.7", "", "10.1.1.0/24", false}, // the client's address
		{lab, "::ffff:10.1.1.7", "", "10.1.1.0/24", false},
		{lab, "127.0.0.1", "", "", false},              // not a network that may be sent
		{lab, "127.0.0.1", "192.168.1.0/24", "", true}, // asked for, refused
		{lab, "127.0.0.1", "8.0.0.0/4", "", true},      // wider than the networks allowed
		{loop, "127.0.0.1", "", "", false},             // defaults: loopback never
		{loop, "192.168.1.9", "", "", false},           // nor private networks
		{loop, "128.119.245.12", "", "128.119.245.0/24", false},
		{loop, "2001:db8:245::12", "", "2001:db8:245::/56", false},
		{lab, "127.0.0.1", "2001:db8:245::/64", "", true},
		{&resolver.SubnetPolicy{Clients: []netip.Prefix{p("2001:db8::/32")}, IPv6Bits: 48}, "::1", "2001:db8:245::/64", "2001:db8:245::/48", false},
	} {
		asked := dns.ClientSubnet{}
		if c.ecs != "" {
			asked.Source = p(c.ecs)
		}
		got, refuse := c.policy.Source(a(c.client), asked, c.ecs != "")
		want := netip.Prefix{}
		if c.want != "" {
			want = p(c.want)
		}
		if got != want || refuse != c.refuse {
			t.Errorf("Source(%s, %q): %v refuse %v, want %v refuse %v", c.client, c.ecs, got, refuse, want, c.refuse)
		}
	}
}

// TestClientSubnetTrace: the trace tells the story — which subnet went to
// which server, for how large a network the answer holds, and which client
// was answered from the cache.
func TestClientSubnetTrace(t *testing.T) {
	n := startECSNet(t)
	r := n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10())
	var trace sockettest.SyncBuffer
	r.Trace = &trace
	addr := startOurs(t, r)
	stubECS(t, addr, "video.kingcdn.test", "10.1.1.0/24")
	stubECS(t, addr, "video.kingcdn.test", "10.1.7.0/24")
	stubECS(t, addr, "a.plain.test", "10.2.1.0/24")
	for _, want := range []string{
		"dns.nyu.edu → a.root-servers.net (198.41.0.4): video.kingcdn.test. A?\n",
		"dns.nyu.edu → ns.kingcdn.test (192.0.2.5): video.kingcdn.test. A? for client subnet 10.1.1.0/24\n",
		"ns.kingcdn.test: scope /16: the answer holds for 10.1.0.0/16\n",
		"dns.nyu.edu: video.kingcdn.test. A from the cache for client subnet 10.1.7.0/24\n",
		"ns.plain.test: no client subnet in the reply (no ECS there): the answer holds for every client\n",
	} {
		if !strings.Contains(trace.String(), want) {
			t.Errorf("trace lacks %q:\n%s", want, trace.String())
		}
	}
}
