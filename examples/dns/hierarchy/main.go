// Command hierarchy starts the slides' DNS hierarchy on this machine: root,
// TLD and authoritative servers, each on an address of its own in
// 127.0.0.0/8, all on one port, and prints who is where. It writes the
// zones and the root hints (named.root) into a directory, for a resolver:
//
//	go run ./examples/dns/hierarchy -port 5301 -dir /tmp/hier
//	go run ./examples/dns/resolver -addr 127.0.0.1:5353 -roots /tmp/hier/named.root -port 5301
//	go run ./examples/dns/dig @127.0.0.1 -p 5353 gaia.cs.umass.edu
//	go run ./examples/dns/dig -roots /tmp/hier/named.root -p 5301 gaia.cs.umass.edu +trace
//
// Interrupt it to stop every server.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"appnet.dev/dns/hierarchy"
)

func main() {
	port := flag.Int("port", 0, "port of every server (0: a free one)")
	dir := flag.String("dir", "", "directory to write the zone files and named.root into")
	trace := flag.Bool("trace", false, "print every query and reply")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *port, *dir, *trace); err != nil {
		fmt.Fprintln(os.Stderr, "hierarchy:", err)
		os.Exit(1)
	}
}

// run starts the hierarchy, describes it on w and serves until ctx ends.
func run(ctx context.Context, w io.Writer, port int, dir string, trace bool) error {
	cfg := hierarchy.Config{Loopback: true, Port: port, Dir: dir}
	if trace {
		cfg.Trace = w
	}
	in, err := hierarchy.Start(cfg)
	if err != nil {
		return err
	}
	defer in.Close()
	fmt.Fprintf(w, "the local Internet, every server on port %d:\n", in.Port)
	for _, h := range in.Hosts {
		fmt.Fprintf(w, "  %-15s %-26s %s\n", h.Public, h.Name, strings.Join(h.Zones, " "))
	}
	if dir != "" {
		fmt.Fprintf(w, "zone files and root hints (named.root) written to %s\n", dir)
	}
	<-ctx.Done()
	return nil
}
