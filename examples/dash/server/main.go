// Command server is a DASH server: it serves a directory of DASH content
// (a manifest and its chunks, ours or ffmpeg's) over HTTP, with byte ranges
// and the MIME types players expect. With -generate it first encodes the
// toy-codec netcinema.com trailer into the directory at three rates.
//
//	go run ./examples/dash/server -generate -dir /tmp/netcinema
//	go run ./examples/dash/player -mpd http://127.0.0.1:8080/manifest.mpd
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"appnet.dev/dash"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	dir := flag.String("dir", "netcinema", "the DASH `directory` to serve")
	generate := flag.Bool("generate", false, "encode toy-codec content into -dir first")
	length := flag.Duration("duration", time.Minute, "length of the generated video")
	trace := flag.Bool("trace", false, "print each request and response")
	flag.Parse()
	if err := run(*addr, *dir, *generate, *length, *trace); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(addr, dir string, generate bool, length time.Duration, trace bool) error {
	if generate {
		e, err := dash.DemoContent(length).Encode()
		if err != nil {
			return err
		}
		if err := e.WriteDir(dir); err != nil {
			return err
		}
		for _, r := range e.MPD.Periods[0].AdaptationSets[0].Representations {
			fmt.Printf("%-5s %dx%d  %s mean, %s peak, %d chunks\n", r.ID, r.Width, r.Height,
				dash.Mbps(e.Bitrate(r.ID, time.Second)), dash.Mbps(float64(r.Bandwidth)), len(e.Sizes[r.ID]))
		}
	}
	files := dash.NewCachedDir(dir) // chunks stay open between requests
	defer files.Close()
	s := &dash.Server{Addr: addr, FS: files}
	if trace {
		s.Trace = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- s.ListenAndServe() }()
	fmt.Printf("serving %s on http://%s/%s\n", dir, addr, dash.ManifestName)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, dash.ErrServerClosed) {
		return err
	}
	return nil
}
