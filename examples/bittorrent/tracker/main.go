// Command tracker runs a BitTorrent tracker: the HTTP tracker (BEP 3) at
// /announce and /scrape, and the UDP tracker (BEP 15) on the same port.
//
//	go run ./examples/bittorrent/tracker -addr 127.0.0.1:6969 -trace
//
// Torrents then name http://127.0.0.1:6969/announce or
// udp://127.0.0.1:6969/announce as their tracker, for example
//
//	mktorrent -a http://127.0.0.1:6969/announce -o t.torrent FILE
//
// With -allow FILE it tracks only the torrents whose info hashes (40 hex
// digits, one a line) the file lists, as a private tracker does.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/tracker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tracker:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts the tracker down.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("tracker", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:6969", "`host:port` for both the HTTP and the UDP tracker")
	interval := fs.Duration("interval", tracker.DefaultInterval, "how long peers wait between announces")
	timeout := fs.Duration("peer-timeout", tracker.DefaultPeerTimeout, "forget peers silent for this long")
	allow := fs.String("allow", "", "track only the info hashes listed in this `file`")
	trace := fs.Bool("trace", false, "print every announce and reply")
	if err := fs.Parse(args); err != nil {
		return err
	}

	reg := &tracker.Registry{PeerTimeout: *timeout}
	if *allow != "" {
		set, err := readAllowList(*allow)
		if err != nil {
			return err
		}
		reg.Allow = func(h metainfo.Hash) bool { return set[h] }
	}
	srv := &tracker.Server{Backend: reg, Interval: *interval, MinInterval: min(*interval, tracker.DefaultMinInterval)}
	if *trace {
		srv.Trace = stdout
	}
	l, pc, err := tracker.ListenBoth(*addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tracker: http://%s/announce and udp://%s/announce\n", l.Addr(), pc.LocalAddr())

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(l) }()
	go func() { errc <- srv.ServePacket(pc) }()
	pending := 2
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc: // a listener failed: stop the other one too
		pending--
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	for ; pending > 0; pending-- {
		if e := <-errc; first == nil {
			first = e
		}
	}
	if first != nil && !errors.Is(first, tracker.ErrServerClosed) {
		return first
	}
	return err
}

func readAllowList(path string) (map[metainfo.Hash]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set := map[metainfo.Hash]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		h, err := metainfo.ParseHash(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		set[h] = true
	}
	return set, sc.Err()
}
