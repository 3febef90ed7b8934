package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
	"appnet.dev/dns/resolver"
)

// updateChapter plays the slides' registration of networkutopia.com. The
// company's authoritative server, dns1.networkutopia.com (212.212.212.1),
// already runs with an A record for www and an MX record, but no one finds
// it: the .com servers know nothing of it. The registrar inserts the NS and
// glue A records into .com by a dynamic UPDATE (RFC 2136), on the
// prerequisite that the name is not yet taken; the SOA serial goes up and
// the zone is written back to its file. A local DNS server that asked
// before the registration keeps its negative answer until the TTL runs out
// — then finds www.networkutopia.com.
func updateChapter(ctx context.Context, out io.Writer, dir string) (string, error) {
	w := &lockedWriter{w: out}
	in, err := hierarchy.Start(hierarchy.Config{Dir: dir, Unregistered: []string{"networkutopia.com"}})
	if err != nil {
		return "", err
	}
	defer in.Close()
	roots, err := resolver.ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		return "", err
	}
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).Unix())
	local := &resolver.Resolver{
		Roots: roots, Dial: in.Dial, Name: "dns.nyu.edu",
		Cache: &resolver.Cache{Now: func() time.Time { return time.Unix(now.Load(), 0) }},
	}
	www := dns.MustParseName("www.networkutopia.com")
	com := dns.MustParseName("com")

	fmt.Fprintln(w, "== before: dns1.networkutopia.com serves the zone, but .com does not point at it ==")
	c := dns.Client{Dial: in.Dial}
	rrs, err := c.Lookup(ctx, "212.212.212.1:53", www, dns.TypeA)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "dns1.networkutopia.com, asked directly: %s\n", rrs[0])
	m, err := local.Resolve(ctx, www, dns.TypeA)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "dns.nyu.edu resolving %s: %v (cached for the .com SOA's negative TTL)\n\n", www, m.RCode.String())

	fmt.Fprintln(w, "== the registrar's UPDATE to the .com server (a.gtld-servers.net, 192.5.6.30) ==")
	soaBefore := in.Host("a.gtld-servers.net").Primary.Zone(com).SOA
	ns, _ := dns.ParseName("networkutopia.com")
	host := dns.MustParseName("dns1.networkutopia.com")
	upd := &dns.Message{
		Header:    dns.Header{Opcode: dns.OpcodeUpdate},
		Questions: []dns.Question{{Name: com, Type: dns.TypeSOA, Class: dns.ClassINET}},
		// Prerequisite: networkutopia.com is not in use (class NONE, type ANY).
		Answers: []dns.RR{{Name: ns, Class: dns.ClassNONE, Data: &dns.Unknown{T: dns.TypeANY}}},
		Authorities: []dns.RR{
			{Name: ns, Class: dns.ClassINET, TTL: 172800, Data: &dns.NS{Host: host}},
			{Name: host, Class: dns.ClassINET, TTL: 172800, Data: &dns.A{Addr: in.Host("dns1.networkutopia.com").Public}},
		},
	}
	c.Trace = w
	r, err := c.Exchange(ctx, "192.5.6.30:53", upd)
	c.Trace = nil
	if err != nil {
		return "", err
	}
	if r.RCode != dns.RCodeSuccess {
		return "", fmt.Errorf("registration: %v", r.RCode)
	}
	soaAfter := in.Host("a.gtld-servers.net").Primary.Zone(com).SOA
	fmt.Fprintf(w, "com SOA serial %d -> %d\n", soaBefore.Data.(*dns.SOA).Serial, soaAfter.Data.(*dns.SOA).Serial)
	text, err := os.ReadFile(filepath.Join(dir, "com.zone"))
	if err != nil {
		return "", err
	}
	fmt.Fprintln(w, "com.zone, written back:")
	for line := range strings.Lines(string(text)) {
		if strings.Contains(line, "networkutopia") {
			fmt.Fprint(w, "  ", line)
		}
	}
	r, err = c.Exchange(ctx, "192.5.6.30:53", upd)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "the same registration again: %v (the name is taken)\n\n", r.RCode)

	fmt.Fprintln(w, "== dns.nyu.edu, right after: its negative answer has not expired ==")
	m, err = local.Resolve(ctx, www, dns.TypeA)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "%s: %v (out of date until the TTL runs out)\n", www, m.RCode.String())
	now.Add(15 * 60)
	fmt.Fprintln(w, "\n== 15 minutes later ==")
	local.Trace = w
	m, err = local.Resolve(ctx, www, dns.TypeA)
	if err != nil {
		return "", err
	}
	if len(m.Answers) == 0 {
		return "", fmt.Errorf("%s not found after the registration: %v", www, m.RCode.String())
	}
	mx, err := local.Resolve(ctx, ns, dns.TypeMX)
	if err != nil || len(mx.Answers) == 0 {
		return "", fmt.Errorf("MX after the registration: %v", err)
	}
	return fmt.Sprintf("networkutopia.com registered by UPDATE (com serial %d -> %d); www is %s, mail goes to %s",
		soaBefore.Data.(*dns.SOA).Serial, soaAfter.Data.(*dns.SOA).Serial, m.Answers[0].Data, mx.Answers[0].Data), nil
}
