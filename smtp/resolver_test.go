package smtp

import (
	"errors"
	"strings"
	"testing"

	"appnet.dev/dns"
)

const testZone = `$ORIGIN hamburger.edu.
$TTL 3600
@	SOA	ns hostmaster 1 3600 900 604800 300
@	NS	ns
@	MX	20 backup
@	MX	10 mail
ns	A	127.0.0.1
mail	A	127.0.0.1
backup	A	127.0.0.2
nomx	A	127.0.0.3
`

// TestDNSResolver asks our own dns server: MX records come back in
// preference order, a name without MX gives the implicit MX, and NXDOMAIN
// is a permanent failure.
func TestDNSResolver(t *testing.T) {
	zone, err := dns.ReadZone(dns.ZoneFile{Name: "z", Origin: dns.MustParseName("hamburger.edu")}, strings.NewReader(testZone))
	if err != nil {
		t.Fatal(err)
	}
	zones, err := dns.NewZones(zone)
	if err != nil {
		t.Fatal(err)
	}
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: zones, Workers: 1}
	done := make(chan error, 1)
	go func() { done <- srv.ServeBoth(pc, ln) }()
	defer func() { srv.Close(); <-done }()

	r := &DNSResolver{Server: ln.Addr().String()}
	ctx := testCtx(t)
	mxs, err := r.LookupMX(ctx, "hamburger.edu")
	if err != nil {
		t.Fatal(err)
	}
	hosts, ok := MailHosts("hamburger.edu", mxs)
	if !ok || strings.Join(hosts, " ") != "mail.hamburger.edu backup.hamburger.edu" {
		t.Errorf("hosts %v from %v", hosts, mxs)
	}
	addrs, err := r.LookupHost(ctx, "backup.hamburger.edu")
	if err != nil || len(addrs) != 1 || addrs[0].String() != "127.0.0.2" {
		t.Errorf("backup: %v %v", addrs, err)
	}
	mxs, err = r.LookupMX(ctx, "nomx.hamburger.edu")
	if err != nil || len(mxs) != 0 {
		t.Errorf("nomx: %v %v", mxs, err)
	}
	if hosts, _ := MailHosts("nomx.hamburger.edu", mxs); len(hosts) != 1 || hosts[0] != "nomx.hamburger.edu" {
		t.Errorf("implicit MX: %v", hosts)
	}
	if _, err := r.LookupMX(ctx, "nobody.hamburger.edu"); !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("NXDOMAIN: %v", err)
	}
}

// TestSMTPUTF8: with SMTPUTF8 an internationalised address is accepted
// (RFC 6531), and the client asks for it when told to.
func TestSMTPUTF8(t *testing.T) {
	rc, mb, _ := hostile(t, nil)
	rc.cmd("EHLO crepes.fr", 250)
	rc.cmd("MAIL FROM:<andré@crêpes.fr> SMTPUTF8 BODY=8BITMIME", 250)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	rc.cmd("DATA", 354)
	rc.cmd("From: andré@crêpes.fr\r\n\r\nSalut\r\n.", 250)
	msgs, _ := mb.Wait(testCtx(t), 1)
	if e := msgs[0].Envelope; !e.UTF8 || !e.Body8Bit || e.From.Local != "andré" {
		t.Errorf("envelope %+v", e)
	}
}
