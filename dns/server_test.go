package dns

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
	"github.com/google/go-cmp/cmp"
)

// startServer serves the test zones on 127.0.0.1 (UDP and TCP, one port)
// and stops the server when the test ends.
func startServer(t testing.TB, configure func(*Server)) (*Server, string) {
	t.Helper()
	z := readTestZone(t)
	f, err := os.Open("testdata/212.212.212.in-addr.arpa.zone")
	if err != nil {
		t.Fatal(err)
	}
	rev, err := ReadZone(ZoneFile{Name: f.Name(), Origin: MustParseName("212.212.212.in-addr.arpa")}, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err = os.Open("testdata/w.test.zone")
	if err != nil {
		t.Fatal(err)
	}
	wild, err := ReadZone(ZoneFile{Name: f.Name(), Origin: MustParseName("w.test")}, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	zs, err := NewZones(z, rev, wild, bigZone(t))
	if err != nil {
		t.Fatal(err)
	}
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: zs, Workers: 2}
	if configure != nil {
		configure(s)
	}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("ServeBoth returned %v", err)
		}
	})
	return s, ln.Addr().String()
}

// bigZone has 60 TXT records at big.big.test: more than 512 octets.
func bigZone(t testing.TB) *Zone {
	src := "$TTL 60\n@ SOA ns root 1 2 3 4 5\n"
	for i := range 60 {
		src += fmt.Sprintf("big TXT \"%s%02d\"\n", strings.Repeat("x", 20), i)
	}
	z, err := ReadZone(ZoneFile{Name: "big", Origin: MustParseName("big.test")}, strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// answers lists a reply's records as presentation lines per section.
func answers(m *Message) map[string][]string {
	out := map[string][]string{}
	for _, s := range []struct {
		k   string
		rrs []RR
	}{{"an", m.Answers}, {"ns", m.Authorities}, {"ad", m.Additionals}} {
		for _, rr := range s.rrs {
			out[s.k] = append(out[s.k], rr.String())
		}
	}
	return out
}

func TestAuthoritativeAnswers(t *testing.T) {
	_, addr := startServer(t, nil)
	soa := "networkutopia.com.\t300\tIN\tSOA\tdns1.networkutopia.com. hostmaster.networkutopia.com. 2026112501 3600 900 604800 300"
	for _, tc := range []struct {
		name  string
		qtype Type
		rcode RCode
		aa    bool
		want  map[string][]string
	}{
		{"dns1.networkutopia.com", TypeA, RCodeSuccess, true, map[string][]string{"an": {"dns1.networkutopia.com.\t3600\tIN\tA\t212.212.212.1"}}},
		{"networkutopia.com", TypeMX, RCodeSuccess, true, map[string][]string{
			"an": {"networkutopia.com.\t3600\tIN\tMX\t10 mail.networkutopia.com.", "networkutopia.com.\t3600\tIN\tMX\t20 mail2.networkutopia.com."},
			"ad": {"mail.networkutopia.com.\t3600\tIN\tA\t212.212.212.25", "mail2.networkutopia.com.\t86400\tIN\tA\t212.212.212.26", "mail2.networkutopia.com.\t3600\tIN\tAAAA\t2001:db8::26"}}},
		{"nothere.networkutopia.com", TypeA, RCodeNameError, true, map[string][]string{"ns": {soa}}},
		{"dns1.networkutopia.com", TypeMX, RCodeSuccess, true, map[string][]string{"ns": {soa}}},
		{"_tcp.networkutopia.com", TypeA, RCodeSuccess, true, map[string][]string{"ns": {soa}}}, // empty non-terminal
		{"web.networkutopia.com", TypeAAAA, RCodeSuccess, true, map[string][]string{"an": {
			"web.networkutopia.com.\t3600\tIN\tCNAME\twww.networkutopia.com.", "www.networkutopia.com.\t3600\tIN\tAAAA\t2001:db8::80"}}},
		{"ftp.networkutopia.com", TypeA, RCodeSuccess, true, map[string][]string{"an": {"ftp.networkutopia.com.\t3600\tIN\tCNAME\tfiles.example.net."}}},
		{"alice.users.networkutopia.com", TypeA, RCodeSuccess, true, map[string][]string{"an": {"alice.users.networkutopia.com.\t3600\tIN\tA\t212.212.212.99"}}},
		{"alice.users.networkutopia.com", TypeMX, RCodeSuccess, true, map[string][]string{"ns": {soa}}},
		{"users.networkutopia.com", TypeA, RCodeSuccess, true, map[string][]string{"ns": {soa}}}, // the wildcard does not cover its parent
		{"host.lab.networkutopia.com", TypeA, RCodeSuccess, false, map[string][]string{
			"ns": {"lab.networkutopia.com.\t3600\tIN\tNS\tns.lab.networkutopia.com."},
			"ad": {"ns.lab.networkutopia.com.\t3600\tIN\tA\t212.212.213.53"}}},
		{"www.crepes.fr", TypeA, RCodeRefused, false, map[string][]string{}},
		{"opaque.networkutopia.com", Type(666), RCodeSuccess, true, map[string][]string{"an": {"opaque.networkutopia.com.\t3600\tIN\tTYPE666\t\\# 4 0a000001"}}},
		{"_sip._tcp.networkutopia.com", TypeSRV, RCodeSuccess, true, map[string][]string{
			"an": {"_sip._tcp.networkutopia.com.\t3600\tIN\tSRV\t10 60 5060 sip.networkutopia.com."},
			"ad": {"sip.networkutopia.com.\t3600\tIN\tA\t212.212.212.50"}}},
		{"80.212.212.212.in-addr.arpa", TypePTR, RCodeSuccess, true, map[string][]string{"an": {"80.212.212.212.in-addr.arpa.\t86400\tIN\tPTR\twww.networkutopia.com."}}},
		{"networkutopia.com", TypeCAA, RCodeSuccess, true, map[string][]string{"an": {"networkutopia.com.\t3600\tIN\tCAA\t0 issue \"letsencrypt.org\""}}},
	} {
		var c Client
		r, err := c.Exchange(context.Background(), addr, NewQuery(MustParseName(tc.name), tc.qtype))
		if err != nil {
			t.Errorf("%s %s: %v", tc.name, tc.qtype, err)
			continue
		}
		if r.RCode != tc.rcode || r.Authoritative != tc.aa {
			t.Errorf("%s %s: rcode %s aa %v, want %s %v", tc.name, tc.qtype, r.RCode.String(), r.Authoritative, tc.rcode.String(), tc.aa)
		}
		if diff := cmp.Diff(tc.want, answers(r)); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.name, tc.qtype, diff)
		}
	}
}

func TestARecordsRotate(t *testing.T) {
	_, addr := startServer(t, nil)
	var c Client
	firsts := map[string]bool{}
	for range 3 {
		rrs, err := c.Lookup(context.Background(), addr, MustParseName("www.networkutopia.com"), TypeA)
		if err != nil || len(rrs) != 3 {
			t.Fatal(rrs, err)
		}
		firsts[rrs[0].Data.String()] = true
	}
	if len(firsts) != 3 {
		t.Errorf("three answers began with %v, want three different servers", firsts)
	}
}

func TestEDNSAndTruncation(t *testing.T) {
	_, addr := startServer(t, nil)
	var trace strings.Builder
	// Without EDNS the answer must fit 512 octets.
	c := Client{UDPSize: -1}
	q := NewQuery(MustParseName("networkutopia.com"), TypeANY)
	r, err := c.Exchange(context.Background(), addr, q)
	if err != nil {
		t.Fatal(err)
	}
	if r.EDNS != nil {
		t.Error("OPT in a reply to a query without EDNS")
	}
	// A server that must truncate.
	zs, _ := NewZones(bigZone(t))
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: zs, Trace: &trace}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	defer func() { s.Close(); <-done }()
	big := NewQuery(MustParseName("big.big.test"), TypeTXT)
	big.EDNS = &EDNS{UDPSize: 512}
	udp, err := Dial(context.Background(), "udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err = udp.Exchange(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Truncated || len(r.Answers) != 0 || r.EDNS == nil || r.EDNS.UDPSize != 1232 {
		t.Errorf("UDP reply: tc=%v answers=%d edns=%+v", r.Truncated, len(r.Answers), r.EDNS)
	}
	// The client falls back to TCP and gets all 60.
	c = Client{UDPSize: 512}
	r, err = c.Exchange(ctx, ln.Addr().String(), NewQuery(MustParseName("big.big.test"), TypeTXT))
	if err != nil {
		t.Fatal(err)
	}
	if r.Truncated || len(r.Answers) != 60 {
		t.Errorf("after TCP fallback: tc=%v answers=%d", r.Truncated, len(r.Answers))
	}
	// BADVERS for EDNS version 1.
	v1 := NewQuery(MustParseName("big.big.test"), TypeA)
	v1.EDNS = &EDNS{UDPSize: 1232, Version: 1}
	r, err = udp.Exchange(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	if r.RCode != RCodeBadVersion || r.EDNS == nil || r.EDNS.Version != 0 {
		t.Errorf("version 1: rcode %s edns %+v", r.RCode.String(), r.EDNS)
	}
	s.Close()
	if !strings.Contains(trace.String(), "S: reply id") || !strings.Contains(trace.String(), "C:   question   big.big.test. IN TXT") {
		t.Errorf("trace:\n%s", trace.String())
	}
}

// rawExchange sends b over UDP and returns the reply. If want is false the
// server must not answer b: a valid query follows on the same socket, and
// the first reply must be that query's (the server runs one worker, so it
// handles the two in order).
func rawExchange(t *testing.T, addr string, b []byte, want bool) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if !want {
		probe := NewQuery(MustParseName("dns1.networkutopia.com"), TypeA)
		probe.ID = 7777
		pb, _ := probe.Pack()
		if _, err := c.Write(pb); err != nil {
			t.Fatal(err)
		}
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !want {
		if n < 2 || binary.BigEndian.Uint16(buf) != 7777 {
			return buf[:n] // an answer to b
		}
		return nil
	}
	return buf[:n]
}

func TestServerErrors(t *testing.T) {
	_, addr := startServer(t, func(s *Server) { s.Workers = 1 })
	q := func(mod func(*Message)) []byte {
		m := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
		m.ID = 99
		mod(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		msg   []byte
		rcode RCode
	}{
		{"notify opcode", q(func(m *Message) { m.Opcode = OpcodeNotify }), RCodeNotImplemented},
		{"opcode 9", q(func(m *Message) { m.Opcode = 9 }), RCodeNotImplemented},
		{"two questions", q(func(m *Message) { m.Questions = append(m.Questions, m.Questions[0]) }), RCodeFormatError},
		{"no question", q(func(m *Message) { m.Questions = nil }), RCodeFormatError},
		{"pointer loop", []byte{0, 99, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}, RCodeFormatError},
		{"cut question", []byte{0, 99, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w'}, RCodeFormatError},
		{"class CH", q(func(m *Message) { m.Questions[0].Class = ClassCHAOS }), RCodeRefused},
		{"AXFR over UDP", q(func(m *Message) { m.Questions[0].Type = TypeAXFR }), RCodeRefused},
	} {
		b := rawExchange(t, addr, tc.msg, true)
		var r Message
		if err := r.Unpack(b); err != nil {
			t.Errorf("%s: reply %x: %v", tc.name, b, err)
			continue
		}
		if r.ID != 99 || !r.Response || r.RCode != tc.rcode {
			t.Errorf("%s: id %d qr %v rcode %s, want %s", tc.name, r.ID, r.Response, r.RCode.String(), tc.rcode.String())
		}
	}
	// A reply (QR set) and a runt get no answer at all.
	if b := rawExchange(t, addr, q(func(m *Message) { m.Response = true }), false); b != nil {
		t.Errorf("server answered a reply: %x", b)
	}
	if b := rawExchange(t, addr, []byte{1, 2, 3}, false); b != nil {
		t.Errorf("server answered a runt: %x", b)
	}
	// The server still answers.
	var c Client
	if _, err := c.Lookup(context.Background(), addr, MustParseName("www.networkutopia.com"), TypeA); err != nil {
		t.Fatal(err)
	}
}

func TestTCPSeveralQueriesAndLimits(t *testing.T) {
	_, addr := startServer(t, func(s *Server) {
		s.MaxTCPQueries = 3
		s.IdleTimeout = 200 * time.Millisecond
		s.ReadTimeout = 200 * time.Millisecond
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	conn := NewConn(c)
	for i := range 3 {
		r, err := conn.Exchange(context.Background(), NewQuery(MustParseName("mail.networkutopia.com"), TypeA))
		if err != nil || len(r.Answers) != 1 {
			t.Fatalf("query %d: %v %v", i, r, err)
		}
	}
	// After three the server closes the connection.
	_, err = conn.Exchange(context.Background(), NewQuery(MustParseName("mail.networkutopia.com"), TypeA))
	if err == nil {
		t.Error("fourth query on one connection answered, want the connection closed")
	}
	// An idle connection is closed after IdleTimeout.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	var one [1]byte
	if _, err := c2.Read(one[:]); err == nil {
		t.Error("idle connection still open")
	}
	// A length prefix promising more than is sent does not hang the server.
	c3, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	var lb [2]byte
	binary.BigEndian.PutUint16(lb[:], 60000)
	c3.Write(lb[:])
	c3.Write([]byte("short"))
	c3.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c3.Read(one[:]); err == nil {
		t.Error("got a reply to half a message")
	}
}

func TestShutdownWaits(t *testing.T) {
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := readTestZone(t)
	zs, _ := NewZones(z)
	s := &Server{Handler: zs}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	var c Client
	if _, err := c.Lookup(context.Background(), ln.Addr().String(), MustParseName("www.networkutopia.com"), TypeA); err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Dial("tcp", ln.Addr().String()) // an idle TCP client
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != ErrServerClosed {
		t.Errorf("ServeBoth: %v", err)
	}
	if err := s.ServePacket(pc); err != ErrServerClosed {
		t.Errorf("ServePacket after Shutdown: %v", err)
	}
}

func TestClientIgnoresForgedReplies(t *testing.T) {
	// A "server" that first sends a reply with the wrong ID, then one with
	// the wrong question, then the right one.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var q Message
		if q.Unpack(buf[:n]) != nil {
			return
		}
		send := func(id uint16, name string) {
			r := Message{Header: Header{ID: id, Response: true}, Questions: []Question{{MustParseName(name), TypeA, ClassINET}}}
			b, _ := r.Pack()
			pc.WriteTo(b, from)
		}
		send(q.ID+1, "www.networkutopia.com")
		send(q.ID, "www.evil.example")
		send(q.ID, "WWW.networkutopia.com")
	}()
	c := Client{Attempts: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Exchange(ctx, pc.LocalAddr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA))
	if err != nil {
		t.Fatal(err)
	}
	if r.Questions[0].Name.String() != "WWW.networkutopia.com." {
		t.Errorf("accepted %s", r.Questions[0].Name)
	}
}

func TestMaxTCPConns(t *testing.T) {
	_, addr := startServer(t, func(s *Server) { s.MaxTCPConns = 1 })
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	conn := NewConn(first)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exchange(ctx, NewQuery(MustParseName("www.networkutopia.com"), TypeA)); err != nil {
		t.Fatal(err) // the first connection is being served
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := NewConn(second).Exchange(ctx, NewQuery(MustParseName("www.networkutopia.com"), TypeA)); err == nil {
		t.Error("a second connection was served with MaxTCPConns 1")
	}
}

// TestCloseLeavesNoGoroutines serves UDP and TCP, closes the server and
// checks that every goroutine it started has ended when Close returns.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	zs, _ := NewZones(readTestZone(t))
	s := &Server{Handler: zs}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	c := Client{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exchange(ctx, ln.Addr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExchangeTCP(ctx, ln.Addr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA)); err != nil {
		t.Fatal(err)
	}
	idle, err := net.Dial("tcp", ln.Addr().String()) // a connection left open
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.Write([]byte{0, 40}) // and a query half sent
	s.Close()
	<-done
	// The rest were waited for by Close; the goroutine that ran
	// ServeBoth may still be finishing its return, so yield to it.
	// (A goroutine that has called wg.Done is still counted until its
	// deferred calls return: on a loaded machine that can take a while.)
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); n > before && time.Now().Before(deadline); {
		runtime.Gosched()
		n = runtime.NumGoroutine()
	}
	if n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestClientFreshSourcePorts checks that each exchange comes from a socket
// of its own, so its source port is a new one the system picked: together
// with the random ID, what a forger must guess.
func TestClientFreshSourcePorts(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const n = 6
	ports := make(chan int, n)
	ids := make(chan uint16, n)
	go func() {
		buf := make([]byte, 512)
		for range n {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var q Message
			if q.Unpack(buf[:k]) != nil {
				return
			}
			ports <- from.(*net.UDPAddr).Port
			ids <- q.ID
			q.Response = true
			b, _ := q.Pack()
			pc.WriteTo(b, from)
		}
	}()
	c := Client{Attempts: 1}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seenPorts, seenIDs := map[int]bool{}, map[uint16]bool{}
	for range n {
		if _, err := c.Exchange(ctx, pc.LocalAddr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA)); err != nil {
			t.Fatal(err)
		}
		seenPorts[<-ports] = true
		seenIDs[<-ids] = true
	}
	if len(seenPorts) < 2 || len(seenIDs) < 2 {
		t.Errorf("%d queries came from %d ports with %d IDs", n, len(seenPorts), len(seenIDs))
	}
}

// TestIPv6Loopback serves and asks over ::1, where the batched reader
// decodes IPv6 socket addresses.
func TestIPv6Loopback(t *testing.T) {
	pc, ln, err := Listen("[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	zs, _ := NewZones(readTestZone(t))
	s := &Server{Handler: zs}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	defer func() { s.Close(); <-done }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c Client
	for _, tcp := range []bool{false, true} {
		ex := c.Exchange
		if tcp {
			ex = c.ExchangeTCP
		}
		r, err := ex(ctx, ln.Addr().String(), NewQuery(MustParseName("mail.networkutopia.com"), TypeA))
		if err != nil || len(r.Answers) != 1 {
			t.Fatalf("tcp=%v: %v %v", tcp, r, err)
		}
	}
}

func TestHandlerPanicGivesServFail(t *testing.T) {
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, reply *Message, req *Request) {
		reply.Answers = append(reply.Answers, RR{Name: req.Questions[0].Name, Class: ClassINET, TTL: 1,
			Data: &A{netip.MustParseAddr("192.0.2.1")}})
		if req.Questions[0].Name.FirstLabel() == "boom" {
			panic("handler bug")
		}
	})}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	defer func() { s.Close(); <-done }()
	var c Client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Exchange(ctx, ln.Addr().String(), NewQuery(MustParseName("boom.example"), TypeA))
	if err != nil || r.RCode != RCodeServerFailure || len(r.Answers) != 0 {
		t.Fatalf("after a panic: %v %v", r, err)
	}
	r, err = c.Exchange(ctx, ln.Addr().String(), NewQuery(MustParseName("fine.example"), TypeA))
	if err != nil || r.RCode != RCodeSuccess || len(r.Answers) != 1 {
		t.Fatalf("the next query: %v %v", r, err)
	}
}

// A server that predates EDNS answers FORMERR to an OPT record; the client
// asks again without one.
func TestClientFallsBackWithoutEDNS(t *testing.T) {
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var withOPT, without atomic.Int32
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, reply *Message, req *Request) {
		if req.EDNS != nil {
			withOPT.Add(1)
			reply.RCode = RCodeFormatError
			reply.EDNS = nil
			return
		}
		without.Add(1)
		reply.Answers = append(reply.Answers, RR{Name: req.Questions[0].Name, Class: ClassINET, TTL: 1,
			Data: &A{netip.MustParseAddr("192.0.2.1")}})
	})}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	defer func() { s.Close(); <-done }()
	var c Client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Exchange(ctx, ln.Addr().String(), NewQuery(MustParseName("old.example"), TypeA))
	if err != nil || len(r.Answers) != 1 || withOPT.Load() != 1 || without.Load() != 1 {
		t.Fatalf("%v %v; %d queries with OPT, %d without", r, err, withOPT.Load(), without.Load())
	}
}

// Close right after the Serve methods were started, before they may have
// begun: they must still return, and Close must not wait forever.
func TestCloseRightAfterStart(t *testing.T) {
	for range 20 {
		pc, ln, err := Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{Handler: HandlerFunc(func(context.Context, *Message, *Request) {})}
		done := make(chan error, 1)
		go func() { done <- s.ServeBoth(pc, ln) }()
		s.Close()
		if err := <-done; err != ErrServerClosed {
			t.Fatalf("ServeBoth: %v", err)
		}
	}
}

// A UDP query longer than the server reads is dropped, and the server goes
// on answering.
func TestOversizedUDPQuery(t *testing.T) {
	_, addr := startServer(t, func(s *Server) { s.Workers = 1 })
	q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
	q.EDNS = &EDNS{UDPSize: 1232, Options: []Option{{65001, make([]byte, 8000)}}}
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if reply := rawExchange(t, addr, b, false); reply != nil {
		t.Errorf("an 8 KB UDP query was answered: %x", reply[:12])
	}
}

// TestHandlerPanicLogged: the panic a query caused reaches ErrorLog with
// the query and the stack of the handler that panicked.
func TestHandlerPanicLogged(t *testing.T) {
	var logged sockettest.SyncBuffer
	_, addr := startServer(t, func(s *Server) {
		s.Handler = HandlerFunc(func(ctx context.Context, reply *Message, req *Request) {
			panic("handler bug at " + req.Questions[0].Name.String())
		})
		s.ErrorLog = log.New(&logged, "", 0)
	})
	var c Client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Exchange(ctx, addr, NewQuery(MustParseName("boom.crepes.fr"), TypeMX))
	if err != nil || r.RCode != RCodeServerFailure {
		t.Fatalf("after a panic: %v %v", r, err)
	}
	got := logged.String()
	for _, want := range []string{"boom.crepes.fr. MX", "handler bug at boom.crepes.fr.", "TestHandlerPanicLogged", "goroutine "} {
		if !strings.Contains(got, want) {
			t.Errorf("ErrorLog lacks %q:\n%s", want, got)
		}
	}
}
