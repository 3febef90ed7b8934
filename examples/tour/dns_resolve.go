package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
	"appnet.dev/dns/resolver"
)

// resolveChapter plays the slides' two examples: the host at
// engineering.nyu.edu wants gaia.cs.umass.edu's address. First its local
// DNS server, dns.nyu.edu, asks iteratively (root, .edu TLD, umass.edu,
// cs.umass.edu: "I don't know this name, but ask this server"); then the
// host asks dns.nyu.edu recursively (RD) and gets the cached answer; then a
// new name under .edu is resolved without asking the root, because the TLD
// server's records are cached. Beside the iterated query stands the
// recursive one: the same question sent with RD to a root server, which
// asks the .edu server on the host's behalf, and so on down the chain.
func resolveChapter(ctx context.Context, out io.Writer, dir string) (string, error) {
	w := &lockedWriter{w: out}
	// Recursive: the servers also take RD queries (the resolver's own
	// queries carry no RD, so its iterated walk is the same).
	in, err := hierarchy.Start(hierarchy.Config{Recursive: true})
	if err != nil {
		return "", err
	}
	defer in.Close()
	roots, err := resolver.ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "the local Internet: %d name servers on 127.0.0.1, reached by the addresses glue records carry\n", len(in.Hosts))
	for _, h := range in.Hosts[:6] {
		fmt.Fprintf(w, "  %-15s %s (%s)\n", h.Public, h.Name, strings.Join(h.Zones, " "))
	}
	fmt.Fprintf(w, "  … and %d authoritative servers\n\n", len(in.Hosts)-6)

	// Virtual time: the chapter moves the clock, the server reads it.
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	r := &resolver.Resolver{Roots: roots, Dial: in.Dial, Cache: &resolver.Cache{Now: clock}, Name: "dns.nyu.edu", Trace: w}
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &dns.Server{Handler: r, Workers: 2}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeBoth(pc, ln) }()
	defer func() { srv.Close(); <-done }()

	gaia := dns.MustParseName("gaia.cs.umass.edu")
	fmt.Fprintln(w, "== the host's recursive query (RD) to its local DNS server; dns.nyu.edu's iterated queries ==")
	fmt.Fprintln(w, "   (a recursive query puts the burden of resolution on the server asked: here dns.nyu.edu)")
	var stub dns.Client
	q := dns.NewQuery(gaia, dns.TypeA)
	q.RecursionDesired = true
	fmt.Fprintf(w, "engineering.nyu.edu → dns.nyu.edu: %s A? (RD)\n", gaia)
	m, err := stub.Exchange(ctx, pc.LocalAddr().String(), q)
	if err != nil {
		return "", err
	}
	if len(m.Answers) == 0 {
		return "", fmt.Errorf("no answer for %s: %v", gaia, m.RCode)
	}
	fmt.Fprintf(w, "dns.nyu.edu → engineering.nyu.edu: %s (RA)\n", m.Answers[0])
	first := total(r.Queries())

	fmt.Fprintln(w, "\n== the same recursive query, 10 minutes later: answered from dns.nyu.edu's cache ==")
	now.Add(int64(10 * time.Minute / time.Second))
	m, err = stub.Exchange(ctx, pc.LocalAddr().String(), q)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "dns.nyu.edu → engineering.nyu.edu: %s (TTL counted down from 3600)\n", m.Answers[0])
	second := total(r.Queries()) - first

	fmt.Fprintln(w, "\n== a new name under .edu: the TLD server is cached, the root is not asked ==")
	rootsBefore := rootQueries(r, roots)
	www := dns.MustParseName("www.nyu.edu")
	m2, err := r.Resolve(ctx, www, dns.TypeA)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "dns.nyu.edu: %s\n", m2.Answers[0])
	rootAgain := rootQueries(r, roots) - rootsBefore

	fmt.Fprintln(w, "\n== and vice versa: 128.119.245.12's name, by PTR under in-addr.arpa ==")
	m3, err := r.Resolve(ctx, dns.MustParseName("12.245.119.128.in-addr.arpa"), dns.TypePTR)
	if err != nil || len(m3.Answers) == 0 {
		return "", fmt.Errorf("reverse lookup: %v", err)
	}
	fmt.Fprintf(w, "dns.nyu.edu: %s\n", m3.Answers[0])

	fmt.Fprintln(w, "\n== beside it, the recursive query: gaia's question with RD straight to a root server ==")
	fmt.Fprintln(w, "   (each server asks the next on its caller's behalf; the answer comes back the same way)")
	root := in.Host("a.root-servers.net")
	rq := dns.NewQuery(gaia, dns.TypeA)
	rq.RecursionDesired = true
	rm, err := (&dns.Client{Dial: in.Dial}).Exchange(ctx, root.Public.String()+":53", rq)
	if err != nil || len(rm.Answers) == 0 {
		return "", fmt.Errorf("recursive query to the root: %v %v", rm, err)
	}
	var chain []string
	for _, h := range in.Hosts {
		if h.Forwarded() > 0 {
			chain = append(chain, h.Name)
		}
	}
	fmt.Fprintf(w, "host → %s → cs.umass.edu's server, which answers %s; back the same way\n", strings.Join(chain, " → "), rm.Answers[0].Data)
	fmt.Fprintf(w, "the root sent %d query on the host's behalf and held it open until the whole chain answered (iterated: 0, a referral)\n", root.Forwarded())

	fmt.Fprintln(w, "\nqueries each server got:")
	for _, h := range in.Hosts {
		if n := r.Queries()[h.Public]; n > 0 {
			fmt.Fprintf(w, "  %-26s %d\n", h.Name, n)
		}
	}
	return fmt.Sprintf("gaia.cs.umass.edu is %s after %d upstream queries; cached lookup: %d; root asked again for www.nyu.edu: %d",
		m.Answers[0].Data, first, second, rootAgain), nil
}

func total(m map[netip.Addr]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func rootQueries(r *resolver.Resolver, roots []resolver.NameServer) int {
	q := r.Queries()
	n := 0
	for _, s := range roots {
		n += q[s.Addr]
	}
	return n
}
