package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"appnet.dev/dns"
)

// comZone is the part of the .com TLD server the slide's registrar fills
// in when Network Utopia registers: an NS record and its glue A record.
const comZone = `$ORIGIN com.
$TTL 172800
@	SOA	a.gtld-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400
@	NS	a.gtld-servers.net.
networkutopia	NS	dns1.networkutopia.com.
dns1.networkutopia	A	212.212.212.1
`

// networkUtopiaZone is what the company's own authoritative server,
// dns1.networkutopia.com at 212.212.212.1, holds: an A record for www
// (three replicated web servers), an MX record for the domain, an alias.
const networkUtopiaZone = `$ORIGIN networkutopia.com.
$TTL 3600
@	SOA	dns1 hostmaster 2026112501 3600 900 604800 300
@	NS	dns1
@	MX	10 mail
dns1	A	212.212.212.1
mail	A	212.212.212.25
www	A	212.212.212.80
www	A	212.212.212.81
www	A	212.212.212.82
web	CNAME	www
`

// dnsChapter registers networkutopia.com (the slides' example), serves its
// zone from an authoritative server and asks both servers the slides'
// questions: the .com server refers to dns1.networkutopia.com, which
// answers A, MX, NS and CNAME queries and rotates www's three addresses.
func dnsChapter(ctx context.Context, out io.Writer, dir string) (string, error) {
	// The servers print their side from their own goroutines: one lock
	// keeps those lines and the chapter's in order.
	w := &lockedWriter{w: out}
	com, err := serveZone(ctx, w, "com", comZone)
	if err != nil {
		return "", err
	}
	defer com.close()
	nu, err := serveZone(ctx, w, "networkutopia.com", networkUtopiaZone)
	if err != nil {
		return "", err
	}
	defer nu.close()
	fmt.Fprintf(w, "the .com TLD server listens on %s; dns1.networkutopia.com (212.212.212.1) on %s\n\n", com.addr, nu.addr)

	var c dns.Client
	ask := func(server *zoneServer, name string, t dns.Type) (*dns.Message, error) {
		fmt.Fprintf(w, "-- ask %s: %s %s\n", server.label, name, t)
		server.trace(true)
		defer server.trace(false)
		r, err := c.Exchange(ctx, server.addr, dns.NewQuery(dns.MustParseName(name), t))
		fmt.Fprintln(w)
		return r, err
	}

	r, err := ask(com, "www.networkutopia.com", dns.TypeA)
	if err != nil {
		return "", err
	}
	if len(r.Authorities) == 0 || len(r.Additionals) == 0 {
		return "", fmt.Errorf("the .com server gave no referral: %v", r)
	}
	fmt.Fprintf(w, "the .com server does not know www, but says: ask %s at %s\n\n",
		r.Authorities[0].Data, r.Additionals[0].Data)

	var firsts []string
	for range 3 {
		r, err = ask(nu, "www.networkutopia.com", dns.TypeA)
		if err != nil {
			return "", err
		}
		if len(r.Answers) != 3 || !r.Authoritative {
			return "", fmt.Errorf("www: want three authoritative A records, got %v", r)
		}
		firsts = append(firsts, r.Answers[0].Data.String())
	}
	fmt.Fprintf(w, "load distribution: the three answers begin with %s\n\n", strings.Join(firsts, ", "))

	mx, err := ask(nu, "networkutopia.com", dns.TypeMX)
	if err != nil {
		return "", err
	}
	if len(mx.Answers) != 1 {
		return "", fmt.Errorf("MX: %v", mx)
	}
	if _, err := ask(nu, "networkutopia.com", dns.TypeNS); err != nil {
		return "", err
	}
	alias, err := ask(nu, "web.networkutopia.com", dns.TypeA)
	if err != nil {
		return "", err
	}
	if len(alias.Answers) != 4 {
		return "", fmt.Errorf("CNAME: %v", alias)
	}
	neg, err := ask(nu, "ftp.networkutopia.com", dns.TypeA)
	if err != nil {
		return "", err
	}
	if neg.RCode != dns.RCodeNameError {
		return "", fmt.Errorf("ftp: want NXDOMAIN, got %s", neg.RCode.String())
	}
	return fmt.Sprintf("www.networkutopia.com has 3 rotating addresses (%s first); mail goes to %s; web is an alias of www; ftp is NXDOMAIN",
		firsts[0], mx.Answers[0].Data.(*dns.MX).Exchange), nil
}

// A zoneServer is one authoritative server of the chapter.
type zoneServer struct {
	label string
	addr  string
	w     io.Writer
	tw    *switchWriter
	srv   *dns.Server
	done  chan error
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// switchWriter passes writes on only while on, so the chapter shows each
// server's dialogue beside the question that caused it.
type switchWriter struct {
	w  io.Writer
	on atomic.Bool
}

func (s *switchWriter) Write(p []byte) (int, error) {
	if !s.on.Load() {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (z *zoneServer) trace(on bool) { z.tw.on.Store(on) }

func serveZone(ctx context.Context, w io.Writer, origin, text string) (*zoneServer, error) {
	o := dns.MustParseName(origin)
	zone, err := dns.ReadZone(dns.ZoneFile{Name: origin + ".zone", Origin: o}, strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	h, err := dns.NewZones(zone)
	if err != nil {
		return nil, err
	}
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tw := &switchWriter{w: w}
	z := &zoneServer{label: origin + " server", addr: ln.Addr().String(), w: w, tw: tw,
		srv: &dns.Server{Handler: h, Trace: tw, Workers: 1}, done: make(chan error, 1)}
	if origin == "com" {
		z.label = "the .com TLD server"
	} else {
		z.label = "dns1." + origin
	}
	go func() { z.done <- z.srv.ServeBoth(pc, ln) }()
	return z, nil
}

func (z *zoneServer) close() {
	z.srv.Close()
	<-z.done
}
