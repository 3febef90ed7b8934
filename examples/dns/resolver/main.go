// Command resolver is the slides' local DNS server: a recursive resolver
// that answers stub clients (RD set) by asking the hierarchy iteratively,
// from the root servers named in a root hints file, and caches what it
// learns:
//
//	go run ./examples/dns/hierarchy -port 5301 -dir /tmp/hier
//	go run ./examples/dns/resolver -addr 127.0.0.1:5353 -roots /tmp/hier/named.root -port 5301 -trace
//	dig @127.0.0.1 -p 5353 gaia.cs.umass.edu
//
// -port is the port the hierarchy's servers listen on (53 on the real
// Internet).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5353", "address to answer stub clients on (UDP and TCP)")
	roots := flag.String("roots", "", "root hints file, named.root format (required)")
	port := flag.Int("port", 53, "port of the upstream name servers")
	trace := flag.Bool("trace", false, "print every step of every resolution")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *addr, *roots, *port, *trace); err != nil {
		fmt.Fprintln(os.Stderr, "resolver:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends.
func run(ctx context.Context, w io.Writer, addr, rootsFile string, port int, trace bool) error {
	if rootsFile == "" {
		return fmt.Errorf("-roots FILE is required")
	}
	f, err := os.Open(rootsFile)
	if err != nil {
		return err
	}
	roots, err := resolver.ReadHints(f)
	f.Close()
	if err != nil {
		return err
	}
	r := &resolver.Resolver{Roots: roots, Port: port, Cache: &resolver.Cache{}, Name: "local DNS server"}
	if trace {
		r.Trace = w
	}
	pc, ln, err := dns.Listen(addr)
	if err != nil {
		return err
	}
	srv := &dns.Server{Handler: r, Workers: 16, ErrorLog: log.New(os.Stderr, "resolver: ", log.LstdFlags)}
	fmt.Fprintf(w, "recursive resolver on %s, %d root servers from %s\n", ln.Addr(), len(roots), rootsFile)
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeBoth(pc, ln) }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}
