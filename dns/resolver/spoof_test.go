package resolver_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/dns"
)

// TestSpoofedRepliesRejected plays the slides' poisoning attack on the
// resolver's query to dns.umass.edu. For each query the fake server and an
// attacker send, before the real referral: a forged answer from another
// port (the connected socket drops it), a forged answer with a wrong ID
// (ignored), and then the genuine referral salted with out-of-bailiwick
// records (an NS for amazon.com and an A for www.amazon.com), which must
// not be cached.
func TestSpoofedRepliesRejected(t *testing.T) {
	in, roots := startInternet(t)
	umass := in.Host("dns.umass.edu")
	fake, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var asked atomic.Int32
	t.Cleanup(func() { fake.Close(); attacker.Close(); wg.Wait() })
	evil := netip.MustParseAddr("6.6.6.6")
	cs := in.Host("dns.cs.umass.edu")
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for range 20 {
			n, from, err := fake.ReadFrom(buf)
			if err != nil {
				return
			}
			var q dns.Message
			if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
				continue
			}
			asked.Add(1)
			forged := dns.Message{
				Header:    dns.Header{ID: q.ID, Response: true, Authoritative: true},
				Questions: q.Questions,
				Answers:   []dns.RR{{Name: q.Questions[0].Name, Class: dns.ClassINET, TTL: 86400, Data: &dns.A{Addr: evil}}},
			}
			b, _ := forged.Pack()
			attacker.WriteTo(b, from) // right ID, wrong source port
			forged.ID++
			b, _ = forged.Pack()
			fake.WriteTo(b, from) // right port, wrong ID
			amazon := dns.MustParseName("amazon.com")
			salted := dns.Message{
				Header:    dns.Header{ID: q.ID, Response: true},
				Questions: q.Questions,
				Authorities: []dns.RR{
					{Name: dns.MustParseName("cs.umass.edu"), Class: dns.ClassINET, TTL: 3600, Data: &dns.NS{Host: dns.MustParseName("dns.cs.umass.edu")}},
					{Name: amazon, Class: dns.ClassINET, TTL: 86400, Data: &dns.NS{Host: dns.MustParseName("dns.cs.umass.edu")}},
				},
				Additionals: []dns.RR{
					{Name: dns.MustParseName("dns.cs.umass.edu"), Class: dns.ClassINET, TTL: 3600, Data: &dns.A{Addr: cs.Public}},
					{Name: dns.MustParseName("www.amazon.com"), Class: dns.ClassINET, TTL: 86400, Data: &dns.A{Addr: evil}},
				},
			}
			b, _ = salted.Pack()
			fake.WriteTo(b, from)
		}
	}()
	r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
	r.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == "udp" && netip.MustParseAddrPort(addr).Addr() == umass.Public {
			var d net.Dialer
			return d.DialContext(ctx, network, fake.LocalAddr().String())
		}
		return in.Dial(ctx, network, addr)
	}
	ctx := ctxT(t)
	m, err := r.Resolve(ctx, dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m, dns.TypeA); len(got) != 1 || got[0] != "128.119.245.12" {
		t.Fatalf("poisoned: %v", got)
	}
	if asked.Load() == 0 {
		t.Fatal("the fake dns.umass.edu was never asked")
	}
	if rrs, ok := r.Cache.Get(dns.MustParseName("www.amazon.com"), dns.TypeA); ok {
		t.Fatalf("out-of-bailiwick A cached: %v", rrs)
	}
	if rrs, ok := r.Cache.Get(dns.MustParseName("amazon.com"), dns.TypeNS); ok {
		t.Fatalf("out-of-bailiwick NS cached: %v", rrs)
	}
	m, err = r.Resolve(ctx, dns.MustParseName("www.amazon.com"), dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m, dns.TypeA); len(got) != 1 || got[0] != "205.251.242.103" {
		t.Fatalf("www.amazon.com: %v", got)
	}
}

// TestCaseRandomization resolves with 0x20 on: the hierarchy's servers echo
// the question's case, so every reply passes.
func TestCaseRandomization(t *testing.T) {
	in, roots := startInternet(t)
	r := newResolver(in, roots, nil)
	r.CaseRandomization = true
	m, err := r.Resolve(ctxT(t), dns.MustParseName("www.engineering.nyu.edu"), dns.TypeA)
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(m, dns.TypeA); len(got) != 1 || got[0] != "128.238.64.10" {
		t.Fatalf("answer %v", m.Answers)
	}
}
