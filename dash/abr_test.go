package dash

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// pensieve returns a State on Pensieve's ladder.
func pensieve(buffer time.Duration, last int, estimate float64, tputs ...float64) State {
	return State{
		Index: 10, Count: 48, Bitrates: PensieveVideo().Bitrates, SegmentDuration: 4 * time.Second,
		Buffer: buffer, BufferCap: 60 * time.Second, Last: last, Estimate: estimate, Throughputs: tputs,
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name   string
		rule   Rule
		state  State
		want   int
		reason string // a piece of the reason
	}{
		{"throughput start", Throughput{}, pensieve(0, -1, 0), 0, "no measurement"},
		{"throughput 1.5M", Throughput{}, pensieve(10*time.Second, 0, 1.5e6), 2, "× 0.9"},     // 1.35M ≥ 1.2M
		{"throughput 1.3M", Throughput{}, pensieve(10*time.Second, 0, 1.3e6), 1, "1.17 Mbps"}, // 1.17M < 1.2M
		{"throughput safety 1", Throughput{Safety: 1}, pensieve(10*time.Second, 0, 1.3e6), 2, ""},
		{"throughput huge", Throughput{}, pensieve(0, 0, 1e9), 5, ""},
		{"bba reservoir", BBA{}, pensieve(4*time.Second, 3, 9e6), 0, "reservoir"},
		{"bba cushion", BBA{}, pensieve(16*time.Second, 0, 0), 5, "cushion"},
		// At 10 s the map gives 300k + 4000k × 5/10 = 2.3 Mbps.
		{"bba middle from below", BBA{}, pensieve(10*time.Second, 1, 0), 3, "2.30 Mbps"},
		{"bba holds", BBA{}, pensieve(10*time.Second, 3, 0), 3, ""},
		{"bba middle from above", BBA{}, pensieve(10*time.Second, 5, 0), 4, ""},
		{"bba first", BBA{}, pensieve(10*time.Second, -1, 0), 3, ""},
		{"bola start", BOLA{}, pensieve(0, -1, 0), 0, "start-up"},
		{"bola low buffer", BOLA{}, pensieve(2*time.Second, 2, 9e6), 0, ""},
		{"bola full buffer", BOLA{}, pensieve(30*time.Second, 5, 9e6), 5, ""},
		{"bola held by estimate", BOLA{}, pensieve(30*time.Second, 1, 1.3e6), 2, "held to 1.20 Mbps"},
		{"mpc start", MPC{}, pensieve(0, -1, 0), 0, "no measurement"},
		// At 3 Mbps a 2.85 Mbps chunk takes 3.8 s: sustainable from a 4 s
		// buffer; 4.3 Mbps (5.7 s) would stall.
		{"mpc steady 3M", MPC{}, pensieve(4*time.Second, 4, 3e6, 3e6, 3e6, 3e6, 3e6, 3e6), 4, "predicted 3.00 Mbps"},
		// With a 20 s buffer, five chunks at 4.3 Mbps drain it by 8.7 s only.
		{"mpc steady 3M full buffer", MPC{}, pensieve(20*time.Second, 4, 3e6, 3e6, 3e6, 3e6, 3e6, 3e6), 5, ""},
		// 5/(4·1/4e6 + 1/0.5e6) = 1.67 Mbps: 1.85 Mbps chunks drain 0.44 s each.
		{"mpc harmonic", MPC{}, pensieve(8*time.Second, 2, 0, 4e6, 4e6, 4e6, 4e6, 0.5e6), 3, "predicted 1.67 Mbps"},
		{"smpc start", StochasticMPC{}, pensieve(0, -1, 0), 0, "no measurement"},
		// At 10 Mbps every rate downloads in under a second.
		{"smpc fast link", StochasticMPC{}, pensieve(20*time.Second, 5, 0, 10e6, 10e6, 10e6, 10e6, 10e6), 5, "best 4.30 Mbps"},
		// At 0.4 Mbps even 750 kbps chunks take 7.5 s: from a 4 s buffer
		// only the lowest rate (3 s a chunk) does not stall.
		{"smpc slow link", StochasticMPC{}, pensieve(4*time.Second, 0, 0, 0.4e6, 0.4e6, 0.4e6, 0.4e6, 0.4e6), 0, "futures 0.40 Mbps–0.40 Mbps"},
		// At 3 Mbps 2.85 Mbps chunks take 3.8 s, sustainable; 4.3 Mbps ones
		// take 5.7 s and would empty a 6 s buffer by the fourth chunk.
		{"smpc steady 3M", StochasticMPC{}, pensieve(6*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 3e6), 4, "best 2.85 Mbps"},
		{"dynamic low buffer", Dynamic{}, pensieve(3*time.Second, 1, 1.5e6), 2, "[throughput]"},
		{"dynamic high buffer", Dynamic{}, pensieve(30*time.Second, 5, 9e6), 5, "[bola]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.rule.Choose(tt.state)
			if d.Quality != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("%s chose %d (%s), want %d with %q", tt.rule.Name(), d.Quality, d.Reason, tt.want, tt.reason)
			}
			if d.Bitrate != tt.state.Bitrates[d.Quality] {
				t.Errorf("bitrate %g for quality %d", d.Bitrate, d.Quality)
			}
		})
	}
}

func TestDynamicHysteresis(t *testing.T) {
	s := pensieve(7*time.Second, 3, 2e6)
	s.PrevRule = "bola"
	if d := (Dynamic{}).Choose(s); d.Rule != "bola" {
		t.Errorf("at 7 s after BOLA: %s, want bola (switches off below 5 s)", d.Rule)
	}
	s.PrevRule = "throughput"
	if d := (Dynamic{}).Choose(s); d.Rule != "throughput" {
		t.Errorf("at 7 s after throughput: %s, want throughput (switches on at 10 s)", d.Rule)
	}
}

func TestRobustMPC(t *testing.T) {
	s := pensieve(4*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 3e6)
	plain := MPC{}.Choose(s)
	s.PredictionErrors = []float64{0.1, 1.5, 0.2}
	robust := MPC{Robust: true}.Choose(s)
	if !strings.Contains(robust.Reason, "predicted 1.20 Mbps") { // 3M / (1+1.5)
		t.Errorf("robust reason %q", robust.Reason)
	}
	if robust.Quality >= plain.Quality {
		t.Errorf("robust chose %d, plain %d: a past error of 150%% should make it careful", robust.Quality, plain.Quality)
	}
	if robust.Prediction != 3e6 {
		t.Errorf("Prediction = %g, want the undiscounted 3e6", robust.Prediction)
	}
}

func TestStochasticMPC(t *testing.T) {
	rule := StochasticMPC{}
	at2M := func(index int) State {
		s := pensieve(30*time.Second, 3, 0, 2e6, 2e6, 2e6, 2e6, 2e6)
		s.Index = index
		return s
	}
	// Two chunks before the end, a 30 s buffer pays for two 4.3 Mbps chunks
	// (8.6 s each at 2 Mbps); with 35 chunks to go the same buffer is worth
	// more spread over the rest of the video than spent now.
	if d := rule.Choose(at2M(46)); d.Quality != 5 || !strings.Contains(d.Reason, "2 chunks ahead and 0 after") {
		t.Errorf("near the end: %d (%s), want 5: spend the buffer", d.Quality, d.Reason)
	}
	if d := rule.Choose(at2M(10)); d.Quality == 5 {
		t.Errorf("in the middle: %d (%s), want below 4.3 Mbps on a 2 Mbps link", d.Quality, d.Reason)
	}

	// One slow chunk among five makes a stall possible: it chooses lower.
	fast := rule.Choose(pensieve(6*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 3e6))
	slow := rule.Choose(pensieve(6*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 0.5e6))
	if slow.Quality >= fast.Quality {
		t.Errorf("with a slow chunk %d, without %d", slow.Quality, fast.Quality)
	}
	if fast.Prediction != 3e6 {
		t.Errorf("Prediction = %g, want the harmonic mean 3e6", fast.Prediction)
	}
	for _, rate := range []string{"300k", "4300k"} {
		if !strings.Contains(fast.Reason, rate) {
			t.Errorf("reason %q does not give the expected QoE of %s", fast.Reason, rate)
		}
	}

	// A past prediction 200% off adds RobustMPC's cautious future: 3/(1+2).
	s := pensieve(6*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 3e6)
	s.PredictionErrors = []float64{0.1, 2, 0.1}
	careful := rule.Choose(s)
	if careful.Quality >= fast.Quality || !strings.Contains(careful.Reason, "futures 1.00 Mbps–3.00 Mbps") {
		t.Errorf("after a 200%% error: %d (%s), without %d", careful.Quality, careful.Reason, fast.Quality)
	}

	// With no buffer cap and no known length it still plans its horizon.
	s = pensieve(6*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 3e6)
	s.BufferCap, s.Count = 0, 0
	if d := rule.Choose(s); d.Quality != 4 || !strings.Contains(d.Reason, "5 chunks ahead and 0 after") {
		t.Errorf("no cap, no length: %d (%s), want 4", d.Quality, d.Reason)
	}
}

// TestStochasticMPCHoldsUp: a switch up that rests on one lucky sample is
// not made, and the reason says so; the same switch on samples that all
// agree is.
func TestStochasticMPCHoldsUp(t *testing.T) {
	// Around 3 Mbps with one chunk at 4.5 Mbps: the plan's best starts at
	// 4.3 Mbps, but only because of that one sample.
	noisy := pensieve(25*time.Second, 4, 0, 2.9e6, 3.1e6, 2.8e6, 3e6, 4.5e6)
	d := StochasticMPC{}.Choose(noisy)
	for _, part := range []string{"best 4.30 Mbps", "stays at 2.85 Mbps: switching up gains", "without the sample 4.50 Mbps staying is better"} {
		if !strings.Contains(d.Reason, part) {
			t.Errorf("reason %q lacks %q", d.Reason, part)
		}
	}
	if d.Quality != 4 {
		t.Errorf("noisy 3 Mbps: %s, want to stay at 2.85 Mbps", Mbps(d.Bitrate))
	}
	// At a steady 4.5 Mbps every sample says 4.3 Mbps is sustainable.
	steady := pensieve(25*time.Second, 4, 0, 4.5e6, 4.5e6, 4.5e6, 4.5e6, 4.5e6)
	if d := (StochasticMPC{}).Choose(steady); d.Quality != 5 || strings.Contains(d.Reason, "stays") {
		t.Errorf("steady 4.5 Mbps: %s (%s), want 4.30 Mbps", Mbps(d.Bitrate), d.Reason)
	}
	// A switch down is never held: a slow sample may mean a stall.
	slow := pensieve(6*time.Second, 4, 0, 3e6, 3e6, 3e6, 3e6, 0.5e6)
	if d := (StochasticMPC{}).Choose(slow); d.Quality >= 4 || strings.Contains(d.Reason, "stays") {
		t.Errorf("after a slow chunk: %s (%s), want below 2.85 Mbps", Mbps(d.Bitrate), d.Reason)
	}
}

// TestStochasticMPCStepUp: after a step from 1 to 4 Mbps the rule plans on
// the new level from the first chunk that shows it, instead of waiting for
// the old samples to leave its window.
func TestStochasticMPCStepUp(t *testing.T) {
	old := []float64{1e6, 1.1e6, 0.9e6, 1e6, 1e6}
	for _, m := range []int{1, 2} {
		tputs := slices.Clone(old)
		for range m {
			tputs = append(tputs, 4e6)
		}
		d := StochasticMPC{}.Choose(pensieve(20*time.Second, 2, 0, tputs...))
		// Scaled by 4 (1/0.988 by the harmonic means), the old samples
		// are 3.6–4.5 Mbps.
		if d.Quality != 5 || !strings.Contains(d.Reason, "futures 3.") {
			t.Errorf("%d chunks after a step to 4 Mbps: %s (%s), want 4.30 Mbps", m, Mbps(d.Bitrate), d.Reason)
		}
	}
}

func TestChangePoint(t *testing.T) {
	tests := []struct {
		name   string
		tputs  []float64
		m      int
		before []float64
	}{
		{"flat", []float64{1, 1, 1, 1, 1}, 0, nil},
		{"noisy", []float64{1, 1.5, 0.8, 1.2, 2.3}, 0, nil},
		{"one up", []float64{1, 1.5, 0.8, 1.2, 3.1}, 1, []float64{1, 1.5, 0.8, 1.2}},
		{"two up", []float64{1, 1, 1, 1, 1, 1, 3, 2.5}, 2, []float64{1, 1, 1, 1, 1}},
		{"two up, one not", []float64{1, 1, 1, 1, 3, 1.5}, 0, nil},
		{"down", []float64{4, 4, 4, 4, 1}, 0, nil},
		{"too short", []float64{4}, 0, nil},
		{"one before is too few", []float64{1, 4}, 0, nil},
		{"two before", []float64{1, 1, 4}, 1, []float64{1, 1}},
	}
	for _, tt := range tests {
		m, before := changePoint(tt.tputs, 5)
		if m != tt.m || !slices.Equal(before, tt.before) {
			t.Errorf("%s: changePoint = %d, %v; want %d, %v", tt.name, m, before, tt.m, tt.before)
		}
	}
}

// TestStochasticMPCRest checks the value of the rest of the video by hand:
// 10 chunks of 4 s after the horizon have the buffer plus 9 × 4 s.
func TestStochasticMPCRest(t *testing.T) {
	qoe := QoELin()
	p := stochasticPlan{qoe: &qoe, L: 4, lo: 300e3, hi: 4300e3, after: 10}
	tests := []struct {
		name            string
		buffer, c       float64
		value, rateUtil float64
	}{
		// 40 s for 10 chunks at 2 Mbps: 2 Mbps each.
		{"steady", 4, 2e6, 20, 2},
		// 50 s: 2.5 Mbps each; the extra buffer is worth 10 × 0.5.
		{"more buffer", 14, 2e6, 25, 2.5},
		// At 10 Mbps they are at the top rate whatever the buffer.
		{"above the ladder", 4, 10e6, 43, 4.3},
		// At 0.2 Mbps even 300 kbps chunks take 6 s: 60 s for 36 s, a 24 s
		// stall: 10 × 0.3 − 4.3 × 24.
		{"below the ladder", 0, 0.2e6, 3 - 4.3*24, 0.3},
	}
	for _, tt := range tests {
		v, u := p.rest(tt.buffer, tt.c)
		if math.Abs(v-tt.value) > 1e-9 || math.Abs(u-tt.rateUtil) > 1e-9 {
			t.Errorf("%s: rest = %g at utility %g, want %g at %g", tt.name, v, u, tt.value, tt.rateUtil)
		}
	}
}

func TestEstimators(t *testing.T) {
	var e EWMA
	if e.Estimate() != 0 {
		t.Error("estimate before any sample")
	}
	e.Add(4e6, 2*time.Second)
	if got := e.Estimate(); math.Abs(got-4e6) > 1 {
		t.Errorf("one sample: %g, want 4e6 (bias corrected)", got)
	}
	e.Add(1e6, 2*time.Second)
	fast := e.Estimate()
	if fast >= 4e6 || fast <= 1e6 {
		t.Errorf("after a drop: %g", fast)
	}
	var h HarmonicMean
	for _, x := range []float64{1e6, 2e6, 4e6} {
		h.Add(x, time.Second)
	}
	if got, want := h.Estimate(), 3/(1/1e6+1/2e6+1/4e6); math.Abs(got-want) > 1e-6 {
		t.Errorf("harmonic mean %g, want %g", got, want)
	}
	for i := 0; i < 10; i++ {
		h.Add(8e6, time.Second)
	}
	if got := h.Estimate(); math.Abs(got-8e6) > 1e-6 {
		t.Errorf("after 10 samples of 8e6: %g (window of 5)", got)
	}
}

func TestRuleByName(t *testing.T) {
	for _, name := range []string{"throughput", "bba", "bola", "mpc", "robustmpc", "smpc", "fugu", "rollout", "learned", "dynamic"} {
		r, err := RuleByName(name)
		if err != nil || r.Name() != name {
			t.Errorf("RuleByName(%q) = %v, %v", name, r, err)
		}
	}
	if _, err := RuleByName("pensieve"); err == nil {
		t.Error("accepted an unknown rule")
	}
}

func TestAbandon(t *testing.T) {
	sizes := []int64{150e3, 375e3, 600e3, 925e3, 1425e3, 2150e3}
	at := func(received int64, elapsed time.Duration) Progress {
		return Progress{Received: received, Elapsed: elapsed}
	}
	tests := []struct {
		name      string
		q         int
		from, now Progress
		buffer    time.Duration
		want      int
		abandon   bool
		why       string // in the reason
	}{
		{"on time", 5, Progress{}, at(1000e3, 2*time.Second), 10 * time.Second, 5, false, "on time"},        // 500 kB/s: 2.3 s more, 8 s left
		{"too early", 5, Progress{}, at(10e3, 400*time.Millisecond), 2 * time.Second, 5, false, "watching"}, // not measured enough
		{"lowest already", 0, Progress{}, at(10e3, 2*time.Second), 2 * time.Second, 0, false, "lowest"},
		{"stall ahead", 5, Progress{}, at(200e3, 2*time.Second), 8 * time.Second, 2, true, "0.80 Mbps"},             // 100 kB/s: 19.5 s more, 6 s left; 600 kB fits
		{"stall anyway", 5, Progress{}, at(20e3, 2*time.Second), 3 * time.Second, 0, true, "the rest takes 213.0s"}, // 10 kB/s: even the lowest stalls, but sooner
		{"nearly done", 5, Progress{}, at(2100e3, 4*time.Second), 4 * time.Second, 5, false, "beats a restart"},     // 50 kB left beats any restart
		{"nothing since", 5, at(10e3, time.Second), at(10e3, 3*time.Second), 4 * time.Second, 5, false, "no bytes"}, // an outage: no lower rate comes sooner
		{"all in", 5, Progress{}, at(2150e3, 3*time.Second), 2 * time.Second, 5, false, "all in"},
		{"from is later", 5, at(900e3, 3*time.Second), at(1000e3, 2*time.Second), 10 * time.Second, 5, false, "on time"}, // ignored: from the request

		// A fade in the first half-second with 30 s buffered: 20 kB/s
		// would mean 107 s for the rest, but half a second is too little
		// evidence to give up a chunk with that much buffer.
		{"fade, much buffer", 5, Progress{}, at(10e3, 500*time.Millisecond), 30 * time.Second, 5, false, "watching: rate seen for 0.5s of 2.0s"},
		// The same evidence with 2 s buffered: no time to watch longer.
		{"fade, dry buffer", 5, Progress{}, at(10e3, 500*time.Millisecond), 2 * time.Second, 0, true, "1.5s buffered"},
		// The fade over, the rate seen from the first look (after the
		// fade's half-second) to 2.5 s shows the chunk is on time.
		{"fade passed", 5, at(10e3, 500*time.Millisecond), at(1010e3, 2500*time.Millisecond), 30 * time.Second, 5, false, "on time"},
		// A lasting drop, seen for 2 s with 30 s buffered: 25 kB/s, 84 s
		// for the rest, 27.5 s left, in which 600 kB would arrive.
		{"lasting drop", 5, at(10e3, 500*time.Millisecond), at(60e3, 2500*time.Millisecond), 30 * time.Second, 2, true, "0.20 Mbps"},
		// The round trip carries no data: from the request, 300 kB/s
		// (6.2 s for the rest, 4 s left) would abandon; from the first
		// look with bytes in, 500 kB/s brings the rest in 3.7 s.
		{"round trip", 5, at(50e3, 500*time.Millisecond), at(300e3, time.Second), 5 * time.Second, 5, false, "on time: at 4.00 Mbps the rest takes 3.7s"},
	}
	for _, tt := range tests {
		q, why, ok := Abandon(tt.q, sizes, tt.from, tt.now, tt.buffer)
		if q != tt.want || ok != tt.abandon || !strings.Contains(why, tt.why) {
			t.Errorf("%s: Abandon = %d, %q, %v; want %d, %v, a reason with %q", tt.name, q, why, ok, tt.want, tt.abandon, tt.why)
		}
	}
	// Without a round trip the first look of the last case abandons, so the
	// case above tests the rate's starting point.
	if _, _, ok := Abandon(5, sizes, Progress{}, at(300e3, time.Second), 5*time.Second); !ok {
		t.Error("round trip: from the request, the chunk is kept")
	}
}

// TestAbandonWatchGrowsWithBuffer: the rate must be seen for longer the
// more buffer there is, from half a second to two.
func TestAbandonWatchGrowsWithBuffer(t *testing.T) {
	sizes := []int64{150e3, 375e3, 600e3, 925e3, 1425e3, 2150e3}
	for _, tt := range []struct {
		buffer, watch time.Duration
	}{
		{time.Second, 500 * time.Millisecond},
		{5 * time.Second, 500 * time.Millisecond},
		{10 * time.Second, time.Second},
		{15 * time.Second, 1500 * time.Millisecond},
		{20 * time.Second, 2 * time.Second},
		{60 * time.Second, 2 * time.Second},
	} {
		// 1 kB/s: the rest stalls whatever the buffer.
		for _, seen := range []time.Duration{tt.watch - 100*time.Millisecond, tt.watch} {
			_, why, ok := Abandon(5, sizes, Progress{}, Progress{Received: int64(seen.Seconds() * 1e3), Elapsed: seen}, tt.buffer)
			if want := seen >= tt.watch; ok != want {
				t.Errorf("buffer %v, rate seen for %v: abandon %v (%s), want %v", tt.buffer, seen, ok, why, want)
			}
		}
	}
}

func TestSimulatorAbandon(t *testing.T) {
	// 5 Mbit/s for 60 s, then 0.5 Mbit/s: without abandonment the chunk
	// caught by the drop at 4.3 Mbit/s stalls for long.
	tr, err := NewTrace("drop", []TracePoint{{0, 5e6}, {60 * time.Second, 0.5e6}}, 400*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	plain := Simulator{}.Run(tr, Throughput{})
	ab := Simulator{Abandon: true}.Run(tr, Throughput{})
	if ab.Summary.RebufferTime >= plain.Summary.RebufferTime {
		t.Errorf("rebuffering %v with abandonment, %v without", ab.Summary.RebufferTime, plain.Summary.RebufferTime)
	}
	found := false
	for _, c := range ab.Chunks {
		found = found || strings.Contains(c.Decision.Reason, "abandoned after")
	}
	if !found {
		t.Error("no chunk was abandoned")
	}
}

// TestSimulatorAbandonFade: an 8 Mbit/s link with one-second fades to 5%
// (the LTE traces' deep fades), one every 7 s, and a 30 s buffer. With 20 s
// or more buffered, a fade seen in a chunk's first half-second is no
// reason to give the chunk up: the rate is watched for two seconds, and
// the chunk arrives in time. Some fade does catch a chunk's first
// half-second (deciding after half a second, the player gave up each of
// those chunks).
func TestSimulatorAbandonFade(t *testing.T) {
	var pts []TracePoint
	for s := 0; s < 400; s++ {
		bw := 8e6
		if s >= 40 && s%7 == 0 {
			bw = 0.4e6
		}
		pts = append(pts, TracePoint{time.Duration(s) * time.Second, bw})
	}
	tr, err := NewTrace("fades", pts, 0)
	if err != nil {
		t.Fatal(err)
	}
	res := Simulator{Abandon: true, BufferCap: 30 * time.Second}.Run(tr, BBA{})
	caught := 0
	for _, c := range res.Chunks {
		if c.State.Buffer < 20*time.Second {
			continue
		}
		if strings.Contains(c.Decision.Reason, "abandoned") {
			t.Errorf("chunk %d, %v buffered: %s", c.Index, c.State.Buffer, c.Decision.Reason)
		}
		// Was the link in a fade during the chunk's first half-second?
		from := c.Start.Seconds() + 0.08
		if s := int(from); s >= 40 && s%7 == 0 && from-float64(s) < 0.5 {
			caught++
		}
	}
	if caught == 0 {
		t.Error("no fade caught a chunk's first half-second: the test tests nothing")
	}
	if res.Summary.RebufferTime > 0 {
		t.Errorf("rebuffered %v", res.Summary.RebufferTime)
	}
}

// TestSimulatorAbandonTwice: when the link drops to 0.2 Mbit/s during a
// 4.3 Mbit/s chunk, the rate seen so far still makes a middle rate look
// fast enough; once that one crawls too, it is abandoned in turn for the
// lowest. The chunk's download time counts both tries, so its throughput is
// no more than the link delivered meanwhile.
func TestSimulatorAbandonTwice(t *testing.T) {
	tr, err := NewTrace("drop", []TracePoint{{0, 5e6}, {61 * time.Second, 0.2e6}}, 400*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res := Simulator{Abandon: true}.Run(tr, Throughput{})
	twice := false
	for _, c := range res.Chunks {
		if strings.Count(c.Decision.Reason, "abandoned after") == 2 {
			twice = true
			if c.Quality != 0 {
				t.Errorf("chunk %d abandoned twice ends at quality %d, want 0", c.Index, c.Quality)
			}
		}
		from, to := c.Start.Seconds(), (c.Start + c.Download).Seconds()
		if link := (tr.capacity(to) - tr.capacity(from)) / (to - from); c.Throughput > link*(1+1e-9) {
			t.Errorf("chunk %d measured %s, the link gave %s over its download", c.Index, Mbps(c.Throughput), Mbps(link))
		}
	}
	if !twice {
		t.Error("no chunk was abandoned twice")
	}
}
