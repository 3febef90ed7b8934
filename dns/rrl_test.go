package dns

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRRLDecide(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	now := t0
	l := &RRL{Rate: 2, Slip: 2, Now: func() time.Time { return now }}
	victim := netip.MustParseAddr("192.0.2.7")
	neighbour := netip.MustParseAddr("192.0.2.200") // same /24
	other := netip.MustParseAddr("198.51.100.1")
	for i, step := range []struct {
		at     time.Duration
		client netip.Addr
		want   RRLAction
	}{
		{0, victim, RRLAnswer},
		{0, victim, RRLAnswer},
		{0, victim, RRLDrop},
		{0, neighbour, RRLSlip}, // the /24 is one client
		{0, victim, RRLDrop},
		{0, other, RRLAnswer}, // another prefix has its own budget
		{0, victim, RRLSlip},
		{250 * time.Millisecond, victim, RRLDrop},    // half a token
		{500 * time.Millisecond, victim, RRLAnswer},  // a whole one
		{1500 * time.Millisecond, victim, RRLAnswer}, // refilled, capped at Rate
		{1500 * time.Millisecond, victim, RRLAnswer},
		{1500 * time.Millisecond, victim, RRLDrop},
	} {
		now = t0.Add(step.at)
		if got := l.Decide(step.client); got != step.want {
			t.Errorf("step %d (%v, %s): %v, want %v", i, step.at, step.client, got, step.want)
		}
	}
	never := &RRL{Rate: 1, Slip: -1, Now: func() time.Time { return t0 }}
	never.Decide(victim)
	for range 5 {
		if got := never.Decide(victim); got != RRLDrop {
			t.Errorf("Slip -1: %v", got)
		}
	}
}

// amplificationZone has a large TXT record: the amplifier's target.
func amplificationZone(t testing.TB) *Zones {
	var b strings.Builder
	b.WriteString("$TTL 3600\n@ SOA dns1 hostmaster 1 3600 900 604800 300\n@ NS dns1\ndns1 A 212.212.212.1\n")
	for i := range 12 {
		b.WriteString("big TXT \"" + strings.Repeat(string(rune('a'+i)), 200) + "\"\n")
	}
	z, err := ReadZone(ZoneFile{Origin: MustParseName("networkutopia.com")}, strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	zs, err := NewZones(z)
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

// amplification sends n spoofed queries (source: the victim) through the
// server's own answering path and returns bytes out / bytes in, and the
// replies that went out.
func amplification(t testing.TB, s *Server, q *Message, n int) (float64, int) {
	w := newWorker()
	victim := netip.MustParseAddrPort("192.0.2.7:53")
	in, out, sent := 0, 0, 0
	for i := range n {
		q.ID = uint16(i)
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		in += len(b)
		if r := s.handle(context.Background(), w, b, victim, false); r != nil {
			out += len(r)
			sent++
		}
	}
	return float64(out) / float64(in), sent
}

// TestAmplificationFactor measures bytes out per byte in for a flood of
// TXT queries spoofed from one victim, with and without RRL, and for ANY
// (answered minimally over UDP, RFC 8482).
func TestAmplificationFactor(t *testing.T) {
	zs := amplificationZone(t)
	q := NewQuery(MustParseName("big.networkutopia.com"), TypeTXT)
	q.EDNS = &EDNS{UDPSize: 4096}
	const n = 1000
	open := &Server{Handler: zs, UDPSize: 4096}
	without, sentWithout := amplification(t, open, q, n)
	now := time.Unix(1e9, 0)
	limited := &Server{Handler: zs, UDPSize: 4096, RateLimit: &RRL{Rate: 5, Now: func() time.Time { return now }}}
	with, sentWith := amplification(t, limited, q, n)
	t.Logf("TXT flood of %d queries: amplification %.1f× without RRL (%d replies), %.2f× with RRL rate 5/s slip 2 (%d replies)", n, without, sentWithout, with, sentWith)
	if without <= 10 {
		t.Errorf("the zone should amplify: %.1f×", without)
	}
	if with >= 1 || sentWith >= n/2+10 {
		t.Errorf("with RRL: %.2f×, %d replies", with, sentWith)
	}
	anyQ := NewQuery(MustParseName("big.networkutopia.com"), TypeANY)
	anyQ.EDNS = &EDNS{UDPSize: 4096}
	anyFactor, _ := amplification(t, open, anyQ, 10)
	t.Logf("ANY over UDP (RFC 8482 minimal answer): %.1f×", anyFactor)
	if anyFactor >= 2 {
		t.Errorf("ANY over UDP amplifies %.1f×", anyFactor)
	}
}

func TestMinimalANY(t *testing.T) {
	srv, addr := func() (*Server, string) {
		zs := amplificationZone(t)
		pc, ln, err := Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{Handler: zs}
		done := make(chan struct{})
		go func() { defer close(done); s.ServeBoth(pc, ln) }()
		t.Cleanup(func() { s.Close(); <-done })
		return s, pc.LocalAddr().String()
	}()
	_ = srv
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c Client
	q := NewQuery(MustParseName("big.networkutopia.com"), TypeANY)
	r, err := c.Exchange(ctx, addr, q)
	if err != nil || len(r.Answers) != 1 || r.Answers[0].Type() != TypeHINFO || r.Truncated {
		t.Fatalf("ANY over UDP: %v %v", r, err)
	}
	r, err = c.ExchangeTCP(ctx, addr, q)
	if err != nil || len(r.Answers) != 12 {
		t.Fatalf("ANY over TCP: %d answers, %v", len(r.Answers), err)
	}
	r, err = c.Exchange(ctx, addr, NewQuery(MustParseName("nosuch.networkutopia.com"), TypeANY))
	if err != nil || r.RCode != RCodeNameError {
		t.Fatalf("ANY at a missing name: %v %v", r, err)
	}
}

// TestRRLSlipToTCP: past the rate, a slipped reply (TC, empty) sends a
// genuine client to TCP, where it gets its answer.
func TestRRLSlipToTCP(t *testing.T) {
	zs := amplificationZone(t)
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1e9, 0)
	s := &Server{Handler: zs, RateLimit: &RRL{Rate: 1, Slip: 1, Now: func() time.Time { return now }}}
	done := make(chan struct{})
	go func() { defer close(done); s.ServeBoth(pc, ln) }()
	defer func() { s.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c Client
	q := NewQuery(MustParseName("dns1.networkutopia.com"), TypeA)
	for i := range 3 {
		r, err := c.Exchange(ctx, pc.LocalAddr().String(), q)
		if err != nil || len(r.Answers) != 1 {
			t.Fatalf("query %d: %v %v", i, r, err)
		}
	}
	var raw Client
	r, err := raw.exchangeOnce(ctx, "udp", pc.LocalAddr().String(), q)
	if err != nil || !r.Truncated || len(r.Answers) != 0 {
		t.Fatalf("over the rate, UDP: %v %v", r, err)
	}
}
