package dash

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fixed is a base rule that always chooses one quality (the top one if
// Quality is past the ladder).
type fixed struct{ Quality int }

func (fixed) Name() string { return "fixed" }

func (f fixed) Choose(s State) Decision {
	q := min(f.Quality, len(s.Bitrates)-1)
	return decide(s, q, "fixed", "always %d", q)
}

func TestRolloutChoose(t *testing.T) {
	// gain: N samples with mean m and a standard deviation of 5, so a
	// standard error of 0.5 at 100 samples.
	gain := func(n int, m float64) RolloutGain { return RolloutGain{N: n, Mean: m, SD: 5} }
	table := func(cells ...RolloutCell) *RolloutTable { return &RolloutTable{Span: 4, Cells: cells} }
	// Buffer 6 s is band 1 (4–8 s); buffer 35 s band 5 (30–45 s).
	tests := []struct {
		name   string
		rule   Rollout
		state  State
		want   int
		reason string
	}{
		{"no table: as the base", Rollout{Base: fixed{2}}, pensieve(6*time.Second, 1, 0, 1e6), 2, "always 2"},
		{"down where it gained", Rollout{Base: fixed{2}, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(100, 1.5), Up: gain(100, -3)})},
			pensieve(6*time.Second, 1, 0, 1e6), 1, "in 100 past decisions like this, one step down for 4 chunks gained 1.50 on average (± 0.50): 0.75 Mbps"},
		{"up where it gained", Rollout{Base: fixed{1}, Table: table(RolloutCell{Buffer: 5, Quality: 1, Move: SwitchDown, Decisions: 200, Down: gain(100, -1), Up: gain(100, 2)})},
			pensieve(35*time.Second, 2, 0, 1e6), 2, "a switch down from 1.20 Mbps, buffer 30–45 s"},
		{"too few samples", Rollout{Base: fixed{2}, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(29, 3)})},
			pensieve(6*time.Second, 1, 0, 1e6), 2, ""},
		{"fewer samples allowed", Rollout{Base: fixed{2}, MinSamples: 20, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(29, 3)})},
			pensieve(6*time.Second, 1, 0, 1e6), 1, ""},
		{"margin too small", Rollout{Base: fixed{2}, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(100, 0.4)})},
			pensieve(6*time.Second, 1, 0, 1e6), 2, ""},
		{"smaller margin asked", Rollout{Base: fixed{2}, K: 0.5, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(100, 0.4)})},
			pensieve(6*time.Second, 1, 0, 1e6), 1, ""},
		{"a loss is never a move", Rollout{Base: fixed{2}, K: -1, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(100, -0.1)})},
			pensieve(6*time.Second, 1, 0, 1e6), 2, ""},
		{"other buffer band", Rollout{Base: fixed{2}, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(100, 1.5)})},
			pensieve(9*time.Second, 1, 0, 1e6), 2, ""},
		{"other move", Rollout{Base: fixed{2}, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: SwitchUp, Decisions: 200, Down: gain(100, 1.5)})},
			pensieve(6*time.Second, 2, 0, 1e6), 2, ""},
		{"both gained: the larger", Rollout{Base: fixed{2}, Table: table(RolloutCell{Buffer: 1, Quality: 2, Move: Stay, Decisions: 200, Down: gain(100, 1.5), Up: gain(100, 2.5)})},
			pensieve(6*time.Second, 2, 0, 1e6), 3, "one step up"},
		{"never above the top", Rollout{Base: fixed{9}, Table: table(RolloutCell{Buffer: 1, Quality: 5, Move: Stay, Decisions: 200, Down: gain(100, 1), Up: gain(100, 9)})},
			pensieve(6*time.Second, 5, 0, 1e6), 4, "one step down"},
		{"never below the bottom", Rollout{Base: fixed{0}, Table: table(RolloutCell{Buffer: 1, Quality: 0, Move: Stay, Decisions: 200, Down: gain(100, 9)})},
			pensieve(6*time.Second, 0, 0, 1e6), 0, ""},
		{"first chunk", Rollout{Base: fixed{0}, Table: table(RolloutCell{Buffer: 0, Quality: 0, Move: Stay, Decisions: 200, Up: gain(100, 9)})},
			pensieve(0, -1, 0), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.rule.Choose(tt.state)
			if d.Quality != tt.want {
				t.Errorf("quality %d, want %d (%s)", d.Quality, tt.want, d.Reason)
			}
			if d.Bitrate != tt.state.Bitrates[d.Quality] || d.Rule != "rollout" {
				t.Errorf("decision %+v", d)
			}
			if !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", d.Reason, tt.reason)
			}
		})
	}
}

// TestRolloutDefaultBase: with no base the rule starts from smpc's choice.
func TestRolloutDefaultBase(t *testing.T) {
	s := pensieve(20*time.Second, 2, 1.5e6, 1.4e6, 1.6e6, 1.5e6, 1.5e6, 1.5e6)
	want := StochasticMPC{}.Choose(s)
	got := Rollout{}.Choose(s)
	if got.Quality != want.Quality || got.Reason != want.Reason {
		t.Errorf("got %d (%s), smpc %d (%s)", got.Quality, got.Reason, want.Quality, want.Reason)
	}
}

// shortVideo is the Pensieve ladder in 12 chunks: training tests run on it
// to stay quick.
func shortVideo() Video {
	v := PensieveVideo()
	v.Count = 12
	return v
}

func constantTrace(t *testing.T, bps float64) *Trace {
	t.Helper()
	tr, err := NewTrace("constant", []TracePoint{{0, bps}}, 1000*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestRolloutForcedReplays: a forced session that moves nothing is the
// base's session, so the replayed decisions stand for the rule's own.
func TestRolloutForcedReplays(t *testing.T) {
	sim := Simulator{Video: shortVideo(), Abandon: true}
	tr := GenerateTrace(ThreeG, 7, 100*time.Second)
	rec := &recorder{base: StochasticMPC{}}
	own := sim.Run(tr, rec)
	for _, at := range []int{0, 5, 11} {
		again := sim.Run(tr, &forced{base: StochasticMPC{}, recorded: rec.decisions, at: at, span: 4})
		if diff := cmp.Diff(own.Summary, again.Summary); diff != "" {
			t.Errorf("forced at %d with no step (-own +forced):\n%s", at, diff)
		}
	}
}

// TestTrainRolloutLearnsTheObvious: a rule that always takes the top rate
// on a 1 Mbps link stalls, and training says a step down gains; one that
// always takes the bottom rate on a 10 Mbps link wastes it, and a step up
// for four chunks gains (for two it would not: QoE_lin charges the switch
// up and back down as much as two chunks one step higher earn).
func TestTrainRolloutLearnsTheObvious(t *testing.T) {
	sim := Simulator{Video: shortVideo()}
	tests := []struct {
		name string
		base Rule
		bps  float64
		up   bool // the gain that must be positive
	}{
		{"greedy on a slow link", fixed{5}, 1e6, false},
		{"timid on a fast link", fixed{0}, 10e6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table := TrainRollout(sim, []*Trace{constantTrace(t, tt.bps)}, tt.base, 4)
			if len(table.Cells) == 0 {
				t.Fatal("no cells")
			}
			decisions := 0
			for _, c := range table.Cells {
				decisions += c.Decisions
				g, other := c.Down, c.Up
				if tt.up {
					g, other = c.Up, c.Down
				}
				if g.N != c.Decisions || other.N != 0 || g.Mean <= 0 {
					t.Errorf("cell %+v", c)
				}
			}
			if decisions != 11 { // every chunk but the first
				t.Errorf("%d decisions, want 11", decisions)
			}
		})
	}
}

// TestTrainRolloutDeterministic: training the same sessions twice gives
// the same table, whatever order the goroutines finish in.
func TestTrainRolloutDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("training takes seconds")
	}
	sim := Simulator{Video: shortVideo(), Abandon: true}
	traces := SyntheticTraceSet(30001, 1)
	a := TrainRollout(sim, traces, StochasticMPC{}, 4)
	b := TrainRollout(sim, traces, StochasticMPC{}, 4)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two trainings differ (-first +second):\n%s", diff)
	}
	decisions := 0
	for _, c := range a.Cells {
		decisions += c.Decisions
	}
	if want := len(traces) * 11; decisions != want {
		t.Errorf("%d decisions, want %d", decisions, want)
	}
}

// TestShippedRolloutTable: the shipped table parses, says how it was made,
// and counts one decision for every chunk but the first of every training
// session (retraining it takes a minute: the command is in its header).
func TestShippedRolloutTable(t *testing.T) {
	table := DefaultRolloutTable()
	const cmd = "-train-rollout -seed 30001 -n 300 -abandon"
	if !strings.Contains(shippedRollout, cmd) {
		t.Errorf("the shipped table does not say it was made by %q", cmd)
	}
	decisions := 0
	for _, c := range table.Cells {
		decisions += c.Decisions
	}
	if want := 4 * 300 * (PensieveVideo().Count - 1); decisions != want {
		t.Errorf("%d decisions, want %d (4 kinds × 300 traces × 47)", decisions, want)
	}
	if table.Span != 4 {
		t.Errorf("span %d", table.Span)
	}
}

func TestRolloutTableRoundTrip(t *testing.T) {
	small := &RolloutTable{Span: 3, Cells: []RolloutCell{
		{Buffer: 0, Quality: 1, Move: SwitchUp, Decisions: 10, Down: RolloutGain{N: 10, Mean: 1.25, SD: 2}, Up: RolloutGain{N: 9, Mean: -0.5, SD: 0.125}},
		{Buffer: 6, Quality: 5, Move: Stay, Decisions: 4, Down: RolloutGain{N: 4, Mean: -3, SD: 1}},
	}}
	for _, table := range []*RolloutTable{small, DefaultRolloutTable()} {
		var b bytes.Buffer
		if err := WriteRolloutTable(&b, table, "a comment\non two lines"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.String(), "# a comment\n# on two lines\nrollout ") {
			t.Errorf("file starts %q", b.String()[:40])
		}
		back, err := ParseRolloutTable(&b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(table, back); diff != "" {
			t.Errorf("round trip (-wrote +read):\n%s", diff)
		}
	}
}

func TestParseRolloutTableErrors(t *testing.T) {
	const cell = "cell 1 2 up 100 down 100 1.5 2 up 100 -1 3\n"
	tests := []struct{ name, in, want string }{
		{"empty", "", "no header"},
		{"comment only", "# nothing\n", "no header"},
		{"two headers", "rollout 4\nrollout 4\n", "one header"},
		{"span zero", "rollout 0\n", "span"},
		{"span huge", "rollout 65\n", "span"},
		{"cell first", cell, "after the header"},
		{"short cell", "rollout 4\ncell 1 2 up 100 down 100 1.5 2\n", "want \"cell"},
		{"labels", "rollout 4\ncell 1 2 up 100 up 100 1.5 2 down 100 -1 3\n", "want \"cell"},
		{"buffer band", "rollout 4\ncell 7 2 up 100 down 100 1.5 2 up 100 -1 3\n", "count \"7\""},
		{"negative quality", "rollout 4\ncell 1 -1 up 100 down 100 1.5 2 up 100 -1 3\n", "count \"-1\""},
		{"move", "rollout 4\ncell 1 2 sideways 100 down 100 1.5 2 up 100 -1 3\n", "move \"sideways\""},
		{"more samples than decisions", "rollout 4\ncell 1 2 up 100 down 101 1.5 2 up 100 -1 3\n", "count \"101\""},
		{"not a number", "rollout 4\ncell 1 2 up 100 down 100 x 2 up 100 -1 3\n", "gain \"x\""},
		{"NaN", "rollout 4\ncell 1 2 up 100 down 100 NaN 2 up 100 -1 3\n", "gain \"NaN\""},
		{"huge gain", "rollout 4\ncell 1 2 up 100 down 100 1e7 2 up 100 -1 3\n", "gain \"1e7\""},
		{"negative spread", "rollout 4\ncell 1 2 up 100 down 100 1 -2 up 100 -1 3\n", "negative standard deviation"},
		{"twice", "rollout 4\n" + cell + cell, "twice"},
		{"unknown", "rollout 4\nnext 0 1\n", "unknown line"},
		{"long line", "rollout 4\n# " + strings.Repeat("x", 300) + "\n", "token too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRolloutTable(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func FuzzParseRolloutTable(f *testing.F) {
	f.Add([]byte(shippedRollout))
	f.Add([]byte("rollout 4\ncell 1 2 up 100 down 100 1.5 2 up 100 -1 3\n"))
	f.Add([]byte("rollout 1\ncell 0 0 stay 0 down 0 0 0 up 0 0 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		table, err := ParseRolloutTable(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b bytes.Buffer
		if err := WriteRolloutTable(&b, table, ""); err != nil {
			t.Fatal(err)
		}
		back, err := ParseRolloutTable(&b)
		if err != nil {
			t.Fatalf("what it wrote does not parse: %v", err)
		}
		if diff := cmp.Diff(table, back); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// Any parsed table can drive the rule, which stays on the ladder.
		for _, s := range []State{pensieve(6*time.Second, 5, 0, 9e6), pensieve(35*time.Second, 0, 0, 0.2e6)} {
			r := Rollout{Base: fixed{s.Last}, Table: table, MinSamples: 1, K: 0.01}
			if d := r.Choose(s); d.Quality < 0 || d.Quality >= len(s.Bitrates) {
				t.Fatalf("quality %d", d.Quality)
			}
		}
	})
}

func TestRolloutByName(t *testing.T) {
	r, err := RuleByName("rollout")
	if err != nil || r.Name() != "rollout" {
		t.Fatalf("RuleByName(rollout) = %v, %v", r, err)
	}
	if ro, ok := r.(Rollout); !ok || ro.Table == nil || len(ro.Table.Cells) == 0 {
		t.Errorf("rollout without the shipped table: %#v", r)
	}
}
