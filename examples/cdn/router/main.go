// Command router is a CDN's request routing: KingCDN's authoritative DNS
// server, answering each resolver (or client subnet, with EDNS Client
// Subnet) with the best healthy edge, and an HTTP router answering 302 to
// that edge. The edges and coverage zones come from a map file (see
// cdn.Map); a monitor checks the edges' health and load.
//
// A whole KingCDN on one Linux machine (127.0.0.x needs no setup there),
// with the map in cdn/testdata/kingcdn.map:
//
//	go run ./examples/cdn/origin -addr 127.0.0.4:8000 &
//	go run ./examples/cdn/edge -addr 127.0.0.11:8080 -origin http://127.0.0.4:8000 -name bos1 &
//	go run ./examples/cdn/edge -addr 127.0.0.21:8080 -origin http://127.0.0.4:8000 -name nyc1 &
//	go run ./examples/cdn/router -dns 127.0.0.1:5353 -http 127.0.0.1:8081 -edges cdn/testdata/kingcdn.map -trace
//	dig @127.0.0.1 -p 5353 netc6y-b23v.kingcdn.com +subnet=10.1.2.0/24   # bos1
//	dig @127.0.0.1 -p 5353 netc6y-b23v.kingcdn.com +subnet=10.2.0.0/24   # nyc1
//	curl -si http://127.0.0.1:8081/6Y7B23V/manifest.mpd | grep Location
//
// Edges of the map that are not running fail their health checks and are
// never handed out.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"sync"

	"appnet.dev/cdn"
	"appnet.dev/dns"
	"appnet.dev/sockets/web"
)

func main() {
	dnsAddr := flag.String("dns", "127.0.0.1:5353", "DNS listen `address` (UDP and TCP); empty for none")
	httpAddr := flag.String("http", "127.0.0.1:8081", "HTTP redirect listen `address`; empty for none")
	edges := flag.String("edges", "", "map `file` of clusters, edges and coverage zones")
	zone := flag.String("zone", "kingcdn.com", "the CDN's DNS zone")
	ttl := flag.Uint("ttl", cdn.DefaultTTL, "TTL of DNS answers in seconds")
	maxLoad := flag.Int64("max-load", 0, "load from which an edge counts as overloaded (0: no limit)")
	interval := flag.Duration("check", cdn.DefaultCheckInterval, "health check interval")
	trace := flag.Bool("trace", false, "print every routing decision")
	flag.Parse()

	f, err := os.Open(*edges)
	if err != nil {
		log.Fatalf("router: -edges: %v", err)
	}
	m, err := cdn.ParseMap(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	zoneName, err := dns.ParseName(*zone)
	if err != nil {
		log.Fatalf("router: -zone: %v", err)
	}
	ns, _ := zoneName.Child("ns")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	mon := &cdn.Monitor{Nodes: m.Nodes, Interval: *interval, Trace: os.Stdout}
	mon.Check(ctx)
	r := &cdn.Router{Map: m, Monitor: mon, MaxLoad: *maxLoad}

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		mon.Run(ctx)
	}()

	if *dnsAddr != "" {
		d := &cdn.DNSRouter{Router: r, Zone: zoneName, NS: ns, TTL: uint32(*ttl), Answers: 2}
		if *trace {
			d.Trace = os.Stdout
		}
		pc, ln, err := dns.Listen(*dnsAddr)
		if err != nil {
			log.Fatal(err)
		}
		srv := &dns.Server{Handler: d}
		fmt.Printf("router: DNS for %s on %s\n", zoneName, pc.LocalAddr())
		wg.Add(2)
		go func() {
			defer wg.Done()
			srv.ServeBoth(pc, ln)
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			srv.Close()
		}()
	}
	if *httpAddr != "" {
		red := &cdn.Redirector{Router: r}
		if *trace {
			red.Trace = os.Stdout
		}
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			log.Fatal(err)
		}
		srv := &web.Server{Handler: red}
		fmt.Printf("router: HTTP redirects on http://%s/\n", ln.Addr())
		wg.Add(2)
		go func() {
			defer wg.Done()
			srv.Serve(ln)
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			srv.Close()
		}()
	}
	<-ctx.Done()
}
