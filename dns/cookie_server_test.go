package dns

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// cookieServer is an authoritative server for networkutopia.com with a
// known cookie secret and a clock the test moves.
func cookieServer(t testing.TB, now *time.Time) *Server {
	zs, err := NewZones(readTestZone(t))
	if err != nil {
		t.Fatal(err)
	}
	return &Server{Handler: zs, CookieSecret: [16]byte{0xe5, 0xe9, 0x73}, Now: func() time.Time { return *now }}
}

// ask passes one query for www.networkutopia.com A, with the COOKIE
// option c (none if nil; raw if c is nil and raw is not), through the
// server's answering path from bob and returns the reply, or nil if the
// server sent none.
func ask(t testing.TB, s *Server, w *worker, c *Cookie, raw []byte, tcp bool) *Message {
	t.Helper()
	q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
	q.ID = 4711
	q.EDNS = &EDNS{UDPSize: 1232}
	switch {
	case c != nil:
		q.EDNS.Options = []Option{c.Option()}
	case raw != nil:
		q.EDNS.Options = []Option{{Code: OptionCookie, Data: raw}}
	}
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	out := s.handle(context.Background(), w, b, netip.MustParseAddrPort("198.51.100.100:5353"), tcp)
	if out == nil {
		return nil
	}
	if tcp {
		out = out[2:]
	}
	var r Message
	if err := r.Unpack(out); err != nil {
		t.Fatal(err)
	}
	return &r
}

// replyCookie returns the reply's COOKIE option, failing the test if it
// has none.
func replyCookie(t testing.TB, r *Message) Cookie {
	t.Helper()
	c, ok, err := r.EDNS.Cookie()
	if !ok || err != nil {
		t.Fatalf("reply without a cookie (%v):\n%v", err, r)
	}
	return c
}

var bobCookie = [8]byte{0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57}

// TestServerCookies walks a client through RFC 7873 §5.2 against a server
// that does not require cookies: every query is answered, and every reply
// to a query with a COOKIE option carries the client's cookie and a server
// cookie — fresh, or the one presented while it is young.
func TestServerCookies(t *testing.T) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(t, &now)
	w := newWorker()
	bob := netip.MustParseAddr("198.51.100.100")

	// §5.2.1: no option, no cookie in the reply.
	r := ask(t, s, w, nil, nil, false)
	if _, ok, _ := r.EDNS.Cookie(); ok || r.RCode != RCodeSuccess || len(r.Answers) == 0 {
		t.Fatalf("without a cookie:\n%v", r)
	}
	// §5.2.3: the client cookie alone is answered, with a server cookie
	// made for Bob (RFC 9018).
	r = ask(t, s, w, &Cookie{Client: bobCookie}, nil, false)
	first := replyCookie(t, r)
	if r.RCode != RCodeSuccess || len(r.Answers) == 0 || first.Client != bobCookie {
		t.Fatalf("client cookie only:\n%v", r)
	}
	if ck := CheckServerCookie(first, bob, now, &s.CookieSecret); !ck.Valid || len(first.Server) != 16 {
		t.Fatalf("server cookie %x: %+v", first.Server, ck)
	}
	// §5.2.5: ten minutes later the cookie comes back and is echoed.
	now = now.Add(10 * time.Minute)
	r = ask(t, s, w, &first, nil, false)
	if got := replyCookie(t, r); !bytes.Equal(got.Server, first.Server) || r.RCode != RCodeSuccess || len(r.Answers) == 0 {
		t.Errorf("young cookie: reply cookie %x, want %x echoed\n%v", got.Server, first.Server, r)
	}
	// Past half an hour a fresh one replaces it.
	now = now.Add(25 * time.Minute)
	r = ask(t, s, w, &first, nil, false)
	renewed := replyCookie(t, r)
	if bytes.Equal(renewed.Server, first.Server) || !CheckServerCookie(renewed, bob, now, &s.CookieSecret).Valid {
		t.Errorf("35-minute cookie: reply cookie %x, want a fresh one", renewed.Server)
	}
	// §5.2.4: a server cookie not made here is ignored: answered, with
	// a fresh cookie.
	forged := Cookie{Client: bobCookie, Server: bytes.Clone(renewed.Server)}
	forged.Server[15] ^= 1
	r = ask(t, s, w, &forged, nil, false)
	if got := replyCookie(t, r); r.RCode != RCodeSuccess || len(r.Answers) == 0 || !CheckServerCookie(got, bob, now, &s.CookieSecret).Valid {
		t.Errorf("bad server cookie: %x\n%v", got.Server, r)
	}
	// §5.2.2: a malformed option is a format error.
	for _, n := range []int{5, 12, 41} {
		r = ask(t, s, w, nil, make([]byte, n), false)
		if r.RCode != RCodeFormatError || len(r.Answers) != 0 {
			t.Errorf("COOKIE of %d bytes: %v, want FORMERR", n, r.RCode)
		}
	}
}

// TestServerRequireCookies: a server that requires cookies answers
// BADCOOKIE, with a fresh cookie and no answer, to a UDP query without a
// valid server cookie; the query with that cookie is answered. Queries
// over TCP and from clients that know no cookies are answered as usual.
func TestServerRequireCookies(t *testing.T) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(t, &now)
	s.RequireCookies = true
	w := newWorker()
	r := ask(t, s, w, &Cookie{Client: bobCookie}, nil, false)
	if r.RCode != RCodeBadCookie || len(r.Answers) != 0 || len(r.Questions) != 1 {
		t.Fatalf("client cookie only: want BADCOOKIE with the question and no answer:\n%v", r)
	}
	c := replyCookie(t, r)
	if c.Client != bobCookie || len(c.Server) != 16 {
		t.Fatalf("BADCOOKIE's cookie %v", c)
	}
	r = ask(t, s, w, &c, nil, false)
	if r.RCode != RCodeSuccess || len(r.Answers) == 0 {
		t.Errorf("with the server cookie: want the answer:\n%v", r)
	}
	// Stale by now: BADCOOKIE again, with a fresh cookie.
	now = now.Add(61 * time.Minute)
	r = ask(t, s, w, &c, nil, false)
	if fresh := replyCookie(t, r); r.RCode != RCodeBadCookie || bytes.Equal(fresh.Server, c.Server) {
		t.Errorf("expired cookie: %v %x", r.RCode, fresh.Server)
	}
	if r = ask(t, s, w, &Cookie{Client: bobCookie}, nil, true); r.RCode != RCodeSuccess || len(r.Answers) == 0 {
		t.Errorf("over TCP: want the answer:\n%v", r)
	}
	if r = ask(t, s, w, nil, nil, false); r.RCode != RCodeSuccess || len(r.Answers) == 0 {
		t.Errorf("without COOKIE: want the answer:\n%v", r)
	}
}

// TestRRLSparesCookies: response rate limiting limits a client without a
// valid server cookie — a spoofed victim cannot have one — and lets every
// query with one through.
func TestRRLSparesCookies(t *testing.T) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(t, &now)
	s.RateLimit = &RRL{Rate: 1, Slip: -1, Now: func() time.Time { return now }}
	w := newWorker()
	r := ask(t, s, w, &Cookie{Client: bobCookie}, nil, false) // the one the bucket holds
	c := replyCookie(t, r)
	for i := range 5 {
		if r := ask(t, s, w, &Cookie{Client: bobCookie}, nil, false); r != nil {
			t.Errorf("query %d with a client cookie only got past RRL", i)
		}
		if r := ask(t, s, w, nil, nil, false); r != nil {
			t.Errorf("query %d without a cookie got past RRL", i)
		}
		if r := ask(t, s, w, &c, nil, false); r == nil || r.RCode != RCodeSuccess || len(r.Answers) == 0 {
			t.Errorf("query %d with a valid cookie: %v", i, r)
		}
	}
	// A slipped reply (TC) carries a cookie, so that the client's next
	// query passes.
	s.RateLimit.Slip = 1
	r = ask(t, s, w, &Cookie{Client: bobCookie}, nil, false)
	if r == nil || !r.Truncated {
		t.Fatalf("slip: %v", r)
	}
	if got := replyCookie(t, r); !CheckServerCookie(got, netip.MustParseAddr("198.51.100.100"), now, &s.CookieSecret).Valid {
		t.Errorf("slipped reply's cookie %x not valid", got.Server)
	}
}

// TestServerCookieSecret: with no secret set, each server draws its own
// at first use and keeps it.
func TestServerCookieSecret(t *testing.T) {
	now := time.Unix(1559731985, 0)
	var cookies [][]byte
	for range 2 {
		s := cookieServer(t, &now)
		s.CookieSecret = [16]byte{}
		for range 2 {
			cookies = append(cookies, replyCookie(t, ask(t, s, newWorker(), &Cookie{Client: bobCookie}, nil, false)).Server)
		}
	}
	if !bytes.Equal(cookies[0], cookies[1]) || !bytes.Equal(cookies[2], cookies[3]) {
		t.Errorf("one server, two cookies: %x", cookies)
	}
	if bytes.Equal(cookies[0], cookies[2]) {
		t.Errorf("two servers, one secret: %x", cookies)
	}
}

// TestServerCookieRollover: after a rollover, a cookie made with the
// previous secret is still valid (a server that requires cookies answers
// it) and is replaced by one made with the new secret.
func TestServerCookieRollover(t *testing.T) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(t, &now)
	c := replyCookie(t, ask(t, s, newWorker(), &Cookie{Client: bobCookie}, nil, false))
	s2 := cookieServer(t, &now)
	s2.PreviousCookieSecret, s2.CookieSecret = s.CookieSecret, [16]byte{0x44, 0x55}
	s2.RequireCookies = true
	r := ask(t, s2, newWorker(), &c, nil, false)
	got := replyCookie(t, r)
	if r.RCode != RCodeSuccess || bytes.Equal(got.Server, c.Server) ||
		!CheckServerCookie(got, netip.MustParseAddr("198.51.100.100"), now, &s2.CookieSecret).Valid {
		t.Errorf("old-secret cookie: %v, cookie %x (was %x)", r.RCode, got.Server, c.Server)
	}
}

// TestServerCookieTrace: the trace says what the server made of each
// cookie.
func TestServerCookieTrace(t *testing.T) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(t, &now)
	var tr strings.Builder
	s.Trace = &tr
	w := newWorker()
	c := replyCookie(t, ask(t, s, w, &Cookie{Client: bobCookie}, nil, false))
	ask(t, s, w, &c, nil, false)
	ask(t, s, w, nil, make([]byte, 3), false)
	for _, want := range []string{"C:   cookie no server cookie yet\n", "C:   cookie valid\n", "C:   cookie malformed: dns: malformed EDNS COOKIE option: 3 bytes"} {
		if !strings.Contains(tr.String(), want) {
			t.Errorf("trace lacks %q:\n%s", want, tr.String())
		}
	}
}

func TestServerCookieAllocs(t *testing.T) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(t, &now)
	w := newWorker()
	c := replyCookie(t, ask(t, s, w, &Cookie{Client: bobCookie}, nil, false))
	q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
	q.EDNS = &EDNS{UDPSize: 1232, Options: []Option{c.Option()}}
	valid, _ := q.Pack()
	q.EDNS.Options = []Option{(&Cookie{Client: bobCookie}).Option()}
	fresh, _ := q.Pack()
	from := netip.MustParseAddrPort("198.51.100.100:5353")
	ctx := context.Background()
	n := testing.AllocsPerRun(100, func() {
		s.handle(ctx, w, valid, from, false)
		s.handle(ctx, w, fresh, from, false)
	})
	if n != 0 {
		t.Errorf("%v allocations per two queries with cookies", n)
	}
}

// BenchmarkServeCookie answers one UDP query from the zone as
// BenchmarkServeDatagram does, with a COOKIE option: a client cookie alone
// (a server cookie made: one SipHash), a young valid server cookie (one
// SipHash to check it, echoed), and one past half an hour (checked and
// made anew: two).
func BenchmarkServeCookie(b *testing.B) {
	now := time.Unix(1559731985, 0)
	s := cookieServer(b, &now)
	w := newWorker()
	c := replyCookie(b, ask(b, s, w, &Cookie{Client: bobCookie}, nil, false))
	old := Cookie{Client: bobCookie, Server: AppendServerCookie(nil, &s.CookieSecret, bobCookie, netip.MustParseAddr("198.51.100.100"), now.Add(-40*time.Minute))}
	from := netip.MustParseAddrPort("198.51.100.100:5353")
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		c    Cookie
	}{{"client", Cookie{Client: bobCookie}}, {"valid", c}, {"renew", old}} {
		q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
		q.EDNS = &EDNS{UDPSize: 1232, Options: []Option{bc.c.Option()}}
		query, _ := q.Pack()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out := s.handle(ctx, w, query, from, false); out == nil {
					b.Fatal("no answer")
				}
			}
		})
	}
}
