package dns

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

const utopiaZone = `$TTL 3600
@	SOA	dns1 hostmaster 7 3600 900 604800 300
@	NS	dns1
@	MX	10 mail
dns1	A	212.212.212.1
mail	A	212.212.212.25
www	A	212.212.212.80
`

func serveHandler(t testing.TB, h Handler) string {
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, pc, ln, h)
}

func serveOn(t testing.TB, pc net.PacketConn, ln net.Listener, h Handler) string {
	srv := &Server{Handler: h, Workers: 2}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return pc.LocalAddr().String()
}

// TestSecondaryFollowsPrimary: an UPDATE on the primary makes it send
// NOTIFY; the secondary transfers the new serial and answers from it.
func TestSecondaryFollowsPrimary(t *testing.T) {
	origin := MustParseName("networkutopia.com")
	sec := &Secondary{Origin: origin}
	transferred := make(chan uint32, 4)
	sec.Transferred = func(z *Zone) { transferred <- serial(z) }
	secPC, secLn, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secAddr := secPC.LocalAddr().String()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sec.Primary = pc.LocalAddr().String()
	serveOn(t, secPC, secLn, sec)
	_, primAddr, _ := startPrimaryOn(t, pc, ln, "networkutopia.com", utopiaZone, func(p *Primary) { p.Notify = []string{secAddr} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runDone := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { runDone <- sec.Run(runCtx) }()
	defer func() { stop(); <-runDone }()
	if got := <-transferred; got != 7 {
		t.Fatalf("first transfer: serial %d", got)
	}
	var c Client
	r, err := c.Exchange(ctx, primAddr, updateMsg("networkutopia.com", nil, []RR{rr(t, "www2.networkutopia.com. 3600 IN A 212.212.212.81")}))
	if err != nil || r.RCode != RCodeSuccess {
		t.Fatalf("update: %v %v", r, err)
	}
	select {
	case got := <-transferred:
		if got != 8 {
			t.Fatalf("after NOTIFY: serial %d, want 8", got)
		}
	case <-ctx.Done():
		t.Fatal("no transfer after NOTIFY")
	}
	rrs, err := c.Lookup(ctx, secAddr, MustParseName("www2.networkutopia.com"), TypeA)
	if err != nil || len(rrs) != 1 {
		t.Fatalf("secondary after the update: %v %v", rrs, err)
	}
	// A NOTIFY from anyone but the primary is refused.
	sec2 := &Secondary{Origin: origin, Primary: "192.0.2.1:53"}
	addr2 := serveHandler(t, sec2)
	if err := SendNotify(ctx, &Client{}, addr2, origin, RR{}); err != RCodeRefused {
		t.Errorf("NOTIFY from a stranger: %v", err)
	}
}

// An nsd is NSD running with its files in dir, answering on addr.
type nsd struct {
	*sockettest.Process
	dir, addr string
}

// runNSD starts NSD with the zone stanzas given, on a free port, and
// stops it by PID when the test ends.
func runNSD(t testing.TB, dir, zones string) nsd {
	bin := sockettest.Need(t, "nsd", "nsd")
	port := sockettest.FreePort(t)
	conf := fmt.Sprintf(`server:
  ip-address: 127.0.0.1@%[1]d
  port: %[1]d
  username: ""
  chroot: ""
  zonesdir: "%[2]s"
  database: ""
  zonelistfile: "%[2]s/zone.list"
  xfrdfile: "%[2]s/xfrd.state"
  xfrdir: "%[2]s"
  pidfile: "%[2]s/nsd.pid"
  logfile: "%[2]s/nsd.log"
  server-count: 1
  rrl-ratelimit: 0
  round-robin: no
remote-control:
  control-enable: no
%[3]s`, port, dir, zones)
	cf := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p := sockettest.StartProcess(t, context.Background(), exec.Command(bin, "-d", "-c", cf))
	return nsd{p, dir, fmt.Sprintf("127.0.0.1:%d", port)}
}

// pollSerial asks addr for the zone's SOA until its serial is want,
// bounded in attempts.
func pollSerial(t testing.TB, addr string, zone Name, want uint32) {
	c := Client{Timeout: 300 * time.Millisecond, Attempts: 1}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last any
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		rrs, err := c.Lookup(ctx, addr, zone, TypeSOA)
		cancel()
		if err == nil && len(rrs) == 1 && rrs[0].Data.(*SOA).Serial == want {
			return
		}
		last = fmt.Sprint(rrs, err)
		<-tick.C // the peer is still transferring: ask again
	}
	t.Fatalf("%s never reached serial %d: %v", addr, want, last)
}

// TestInteropNSDSecondary: NSD transfers networkutopia.com from our
// primary, and again when our primary NOTIFYs it after an UPDATE.
func TestInteropNSDSecondary(t *testing.T) {
	dir := t.TempDir()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, pc.LocalAddr().String())
	nsd := runNSD(t, dir, fmt.Sprintf("zone:\n  name: networkutopia.com\n  request-xfr: %s@%s NOKEY\n  allow-notify: 127.0.0.1 NOKEY\n", host, port)).addr
	_, primAddr, _ := startPrimaryOn(t, pc, ln, "networkutopia.com", utopiaZone, func(p *Primary) { p.Notify = []string{nsd} })
	origin := MustParseName("networkutopia.com")
	pollSerial(t, nsd, origin, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Client
	r, err := c.Exchange(ctx, primAddr, updateMsg("networkutopia.com", nil, []RR{rr(t, "www2.networkutopia.com. 3600 IN A 212.212.212.81")}))
	if err != nil || r.RCode != RCodeSuccess {
		t.Fatalf("update: %v %v", r, err)
	}
	pollSerial(t, nsd, origin, 8)
	rrs, err := c.Lookup(ctx, nsd, MustParseName("www2.networkutopia.com"), TypeA)
	if err != nil || len(rrs) != 1 || rrs[0].Data.String() != "212.212.212.81" {
		t.Errorf("NSD after NOTIFY: %v %v", rrs, err)
	}
}

// TestInteropSecondaryOfNSD: our Secondary transfers a zone NSD serves.
func TestInteropSecondaryOfNSD(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "networkutopia.com.zone")
	if err := os.WriteFile(file, []byte("$ORIGIN networkutopia.com.\n"+utopiaZone), 0o644); err != nil {
		t.Fatal(err)
	}
	nsd := runNSD(t, dir, fmt.Sprintf("zone:\n  name: networkutopia.com\n  zonefile: %s\n  provide-xfr: 127.0.0.1 NOKEY\n", file)).addr
	origin := MustParseName("networkutopia.com")
	pollSerial(t, nsd, origin, 7)
	sec := &Secondary{Origin: origin, Primary: nsd}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	did, err := sec.Refresh(ctx)
	if err != nil || !did {
		t.Fatalf("transfer from NSD: %v %v", did, err)
	}
	want, _ := ZoneFile{Origin: origin}.Parse(strings.NewReader(utopiaZone))
	if got := sec.Zone().Records(); len(got) != len(want) {
		t.Errorf("%d records from NSD, want %d: %v", len(got), len(want), got)
	}
	if did, err := sec.Refresh(ctx); err != nil || did {
		t.Errorf("second refresh at the same serial transferred: %v %v", did, err)
	}
}
