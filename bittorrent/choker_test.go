package bittorrent

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func reasons(d Decision) map[string]ChokeReason {
	m := map[string]ChokeReason{}
	for _, c := range d.Choices {
		m[c.ID] = c.Reason
	}
	return m
}

func old(id string, interested bool, down, up float64) PeerStats {
	return PeerStats{ID: id, Interested: interested, DownloadRate: down, UploadRate: up,
		Connected: t0.Add(-time.Hour), LastBlock: t0.Add(-time.Second)}
}

func TestChokerRound(t *testing.T) {
	peers := []PeerStats{
		old("a", true, 50, 0),
		old("b", true, 40, 900),
		old("c", true, 30, 0),
		old("d", true, 20, 0),
		old("e", true, 10, 0),
		old("f", false, 45, 0), // faster than c, d and e, not interested
		old("g", true, 0, 0),
	}
	snubbed := old("s", true, 100, 0)
	snubbed.LastBlock = t0.Add(-61 * time.Second)
	peers = append(peers, snubbed)

	tests := []struct {
		name    string
		choker  Choker
		seeding bool
		want    map[string]ChokeReason // the peers not listed are choked, not chosen
	}{
		{"slides: top four", ChokerSlides(), false, map[string]ChokeReason{
			"a": UnchokeFastest, "b": UnchokeFastest, "c": UnchokeFastest, "d": UnchokeFastest, "s": ChokeSnubbed}},
		{"bep3: three and the faster uninterested", ChokerBEP3(), false, map[string]ChokeReason{
			"a": UnchokeFastest, "b": UnchokeFastest, "c": UnchokeFastest, "f": UnchokeFaster, "s": ChokeSnubbed}},
		{"mainline: three", ChokerMainline(), false, map[string]ChokeReason{
			"a": UnchokeFastest, "b": UnchokeFastest, "c": UnchokeFastest, "s": ChokeSnubbed}},
		{"slides seeding: by upload rate, no snubbing", ChokerSlides(), true, map[string]ChokeReason{
			"b": UnchokeFastest, "s": UnchokeFastest, "a": UnchokeFastest, "c": UnchokeFastest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.seeding {
				// Seeding ranks by upload rate: give the others some.
				for i := range peers {
					peers[i].UploadRate = peers[i].DownloadRate
				}
				peers[1].UploadRate = 900
				defer func() {
					for i := range peers {
						peers[i].UploadRate = 0
					}
				}()
			}
			d := tt.choker.Decide(ChokerState{}, peers, tt.seeding, t0, rand.New(rand.NewPCG(7, 7)))
			got := reasons(d)
			if d.Optimistic == "" {
				t.Fatal("no optimistic unchoke")
			}
			if got[d.Optimistic] != UnchokeOptimistic || tt.want[d.Optimistic].Unchoke() || !peers[slices.IndexFunc(peers, func(p PeerStats) bool { return p.ID == d.Optimistic })].Interested {
				t.Errorf("optimistic %q: reason %v; must be an interested peer not otherwise chosen", d.Optimistic, got[d.Optimistic])
			}
			// BEP 3: a snubbed peer is uploaded to only as the optimistic unchoke.
			got[d.Optimistic] = tt.want[d.Optimistic]
			for id, r := range got {
				if r == ChokeNotChosen {
					delete(got, id)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !d.Round || d.State.Round != 1 || !d.State.NextRound.Equal(t0.Add(10*time.Second)) {
				t.Errorf("state after first round: %+v", d.State)
			}
		})
	}
}

func TestChokerOptimisticRotation(t *testing.T) {
	peers := []PeerStats{old("a", true, 9, 0), old("b", true, 0, 0), old("c", true, 0, 0), old("d", true, 0, 0)}
	c := Choker{Regular: 1, Optimistic: 1}
	rng := rand.New(rand.NewPCG(1, 1))
	var st ChokerState
	var opts []string
	for round := range 9 {
		d := c.Decide(st, peers, false, t0.Add(time.Duration(round)*10*time.Second), rng)
		if !d.Round {
			t.Fatalf("round %d: not a full round", round)
		}
		opts = append(opts, d.Optimistic)
		st = d.State
	}
	// The optimistic peer holds for three rounds of 10 s, then is redrawn.
	for i := range opts {
		if i%3 != 0 && opts[i] != opts[i-1] {
			t.Errorf("optimistic changed at round %d within its 30 s: %q", i, opts)
		}
	}
	if opts[0] == opts[3] && opts[3] == opts[6] {
		t.Logf("note: the same peer was drawn three times: %q", opts)
	}
	// A call before the round is due is a fill-in that changes nothing.
	d := c.Decide(st, peers, false, t0.Add(81*time.Second), rng)
	if d.Round || !cmp.Equal(d.State.Unchoked, st.Unchoked) {
		t.Errorf("fill-in changed the unchoked set: %v -> %v", st.Unchoked, d.State.Unchoked)
	}
}

func TestChokerNewPeersThreeTimesAsLikely(t *testing.T) {
	newcomer := old("new", true, 0, 0)
	newcomer.Connected = t0.Add(-5 * time.Second)
	peers := []PeerStats{old("a", true, 9, 0), newcomer, old("x", true, 0, 0)}
	c := Choker{Regular: 1, Optimistic: 1}
	rng := rand.New(rand.NewPCG(3, 4))
	counts := map[string]int{}
	for range 4000 {
		counts[c.Decide(ChokerState{}, peers, false, t0, rng).Optimistic]++
	}
	ratio := float64(counts["new"]) / float64(counts["x"])
	if ratio < 2.5 || ratio > 3.5 {
		t.Errorf("new:old optimistic draws = %d:%d (%.2f), want about 3", counts["new"], counts["x"], ratio)
	}
}

func TestChokerFreeSlot(t *testing.T) {
	peers := []PeerStats{old("a", true, 9, 0), old("b", true, 8, 0), old("c", true, 7, 0)}
	c := Choker{Regular: 2}
	rng := rand.New(rand.NewPCG(1, 1))
	d := c.Decide(ChokerState{}, peers, false, t0, rng)
	if diff := cmp.Diff([]string{"a", "b"}, d.Unchoked()); diff != "" {
		t.Fatalf("round (-want +got):\n%s", diff)
	}
	// b leaves 1 s later: c gets the slot at once, a keeps its own.
	d = c.Decide(d.State, []PeerStats{peers[0], peers[2]}, false, t0.Add(time.Second), rng)
	if diff := cmp.Diff([]Choice{{"a", UnchokeFastest}, {"c", UnchokeFreeSlot}}, d.Choices); diff != "" || d.Round {
		t.Errorf("fill-in (-want +got):\n%s", diff)
	}
	// a loses interest: its slot counts as free, but a is not choked before the round.
	peers[0].Interested = false
	d = c.Decide(d.State, []PeerStats{peers[0], peers[2], old("d", true, 1, 0)}, false, t0.Add(2*time.Second), rng)
	if diff := cmp.Diff([]string{"a", "c", "d"}, d.Unchoked()); diff != "" {
		t.Errorf("after a lost interest (-want +got):\n%s", diff)
	}
}

func TestChokerSeedRounds(t *testing.T) {
	// Mainline seeding: 3 most recently unchoked + 1 random, twice, then 4.
	var peers []PeerStats
	for i := range 8 {
		p := old(fmt.Sprintf("p%d", i), true, 0, float64(100-i))
		peers = append(peers, p)
	}
	c := ChokerMainline()
	rng := rand.New(rand.NewPCG(5, 5))
	var st ChokerState
	var got []string
	for round := range 6 {
		now := t0.Add(time.Duration(round) * 10 * time.Second)
		d := c.Decide(st, peers, true, now, rng)
		st = d.State
		var recent, random int
		for i, ch := range d.Choices {
			switch ch.Reason {
			case UnchokeRecent:
				recent++
			case UnchokeSeedRandom:
				random++
			}
			if ch.Unchoke() {
				peers[i].LastUnchoked = now
			}
		}
		got = append(got, fmt.Sprintf("%d+%d", recent, random))
		if d.Optimistic != "" {
			t.Errorf("round %d: optimistic %q while in seed rounds", round, d.Optimistic)
		}
	}
	if diff := cmp.Diff([]string{"3+1", "3+1", "4+0", "3+1", "3+1", "4+0"}, got); diff != "" {
		t.Errorf("rounds (-want +got):\n%s", diff)
	}
}

// TestChokerSlidesStory steps the slides' tit-for-tat story round by round
// in virtual time: (1) Alice optimistically unchokes Bob; (2) Alice becomes
// one of Bob's top-four providers, Bob reciprocates; (3) Bob becomes one of
// Alice's top-four providers. Everyone runs the slides' choker; a peer's
// upload capacity is shared equally among the peers it unchokes, and rates
// are what flowed in the previous 10 s.
func TestChokerSlidesStory(t *testing.T) {
	type node struct {
		cap       float64
		neighbors []string
		state     ChokerState
		unchoked  map[string]bool
		connected map[string]time.Time
	}
	nodes := map[string]*node{}
	link := func(a, b string, at time.Time) {
		for _, p := range [][2]string{{a, b}, {b, a}} {
			n := nodes[p[0]]
			n.neighbors = append(n.neighbors, p[1])
			n.connected[p[1]] = at
		}
	}
	add := func(id string, cap float64) {
		nodes[id] = &node{cap: cap, unchoked: map[string]bool{}, connected: map[string]time.Time{}}
	}
	add("alice", 100)
	add("bob", 100)
	for i, id := range []string{"c1", "c2", "c3", "c4", "c5"} {
		add(id, 10-float64(i))
		link("alice", id, t0.Add(-time.Hour))
		nodes[id].unchoked["alice"] = true // each has only Alice to serve
		add("d"+id[1:], 10-float64(i))
		link("bob", "d"+id[1:], t0.Add(-time.Hour))
		nodes["d"+id[1:]].unchoked["bob"] = true
	}
	link("alice", "bob", t0) // Bob is new in Alice's neighbourhood
	rate := func(from, to string) float64 {
		n := nodes[from]
		if !n.unchoked[to] {
			return 0
		}
		return n.cap / float64(len(n.unchoked))
	}
	rng := rand.New(rand.NewPCG(2026, 1))
	var log strings.Builder
	var optimisticBob, bobReciprocates, aliceReciprocates int
	for round := range 7 {
		now := t0.Add(time.Duration(round) * 10 * time.Second)
		fmt.Fprintf(&log, "t=%ds\n", round*10)
		decisions := map[string]Decision{}
		for _, id := range []string{"alice", "bob"} {
			n := nodes[id]
			var ps []PeerStats
			for _, nb := range n.neighbors {
				ps = append(ps, PeerStats{ID: nb, Interested: true, DownloadRate: rate(nb, id),
					Connected: n.connected[nb], LastBlock: now})
			}
			decisions[id] = ChokerSlides().Decide(n.state, ps, false, now, rng)
		}
		for _, id := range []string{"alice", "bob"} {
			var parts []string
			for _, c := range decisions[id].Choices {
				if c.Unchoke() {
					parts = append(parts, fmt.Sprintf("%s (%v, %.0f KB/s)", c.ID, c.Reason, rate(c.ID, id)))
				}
			}
			fmt.Fprintf(&log, "  %s unchokes %s\n", id, strings.Join(parts, ", "))
		}
		for _, id := range []string{"alice", "bob"} {
			n := nodes[id]
			n.state = decisions[id].State
			n.unchoked = map[string]bool{}
			for _, u := range n.state.Unchoked {
				n.unchoked[u.ID] = true
			}
		}
		r := reasons(decisions["alice"])
		if r["bob"] == UnchokeOptimistic && optimisticBob == 0 {
			optimisticBob = round + 1
		}
		if reasons(decisions["bob"])["alice"] == UnchokeFastest && bobReciprocates == 0 {
			bobReciprocates = round + 1
		}
		if r["bob"] == UnchokeFastest && aliceReciprocates == 0 {
			aliceReciprocates = round + 1
		}
	}
	if optimisticBob == 0 || bobReciprocates <= optimisticBob || aliceReciprocates <= bobReciprocates {
		t.Errorf("story out of order: Alice optimistically unchokes Bob in round %d, Bob reciprocates in round %d, Alice in round %d\n%s",
			optimisticBob, bobReciprocates, aliceReciprocates, log.String())
	}
	golden(t, "testdata/choker-slides-story.golden", log.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestChokerPresetsGolden steps each preset through eight rounds of a
// scripted neighbourhood, leeching then seeding, and compares the rounds
// with testdata/choker-PRESET.golden (go test -update rewrites them).
// Rates drift every round; "u" stops being interested in round 3, "n"
// connects in round 4, and "s" sends its last block in round 1 and is
// snubbed from round 7, 60 s later.
func TestChokerPresetsGolden(t *testing.T) {
	for _, name := range []string{"bep3", "mainline", "slides"} {
		t.Run(name, func(t *testing.T) {
			c, _ := ChokerPreset(name)
			rng := rand.New(rand.NewPCG(11, 12))
			var st ChokerState
			var log strings.Builder
			start := t0
			lastUnchoked := map[string]time.Time{}
			for round := range 16 {
				now := start.Add(time.Duration(round) * 10 * time.Second)
				seeding := round >= 8
				var peers []PeerStats
				for i, id := range []string{"a", "b", "c", "d", "e", "s", "u"} {
					p := PeerStats{ID: id, Interested: true, Connected: start.Add(-time.Hour), LastBlock: now,
						DownloadRate: float64((i*37+round*11)%60) * 1024, UploadRate: float64((i*53+round*7)%50) * 1024,
						LastUnchoked: lastUnchoked[id]}
					if id == "s" && round >= 1 {
						p.LastBlock = start.Add(10 * time.Second)
						p.DownloadRate = 0
					}
					if id == "u" && round >= 3 {
						p.Interested = false
					}
					peers = append(peers, p)
				}
				if round >= 4 {
					peers = append(peers, PeerStats{ID: "n", Interested: true, Connected: start.Add(40 * time.Second), LastBlock: now})
				}
				d := c.Decide(st, peers, seeding, now, rng)
				st = d.State
				state := "leech"
				if seeding {
					state = "seed"
				}
				fmt.Fprintf(&log, "round %2d t=%3ds %s:", round, round*10, state)
				for _, ch := range d.Choices {
					if ch.Unchoke() {
						lastUnchoked[ch.ID] = now
						fmt.Fprintf(&log, " %s(%v)", ch.ID, ch.Reason)
					} else if ch.Reason == ChokeSnubbed {
						fmt.Fprintf(&log, " [%s snubbed]", ch.ID)
					}
				}
				log.WriteString("\n")
			}
			golden(t, "testdata/choker-"+name+".golden", log.String())
		})
	}
}

// In a flash crowd every rate is zero. The slots must then go to a fair
// draw among the tied peers, not to the lowest names (which would make
// every peer of a swarm favour the same few).
func TestChokerTiesDrawnAtRandom(t *testing.T) {
	var peers []PeerStats
	for i := range 10 {
		peers = append(peers, old(fmt.Sprintf("p%d", i), true, 0, 0))
	}
	peers[7].DownloadRate = 5 // the one peer that sent something is always chosen
	c := Choker{Regular: 3}
	rng := rand.New(rand.NewPCG(5, 6))
	counts := map[string]int{}
	const rounds = 3000
	for range rounds {
		d := c.Decide(ChokerState{}, peers, false, t0, rng)
		for _, id := range d.Unchoked() {
			counts[id]++
		}
	}
	if counts["p7"] != rounds {
		t.Errorf("the fastest peer was unchoked in %d of %d rounds, want all", counts["p7"], rounds)
	}
	// The other two slots: each of the nine tied peers gets 2/9 of them.
	for _, p := range peers {
		if p.ID == "p7" {
			continue
		}
		share := float64(counts[p.ID]) / rounds
		if share < 0.17 || share > 0.28 {
			t.Errorf("%s unchoked in %.2f of the rounds, want about %.2f: %v", p.ID, share, 2.0/9, counts)
		}
	}
}

// Decide runs at every choking round of every peer: apart from the
// decision it returns, it allocates nothing.
func TestChokerAllocs(t *testing.T) {
	var peers []PeerStats
	for i := range 40 {
		peers = append(peers, old(fmt.Sprintf("p%d", i), i%3 != 0, float64(i%5), 0))
	}
	c := ChokerSlides()
	rng := rand.New(rand.NewPCG(1, 1))
	d := c.Decide(ChokerState{}, peers, false, t0, rng)
	allocs := testing.AllocsPerRun(100, func() { c.Decide(d.State, peers, false, t0.Add(time.Second), rng) })
	if allocs > 2 { // the Choices and the next state's Unchoked
		t.Errorf("%v allocations per decision, want at most 2", allocs)
	}
}

// AppendDecide into a slice that is big enough allocates only the next
// state's Unchoked, and gives the same decision as Decide.
func TestChokerAppendDecide(t *testing.T) {
	var peers []PeerStats
	for i := range 40 {
		peers = append(peers, old(fmt.Sprintf("p%d", i), i%3 != 0, float64(i%5), 0))
	}
	c := ChokerSlides()
	d := c.Decide(ChokerState{}, peers, false, t0, rand.New(rand.NewPCG(1, 1)))
	buf := make([]Choice, 0, len(peers))
	a := c.AppendDecide(buf, ChokerState{}, peers, false, t0, rand.New(rand.NewPCG(1, 1)))
	if diff := cmp.Diff(d, a); diff != "" {
		t.Errorf("AppendDecide differs from Decide (-want +got):\n%s", diff)
	}
	if &a.Choices[0] != &buf[:1][0] {
		t.Error("AppendDecide did not write into dst")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	allocs := testing.AllocsPerRun(100, func() {
		c.AppendDecide(buf[:0], d.State, peers, false, t0.Add(time.Second), rng)
	})
	if allocs > 1 {
		t.Errorf("%v allocations per decision into a reused slice, want at most 1", allocs)
	}
}
