package dash

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// State is everything an ABR rule may look at when choosing the rate of the
// next chunk. Rules are pure functions of it, so a decision can be replayed
// and explained afterwards.
type State struct {
	Index            int           // the chunk to choose for, from 0
	Count            int           // chunks in the video (0: unknown)
	Bitrates         []float64     // each quality's bitrate in bits per second, ascending
	SegmentDuration  time.Duration // of each chunk
	Buffer           time.Duration // video buffered ahead of the playhead
	BufferCap        time.Duration // the most the player buffers
	Last             int           // quality of the previous chunk, -1 before the first
	Throughputs      []float64     // measured bits per second of past chunks, oldest first
	Estimate         float64       // the player's bandwidth estimate (bits per second), 0 if none
	Sizes            [][]int64     // if known, Sizes[chunk][quality] in bytes (MPC looks ahead)
	PrevRule         string        // the rule that made the previous decision (for Dynamic)
	PredictionErrors []float64     // relative errors of past MPC predictions (for RobustMPC)
}

// size returns the size in bytes of chunk i at quality q: the known size,
// or the bitrate times the chunk duration.
func (s *State) size(i, q int) float64 {
	if i >= 0 && i < len(s.Sizes) && q < len(s.Sizes[i]) {
		return float64(s.Sizes[i][q])
	}
	return s.Bitrates[q] / 8 * s.SegmentDuration.Seconds()
}

// highestBelow returns the highest quality whose bitrate is at most bps (0
// if none is).
func (s *State) highestBelow(bps float64) int {
	q := 0
	for i, b := range s.Bitrates {
		if b <= bps {
			q = i
		}
	}
	return q
}

// A Decision is a rule's choice, with the reason in words.
type Decision struct {
	Quality    int     // index into State.Bitrates
	Bitrate    float64 // bits per second
	Rule       string  // the rule that decided (Dynamic names the one it used)
	Reason     string
	Prediction float64 // MPC's throughput prediction, for RobustMPC's error history
}

// A Rule chooses the quality of the next chunk: "what encoding rate to
// request".
type Rule interface {
	Name() string
	Choose(s State) Decision
}

func decide(s State, q int, rule, format string, args ...any) Decision {
	return Decision{Quality: q, Bitrate: s.Bitrates[q], Rule: rule, Reason: fmt.Sprintf(format, args...)}
}

// Mbps formats bits per second for reasons and tables.
func Mbps(bps float64) string { return fmt.Sprintf("%.2f Mbps", bps/1e6) }

// Throughput picks the highest bitrate below the bandwidth estimate times
// a safety factor: the slides' "maximum coding rate sustainable given
// current bandwidth". The zero value uses a factor of 0.9.
type Throughput struct {
	Safety float64
}

// Name implements Rule.
func (Throughput) Name() string { return "throughput" }

// Choose implements Rule.
func (r Throughput) Choose(s State) Decision {
	safety := r.Safety
	if safety <= 0 {
		safety = 0.9
	}
	if s.Estimate <= 0 {
		return decide(s, 0, r.Name(), "no measurement yet: lowest rate")
	}
	q := s.highestBelow(s.Estimate * safety)
	return decide(s, q, r.Name(), "estimate %s × %.2g = %s", Mbps(s.Estimate), safety, Mbps(s.Estimate*safety))
}

// BBA is the buffer-based rule BBA-0 (Huang et al., SIGCOMM 2014): below
// the reservoir the lowest rate, above reservoir+cushion the highest, and
// in between a rate that rises linearly with the buffer, changed only when
// the map crosses the next rate up or down. The zero value uses a 5 s
// reservoir and a 10 s cushion, as Pensieve's simulations do.
type BBA struct {
	Reservoir, Cushion time.Duration
}

// Name implements Rule.
func (BBA) Name() string { return "bba" }

// Choose implements Rule.
func (r BBA) Choose(s State) Decision {
	res, cush := r.Reservoir, r.Cushion
	if res <= 0 {
		res = 5 * time.Second
	}
	if cush <= 0 {
		cush = 10 * time.Second
	}
	n := len(s.Bitrates)
	lo, hi := s.Bitrates[0], s.Bitrates[n-1]
	switch {
	case s.Buffer <= res:
		return decide(s, 0, r.Name(), "buffer %.1fs in the reservoir (%.0fs)", s.Buffer.Seconds(), res.Seconds())
	case s.Buffer >= res+cush:
		return decide(s, n-1, r.Name(), "buffer %.1fs above the cushion (%.0fs)", s.Buffer.Seconds(), (res + cush).Seconds())
	}
	f := lo + (hi-lo)*float64(s.Buffer-res)/float64(cush)
	if s.Last < 0 {
		return decide(s, s.highestBelow(f), r.Name(), "buffer %.1fs maps to %s", s.Buffer.Seconds(), Mbps(f))
	}
	up, down := min(s.Last+1, n-1), max(s.Last-1, 0)
	q := s.Last
	switch {
	case f >= s.Bitrates[up]:
		for q = n - 1; q > 0 && s.Bitrates[q] >= f; q-- {
		}
	case f <= s.Bitrates[down]:
		for q = 0; q < n-1 && s.Bitrates[q] <= f; q++ {
		}
	}
	return decide(s, q, r.Name(), "buffer %.1fs maps to %s", s.Buffer.Seconds(), Mbps(f))
}

// BOLA is the Lyapunov buffer rule BOLA (Spiteri et al., INFOCOM 2016) in
// dash.js's form: each quality's utility is the log of its bitrate, and the
// chosen quality maximises (V·(utility + γp) − buffer)/bitrate. V and γp
// are set so the lowest rate is chosen at MinBuffer and the highest at
// Target. Going up is limited to what the throughput estimate sustains
// (BOLA-O), which keeps it from oscillating. The zero value uses a 10 s
// minimum and a target of max(12 s, 10 s + 2 s per quality).
type BOLA struct {
	MinBuffer, Target time.Duration
}

// Name implements Rule.
func (BOLA) Name() string { return "bola" }

// Choose implements Rule.
func (r BOLA) Choose(s State) Decision {
	minBuf := r.MinBuffer
	if minBuf <= 0 {
		minBuf = 10 * time.Second
	}
	target := r.Target
	if target <= 0 {
		target = max(12*time.Second, minBuf+2*time.Second*time.Duration(len(s.Bitrates)))
	}
	if s.BufferCap > 0 && target > s.BufferCap {
		target = s.BufferCap
	}
	if s.Last < 0 || s.Estimate <= 0 {
		return decide(s, 0, r.Name(), "start-up: lowest rate")
	}
	n := len(s.Bitrates)
	util := make([]float64, n)
	for i, b := range s.Bitrates {
		util[i] = math.Log(b/s.Bitrates[0]) + 1
	}
	gp := (util[n-1] - 1) / math.Max(target.Seconds()/minBuf.Seconds()-1, 0.01)
	v := minBuf.Seconds() / math.Max(gp, 1e-9)
	buf := s.Buffer.Seconds()
	best, bestScore := 0, math.Inf(-1)
	for i, b := range s.Bitrates {
		score := (v*(util[i]+gp) - buf) / b
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	q := best
	reason := fmt.Sprintf("buffer %.1fs: BOLA score highest at %s", buf, Mbps(s.Bitrates[best]))
	if best > s.Last && s.Bitrates[best] > s.Estimate {
		q = max(s.highestBelow(s.Estimate), s.Last)
		reason += fmt.Sprintf(", held to %s by estimate %s", Mbps(s.Bitrates[q]), Mbps(s.Estimate))
	}
	return decide(s, q, r.Name(), "%s", reason)
}

// MPC is model predictive control (Yin et al., SIGCOMM 2015): predict the
// throughput of the next Horizon chunks as the harmonic mean of the last
// five, try every sequence of qualities over the horizon on a model of the
// buffer, and take the first step of the sequence with the best QoE.
// RobustMPC divides the prediction by 1 + the largest recent prediction
// error. The zero value looks 5 chunks ahead and scores with QoELin.
type MPC struct {
	Horizon int
	Robust  bool
	QoE     *QoE // nil: QoELin
}

// Name implements Rule.
func (r MPC) Name() string {
	if r.Robust {
		return "robustmpc"
	}
	return "mpc"
}

// Choose implements Rule.
func (r MPC) Choose(s State) Decision {
	h := r.Horizon
	if h <= 0 {
		h = 5
	}
	if s.Count > 0 {
		h = min(h, s.Count-s.Index)
	}
	h = max(h, 1)
	pred := harmonicMean(s.Throughputs, 5)
	if pred <= 0 {
		d := decide(s, 0, r.Name(), "no measurement yet: lowest rate")
		return d
	}
	raw := pred
	if r.Robust {
		maxErr := 0.0
		errs := s.PredictionErrors
		if len(errs) > 5 {
			errs = errs[len(errs)-5:]
		}
		for _, e := range errs {
			maxErr = math.Max(maxErr, e)
		}
		pred /= 1 + maxErr
	}
	qoe := r.QoE
	if qoe == nil {
		lin := QoELin()
		qoe = &lin
	}
	n := len(s.Bitrates)
	util := make([]float64, n)
	for i, b := range s.Bitrates {
		util[i] = qoe.Utility(b)
	}
	last := s.Last
	lastUtil := 0.0
	if last >= 0 {
		lastUtil = util[last]
	}
	pl := planner{
		n: n, h: h, util: util, dl: make([]float64, h*n),
		cap: s.BufferCap.Seconds(), L: s.SegmentDuration.Seconds(),
		rebuffer: qoe.Rebuffer, smooth: qoe.Smooth, hasLast: last >= 0,
		bestScore: math.Inf(-1),
	}
	for d := 0; d < h; d++ {
		for q := 0; q < n; q++ {
			pl.dl[d*n+q] = s.size(s.Index+d, q) * 8 / pred
		}
	}
	// Depth-first over the sequences, sharing prefixes: 6+36+…+6^5 steps
	// rather than 5·6^5.
	pl.walk(0, s.Buffer.Seconds(), 0, lastUtil, 0)
	bestFirst := pl.bestFirst
	d := decide(s, bestFirst, r.Name(), "predicted %s over %d chunks, buffer %.1fs: best plan starts at %s",
		Mbps(pred), h, s.Buffer.Seconds(), Mbps(s.Bitrates[bestFirst]))
	d.Prediction = raw
	return d
}

// planner searches MPC's plans.
type planner struct {
	n, h             int
	util, dl         []float64 // utility per quality; download time per (depth, quality)
	cap, L           float64
	rebuffer, smooth float64
	hasLast          bool
	bestFirst        int
	bestScore        float64
}

func (p *planner) walk(depth int, buf, score, prevUtil float64, first int) {
	if depth == p.h {
		if score > p.bestScore {
			p.bestScore, p.bestFirst = score, first
		}
		return
	}
	dl := p.dl[depth*p.n : (depth+1)*p.n]
	for q, dt := range dl {
		rebuf := 0.0
		b := buf - dt
		if b < 0 {
			rebuf, b = -b, 0
		}
		b += p.L
		if p.cap > 0 && b > p.cap {
			b = p.cap
		}
		u := p.util[q]
		sc := score + u - p.rebuffer*rebuf
		if depth > 0 || p.hasLast {
			sc -= p.smooth * math.Abs(u-prevUtil)
		}
		f := first
		if depth == 0 {
			f = q
		}
		p.walk(depth+1, b, sc, u, f)
	}
}

// Dynamic is dash.js's default strategy: the throughput rule while the
// buffer is short, BOLA once it has grown past SwitchOn, and back to the
// throughput rule if it falls below SwitchOff. The zero value switches on
// at 10 s and off at 5 s with the rules' zero values.
type Dynamic struct {
	Throughput          Throughput
	BOLA                BOLA
	SwitchOn, SwitchOff time.Duration
}

// Name implements Rule.
func (Dynamic) Name() string { return "dynamic" }

// Choose implements Rule.
func (r Dynamic) Choose(s State) Decision {
	on, off := r.SwitchOn, r.SwitchOff
	if on <= 0 {
		on = 10 * time.Second
	}
	if off <= 0 {
		off = 5 * time.Second
	}
	useBOLA := s.Buffer >= on || (s.PrevRule == "bola" && s.Buffer >= off)
	var d Decision
	if useBOLA {
		d = r.BOLA.Choose(s)
	} else {
		d = r.Throughput.Choose(s)
	}
	d.Reason = fmt.Sprintf("[%s] %s", d.Rule, d.Reason)
	return d
}

// RuleByName returns the rule a command-line flag names: throughput, bba,
// bola, mpc, robustmpc, smpc, fugu (with DefaultPredictor), rollout (with
// DefaultRolloutTable), learned (with DefaultLearnedWeights) or dynamic.
func RuleByName(name string) (Rule, error) {
	switch name {
	case "throughput", "rate":
		return Throughput{}, nil
	case "bba", "buffer":
		return BBA{}, nil
	case "bola":
		return BOLA{}, nil
	case "mpc":
		return MPC{}, nil
	case "robustmpc":
		return MPC{Robust: true}, nil
	case "smpc", "stochasticmpc":
		return StochasticMPC{}, nil
	case "fugu":
		return Fugu{Predictor: DefaultPredictor()}, nil
	case "rollout":
		return Rollout{Table: DefaultRolloutTable()}, nil
	case "learned":
		return Learned{Weights: DefaultLearnedWeights(), Table: DefaultRolloutTable()}, nil
	case "dynamic":
		return Dynamic{}, nil
	}
	return nil, fmt.Errorf("dash: unknown ABR rule %q (throughput, bba, bola, mpc, robustmpc, smpc, fugu, rollout, learned, dynamic)", name)
}

// Rules returns one of each rule, baselines first; fugu has
// DefaultPredictor, rollout DefaultRolloutTable, learned
// DefaultLearnedWeights and DefaultRolloutTable.
func Rules() []Rule {
	table := DefaultRolloutTable()
	return []Rule{Throughput{}, BBA{}, BOLA{}, Dynamic{}, MPC{}, MPC{Robust: true}, StochasticMPC{}, Fugu{Predictor: DefaultPredictor()},
		Rollout{Table: table}, Learned{Weights: DefaultLearnedWeights(), Table: table}}
}

// Progress is how far a chunk's download has got: Received bytes in,
// Elapsed after its request was sent.
type Progress struct {
	Received int64
	Elapsed  time.Duration
}

// Abandon is the policy for giving up on a chunk that is downloading too
// slowly (dash.js's AbandonRequestsRule, in another form). The chunk was
// requested at quality q with buffer in the buffer; sizes[i] is its size
// at quality i; now is how far its download has got, and from an earlier
// look at the same download (the zero Progress: the request).
//
// It measures the rate from "from" to now. The caller passes as from the
// first look at which bytes had arrived, so the request's round trip,
// which carries no data, does not count as slowness.
//
// The rate seen over half a second is weak evidence: a one-second fade
// looks like a collapse. And the more buffer the player has, the longer it
// can afford to watch, and the costlier a needless abandonment is (the
// bytes in are wasted, the rate drops, a switch is added). So it decides
// only once it has seen the rate for a tenth of the buffer, at least half a
// second (a nearly dry buffer cannot wait) and at most two seconds (with
// 20 s buffered, longer than a fade).
//
// Then, if at that rate the rest of the chunk arrives before the buffer
// runs dry, it keeps the chunk. If not, it gives up for the highest quality
// that would arrive in time (or the lowest), provided that one arrives
// sooner than the rest of this one. It returns that quality, why (for the
// player's log) and whether to abandon.
//
// dash.js's rule also measures from the first byte, after a grace time of
// half a second, but it judges the download against the chunk's duration
// (it gives up on one that would take longer than one and a half chunk
// durations) whatever the buffer; this one judges it against the buffer.
func Abandon(q int, sizes []int64, from, now Progress, buffer time.Duration) (to int, why string, ok bool) {
	if q == 0 {
		return q, "the lowest rate already", false
	}
	if now.Received >= sizes[q] {
		return q, "all in", false
	}
	if from.Elapsed >= now.Elapsed || from.Received > now.Received {
		from = Progress{} // not an earlier look: measure from the request
	}
	watch := min(max(buffer/10, 500*time.Millisecond), 2*time.Second)
	seen := now.Elapsed - from.Elapsed
	if seen < watch {
		return q, fmt.Sprintf("watching: rate seen for %.1fs of %.1fs", seen.Seconds(), watch.Seconds()), false
	}
	got := now.Received - from.Received
	if got <= 0 {
		return q, fmt.Sprintf("no bytes for %.1fs: a lower rate would not come sooner", seen.Seconds()), false
	}
	rate := float64(got) / seen.Seconds() // bytes per second
	remaining := float64(sizes[q]-now.Received) / rate
	left := (buffer - now.Elapsed).Seconds()
	at := Mbps(rate * 8)
	if remaining <= left {
		return q, fmt.Sprintf("on time: at %s the rest takes %.1fs, %.1fs buffered", at, remaining, left), false
	}
	to = 0
	for i := q - 1; i > 0; i-- {
		if float64(sizes[i])/rate <= left {
			to = i
			break
		}
	}
	if instead := float64(sizes[to]) / rate; instead >= remaining {
		return q, fmt.Sprintf("late, but at %s the rest (%.1fs) beats a restart (%.1fs)", at, remaining, instead), false
	}
	return to, fmt.Sprintf("at %s the rest takes %.1fs, %.1fs buffered", at, remaining, left), true
}

// StochasticMPC is model predictive control that plans for several
// possible futures instead of one guess (stochastic MPC, as Puffer's Fugu
// does: Yan et al., NSDI 2020). Each of the next Horizon chunks is taken to
// download at the throughput of one of the last Samples chunks, or at
// RobustMPC's cautious prediction, each as likely as the others and
// whatever the chunks before it did. Dynamic programming over the buffer
// level finds the rate whose expected QoE is highest, knowing that the
// player chooses again after every chunk: the plan may go down after a slow
// chunk and up after a fast one.
//
// Beyond the horizon it counts the rest of the video too: the remaining
// chunks at the one steady rate that the buffer left over and the
// throughput allow without stalling, less the switch to that rate. MPC
// plans as if the video ended with its horizon: it spends the buffer by the
// horizon's end, then has to switch down again (on a steady link it swings
// between two rates), and it keeps nothing for a slow spell after the
// horizon. Counting the rest, the rule neither hoards buffer it could not
// spend before the video ends nor spends buffer the rest of the video needs.
//
// Two checks keep five samples from being read too much or too little
// into. A switch up is made only if it still wins when any one of the
// samples is left out: the best of several estimates looks better than it
// is (the optimizer's curse), and a gain that rests on one lucky sample is
// noise, while a switch up costs the switch now and likely one back down.
// And a lasting step up is believed at once: when the last samples are all
// more than twice the highest of the ones before them, the older samples
// are scaled to the new level instead of holding the plan at the old one
// for five chunks (see changePoint).
//
// The zero value looks 5 chunks ahead, takes the last 5 throughputs (MPC's
// window) as the possibilities and scores with QoELin.
type StochasticMPC struct {
	Horizon int
	Samples int
	QoE     *QoE // nil: QoELin
}

// Name implements Rule.
func (StochasticMPC) Name() string { return "smpc" }

// gridStep is the spacing of the buffer levels StochasticMPC plans over;
// the value of a buffer between two levels is interpolated.
const gridStep = 1.0 // seconds

// Choose implements Rule.
func (r StochasticMPC) Choose(s State) Decision {
	d, ok := r.decide(&s)
	if !ok {
		return decide(s, 0, r.Name(), "no measurement yet: lowest rate")
	}
	return d.Decision
}

// A smpcDecision is StochasticMPC's decision with what it was made from.
type smpcDecision struct {
	Decision
	futures []float64 // the equally likely throughputs, the cautious one last
	values  []float64 // each quality's expected QoE
}

// decide plans as Choose does; ok is false with no measurement yet.
func (r StochasticMPC) decide(s *State) (d smpcDecision, ok bool) {
	h := r.Horizon
	if h <= 0 {
		h = 5
	}
	if s.Count > 0 {
		h = min(h, s.Count-s.Index)
	}
	h = max(h, 1)
	k := r.Samples
	if k <= 0 {
		k = 5
	}
	futures, pred := recentFutures(s, k)
	if len(futures) == 0 {
		return d, false
	}
	p, values, best := planStochastic(s, r.QoE, h, sameFutures(futures, h), futures)
	held := holdUp(s, values, best, futures[:len(futures)-1], func(samples []float64) []float64 {
		fs := append(samples, futures[len(futures)-1])
		_, v, _ := planStochastic(s, r.QoE, h, sameFutures(fs, h), fs)
		return v
	})
	chosen := best
	if held != "" {
		chosen = s.Last
	}
	d.Decision = decide(*s, chosen, r.Name(), "futures %s–%s, buffer %.1fs, %d chunks ahead and %d after: expected QoE %s: best %s%s",
		Mbps(slices.Min(futures)), Mbps(slices.Max(futures)), s.Buffer.Seconds(), h, p.after, expectedQoE(s, values), Mbps(s.Bitrates[best]), held)
	d.Prediction = pred
	d.futures, d.values = futures, values
	return d, true
}

// holdUp checks a switch up from the last quality to best (values are
// each quality's expected QoE) against the noise of the samples it was
// planned on: plan gives the values with only the samples it is passed.
// If leaving out any one sample makes staying as good, the gain rests on
// that sample, and holdUp returns why the rule stays ("" to switch).
func holdUp(s *State, values []float64, best int, samples []float64, plan func(samples []float64) []float64) string {
	if s.Last < 0 || best <= s.Last || len(samples) < 2 {
		return ""
	}
	for i, x := range samples {
		without := append(slices.Clone(samples[:i]), samples[i+1:]...)
		if v := plan(without); v[best] <= v[s.Last] {
			return fmt.Sprintf("; stays at %s: switching up gains %.2f, but without the sample %s staying is better by %.2f",
				Mbps(s.Bitrates[s.Last]), values[best]-values[s.Last], Mbps(x), v[s.Last]-v[best])
		}
	}
	return ""
}

// recentFutures returns StochasticMPC's possible futures: the throughputs
// of the last k chunks, and RobustMPC's cautious prediction (their harmonic
// mean divided by 1 + the largest error of the last five predictions) as
// one more. After a step up (see changePoint) the samples from before it
// are scaled by how much the rate rose. It also returns the harmonic mean;
// none without a measurement.
func recentFutures(s *State, k int) (futures []float64, mean float64) {
	for _, x := range s.Throughputs[max(len(s.Throughputs)-k, 0):] {
		if x > 0 {
			futures = append(futures, x)
		}
	}
	if len(futures) == 0 {
		return nil, 0
	}
	if m, before := changePoint(s.Throughputs, k); m > 0 && m < len(futures) {
		rise := harmonicMean(futures, m) / harmonicMean(before, len(before))
		for i := range futures[:len(futures)-m] {
			futures[i] *= rise
		}
	}
	mean = harmonicMean(futures, len(futures))
	maxErr := 0.0
	for _, e := range s.PredictionErrors[max(len(s.PredictionErrors)-5, 0):] {
		maxErr = max(maxErr, e)
	}
	return append(futures, mean/(1+maxErr)), mean
}

// stepUp is how many times the highest sample before it the samples since
// a step up must all be for changePoint to see a lasting change.
const stepUp = 2.0

// changePoint looks for a step up at the end of the throughputs tputs
// (oldest first): the last m (1 ≤ m < k) all more than stepUp times the
// highest of the k before them (at least two). It returns the largest such
// m and the samples before the step; 0 if there is none.
//
// One fast chunk among slow ones is common on a noisy link, but one more
// than twice as fast as any of the five before it seldom is unless the link
// has changed; then the old samples tell how noisy the link is, not how
// fast it now is. A step down needs no such test: one slow sample already
// weighs on the plan through the stall it would cause.
func changePoint(tputs []float64, k int) (m int, before []float64) {
	for m = min(k-1, len(tputs)-2); m >= 1; m-- {
		after, before := tputs[len(tputs)-m:], tputs[max(len(tputs)-m-k, 0):len(tputs)-m]
		if slices.Min(after) > stepUp*slices.Max(before) && slices.Min(before) > 0 {
			return m, before
		}
	}
	return 0, nil
}

// sameFutures returns futures for each of h chunks: the chunks are taken
// to be alike.
func sameFutures(futures []float64, h int) [][]float64 {
	out := make([][]float64, h)
	for d := range out {
		out[d] = futures
	}
	return out
}

// expectedQoE formats each rate's expected QoE for a Reason.
func expectedQoE(s *State, values []float64) string {
	var vs strings.Builder
	for q, v := range values {
		if q > 0 {
			vs.WriteString(", ")
		}
		fmt.Fprintf(&vs, "%.0fk %.1f", s.Bitrates[q]/1e3, v)
	}
	return vs.String()
}

// stochasticPlan is one StochasticMPC (or Fugu) decision's dynamic
// programme.
type stochasticPlan struct {
	qoe      *QoE
	n, h     int       // qualities, chunks in the horizon
	util     []float64 // per quality
	nf       int       // futures per chunk
	rests    []float64 // throughputs after the horizon, each equally likely
	dl       []float64 // download seconds per (depth, quality, future)
	L, cap   float64   // chunk duration and buffer cap, seconds
	lo, hi   float64   // lowest and highest bitrate
	after    int       // chunks after the horizon
	nb       int       // buffer levels on the grid
	now, nxt []float64 // value per (buffer level, previous quality)
}

// planStochastic solves the programme of newStochasticPlan (scored by
// QoELin if qoe is nil) from s's buffer and last choice, and returns it
// with each quality's expected QoE and the best quality.
func planStochastic(s *State, qoe *QoE, h int, futures [][]float64, rests []float64) (p *stochasticPlan, values []float64, best int) {
	if qoe == nil {
		lin := QoELin()
		qoe = &lin
	}
	p = newStochasticPlan(s, qoe, h, futures, rests)
	values = p.solve(s.Buffer.Seconds(), s.Last)
	for q, v := range values {
		if v > values[best] {
			best = q
		}
	}
	return p, values, best
}

// newStochasticPlan sets up the programme: futures[d] are the equally
// likely throughputs of chunk d of the horizon (as many for every chunk),
// rests those of the chunks after it.
func newStochasticPlan(s *State, qoe *QoE, h int, futures [][]float64, rests []float64) *stochasticPlan {
	n, nf := len(s.Bitrates), len(futures[0])
	p := &stochasticPlan{
		qoe: qoe, n: n, h: h, nf: nf, rests: rests, util: make([]float64, n),
		dl: make([]float64, h*n*nf), L: s.SegmentDuration.Seconds(), cap: s.BufferCap.Seconds(),
		lo: s.Bitrates[0], hi: s.Bitrates[n-1],
	}
	if p.cap <= 0 { // no cap: the highest level the horizon can reach
		p.cap = s.Buffer.Seconds() + float64(h)*p.L
	}
	if s.Count > 0 {
		p.after = s.Count - s.Index - h
	}
	for q, b := range s.Bitrates {
		p.util[q] = qoe.Utility(b)
	}
	for d := 0; d < h; d++ {
		for q := 0; q < n; q++ {
			bits := s.size(s.Index+d, q) * 8
			for f, c := range futures[d] {
				p.dl[(d*n+q)*nf+f] = bits / c
			}
		}
	}
	p.nb = int(math.Ceil(p.cap/gridStep)) + 1
	p.now = make([]float64, p.nb*n)
	p.nxt = make([]float64, p.nb*n)
	return p
}

// level returns the buffer at grid level i, in seconds.
func (p *stochasticPlan) level(i int) float64 {
	if x := float64(i) * gridStep; x < p.cap {
		return x
	}
	return p.cap
}

// value interpolates the value table v at buffer x after quality q.
func (p *stochasticPlan) value(v []float64, x float64, q int) float64 {
	f := x / gridStep
	i := int(f)
	if i >= p.nb-1 {
		return v[(p.nb-1)*p.n+q]
	}
	w := f - float64(i)
	return v[i*p.n+q]*(1-w) + v[(i+1)*p.n+q]*w
}

// rest is what the chunks after the horizon are worth from buffer x if
// they download at throughput c: the one steady rate at which they all
// arrive in the time they have (the buffer plus the playout of all but the
// last, so the last arrives as the buffer runs out), within the ladder's
// range, less any stall that even the lowest rate cannot avoid. It returns
// that value and the rate's utility (the switch to it is the caller's).
func (p *stochasticPlan) rest(x, c float64) (value, util float64) {
	n := float64(p.after)
	have := x + (n-1)*p.L
	rate := c * have / (n * p.L)
	stall := 0.0
	if rate < p.lo {
		rate = p.lo
		stall = n*p.lo*p.L/c - have
	}
	if rate > p.hi {
		rate = p.hi
	}
	util = p.qoe.Utility(rate)
	return n*util - p.qoe.Rebuffer*stall, util
}

// expect returns the expected QoE of fetching chunk d (of the horizon) at
// quality q with buffer x: its utility, less the expected stall, plus the
// expected value v of the buffer it leaves.
func (p *stochasticPlan) expect(v []float64, d, q int, x float64) float64 {
	nf := p.nf
	dl := p.dl[(d*p.n+q)*nf : (d*p.n+q+1)*nf]
	sum := 0.0
	for _, t := range dl {
		b, stall := x-t, 0.0
		if b < 0 {
			b, stall = 0, -b
		}
		if b += p.L; b > p.cap {
			b = p.cap
		}
		sum += p.value(v, b, q) - p.qoe.Rebuffer*stall
	}
	return p.util[q] + sum/float64(nf)
}

// solve returns, for each quality of the next chunk, the expected QoE of
// the best policy that starts with it, from buffer x after quality last
// (-1 for none).
func (p *stochasticPlan) solve(x float64, last int) []float64 {
	n, nr := p.n, len(p.rests)
	smooth := p.qoe.Smooth
	// After the horizon: the rest of the video at a steady rate, less the
	// switch to it from the horizon's last quality, averaged over the
	// futures.
	clear(p.now)
	for i := 0; p.after > 0 && i < p.nb; i++ {
		for _, c := range p.rests {
			v, u := p.rest(p.level(i), c)
			for q := 0; q < n; q++ {
				p.now[i*n+q] += (v - smooth*math.Abs(u-p.util[q])) / float64(nr)
			}
		}
	}
	// Chunks h-1 … 1 of the horizon, backwards: the value of each buffer
	// level after each quality is that of the best next choice.
	w := make([]float64, n)
	for d := p.h - 1; d >= 1; d-- {
		for i := 0; i < p.nb; i++ {
			b := p.level(i)
			for q := range w {
				w[q] = p.expect(p.now, d, q, b)
			}
			for prev := 0; prev < n; prev++ {
				best := math.Inf(-1)
				for q, v := range w {
					if v -= smooth * math.Abs(p.util[q]-p.util[prev]); v > best {
						best = v
					}
				}
				p.nxt[i*n+prev] = best
			}
		}
		p.now, p.nxt = p.nxt, p.now
	}
	// The next chunk, from the buffer as it is.
	values := make([]float64, n)
	for q := range values {
		values[q] = p.expect(p.now, 0, q, x)
		if last >= 0 {
			values[q] -= p.qoe.Smooth * math.Abs(p.util[q]-p.util[last])
		}
	}
	return values
}
