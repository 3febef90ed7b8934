// Package hierarchy starts the slides' DNS hierarchy on one machine: root
// servers, top-level domain servers (.com, .edu, .org, .net, arpa) and the
// authoritative servers of umass.edu (with cs.umass.edu delegated), nyu.edu
// (with engineering.nyu.edu), amazon.com, networkutopia.com and the reverse
// zones of 128.119.0.0/16 under in-addr.arpa and of 2001:db8::/32 under
// ip6.arpa — a local Internet of name
// servers, with delegations and glue as the real one has them (RFC 1034 §4.2).
//
// Start runs every server of the Internet on 127.0.0.1 with a port of its
// own. The addresses the protocol carries — glue records, root hints — are
// the servers' public addresses (the real root servers' among them), and
// Internet.Dial maps each of them to its listener, so a resolver given that
// dialer walks the hierarchy exactly as it would on the Internet:
//
//	in, _ := hierarchy.Start(hierarchy.Config{})
//	defer in.Close()
//	r := &resolver.Resolver{Roots: in.Roots(), Dial: in.Dial}
//
// With Config.Loopback each server instead listens on an address of its own
// in 127.0.0.0/8, all on one port, and the glue carries those addresses: the
// form real resolvers (Unbound) and examples/dns/hierarchy use.
//
// The servers answer iterated queries, as real root and TLD servers do: a
// referral, "I don't know this name, but ask this server". With
// Config.Recursive they also take recursive queries (RD): a root server
// asked for gaia.cs.umass.edu asks the .edu server on its caller's behalf,
// which asks umass.edu's, which asks cs.umass.edu's, and the answer comes
// back along that chain — the slides' recursive query, whose burden
// Host.Forwarded counts.
package hierarchy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"appnet.dev/dns"
)

// A Host is one name server of the local Internet.
type Host struct {
	Name   string     // dns.cs.umass.edu
	Public netip.Addr // the address glue and hints carry
	Listen netip.AddrPort
	Zones  []string // origins it is authoritative for
	Server *dns.Server
	// Primary answers for the zones and takes UPDATEs from loopback
	// clients, writing changed zones back to Config.Dir.
	Primary *dns.Primary

	pc        net.PacketConn
	ln        net.Listener
	forwarded atomic.Int64 // queries sent on callers' behalf (Recursive)
}

// Config says how to start the Internet.
type Config struct {
	// Loopback puts each server on an address of its own in 127.0.0.0/8
	// (127.0.0.10 on), all listening on Port, and writes those addresses
	// into the glue. Without it, every server listens on 127.0.0.1 with a
	// port of its own and carries its public address.
	Loopback bool
	// Port is the port of every server in Loopback mode; 0 picks one free
	// on every address.
	Port int
	// Dir, if set, receives each zone as a master file (origin.zone, the
	// root as root.zone) and the root hints as named.root.
	Dir string
	// Trace, if set, receives every server's queries and replies.
	Trace io.Writer
	// Unregistered lists zones ("networkutopia.com") whose delegation —
	// the NS and glue records in the parent — is left out: their server
	// runs, but no one finds it from the root until a registrar adds them
	// (by UPDATE): the slides' Network Utopia registration.
	Unregistered []string
	// Recursive makes every server answer recursive queries (RD) itself:
	// when its zones only refer the name to another server, it asks that
	// server, with RD, on behalf of its caller, and returns the answer
	// with RA. A query sent to the root then travels root → TLD →
	// authoritative and the answer comes back the same way: the slides'
	// recursive query, heavy on the servers contacted (Host.Forwarded
	// counts their work). Trace, if set, shows each step.
	Recursive bool
}

// hostEntry is one line of the host table.
type hostEntry struct {
	name, addr string
	zones      []string
}

// hostTable lists the servers: name, public address, zones.
func hostTable() []hostEntry {
	return []hostEntry{
		{"a.root-servers.net", "198.41.0.4", []string{".", "arpa"}},
		{"b.root-servers.net", "170.247.170.2", []string{".", "arpa"}},
		{"a.gtld-servers.net", "192.5.6.30", []string{"com", "net"}},
		{"a.edu-servers.net", "192.12.94.30", []string{"edu"}},
		{"a0.org.afilias-nst.org", "199.19.56.1", []string{"org"}},
		{"a.in-addr-servers.arpa", "199.180.182.53", []string{"in-addr.arpa", "ip6.arpa"}},
		{"dns.umass.edu", "128.119.40.186", []string{"umass.edu", "119.128.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"}},
		{"dns.cs.umass.edu", "128.119.240.1", []string{"cs.umass.edu"}},
		{"ns1.nyu.edu", "128.122.253.37", []string{"nyu.edu"}},
		{"dns.engineering.nyu.edu", "128.238.1.53", []string{"engineering.nyu.edu"}},
		{"pdns1.ultradns.net", "204.74.108.1", []string{"amazon.com", "ultradns.net"}},
		{"dns1.networkutopia.com", "212.212.212.1", []string{"networkutopia.com"}},
		{"ns.wikipedia.org", "208.80.154.238", []string{"wikipedia.org"}},
	}
}

// zoneText holds each zone's records; {name} stands for the address of the
// name server called name, so glue follows the mode the Internet runs in.
func zoneText() map[string]string {
	return map[string]string{
		".": `@ 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 2026112500 1800 900 604800 86400
@ 518400 NS a.root-servers.net.
@ 518400 NS b.root-servers.net.
a.root-servers.net. 518400 A {a.root-servers.net}
b.root-servers.net. 518400 A {b.root-servers.net}
com. 172800 NS a.gtld-servers.net.
net. 172800 NS a.gtld-servers.net.
a.gtld-servers.net. 172800 A {a.gtld-servers.net}
edu. 172800 NS a.edu-servers.net.
a.edu-servers.net. 172800 A {a.edu-servers.net}
org. 172800 NS a0.org.afilias-nst.org.
a0.org.afilias-nst.org. 172800 A {a0.org.afilias-nst.org}
arpa. 172800 NS a.root-servers.net.
arpa. 172800 NS b.root-servers.net.
`,
		"arpa": `@ 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 2026112500 1800 900 604800 86400
@ 518400 NS a.root-servers.net.
@ 518400 NS b.root-servers.net.
in-addr 172800 NS a.in-addr-servers.arpa.
ip6 172800 NS a.in-addr-servers.arpa.
a.in-addr-servers 172800 A {a.in-addr-servers.arpa}
`,
		// IPv6 reverse names: umass.edu's hosts here have addresses in the
		// documentation prefix 2001:db8::/32.
		"ip6.arpa": `@ 86400 SOA a.in-addr-servers.arpa. nstld.iana.org. 2026112500 1800 900 604800 3600
@ 172800 NS a.in-addr-servers.arpa.
8.b.d.0.1.0.0.2 86400 NS dns.umass.edu.
`,
		"8.b.d.0.1.0.0.2.ip6.arpa": `@ 3600 SOA dns.umass.edu. hostmaster.umass.edu. 2026112500 3600 900 604800 300
@ 3600 NS dns.umass.edu.
2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.5.4.2.0 3600 PTR gaia.cs.umass.edu.
`,
		"in-addr.arpa": `@ 86400 SOA a.in-addr-servers.arpa. nstld.iana.org. 2026112500 1800 900 604800 3600
@ 172800 NS a.in-addr-servers.arpa.
119.128 86400 NS dns.umass.edu.
`,
		"com": `@ 900 SOA a.gtld-servers.net. nstld.verisign-grs.com. 2026112500 1800 900 604800 86400
@ 172800 NS a.gtld-servers.net.
amazon 172800 NS pdns1.ultradns.net.
networkutopia 172800 NS dns1.networkutopia.com.
dns1.networkutopia 172800 A {dns1.networkutopia.com}
`,
		"net": `@ 900 SOA a.gtld-servers.net. nstld.verisign-grs.com. 2026112500 1800 900 604800 86400
@ 172800 NS a.gtld-servers.net.
a.gtld-servers 172800 A {a.gtld-servers.net}
a.edu-servers 172800 A {a.edu-servers.net}
a.root-servers 172800 A {a.root-servers.net}
b.root-servers 172800 A {b.root-servers.net}
ultradns 172800 NS pdns1.ultradns.net.
pdns1.ultradns 172800 A {pdns1.ultradns.net}
`,
		"edu": `@ 300 SOA a.edu-servers.net. nstld.verisign-grs.com. 2026112500 1800 900 604800 86400
@ 172800 NS a.edu-servers.net.
umass 172800 NS dns.umass.edu.
dns.umass 172800 A {dns.umass.edu}
nyu 172800 NS ns1.nyu.edu.
ns1.nyu 172800 A {ns1.nyu.edu}
`,
		"org": `@ 900 SOA a0.org.afilias-nst.org. hostmaster.donuts.email. 2026112500 7200 900 1209600 3600
@ 86400 NS a0.org.afilias-nst.org.
a0.org.afilias-nst 86400 A {a0.org.afilias-nst.org}
wikipedia 86400 NS ns.wikipedia.org.
ns.wikipedia 86400 A {ns.wikipedia.org}
`,
		"umass.edu": `@ 3600 SOA dns.umass.edu. hostmaster.umass.edu. 2026112500 3600 900 604800 300
@ 3600 NS dns.umass.edu.
dns 3600 A {dns.umass.edu}
www 3600 A 128.119.103.148
@ 3600 MX 10 mail.umass.edu.
mail 3600 A 128.119.101.10
cs 3600 NS dns.cs.umass.edu.
dns.cs 3600 A {dns.cs.umass.edu}
`,
		"cs.umass.edu": `@ 3600 SOA dns.cs.umass.edu. hostmaster.cs.umass.edu. 2026112500 3600 900 604800 300
@ 3600 NS dns.cs.umass.edu.
dns 3600 A {dns.cs.umass.edu}
gaia 3600 A 128.119.245.12
gaia 3600 AAAA 2001:db8:245::12
www 3600 CNAME gaia
@ 3600 MX 10 mailhost.cs.umass.edu.
mailhost 3600 A 128.119.240.50
`,
		"119.128.in-addr.arpa": `@ 3600 SOA dns.umass.edu. hostmaster.umass.edu. 2026112500 3600 900 604800 300
@ 3600 NS dns.umass.edu.
12.245 3600 PTR gaia.cs.umass.edu.
148.103 3600 PTR www.umass.edu.
`,
		"nyu.edu": `@ 3600 SOA ns1.nyu.edu. hostmaster.nyu.edu. 2026112500 3600 900 604800 300
@ 3600 NS ns1.nyu.edu.
ns1 3600 A {ns1.nyu.edu}
dns 3600 A 128.122.253.53
www 3600 A 216.165.47.10
engineering 3600 NS dns.engineering.nyu.edu.
dns.engineering 3600 A {dns.engineering.nyu.edu}
`,
		"engineering.nyu.edu": `@ 3600 SOA dns.engineering.nyu.edu. hostmaster.nyu.edu. 2026112500 3600 900 604800 300
@ 3600 NS dns.engineering.nyu.edu.
@ 3600 A 128.238.64.10
dns 3600 A {dns.engineering.nyu.edu}
www 3600 CNAME engineering.nyu.edu.
`,
		"amazon.com": `@ 3600 SOA pdns1.ultradns.net. hostmaster.amazon.com. 2026112500 3600 900 604800 60
@ 3600 NS pdns1.ultradns.net.
@ 60 A 205.251.242.103
www 60 CNAME tp.8e49140c2.amazon.com.
tp.8e49140c2 60 A 205.251.242.103
smile 60 CNAME www
`,
		"ultradns.net": `@ 3600 SOA pdns1.ultradns.net. hostmaster.ultradns.net. 2026112500 3600 900 604800 300
@ 3600 NS pdns1.ultradns.net.
pdns1 3600 A {pdns1.ultradns.net}
`,
		"networkutopia.com": `@ 3600 SOA dns1 hostmaster 2026112501 3600 900 604800 300
@ 3600 NS dns1
@ 3600 MX 10 mail
dns1 3600 A {dns1.networkutopia.com}
mail 3600 A 212.212.212.25
www 3600 A 212.212.212.80
`,
		"wikipedia.org": `@ 3600 SOA ns.wikipedia.org. hostmaster.wikimedia.org. 2026112500 3600 900 604800 300
@ 3600 NS ns.wikipedia.org.
ns 3600 A {ns.wikipedia.org}
www 600 A 208.80.154.224
`,
	}
}

// An Internet is the running hierarchy.
type Internet struct {
	Hosts []*Host
	// Port is the port every server listens on in Loopback mode.
	Port  int
	zones map[string][]dns.RR
	byIP  map[netip.Addr]*Host
	wg    sync.WaitGroup

	trace   io.Writer // Config.Trace, for the steps of recursive queries
	traceMu sync.Mutex
}

// Start makes every zone and starts every server. Close stops them.
func Start(cfg Config) (*Internet, error) {
	in := &Internet{zones: map[string][]dns.RR{}, byIP: map[netip.Addr]*Host{}, trace: cfg.Trace}
	skip := map[string]bool{}
	for _, o := range cfg.Unregistered {
		skip[strings.TrimSuffix(strings.ToLower(o), ".")] = true
	}
	for i, h := range hostTable() {
		host := &Host{Name: h.name, Public: netip.MustParseAddr(h.addr)}
		if cfg.Loopback {
			host.Public = netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)})
		}
		host.Zones = h.zones
		in.Hosts = append(in.Hosts, host)
	}
	addrOf := map[string]string{}
	for _, h := range in.Hosts {
		addrOf[h.Name] = h.Public.String()
	}
	for origin, text := range zoneText() {
		rrs, err := parseZone(origin, text, addrOf, skip)
		if err != nil {
			return nil, err
		}
		in.zones[origin] = rrs
	}
	if cfg.Dir != "" {
		if err := in.writeFiles(cfg.Dir); err != nil {
			return nil, err
		}
	}
	if err := in.listen(cfg); err != nil {
		in.Close()
		return nil, err
	}
	for _, h := range in.Hosts {
		var zs []*dns.Zone
		for _, o := range h.Zones {
			z, err := dns.NewZone(mustName(o), in.zones[o])
			if err != nil {
				in.Close()
				return nil, fmt.Errorf("hierarchy: zone %s: %w", o, err)
			}
			zs = append(zs, z)
		}
		p, err := dns.NewPrimary(zs...)
		if err != nil {
			in.Close()
			return nil, err
		}
		if cfg.Dir != "" {
			dir := cfg.Dir
			p.Save = func(z *dns.Zone) error { return dns.WriteZoneFile(filepath.Join(dir, fileName(z.Origin.String())), z) }
		}
		h.Primary = p
		h.Server.Handler = p
		if cfg.Recursive {
			h.Server.Handler = &recursiveServer{in: in, host: h, p: p}
		}
		h.Server.Trace = cfg.Trace
		h.Server.Workers = 1
	}
	for _, h := range in.Hosts {
		pc, ln := h.pc, h.ln
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			h.Server.ServeBoth(pc, ln)
		}()
	}
	return in, nil
}

func mustName(s string) dns.Name {
	if s == "." {
		return dns.Name{}
	}
	return dns.MustParseName(s)
}

// parseZone fills in the addresses and drops delegations to skipped zones.
func parseZone(origin, text string, addrOf map[string]string, skip map[string]bool) ([]dns.RR, error) {
	var b strings.Builder
	for line := range strings.Lines(text) {
		for {
			i := strings.IndexByte(line, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(line[i:], '}')
			line = line[:i] + addrOf[line[i+1:i+j]] + line[i+j+1:]
		}
		b.WriteString(line)
	}
	zf := dns.ZoneFile{Name: origin, Origin: mustName(origin)}
	rrs, err := zf.Parse(strings.NewReader(b.String()))
	if err != nil {
		return nil, fmt.Errorf("hierarchy: %w", err)
	}
	out := rrs[:0]
	for _, rr := range rrs {
		if skipped(rr.Name, skip) && !skipped(mustName(origin), skip) {
			continue // the delegation of an unregistered zone
		}
		out = append(out, rr)
	}
	return out, nil
}

func skipped(n dns.Name, skip map[string]bool) bool {
	for o := range skip {
		if n.IsSubdomainOf(mustName(o)) {
			return true
		}
	}
	return false
}

// ZoneRecords returns the records of the zone with that origin ("com",
// "." for the root), or nil.
func (in *Internet) ZoneRecords(origin string) []dns.RR {
	if origin != "." {
		origin = strings.TrimSuffix(strings.ToLower(origin), ".")
	}
	return in.zones[origin]
}

// Roots returns the root servers' addresses: the root hints.
func (in *Internet) Roots() []netip.Addr {
	var out []netip.Addr
	for _, h := range in.Hosts {
		if strings.HasSuffix(h.Name, ".root-servers.net") {
			out = append(out, h.Public)
		}
	}
	return out
}

// Host returns the server called name, or nil.
func (in *Internet) Host(name string) *Host {
	for _, h := range in.Hosts {
		if h.Name == strings.TrimSuffix(name, ".") {
			return h
		}
	}
	return nil
}

// HostAt returns the server whose public address is a, or nil.
func (in *Internet) HostAt(a netip.Addr) *Host { return in.byIP[a] }

// Hints returns the root hints in named.root form.
func (in *Internet) Hints() string {
	var b strings.Builder
	b.WriteString("; root hints of the local Internet\n")
	for _, h := range in.Hosts {
		if strings.HasSuffix(h.Name, ".root-servers.net") {
			fmt.Fprintf(&b, ".\t3600000\tNS\t%s.\n", h.Name)
		}
	}
	for _, h := range in.Hosts {
		if strings.HasSuffix(h.Name, ".root-servers.net") {
			fmt.Fprintf(&b, "%s.\t3600000\tA\t%s\n", h.Name, h.Public)
		}
	}
	return b.String()
}

// Dial connects to addr as the local Internet routes it: a server's public
// address (port 53, or the Loopback port) reaches its listener. Any other
// address is unreachable: nothing leaves the machine.
func (in *Internet) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("hierarchy: %w", err)
	}
	h := in.byIP[ap.Addr()]
	if h == nil {
		return nil, fmt.Errorf("hierarchy: no route to %s", ap.Addr())
	}
	var d net.Dialer
	return d.DialContext(ctx, network, h.Listen.String())
}

// Close stops every server and waits for them.
func (in *Internet) Close() error {
	for _, h := range in.Hosts {
		if h.Server != nil {
			h.Server.Close()
		} else {
			if h.pc != nil {
				h.pc.Close()
			}
			if h.ln != nil {
				h.ln.Close()
			}
		}
	}
	in.wg.Wait()
	for _, h := range in.Hosts {
		if h.Primary != nil {
			h.Primary.Close()
		}
	}
	return nil
}

func (in *Internet) writeFiles(dir string) error {
	for origin, rrs := range in.zones {
		name := fileName(origin)
		var b strings.Builder
		if err := dns.WriteZone(&b, mustName(origin), rrs); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("hierarchy: %w", err)
		}
	}
	return os.WriteFile(filepath.Join(dir, "named.root"), []byte(in.Hints()), 0o644)
}

// listen opens every server's sockets.
func (in *Internet) listen(cfg Config) error {
	if !cfg.Loopback {
		for _, h := range in.Hosts {
			pc, ln, err := dns.Listen("127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("hierarchy: %w", err)
			}
			h.pc, h.ln = pc, ln
			h.Listen = netip.MustParseAddrPort(ln.Addr().String())
			h.Server = &dns.Server{}
			in.byIP[h.Public] = h
		}
		return nil
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("hierarchy: port %d out of range", cfg.Port)
	}
	var lastErr error
	for try := 0; try < 20; try++ {
		port := cfg.Port
		if port == 0 {
			pc, ln, err := dns.Listen(in.Hosts[0].Public.String() + ":0")
			if err != nil {
				return fmt.Errorf("hierarchy: %w", err)
			}
			port = int(netip.MustParseAddrPort(ln.Addr().String()).Port())
			pc.Close()
			ln.Close()
		}
		lastErr = nil
		for _, h := range in.Hosts {
			h.Listen = netip.AddrPortFrom(h.Public, uint16(port))
			pc, ln, err := dns.Listen(h.Listen.String())
			if err != nil {
				lastErr = err
				break
			}
			h.pc, h.ln = pc, ln
		}
		if lastErr == nil {
			in.Port = port
			for _, h := range in.Hosts {
				h.Server = &dns.Server{}
				in.byIP[h.Public] = h
			}
			return nil
		}
		for _, h := range in.Hosts {
			if h.pc != nil {
				h.pc.Close()
				h.ln.Close()
				h.pc, h.ln = nil, nil
			}
		}
		if cfg.Port != 0 {
			break
		}
	}
	return fmt.Errorf("hierarchy: %w", errors.Join(lastErr))
}

// fileName is the zone file's name for origin: "com.zone", "root.zone".
func fileName(origin string) string {
	origin = strings.TrimSuffix(origin, ".")
	if origin == "" {
		return "root.zone"
	}
	return origin + ".zone"
}
