// Command torrent makes, inspects, seeds and downloads torrents with
// appnet's BitTorrent client.
//
//	torrent create -tracker http://127.0.0.1:6969/announce [-piece 262144] -o t.torrent PATH
//	torrent info t.torrent
//	torrent seed -addr 127.0.0.2:6881 -dir DIR t.torrent
//	torrent get  -addr 127.0.0.3:6881 -dir OUT t.torrent
//
// seed verifies the files in DIR and serves them until interrupted. get
// downloads into OUT with a progress line (pieces, rate, peers, ETA),
// verifies every piece again at the end, and exits; -seed keeps it
// seeding afterwards; -trace prints every wire message (named by our
// address for ours, by the peer's for theirs), -v the choking rounds and piece choices.
// Both announce to the torrent's trackers from the IP
// of -addr, so peers on 127.0.0.x addresses each appear at their own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"appnet.dev/bittorrent"
	"appnet.dev/bittorrent/metainfo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "torrent:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  torrent create -tracker URL [-piece 262144] -o t.torrent PATH
  torrent info t.torrent
  torrent seed -addr IP:PORT -dir DIR t.torrent
  torrent get -addr IP:PORT -dir OUT [-seed] t.torrent`

func run(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "create":
		return create(ctx, args[1:], w)
	case "info":
		return info(args[1:], w)
	case "seed":
		return serve(ctx, args[1:], w, true)
	case "get":
		return serve(ctx, args[1:], w, false)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func create(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	trackerURL := fs.String("tracker", "", "the tracker's announce `URL`")
	piece := fs.Int64("piece", 256<<10, "piece length in `bytes`")
	out := fs.String("o", "", "write the torrent to `file`")
	private := fs.Bool("private", false, "mark the torrent private (BEP 27)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *out == "" || *trackerURL == "" {
		return errors.New(usage)
	}
	mi, err := metainfo.Create(ctx, fs.Arg(0), metainfo.CreateOptions{
		Announce: *trackerURL, PieceLength: *piece, Private: *private, CreatedBy: "appnet",
		Progress: func(done, total int64) {
			fmt.Fprintf(w, "\rhashing %3.0f%%", 100*float64(done)/float64(max(total, 1)))
		},
	})
	fmt.Fprintln(w)
	if err != nil {
		return err
	}
	b, err := mi.Bytes()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: info hash %s, %d pieces of %d bytes\n", *out, mi.InfoHash(), mi.Info.NumPieces(), mi.Info.PieceLength)
	return nil
}

func info(args []string, w io.Writer) error {
	if len(args) != 1 {
		return errors.New(usage)
	}
	mi, err := metainfo.Load(args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "name:       %s\n", mi.Info.Name)
	fmt.Fprintf(w, "info hash:  %s\n", mi.InfoHash())
	fmt.Fprintf(w, "magnet:     %s\n", mi.Magnet())
	for _, u := range mi.Trackers() {
		fmt.Fprintf(w, "tracker:    %s\n", u)
	}
	fmt.Fprintf(w, "length:     %d bytes\n", mi.Info.TotalLength())
	fmt.Fprintf(w, "pieces:     %d of %d bytes\n", mi.Info.NumPieces(), mi.Info.PieceLength)
	if mi.Info.Private {
		fmt.Fprintln(w, "private:    yes")
	}
	if mi.Comment != "" {
		fmt.Fprintf(w, "comment:    %s\n", mi.Comment)
	}
	if mi.CreatedBy != "" {
		fmt.Fprintf(w, "created by: %s\n", mi.CreatedBy)
	}
	for _, f := range mi.Info.FileRanges() {
		fmt.Fprintf(w, "file:       %s (%d bytes)\n", strings.Join(f.Path, "/"), f.Length)
	}
	return nil
}

func serve(ctx context.Context, args []string, w io.Writer, seeding bool) error {
	name := "get"
	if seeding {
		name = "seed"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "accept peers at `IP:PORT`")
	dir := fs.String("dir", ".", "the torrent's files are in (or go to) `DIR`")
	peers := fs.String("peers", "", "comma-separated `IP:PORT`s to connect to, besides the tracker's")
	choker := fs.String("choker", "bep3", "choking policy: bep3, mainline or slides")
	stay := fs.Bool("seed", false, "get: keep seeding after the download")
	verbose := fs.Bool("v", false, "print choking rounds, piece choices and bans")
	trace := fs.Bool("trace", false, "print every peer wire message to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New(usage)
	}
	mi, err := metainfo.Load(fs.Arg(0))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ip := ln.Addr().(*net.TCPAddr).IP
	ch, ok := bittorrent.ChokerPreset(*choker)
	if !ok {
		ln.Close()
		return fmt.Errorf("unknown choker %q", *choker)
	}
	cfg := bittorrent.Config{Dir: *dir, Choker: ch, ReadOnly: seeding}
	if len(mi.Trackers()) > 0 {
		local := ip
		if local.IsUnspecified() {
			local = nil
		}
		cfg.Tracker = bittorrent.NewTrackers(mi, local)
	}
	if *trace {
		cfg.Trace = os.Stderr
	}
	if *verbose {
		cfg.OnEvent = func(e bittorrent.Event) {
			if e.Kind != bittorrent.EventVerified {
				fmt.Fprintf(w, "\n%s %v", e.Time.Format("15:04:05.000"), e)
			}
		}
	}
	fmt.Fprintf(w, "verifying %s ...\n", *dir)
	t, err := bittorrent.Open(ctx, mi, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer t.Close()
	st := t.Stats()
	fmt.Fprintf(w, "%s: %d of %d pieces on disk; listening on %s\n", mi.Info.Name, st.Pieces, st.NumPieces, ln.Addr())
	if seeding && st.Pieces != st.NumPieces {
		return fmt.Errorf("%s holds %d of %d pieces: nothing complete to seed", *dir, st.Pieces, st.NumPieces)
	}
	if err := t.Start(ln); err != nil {
		return err
	}
	for _, p := range strings.Split(*peers, ",") {
		if p != "" {
			t.AddPeer(p)
		}
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	if !seeding {
	download:
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintln(w)
				return ctx.Err()
			case <-t.Complete():
				break download
			case <-tick.C:
				progress(w, t.Stats())
			}
		}
		progress(w, t.Stats())
		elapsed := time.Since(start)
		fmt.Fprintf(w, "\ndownloaded %d bytes in %v (%.1f MiB/s); verifying ...\n",
			st.Length, elapsed.Round(time.Millisecond), float64(st.Length)/elapsed.Seconds()/(1<<20))
		have, err := t.Storage().Verify(ctx, nil)
		if err != nil {
			return err
		}
		if !have.Complete() {
			return fmt.Errorf("final verify: %d of %d pieces good", have.Count(), have.Len())
		}
		fmt.Fprintf(w, "verified all %d pieces\n", have.Len())
		if !*stay {
			return nil
		}
	}
	fmt.Fprintln(w, "seeding; interrupt to stop")
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(w)
			return nil
		case <-tick.C:
			s := t.Stats()
			fmt.Fprintf(w, "\rseeding: %d peers, up %s/s, %s sent   ", s.Peers, size(s.UploadRate), size(float64(s.Uploaded)))
		}
	}
}

// progress prints the download's line: a bar, pieces, rate, peers, ETA.
func progress(w io.Writer, s bittorrent.Stats) {
	const width = 30
	done := float64(s.Pieces) / float64(max(s.NumPieces, 1))
	bar := strings.Repeat("#", int(done*width)) + strings.Repeat(".", width-int(done*width))
	eta := "--"
	if s.DownloadRate > 0 {
		eta = (time.Duration(float64(s.Left)/s.DownloadRate) * time.Second / time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(w, "\r[%s] %d/%d pieces  %s/s  %d peers  ETA %s   ", bar, s.Pieces, s.NumPieces, size(s.DownloadRate), s.Peers, eta)
}

func size(n float64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", n/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}
