package dash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// This file is the DASH client's intelligence, in one place. The slides
// say the client decides three things for every chunk:
//
//   - WHEN to request it: not while the buffer is full (sleep instead);
//   - WHAT encoding rate to request: the ABR Rule, from the buffer level
//     and the measured throughput;
//   - WHERE to request it from: the server, among the MPD's copies.
//
// A chunkLoop makes those decisions; a network carries them out. The
// Simulator's network is a bandwidth trace in virtual time, the Player's is
// HTTP and a Clock, so both run exactly the same step.

// A network is what a chunkLoop downloads through.
type network interface {
	// now is the session clock: time since the session began.
	now() time.Duration
	// get downloads chunk i at quality q from server (-1 if there is only
	// one place). If watch is not nil it is asked while the chunk arrives
	// (bytes so far, the chunk's size, time since the request) whether to
	// give up; get then returns an abandonedError. size counts every byte
	// received, an initialization segment included, even on error. secs is
	// how long the chunk's download took (since the first request for it)
	// by the network's own reckoning, or 0 to time it by now.
	get(ctx context.Context, server, i, q int, watch func(received, total int64, elapsed time.Duration) bool) (size int64, secs float64, err error)
	// sleep waits d while the buffer is full.
	sleep(ctx context.Context, d time.Duration) error
	// paused waits, while the viewer has paused with a full buffer, for the
	// viewer's next command.
	paused(ctx context.Context) error
}

// fatalError is a download error that trying another server cannot mend
// (a chunk that does not decode).
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// A chunkLoop is one DASH client session: the decisions, the estimator, the
// playout buffer and the log.
type chunkLoop struct {
	net      network
	rule     Rule
	est      Estimator
	bufCap   time.Duration
	bitrates []float64
	segDur   time.Duration
	count    int
	sizes    [][]int64 // known sizes, given to the Rule (may be nil)
	abandon  bool
	servers  []ServerStat // empty: a single place, no choice
	where    func([]ServerStat) (int, string)
	trace    io.Writer

	play     Playout
	lastTick time.Duration
	hist     []float64
	errs     []float64
	last     int
	prevRule string
	chunks   []ChunkLog
}

func newChunkLoop(n network, rule Rule, est Estimator, bufCap time.Duration) *chunkLoop {
	return &chunkLoop{net: n, rule: rule, est: est, bufCap: bufCap, last: -1}
}

// tick moves the playout buffer to the network's clock and returns how long
// playout stalled meanwhile.
func (l *chunkLoop) tick() time.Duration {
	now := l.net.now()
	w := l.play.Advance(now - l.lastTick)
	l.lastTick = now
	return w
}

// size is chunk i's size at quality q: known, or bitrate × duration.
func (l *chunkLoop) size(i, q int) int64 {
	if i < len(l.sizes) && q < len(l.sizes[i]) {
		return l.sizes[i][q]
	}
	return int64(l.bitrates[q] / 8 * l.segDur.Seconds())
}

// step fetches chunk i: what rate, where from, then when to ask for the
// next one.
func (l *chunkLoop) step(ctx context.Context, i int) (ChunkLog, error) {
	l.tick()
	start := l.lastTick

	// WHAT rate: the ABR Rule, a pure function of the state.
	st := State{
		Index: i, Count: l.count, Bitrates: l.bitrates, SegmentDuration: l.segDur,
		Buffer: l.play.Buffer(), BufferCap: l.bufCap, Last: l.last,
		Throughputs: l.hist[:len(l.hist):len(l.hist)], Estimate: l.est.Estimate(),
		Sizes: l.sizes, PrevRule: l.prevRule, PredictionErrors: l.errs,
	}
	d := l.rule.Choose(st)

	// ... and, while it arrives, whether to give up for a lower rate (and
	// again, while that one arrives, unless it is the lowest).
	var watch func(received, total int64, elapsed time.Duration) bool
	abandonTo, abandonWhy := -1, ""
	bufAtRequest := l.play.Buffer() // when the chunk was last requested
	var from Progress               // the request's first look with bytes in
	if l.abandon && d.Quality > 0 {
		sizes := make([]int64, len(l.bitrates))
		for q := range sizes {
			sizes[q] = l.size(i, q)
		}
		watch = func(received, total int64, elapsed time.Duration) bool {
			if total > 0 {
				sizes[d.Quality] = total
			}
			now := Progress{Received: max(received, 0), Elapsed: elapsed}
			to, why, ok := Abandon(d.Quality, sizes, from, now, bufAtRequest)
			if from.Received == 0 && now.Received > 0 {
				from = now
			}
			if ok {
				abandonTo, abandonWhy = to, why
			}
			return ok
		}
	}

	// WHERE from: the server choice, and another one if it fails.
	server, why := -1, ""
	var size, wasted int64
	var secs float64
	for failures := 0; ; {
		if len(l.servers) > 0 {
			if failures > len(l.servers)+1 {
				return ChunkLog{}, fmt.Errorf("dash: chunk %d: every server failed", i)
			}
			server, why = l.where(l.servers)
		}
		n, s, err := l.net.get(ctx, server, i, d.Quality, watch)
		if err == nil {
			size, secs = n, s
			break
		}
		if ctx.Err() != nil {
			return ChunkLog{}, ctx.Err()
		}
		var ab abandonedError
		var fatal fatalError
		switch {
		case errors.As(err, &ab):
			wasted += n + ab.received
			d.Reason += fmt.Sprintf("; abandoned after %.1fs for %s (%s)", (l.net.now() - start).Seconds(), Mbps(l.bitrates[abandonTo]), abandonWhy)
			d.Quality, d.Bitrate = abandonTo, l.bitrates[abandonTo]
			if d.Quality == 0 {
				watch = nil
			}
			bufAtRequest = max(l.play.Buffer()-(l.net.now()-start), 0)
			from = Progress{}
			continue
		case errors.As(err, &fatal), len(l.servers) == 0:
			return ChunkLog{}, err
		}
		failures++
		l.servers[server].Failures++
		l.servers[server].Down = true
		if allDown(l.servers) {
			for k := range l.servers {
				l.servers[k].Down = false
			}
		}
		if l.trace != nil {
			fmt.Fprintf(l.trace, "chunk %2d: %v: trying another server\n", i, err)
		}
	}
	waited := l.tick()
	download := l.lastTick - start
	l.play.Push(l.segDur)

	// Measure: the throughput of this chunk feeds the estimator.
	if secs <= 0 {
		secs = download.Seconds()
	}
	tput := float64(size+wasted) * 8 / math.Max(secs, 1e-6)
	l.est.Add(tput, download)
	if d.Prediction > 0 {
		l.errs = append(l.errs, math.Abs(d.Prediction-tput)/tput)
	}
	l.hist = append(l.hist, tput)
	c := ChunkLog{
		Index: i, Quality: d.Quality, Bitrate: l.bitrates[d.Quality], Size: size,
		Start: start, Download: download, Throughput: tput, Rebuffer: waited,
		Buffer: l.play.Buffer(), ServerReason: why, Decision: d, State: st,
	}
	if server >= 0 {
		srv := &l.servers[server]
		if srv.Estimate == 0 {
			srv.Estimate = tput
		} else {
			srv.Estimate = 0.7*srv.Estimate + 0.3*tput
		}
		c.Server = srv.URL
	}

	// WHEN to request the next chunk: not while the buffer is full.
	for {
		over := l.play.Buffer() - l.bufCap
		if l.play.State() == Paused && over >= 0 {
			if err := l.net.paused(ctx); err != nil {
				return c, err
			}
			l.tick()
			continue
		}
		if over <= 0 {
			break
		}
		if err := l.net.sleep(ctx, over); err != nil {
			return c, err
		}
		l.tick()
		c.Sleep += over
	}
	if l.trace != nil {
		fmt.Fprintf(l.trace, "%s\n", c)
	}
	l.chunks = append(l.chunks, c)
	l.last, l.prevRule = d.Quality, d.Rule
	return c, nil
}

// finish ends playout and sums the session up.
func (l *chunkLoop) finish() Summary {
	startup := l.play.StartupDelay()
	l.play.Finish()
	n, _ := l.play.Stalls()
	return Summarize(l.chunks, startup, n)
}
