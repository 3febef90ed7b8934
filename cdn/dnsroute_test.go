package cdn

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"

	"appnet.dev/dns"
	"github.com/google/go-cmp/cmp"
)

// startKingCDN serves a DNSRouter for kingcdn.com on 127.0.0.1:0.
func startKingCDN(t *testing.T, r *Router) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: &DNSRouter{
		Router: r, Zone: dns.MustParseName("kingcdn.com"), NS: dns.MustParseName("ns.kingcdn.com"), TTL: 20,
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServePacket(pc)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return pc.LocalAddr().String()
}

func queryA(t *testing.T, server, name string, subnet string) (*dns.Message, []string) {
	t.Helper()
	q := dns.NewQuery(dns.MustParseName(name), dns.TypeA)
	q.EDNS = &dns.EDNS{UDPSize: 1232}
	if subnet != "" {
		q.EDNS.Options = append(q.EDNS.Options, dns.ClientSubnet{Source: netip.MustParsePrefix(subnet)}.Option())
	}
	var c dns.Client
	reply, err := c.Exchange(context.Background(), server, q)
	if err != nil {
		t.Fatalf("%s for %s: %v", name, subnet, err)
	}
	var addrs []string
	for _, rr := range reply.Answers {
		if a, ok := rr.Data.(*dns.A); ok {
			addrs = append(addrs, a.Addr.String())
			if rr.TTL != 20 {
				t.Errorf("TTL %d, want 20", rr.TTL)
			}
		}
	}
	return reply, addrs
}

func TestDNSRouterAnswersByClientSubnet(t *testing.T) {
	m := readTestMap(t)
	r := &Router{Map: m}
	server := startKingCDN(t, r)
	name := "netc6y-b23v.kingcdn.com"
	tests := []struct {
		subnet string
		want   string // cluster prefix of the edge
		scope  int
	}{
		// Boston: 127.0.0.11 or .12; the answer holds for 10.1.0.0/18,
		// short of 10.1.99.0/24, which New York serves.
		{"10.1.2.0/24", "127.0.0.1", 18},
		{"10.1.99.0/24", "127.0.0.21", 24},
		{"10.3.7.0/24", "127.0.0.31", 16},
		// /0: the resolver will not say where its client is; the
		// resolver's own address decides, for everyone.
		{"0.0.0.0/0", "127.0.0.1", 0},
	}
	for _, tt := range tests {
		reply, addrs := queryA(t, server, name, tt.subnet)
		if len(addrs) != 1 || !bytes.HasPrefix([]byte(addrs[0]), []byte(tt.want)) {
			t.Errorf("client %s: answers %v, want an edge %s*", tt.subnet, addrs, tt.want)
		}
		if !reply.Authoritative {
			t.Errorf("client %s: AA not set", tt.subnet)
		}
		got, ok, err := reply.EDNS.ClientSubnet()
		if err != nil || !ok {
			t.Fatalf("client %s: ECS in reply: %v, %v", tt.subnet, ok, err)
		}
		want := dns.ClientSubnet{Source: netip.MustParsePrefix(tt.subnet), Scope: tt.scope}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("client %s: ECS in reply (-want +got):\n%s", tt.subnet, diff)
		}
	}
	// Without ECS the resolver's own address (127.0.0.1) decides: no zone
	// covers it, so the first cluster in the map.
	if _, addrs := queryA(t, server, name, ""); len(addrs) != 1 || addrs[0] != r.Choose(netip.MustParseAddr("127.0.0.1"), "netc6y-b23v.kingcdn.com.", 1)[0].Addr.Addr().String() {
		t.Errorf("no ECS: %v", addrs)
	}
	// Names outside the zone are refused.
	q := dns.NewQuery(dns.MustParseName("netcinema.com"), dns.TypeA)
	var c dns.Client
	if reply, err := c.Exchange(context.Background(), server, q); err == nil && reply.RCode != dns.RCodeRefused {
		t.Errorf("netcinema.com: rcode %v, want REFUSED", reply.RCode)
	}
}

func TestDNSRouterOnlyHealthyEdges(t *testing.T) {
	m := readTestMap(t)
	states := map[string]NodeState{"bos1": {}, "bos2": {}} // Boston is down
	r := &Router{Map: m, Monitor: &Monitor{states: states}}
	server := startKingCDN(t, r)
	if _, addrs := queryA(t, server, "netc6y-b23v.kingcdn.com", "10.1.2.0/24"); len(addrs) != 1 || addrs[0] != "127.0.0.21" {
		t.Errorf("Boston down: answers %v, want New York's 127.0.0.21", addrs)
	}
	for _, n := range m.Nodes {
		states[n.Name] = NodeState{}
	}
	reply, _ := queryA(t, server, "netc6y-b23v.kingcdn.com", "10.1.2.0/24")
	if reply.RCode != dns.RCodeServerFailure {
		t.Errorf("every edge down: rcode %v, want SERVFAIL", reply.RCode)
	}
}

func TestDNSRouterMalformedClientSubnet(t *testing.T) {
	r := &Router{Map: readTestMap(t), Monitor: &Monitor{}}
	server := startKingCDN(t, r)
	q := dns.NewQuery(dns.MustParseName("netc6y-b23v.kingcdn.com"), dns.TypeA)
	// A /24 with only two address octets (RFC 7871 §6).
	q.EDNS = &dns.EDNS{UDPSize: 1232, Options: []dns.Option{{Code: dns.OptionClientSubnet, Data: []byte{0, 1, 24, 0, 10, 1}}}}
	var c dns.Client
	reply, err := c.Exchange(context.Background(), server, q)
	if err != nil {
		t.Fatal(err)
	}
	if reply.RCode != dns.RCodeFormatError || len(reply.Answers) != 0 {
		t.Errorf("malformed ECS: rcode %v, %d answers; want FORMERR and none", reply.RCode, len(reply.Answers))
	}
}
