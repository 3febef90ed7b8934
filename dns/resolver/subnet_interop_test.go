package resolver_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/sockets/sockettest"
)

// digSubnet asks the server at addr for name's A records with dig (or
// kdig, whose output reads alike), as a stub in subnet, and returns the
// addresses and the CLIENT-SUBNET line it printed ("10.1.1.0/24/16"; ""
// if the reply had none).
func digSubnet(t testing.TB, dig, addr, name, subnet string) ([]string, string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	tries := "+tries=1"
	if filepath.Base(dig) == "kdig" {
		tries = "+retry=0"
	}
	out, err := exec.Command(dig, "@"+host, "-p", port, tries, "+time=5", "+subnet="+subnet, name, "A").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", dig, err, out)
	}
	var addrs []string
	ecs := ""
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimLeft(line, "; "), "CLIENT-SUBNET: "); ok {
			ecs = strings.TrimSpace(rest)
		}
		if f := strings.Fields(line); len(f) == 5 && !strings.HasPrefix(line, ";") && f[3] == "A" {
			addrs = append(addrs, f[4])
		}
	}
	slices.Sort(addrs)
	return addrs, ecs
}

// TestInteropDigSubnet: dig +subnet sees our resolver echo its subnet with
// the scope KingCDN's server gave.
func TestInteropDigSubnet(t *testing.T) {
	testDigSubnet(t, sockettest.Need(t, "dig", "bind9-dnsutils"))
}

// TestInteropKdigSubnet: so does Knot's kdig.
func TestInteropKdigSubnet(t *testing.T) {
	testDigSubnet(t, sockettest.Need(t, "kdig", "knot-dnsutils"))
}

func testDigSubnet(t *testing.T, dig string) {
	n := startECSNet(t)
	addr := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10()))
	for _, c := range []struct{ name, subnet, want, ecs string }{
		{"video.kingcdn.test", "10.1.1.0/24", "10.1.0.80", "10.1.1.0/24/16"},
		{"video.kingcdn.test", "10.2.2.0/24", "10.2.0.80", "10.2.2.0/24/16"},
		{"video.kingcdn.test", "10.1.9.0/24", "10.1.0.80", "10.1.9.0/24/16"},
		{"static.kingcdn.test", "10.1.1.0/24", "192.0.2.99", "10.1.1.0/24/0"},
		{"video.kingcdn.test", "0.0.0.0/0", "192.0.2.80", "0.0.0.0/0/0"},
	} {
		got, ecs := digSubnet(t, dig, addr, c.name, c.subnet)
		if len(got) != 1 || got[0] != c.want || ecs != c.ecs {
			t.Errorf("dig +subnet=%s %s: %v, CLIENT-SUBNET %q; want %s, %q", c.subnet, c.name, got, ecs, c.want, c.ecs)
		}
	}
	if got := n.cdn.len(); got != 4 {
		t.Errorf("KingCDN asked %d times, want 4 (Boston, New York, static, the /0)", got)
	}
}

// startUnboundECS runs Unbound with its subnetcache module as a resolver
// for kingcdn.test (a stub zone pointing at cdnAddr), sending client
// subnets to that server.
func startUnboundECS(t testing.TB, cdnAddr string) string {
	bin := sockettest.Need(t, "unbound", "unbound")
	dir := t.TempDir()
	port := sockettest.FreePort(t)
	host, cdnPort, _ := net.SplitHostPort(cdnAddr)
	conf := unboundServer(port, dir) + fmt.Sprintf(`  module-config: "subnetcache iterator"
  send-client-subnet: %s
  max-client-subnet-ipv4: 24
  qname-minimisation: no
  local-zone: "test." nodefault
  prefetch: no
stub-zone:
  name: "kingcdn.test"
  stub-addr: %s@%s
remote-control:
  control-enable: no
`, host, host, cdnPort)
	file := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	ub := sockettest.StartProcess(t, context.Background(), exec.Command(bin, "-d", "-c", file))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitAnswer(t, ub, addr, dns.MustParseName("static.kingcdn.test"), dns.TypeA)
	return addr
}

// TestInteropUnboundSubnet: Unbound's subnetcache and our resolver, asked
// by dig +subnet from the same networks, give the same edges and echo the
// same scopes, against the same KingCDN server.
func TestInteropUnboundSubnet(t *testing.T) {
	dig := sockettest.Need(t, "dig", "bind9-dnsutils")
	n := startECSNet(t)
	ub := startUnboundECS(t, n.cdnAddr)
	ours := startOurs(t, n.resolver(&clock{t: time.Unix(1e9, 0)}, lab10()))
	for _, c := range []struct{ name, subnet string }{
		{"video.kingcdn.test", "10.1.1.0/24"},
		{"video.kingcdn.test", "10.2.2.0/24"},
		{"video.kingcdn.test", "10.1.9.0/24"}, // from both caches
		{"video.kingcdn.test", "10.3.3.0/24"},
		{"static.kingcdn.test", "10.2.2.0/24"},
	} {
		uAddrs, uECS := digSubnet(t, dig, ub, c.name, c.subnet)
		oAddrs, oECS := digSubnet(t, dig, ours, c.name, c.subnet)
		if !slices.Equal(uAddrs, oAddrs) || uECS != oECS || len(oAddrs) == 0 || oECS == "" {
			t.Errorf("%s from %s: unbound %v %q, ours %v %q", c.name, c.subnet, uAddrs, uECS, oAddrs, oECS)
		}
	}
	// Both answer 10.1.9.0/24 from the answer cached for 10.1.0.0/16.
	var sent []string
	for _, q := range n.cdn.all() {
		sent = append(sent, fmt.Sprintf("%s %v", q.name, q.subnet))
		if q.subnet == netip.MustParsePrefix("10.1.9.0/24") {
			t.Errorf("KingCDN was asked for 10.1.9.0/24, within the /16 scope of an answer cached")
		}
	}
	t.Logf("KingCDN was asked:\n%s", strings.Join(sent, "\n"))
}
