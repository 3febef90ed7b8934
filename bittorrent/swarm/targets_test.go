package swarm

import (
	"math"
	"testing"
)

// The targets for the P2P simulation: efficiency (bound /
// simulated time) at least 0.90 with 256 pieces, for N = 10, 100 and 1000.
// BenchmarkRun reports the efficiency beside the time of N = 1000.
func TestP2PEfficiency(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
	}{
		{"slides N=10", slideConfig(10)},
		{"broadband N=10", broadbandConfig(10)},
		{"broadband N=100", broadbandConfig(100)},
		{"broadband N=1000", broadbandConfig(1000)},
	}
	if raceEnabled || testing.Short() {
		// The simulation runs in one goroutine, which gives the race
		// detector nothing to find; it would run a thousand peers ten
		// times slower.
		cases = cases[:3]
	}
	for _, tt := range cases {
		r, err := Run(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Pieces != 256 {
			t.Fatalf("%s: %d pieces, want 256", tt.name, r.Pieces)
		}
		t.Logf("%s: %v against the bound %v: efficiency %.3f", tt.name, r.Time, r.Bound, r.Efficiency)
		if r.Efficiency < 0.90 || r.Efficiency > 1 || math.IsNaN(r.Efficiency) {
			t.Errorf("%s: efficiency %.3f, want in [0.90, 1]", tt.name, r.Efficiency)
		}
	}
}

// Recorded rounds show the choker at work: a leecher unchokes at most the
// mainline preset's 3 + 1 peers, with reasons.
func TestRecordRounds(t *testing.T) {
	cfg := slideConfig(12)
	cfg.RecordRounds = true
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rounds) == 0 {
		t.Fatal("no rounds recorded")
	}
	reasons := map[string]int{}
	for _, rd := range r.Rounds {
		if len(rd.Unchoked) != len(rd.Reasons) {
			t.Fatalf("round %+v: %d unchoked, %d reasons", rd, len(rd.Unchoked), len(rd.Reasons))
		}
		if !rd.Seeding && len(rd.Unchoked) > 4 {
			t.Errorf("leecher %d unchoked %d peers at %v: %v", rd.Peer, len(rd.Unchoked), rd.Time, rd.Reasons)
		}
		for _, why := range rd.Reasons {
			reasons[why]++
		}
	}
	for _, want := range []string{"top by rate", "optimistic"} {
		if reasons[want] == 0 {
			t.Errorf("no unchoke for %q in %v", want, reasons)
		}
	}
}
