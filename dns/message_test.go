package dns

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/dns/dnsmessage"
)

func mustName(t testing.TB, s string) Name {
	t.Helper()
	n, err := ParseName(s)
	if err != nil {
		t.Fatalf("ParseName(%q): %v", s, err)
	}
	return n
}

func TestNameParseAndPrint(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"www.networkutopia.com", "www.networkutopia.com."},
		{"WWW.NetworkUtopia.com.", "WWW.NetworkUtopia.com."},
		{".", "."},
		{`a\.b.c`, `a\.b.c.`},
		{`sp\032ace.x`, `sp\032ace.x.`},
		{`q\"x.y`, `q\"x.y.`},
		{`\065bc.x`, `Abc.x.`},
	} {
		n, err := ParseName(tc.in)
		if err != nil {
			t.Errorf("ParseName(%q): %v", tc.in, err)
			continue
		}
		if got := n.String(); got != tc.out {
			t.Errorf("ParseName(%q).String() = %q, want %q", tc.in, got, tc.out)
		}
	}
	long := strings.Repeat("a", 64)
	for _, bad := range []string{"", "a..b", long + ".com", strings.Repeat("abcdefghi.", 26), `a\`, `a\25`, `a\256.b`} {
		if _, err := ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) succeeded, want an error", bad)
		}
	}
	// 63-octet labels and a 255-octet name are the limits, allowed.
	max := strings.Repeat(strings.Repeat("x", 63)+".", 3) + strings.Repeat("y", 61) + "."
	n, err := ParseName(max)
	if err != nil || n.WireLen() != 255 {
		t.Errorf("ParseName(255-octet name) = %d octets, %v", n.WireLen(), err)
	}
}

func TestNameCompare(t *testing.T) {
	a, b := mustName(t, "WWW.networkutopia.COM"), mustName(t, "www.NetworkUtopia.com")
	if !a.Equal(b) || a == b || a.Canonical() != b.Canonical() {
		t.Errorf("case-insensitive comparison failed: %v %v", a, b)
	}
	if a.String() != "WWW.networkutopia.COM." {
		t.Errorf("case not preserved: %s", a)
	}
	zone := mustName(t, "networkutopia.com")
	if !a.IsSubdomainOf(zone) || zone.IsSubdomainOf(a) || !a.IsSubdomainOf(Name{}) {
		t.Error("IsSubdomainOf wrong")
	}
	if mustName(t, "xnetworkutopia.com").IsSubdomainOf(zone) {
		t.Error("xnetworkutopia.com is not below networkutopia.com")
	}
	if got := a.Parent().String(); got != "networkutopia.COM." {
		t.Errorf("Parent = %s", got)
	}
	if a.Labels() != 3 || a.FirstLabel() != "WWW" {
		t.Errorf("Labels %d FirstLabel %q", a.Labels(), a.FirstLabel())
	}
}

func sampleMessage(t testing.TB) *Message {
	nu := mustName(t, "networkutopia.com")
	www := mustName(t, "www.networkutopia.com")
	m := &Message{
		Header: Header{ID: 4242, Response: true, Authoritative: true, RecursionDesired: true,
			AuthenticData: true, CheckingDisabled: true, Opcode: OpcodeQuery},
		Questions: []Question{{www, TypeA, ClassINET}},
		Answers: []RR{
			{www, ClassINET, 3600, &A{netip.MustParseAddr("212.212.212.80")}},
			{www, ClassINET, 3600, &AAAA{netip.MustParseAddr("2001:db8::80")}},
		},
		Authorities: []RR{
			{nu, ClassINET, 3600, &NS{mustName(t, "dns1.networkutopia.com")}},
			{nu, ClassINET, 300, &SOA{mustName(t, "dns1.networkutopia.com"), mustName(t, "hostmaster.networkutopia.com"), 1, 2, 3, 4, 5}},
		},
		Additionals: []RR{
			{nu, ClassINET, 60, &MX{10, mustName(t, "mail.networkutopia.com")}},
			{nu, ClassINET, 60, &TXT{[]string{"v=spf1 mx -all", ""}}},
			{mustName(t, "_sip._tcp.networkutopia.com"), ClassINET, 60, &SRV{10, 60, 5060, mustName(t, "sip.networkutopia.com")}},
			{nu, ClassINET, 60, &CAA{0, "issue", "letsencrypt.org"}},
			{mustName(t, "1.212.212.212.in-addr.arpa"), ClassINET, 60, &PTR{mustName(t, "dns1.networkutopia.com")}},
			{mustName(t, "web.networkutopia.com"), ClassINET, 60, &CNAME{www}},
			{mustName(t, "opaque.networkutopia.com"), ClassINET, 60, &Unknown{666, []byte{10, 0, 0, 1}}},
		},
		EDNS: &EDNS{UDPSize: 1232, DNSSECOK: true, Options: []Option{{10, []byte{1, 2, 3, 4, 5, 6, 7, 8}}}},
	}
	m.RCode = RCodeBadVersion
	return m
}

var cmpOpts = cmp.Options{cmpopts.EquateEmpty(), cmp.Comparer(func(a, b Name) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })}

func TestPackUnpackRoundTrip(t *testing.T) {
	m := sampleMessage(t)
	b, err := m.AppendPack([]byte{0xAA, 0xBB}) // a prefix, as TCP has
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xAA || b[1] != 0xBB {
		t.Fatal("prefix overwritten")
	}
	var got Message
	if err := got.Unpack(b[2:]); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, &got, cmpOpts); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Compression made it shorter than the names written out in full.
	var plain int
	for _, rr := range append(append(m.Answers, m.Authorities...), m.Additionals...) {
		plain += rr.Name.WireLen()
	}
	if len(b)-2 >= plain+200 {
		t.Errorf("packed %d octets: names do not seem compressed", len(b)-2)
	}
}

func TestHeaderFlagsEachBit(t *testing.T) {
	for bit := 4; bit < 16; bit++ {
		var h Header
		h.setFlags(1 << bit)
		if h.flags() != 1<<bit {
			t.Errorf("bit %d: flags() = %#x", bit, h.flags())
		}
	}
	h := Header{Opcode: OpcodeUpdate, RCode: RCodeRefused}
	var back Header
	back.setFlags(h.flags())
	if back != h {
		t.Errorf("got %+v want %+v", back, h)
	}
}

// TestAgainstDNSMessage packs with x/net's dnsmessage and parses with ours,
// and the other way round.
func TestAgainstDNSMessage(t *testing.T) {
	b, err := sampleMessage(t).Pack()
	if err != nil {
		t.Fatal(err)
	}
	var p dnsmessage.Parser
	h, err := p.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.ID != 4242 || !h.Authoritative || !h.Response {
		t.Errorf("dnsmessage header %+v", h)
	}
	if _, err := p.AllQuestions(); err != nil {
		t.Fatal(err)
	}
	all, err := p.AllAnswers()
	if err != nil || len(all) != 2 {
		t.Fatalf("dnsmessage answers %v %v", all, err)
	}
	if a := all[0].Body.(*dnsmessage.AResource).A; a != [4]byte{212, 212, 212, 80} {
		t.Errorf("A = %v", a)
	}
	auth, err := p.AllAuthorities()
	if err != nil || len(auth) != 2 {
		t.Fatalf("dnsmessage authorities %v %v", auth, err)
	}
	if got := auth[1].Body.(*dnsmessage.SOAResource).MBox.String(); got != "hostmaster.networkutopia.com." {
		t.Errorf("SOA mbox %s", got)
	}
	add, err := p.AllAdditionals()
	if err != nil || len(add) != 8 {
		t.Fatalf("dnsmessage additionals %d %v", len(add), err)
	}

	// dnsmessage builds, we parse.
	bl := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true, RCode: dnsmessage.RCodeNameError})
	bl.EnableCompression()
	bl.StartQuestions()
	qn := dnsmessage.MustNewName("nothere.networkutopia.com.")
	bl.Question(dnsmessage.Question{Name: qn, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	bl.StartAuthorities()
	bl.SOAResource(dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("networkutopia.com."), Class: dnsmessage.ClassINET, TTL: 300},
		dnsmessage.SOAResource{NS: dnsmessage.MustNewName("dns1.networkutopia.com."), MBox: dnsmessage.MustNewName("hostmaster.networkutopia.com."), Serial: 9, MinTTL: 300})
	wire, err := bl.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := m.Unpack(wire); err != nil {
		t.Fatal(err)
	}
	if m.RCode != RCodeNameError || m.ID != 7 || len(m.Authorities) != 1 || m.Authorities[0].Data.(*SOA).Serial != 9 {
		t.Errorf("parsed %v", &m)
	}
}

func TestUnpackRejects(t *testing.T) {
	query := func(name []byte) []byte {
		b := []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
		b = append(b, name...)
		return append(b, 0, 1, 0, 1)
	}
	label64 := append([]byte{64}, bytes.Repeat([]byte{'a'}, 64)...)
	long := bytes.Repeat(append([]byte{50}, bytes.Repeat([]byte{'b'}, 50)...), 6)
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"short header", []byte{0, 1, 0}},
		{"pointer to itself", query([]byte{0xC0, 12})},
		{"pointer forward", query([]byte{0xC0, 20, 0, 0, 0, 0, 0, 0, 0})},
		{"pointer loop", append([]byte{0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 0xC0, 18, 0, 1, 0, 1, 1, 'b', 0xC0, 12}, 0, 1, 0, 1)},
		{"64-octet label", query(append(label64, 0))},
		{"name over 255", query(append(long, 0))},
		{"reserved label type", query([]byte{0x40, 0})},
		{"question cut", []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w'}},
		{"count larger than data", []byte{0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1}},
		{"rdata longer than message", append(query([]byte{0}), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2)},
	} {
		var m Message
		err := m.Unpack(tc.msg)
		if tc.name == "rdata longer than message" {
			tc.msg[7] = 1 // one answer
			err = m.Unpack(tc.msg)
		}
		if err == nil {
			t.Errorf("%s: Unpack succeeded", tc.name)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v does not match ErrMalformed", tc.name, err)
		}
	}
}

func TestParserHeaderQuestionAllocatesNothing(t *testing.T) {
	b, err := NewQuery(mustName(t, "www.networkutopia.com"), TypeA).Pack()
	if err != nil {
		t.Fatal(err)
	}
	var p Parser
	allocs := testing.AllocsPerRun(100, func() {
		h, err := p.Start(b)
		if err != nil || h.Response {
			t.Fatal(err)
		}
		q, ok, err := p.Question()
		if err != nil || !ok || q.Type != TypeA {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("header+question parse: %v allocations, want 0", allocs)
	}
}

func TestTruncation(t *testing.T) {
	m := sampleMessage(t)
	m.RCode = 0
	for i := 0; i < 40; i++ {
		m.Answers = append(m.Answers, m.Answers[0])
	}
	b, truncated, err := m.appendPack(nil, 512, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !truncated || len(b) > 512 {
		t.Fatalf("truncated=%v len=%d", truncated, len(b))
	}
	var got Message
	if err := got.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if !got.Truncated || len(got.Answers) != 0 || len(got.Questions) != 1 || got.EDNS == nil {
		t.Errorf("truncated reply: %v", &got)
	}
	// Only additional records over the limit: dropped without TC.
	m = sampleMessage(t)
	m.RCode = 0
	b, truncated, err = m.appendPack(nil, 300, nil)
	if err != nil || truncated {
		t.Fatal(truncated, err)
	}
	if err := got.Unpack(b); err != nil || got.Truncated || len(got.Answers) != 2 || len(got.Additionals) >= 7 || len(b) > 300 {
		t.Errorf("len %d, %v, err %v", len(b), &got, err)
	}
}

func TestPresentation(t *testing.T) {
	m := sampleMessage(t)
	want := []string{
		"www.networkutopia.com.\t3600\tIN\tA\t212.212.212.80",
		"networkutopia.com.\t300\tIN\tSOA\tdns1.networkutopia.com. hostmaster.networkutopia.com. 1 2 3 4 5",
		"networkutopia.com.\t60\tIN\tMX\t10 mail.networkutopia.com.",
		`networkutopia.com.` + "\t60\tIN\tTXT\t" + `"v=spf1 mx -all" ""`,
		"_sip._tcp.networkutopia.com.\t60\tIN\tSRV\t10 60 5060 sip.networkutopia.com.",
		`networkutopia.com.` + "\t60\tIN\tCAA\t" + `0 issue "letsencrypt.org"`,
		"opaque.networkutopia.com.\t60\tIN\tTYPE666\t\\# 4 0a000001",
	}
	got := []string{m.Answers[0].String(), m.Authorities[1].String(), m.Additionals[0].String(), m.Additionals[1].String(),
		m.Additionals[2].String(), m.Additionals[3].String(), m.Additionals[6].String()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("presentation (-want +got):\n%s", diff)
	}
	if s := m.String(); !strings.Contains(s, "status: BADVERS, id: 4242") || !strings.Contains(s, ";; flags: qr aa rd ad cd;") {
		t.Errorf("dig-style print:\n%s", s)
	}
}

// An UPDATE message (RFC 2136) deletes an RRset with a record of class ANY
// and no data; such records parse and pack unchanged.
func TestUpdateRecordsWithoutData(t *testing.T) {
	nu := mustName(t, "networkutopia.com")
	m := &Message{
		Header:      Header{ID: 1, Opcode: OpcodeUpdate},
		Questions:   []Question{{nu, TypeSOA, ClassINET}}, // the zone section
		Authorities: []RR{{mustName(t, "www.networkutopia.com"), ClassANY, 0, &Unknown{T: TypeA}}},
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var got Message
	if err := got.Unpack(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, &got, cmpOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s := got.Authorities[0].String(); s != "www.networkutopia.com.\t0\tANY\tA\t\\# 0" {
		t.Errorf("String() = %q", s)
	}
}

// TestMessageStringOptions: the OPT pseudosection names the options it
// knows as ISC dig does, and shows others by code.
func TestMessageStringOptions(t *testing.T) {
	m := NewQuery(MustParseName("www.kingcdn.com"), TypeA)
	bob := ClientSubnet{Source: netip.MustParsePrefix("10.1.2.0/24")}
	cookie := Cookie{Client: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}
	m.EDNS = &EDNS{UDPSize: 1232, Options: []Option{bob.Option(), cookie.Option(), {Code: 65001, Data: []byte{0xab}}}}
	got := m.String()
	for _, want := range []string{
		"; CLIENT-SUBNET: 10.1.2.0/24/0\n",
		"; COOKIE: 0102030405060708\n",
		"; OPTION 65001: ab\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("String lacks %q:\n%s", want, got)
		}
	}
}

// TestCAATags: a zone file's CAA tag must be letters and digits (RFC 8659);
// a CAA with another tag, as the wire may bring, is printed in the generic
// form, which reads back as the same record.
func TestCAATags(t *testing.T) {
	zf := ZoneFile{Name: "test", Origin: MustParseName("networkutopia.com")}
	if _, err := zf.Parse(strings.NewReader(`@ 60 IN CAA 0 " " "letsencrypt.org"` + "\n")); err == nil {
		t.Error("a CAA tag with a space was accepted")
	}
	odd := RR{Name: MustParseName("networkutopia.com"), Class: ClassINET, TTL: 60, Data: &CAA{0, "is sue", "letsencrypt.org"}}
	text := odd.String()
	if !strings.Contains(text, `\# `) {
		t.Errorf("odd tag printed as %q, want the generic form", text)
	}
	rrs, err := zf.Parse(strings.NewReader(text + "\n"))
	if err != nil || len(rrs) != 1 {
		t.Fatalf("the generic form %q does not read back: %v", text, err)
	}
	if got, ok := rrs[0].Data.(*CAA); !ok || *got != *odd.Data.(*CAA) {
		t.Errorf("read back %#v, want %#v", rrs[0].Data, odd.Data)
	}
}
