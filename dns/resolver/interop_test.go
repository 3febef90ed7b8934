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
	"appnet.dev/dns/hierarchy"
	"appnet.dev/dns/resolver"
	"appnet.dev/sockets/sockettest"
)

// startLoopbackInternet starts the hierarchy on 127.0.0.x: on port 53 when
// the system allows it (so referrals work as on the Internet), else on a
// free port.
func startLoopbackInternet(t testing.TB, dir string) *hierarchy.Internet {
	in, err := hierarchy.Start(hierarchy.Config{Loopback: true, Port: 53, Dir: dir})
	if err != nil {
		in, err = hierarchy.Start(hierarchy.Config{Loopback: true, Dir: dir})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// waitAnswer asks addr the question until it answers, bounded in attempts.
func waitAnswer(t testing.TB, peer *sockettest.Process, addr string, name dns.Name, typ dns.Type) {
	c := dns.Client{Timeout: 300 * time.Millisecond, Attempts: 1}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		q := dns.NewQuery(name, typ)
		q.RecursionDesired = true
		m, err := c.Exchange(ctx, addr, q)
		cancel()
		if err == nil && m.RCode != dns.RCodeRefused {
			return
		}
		select {
		case <-peer.Exited():
			t.Fatalf("peer exited: %v\n%s", peer.Err(), peer.Output())
		case <-tick.C: // still starting: poll again
		}
		if i == 100 {
			t.Fatalf("peer does not answer: %v\n%s", err, peer.Output())
		}
	}
}

// startUnbound runs Unbound as a recursive resolver over the hierarchy:
// root hints pointing at our root when the hierarchy is on port 53, else
// a stub zone per zone (Unbound can only ask other ports that way).
// unboundServer is the start of an unbound.conf for the tests: a
// "server:" clause that listens on 127.0.0.1:port in the foreground, keeps
// its files in dir, logs nothing and serves loopback clients; the caller
// adds the modules and zones.
func unboundServer(port int, dir string) string {
	return fmt.Sprintf(`server:
  interface: 127.0.0.1
  port: %d
  do-ip6: no
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "%s"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 1
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
`, port, dir)
}

func startUnbound(t testing.TB, in *hierarchy.Internet, dir string) string {
	bin := sockettest.Need(t, "unbound", "unbound")
	port := sockettest.FreePort(t)
	var b strings.Builder
	b.WriteString(unboundServer(port, dir))
	b.WriteString(`  module-config: "iterator"
  harden-referral-path: no
  target-fetch-policy: "0 0 0 0 0"
  prefetch: no
`)
	if in.Port == 53 {
		t.Logf("unbound follows referrals from our root (root hints, port 53)")
		fmt.Fprintf(&b, "  root-hints: \"%s\"\n", filepath.Join(dir, "named.root"))
	} else {
		t.Logf("port 53 not available: unbound gets a stub zone per zone, port %d", in.Port)
		for _, h := range in.Hosts {
			for _, z := range h.Zones {
				fmt.Fprintf(&b, "stub-zone:\n  name: \"%s\"\n  stub-addr: %s@%d\n", z, h.Public, in.Port)
			}
		}
	}
	b.WriteString("remote-control:\n  control-enable: no\n")
	conf := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	unbound := sockettest.StartProcess(t, context.Background(), exec.Command(bin, "-d", "-c", conf))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitAnswer(t, unbound, addr, dns.MustParseName("a.root-servers.net"), dns.TypeA)
	return addr
}

// stubAsk asks a recursive resolver as a stub does (RD set).
func stubAsk(t testing.TB, addr string, name string, typ dns.Type) *dns.Message {
	t.Helper()
	var c dns.Client
	q := dns.NewQuery(dns.MustParseName(name), typ)
	q.RecursionDesired = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.Exchange(ctx, addr, q)
	if err != nil {
		t.Fatalf("%s %s: %v", name, typ, err)
	}
	return m
}

func data(m *dns.Message, typ dns.Type) []string {
	var out []string
	for _, rr := range m.Answers {
		if rr.Type() == typ {
			out = append(out, rr.Data.String())
		}
	}
	slices.Sort(out)
	return out
}

// TestInteropUnbound: Unbound, given our root, resolves names served by our
// authoritative servers — through referrals, glue, missing glue, CNAMEs.
func TestInteropUnbound(t *testing.T) {
	dir := t.TempDir()
	in := startLoopbackInternet(t, dir)
	ub := startUnbound(t, in, dir)
	for _, c := range []struct {
		name string
		typ  dns.Type
		want string
	}{
		{"gaia.cs.umass.edu", dns.TypeA, "128.119.245.12"},
		{"www.cs.umass.edu", dns.TypeA, "128.119.245.12"},
		{"www.engineering.nyu.edu", dns.TypeA, "128.238.64.10"},
		{"smile.amazon.com", dns.TypeA, "205.251.242.103"},
		{"networkutopia.com", dns.TypeMX, "10 mail.networkutopia.com."},
		{"12.245.119.128.in-addr.arpa", dns.TypePTR, "gaia.cs.umass.edu."},
	} {
		m := stubAsk(t, ub, c.name, c.typ)
		if got := data(m, c.typ); len(got) != 1 || got[0] != c.want {
			t.Errorf("unbound: %s %s = %v (%v), want %s", c.name, c.typ, got, m.RCode, c.want)
		}
	}
	if m := stubAsk(t, ub, "nosuch.umass.edu", dns.TypeA); m.RCode != dns.RCodeNameError {
		t.Errorf("unbound: nosuch.umass.edu: %v", m.RCode)
	}
}

// startOurs serves r as a recursive server on 127.0.0.1.
func startOurs(t testing.TB, r *resolver.Resolver) string {
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Handler: r, Workers: 4}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return pc.LocalAddr().String()
}

// TestInteropStubs: dig and Go's own resolver (net.Resolver, PreferGo,
// with a Dial to ours) use our recursive resolver.
func TestInteropStubs(t *testing.T) {
	in, roots := startInternet(t)
	r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
	addr := startOurs(t, r)
	ctx := ctxT(t)
	goRes := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	hosts, err := goRes.LookupHost(ctx, "gaia.cs.umass.edu")
	slices.Sort(hosts)
	if err != nil || len(hosts) != 2 || hosts[0] != "128.119.245.12" || hosts[1] != "2001:db8:245::12" {
		t.Errorf("net.Resolver LookupHost: %v %v", hosts, err)
	}
	names, err := goRes.LookupAddr(ctx, "128.119.245.12")
	if err != nil || len(names) != 1 || names[0] != "gaia.cs.umass.edu." {
		t.Errorf("net.Resolver LookupAddr: %v %v", names, err)
	}
	names, err = goRes.LookupAddr(ctx, "2001:db8:245::12")
	if err != nil || len(names) != 1 || names[0] != "gaia.cs.umass.edu." {
		t.Errorf("net.Resolver LookupAddr (ip6.arpa): %v %v", names, err)
	}
	mx, err := goRes.LookupMX(ctx, "umass.edu")
	if err != nil || len(mx) != 1 || mx[0].Host != "mail.umass.edu." {
		t.Errorf("net.Resolver LookupMX: %v %v", mx, err)
	}
	if _, err := goRes.LookupHost(ctx, "nosuch.nyu.edu"); err == nil {
		t.Error("net.Resolver: nosuch.nyu.edu resolved")
	} else if de, ok := err.(*net.DNSError); !ok || !de.IsNotFound {
		t.Errorf("net.Resolver: nosuch.nyu.edu: %v", err)
	}

	dig := sockettest.Need(t, "dig", "bind9-dnsutils")
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(dig, "@"+host, "-p", port, "+tries=1", "+time=5", "www.amazon.com", "A").CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	for _, want := range []string{"status: NOERROR", " ra", "www.amazon.com.\t\t60\tIN\tCNAME\ttp.8e49140c2.amazon.com.", "205.251.242.103"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dig output lacks %q:\n%s", want, out)
		}
	}
}

// startNSD serves the zone files in dir (origin -> file) with NSD on a
// free port of 127.0.0.1.
func startNSD(t testing.TB, dir string, zones map[string]string) string {
	bin := sockettest.Need(t, "nsd", "nsd")
	port := sockettest.FreePort(t)
	var zs strings.Builder
	for origin, file := range zones {
		fmt.Fprintf(&zs, "zone:\n  name: %s\n  zonefile: %s\n", origin, file)
	}
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
remote-control:
  control-enable: no
%[3]s`, port, dir, zs.String())
	cf := filepath.Join(dir, "nsd.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	nsd := sockettest.StartProcess(t, context.Background(), exec.Command(bin, "-d", "-c", cf))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for origin := range zones {
		waitAnswer(t, nsd, addr, dns.MustParseName(origin), dns.TypeSOA)
	}
	return addr
}

// TestInteropNSDAuthoritative: NSD serves cs.umass.edu in place of our
// dns.cs.umass.edu; our resolver walks the hierarchy down to it.
func TestInteropNSDAuthoritative(t *testing.T) {
	dir := t.TempDir()
	in, err := hierarchy.Start(hierarchy.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	nsd := startNSD(t, dir, map[string]string{"cs.umass.edu": filepath.Join(dir, "cs.umass.edu.zone")})
	roots, err := resolver.ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		t.Fatal(err)
	}
	cs := in.Host("dns.cs.umass.edu").Public
	in.Host("dns.cs.umass.edu").Server.Close() // only NSD answers for it now
	r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
	r.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if netip.MustParseAddrPort(addr).Addr() == cs {
			var d net.Dialer
			return d.DialContext(ctx, network, nsd)
		}
		return in.Dial(ctx, network, addr)
	}
	ctx := ctxT(t)
	for name, want := range map[string]string{"gaia.cs.umass.edu": "128.119.245.12", "www.cs.umass.edu": "128.119.245.12"} {
		m, err := r.Resolve(ctx, dns.MustParseName(name), dns.TypeA)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := data(m, dns.TypeA); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %v", name, m.Answers)
		}
	}
	m, err := r.Resolve(ctx, dns.MustParseName("nosuch.cs.umass.edu"), dns.TypeA)
	if err != nil || m.RCode != dns.RCodeNameError || len(m.Authorities) != 1 {
		t.Errorf("nosuch.cs.umass.edu from NSD: %v %v", m, err)
	}
	if r.Queries()[cs] == 0 {
		t.Error("NSD was never asked")
	}
}
