package resolver

import (
	"bytes"
	"net/netip"
	"testing"

	"appnet.dev/dns"
)

var ours = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}

// reply packs a reply for www.umass.edu with the EDNS options opts (no
// OPT record if opts is nil).
func cookieReply(t testing.TB, opts []dns.Option) []byte {
	m := dns.NewQuery(dns.MustParseName("www.umass.edu"), dns.TypeA)
	m.Response = true
	if opts != nil {
		m.EDNS = &dns.EDNS{UDPSize: 1232, Options: opts}
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForged grades the filter that drops replies on upstream sockets.
func TestForged(t *testing.T) {
	good := dns.Cookie{Client: ours, Server: []byte("servercookie")}
	other := dns.Cookie{Client: [8]byte{9}}
	query := dns.NewQuery(dns.MustParseName("www.umass.edu"), dns.TypeA)
	query.EDNS = &dns.EDNS{Options: []dns.Option{other.Option()}}
	q, _ := query.Pack()
	for _, tt := range []struct {
		name   string
		msg    []byte
		expect bool
		want   bool
	}{
		{"our cookie", cookieReply(t, []dns.Option{good.Option()}), true, false},
		{"our cookie after another option", cookieReply(t, []dns.Option{{Code: 8, Data: []byte{0, 1, 0, 0}}, good.Option()}), false, false},
		{"another client cookie", cookieReply(t, []dns.Option{other.Option()}), false, true},
		{"malformed cookie", cookieReply(t, []dns.Option{{Code: dns.OptionCookie, Data: []byte{1, 2, 3}}}), false, true},
		{"no COOKIE from a server without cookies", cookieReply(t, []dns.Option{}), false, false},
		{"no COOKIE from a server that gave one", cookieReply(t, []dns.Option{}), true, true},
		{"no OPT from a server that gave one", cookieReply(t, nil), true, true},
		{"no OPT from a server without cookies", cookieReply(t, nil), false, false},
		{"not DNS", []byte("hello"), true, false},
		{"a query, not a reply", q, true, false},
	} {
		if got := forged(tt.msg, ours, tt.expect); got != tt.want {
			t.Errorf("%s: forged = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestServerCookiesBounded: the resolver keeps at most maxServerCookies
// server cookies, the newest among them, and forgets a server's when its
// reply brings none.
func TestServerCookiesBounded(t *testing.T) {
	var r Resolver
	var last netip.Addr
	for i := range maxServerCookies + 10 {
		last = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r.learnCookie(last, []byte{byte(i), 1, 2, 3, 4, 5, 6, 7})
	}
	if n := len(r.serverCookies); n != maxServerCookies {
		t.Errorf("%d server cookies kept, want %d", n, maxServerCookies)
	}
	c := r.cookieFor(last)
	if want := []byte{byte((maxServerCookies + 9) % 256), 1, 2, 3, 4, 5, 6, 7}; !bytes.Equal(c.Server, want) {
		t.Errorf("newest server's cookie %x, want %x", c.Server, want)
	}
	if c.Client != r.cookieFor(last).Client || c.Client == r.cookieFor(netip.MustParseAddr("10.9.9.9")).Client {
		t.Error("client cookie not one per server")
	}
	r.learnCookie(last, nil)
	if c := r.cookieFor(last); c.Server != nil {
		t.Errorf("forgotten server still sent %x", c.Server)
	}
}

func FuzzForged(f *testing.F) {
	f.Add(cookieReply(f, []dns.Option{(dns.Cookie{Client: ours}).Option()}), true)
	f.Add(cookieReply(f, []dns.Option{{Code: dns.OptionCookie, Data: []byte{1}}}), false)
	f.Add(cookieReply(f, nil), true)
	f.Fuzz(func(t *testing.T, msg []byte, expect bool) {
		got := forged(msg, ours, expect)
		// A message the dns package reads as a reply carrying our cookie
		// is never called forged.
		var m dns.Message
		if m.Unpack(msg) != nil || !m.Response {
			return
		}
		if c, ok, err := m.EDNS.Cookie(); err == nil && ok && c.Client == ours && got {
			t.Fatalf("% x: a reply with our cookie called forged", msg)
		}
	})
}
