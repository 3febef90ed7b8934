package dash

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// smallPredictor has two steps of two quantiles. Its exact cell is for a
// steady history (spread 0.5–5%, last/level 0.95–1.05) at 1.2–1.8 Mbps;
// at 3.5–5 Mbps the cell has too few samples and the one over all levels
// answers.
func smallPredictor() *Predictor {
	return &Predictor{Steps: 2, Quantiles: 2, Cells: []PredictorCell{
		{Spread: 1, Trend: 4, Level: 3, Samples: 100, Next: [][]float64{{0.5, 1}, {0.4, 1.2}}},
		{Spread: 1, Trend: 4, Level: 6, Samples: 10, Next: [][]float64{{2, 3}, {2, 3}}},
		{Spread: 1, Trend: 4, Level: -1, Samples: 500, Next: [][]float64{{0.9, 1.1}, {0.8, 1.2}}},
	}}
}

func TestForecast(t *testing.T) {
	p := smallPredictor()
	steady := func(bps float64) []float64 { return []float64{bps, bps, bps * 1.02, bps, bps} }
	tests := []struct {
		name  string
		tputs []float64
		h     int
		ok    bool
		next  [][]float64 // ratios to the level
		cell  string
	}{
		{"exact cell", steady(1.5e6), 2, true, [][]float64{{0.5, 1}, {0.4, 1.2}}, "1.2–1.8 Mbps, spread 0.5–5%, last/level 0.95–1.05: 100 samples"},
		{"one step", steady(1.5e6), 1, true, [][]float64{{0.5, 1}}, ""},
		{"too few samples", steady(4e6), 2, true, [][]float64{{0.9, 1.1}, {0.8, 1.2}}, "any level"},
		{"no cell", []float64{1e6, 2e6}, 2, false, nil, ""},
		{"no measurement", nil, 2, false, nil, ""},
		{"beyond its steps", steady(1.5e6), 3, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := p.Forecast(tt.tputs, tt.h)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			level := harmonicMean(tt.tputs, 5)
			if f.Level != level {
				t.Errorf("level %g, want %g", f.Level, level)
			}
			var ratios [][]float64
			for _, xs := range f.Next {
				var r []float64
				for _, x := range xs {
					r = append(r, math.Round(x/level*1000)/1000)
				}
				ratios = append(ratios, r)
			}
			if diff := cmp.Diff(tt.next, ratios); diff != "" {
				t.Errorf("ratios (-want +got):\n%s", diff)
			}
			if !strings.Contains(f.Cell, tt.cell) {
				t.Errorf("cell %q, want %q in it", f.Cell, tt.cell)
			}
		})
	}
	var none *Predictor
	if _, ok := none.Forecast(steady(1.5e6), 1); ok {
		t.Error("a nil Predictor forecast")
	}
}

// TestTrainPredictor: on a constant link every chunk's throughput is
// close to the level (the round trip weighs more on small chunks), and
// each of the 47 histories after the first chunk is counted once.
func TestTrainPredictor(t *testing.T) {
	p := TrainPredictor(Simulator{}, []*Trace{ConstantTrace(3e6)}, StochasticMPC{}, 3, 4)
	if p.Steps != 3 || p.Quantiles != 4 || len(p.Cells) == 0 {
		t.Fatalf("%d steps, %d quantiles, %d cells", p.Steps, p.Quantiles, len(p.Cells))
	}
	histories := 0
	for _, c := range p.Cells {
		if c.Level == -1 {
			histories += c.Samples
		}
		if len(c.Next) != 3 {
			t.Fatalf("cell %+v: %d steps", c, len(c.Next))
		}
		for _, xs := range c.Next {
			if len(xs) != 4 || !slices.IsSorted(xs) || xs[0] < 0.8 || xs[3] > 1.25 {
				t.Errorf("cell %d %d %d: ratios %v on a constant link", c.Spread, c.Trend, c.Level, xs)
			}
		}
	}
	if histories != 47 {
		t.Errorf("%d histories counted, want 47", histories)
	}
}

// TestShippedPredictor retrains the predictor in testdata/predictor.txt by
// the command in its header and checks that it is the same.
func TestShippedPredictor(t *testing.T) {
	if testing.Short() || raceEnabled {
		// Training is smpc's sessions over a thousand traces in one
		// goroutine, in which the race detector has nothing to find and
		// which it slows from seconds to a minute; go test ./... runs it.
		t.Skip("training takes seconds (a minute under -race)")
	}
	got := DefaultPredictor()
	want := TrainPredictor(Simulator{}, SyntheticTraceSet(10001, 250), StochasticMPC{}, 5, 8)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("testdata/predictor.txt is not what training makes now (if the simulator or smpc changed, remake it with the command in its header) (-want +got):\n%s", diff)
	}
	if !strings.Contains(shippedPredictor, "-train -seed 10001 -n 250") {
		t.Error("the shipped predictor does not say how it was made")
	}
}

func TestPredictorRoundTrip(t *testing.T) {
	for _, p := range []*Predictor{smallPredictor(), DefaultPredictor()} {
		var b bytes.Buffer
		if err := WritePredictor(&b, p, "a comment\non two lines"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.String(), "# a comment\n# on two lines\npredictor ") {
			t.Errorf("file starts %q", b.String()[:40])
		}
		back, err := ParsePredictor(&b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Errorf("round trip (-wrote +read):\n%s", diff)
		}
	}
}

func TestParsePredictorErrors(t *testing.T) {
	const cell = "cell 1 4 3 100\nnext 0 0.5 1\n"
	tests := []struct{ name, in, want string }{
		{"empty", "", "no header"},
		{"two headers", "predictor 1 2\npredictor 1 2\n", "one header"},
		{"steps", "predictor 0 2\n", "out of range"},
		{"quantiles", "predictor 1 65\n", "out of range"},
		{"cell first", cell, "after the header"},
		{"cell range", "predictor 1 2\ncell 9 4 3 100\n", "out of range"},
		{"next outside a cell", "predictor 1 2\nnext 0 0.5 1\n", "outside a cell"},
		{"next before the header", "next", "outside a cell"},
		{"short row", "predictor 1 2\ncell 1 4 3 100\nnext 0 0.5\n", "2 ratios"},
		{"descending", "predictor 1 2\ncell 1 4 3 100\nnext 0 1 0.5\n", "ascending"},
		{"negative", "predictor 1 2\ncell 1 4 3 100\nnext 0 -1 0.5\n", "positive"},
		{"out of order", "predictor 2 2\ncell 1 4 3 100\nnext 1 0.5 1\n", "out of order"},
		{"missing step", "predictor 2 2\n" + cell + cell, "want 2"},
		{"missing step at the end", "predictor 2 2\n" + cell, "want 2"},
		{"unknown", "predictor 1 2\nrest 0 1 1\n", "unknown"},
		{"long line", "predictor 1 2\n# " + strings.Repeat("x", 2000) + "\n", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePredictor(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func FuzzParsePredictor(f *testing.F) {
	f.Add([]byte(shippedPredictor))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePredictor(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WritePredictor(&b, p, ""); err != nil {
			t.Fatal(err)
		}
		back, err := ParsePredictor(&b)
		if err != nil {
			t.Fatalf("what it wrote does not parse: %v", err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// Any parsed predictor can drive the rule.
		s := pensieve(8*time.Second, 2, 0, 1e6, 3e6, 2e6, 2e6, 2.1e6)
		if d := (Fugu{Predictor: p}).Choose(s); d.Quality < 0 || d.Quality >= len(s.Bitrates) {
			t.Fatalf("quality %d", d.Quality)
		}
	})
}
