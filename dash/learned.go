package dash

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Learned is StochasticMPC with a correction learned end to end on the
// QoE itself: the idea of Pensieve (Mao et al., SIGCOMM 2017), that a rule
// can be trained in a simulator on the score it is judged by, in a form
// small enough to read. It scores each rate as StochasticMPC's expected
// QoE for it plus a weighted sum of a few features of that rate and the
// state (see LearnedWeights), and chooses the highest score.
//
// The weights are not set by hand: [TrainLearned] searches for the ones
// that give the highest mean QoE_lin over many simulated sessions, by the
// cross-entropy method. The shipped ones ([DefaultLearnedWeights]) mostly
// follow Rollout's choice (a large bonus), and they read the slowest of
// StochasticMPC's five samples as less likely than it does: a rate whose
// chunk would stall only at that throughput scores better than the plan
// says, the more so the fuller the buffer. On a fast link whose slow
// samples are short fades, that is right; on the 3G-like traces, where
// slow spells last, it does no better and sometimes worse.
//
// The zero value has no weights and chooses StochasticMPC's best expected
// QoE (without its check on switching up); with no Table, Rollout's
// choice is StochasticMPC's own.
type Learned struct {
	Weights *LearnedWeights // nil: no correction
	Table   *RolloutTable   // Rollout's, for its choice; nil: no moves
}

// Name implements Rule.
func (Learned) Name() string { return "learned" }

// LearnedWeights weigh the features Learned adds to StochasticMPC's
// expected QoE of a rate. In them, u is the rate in Mbps and u₀ the last
// chunk's; the buffer is in units of 20 s; a stall is the seconds the
// chunk would stall if it came at the slowest of StochasticMPC's futures;
// the spread is the coefficient of variation of the last five throughputs.
type LearnedWeights struct {
	Rollout, SMPC        float64 // 1 for the rate Rollout chose, for the rate StochasticMPC chose
	Rate, RateBuffer     float64 // u, u × buffer
	Switch, SwitchBuffer float64 // |u − u₀|, × buffer
	Up, UpBuffer         float64 // max(u − u₀, 0), × buffer
	Stall, StallBuffer   float64 // the stall, min(stall, 4 s) × buffer
	RateSpread, RateLeft float64 // u × spread, u × fraction of the video left
	UpSpread, RateErrors float64 // max(u − u₀, 0) × spread, u × the largest of the last five prediction errors (at most 3)
}

// fields lists the weights in a fixed order, for training.
func (w *LearnedWeights) fields() []*float64 {
	return []*float64{&w.Rollout, &w.SMPC, &w.Rate, &w.RateBuffer, &w.Switch, &w.SwitchBuffer, &w.Up, &w.UpBuffer,
		&w.Stall, &w.StallBuffer, &w.RateSpread, &w.RateLeft, &w.UpSpread, &w.RateErrors}
}

// String formats the weights as a Go literal.
func (w LearnedWeights) String() string { return fmt.Sprintf("%#v", w) }

// DefaultLearnedWeights returns the weights Learned ships with, made by
//
//	go run ./examples/dash/sim -train-learned -seed 60001 -n 250
//
// (eight minutes on two cores): 20 generations of 16 candidates, each
// scored by its mean QoE_lin over the 1000 sessions of those synthetic
// traces with abandonment, starting from a Rollout bonus of 1.
func DefaultLearnedWeights() *LearnedWeights {
	return &LearnedWeights{
		Rollout: 1.318, SMPC: 0.194,
		Rate: 0.240, RateBuffer: 0.308,
		Switch: 0.021, SwitchBuffer: -0.166,
		Up: 0.216, UpBuffer: -0.239,
		Stall: 0.788, StallBuffer: 0.429,
		RateSpread: -0.218, RateLeft: 0.114,
		UpSpread: 0.515, RateErrors: 0.408,
	}
}

// Choose implements Rule.
func (r Learned) Choose(s State) Decision {
	d, ok := StochasticMPC{}.decide(&s)
	if !ok {
		return decide(s, 0, r.Name(), "no measurement yet: lowest rate")
	}
	ro := Rollout{Table: r.Table}.improve(&s, d.Decision, d.Rule)
	w := r.Weights
	if w == nil {
		w = &LearnedWeights{}
	}
	f := learnedFeatures(&s, d.futures)
	best, scores := 0, make([]float64, len(s.Bitrates))
	for q := range scores {
		scores[q] = d.values[q] + w.correction(&f, q, q == ro.Quality, q == d.Quality)
		if scores[q] > scores[best] {
			best = q
		}
	}
	out := decide(s, best, r.Name(), "expected QoE + learned correction: %s; rollout chose %s, smpc %s (%s)",
		expectedQoE(&s, scores), Mbps(s.Bitrates[ro.Quality]), Mbps(s.Bitrates[d.Quality]), d.Reason)
	out.Prediction = d.Prediction
	return out
}

// learnedState is what the features of every rate share.
type learnedState struct {
	s                    *State
	buffer, last         float64 // buffer in units of 20 s; the last chunk's rate in Mbps, 0 if none
	slowest              float64 // the slowest future, bits per second
	spread, left, errors float64
	hasLast              bool
}

// learnedFeatures computes what the features of every rate share, from the
// state and StochasticMPC's futures.
func learnedFeatures(s *State, futures []float64) learnedState {
	f := learnedState{s: s, buffer: s.Buffer.Seconds() / 20, slowest: slices.Min(futures), hasLast: s.Last >= 0}
	if f.hasLast {
		f.last = s.Bitrates[s.Last] / 1e6
	}
	tp := s.Throughputs[max(len(s.Throughputs)-5, 0):]
	m := mean(tp)
	v := 0.0
	for _, t := range tp {
		v += (t - m) * (t - m)
	}
	f.spread = math.Sqrt(v/float64(len(tp))) / m
	if s.Count > 0 {
		f.left = float64(s.Count-s.Index) / float64(s.Count)
	}
	for _, e := range s.PredictionErrors[max(len(s.PredictionErrors)-5, 0):] {
		f.errors = max(f.errors, e)
	}
	f.errors = min(f.errors, 3)
	return f
}

// correction is the learned part of quality q's score; rollout and smpc
// say whether those rules chose it.
func (w *LearnedWeights) correction(f *learnedState, q int, rollout, smpc bool) float64 {
	u := f.s.Bitrates[q] / 1e6
	var sw, up float64
	if f.hasLast {
		sw, up = math.Abs(u-f.last), max(u-f.last, 0)
	}
	stall := max(f.s.size(f.s.Index, q)*8/f.slowest-f.s.Buffer.Seconds(), 0)
	c := w.Rate*u + w.RateBuffer*u*f.buffer +
		w.Switch*sw + w.SwitchBuffer*sw*f.buffer +
		w.Up*up + w.UpBuffer*up*f.buffer +
		w.Stall*stall + w.StallBuffer*min(stall, 4)*f.buffer +
		w.RateSpread*u*f.spread + w.RateLeft*u*f.left +
		w.UpSpread*up*f.spread + w.RateErrors*u*f.errors
	if rollout {
		c += w.Rollout
	}
	if smpc {
		c += w.SMPC
	}
	return c
}

// LearnedTraining sets how TrainLearned searches.
type LearnedTraining struct {
	Generations int     // 0: 20
	Candidates  int     // per generation, the mean among them; 0: 16
	Elite       int     // best candidates the next mean is taken from; 0: 4
	Sigma       float64 // the first generation's spread of each weight; 0: 0.3
	Seed        uint64  // of the random candidates
	// Progress, if set, is called after each generation with its number,
	// the new mean's weights and the score of the mean it started from.
	Progress func(gen int, mean LearnedWeights, score float64)
}

// TrainLearned searches for Learned's weights by the cross-entropy method:
// each generation draws candidates around the current mean (each weight
// from a normal distribution of its own spread), scores every candidate by
// the mean QoE_lin of its sessions over the traces, and moves the mean and
// spreads to those of the best few. The mean itself is always among the
// candidates, so a generation is never judged on luck alone. It starts from
// start and returns the last mean with its score.
//
// The score is the objective the rule is judged by, measured directly: no
// model of the link, no gradient; the simulator's speed (hundreds of
// sessions a second) is the whole training budget. Sessions run on every
// processor.
func TrainLearned(sim Simulator, traces []*Trace, table *RolloutTable, start LearnedWeights, o LearnedTraining) (LearnedWeights, float64) {
	gens, pop, elite, sigma := o.Generations, o.Candidates, o.Elite, o.Sigma
	if gens <= 0 {
		gens = 20
	}
	if pop <= 0 {
		pop = 16
	}
	if elite <= 0 || elite > pop {
		elite = min(4, pop)
	}
	if sigma <= 0 {
		sigma = 0.3
	}
	score := func(v []float64) float64 {
		w := weightsOf(v)
		return meanSessionQoE(sim, traces, Learned{Weights: &w, Table: table})
	}
	var mu []float64
	for _, p := range start.fields() {
		mu = append(mu, *p)
	}
	sd := make([]float64, len(mu))
	for i := range sd {
		sd[i] = sigma
	}
	rng := rand.New(rand.NewPCG(o.Seed, 5))
	for g := 0; g < gens; g++ {
		cands := [][]float64{slices.Clone(mu)}
		for len(cands) < pop {
			c := make([]float64, len(mu))
			for i := range c {
				c[i] = mu[i] + sd[i]*rng.NormFloat64()
			}
			cands = append(cands, c)
		}
		fit := make([]float64, len(cands))
		for i, c := range cands {
			fit[i] = score(c)
		}
		order := make([]int, len(cands))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return fit[order[a]] > fit[order[b]] })
		top := order[:elite]
		for i := range mu {
			m, v := 0.0, 0.0
			for _, j := range top {
				m += cands[j][i]
			}
			m /= float64(elite)
			for _, j := range top {
				v += (cands[j][i] - m) * (cands[j][i] - m)
			}
			// The spread shrinks towards the elite's, never to nothing.
			mu[i], sd[i] = m, max(0.7*sd[i]+0.3*math.Sqrt(v/float64(elite)), 0.02)
		}
		if o.Progress != nil {
			o.Progress(g+1, weightsOf(mu), fit[0])
		}
	}
	for i := range mu {
		mu[i] = math.Round(mu[i]*1000) / 1000
	}
	return weightsOf(mu), score(mu)
}

// weightsOf makes weights of a vector in fields order.
func weightsOf(v []float64) LearnedWeights {
	var w LearnedWeights
	for i, p := range w.fields() {
		*p = v[i]
	}
	return w
}

// meanSessionQoE runs the rule over the traces, on every processor, and
// returns the mean QoE_lin per chunk.
func meanSessionQoE(sim Simulator, traces []*Trace, r Rule) float64 {
	out := make([]float64, len(traces))
	parallel(len(traces), func(i int) { out[i] = sim.Run(traces[i], r).Summary.QoELin })
	return mean(out)
}
