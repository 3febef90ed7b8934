package dash

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFugu(t *testing.T) {
	rule := Fugu{Predictor: smallPredictor()}
	// A steady 1.5 Mbps history from a 4 s buffer: the small predictor
	// says the next chunk may come at half the rate (0.75 Mbps), at which
	// a 1.2 Mbps chunk would stall (6.4 s); the recent samples alone say
	// 1.2 Mbps is safe (3.2 s).
	s := pensieve(4*time.Second, 2, 0, 1.5e6, 1.5e6, 1.53e6, 1.5e6, 1.5e6)
	s.Count = 20
	tputs := slices.Clone(s.Throughputs)
	d := rule.Choose(s)
	for _, part := range []string{"learned for 1.2–1.8 Mbps", "next chunk 0.75 Mbps–1.51 Mbps", "recent 1.50 Mbps–1.53 Mbps",
		"2 chunks ahead and 8 after", "300k", "4300k", "best " + Mbps(d.Bitrate)} {
		if !strings.Contains(d.Reason, part) {
			t.Errorf("reason %q lacks %q", d.Reason, part)
		}
	}
	if plain := (StochasticMPC{Horizon: 2}).Choose(s); d.Quality >= plain.Quality {
		t.Errorf("with a learned chance of halving: %s; smpc without it: %s", Mbps(d.Bitrate), Mbps(plain.Bitrate))
	}
	if again := rule.Choose(s); again != d {
		t.Errorf("the same state chose %+v, then %+v", d, again)
	}
	if !slices.Equal(s.Throughputs, tputs) {
		t.Error("Choose changed the state's throughputs")
	}
	if d.Prediction != harmonicMean(tputs, 5) {
		t.Errorf("Prediction %g, want the harmonic mean", d.Prediction)
	}

	// Without a predictor, or a cell for the history, it is smpc.
	noisy := pensieve(6*time.Second, 2, 0, 1e6, 3e6, 2e6)
	for _, r := range []Fugu{{}, rule} {
		got, want := r.Choose(noisy), StochasticMPC{Horizon: 2}.Choose(noisy)
		if r.Predictor == nil {
			want = StochasticMPC{}.Choose(noisy)
		}
		if got.Quality != want.Quality || !strings.HasPrefix(got.Reason, "no forecast, as smpc: ") || got.Rule != "fugu" {
			t.Errorf("%v: %s (%s), want smpc's %s", r.Predictor, Mbps(got.Bitrate), got.Reason, Mbps(want.Bitrate))
		}
	}
	if d := rule.Choose(pensieve(0, -1, 0)); d.Quality != 0 {
		t.Errorf("first chunk at %s", Mbps(d.Bitrate))
	}
}

// TestFuguBeatsBaselines: with the shipped predictor, on one trace of each
// kind, Fugu is above the throughput rule and BBA.
func TestFuguBeatsBaselines(t *testing.T) {
	var traces []*Trace
	for _, tr := range SyntheticTraces() {
		if strings.HasSuffix(tr.Name, "-1") {
			traces = append(traces, tr)
		}
	}
	for _, abandon := range []bool{false, true} {
		c := Compare(Simulator{Abandon: abandon}, traces, []Rule{Throughput{}, BBA{}, Fugu{Predictor: DefaultPredictor()}})
		for i := range 2 {
			if c.Fraction(i) >= c.Fraction(2) {
				t.Errorf("abandon %v: %s at %.3f of the optimum, fugu at %.3f", abandon, c.Rules[i], c.Fraction(i), c.Fraction(2))
			}
		}
	}
}
