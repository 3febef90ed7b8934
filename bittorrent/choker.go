package bittorrent

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// PeerStats is what the choker knows of one connected peer at a decision.
// Rates are measured by the caller over its last window (20 s in most
// clients); times are the caller's clock, real or virtual.
type PeerStats struct {
	ID           string    // any key that names the peer, e.g. its address
	Interested   bool      // the peer wants pieces we hold
	DownloadRate float64   // bytes/s we received from the peer
	UploadRate   float64   // bytes/s we sent to the peer
	Connected    time.Time // when the connection was made
	LastBlock    time.Time // when the peer last sent us a block; zero if never (now if we want nothing from it)
	LastUnchoked time.Time // when we last unchoked the peer; zero if never
}

// A ChokeReason says why the choker unchoked or choked a peer.
type ChokeReason uint8

const (
	ChokeNotChosen    ChokeReason = iota // choked: not among the best
	ChokeSnubbed                         // choked: sent us nothing for SnubTimeout while we download
	UnchokeFastest                       // unchoked: one of the best by rate (tit-for-tat)
	UnchokeFaster                        // unchoked: faster than the slowest chosen, but not interested
	UnchokeOptimistic                    // unchoked: the optimistic unchoke
	UnchokeFreeSlot                      // unchoked between rounds because a slot was free
	UnchokeRecent                        // unchoked (seeding, mainline): among the most recently unchoked
	UnchokeSeedRandom                    // unchoked (seeding, mainline): the round's random pick
)

func (r ChokeReason) String() string {
	switch r {
	case ChokeNotChosen:
		return "not chosen"
	case ChokeSnubbed:
		return "snubbed"
	case UnchokeFastest:
		return "top by rate"
	case UnchokeFaster:
		return "faster, not interested"
	case UnchokeOptimistic:
		return "optimistic"
	case UnchokeFreeSlot:
		return "free slot"
	case UnchokeRecent:
		return "recently unchoked"
	case UnchokeSeedRandom:
		return "seed random"
	}
	return "unknown"
}

// Unchoke reports whether the reason is one to unchoke the peer.
func (r ChokeReason) Unchoke() bool { return r >= UnchokeFastest }

// A Choice is the choker's decision for one peer.
type Choice struct {
	ID     string
	Reason ChokeReason
}

// Unchoke reports whether the peer is to be unchoked.
func (c Choice) Unchoke() bool { return c.Reason.Unchoke() }

// ChokerState is what the choker carries from one decision to the next.
// The zero value is the state before the first round.
type ChokerState struct {
	Round        int       // rounds done so far
	NextRound    time.Time // when the next full round is due
	Optimistic   string    // the optimistically unchoked peer, "" if none
	OptimisticAt time.Time // when it was chosen
	Unchoked     []Choice  // peers unchoked by the last decision, by ID
}

// A Decision is the outcome of one call of Choker.Decide.
type Decision struct {
	Round      bool     // a full round (every RechokeInterval), not a fill-in
	Choices    []Choice // one per peer, in the order of the input
	Optimistic string   // the optimistic unchoke, "" if none
	State      ChokerState
}

// Unchoked returns the IDs of the peers to unchoke, in input order.
func (d Decision) Unchoked() []string {
	var ids []string
	for _, c := range d.Choices {
		if c.Unchoke() {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// A Choker decides which peers we upload to: tit-for-tat (BEP 3,
// "choking"). Every RechokeInterval it unchokes the Regular interested
// peers that send to us fastest (that we send to fastest, when seeding);
// every OptimisticInterval it unchokes one more at random, new peers three
// times as likely, so that newcomers get a first piece and faster partners
// are discovered. Peers tied at the cut (in a flash crowd every rate is
// zero) are drawn at random, so that no peer is everybody's favourite for
// its name. It is a pure policy: time, state and randomness come in, the
// decision goes out.
type Choker struct {
	Regular            int           // unchoke slots by rate
	Optimistic         int           // optimistic slots (0 or 1 in practice)
	RechokeInterval    time.Duration // 0 means 10 s
	OptimisticInterval time.Duration // 0 means 30 s
	SnubTimeout        time.Duration // 0 means 60 s; a peer silent this long is snubbed
	NewPeerAge         time.Duration // 0 means 60 s; younger peers weigh NewPeerWeight
	NewPeerWeight      int           // 0 means 3
	// UnchokeUninterested also unchokes peers that are faster than the
	// slowest peer chosen but not interested (BEP 3), so that when they
	// become interested they already have a slot.
	UnchokeUninterested bool
	// SeedRounds uses mainline's seed state: peers ordered by how recently
	// they were unchoked; two rounds of three of them plus one random,
	// then a round of four.
	SeedRounds bool
}

// ChokerBEP3 is the policy BEP 3 describes: four unchoked including the
// optimistic one, and faster uninterested peers unchoked too.
func ChokerBEP3() Choker { return Choker{Regular: 3, Optimistic: 1, UnchokeUninterested: true} }

// ChokerMainline is BitTorrent mainline 4.x: three by rate plus one
// optimistic, and the seed-state rounds 3+1, 3+1, 4.
func ChokerMainline() Choker { return Choker{Regular: 3, Optimistic: 1, SeedRounds: true} }

// ChokerSlides is the lecture's: the top four plus one optimistic.
func ChokerSlides() Choker { return Choker{Regular: 4, Optimistic: 1} }

// ChokerPreset returns the preset of the given name: "bep3", "mainline" or
// "slides".
func ChokerPreset(name string) (Choker, bool) {
	switch name {
	case "bep3":
		return ChokerBEP3(), true
	case "mainline":
		return ChokerMainline(), true
	case "slides":
		return ChokerSlides(), true
	}
	return Choker{}, false
}

func (c Choker) rechoke() time.Duration    { return cmp.Or(c.RechokeInterval, 10*time.Second) }
func (c Choker) optimistic() time.Duration { return cmp.Or(c.OptimisticInterval, 30*time.Second) }
func (c Choker) snub() time.Duration       { return cmp.Or(c.SnubTimeout, 60*time.Second) }
func (c Choker) newAge() time.Duration     { return cmp.Or(c.NewPeerAge, 60*time.Second) }
func (c Choker) newWeight() int            { return cmp.Or(c.NewPeerWeight, 3) }

// Snubbed reports whether a peer has sent us no block for SnubTimeout
// (counted from its connection if it never sent one).
func (c Choker) Snubbed(p PeerStats, now time.Time) bool {
	return now.Sub(lastHeard(&p)) >= c.snub()
}

// lastHeard is when p last sent a block, or connected if later.
func lastHeard(p *PeerStats) time.Time {
	last := p.LastBlock
	if last.IsZero() || last.Before(p.Connected) {
		last = p.Connected
	}
	return last
}

// Decide returns who is unchoked now. When a round is due (state.NextRound
// reached, or the first call) it makes a full round: the best peers by
// rate, and every OptimisticInterval a new optimistic peer. Between rounds
// it only fills free slots: a regular slot left by a peer that went away
// or lost interest goes at once to the best choked interested peer, and a
// vanished optimistic peer is replaced; nobody is choked between rounds.
// seeding selects upload rate (or the seed rounds) instead of download
// rate. rng draws the optimistic peer.
func (c Choker) Decide(state ChokerState, peers []PeerStats, seeding bool, now time.Time, rng *rand.Rand) Decision {
	return c.AppendDecide(nil, state, peers, seeding, now, rng)
}

// AppendDecide is Decide writing its Choices at the end of dst, so that a
// caller deciding often (a simulated swarm of a thousand peers) can reuse
// one slice: Decision.Choices is the part appended.
func (c Choker) AppendDecide(dst []Choice, state ChokerState, peers []PeerStats, seeding bool, now time.Time, rng *rand.Rand) Decision {
	round := state.NextRound.IsZero() || !now.Before(state.NextRound)
	index := func(id string) int {
		return slices.IndexFunc(peers, func(p PeerStats) bool { return p.ID == id })
	}
	var reasonBuf [128]ChokeReason
	var orderBuf [128]int
	reasons := reasonBuf[:0]
	if len(peers) > len(reasonBuf) {
		reasons = make([]ChokeReason, 0, len(peers))
	}
	reasons = reasons[:len(peers)]
	if !round {
		// Keep everyone unchoked who still is; snubbing waits for the round.
		for _, u := range state.Unchoked {
			if i := index(u.ID); i >= 0 {
				reasons[i] = u.Reason
			}
		}
	}
	snubCut := now.Add(-c.snub()) // heard of last at or before: snubbed (Snubbed)
	snubbed := func(i int) bool { return !seeding && !lastHeard(&peers[i]).After(snubCut) }
	for i := range peers {
		if reasons[i] == ChokeNotChosen && snubbed(i) {
			reasons[i] = ChokeSnubbed
		}
	}
	rate := func(i int) float64 {
		if seeding {
			return peers[i].UploadRate
		}
		return peers[i].DownloadRate
	}
	// Candidates for regular slots: interested, not snubbed, fastest
	// first. Peers tied at the cut (the slowest chosen and the fastest
	// left out have the same rate) are put in random order: in a flash
	// crowd every rate is zero, and an order by name or address would
	// make every peer favour the same few.
	order := orderBuf[:0]
	for i := range peers {
		if peers[i].Interested && reasons[i] != ChokeSnubbed {
			order = append(order, i)
		}
	}
	var rateBuf [128]float64 // the rates, looked up once for the sort
	rates := rateBuf[:0]
	if len(peers) > len(rateBuf) {
		rates = make([]float64, 0, len(peers))
	}
	for i := range peers {
		rates = append(rates, rate(i))
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rates[b], rates[a]) })
	shuffleTie(order, c.Regular, rate, rng)

	optimistic := ""
	if index(state.Optimistic) >= 0 {
		optimistic = state.Optimistic
	}
	optimisticAt := state.OptimisticAt
	regular := c.Regular

	if round {
		if seeding && c.SeedRounds {
			c.seedRound(state, peers, order, reasons, now, rng)
			// The seed rounds have no separate optimistic slot.
			optimistic, optimisticAt = "", time.Time{}
			return c.finish(dst, state, peers, reasons, optimistic, optimisticAt, now, true)
		}
		for i := range reasons {
			if reasons[i].Unchoke() {
				reasons[i] = ChokeNotChosen
			}
		}
		chosen := 0
		slowest := -1.0
		for _, i := range order {
			if chosen == regular {
				break
			}
			reasons[i] = UnchokeFastest
			chosen++
			slowest = rate(i)
		}
		if c.UnchokeUninterested && chosen > 0 {
			for i := range peers {
				if !peers[i].Interested && !snubbed(i) && rate(i) > slowest {
					reasons[i] = UnchokeFaster
				}
			}
		}
		// Rotate the optimistic unchoke every OptimisticInterval.
		if optimistic != "" && now.Sub(optimisticAt) >= c.optimistic() {
			optimistic = ""
		}
	} else {
		// Fill a free regular slot at once.
		chosen := 0
		for _, i := range order {
			switch reasons[i] {
			case UnchokeFastest, UnchokeFreeSlot, UnchokeFaster, UnchokeRecent, UnchokeSeedRandom:
				chosen++
			}
		}
		for _, i := range order {
			if chosen >= regular {
				break
			}
			if !reasons[i].Unchoke() {
				reasons[i] = UnchokeFreeSlot
				chosen++
			}
		}
	}
	// Keep the optimistic peer unless it was dropped, lost interest, or
	// earned a regular slot on its own (then the slot goes to someone else).
	if optimistic != "" {
		i := index(optimistic)
		if !peers[i].Interested || (round && reasons[i] == UnchokeFastest) {
			optimistic = ""
		} else {
			reasons[i] = UnchokeOptimistic
		}
	}
	if optimistic == "" && c.Optimistic > 0 && !(seeding && c.SeedRounds) {
		if i := c.drawOptimistic(peers, reasons, now, rng); i >= 0 {
			optimistic, optimisticAt = peers[i].ID, now
			reasons[i] = UnchokeOptimistic
		}
	}
	return c.finish(dst, state, peers, reasons, optimistic, optimisticAt, now, round)
}

// shuffleTie puts the peers of order (sorted by rate) whose rate equals
// that of order[cut-1] and order[cut] into a random order drawn from rng,
// so that which of them make the cut is a fair draw. It draws nothing
// when there is no tie at the cut.
func shuffleTie(order []int, cut int, rate func(int) float64, rng *rand.Rand) {
	if cut <= 0 || cut >= len(order) || rate(order[cut-1]) != rate(order[cut]) {
		return
	}
	r := rate(order[cut])
	start, end := cut-1, cut+1
	for start > 0 && rate(order[start-1]) == r {
		start--
	}
	for end < len(order) && rate(order[end]) == r {
		end++
	}
	run := order[start:end]
	rng.Shuffle(len(run), func(i, j int) { run[i], run[j] = run[j], run[i] })
}

// drawOptimistic picks a choked interested peer at random, peers connected
// less than NewPeerAge ago weighing NewPeerWeight and the others 1.
func (c Choker) drawOptimistic(peers []PeerStats, reasons []ChokeReason, now time.Time, rng *rand.Rand) int {
	total := 0
	weight := func(i int) int {
		if !peers[i].Interested || reasons[i].Unchoke() {
			return 0
		}
		if now.Sub(peers[i].Connected) < c.newAge() {
			return c.newWeight()
		}
		return 1
	}
	for i := range peers {
		total += weight(i)
	}
	if total == 0 {
		return -1
	}
	r := rng.IntN(total)
	for i := range peers {
		if r -= weight(i); r < 0 {
			return i
		}
	}
	return -1
}

// seedRound is mainline's seed state. Interested peers unchoked in the last
// two rounds come first, most recently unchoked first; the others follow by
// upload rate. Rounds 1 and 2 of every three keep the first Regular of them
// and add one at random from the rest; round 3 keeps Regular+Optimistic.
func (c Choker) seedRound(state ChokerState, peers []PeerStats, order []int, reasons []ChokeReason, now time.Time, rng *rand.Rand) {
	for i := range reasons {
		if reasons[i].Unchoke() {
			reasons[i] = ChokeNotChosen
		}
	}
	var recentBuf [128]bool // whether each peer was unchoked recently
	recent := recentBuf[:0]
	if len(peers) > len(recentBuf) {
		recent = make([]bool, 0, len(peers))
	}
	for i := range peers {
		lu := peers[i].LastUnchoked
		recent = append(recent, !lu.IsZero() && now.Sub(lu) < 2*c.rechoke())
	}
	var sortedBuf [128]int
	sorted := append(sortedBuf[:0], order...)
	slices.SortStableFunc(sorted, func(a, b int) int {
		ra, rb := recent[a], recent[b]
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		case ra && rb:
			return peers[b].LastUnchoked.Compare(peers[a].LastUnchoked)
		}
		return 0 // both by upload rate, as order already is
	})
	keep := c.Regular
	random := c.Optimistic
	if state.Round%3 == 2 {
		keep, random = c.Regular+c.Optimistic, 0
	}
	for n, i := range sorted {
		if n == keep {
			break
		}
		reasons[i] = UnchokeRecent
	}
	var restBuf [128]int
	for range random {
		rest := restBuf[:0]
		for _, i := range sorted {
			if !reasons[i].Unchoke() {
				rest = append(rest, i)
			}
		}
		if len(rest) == 0 {
			break
		}
		reasons[rest[rng.IntN(len(rest))]] = UnchokeSeedRandom
	}
}

func (c Choker) finish(dst []Choice, state ChokerState, peers []PeerStats, reasons []ChokeReason, optimistic string, optimisticAt time.Time, now time.Time, round bool) Decision {
	d := Decision{Round: round, Optimistic: optimistic}
	next := ChokerState{
		Round:        state.Round,
		NextRound:    state.NextRound,
		Optimistic:   optimistic,
		OptimisticAt: optimisticAt,
	}
	if optimistic == "" {
		next.OptimisticAt = time.Time{}
	}
	if round {
		next.Round++
		next.NextRound = now.Add(c.rechoke())
	}
	start := len(dst)
	if cap(dst) < start+len(peers) {
		dst = append(make([]Choice, 0, start+len(peers)), dst...)
	}
	dst = dst[:start+len(peers)]
	d.Choices = dst[start:]
	unchoked := 0
	for _, r := range reasons {
		if r.Unchoke() {
			unchoked++
		}
	}
	next.Unchoked = make([]Choice, 0, unchoked)
	for i := range peers {
		d.Choices[i] = Choice{peers[i].ID, reasons[i]}
		if reasons[i].Unchoke() {
			next.Unchoked = append(next.Unchoked, d.Choices[i])
		}
	}
	slices.SortFunc(next.Unchoked, func(a, b Choice) int { return cmp.Compare(a.ID, b.ID) })
	d.State = next
	return d
}
