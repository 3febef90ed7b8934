package resolver_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
)

// liar is a root server that lies in a different way under each name.
func liar(silent netip.Addr) dns.HandlerFunc {
	self := netip.MustParseAddr("192.0.2.1")
	ns := func(zone, host string) dns.RR {
		return dns.RR{Name: dns.MustParseName(zone), Class: dns.ClassINET, TTL: 60, Data: &dns.NS{Host: dns.MustParseName(host)}}
	}
	a := func(host string, addr netip.Addr) dns.RR {
		return dns.RR{Name: dns.MustParseName(host), Class: dns.ClassINET, TTL: 60, Data: &dns.A{Addr: addr}}
	}
	cname := func(from, to string) dns.RR {
		return dns.RR{Name: dns.MustParseName(from), Class: dns.ClassINET, TTL: 60, Data: &dns.CNAME{Target: dns.MustParseName(to)}}
	}
	return func(_ context.Context, reply *dns.Message, req *dns.Request) {
		q := req.Questions[0].Name
		under := func(s string) bool { return q.IsSubdomainOf(dns.MustParseName(s)) }
		switch {
		case under("loop.test"): // refers to itself, again and again
			reply.Authorities = append(reply.Authorities, ns("loop.test", "ns.loop.test"))
			reply.Additionals = append(reply.Additionals, a("ns.loop.test", self))
		case under("up.test"): // refers upward, to the root
			reply.Authorities = append(reply.Authorities, ns(".", "ns.up.test"))
			reply.Additionals = append(reply.Additionals, a("ns.up.test", self))
		case under("cname.test"): // a CNAME loop
			reply.Authoritative = true
			if q.FirstLabel() == "a" {
				reply.Answers = append(reply.Answers, cname("a.cname.test", "b.cname.test"))
			} else {
				reply.Answers = append(reply.Answers, cname("b.cname.test", "a.cname.test"))
			}
		case under("long.test"): // an endless CNAME chain
			next, _ := q.Child("x")
			reply.Authoritative = true
			reply.Answers = append(reply.Answers, dns.RR{Name: q, Class: dns.ClassINET, TTL: 60, Data: &dns.CNAME{Target: next}})
		case under("glue.test"): // servers each other's only way to find
			reply.Authorities = append(reply.Authorities, ns("glue.test", "ns.other.test"))
		case under("other.test"):
			reply.Authorities = append(reply.Authorities, ns("other.test", "ns.glue.test"))
		case under("silent.test"): // refers to a server that never answers
			reply.Authorities = append(reply.Authorities, ns("silent.test", "ns.silent.test"))
			reply.Additionals = append(reply.Additionals, a("ns.silent.test", silent))
		case under("tc.test"): // truncated, over UDP and TCP alike
			reply.Truncated = true
		case under("refused.test"): // a lame server
			reply.RCode = dns.RCodeRefused
		default:
			reply.RCode = dns.RCodeNameError
		}
	}
}

func TestLyingUpstreamsServFail(t *testing.T) {
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: liar(netip.MustParseAddr("192.0.2.9")), Workers: 2}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(); <-done; silent.Close() })
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		switch netip.MustParseAddrPort(addr).Addr().String() {
		case "192.0.2.1":
			return d.DialContext(ctx, network, pc.LocalAddr().String())
		case "192.0.2.9":
			if network == "udp" {
				return d.DialContext(ctx, network, silent.LocalAddr().String())
			}
		}
		return nil, errors.New("unreachable")
	}
	for _, name := range []string{
		"www.loop.test", "www.up.test", "a.cname.test", "www.long.test", "www.glue.test",
		"www.silent.test", "www.tc.test", "www.refused.test",
	} {
		t.Run(name, func(t *testing.T) {
			r := &resolver.Resolver{
				Roots:   []resolver.NameServer{{Host: dns.MustParseName("a.root.test"), Addr: netip.MustParseAddr("192.0.2.1")}},
				Dial:    dial,
				Cache:   &resolver.Cache{Now: (&clock{t: time.Unix(1e9, 0)}).Now},
				Timeout: 20 * time.Millisecond,
			}
			m, err := r.Resolve(ctxT(t), dns.MustParseName(name), dns.TypeA)
			if !errors.Is(err, resolver.ErrServFail) || m.RCode != dns.RCodeServerFailure {
				t.Fatalf("got %v, %v; want SERVFAIL", m.RCode, err)
			}
			if n := sum(r.Queries()); n > 40 {
				t.Errorf("%d upstream queries, over the budget of 40", n)
			}
		})
	}
}

// TestCaseRandomizationRejectsLowercaseEcho: a reply whose question is not
// the query's exact mix of cases — as an off-path forger, who cannot see
// it, would send — is rejected with 0x20 on, and accepted with it off.
func TestCaseRandomizationRejectsLowercaseEcho(t *testing.T) {
	h := dns.HandlerFunc(func(_ context.Context, reply *dns.Message, req *dns.Request) {
		reply.Questions[0].Name = reply.Questions[0].Name.Canonical()
		reply.Authoritative = true
		reply.Answers = append(reply.Answers, dns.RR{Name: reply.Questions[0].Name, Class: dns.ClassINET, TTL: 60, Data: &dns.A{Addr: netip.MustParseAddr("6.6.6.6")}})
	})
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: h, Workers: 1}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, pc.LocalAddr().String())
	}
	// A long name: the chance that 0x20 leaves every letter in lower case is 2^-30.
	name := dns.MustParseName("abcdefghijklmnopqrstuvwxyzabcd.test")
	for _, on := range []bool{false, true} {
		r := &resolver.Resolver{
			Roots:             []resolver.NameServer{{Addr: netip.MustParseAddr("192.0.2.1")}},
			Dial:              dial,
			CaseRandomization: on,
		}
		m, err := r.Resolve(ctxT(t), name, dns.TypeA)
		if on && (!errors.Is(err, resolver.ErrServFail) || m.RCode != dns.RCodeServerFailure) {
			t.Errorf("0x20 on: %v %v; want the reply rejected", m.RCode, err)
		}
		if !on && (err != nil || len(m.Answers) != 1) {
			t.Errorf("0x20 off: %v %v", m, err)
		}
	}
}
