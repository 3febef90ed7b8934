package dash

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// A ChunkLog records one chunk of a session: the decision with the state it
// was made from, and what happened next. Printing the logs explains every
// choice afterwards.
type ChunkLog struct {
	Index        int
	Quality      int
	Bitrate      float64       // bits per second of the chosen Representation
	Size         int64         // bytes fetched: the chunk, its init segment the first time, the audio fetched with it
	Start        time.Duration // session clock when requested
	Download     time.Duration
	Throughput   float64       // measured, bits per second
	Rebuffer     time.Duration // stalled (or waiting to start) during the download
	Buffer       time.Duration // buffer when the chunk was in
	Sleep        time.Duration // idle afterwards because the buffer was full
	Server       string        // where it came from
	ServerReason string        // and why there
	Decision     Decision
	State        State
}

// String formats the log as one line: rate chosen, throughput estimate,
// buffer and reason.
func (c ChunkLog) String() string {
	s := fmt.Sprintf("chunk %2d: %s  (%d kB in %.2fs = %s)  estimate %s  buffer %4.1fs",
		c.Index, Mbps(c.Bitrate), (c.Size+500)/1000, c.Download.Seconds(), Mbps(c.Throughput),
		Mbps(c.State.Estimate), c.Buffer.Seconds())
	if c.Rebuffer > 0 && c.Index > 0 {
		s += fmt.Sprintf("  STALL %.2fs", c.Rebuffer.Seconds())
	}
	return s + "  " + c.Decision.Rule + ": " + c.Decision.Reason
}

// Video is what the simulator streams: the ladder of bitrates, the chunk
// duration, how many chunks, and optionally each chunk's size at each
// quality (Sizes[chunk][quality], bytes; bitrate × duration if absent).
type Video struct {
	Bitrates        []float64
	SegmentDuration time.Duration
	Count           int
	Sizes           [][]int64
}

// PensieveVideo is the video of Pensieve's and MPC's simulations: 48
// chunks of 4 s at 300, 750, 1200, 1850, 2850 and 4300 kbps.
func PensieveVideo() Video {
	return Video{
		Bitrates:        []float64{300e3, 750e3, 1200e3, 1850e3, 2850e3, 4300e3},
		SegmentDuration: 4 * time.Second,
		Count:           48,
	}
}

func (v *Video) size(i, q int) int64 {
	if i < len(v.Sizes) && q < len(v.Sizes[i]) {
		return v.Sizes[i][q]
	}
	return int64(v.Bitrates[q] / 8 * v.SegmentDuration.Seconds())
}

// A Simulator streams a Video over a bandwidth Trace in virtual time,
// running the same rules, estimator and playout buffer as the Player. The
// zero value is Pensieve's set-up: its video, a 60 s buffer cap and an
// 80 ms round trip per chunk.
type Simulator struct {
	Video        Video            // PensieveVideo if empty
	BufferCap    time.Duration    // 60 s if zero
	RTT          time.Duration    // 80 ms if zero; negative for none
	NewEstimator func() Estimator // EWMA if nil
	// Abandon lets the player give up on a chunk that is arriving too
	// slowly and fetch it at a lower rate (see the Abandon policy). The
	// bytes already received are wasted.
	Abandon bool
}

func (s Simulator) setup() (Video, time.Duration, time.Duration) {
	v := s.Video
	if len(v.Bitrates) == 0 {
		v = PensieveVideo()
	}
	c := s.BufferCap
	if c <= 0 {
		c = 60 * time.Second
	}
	rtt := s.RTT
	if rtt == 0 {
		rtt = 80 * time.Millisecond
	}
	return v, c, max(rtt, 0)
}

// Result is one simulated session.
type Result struct {
	Trace, Rule string
	Chunks      []ChunkLog
	Summary     Summary
}

// Run streams the video over the trace with the rule choosing each chunk.
func (s Simulator) Run(tr *Trace, rule Rule) Result {
	v, bufCap, rtt := s.setup()
	var est Estimator = &EWMA{}
	if s.NewEstimator != nil {
		est = s.NewEstimator()
	}
	n := &simNet{tr: tr, v: &v, rtt: rtt.Seconds()}
	l := newChunkLoop(n, rule, est, bufCap)
	l.bitrates, l.segDur, l.count, l.sizes = v.Bitrates, v.SegmentDuration, v.Count, v.Sizes
	l.abandon = s.Abandon
	l.chunks = make([]ChunkLog, 0, v.Count)
	l.hist = make([]float64, 0, v.Count)
	for i := 0; i < v.Count; i++ {
		l.step(context.Background(), i) // a simNet never fails
	}
	return Result{Trace: tr.Name, Rule: rule.Name(), Chunks: l.chunks, Summary: l.finish()}
}

// simNet is the Simulator's network: downloads over a bandwidth trace in
// virtual time, one round trip before each.
type simNet struct {
	tr      *Trace
	v       *Video
	rtt     float64       // seconds
	clock   float64       // seconds, where the trace is read
	elapsed time.Duration // the same clock, as the session sees it
	// After abandoned downloads: when the chunk was first requested
	// (session clock) and how long the abandoned tries ran, so the chunk's
	// whole download time is rounded once.
	began   time.Duration
	clock0  float64
	partial float64
}

func (n *simNet) now() time.Duration { return n.elapsed }

func (n *simNet) advance(dt float64) {
	n.clock += dt
	n.elapsed += time.Duration(dt * 1e9)
}

func (n *simNet) get(_ context.Context, _, i, q int, watch func(received, total int64, elapsed time.Duration) bool) (int64, float64, error) {
	size := n.v.size(i, q)
	transfer := n.tr.TransferSeconds(n.clock+n.rtt, float64(size))
	dt := n.rtt + transfer
	if watch != nil {
		// Look every half second whether to give up.
		for t := 0.5; t < dt; t += 0.5 {
			got := int64((n.tr.capacity(n.clock+t) - n.tr.capacity(n.clock+n.rtt)) / 8)
			if watch(got, size, time.Duration(t*1e9)) {
				if n.partial == 0 { // the chunk's first request
					n.began, n.clock0 = n.elapsed, n.clock
				}
				n.partial += t
				n.advance(t)
				return 0, 0, abandonedError{received: max(got, 0)}
			}
		}
	}
	if n.partial > 0 {
		total := n.partial + n.rtt + transfer
		n.clock = n.clock0 + total
		n.elapsed = n.began + time.Duration(total*1e9)
		n.partial = 0
		return size, total, nil
	}
	n.advance(dt)
	return size, dt, nil
}

func (n *simNet) sleep(_ context.Context, d time.Duration) error {
	n.clock += d.Seconds()
	n.elapsed += d
	return nil
}

func (n *simNet) paused(context.Context) error {
	return errors.New("dash: the simulator has no viewer to pause")
}

// Optimum returns the best QoE per chunk any rule could reach on this
// trace, knowing the future: dynamic programming over (chunk, quality,
// buffer), the buffer in 50 ms steps. Of the paths that reach one cell it
// keeps the best so far (the earliest on a tie), so it is optimal up to
// that rounding. It also returns the qualities of the best path.
func (s Simulator) Optimum(tr *Trace, q QoE) (perChunk float64, qualities []int) {
	v, bufCap, rtt := s.setup()
	const step = 0.05
	nb := int(bufCap.Seconds()/step) + 2
	nq := len(v.Bitrates)
	L := v.SegmentDuration.Seconds()
	capS := bufCap.Seconds()
	util := make([]float64, nq)
	for i, b := range v.Bitrates {
		util[i] = q.Utility(b)
	}
	type cell struct {
		value, buf, clock float64
		parent            int32
	}
	layers := make([][]cell, v.Count)
	for k := range layers {
		layers[k] = make([]cell, nq*nb)
		for j := range layers[k] {
			layers[k][j].value = math.Inf(-1)
		}
	}
	relax := func(k, qual int, value, buf, clock float64, parent int32) {
		b := int(math.Round(buf / step))
		if b >= nb {
			b = nb - 1
		}
		c := &layers[k][qual*nb+b]
		if value > c.value || (value == c.value && clock < c.clock) {
			*c = cell{value: value, buf: buf, clock: clock, parent: parent}
		}
	}
	if tr.cum == nil {
		if err := tr.prepare(); err != nil {
			return math.Inf(-1), nil
		}
	}
	// advance downloads a chunk of size bytes requested at clock with buf
	// buffered; from is the trace's capacity when the transfer starts.
	advance := func(buf, clock, from float64, size int64) (newBuf, newClock, rebuf float64) {
		dt := tr.at(from+float64(size)*8) - clock
		rebuf = math.Max(dt-buf, 0)
		newBuf = math.Max(buf-dt, 0) + L
		newClock = clock + dt
		if newBuf > capS {
			newClock += newBuf - capS
			newBuf = capS
		}
		return
	}
	start := tr.capacity(rtt.Seconds())
	for qual := 0; qual < nq; qual++ {
		b, c, rebuf := advance(0, 0, start, v.size(0, qual))
		relax(0, qual, util[qual]-q.Rebuffer*rebuf, b, c, -1)
	}
	for k := 1; k < v.Count; k++ {
		prev := layers[k-1]
		for j := range prev {
			from := &prev[j]
			if math.IsInf(from.value, -1) {
				continue
			}
			pq := j / nb
			capAt := tr.capacity(from.clock + rtt.Seconds())
			for qual := 0; qual < nq; qual++ {
				b, c, rebuf := advance(from.buf, from.clock, capAt, v.size(k, qual))
				val := from.value + util[qual] - q.Rebuffer*rebuf - q.Smooth*math.Abs(util[qual]-util[pq])
				relax(k, qual, val, b, c, int32(j))
			}
		}
	}
	best, bestJ := math.Inf(-1), 0
	for j, c := range layers[v.Count-1] {
		if c.value > best {
			best, bestJ = c.value, j
		}
	}
	qualities = make([]int, v.Count)
	for k, j := v.Count-1, int32(bestJ); k >= 0; k-- {
		qualities[k] = int(j) / nb
		j = layers[k][j].parent
	}
	return best / float64(v.Count), qualities
}
