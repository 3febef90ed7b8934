// Command dig asks a name server one question and prints the reply the way
// ISC's dig does:
//
//	go run ./examples/dns/dig @127.0.0.1 -p 5300 www.networkutopia.com A
//	go run ./examples/dns/dig @127.0.0.1 -p 5300 networkutopia.com MX +tcp +norec
//
// Options: @server (default 127.0.0.1), -p port (default 53), a name, a
// type (default A), +tcp to ask over TCP, +norec to clear RD (it is set by
// default, as dig does), +noedns to send no OPT record, +bufsize=N for the
// EDNS UDP size, +dialogue prints the exchange as C:/S: lines.
//
// +cookie sends a DNS Cookie (RFC 7873) with a random client cookie, and
// +cookie=HEX the client and server cookie of an earlier answer; the
// answer's COOKIE line says "(good)" if it echoes our client cookie (a
// forged reply could not). A BADCOOKIE answer is asked again once with the
// server cookie it carries, as ISC dig does (+nobadcookie: not).
//
//	go run ./examples/dns/dig @127.0.0.1 -p 5300 www.networkutopia.com +cookie
//
// +trace resolves the name iteratively from the root servers of -roots FILE
// (root hints, named.root format), printing each referral as the slides draw
// it; -p is then the port of every server of the hierarchy:
//
//	go run ./examples/dns/dig -roots /tmp/hier/named.root -p 5301 gaia.cs.umass.edu +trace
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "dig:", err)
		os.Exit(1)
	}
}

// run asks the question args describe and prints the reply to w.
func run(ctx context.Context, w io.Writer, args []string) error {
	server, port := "127.0.0.1", "53"
	name, qtype := "", dns.TypeA
	tcp, rec, edns, bufsize, dialogue := false, true, true, 1232, false
	haveType, trace, roots := false, false, ""
	var cookie *dns.Cookie // +cookie
	retryBadCookie := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case strings.HasPrefix(a, "@"):
			server = a[1:]
		case a == "-p":
			if i+1 >= len(args) {
				return fmt.Errorf("-p wants a port")
			}
			i++
			port = args[i]
		case a == "-roots":
			if i+1 >= len(args) {
				return fmt.Errorf("-roots wants a file")
			}
			i++
			roots = args[i]
		case a == "+trace":
			trace = true
		case a == "+tcp" || a == "+vc":
			tcp = true
		case a == "+norec" || a == "+norecurse":
			rec = false
		case a == "+noedns":
			edns = false
		case a == "+dialogue":
			dialogue = true
		case a == "+cookie":
			cookie = &dns.Cookie{}
			rand.Read(cookie.Client[:])
		case strings.HasPrefix(a, "+cookie="):
			b, err := hex.DecodeString(strings.TrimPrefix(a, "+cookie="))
			c, perr := dns.ParseCookie(b)
			if err != nil || perr != nil {
				return fmt.Errorf("bad %s: want the hex of a client cookie (8 octets) and a server cookie (8 to 32)", a)
			}
			cookie = &c
		case a == "+nobadcookie":
			retryBadCookie = false
		case strings.HasPrefix(a, "+bufsize="):
			n, err := strconv.Atoi(strings.TrimPrefix(a, "+bufsize="))
			if err != nil || n < 0 || n > 65535 {
				return fmt.Errorf("bad %s", a)
			}
			bufsize = n
		case strings.HasPrefix(a, "+"):
			return fmt.Errorf("unknown option %s", a)
		case name == "":
			name = a
		case !haveType:
			t, ok := dns.ParseType(a)
			if !ok {
				return fmt.Errorf("unknown type %s", a)
			}
			qtype, haveType = t, true
		default:
			return fmt.Errorf("extra argument %s", a)
		}
	}
	if name == "" {
		name = "."
	}
	n, err := dns.ParseName(name)
	if err != nil {
		return fmt.Errorf("name %q: %v", name, err)
	}
	if trace {
		return runTrace(ctx, w, roots, port, n, qtype)
	}
	q := dns.NewQuery(n, qtype)
	q.RecursionDesired = rec
	if edns {
		q.EDNS = &dns.EDNS{UDPSize: uint16(bufsize)}
		if cookie != nil {
			q.EDNS.Options = []dns.Option{cookie.Option()}
		}
	} else if cookie != nil {
		return fmt.Errorf("+cookie needs EDNS")
	}
	c := dns.Client{UDPSize: -1}
	if dialogue {
		c.Trace = w
	}
	addr := net.JoinHostPort(server, port)
	start := time.Now()
	exchange := func() (*dns.Message, error) {
		if tcp {
			return c.ExchangeTCP(ctx, addr, q)
		}
		return c.Exchange(ctx, addr, q)
	}
	r, err := exchange()
	if err == nil && cookie != nil && r.RCode == dns.RCodeBadCookie && retryBadCookie {
		// The server wants its cookie back: ask again with the one it sent.
		if got, ok, _ := r.EDNS.Cookie(); ok && got.Client == cookie.Client {
			q.EDNS.Options = []dns.Option{got.Option()}
			fmt.Fprintf(w, ";; BADCOOKIE, retrying.\n")
			r, err = exchange()
		}
	}
	if err != nil {
		return err
	}
	proto := "UDP"
	if tcp {
		proto = "TCP"
	}
	fmt.Fprintf(w, "\n; <<>> appnet dig <<>> @%s -p %s %s %s\n;; Got answer:\n", server, port, n, qtype)
	out := r.String()
	if cookie != nil {
		// Like dig, say whether the reply's cookie starts with ours.
		if got, ok, _ := r.EDNS.Cookie(); ok {
			verdict := " (good)"
			if got.Client != cookie.Client {
				verdict = " (bad: not our client cookie)"
			}
			line := "; COOKIE: " + got.String()
			out = strings.Replace(out, line+"\n", line+verdict+"\n", 1)
		}
	}
	fmt.Fprint(w, out)
	fmt.Fprintf(w, "\n;; Query time: %d msec\n;; SERVER: %s(%s) (%s)\n\n", time.Since(start).Milliseconds(), addr, server, proto)
	return nil
}

// runTrace resolves n iteratively from the root hints in the file roots and
// prints every step, then the answer.
func runTrace(ctx context.Context, w io.Writer, roots, port string, n dns.Name, t dns.Type) error {
	if roots == "" {
		return fmt.Errorf("+trace needs -roots FILE (root hints)")
	}
	f, err := os.Open(roots)
	if err != nil {
		return err
	}
	hints, err := resolver.ReadHints(f)
	f.Close()
	if err != nil {
		return err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("bad port %s", port)
	}
	r := &resolver.Resolver{Roots: hints, Port: p, Trace: w, Name: "dig"}
	m, err := r.Resolve(ctx, n, t)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, m)
	return nil
}
