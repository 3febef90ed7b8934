package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"appnet.dev/bittorrent"
	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/tracker"
	"appnet.dev/sockets"
)

// bittorrentChapter runs the slides' BitTorrent on loopback: a tracker,
// one seed (gaia) and five leechers, each on its own 127.0.0.x address
// (all on 127.0.0.1 where only that exists), swap a video file over links
// slowed to 192 KiB/s per connection. It prints who unchokes whom each
// time that changes (tit-for-tat, the slides' choker with its 10 s and
// 30 s shortened to 1 s and 3 s), the pieces each leecher picks (random
// first, then rarest first), and when each finishes. Dave leaves as soon
// as he is done; the others stay and seed.
func bittorrentChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	names := []string{"gaia", "alice", "bob", "carol", "dave", "erin"}
	ips := make([]net.IP, len(names))
	multi := true
	for i := range names {
		ips[i] = net.IPv4(127, 0, 0, byte(2+i))
	}
	if ln, err := net.Listen("tcp", ips[1].String()+":0"); err != nil {
		multi = false // macOS: only 127.0.0.1 without setup
		for i := range ips {
			ips[i] = net.IPv4(127, 0, 0, 1)
		}
	} else {
		ln.Close()
	}

	// The tracker tracks the peers participating in the torrent.
	ts := &tracker.Server{TrustIP: true, Interval: time.Second, MinInterval: time.Second}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	served := make(chan struct{})
	go func() { ts.Serve(tl); close(served) }()
	defer func() { ts.Close(); <-served }()
	announce := "http://" + tl.Addr().String() + "/announce"

	// gaia has the whole file: 1.5 MiB in 24 pieces of 64 KiB.
	seedDir := filepath.Join(dir, "gaia")
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		return "", err
	}
	video := make([]byte, 3<<19)
	rng := rand.New(rand.NewPCG(6, 7))
	for i := range video {
		video[i] = byte(rng.Uint32())
	}
	file := filepath.Join(seedDir, "netcinema-6Y7B23V.mp4")
	if err := os.WriteFile(file, video, 0o644); err != nil {
		return "", err
	}
	mi, err := metainfo.Create(ctx, file, metainfo.CreateOptions{Announce: announce, PieceLength: 64 << 10})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "torrent: %s, %d bytes in %d pieces of %d KiB, info hash %s\n",
		mi.Info.Name, mi.Info.TotalLength(), mi.Info.NumPieces(), mi.Info.PieceLength>>10, mi.InfoHash())
	fmt.Fprintf(w, "tracker: %s\n", announce)
	if !multi {
		fmt.Fprintln(w, "(only 127.0.0.1 is available: every peer shares it)")
	}

	var mu sync.Mutex // serialises the peers' lines
	start := time.Now()
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "[%4.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	nameOf := func(addr string) string {
		host, _, _ := net.SplitHostPort(addr)
		for i, ip := range ips {
			if multi && ip.String() == host {
				return names[i]
			}
		}
		return addr
	}
	link := sockets.Link{Rate: 192 << 10}
	choker := bittorrent.ChokerSlides()
	choker.RechokeInterval, choker.OptimisticInterval, choker.NewPeerAge = time.Second, 3*time.Second, 3*time.Second

	torrents := make([]*bittorrent.Torrent, len(names))
	defer func() {
		for _, t := range torrents {
			if t != nil {
				t.Close()
			}
		}
	}()
	finished := make([]time.Duration, len(names))
	for i, name := range names {
		peerDir := filepath.Join(dir, name)
		if i == 0 {
			peerDir = seedDir
		}
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ips[i]}, Timeout: 5 * time.Second}
		lastRound := ""
		picks := map[string]int{}
		cfg := bittorrent.Config{
			Dir:     peerDir,
			Tracker: bittorrent.NewTrackers(mi, ips[i]),
			Choker:  choker,
			Seed:    uint64(i + 1),
			Tick:    100 * time.Millisecond,
			Dial: func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					return nil, err
				}
				return sockets.Throttle(c, link), nil
			},
			OnEvent: func(e bittorrent.Event) {
				switch e.Kind {
				case bittorrent.EventRound:
					var parts []string
					for _, c := range e.Unchoked {
						parts = append(parts, fmt.Sprintf("%s (%v)", nameOf(c.ID), c.Reason))
					}
					line := strings.Join(parts, ", ")
					if line != lastRound && line != "" {
						say("%-5s unchokes %s", name, line)
					}
					lastRound = line
				case bittorrent.EventPick:
					// The first few of each kind: random first, rarest first, endgame.
					if picks[e.Reason]++; picks[e.Reason] <= map[string]int{"random first": 2, "rarest first": 3}[e.Reason]+1 {
						say("%-5s requests piece %2d from %s: %s (%d of its neighbours have it)", name, e.Piece, nameOf(e.Peer), e.Reason, e.Holders)
					}
				case bittorrent.EventComplete:
					finished[i] = time.Since(start)
					say("%-5s has all %d pieces, every one verified by SHA-1", name, mi.Info.NumPieces())
				case bittorrent.EventBanned:
					say("%-5s bans %s", name, nameOf(e.Peer))
				}
			},
		}
		if name == "alice" {
			// Alice's first messages on the wire: the handshake, the
			// bitfields (each peer's list of chunks), interest, unchoke,
			// requests.
			cfg.Trace = &wireLines{max: 12, say: func(line string) {
				addr, msg, _ := strings.Cut(line, ": ")
				say("  %s: %s", nameOf(addr), msg)
			}}
		}
		t, err := bittorrent.Open(ctx, mi, cfg)
		if err != nil {
			return "", err
		}
		torrents[i] = t
		ln, err := net.Listen("tcp", ips[i].String()+":0")
		if err != nil {
			return "", err
		}
		st := t.Stats()
		role := "joins with no pieces: registers with the tracker, connects to neighbours"
		if i == 0 {
			role = fmt.Sprintf("seeds: has all %d pieces", st.Pieces)
		}
		say("%-5s at %s %s", name, ln.Addr(), role)
		if err := t.Start(sockets.ThrottleListener(ln, link)); err != nil {
			return "", err
		}
	}

	// Wait for every leecher; dave leaves selfishly once he has the file.
	for i := 1; i < len(names); i++ {
		select {
		case <-torrents[i].Complete():
		case <-ctx.Done():
			return "", fmt.Errorf("%s did not finish: %w", names[i], ctx.Err())
		}
		if names[i] == "dave" {
			torrents[i].Close()
			say("dave  leaves the torrent (selfishly); the others stay and seed")
		}
	}
	var seedUp, peersUp, wasted int64
	for i, t := range torrents {
		s := t.Stats()
		wasted += s.Wasted
		if i == 0 {
			seedUp = s.Uploaded
		} else {
			peersUp += s.Uploaded
		}
	}
	for i := 1; i < len(names); i++ {
		got, err := os.ReadFile(filepath.Join(dir, names[i], mi.Info.Name))
		if err != nil || !slices.Equal(got, video) {
			return "", errors.Join(fmt.Errorf("%s's copy differs", names[i]), err)
		}
	}
	last := slices.Max(finished[1:])
	total := float64(seedUp + peersUp)
	fmt.Fprintf(w, "\ngaia uploaded %d KiB, the leechers %d KiB to each other (self-scalability: %.0f%% of the bytes came from peers); %d KiB arrived twice in the endgame\n",
		seedUp>>10, peersUp>>10, 100*float64(peersUp)/max(total, 1), wasted>>10)
	return fmt.Sprintf("%d leechers got %s from gaia and each other in %.1f s; peers served %.0f%% of the bytes",
		len(names)-1, mi.Info.Name, last.Seconds(), 100*float64(peersUp)/max(total, 1)), nil
}

// wireLines passes the first max lines of a wire trace to say.
type wireLines struct {
	max  int
	n    int
	say  func(string)
	rest []byte
}

func (w *wireLines) Write(p []byte) (int, error) {
	w.rest = append(w.rest, p...)
	for w.n < w.max {
		i := slices.Index(w.rest, '\n')
		if i < 0 {
			break
		}
		w.say(string(w.rest[:i]))
		w.rest = w.rest[i+1:]
		w.n++
	}
	if w.n >= w.max {
		w.rest = nil
	}
	return len(p), nil
}
