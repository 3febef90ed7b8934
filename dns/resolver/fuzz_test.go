package resolver

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
)

// FuzzUpstreamReply feeds arbitrary replies, as if from a .edu server asked
// for gaia.cs.umass.edu, to the resolver's handling of one upstream reply.
// Whatever comes, it must not panic, and every record it caches must lie
// within the bailiwick of the server that sent it (edu.).
func FuzzUpstreamReply(f *testing.F) {
	edu := dns.MustParseName("edu")
	qname := dns.MustParseName("gaia.cs.umass.edu")
	rr := func(name string, d dns.RData) dns.RR {
		return dns.RR{Name: dns.MustParseName(name), Class: dns.ClassINET, TTL: 3600, Data: d}
	}
	seeds := []dns.Message{
		{ // the referral to umass.edu, with glue
			Header:      dns.Header{Response: true},
			Questions:   []dns.Question{{Name: qname, Type: dns.TypeA, Class: dns.ClassINET}},
			Authorities: []dns.RR{rr("umass.edu", &dns.NS{Host: dns.MustParseName("dns.umass.edu")})},
			Additionals: []dns.RR{rr("dns.umass.edu", &dns.A{Addr: netip.MustParseAddr("128.119.40.186")})},
		},
		{ // a poisoned one
			Header:      dns.Header{Response: true, Authoritative: true},
			Questions:   []dns.Question{{Name: qname, Type: dns.TypeA, Class: dns.ClassINET}},
			Answers:     []dns.RR{rr("gaia.cs.umass.edu", &dns.CNAME{Target: dns.MustParseName("www.amazon.com")}), rr("www.amazon.com", &dns.A{Addr: netip.MustParseAddr("128.119.40.186")})},
			Authorities: []dns.RR{rr("com", &dns.NS{Host: dns.MustParseName("ns.evil.edu")})},
			Additionals: []dns.RR{rr("ns.evil.edu", &dns.A{Addr: netip.MustParseAddr("128.119.40.186")}), rr("a.gtld-servers.net", &dns.A{Addr: netip.MustParseAddr("128.119.40.186")})},
		},
		{ // NXDOMAIN with the SOA
			Header:      dns.Header{Response: true, Authoritative: true, RCode: dns.RCodeNameError},
			Questions:   []dns.Question{{Name: qname, Type: dns.TypeA, Class: dns.ClassINET}},
			Authorities: []dns.RR{rr("edu", &dns.SOA{MName: dns.MustParseName("a.edu-servers.net"), Minimum: 300})},
		},
	}
	for _, m := range seeds {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m dns.Message
		if m.Unpack(b) != nil {
			return
		}
		c := &Cache{Now: func() time.Time { return time.Unix(1e9, 0) }}
		r := &Resolver{Cache: c}
		res, child, next, err := r.step(&m, NameServer{Host: dns.MustParseName("a.edu-servers.net")}, reach{}, edu, qname, dns.TypeA)
		if err == nil && next != nil && (!qname.IsSubdomainOf(child) || child.Equal(edu) || !child.IsSubdomainOf(edu)) {
			t.Fatalf("referral to %s accepted from edu for %s", child, qname)
		}
		for _, rr := range res.answers {
			if !rr.Name.IsSubdomainOf(edu) {
				t.Fatalf("answer out of bailiwick: %v", rr)
			}
		}
		for name := range c.m {
			if !name.IsSubdomainOf(edu) {
				t.Fatalf("cached out of bailiwick: %s", name)
			}
		}
	})
}

// FuzzReadHints feeds ReadHints named.root files as they come from the
// network or a user's disk: it must return servers, each with an address
// and announced by an NS record of the root, or an error; never panic.
func FuzzReadHints(f *testing.F) {
	f.Add(".\t3600000\tNS\tA.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET.\t3600000\tA\t198.41.0.4\nA.ROOT-SERVERS.NET.\t3600000\tAAAA\t2001:503:ba3e::2:30\n")
	f.Add("; formerly NS.INTERNIC.NET\n.                        3600000      NS    B.ROOT-SERVERS.NET.\nB.ROOT-SERVERS.NET.      3600000      A     170.247.170.2\n")
	f.Add(". 3600000 NS a.root.\n")                            // no address
	f.Add("com. 3600000 NS a.gtld.\na.gtld. 1 A 192.5.6.30\n") // not the root
	f.Add(". 3600000 NS a.root.\na.root. 1 A 300.1.1.1\n")
	f.Add("$ORIGIN .\n@ ( 3600000\n NS a.root. )\na.root 1 A 127.0.0.10\n")
	f.Add("$INCLUDE /etc/passwd\n")
	f.Add(". 1 NS \\\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		servers, err := ReadHints(strings.NewReader(text))
		if err != nil {
			return
		}
		if len(servers) == 0 {
			t.Fatal("no servers and no error")
		}
		for _, s := range servers {
			if !s.Addr.IsValid() {
				t.Fatalf("server %v without an address", s)
			}
		}
	})
}
