package resolver_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
)

var (
	goodAddr = netip.MustParseAddr("128.119.245.12")
	evilAddr = netip.MustParseAddr("6.6.6.6")
)

// answerA answers every A question authoritatively with goodAddr, and
// counts the questions it answered.
func answerA(n *atomic.Int32) dns.HandlerFunc {
	return func(ctx context.Context, reply *dns.Message, req *dns.Request) {
		n.Add(1)
		reply.Authoritative = true
		q := req.Questions[0]
		reply.Answers = append(reply.Answers, dns.RR{Name: q.Name, Class: dns.ClassINET, TTL: 60, Data: &dns.A{Addr: goodAddr}})
	}
}

// lockedLog is a server's Trace, read by the test.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cookieServer serves h on 127.0.0.1, configured by configure, and
// returns a resolver whose only root it is.
func cookieServer(t *testing.T, h dns.Handler, configure func(*dns.Server)) *resolver.Resolver {
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: h, Workers: 2}
	if configure != nil {
		configure(srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return &resolver.Resolver{
		Roots: []resolver.NameServer{{Addr: netip.MustParseAddr("127.0.0.1")}},
		Port:  pc.LocalAddr().(*net.UDPAddr).Port,
	}
}

func resolveA(t *testing.T, r *resolver.Resolver, name string) []string {
	t.Helper()
	m, err := r.Resolve(ctxT(t), dns.MustParseName(name), dns.TypeA)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return addrs(m, dns.TypeA)
}

// TestCookiesSentAndEchoed: the resolver's first query to a server
// carries a client cookie alone; the next one carries the server cookie
// the first reply gave, which the server finds valid.
func TestCookiesSentAndEchoed(t *testing.T) {
	var n atomic.Int32
	var log lockedLog
	r := cookieServer(t, answerA(&n), func(s *dns.Server) { s.Trace = &log })
	resolveA(t, r, "gaia.cs.umass.edu")
	resolveA(t, r, "www.umass.edu")
	got := log.String()
	first, valid := strings.Index(got, "C:   cookie no server cookie yet\n"), strings.Index(got, "C:   cookie valid\n")
	if first < 0 || valid < first {
		t.Errorf("want a client cookie alone, then a valid server cookie:\n%s", got)
	}
	if r.ForgedReplies() != 0 {
		t.Errorf("%d replies dropped as forged from an honest server", r.ForgedReplies())
	}
}

// TestCookiesOff: with NoCookies the queries carry no COOKIE option.
func TestCookiesOff(t *testing.T) {
	var n atomic.Int32
	var log lockedLog
	r := cookieServer(t, answerA(&n), func(s *dns.Server) { s.Trace = &log })
	r.NoCookies = true
	resolveA(t, r, "gaia.cs.umass.edu")
	if strings.Contains(log.String(), "cookie") {
		t.Errorf("a cookie went out:\n%s", log.String())
	}
}

// TestForgedCookieDropped plays an off-path attacker who got lucky with
// the ID and the port: before each genuine reply, a forged one arrives
// with the right ID and question and an A record of the attacker's. The
// first forgery carries a client cookie the attacker made up; the second,
// once the resolver holds the server's cookie, carries none. Both are
// dropped and counted, and the genuine reply that follows is taken. With
// cookies off, the same forgery poisons the answer.
func TestForgedCookieDropped(t *testing.T) {
	for _, off := range []bool{false, true} {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				var q dns.Message
				if q.Unpack(buf[:n]) != nil || len(q.Questions) != 1 {
					continue
				}
				sent, _, _ := q.EDNS.Cookie()
				reply := func(a netip.Addr, opts ...dns.Option) []byte {
					m := dns.Message{
						Header:    dns.Header{ID: q.ID, Response: true, Authoritative: true},
						Questions: q.Questions,
						Answers:   []dns.RR{{Name: q.Questions[0].Name, Class: dns.ClassINET, TTL: 60, Data: &dns.A{Addr: a}}},
						EDNS:      &dns.EDNS{UDPSize: 1232, Options: opts},
					}
					b, _ := m.Pack()
					return b
				}
				if strings.HasPrefix(q.Questions[0].Name.String(), "first") {
					made := dns.Cookie{Client: [8]byte{0xba, 0xd0, 0xc0, 0x0c}}
					pc.WriteTo(reply(evilAddr, made.Option()), from)
				} else {
					pc.WriteTo(reply(evilAddr), from)
				}
				genuine := dns.Cookie{Client: sent.Client, Server: []byte("servercookie")}
				pc.WriteTo(reply(goodAddr, genuine.Option()), from)
			}
		}()
		r := &resolver.Resolver{
			Roots:     []resolver.NameServer{{Addr: netip.MustParseAddr("127.0.0.1")}},
			Port:      pc.LocalAddr().(*net.UDPAddr).Port,
			NoCookies: off,
		}
		a1 := resolveA(t, r, "first.umass.edu")
		a2 := resolveA(t, r, "second.umass.edu")
		pc.Close()
		wg.Wait()
		if off {
			if len(a1) == 0 || a1[0] != evilAddr.String() || len(a2) == 0 || a2[0] != evilAddr.String() {
				t.Errorf("cookies off: the forgeries should have won: %v %v", a1, a2)
			}
			continue
		}
		if len(a1) != 1 || a1[0] != goodAddr.String() || len(a2) != 1 || a2[0] != goodAddr.String() {
			t.Errorf("poisoned: %v %v", a1, a2)
		}
		if got := r.ForgedReplies(); got != 2 {
			t.Errorf("ForgedReplies() = %d, want 2", got)
		}
	}
}

// TestBadCookieRetried: a server that requires cookies answers the first
// query BADCOOKIE; the resolver asks again with the cookie that reply
// brought and gets the answer, and its next query carries the cookie at
// once.
func TestBadCookieRetried(t *testing.T) {
	var n atomic.Int32
	r := cookieServer(t, answerA(&n), func(s *dns.Server) { s.RequireCookies = true })
	if got := resolveA(t, r, "gaia.cs.umass.edu"); len(got) != 1 || got[0] != goodAddr.String() {
		t.Fatalf("answer %v", got)
	}
	lo := netip.MustParseAddr("127.0.0.1")
	if q := r.Queries()[lo]; q != 2 {
		t.Errorf("%d queries for the first name, want 2 (BADCOOKIE, then the answer)", q)
	}
	resolveA(t, r, "www.umass.edu")
	if q := r.Queries()[lo]; q != 3 {
		t.Errorf("%d queries after the second name, want 3: the cookie was not kept", q)
	}
	if n.Load() != 2 {
		t.Errorf("the handler answered %d questions, want 2", n.Load())
	}
}

// TestBadCookieTwiceTCP: a server whose cookies never check (its clock
// jumps two hours a query) answers BADCOOKIE to every UDP query; after
// the second, the resolver asks over TCP, which needs no cookie.
func TestBadCookieTwiceTCP(t *testing.T) {
	var n atomic.Int32
	var mu sync.Mutex
	now := time.Unix(1559731985, 0)
	jump := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(2 * time.Hour)
		return now
	}
	r := cookieServer(t, answerA(&n), func(s *dns.Server) { s.RequireCookies, s.Now = true, jump })
	if got := resolveA(t, r, "gaia.cs.umass.edu"); len(got) != 1 || got[0] != goodAddr.String() {
		t.Fatalf("answer %v", got)
	}
	if q := r.Queries()[netip.MustParseAddr("127.0.0.1")]; q != 3 {
		t.Errorf("%d queries, want 3 (BADCOOKIE twice, then TCP)", q)
	}
}

// TestFormErrWithoutEDNS: a server from before EDNS answers FORMERR,
// without an OPT record, to a query with one; the resolver asks again
// without EDNS and gets the answer, with cookies on or off.
func TestFormErrWithoutEDNS(t *testing.T) {
	var n atomic.Int32
	old := dns.HandlerFunc(func(ctx context.Context, reply *dns.Message, req *dns.Request) {
		if req.EDNS != nil {
			reply.RCode, reply.EDNS = dns.RCodeFormatError, nil
			return
		}
		answerA(&n)(ctx, reply, req)
	})
	for _, off := range []bool{false, true} {
		r := cookieServer(t, old, nil)
		r.NoCookies = off
		if got := resolveA(t, r, "gaia.cs.umass.edu"); len(got) != 1 || got[0] != goodAddr.String() {
			t.Fatalf("NoCookies %v: answer %v", off, got)
		}
	}
	if n.Load() != 2 {
		t.Errorf("answered %d times, want 2", n.Load())
	}
}

// TestCookieTrace: the resolver's trace tells of BADCOOKIE.
func TestCookieTrace(t *testing.T) {
	var n atomic.Int32
	r := cookieServer(t, answerA(&n), func(s *dns.Server) { s.RequireCookies = true })
	var tr bytes.Buffer
	r.Trace = &tr
	resolveA(t, r, "gaia.cs.umass.edu")
	if !strings.Contains(tr.String(), "127.0.0.1: BADCOOKIE: asking again with its server cookie") {
		t.Errorf("trace:\n%s", tr.String())
	}
}
