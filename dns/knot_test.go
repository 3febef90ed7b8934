package dns

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// runKnot starts knotd with the configuration's remote, acl and zone
// sections, on a free port.
func runKnot(t testing.TB, dir, port, sections string) string {
	bin := sockettest.Need(t, "knotd", "knot")
	conf := fmt.Sprintf(`server:
    listen: 127.0.0.1@%[1]s
    rundir: "%[2]s"
database:
    storage: "%[2]s"
log:
  - target: "%[2]s/knot.log"
    any: info
%[3]s`, port, dir, sections)
	cf := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	sockettest.StartProcess(t, context.Background(), exec.Command(bin, "-c", cf))
	return "127.0.0.1:" + port
}

func freeDNSPort(t testing.TB) string {
	return strconv.Itoa(sockettest.FreePort(t))
}

// TestInteropKnotSecondary: Knot transfers networkutopia.com from our
// primary, and again after our NOTIFY.
func TestInteropKnotSecondary(t *testing.T) {
	dir := t.TempDir()
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, pc.LocalAddr().String())
	knot := runKnot(t, dir, freeDNSPort(t), fmt.Sprintf(`remote:
  - id: primary
    address: %s@%s
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
zone:
  - domain: networkutopia.com
    master: primary
    acl: notify_from_primary
    file: "%s/networkutopia.com.zone"
`, host, port, dir))
	_, primAddr, _ := startPrimaryOn(t, pc, ln, "networkutopia.com", utopiaZone, func(p *Primary) { p.Notify = []string{knot} })
	origin := MustParseName("networkutopia.com")
	pollSerial(t, knot, origin, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Client
	r, err := c.Exchange(ctx, primAddr, updateMsg("networkutopia.com", nil, []RR{rr(t, "www2.networkutopia.com. 3600 IN A 212.212.212.81")}))
	if err != nil || r.RCode != RCodeSuccess {
		t.Fatalf("update: %v %v", r, err)
	}
	pollSerial(t, knot, origin, 8)
	rrs, err := c.Lookup(ctx, knot, MustParseName("www2.networkutopia.com"), TypeA)
	if err != nil || len(rrs) != 1 {
		t.Errorf("Knot after NOTIFY: %v %v", rrs, err)
	}
}

// TestInteropSecondaryOfKnot: our Secondary transfers a zone Knot serves.
func TestInteropSecondaryOfKnot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "networkutopia.com.zone")
	if err := os.WriteFile(file, []byte("$ORIGIN networkutopia.com.\n"+utopiaZone), 0o644); err != nil {
		t.Fatal(err)
	}
	knot := runKnot(t, dir, freeDNSPort(t), fmt.Sprintf(`acl:
  - id: transfer
    address: 127.0.0.1
    action: transfer
zone:
  - domain: networkutopia.com
    file: "%s"
    acl: transfer
`, file))
	origin := MustParseName("networkutopia.com")
	pollSerial(t, knot, origin, 7)
	sec := &Secondary{Origin: origin, Primary: knot}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if did, err := sec.Refresh(ctx); err != nil || !did {
		t.Fatalf("transfer from Knot: %v %v", did, err)
	}
	if n := len(sec.Zone().Records()); n != 6 {
		t.Errorf("%d records from Knot, want 6", n)
	}
}
