// Command edge is a CDN edge server: a caching reverse proxy in front of an
// origin, reporting HIT, MISS, STALE or REVALIDATED in X-Cache.
//
//	go run ./examples/cdn/origin -addr 127.0.0.1:8000 &
//	go run ./examples/cdn/edge -addr 127.0.0.1:8080 -origin http://127.0.0.1:8000 -cache-size 64MB
//	curl -si http://127.0.0.1:8080/6Y7B23V/manifest.mpd | grep X-Cache   # MISS, then HIT
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"appnet.dev/cdn"
	"appnet.dev/sockets/web"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	origin := flag.String("origin", "http://127.0.0.1:8000", "origin `URL`")
	size := flag.String("cache-size", "64MB", "cache capacity (B, KB, MB, GB)")
	policy := flag.String("policy", "lru", "eviction policy: lru, lfu, arc or gdsf")
	name := flag.String("name", cdn.DefaultEdgeName, "the edge's name in Via")
	trace := flag.Bool("trace", false, "print one line per request")
	flag.Parse()

	u, err := url.Parse(*origin)
	if err != nil || u.Host == "" {
		log.Fatalf("edge: bad -origin %q", *origin)
	}
	capacity, err := parseSize(*size)
	if err != nil {
		log.Fatal(err)
	}
	var p cdn.Policy
	switch *policy {
	case "lru":
		p = cdn.NewLRU()
	case "lfu":
		p = cdn.NewLFU()
	case "arc":
		p = cdn.NewARC()
	case "gdsf":
		p = cdn.NewGDSF()
	default:
		log.Fatalf("edge: unknown policy %q", *policy)
	}
	e := &cdn.Edge{Origin: u, Cache: cdn.NewCache(capacity, p), Name: *name}
	if *trace {
		e.Trace = os.Stdout
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("edge %s: serving on http://%s/ for %s, %d-byte %s cache\n", *name, ln.Addr(), u, capacity, *policy)
	srv := &web.Server{Handler: e}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, web.ErrServerClosed) {
		log.Fatal(err)
	}
	e.Close()
}

// parseSize reads "64MB", "512KB", "1GB" or a number of bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	up := strings.ToUpper(strings.TrimSpace(s))
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(up, u.suffix) {
			up, mult = strings.TrimSuffix(up, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(up), 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("edge: bad -cache-size %q", s)
	}
	return n * mult, nil
}
