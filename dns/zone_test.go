package dns

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var origin = MustParseName("networkutopia.com")

func readTestZone(t testing.TB) *Zone {
	t.Helper()
	f, err := os.Open("testdata/networkutopia.com.zone")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := ReadZone(ZoneFile{Name: f.Name(), Origin: origin}, f)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestZoneFileParse(t *testing.T) {
	z := readTestZone(t)
	var got []string
	for _, rr := range z.Records() {
		got = append(got, rr.String())
	}
	want := []string{
		"networkutopia.com.\t3600\tIN\tSOA\tdns1.networkutopia.com. hostmaster.networkutopia.com. 2026112501 3600 900 604800 300",
		"networkutopia.com.\t3600\tIN\tNS\tdns1.networkutopia.com.",
		"networkutopia.com.\t3600\tIN\tNS\tdns2.networkutopia.com.",
		"networkutopia.com.\t3600\tIN\tMX\t10 mail.networkutopia.com.",
		"networkutopia.com.\t3600\tIN\tMX\t20 mail2.networkutopia.com.",
		"networkutopia.com.\t3600\tIN\tTXT\t\"v=spf1 mx -all\"",
		"dns1.networkutopia.com.\t3600\tIN\tA\t212.212.212.1",
		"dns2.networkutopia.com.\t3600\tIN\tA\t212.212.212.2",
		"mail.networkutopia.com.\t3600\tIN\tA\t212.212.212.25",
		"mail2.networkutopia.com.\t86400\tIN\tA\t212.212.212.26",
		"mail2.networkutopia.com.\t3600\tIN\tAAAA\t2001:db8::26",
		"www.networkutopia.com.\t3600\tIN\tA\t212.212.212.80",
		"www.networkutopia.com.\t3600\tIN\tA\t212.212.212.81",
		"www.networkutopia.com.\t3600\tIN\tA\t212.212.212.82",
		"www.networkutopia.com.\t3600\tIN\tAAAA\t2001:db8::80",
		"web.networkutopia.com.\t3600\tIN\tCNAME\twww.networkutopia.com.",
		"ftp.networkutopia.com.\t3600\tIN\tCNAME\tfiles.example.net.",
		"_sip._tcp.networkutopia.com.\t3600\tIN\tSRV\t10 60 5060 sip.networkutopia.com.",
		"sip.networkutopia.com.\t3600\tIN\tA\t212.212.212.50",
		"networkutopia.com.\t3600\tIN\tCAA\t0 issue \"letsencrypt.org\"",
		"opaque.networkutopia.com.\t3600\tIN\tTYPE666\t\\# 4 0a000001",
		"*.users.networkutopia.com.\t3600\tIN\tA\t212.212.212.99",
		"lab.networkutopia.com.\t3600\tIN\tNS\tns.lab.networkutopia.com.",
		"ns.lab.networkutopia.com.\t3600\tIN\tA\t212.212.213.53",
		"notes.networkutopia.com.\t3600\tIN\tTXT\t\"a \\\"quoted\\\" string\" \"plain escaped\" \"semi;colon\"",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestZoneWriteReadBack(t *testing.T) {
	z := readTestZone(t)
	var buf bytes.Buffer
	if err := WriteZone(&buf, origin, z.Records()); err != nil {
		t.Fatal(err)
	}
	back, err := ZoneFile{Name: "written", Origin: origin}.Parse(&buf)
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if diff := cmp.Diff(z.Records(), back, cmpOpts); diff != "" {
		t.Errorf("write then read (-want +got):\n%s", diff)
	}
}

func TestZoneFileSyntax(t *testing.T) {
	src := `$ORIGIN example.
$TTL 300
@ SOA ns root 1 2 3 4 5
a 60 IN A 192.0.2.1     ; TTL then class
b IN 70 A 192.0.2.2     ; class then TTL
  A 192.0.2.3           ; owner omitted: b again
c TXT ( "one"
        "two" )         ; parentheses join lines
$ORIGIN sub.example.
d CNAME @
e MX 5 mx.example.
f TYPE1 \# 4 c0000204   ; RFC 3597 form of a known type
`
	rrs, err := ZoneFile{Name: "t.zone"}.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rr := range rrs {
		got = append(got, rr.String())
	}
	want := []string{
		"example.\t300\tIN\tSOA\tns.example. root.example. 1 2 3 4 5",
		"a.example.\t60\tIN\tA\t192.0.2.1",
		"b.example.\t70\tIN\tA\t192.0.2.2",
		"b.example.\t70\tIN\tA\t192.0.2.3", // an RRset has one TTL (RFC 2181 §5.2)
		"c.example.\t300\tIN\tTXT\t\"one\" \"two\"",
		"d.sub.example.\t300\tIN\tCNAME\tsub.example.",
		"e.sub.example.\t300\tIN\tMX\t5 mx.example.",
		"f.sub.example.\t300\tIN\tA\t192.0.2.4",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestZoneFileErrorsHaveLines(t *testing.T) {
	for _, tc := range []struct {
		src  string
		line int
	}{
		{"$TTL 60\n@ SOA a b 1 2 3 4 5\nx A 1.2.3\n", 3},
		{"$TTL 60\n\n\nx BOGUS 1\n", 4},
		{"$TTL 60\nx TXT \"open\n", 2},
		{"$TTL 60\nx A ( 1.2.3.4\n", 2},
		{"$TTL 60\n$INCLUDE other\n", 2},
		{"x A 1.2.3.4\n", 1},
		{"$TTL 60\n" + strings.Repeat("a", 64) + " A 1.2.3.4\n", 2},
		{"$TTL 60\nx MX 10\n", 2},
		{"$TTL 60\nx TYPE99 \\# 3 0102\n", 2},
	} {
		_, err := ZoneFile{Name: "bad.zone", Origin: origin}.Parse(strings.NewReader(tc.src))
		var ze *ZoneError
		if !errors.As(err, &ze) {
			t.Errorf("%q: err %v, want a *ZoneError", tc.src, err)
			continue
		}
		if ze.File != "bad.zone" || ze.Line != tc.line {
			t.Errorf("%q: error at %s:%d, want line %d (%v)", tc.src, ze.File, ze.Line, tc.line, err)
		}
	}
}

func TestZoneFileIncludeConfined(t *testing.T) {
	fsys := fstest.MapFS{
		"zones/main.zone":  {Data: []byte("$TTL 60\n@ SOA ns root 1 2 3 4 5\n$INCLUDE hosts.zone sub\nafter A 192.0.2.9\n")},
		"zones/hosts.zone": {Data: []byte("www A 192.0.2.1\n$ORIGIN elsewhere.\n$TTL 5\nx A 192.0.2.2\n")},
	}
	f, _ := fsys.Open("zones/main.zone")
	defer f.Close()
	rrs, err := ZoneFile{Name: "zones/main.zone", Origin: origin, Include: fsys}.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rr := range rrs {
		got = append(got, rr.String())
	}
	want := []string{
		"networkutopia.com.\t60\tIN\tSOA\tns.networkutopia.com. root.networkutopia.com. 1 2 3 4 5",
		"www.sub.networkutopia.com.\t60\tIN\tA\t192.0.2.1",
		"x.elsewhere.\t5\tIN\tA\t192.0.2.2",
		"after.networkutopia.com.\t60\tIN\tA\t192.0.2.9", // origin and TTL did not leak out
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A file including itself stops at the depth bound.
	loop := fstest.MapFS{"l.zone": {Data: []byte("$TTL 1\n$INCLUDE l.zone\n")}}
	if _, err := (ZoneFile{Name: "l.zone", Include: loop}).Parse(strings.NewReader("$INCLUDE l.zone\n")); err == nil {
		t.Error("self-inclusion did not fail")
	}
}

func TestNewZoneChecks(t *testing.T) {
	for _, src := range []string{
		"$TTL 1\nwww A 192.0.2.1\n",                                   // no SOA
		"$TTL 1\n@ SOA a b 1 2 3 4 5\n@ SOA a b 1 2 3 4 5\n",          // two
		"$TTL 1\n@ SOA a b 1 2 3 4 5\nwww CNAME x\nwww A 192.0.2.1\n", // CNAME and data
		"$TTL 1\n@ SOA a b 1 2 3 4 5\nwww.example.org. A 192.0.2.1\n", // out of zone
	} {
		if _, err := ReadZone(ZoneFile{Name: "z", Origin: origin}, strings.NewReader(src)); err == nil {
			t.Errorf("zone accepted:\n%s", src)
		}
	}
}

func TestRotation(t *testing.T) {
	rrs := []RR{{TTL: 1}, {TTL: 2}, {TTL: 3}}
	for _, tc := range []struct {
		turn uint64
		want []uint32
	}{{0, []uint32{1, 2, 3}}, {1, []uint32{2, 3, 1}}, {2, []uint32{3, 1, 2}}, {3, []uint32{1, 2, 3}}, {1<<64 - 1, []uint32{1, 2, 3}}} {
		var got []uint32
		for _, rr := range appendRotated(nil, rrs, tc.turn) {
			got = append(got, rr.TTL)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("turn %d (-want +got):\n%s", tc.turn, diff)
		}
	}
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

func TestWildcardEdgeCases(t *testing.T) {
	src := `$TTL 60
@ SOA ns root 1 2 3 4 5
*.a A 192.0.2.1
b.*.e A 192.0.2.2 ; *.e is an empty non-terminal
*.c CNAME a
a TXT "the c wildcard's target has no A"
`
	z, err := ReadZone(ZoneFile{Name: "w", Origin: MustParseName("w.test")}, strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		t     Type
		rcode RCode
		an    []string
	}{
		{"x.a.w.test", TypeA, RCodeSuccess, []string{"x.a.w.test.\t60\tIN\tA\t192.0.2.1"}},
		{"y.x.a.w.test", TypeA, RCodeSuccess, []string{"y.x.a.w.test.\t60\tIN\tA\t192.0.2.1"}},
		{"*.a.w.test", TypeA, RCodeSuccess, []string{"*.a.w.test.\t60\tIN\tA\t192.0.2.1"}},
		{"x.e.w.test", TypeA, RCodeSuccess, nil}, // matches the empty wildcard: NODATA
		{"x.c.w.test", TypeA, RCodeSuccess, []string{"x.c.w.test.\t60\tIN\tCNAME\ta.w.test."}},
		{"x.w.test", TypeA, RCodeNameError, nil},
	} {
		reply := &Message{}
		z.answer(reply, Question{MustParseName(tc.name), tc.t, ClassINET})
		var an []string
		for _, rr := range reply.Answers {
			an = append(an, rr.String())
		}
		if reply.RCode != tc.rcode || !reply.Authoritative {
			t.Errorf("%s: rcode %s aa %v", tc.name, reply.RCode.String(), reply.Authoritative)
		}
		if diff := cmp.Diff(tc.an, an); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if len(reply.Answers) == 0 && (len(reply.Authorities) != 1 || reply.Authorities[0].Type() != TypeSOA) {
			t.Errorf("%s: negative answer without the SOA: %v", tc.name, reply.Authorities)
		}
	}
}
