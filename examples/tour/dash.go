package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"appnet.dev/dash"
)

// dashChapter streams netcinema.com's trailer: encode it with the toy codec
// (spatial and temporal coding) at three rates, cut it into chunks with a
// manifest, serve it over HTTP, and play it while the bandwidth drops from
// 4 Mbit/s to 300 kbit/s, printing each chunk's decision and the QoE.
// demoSpeed is how many times faster than real time the chapter plays.
const demoSpeed = 10

func dashChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	fmt.Fprintln(w, "Video: images at a constant rate (24 per second); each pixel a colour number.")
	src := dash.Synthetic{FPS: 24, SceneFrames: 96, Seed: 6723}
	f0, f1 := src.Frame(0, 640, 360), src.Frame(1, 640, 360)
	key := dash.AppendFrame(nil, dash.KeyFrame, 1, f0, dash.Frame{})
	delta := dash.AppendFrame(nil, dash.DeltaFrame, 1, f1, f0)
	fmt.Fprintf(w, "  frame i:    %d pixels; spatial coding (N values of purple sent as purple, N): %d bytes\n", len(f0.Pix), len(key))
	fmt.Fprintf(w, "  frame i+1:  temporal coding (only the differences from frame i): %d bytes\n\n", len(delta))

	content := dash.DemoContent(10 * time.Second)
	e, err := content.Encode()
	if err != nil {
		return "", err
	}
	fmt.Fprintln(w, "DASH server: the video divided into 1 s chunks, each encoded at three rates (VBR):")
	set := e.MPD.Periods[0].AdaptationSets[0]
	for _, r := range set.Representations {
		fmt.Fprintf(w, "  %-4s %dx%-4d mean %s, peak %s\n", r.ID, r.Width, r.Height,
			dash.Mbps(e.Bitrate(r.ID, time.Second)), dash.Mbps(float64(r.Bandwidth)))
	}
	cbr := content
	cbr.Duration = 4 * time.Second // a few chunks show it
	cbr.Rates = []dash.Rate{{ID: "cbr", Width: 320, Height: 180, Bitrate: 300e3}}
	ce, err := cbr.Encode()
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "  (CBR at 300 kbit/s instead: every chunk %d bytes, quantizer steps %v)\n", ce.Sizes["cbr"][0], ce.Steps["cbr"])
	fmt.Fprintf(w, "manifest file (MPD) with the URLs: media=%q\n\n", set.SegmentTemplate.Media)
	if err := e.WriteDir(dir); err != nil {
		return "", err
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var serverLog strings.Builder
	srv := &dash.Server{FS: e.Files, Trace: &serverLog}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()
	mpdURL := "http://" + ln.Addr().String() + "/" + dash.ManifestName

	fmt.Fprintln(w, "DASH client: measures bandwidth, consults the manifest, requests one chunk at a time.")
	fmt.Fprintf(w, "The link gives 4 Mbit/s for 3 s, then 300 kbit/s (throttled in process; played at %d× speed,\n", demoSpeed)
	fmt.Fprintln(w, "the clock and the link both that much faster, so every time below is the video's own).")
	drop, err := dash.NewTrace("drop", []dash.TracePoint{{At: 0, Bandwidth: 4e6}, {At: 3 * time.Second, Bandwidth: 300e3}}, time.Hour)
	if err != nil {
		return "", err
	}
	// Waits with a full buffer are skipped and count as trace time; the
	// clock runs demoSpeed times the wall clock, and the real link is
	// demoSpeed times the trace's rate.
	clock := &dash.SkipClock{Speed: demoSpeed}
	rate := dash.TraceRate(drop, clock)
	p := &dash.Player{
		Client:    dash.LimitedClient(func() float64 { return demoSpeed * rate() }, 10*time.Millisecond/demoSpeed, nil),
		Rule:      dash.Throughput{},
		Clock:     clock,
		BufferCap: 4 * time.Second,
		Trace:     w,
		Decode:    true,
		Abandon:   true, // give up on a chunk caught by the drop
	}
	rep, err := p.Play(ctx, mpdURL)
	if err != nil {
		return "", err
	}
	if err := srv.Shutdown(ctx); err != nil {
		return "", err
	}
	if err := <-served; !errors.Is(err, dash.ErrServerClosed) {
		return "", err
	}
	served <- dash.ErrServerClosed // for the deferred shutdown
	lines := strings.Split(strings.TrimSpace(serverLog.String()), "\n")
	fmt.Fprintf(w, "\nthe server saw %d requests; the first ones:\n", len(lines)/2)
	for _, l := range lines[:min(6, len(lines))] {
		fmt.Fprintf(w, "  %s\n", l)
	}
	s := rep.Summary
	fmt.Fprintf(w, "\nplayout buffer: start-up delay %.2fs, %d stalls (%.2fs), %d frames decoded\n",
		s.StartupDelay.Seconds(), s.Rebuffers, s.RebufferTime.Seconds(), rep.Frames)
	first, last := rep.Chunks[1], rep.Chunks[len(rep.Chunks)-1]
	if first.Quality <= last.Quality {
		return "", fmt.Errorf("the player did not come down after the drop (quality %d, then %d)", first.Quality, last.Quality)
	}
	return fmt.Sprintf("%d chunks, %s then %s after the drop, %d switches, %d stalls, QoE_lin %.3f per chunk",
		s.Chunks, dash.Mbps(first.Bitrate), dash.Mbps(last.Bitrate), s.Switches, s.Rebuffers, s.QoELin), nil
}
