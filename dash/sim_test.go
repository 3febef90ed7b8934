package dash

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQoEScore(t *testing.T) {
	br := []float64{300e3, 1200e3, 1200e3, 750e3}
	rebuf := []time.Duration{time.Second, 0, 500 * time.Millisecond, 0}
	// 0.3+1.2+1.2+0.75 − 4.3·1.5 − (0.9 + 0 + 0.45)
	want := 3.45 - 6.45 - 1.35
	if got := QoELin().Score(br, rebuf); math.Abs(got-want) > 1e-9 {
		t.Errorf("QoE_lin = %g, want %g", got, want)
	}
	// log(R/300k): 0, log 4, log 4, log 2.5, rebuffer 2.66/s, changes log 4 and log 1.6.
	wantLog := 2*math.Log(4) + math.Log(2.5) - 2.66*1.5 - math.Log(4) - math.Log(1.6)
	if got := QoELog(300e3).Score(br, rebuf); math.Abs(got-wantLog) > 1e-9 {
		t.Errorf("QoE_log = %g, want %g", got, wantLog)
	}
	// HD: 1, 3, 3, 2, rebuffer 8/s, changes 2 and 1.
	if got := QoEHD().Score(br, rebuf); math.Abs(got-(9-12-3)) > 1e-9 {
		t.Errorf("QoE_HD = %g, want -6", got)
	}
}

func TestSimulatorSteady(t *testing.T) {
	tr := ConstantTrace(10e6)
	for _, r := range Rules() {
		res := Simulator{}.Run(tr, r)
		s := res.Summary
		if s.Chunks != 48 || s.Rebuffers != 0 {
			t.Errorf("%s: %d chunks, %d stalls at 10 Mbit/s", r.Name(), s.Chunks, s.Rebuffers)
		}
		if last := res.Chunks[47]; last.Quality != 5 {
			t.Errorf("%s: last chunk at quality %d at 10 Mbit/s", r.Name(), last.Quality)
		}
		for _, c := range res.Chunks {
			if c.Buffer-c.Sleep > 60*time.Second+time.Millisecond {
				t.Fatalf("%s: chunk %d leaves %v buffered, above the 60 s cap", r.Name(), c.Index, c.Buffer-c.Sleep)
			}
		}
	}
	// The first chunk (300 kbit/s × 4 s = 150 kB) takes 80 ms + 120 ms.
	res := Simulator{}.Run(tr, Throughput{})
	if d := res.Summary.StartupDelay; d < 199*time.Millisecond || d > 201*time.Millisecond {
		t.Errorf("start-up delay %v, want 200 ms", d)
	}
}

// TestOptimumBounds: no rule beats the offline optimum, and on a steady
// link the optimum is the top rate with one start-up.
func TestOptimumBounds(t *testing.T) {
	sim := Simulator{}
	traces := []*Trace{GenerateTrace(Steps, 1, 320*time.Second), GenerateTrace(ThreeG, 2, 320*time.Second)}
	for _, tr := range traces {
		opt, qs := sim.Optimum(tr, QoELin())
		if len(qs) != 48 {
			t.Fatalf("%d qualities", len(qs))
		}
		// The optimum's qualities, played by the simulator, score the
		// optimum's value: the dynamic programme and the simulator model
		// the same buffer, clock and QoE (start-up delay counted as
		// rebuffering in both).
		if got := sim.Run(tr, replay(qs)).Summary.QoELin; math.Abs(got-opt) > 1e-6 {
			t.Errorf("%s: the optimum's path scores %.6f in the simulator, the optimum says %.6f", tr.Name, got, opt)
		}
		for _, r := range Rules() {
			got := sim.Run(tr, r).Summary.QoELin
			if got > opt+1e-6 {
				t.Errorf("%s: %s scores %.4f, above the optimum %.4f", tr.Name, r.Name(), got, opt)
			}
		}
	}
	opt, qs := sim.Optimum(ConstantTrace(10e6), QoELin())
	// Best: 4.3 Mbit/s from the first chunk, whose 2.15 MB take 80 ms +
	// 1.72 s of start-up: (48·4.3 − 4.3·1.8)/48.
	if want := (48*4.3 - 4.3*1.8) / 48; math.Abs(opt-want) > 1e-6 || qs[0] != 5 {
		t.Errorf("optimum at 10 Mbit/s = %.6f starting at %d, want %.6f", opt, qs[0], want)
	}
}

func TestCompareTable(t *testing.T) {
	c := Compare(Simulator{}, []*Trace{GenerateTrace(LTE, 1, 320*time.Second)}, []Rule{Throughput{}, BBA{}})
	if len(c.QoE) != 2 || len(c.Optimum) != 1 {
		t.Fatalf("%+v", c)
	}
	for i := range c.Rules {
		if f := c.Fraction(i); f <= 0 || f > 1 {
			t.Errorf("%s: fraction %g", c.Rules[i], f)
		}
	}
	// The optimum's row is its path played in the simulator.
	if len(c.OptimumResults) != 1 || math.Abs(c.OptimumResults[0].Summary.QoELin-c.Optimum[0]) > 1e-6 {
		t.Errorf("the optimum's path: %+v, the optimum %.6f", c.OptimumResults, c.Optimum[0])
	}
	var b strings.Builder
	WriteComparison(&b, c, false)
	s := c.OptimumResults[0].Summary
	var row []string
	for _, line := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "optimum" {
			row = f
		}
	}
	want := []string{"optimum", fmt.Sprintf("%.3f", c.Optimum[0]), "1.000", fmt.Sprintf("%.2f", s.AvgBitrate/1e6), "Mbps",
		fmt.Sprintf("%.2f", (s.RebufferTime + s.StartupDelay).Seconds()), fmt.Sprintf("%.1f", float64(s.Switches))}
	if !slices.Equal(row, want) {
		t.Errorf("the table's optimum row is %q, want %q", row, want)
	}
}

// TestStochasticMPCConstantLink: on a link of constant rate, stochastic
// MPC comes within 2% of the offline optimum with a few switches up, where
// RobustMPC, planning as if the video ended with its horizon, swings
// between the two rates around the link's again and again.
func TestStochasticMPCConstantLink(t *testing.T) {
	for _, bps := range []float64{1e6, 2.3e6, 3.5e6} {
		tr := ConstantTrace(bps)
		opt, _ := Simulator{}.Optimum(tr, QoELin())
		s := Simulator{}.Run(tr, StochasticMPC{}).Summary
		if s.QoELin < 0.98*opt || s.Switches > 3 {
			t.Errorf("%s: QoE_lin %.3f with %d switches, optimum %.3f", tr.Name, s.QoELin, s.Switches, opt)
		}
		if r := (Simulator{}).Run(tr, MPC{Robust: true}).Summary; r.Switches <= s.Switches {
			t.Errorf("%s: RobustMPC switches %d times, stochastic MPC %d", tr.Name, r.Switches, s.Switches)
		}
	}
}

// TestStochasticMPCBeatsBaselines: over the shipped synthetic set, with and
// without abandonment, stochastic MPC has a higher mean QoE_lin than
// RobustMPC and the two baselines (throughput and BBA).
func TestStochasticMPCBeatsBaselines(t *testing.T) {
	traces := SyntheticTraces()
	for _, abandon := range []bool{false, true} {
		sim := Simulator{Abandon: abandon}
		meanQoE := func(r Rule) float64 {
			var q []float64
			for _, tr := range traces {
				q = append(q, sim.Run(tr, r).Summary.QoELin)
			}
			return mean(q)
		}
		best := meanQoE(StochasticMPC{})
		for _, r := range []Rule{MPC{Robust: true}, BBA{}, Throughput{}} {
			if q := meanQoE(r); q >= best {
				t.Errorf("abandon %v: %s %.3f, smpc %.3f", abandon, r.Name(), q, best)
			}
		}
	}
}
