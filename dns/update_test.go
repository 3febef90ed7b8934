package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// comTLD is the .com zone before Network Utopia registers.
const comTLD = `$TTL 172800
@	SOA	a.gtld-servers.net. nstld.verisign-grs.com. 100 1800 900 604800 86400
@	NS	a.gtld-servers.net.
amazon	NS	pdns1.ultradns.net.
`

// startPrimary serves the zone text of origin from a Primary, saving
// each change to dir/origin.zone.
func startPrimary(t testing.TB, origin, text string, configure func(*Primary)) (*Primary, string, string) {
	t.Helper()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startPrimaryOn(t, pc, ln, origin, text, configure)
}

// startPrimaryOn is startPrimary on sockets already open, so that peers
// can be told its address before it starts.
func startPrimaryOn(t testing.TB, pc net.PacketConn, ln net.Listener, origin, text string, configure func(*Primary)) (*Primary, string, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, origin+".zone")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(file)
	z, err := ReadZone(ZoneFile{Name: file, Origin: MustParseName(origin)}, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPrimary(z)
	if err != nil {
		t.Fatal(err)
	}
	p.Save = func(z *Zone) error { return WriteZoneFile(file, z) }
	if configure != nil {
		configure(p)
	}
	srv := &Server{Handler: p, Workers: 2}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	t.Cleanup(func() { srv.Close(); <-done; p.Close() })
	return p, pc.LocalAddr().String(), file
}

func rr(t testing.TB, line string) RR {
	t.Helper()
	rrs, err := ZoneFile{Name: "test"}.Parse(strings.NewReader(line + "\n"))
	if err != nil || len(rrs) != 1 {
		t.Fatalf("%q: %v", line, err)
	}
	return rrs[0]
}

func updateMsg(zone string, pre, up []RR) *Message {
	return &Message{
		Header:      Header{Opcode: OpcodeUpdate},
		Questions:   []Question{{Name: MustParseName(zone), Type: TypeSOA, Class: ClassINET}},
		Answers:     pre,
		Authorities: up,
	}
}

func serial(z *Zone) uint32 { return z.SOA.Data.(*SOA).Serial }

// TestUpdateNetworkUtopia is the slides' registration: the registrar
// inserts networkutopia.com's NS record and the glue A record of
// dns1.networkutopia.com into .com, on the prerequisite that the name is
// not yet in use.
func TestUpdateNetworkUtopia(t *testing.T) {
	p, addr, file := startPrimary(t, "com", comTLD, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	notInUse := RR{Name: MustParseName("networkutopia.com"), Class: ClassNONE, Data: &Unknown{T: TypeANY}}
	register := []RR{
		rr(t, "networkutopia.com. 172800 IN NS dns1.networkutopia.com."),
		rr(t, "dns1.networkutopia.com. 172800 IN A 212.212.212.1"),
	}
	var c Client
	r, err := c.Exchange(ctx, addr, updateMsg("com", []RR{notInUse}, register))
	if err != nil || r.RCode != RCodeSuccess || r.Opcode != OpcodeUpdate {
		t.Fatalf("update: %v %v", r, err)
	}
	if got := serial(p.Zone(MustParseName("com"))); got != 101 {
		t.Errorf("serial %d, want 101", got)
	}
	// The .com server now refers to dns1.networkutopia.com, with glue.
	ref, err := c.Exchange(ctx, addr, NewQuery(MustParseName("www.networkutopia.com"), TypeA))
	if err != nil || len(ref.Authorities) != 1 || len(ref.Additionals) != 1 || ref.Additionals[0].Data.String() != "212.212.212.1" {
		t.Fatalf("referral after the update: %v %v", ref, err)
	}
	// Written back to the zone file.
	f, _ := os.Open(file)
	z, err := ReadZone(ZoneFile{Name: file, Origin: MustParseName("com")}, f)
	f.Close()
	if err != nil || serial(z) != 101 || len(z.Records()) != 5 {
		t.Fatalf("file after the update: %v %v", z, err)
	}
	// Registering again: the name is in use now.
	r, err = c.Exchange(ctx, addr, updateMsg("com", []RR{notInUse}, register))
	if err != nil || r.RCode != RCodeYXDomain {
		t.Fatalf("second registration: %v %v", r.RCode, err)
	}
	if got := serial(p.Zone(MustParseName("com"))); got != 101 {
		t.Errorf("serial %d after a refused update", got)
	}
}

func TestUpdateRules(t *testing.T) {
	p, addr, _ := startPrimary(t, "networkutopia.com", `$TTL 3600
@	SOA	dns1 hostmaster 7 3600 900 604800 300
@	NS	dns1
@	MX	10 mail
dns1	A	212.212.212.1
www	A	212.212.212.80
web	CNAME	www
`, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Client
	any := func(name string, t Type) RR {
		return RR{Name: MustParseName(name), Class: ClassANY, Data: &Unknown{T: t}}
	}
	none := func(name string, t Type) RR {
		return RR{Name: MustParseName(name), Class: ClassNONE, Data: &Unknown{T: t}}
	}
	del := func(line string) RR { r := rr(t, line); r.Class, r.TTL = ClassNONE, 0; return r }
	withTTL0 := func(line string) RR { r := rr(t, line); r.TTL = 0; return r }
	for _, c2 := range []struct {
		name    string
		zone    string
		pre, up []RR
		rcode   RCode
		serial  uint32
	}{
		{"rrset exists", "networkutopia.com", []RR{any("www.networkutopia.com", TypeA)}, []RR{rr(t, "www.networkutopia.com. 3600 IN A 212.212.212.81")}, RCodeSuccess, 8},
		{"rrset missing", "networkutopia.com", []RR{any("ftp.networkutopia.com", TypeA)}, []RR{rr(t, "x.networkutopia.com. 3600 IN A 1.2.3.4")}, RCodeNXRRSet, 8},
		{"name in use", "networkutopia.com", []RR{any("nosuch.networkutopia.com", TypeANY)}, nil, RCodeNameError, 8},
		{"rrset must not exist", "networkutopia.com", []RR{none("www.networkutopia.com", TypeA)}, nil, RCodeYXRRSet, 8},
		{"value-dependent", "networkutopia.com", []RR{withTTL0("networkutopia.com. 0 IN MX 10 mail.networkutopia.com.")}, []RR{any("web.networkutopia.com", TypeCNAME)}, RCodeSuccess, 9},
		{"value-dependent mismatch", "networkutopia.com", []RR{withTTL0("networkutopia.com. 0 IN MX 20 mail.networkutopia.com.")}, nil, RCodeNXRRSet, 9},
		{"delete one record", "networkutopia.com", nil, []RR{del("www.networkutopia.com. 3600 IN A 212.212.212.80")}, RCodeSuccess, 10},
		{"last apex NS stays", "networkutopia.com", nil, []RR{del("networkutopia.com. 3600 IN NS dns1.networkutopia.com.")}, RCodeSuccess, 10},
		{"out of zone", "networkutopia.com", nil, []RR{rr(t, "www.amazon.com. 60 IN A 6.6.6.6")}, RCodeNotZone, 10},
		{"not our zone", "amazon.com", nil, nil, RCodeNotAuth, 10},
		{"prerequisite with TTL", "networkutopia.com", []RR{rr(t, "www.networkutopia.com. 5 IN A 212.212.212.81")}, nil, RCodeFormatError, 10},
		{"nothing changes", "networkutopia.com", nil, []RR{rr(t, "www.networkutopia.com. 3600 IN A 212.212.212.81")}, RCodeSuccess, 10},
	} {
		r, err := c.Exchange(ctx, addr, updateMsg(c2.zone, c2.pre, c2.up))
		if err != nil {
			t.Fatalf("%s: %v", c2.name, err)
		}
		if r.RCode != c2.rcode {
			t.Errorf("%s: %v, want %v", c2.name, r.RCode, c2.rcode)
		}
		if got := serial(p.Zone(MustParseName("networkutopia.com"))); got != c2.serial {
			t.Errorf("%s: serial %d, want %d", c2.name, got, c2.serial)
		}
	}
	z := p.Zone(MustParseName("networkutopia.com"))
	if n := z.nodes[MustParseName("web.networkutopia.com")]; n != nil && n.get(TypeCNAME) != nil {
		t.Error("CNAME not deleted")
	}
	if rrs := z.nodes[MustParseName("www.networkutopia.com")].get(TypeA); len(rrs) != 1 || rrs[0].Data.String() != "212.212.212.81" {
		t.Errorf("www after the updates: %v", rrs)
	}
}

func TestUpdateRefusedFromElsewhere(t *testing.T) {
	_, addr, _ := startPrimary(t, "com", comTLD, func(p *Primary) {
		p.AllowUpdate = func(a netip.Addr, _ Name) bool { return a == netip.MustParseAddr("192.0.2.1") }
		p.AllowTransfer = func(netip.Addr, Name) bool { return false }
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Client
	r, err := c.Exchange(ctx, addr, updateMsg("com", nil, []RR{rr(t, "x.com. 60 IN A 1.2.3.4")}))
	if err != nil || r.RCode != RCodeRefused {
		t.Errorf("update from a stranger: %v %v", r, err)
	}
	r, err = c.ExchangeTCP(ctx, addr, NewQuery(MustParseName("com"), TypeAXFR))
	if err != nil || r.RCode != RCodeRefused {
		t.Errorf("transfer to a stranger: %v %v", r, err)
	}
}

func TestAXFR(t *testing.T) {
	_, addr, _ := startPrimary(t, "com", comTLD, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Client
	r, err := c.ExchangeTCP(ctx, addr, NewQuery(MustParseName("com"), TypeAXFR))
	if err != nil || r.RCode != RCodeSuccess || len(r.Answers) != 4 {
		t.Fatalf("AXFR: %v %v", r, err)
	}
	if r.Answers[0].Type() != TypeSOA || r.Answers[3].Type() != TypeSOA {
		t.Errorf("AXFR not framed by the SOA: %v", r.Answers)
	}
	r, err = c.Exchange(ctx, addr, NewQuery(MustParseName("com"), TypeAXFR))
	if err != nil || r.RCode != RCodeRefused {
		t.Errorf("AXFR over UDP: %v %v", r, err)
	}
}

// TestInteropNsupdate: BIND's nsupdate and Knot's knsupdate send the
// registration; our primary applies it.
func TestInteropNsupdate(t *testing.T) {
	for _, tool := range []struct{ bin, pkg string }{{"nsupdate", "bind9-dnsutils"}, {"knsupdate", "knot-dnsutils"}} {
		t.Run(tool.bin, func(t *testing.T) {
			bin := sockettest.Need(t, tool.bin, tool.pkg)
			p, addr, file := startPrimary(t, "com", comTLD, nil)
			host, port, _ := net.SplitHostPort(addr)
			script := "server " + host + " " + port + "\nzone com.\n" +
				"prereq nxdomain networkutopia.com.\n" +
				"update add networkutopia.com. 172800 NS dns1.networkutopia.com.\n" +
				"update add dns1.networkutopia.com. 172800 A 212.212.212.1\nsend\n"
			cmd := exec.Command(bin)
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", tool.bin, err, out)
			}
			if got := serial(p.Zone(MustParseName("com"))); got != 101 {
				t.Errorf("serial %d, want 101", got)
			}
			text, _ := os.ReadFile(file)
			if !strings.Contains(string(text), "dns1.networkutopia.com.\t172800\tIN\tA\t212.212.212.1") {
				t.Errorf("zone file:\n%s", text)
			}
			// The prerequisite fails the second time: nsupdate reports it.
			cmd = exec.Command(bin)
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("%s: second registration succeeded:\n%s", tool.bin, out)
			}
		})
	}
}

// TestAXFRSeveralMessages transfers a zone too big for one message: the
// primary splits it (RFC 5936 §2.2), Transfer and dig put it together.
func TestAXFRSeveralMessages(t *testing.T) {
	var b strings.Builder
	b.WriteString(comTLD)
	for i := range 3000 {
		fmt.Fprintf(&b, "domain%d NS ns%d.domain%d\nns%d.domain%d A 192.0.2.%d\n", i, i, i, i, i, i%250)
	}
	_, addr, _ := startPrimary(t, "com", b.String(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rrs, err := Transfer(ctx, &Client{}, addr, MustParseName("com"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 + 2*3000; len(rrs) != want {
		t.Fatalf("%d records, want %d", len(rrs), want)
	}
	dig := sockettest.Need(t, "dig", "bind9-dnsutils")
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(dig, "@"+host, "-p", port, "+tries=1", "com", "AXFR").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "XFR size: 6004 records") {
		t.Errorf("dig AXFR:\n%s", out[max(0, len(out)-400):])
	}
}

// TestPrimaryCloseCancelsNotify: a secondary that never answers holds a
// NOTIFY under way; Close cancels it (rather than letting it run out its
// own timeout) and returns only once its goroutine is done.
func TestPrimaryCloseCancelsNotify(t *testing.T) {
	dialled := make(chan struct{}, 3)
	ended := make(chan error, 3) // one per attempt
	p, addr, _ := startPrimary(t, "com", comTLD, func(p *Primary) {
		p.Notify = []string{"127.0.0.1:9"}
		p.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialled <- struct{}{}
			<-ctx.Done() // a secondary that never answers
			ended <- context.Cause(ctx)
			return nil, ctx.Err()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Client
	r, err := c.Exchange(ctx, addr, updateMsg("com", nil, []RR{rr(t, "networkutopia.com. 172800 IN NS dns1.networkutopia.com.")}))
	if err != nil || r.RCode != RCodeSuccess {
		t.Fatalf("update: %v %v", r, err)
	}
	<-dialled
	p.Close()
	close(ended) // a goroutine still running would panic sending on it
	var last error
	for err := range ended {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("the NOTIFY ended by %v, want Close's cancellation", last)
	}
}
