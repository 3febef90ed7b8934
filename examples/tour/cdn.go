package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"appnet.dev/cdn"
	"appnet.dev/cdn/netcinema"
	"appnet.dev/dash"
)

// cdnChapter plays the slides' CDN case — Bob, netcinema.com and KingCDN,
// with an edge failing in mid-stream — and then puts numbers on "enter
// deep" versus "bring home" with the topology simulator.
func cdnChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	fmt.Fprintln(w, "Bob requests video http://netcinema.com/6Y7B23V; the video is stored in KingCDN.")
	fmt.Fprintln(w)
	// The trailer at three tiny rates, quick to encode and decode (also
	// under -race): the chapter is about where the chunks come from.
	c := dash.DemoContent(4 * time.Second)
	c.Rates = []dash.Rate{
		{ID: "low", Width: 64, Height: 36, Step: 16},
		{ID: "mid", Width: 96, Height: 54, Step: 8},
		{ID: "high", Width: 128, Height: 72, Step: 4},
	}
	enc, err := c.Encode()
	if err != nil {
		return "", err
	}
	s := &netcinema.Scene{Content: enc, FailAfter: 2, Trace: w}
	res, err := s.Run(ctx)
	if err != nil {
		return "", err
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Enter deep (20 small clusters inside access ISPs) vs bring home (2 large ones at IXPs),")
	fmt.Fprintln(w, "same storage, 50,000 requests, Zipf popularity:")
	const networks = 20
	wl := cdn.Workload{Objects: 5000, Zipf: 0.9, MinSize: 100e3, MaxSize: 2e6, Requests: 50000,
		Duration: time.Hour, Seed: 1}
	for range networks {
		wl.Weights = append(wl.Weights, 1)
	}
	trace := wl.Trace()
	lru := func() cdn.Policy { return cdn.NewLRU() }
	deep := cdn.Simulate(cdn.EnterDeep(networks, 20e9), trace, wl.Duration, lru)
	home := cdn.Simulate(cdn.BringHome(networks, 2, 20e9), trace, wl.Duration, lru)
	fmt.Fprintln(w, "  "+deep.String())
	fmt.Fprintln(w, "  "+home.String())

	fmt.Fprintln(w)
	fmt.Fprintln(w, "What to keep in a full edge? Hit ratios of one 100-object cache, 20,000 Zipf requests:")
	equal := cdn.Workload{Objects: 2000, Zipf: 0.8, MinSize: 1, MaxSize: 1, Requests: 20000, Weights: []float64{1}, Seed: 7}.Trace()
	for _, p := range []struct {
		name   string
		policy cdn.Policy
	}{
		{"LRU", cdn.NewLRU()}, {"LFU", cdn.NewLFU()}, {"ARC", cdn.NewARC()}, {"GDSF", cdn.NewGDSF()},
		{"Belady (knows the future)", cdn.NewBelady(cdn.TraceKeys(equal))},
	} {
		r := cdn.ReplayCache(equal, 100, p.policy)
		fmt.Fprintf(w, "  %-26s %5.1f%%\n", p.name, 100*r.HitRatio())
	}

	return fmt.Sprintf("Bob played %d chunks via KingCDN, %s failed mid-stream and another copy took over; enter deep median %.0f ms vs bring home %.0f ms",
		len(res.Report.Chunks), res.Failed, float64(deep.P50Latency)/1e6, float64(home.P50Latency)/1e6), nil
}
