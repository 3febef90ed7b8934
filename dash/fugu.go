package dash

import (
	"slices"
)

// Fugu is stochastic model predictive control driven by a learned
// predictor of throughput distributions, after Puffer's Fugu (Yan et al.,
// NSDI 2020). It plans as [StochasticMPC] does, dynamic programming over
// the buffer for the best expected QoE, but the possible throughputs of
// each chunk of the horizon come from two sources, each future equally
// likely:
//
//   - what the [Predictor] learned from past sessions: for a history like
//     this one (its level, spread and last move), how the throughput of
//     the next chunk, the one after, and so on, tended to turn out;
//   - what StochasticMPC uses: the last five throughputs and RobustMPC's
//     cautious prediction.
//
// The learned part knows things five samples cannot show: that a rate
// which has not moved at all may still jump (a step), that a noisy rate far
// above its usual level tends to fall back, and how far it may go in five
// chunks; the recent samples keep the plan close to this session's own
// link. The rest of the video after the horizon is valued as StochasticMPC
// values it.
//
// The zero value looks 5 chunks ahead and scores with QoELin; with no
// Predictor it chooses as StochasticMPC does.
type Fugu struct {
	Predictor *Predictor
	Horizon   int
	QoE       *QoE // nil: QoELin
}

// Name implements Rule.
func (Fugu) Name() string { return "fugu" }

// Choose implements Rule.
func (r Fugu) Choose(s State) Decision {
	h := r.Horizon
	if h <= 0 {
		h = 5
	}
	if r.Predictor != nil {
		h = min(h, r.Predictor.Steps)
	}
	if s.Count > 0 {
		h = min(h, s.Count-s.Index)
	}
	h = max(h, 1)
	f, ok := r.Predictor.Forecast(s.Throughputs, h)
	recent, mean := recentFutures(&s, 5)
	if !ok || len(recent) == 0 {
		d := StochasticMPC{Horizon: h, QoE: r.QoE}.Choose(s)
		d.Rule, d.Reason = r.Name(), "no forecast, as smpc: "+d.Reason
		return d
	}
	next := make([][]float64, h)
	for d := range next {
		next[d] = append(slices.Clone(f.Next[d]), recent...)
	}
	p, values, best := planStochastic(&s, r.QoE, h, next, recent)
	held := holdUp(&s, values, best, recent[:len(recent)-1], func(samples []float64) []float64 {
		rs := append(samples, recent[len(recent)-1])
		nx := make([][]float64, h)
		for d := range nx {
			nx[d] = append(slices.Clone(f.Next[d]), rs...)
		}
		_, v, _ := planStochastic(&s, r.QoE, h, nx, rs)
		return v
	})
	chosen := best
	if held != "" {
		chosen = s.Last
	}
	d := decide(s, chosen, r.Name(), "learned for %s: next chunk %s–%s, in %d chunks %s–%s; recent %s–%s; buffer %.1fs, %d chunks ahead and %d after: expected QoE %s: best %s%s",
		f.Cell, Mbps(f.Next[0][0]), Mbps(slices.Max(f.Next[0])), h, Mbps(f.Next[h-1][0]), Mbps(slices.Max(f.Next[h-1])),
		Mbps(slices.Min(recent)), Mbps(slices.Max(recent)), s.Buffer.Seconds(), h, p.after, expectedQoE(&s, values), Mbps(s.Bitrates[best]), held)
	d.Prediction = mean
	return d
}
