package dash

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// qualities lists the qualities a session chose.
func qualities(r Result) []int {
	var out []int
	for _, c := range r.Chunks {
		out = append(out, c.Quality)
	}
	return out
}

// TestLearnedBonus: a bonus far larger than any expected QoE makes Learned
// choose as the rule it is given for: Rollout's choice, or StochasticMPC's
// (with its check on switching up); with no weights it chooses
// StochasticMPC's best expected QoE. So the parts the correction is added
// to are the rules' own.
func TestLearnedBonus(t *testing.T) {
	sim := Simulator{Abandon: true}
	table := DefaultRolloutTable()
	for _, tr := range []*Trace{GenerateTrace(LTE, 7, 320*time.Second), GenerateTrace(ThreeG, 7, 320*time.Second)} {
		for _, c := range []struct {
			name string
			w    *LearnedWeights
			like Rule
		}{
			{"rollout", &LearnedWeights{Rollout: 1000}, Rollout{Table: table}},
			{"smpc", &LearnedWeights{SMPC: 1000}, StochasticMPC{}},
		} {
			got := sim.Run(tr, Learned{Weights: c.w, Table: table})
			want := sim.Run(tr, c.like)
			if d := cmp.Diff(qualities(want), qualities(got)); d != "" {
				t.Errorf("%s: with a bonus for %s's choice (-%s +learned):\n%s", tr.Name, c.name, c.name, d)
			}
		}
		rec := &recorder{base: Learned{Table: table}}
		sim.Run(tr, rec)
		for i, s := range rec.states[1:] {
			d, _ := StochasticMPC{}.decide(&s)
			best := 0
			for q, v := range d.values {
				if v > d.values[best] {
					best = q
				}
			}
			if got := rec.decisions[i+1].Quality; got != best {
				t.Fatalf("%s chunk %d: no weights chose %d, smpc's best expected QoE is %d (%v)", tr.Name, s.Index, got, best, d.values)
			}
		}
	}
}

// TestLearnedCorrection checks each feature of the correction on a state
// worked by hand: 10 s buffered after a chunk at 1.2 Mbps, the last five
// throughputs 1, 2, 3, 2 and 2 Mbps, the slowest future 0.5 Mbps, 12 of
// 48 chunks left, prediction errors up to 0.5.
func TestLearnedCorrection(t *testing.T) {
	s := State{Index: 36, Count: 48, Bitrates: PensieveVideo().Bitrates, SegmentDuration: 4 * time.Second,
		Buffer: 10 * time.Second, Last: 2, Throughputs: []float64{5e6, 1e6, 2e6, 3e6, 2e6, 2e6},
		PredictionErrors: []float64{0.1, 0.5, 0.2}}
	f := learnedFeatures(&s, []float64{3e6, 0.5e6, 2e6})
	// Throughputs 1, 2, 3, 2, 2: mean 2, standard deviation √0.4.
	spread := math.Sqrt(0.4) / 2
	// At 2.85 Mbps: u = 2.85, up 1.65, a chunk of 11.4 Mbit takes 22.8 s
	// at 0.5 Mbps, 12.8 s more than is buffered; the buffer is half of
	// 20 s; a quarter of the video is left.
	u, up, stall := 2.85, 1.65, 12.8
	for _, c := range []struct {
		w    LearnedWeights
		want float64
	}{
		{LearnedWeights{Rate: 1}, u},
		{LearnedWeights{RateBuffer: 1}, u * 0.5},
		{LearnedWeights{Switch: 1}, up},
		{LearnedWeights{SwitchBuffer: 1}, up * 0.5},
		{LearnedWeights{Up: 1}, up},
		{LearnedWeights{UpBuffer: 1}, up * 0.5},
		{LearnedWeights{Stall: 1}, stall},
		{LearnedWeights{StallBuffer: 1}, 4 * 0.5},
		{LearnedWeights{RateSpread: 1}, u * spread},
		{LearnedWeights{RateLeft: 1}, u * 0.25},
		{LearnedWeights{UpSpread: 1}, up * spread},
		{LearnedWeights{RateErrors: 1}, u * 0.5},
		{LearnedWeights{Rollout: 1}, 1},
		{LearnedWeights{SMPC: 1}, 0},
	} {
		if got := c.w.correction(&f, 4, true, false); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%v: correction %.6f at 2.85 Mbps, want %.6f", c.w, got, c.want)
		}
	}
	// Going down to 0.75 Mbps switches by 0.45 and does not go up.
	if got := (&LearnedWeights{Switch: 1, Up: 10}).correction(&f, 1, false, false); math.Abs(got-0.45) > 1e-9 {
		t.Errorf("down to 0.75 Mbps: %.6f, want the switch alone, 0.45", got)
	}
}

// TestTrainLearned: training is a pure function of its inputs (the same
// weights whatever the schedule of the sessions), reports every
// generation, moves the weights, and returns the score its weights get.
func TestTrainLearned(t *testing.T) {
	sim := Simulator{Abandon: true}
	traces := SyntheticTraceSet(70001, 1)
	table := DefaultRolloutTable()
	var gens []int
	o := LearnedTraining{Generations: 2, Candidates: 4, Elite: 2, Seed: 1,
		Progress: func(gen int, _ LearnedWeights, _ float64) { gens = append(gens, gen) }}
	start := LearnedWeights{Rollout: 1}
	w, score := TrainLearned(sim, traces, table, start, o)
	if d := cmp.Diff([]int{1, 2}, gens); d != "" {
		t.Errorf("generations reported (-want +got):\n%s", d)
	}
	if w == start {
		t.Errorf("the weights did not move from %v", start)
	}
	if got := meanSessionQoE(sim, traces, Learned{Weights: &w, Table: table}); got != score {
		t.Errorf("trained weights score %.6f, training said %.6f", got, score)
	}
	o.Progress = nil
	if again, _ := TrainLearned(sim, traces, table, start, o); again != w {
		t.Errorf("trained twice: %v, then %v", w, again)
	}
}
