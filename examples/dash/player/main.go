// Command player is a DASH client: it fetches the manifest, then one chunk
// at a time, choosing each chunk's rate with an ABR rule, over a link
// throttled in process to a fixed rate or to a bandwidth trace. It prints
// one line per chunk (rate chosen, throughput, estimate, buffer, reason)
// and a summary, and can plot buffer and bitrate over time as SVG. If the
// manifest has sound, its lowest audio rate is fetched beside the video.
// One-file-per-rate manifests (SegmentBase) are played by byte range. A
// manifest of several Periods is played Period after Period in one
// session, each Period's rates joined to the first's by rank.
//
// ffmpeg makes such content; the player plays it from examples/dash/server:
//
//	ffmpeg -f lavfi -i testsrc2=duration=20 -f lavfi -i sine=duration=20 -map 0:v -map 0:v -map 1:a \
//	    -c:v libx264 -g 50 -b:v:0 1M -b:v:1 300k -c:a aac -adaptation_sets "id=0,streams=v id=1,streams=a" \
//	    -f dash -seg_duration 2 /tmp/av/manifest.mpd
//	go run ./examples/dash/server -dir /tmp/av
//
//	go run ./examples/dash/player -mpd http://127.0.0.1:8080/manifest.mpd -abr bola -limit 300kbps
//	go run ./examples/dash/player -mpd … -limit dash/testdata/traces/3g-1.cooked -svg session.svg
//	go run ./examples/dash/player -mpd … -abr rollout -abandon -limit dash/testdata/traces/lte-3.cooked
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"appnet.dev/dash"
)

func main() {
	mpdURL := flag.String("mpd", "http://127.0.0.1:8080/manifest.mpd", "the manifest's `URL`")
	abr := flag.String("abr", "dynamic", "ABR `rule`: throughput, bba, bola, mpc, robustmpc, smpc, fugu, rollout, learned or dynamic")
	limit := flag.String("limit", "", "bandwidth: a `rate` such as 1.5Mbps, or a .cooked or Mahimahi trace file")
	latency := flag.Duration("latency", 0, "delay added to each round trip")
	bufCap := flag.Duration("buffer", 30*time.Second, "buffer cap")
	servers := flag.String("servers", "", "comma-separated http://host:port `list` to fetch chunks from instead of the MPD's")
	svg := flag.String("svg", "", "write a plot of buffer and bitrate to this `file`")
	fast := flag.Bool("fast", false, "do not wait while the buffer is full (skip idle time)")
	abandon := flag.Bool("abandon", false, "give up on a chunk that arrives too slowly and fetch it at a lower rate")
	flag.Parse()
	if err := run(*mpdURL, *abr, *limit, *latency, *bufCap, *servers, *svg, *fast, *abandon); err != nil {
		fmt.Fprintln(os.Stderr, "player:", err)
		os.Exit(1)
	}
}

func run(mpdURL, abr, limit string, latency, bufCap time.Duration, servers, svg string, fast, abandon bool) error {
	rule, err := dash.RuleByName(abr)
	if err != nil {
		return err
	}
	p := &dash.Player{Rule: rule, BufferCap: bufCap, Trace: os.Stdout, Decode: true, Abandon: abandon}
	if fast {
		p.Clock = &dash.SkipClock{}
	}
	if servers != "" {
		p.Servers = strings.Split(servers, ",")
	}
	if limit != "" {
		tr, err := loadLimit(limit)
		if err != nil {
			return err
		}
		p.Client = dash.LimitedClient(dash.TraceRate(tr, p.Clock), latency, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := p.Play(ctx, mpdURL)
	if err != nil {
		return err
	}
	printSummary(os.Stdout, rep)
	if svg != "" {
		f, err := os.Create(svg)
		if err != nil {
			return err
		}
		writeSVG(f, rep)
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func loadLimit(s string) (*dash.Trace, error) {
	if bps, err := dash.ParseRate(s); err == nil {
		return dash.ConstantTrace(bps), nil
	}
	f, err := os.Open(s)
	if err != nil {
		return nil, fmt.Errorf("-limit %q is neither a rate nor a trace file: %w", s, err)
	}
	defer f.Close()
	if strings.HasSuffix(s, ".cooked") {
		return dash.ParseCooked(f, s)
	}
	return dash.ParseMahimahi(f, s)
}

func printSummary(w io.Writer, rep *dash.Report) {
	s := rep.Summary
	fmt.Fprintf(w, "\n%d chunks, mean bitrate %s, %d switches, start-up %.2fs, %d stalls for %.2fs\n",
		s.Chunks, dash.Mbps(s.AvgBitrate), s.Switches, s.StartupDelay.Seconds(), s.Rebuffers, s.RebufferTime.Seconds())
	fmt.Fprintf(w, "QoE per chunk: lin %.3f, log %.3f, HD %.3f\n", s.QoELin, s.QoELog, s.QoEHD)
	if len(rep.Periods) > 1 {
		for _, p := range rep.Periods {
			fmt.Fprintf(w, "period %d (id %q) at %v: chunks %d to %d\n", p.Index, p.ID, p.Start, p.First, p.First+p.Chunks-1)
		}
	}
	if rep.AudioID != "" {
		fmt.Fprintf(w, "audio: Representation %s, %d segments, %d kB\n", rep.AudioID, rep.AudioSegments, (rep.AudioBytes+500)/1000)
	}
	for _, srv := range rep.Servers {
		fmt.Fprintf(w, "server %s: %s measured, %d failures\n", srv.URL, dash.Mbps(srv.Estimate), srv.Failures)
	}
}

// writeSVG plots the buffer level (seconds, left axis) and the chosen
// bitrate (right axis) against the session clock.
func writeSVG(w io.Writer, rep *dash.Report) {
	const W, H, pad = 800.0, 300.0, 40.0
	var end, maxBuf, maxRate float64
	for _, c := range rep.Chunks {
		end = max(end, (c.Start + c.Download + c.Sleep).Seconds())
		maxBuf = max(maxBuf, c.Buffer.Seconds())
	}
	for _, p := range rep.Periods {
		for _, b := range p.Bitrates {
			maxRate = max(maxRate, b)
		}
	}
	end, maxBuf, maxRate = max(end, 1), max(maxBuf, 1), max(maxRate, 1)
	x := func(t float64) float64 { return pad + t/end*(W-2*pad) }
	yb := func(b float64) float64 { return H - pad - b/maxBuf*(H-2*pad) }
	yr := func(r float64) float64 { return H - pad - r/maxRate*(H-2*pad) }
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="11">`+"\n", W, H)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="black"/>`+"\n", pad, H-pad, W-pad, H-pad)
	fmt.Fprintf(w, `<text x="%g" y="%g">buffer (s, blue, max %.1f)</text>`+"\n", pad, pad-10, maxBuf)
	fmt.Fprintf(w, `<text x="%g" y="%g" text-anchor="end">bitrate (red, max %s)</text>`+"\n", W-pad, pad-10, dash.Mbps(maxRate))
	fmt.Fprintf(w, `<text x="%g" y="%g" text-anchor="end">%.1f s</text>`+"\n", W-pad, H-pad+15, end)
	// Buffer: rises by a chunk when one arrives, drains while downloading.
	var buf, rate strings.Builder
	for i, c := range rep.Chunks {
		before := c.Buffer - c.State.SegmentDuration
		if before < 0 {
			before = 0
		}
		t0, t1 := c.Start.Seconds(), (c.Start + c.Download).Seconds()
		if i == 0 {
			fmt.Fprintf(&buf, "M%.1f,%.1f ", x(t0), yb(c.State.Buffer.Seconds()))
		}
		fmt.Fprintf(&buf, "L%.1f,%.1f L%.1f,%.1f ", x(t1), yb(before.Seconds()), x(t1), yb(c.Buffer.Seconds()))
		if c.Sleep > 0 {
			fmt.Fprintf(&buf, "L%.1f,%.1f ", x(t1+c.Sleep.Seconds()), yb((c.Buffer - c.Sleep).Seconds()))
		}
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&rate, "%s%.1f,%.1f L%.1f,%.1f ", cmd, x(t0), yr(c.Bitrate), x(t1+c.Sleep.Seconds()), yr(c.Bitrate))
	}
	fmt.Fprintf(w, `<path d="%s" fill="none" stroke="blue" stroke-width="1.5"/>`+"\n", buf.String())
	fmt.Fprintf(w, `<path d="%s" fill="none" stroke="red" stroke-width="1.5"/>`+"\n", rate.String())
	fmt.Fprintln(w, "</svg>")
}
