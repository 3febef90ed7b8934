package dns

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
	"golang.org/x/net/dns/dnsmessage"
)

// benchReply is a typical authoritative answer: three A records for www,
// the zone's two NS records and their addresses.
func benchReply(b *testing.B) *Message {
	nu := MustParseName("networkutopia.com")
	www := MustParseName("www.networkutopia.com")
	ns1, ns2 := MustParseName("dns1.networkutopia.com"), MustParseName("dns2.networkutopia.com")
	a := func(n Name, s string) RR { return RR{n, ClassINET, 3600, &A{netip.MustParseAddr(s)}} }
	return &Message{
		Header:      Header{ID: 4242, Response: true, Authoritative: true},
		Questions:   []Question{{www, TypeA, ClassINET}},
		Answers:     []RR{a(www, "212.212.212.80"), a(www, "212.212.212.81"), a(www, "212.212.212.82")},
		Authorities: []RR{{nu, ClassINET, 3600, &NS{ns1}}, {nu, ClassINET, 3600, &NS{ns2}}},
		Additionals: []RR{a(ns1, "212.212.212.1"), a(ns2, "212.212.212.2")},
		EDNS:        &EDNS{UDPSize: 1232},
	}
}

func benchWire(b *testing.B) []byte {
	w, err := benchReply(b).Pack()
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func BenchmarkParseHeaderQuestion(b *testing.B) {
	w := benchWire(b)
	var p Parser
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Start(w); err != nil {
			b.Fatal(err)
		}
		if _, _, err := p.Question(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDNSMessageParseHeaderQuestion(b *testing.B) {
	w := benchWire(b)
	var p dnsmessage.Parser
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Start(w); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Question(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpack(b *testing.B) {
	w := benchWire(b)
	b.ReportAllocs()
	for b.Loop() {
		var m Message
		if err := m.Unpack(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDNSMessageUnpack(b *testing.B) {
	w := benchWire(b)
	b.ReportAllocs()
	for b.Loop() {
		var m dnsmessage.Message
		if err := m.Unpack(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPack(b *testing.B) {
	m := benchReply(b)
	buf := make([]byte, 0, 512)
	var c compressor
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, _, err = m.appendPack(buf[:0], 0, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDNSMessagePack(b *testing.B) {
	var m dnsmessage.Message
	if err := m.Unpack(benchWire(b)); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = m.AppendPack(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeDatagram answers one UDP query from the zone: the work the
// server does per packet, without the socket.
func BenchmarkServeDatagram(b *testing.B) {
	zs, err := NewZones(readTestZone(b))
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Handler: zs}
	w := newWorker()
	q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
	q.EDNS = &EDNS{UDPSize: 1232}
	query, _ := q.Pack()
	remote := netip.MustParseAddrPort("127.0.0.1:53000")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if out := s.handle(ctx, w, query, remote, false); out == nil {
			b.Fatal("no answer")
		}
	}
}

// BenchmarkDNSPerfVersusNSD loads this package's server and NSD (RRL off)
// with dnsperf, one client with 100 queries outstanding, alternating
// between them in the same run on the same zone, and reports both rates
// and their ratio. Run it alone, once:
//
//	go test ./dns -run XXX -bench DNSPerfVersusNSD -benchtime 1x
func BenchmarkDNSPerfVersusNSD(b *testing.B) {
	dnsperf := sockettest.Need(b, "dnsperf", "dnsperf")
	nsd := startNSD(b)
	_, ours := startServer(b, nil)
	queries := filepath.Join(b.TempDir(), "queries.txt")
	if err := os.WriteFile(queries, []byte(strings.Join([]string{
		"www.networkutopia.com A", "networkutopia.com MX", "mail.networkutopia.com A", "networkutopia.com NS",
		"web.networkutopia.com A", "nothere.networkutopia.com A", "dns1.networkutopia.com AAAA", "networkutopia.com SOA",
	}, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	rate := func(addr string) float64 {
		host, port := hostPort(b, addr)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, dnsperf, "-s", host, "-p", port, "-d", queries, "-l", "5", "-c", "1", "-q", "100").CombinedOutput()
		if err != nil {
			b.Fatalf("dnsperf: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) == 4 && f[0] == "Queries" && f[2] == "second:" {
				q, err := strconv.ParseFloat(f[3], 64)
				if err == nil {
					return q
				}
			}
		}
		b.Fatalf("no rate in dnsperf's output:\n%s", out)
		return 0
	}
	var theirs, mine float64
	for range b.N * 3 {
		theirs += rate(nsd)
		mine += rate(ours)
	}
	b.ReportMetric(theirs/float64(b.N*3), "nsd-qps")
	b.ReportMetric(mine/float64(b.N*3), "appnet-qps")
	b.ReportMetric(mine/theirs, "x-nsd")
	b.ReportMetric(0, "ns/op")
}
