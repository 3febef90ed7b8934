package dns

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// fuzzSeeds are wire messages to start the message fuzzers from: the
// sample message, queries, and the crafted bad packets.
func fuzzSeeds(t testing.TB) [][]byte {
	full, err := sampleMessage(t).Pack()
	if err != nil {
		t.Fatal(err)
	}
	q, _ := NewQuery(MustParseName("www.networkutopia.com"), TypeA).Pack()
	eq := NewQuery(MustParseName("networkutopia.com"), TypeMX)
	eq.EDNS = &EDNS{UDPSize: 4096, Options: []Option{{10, []byte("cookie00")}}}
	ednsq, _ := eq.Pack()
	return [][]byte{full, q, ednsq,
		{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},                                       // pointer to itself
		{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 0xC0, 18, 0, 1, 0, 1, 1, 'b', 0xC0, 12, 0, 1, 0, 1}, // loop
		{0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1},                                              // counts larger than data
		append(append([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64}, bytes.Repeat([]byte{'a'}, 64)...), 0, 0, 1, 0, 1),
		{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w'},
	}
}

func FuzzUnpack(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unpack(b); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		_ = m.String()
		// Whatever parses packs again, and the packed form parses to
		// the same message.
		out, err := m.Pack()
		if err != nil {
			return // e.g. an A record's data fits, but a CAA tag is empty
		}
		var again Message
		if err := again.Unpack(out); err != nil {
			t.Fatalf("repacked message does not parse: %v", err)
		}
		if again.String() != m.String() {
			t.Fatalf("round trip changed the message:\n%s\n%s", &m, &again)
		}
	})
}

// FuzzPackUnpack builds a message from fuzzed fields, packs and parses it.
func FuzzPackUnpack(f *testing.F) {
	f.Add("www.networkutopia.com", uint16(1), []byte{212, 212, 212, 80}, "mail.networkutopia.com", "v=spf1", uint16(4242), uint16(0x8400))
	f.Add(`a\.b.c`, uint16(666), []byte{}, ".", "", uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, name string, typ uint16, data []byte, target, txt string, id, flags uint16) {
		n, err := ParseName(name)
		if err != nil {
			return
		}
		tg, err := ParseName(target)
		if err != nil {
			return
		}
		m := Message{Questions: []Question{{n, Type(typ), ClassINET}}}
		m.setFlags(flags)
		m.ID = id
		m.Answers = []RR{
			{n, ClassINET, 60, &MX{typ, tg}},
			{tg, ClassINET, 60, &CNAME{n}},
			{n, ClassINET, 60, &SOA{tg, n, 1, 2, 3, 4, 5}},
			{tg, ClassINET, 60, &Unknown{Type(typ) | 0x8000, data}},
		}
		if len(txt) <= 255 {
			m.Additionals = []RR{{n, ClassINET, 1, &TXT{[]string{txt, txt}}}}
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		var got Message
		if err := got.Unpack(b); err != nil {
			t.Fatalf("%v\n%x", err, b)
		}
		if got.String() != m.String() {
			t.Fatalf("round trip:\n%s\n%s", &m, &got)
		}
		if !got.Questions[0].Name.Equal(n) || got.Questions[0].Name.String() != n.String() {
			t.Fatalf("name %s came back as %s", n, got.Questions[0].Name)
		}
	})
}

func FuzzZoneFile(f *testing.F) {
	for _, file := range []string{"testdata/networkutopia.com.zone", "testdata/syntax.example.zone", "testdata/212.212.212.in-addr.arpa.zone"} {
		b, err := readFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("$TTL 1\n@ SOA a b ( 1 2\n 3 4 5 ) ; c\nx TXT \"\\\"q\" a\\032b\n"))
	f.Add([]byte("x 1 IN TYPE9 \\# 2 abcd\n\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		zf := ZoneFile{Name: "fuzz", Origin: MustParseName("example"), MaxRecords: 1000}
		rrs, err := zf.Parse(bytes.NewReader(b))
		if err != nil {
			var ze *ZoneError
			if !errors.As(err, &ze) {
				t.Fatalf("error %v is not a *ZoneError", err)
			}
			return
		}
		// What parses writes out and parses back the same.
		var buf bytes.Buffer
		if err := WriteZone(&buf, zf.Origin, rrs); err != nil {
			t.Fatal(err)
		}
		back, err := zf.Parse(&buf)
		if err != nil {
			t.Fatalf("written zone does not parse: %v\n%s", err, buf.String())
		}
		if len(back) != len(rrs) {
			t.Fatalf("%d records became %d", len(rrs), len(back))
		}
		for i := range rrs {
			if rrs[i].String() != back[i].String() {
				t.Fatalf("record %q became %q", rrs[i].String(), back[i].String())
			}
		}
	})
}

// FuzzServeDatagram hands the server's query path one datagram: it must
// answer with a well-formed reply carrying the query's ID, or not at all.
func FuzzServeDatagram(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	z := readTestZone(f)
	zs, err := NewZones(z, bigZone(f))
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{Handler: zs}
	w := newWorker()
	remote := netip.MustParseAddrPort("127.0.0.1:53000")
	f.Fuzz(func(t *testing.T, b []byte) {
		out := s.handle(context.Background(), w, b, remote, false)
		if out == nil {
			if len(b) >= HeaderLen && b[2]&0x80 == 0 {
				t.Fatal("a query got no answer")
			}
			return
		}
		var r Message
		if err := r.Unpack(out); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		if r.ID != binary.BigEndian.Uint16(b) || !r.Response {
			t.Fatalf("reply id %d qr %v", r.ID, r.Response)
		}
		limit := 512
		var q Message
		if q.Unpack(b) == nil && q.EDNS != nil {
			limit = max(512, min(int(q.EDNS.UDPSize), 1232))
		}
		if len(out) > limit {
			t.Fatalf("UDP reply of %d octets, limit %d", len(out), limit)
		}
	})
}

// FuzzDifferential parses each input with this package and with
// x/net/dns/dnsmessage: what both accept must read the same.
func FuzzDifferential(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		ours := m.Unpack(b)
		theirs, err := parseWithDNSMessage(b)
		if ours != nil && err == nil && !knownStricter(ours) {
			t.Fatalf("dnsmessage accepts what we refuse: %v", ours)
		}
		if ours == nil && err != nil && !theyAreStricter(err) && !hasEmptyUpdateRecord(&m) {
			t.Fatalf("we accept what dnsmessage refuses: %v", err)
		}
		if ours != nil || err != nil {
			return
		}
		if theirs.h.ID != m.ID || theirs.h.Response != m.Response || theirs.h.Authoritative != m.Authoritative ||
			theirs.h.Truncated != m.Truncated || theirs.h.RecursionDesired != m.RecursionDesired ||
			theirs.h.RecursionAvailable != m.RecursionAvailable || int(theirs.h.OpCode) != int(m.Opcode) {
			t.Fatalf("headers differ: %+v vs %+v", theirs.h, m.Header)
		}
		if len(theirs.q) != len(m.Questions) {
			t.Fatalf("%d questions vs %d", len(theirs.q), len(m.Questions))
		}
		for i, q := range theirs.q {
			if !sameName(q.Name, m.Questions[i].Name) || uint16(q.Type) != uint16(m.Questions[i].Type) {
				t.Fatalf("question %d: %v vs %v", i, q, m.Questions[i])
			}
		}
		all := append(append(append([]RR{}, m.Answers...), m.Authorities...), m.Additionals...)
		var theirRRs []dnsmessage.Resource
		for _, r := range theirs.rrs {
			if r.Header.Type != dnsmessage.TypeOPT {
				theirRRs = append(theirRRs, r)
			}
		}
		if len(theirRRs) != len(all) {
			t.Fatalf("%d records vs %d", len(theirRRs), len(all))
		}
		for i, r := range theirRRs {
			rr := all[i]
			if !sameName(r.Header.Name, rr.Name) || uint16(r.Header.Type) != uint16(rr.Type()) || r.Header.TTL != rr.TTL {
				t.Fatalf("record %d: %v vs %v", i, r.Header, rr)
			}
			if u, ok := rr.Data.(*Unknown); ok && len(u.Data) == 0 {
				continue // an UPDATE-style record without data; dnsmessage reads on past it
			}
			switch body := r.Body.(type) {
			case *dnsmessage.AResource:
				if rr.Data.(*A).Addr != netip.AddrFrom4(body.A) {
					t.Fatalf("A %v vs %v", body, rr)
				}
			case *dnsmessage.MXResource:
				if d := rr.Data.(*MX); d.Preference != body.Pref || !sameName(body.MX, d.Exchange) {
					t.Fatalf("MX %v vs %v", body, rr)
				}
			case *dnsmessage.NSResource:
				if !sameName(body.NS, rr.Data.(*NS).Host) {
					t.Fatalf("NS %v vs %v", body, rr)
				}
			case *dnsmessage.SOAResource:
				d := rr.Data.(*SOA)
				if !sameName(body.NS, d.MName) || !sameName(body.MBox, d.RName) || body.Serial != d.Serial || body.MinTTL != d.Minimum {
					t.Fatalf("SOA %v vs %v", body, rr)
				}
			case *dnsmessage.TXTResource:
				if strings.Join(body.TXT, "\x00") != strings.Join(rr.Data.(*TXT).Strings, "\x00") {
					t.Fatalf("TXT %q vs %v", body.TXT, rr)
				}
			}
		}
	})
}

type dnsmessageParse struct {
	h   dnsmessage.Header
	q   []dnsmessage.Question
	rrs []dnsmessage.Resource
}

func parseWithDNSMessage(b []byte) (*dnsmessageParse, error) {
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		return nil, err
	}
	out := &dnsmessageParse{h: h}
	if out.q, err = p.AllQuestions(); err != nil {
		return nil, err
	}
	for _, f := range []func() ([]dnsmessage.Resource, error){p.AllAnswers, p.AllAuthorities, p.AllAdditionals} {
		rrs, err := f()
		if err != nil {
			return nil, err
		}
		out.rrs = append(out.rrs, rrs...)
	}
	return out, nil
}

// sameName compares a dnsmessage name (labels joined by dots, without
// escapes) with ours by their labels' octets.
func sameName(n dnsmessage.Name, m Name) bool {
	var labels []string
	for i := 0; i < int(m.n); i += 1 + int(m.wire[i]) {
		labels = append(labels, string(m.wire[i+1:i+1+int(m.wire[i])]))
	}
	s := strings.Join(labels, ".") + "."
	return n.String() == s
}

// knownStricter lists where this package refuses, on purpose, what
// dnsmessage accepts: forward pointers (RFC 9267), names and data that
// run past their record's RDLENGTH (dnsmessage reads on into the next
// record), misplaced OPT records and malformed EDNS options (RFC 6891
// §6.1.2 asks for FORMERR).
func knownStricter(err error) bool {
	for _, known := range []error{errPointerForward, errRDataLen, errMisplacedOPT, errShortName, errBadOption} {
		if errors.Is(err, known) {
			return true
		}
	}
	return false
}

// hasEmptyUpdateRecord reports whether m holds a record of class ANY or
// NONE without data, as RFC 2136 UPDATE messages do; dnsmessage refuses
// those for types whose data has a fixed form.
func hasEmptyUpdateRecord(m *Message) bool {
	for _, sec := range [][]RR{m.Answers, m.Authorities, m.Additionals} {
		for _, rr := range sec {
			if u, ok := rr.Data.(*Unknown); ok && len(u.Data) == 0 && (rr.Class == ClassANY || rr.Class == ClassNONE) {
				return true
			}
		}
	}
	return false
}

// theyAreStricter lists where dnsmessage refuses what this package accepts:
// the data of SVCB and HTTPS records, which it parses and we carry as
// opaque data (RFC 3597), and labels with a dot in them, which its text
// form of names cannot hold and ours escapes (\.).
func theyAreStricter(err error) bool {
	s := err.Error()
	return strings.Contains(s, "HTTPS record") || strings.Contains(s, "SVCB record") ||
		strings.Contains(s, "invalid dns name")
}
