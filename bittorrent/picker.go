package bittorrent

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"time"
)

// A PickReason says why the picker chose a block. The tour prints it beside
// every request, so the slide's "rarest first" can be seen at work.
type PickReason uint8

const (
	// PickRandomFirst: we hold fewer than Picker.RandomFirst pieces, so a
	// piece is chosen at random. A rare piece would take long to arrive,
	// and a newcomer needs something to trade soon.
	PickRandomFirst PickReason = iota + 1
	// PickPartial: strict priority, a block of a piece already started,
	// so that pieces complete, are verified and can be offered to others.
	PickPartial
	// PickRarest: the piece fewest of our neighbours hold, so that rare
	// pieces spread before their holders leave.
	PickRarest
	// PickEndgame: every missing block is already requested; the block is
	// asked again from another peer, and the slower copy is cancelled.
	PickEndgame
)

func (r PickReason) String() string {
	switch r {
	case PickRandomFirst:
		return "random first"
	case PickPartial:
		return "partial piece"
	case PickRarest:
		return "rarest first"
	case PickEndgame:
		return "endgame"
	}
	return "unknown"
}

// A Partial is a piece being downloaded: which of its blocks have arrived
// and how many requests for each are outstanding, to any peer.
type Partial struct {
	Piece   int
	Done    []bool // per block: received
	Pending []int  // per block: requests outstanding across all peers
}

// missing reports whether the piece still needs block j.
func (p Partial) missing(j int) bool { return j >= len(p.Done) || !p.Done[j] }

func (p Partial) pending(j int) int {
	if j < len(p.Pending) {
		return p.Pending[j]
	}
	return 0
}

// PickInput is everything the picker looks at when deciding what to ask
// one peer for.
type PickInput struct {
	Have         Bitfield  // pieces we hold, verified
	PeerHas      Bitfield  // pieces the peer holds (its bitfield and haves)
	Availability []int     // per piece: how many connected peers hold it
	Partial      []Partial // pieces started and not yet complete
	InFlight     []Block   // requests outstanding to this peer
	Want         int       // how many new requests to make
}

// A Request is a block the picker chose, with the reason.
type Request struct {
	Block
	Reason PickReason
}

// A Picker chooses which blocks to request from a peer (BEP 3, "piece
// downloading strategy"): random pieces first, then strict priority for
// partial pieces, then rarest first, and endgame mode at the end. It is a
// pure policy: the same input and random source give the same requests, and
// it keeps no state between calls.
type Picker struct {
	Layout      Layout
	RandomFirst int // pieces picked at random while we hold fewer; 0 means 4, negative means none
	// EndgameCopies is how many requests at most may be out for one block
	// in endgame mode; 0 means 2.
	EndgameCopies int
}

func (p Picker) randomFirst() int {
	switch {
	case p.RandomFirst == 0:
		return 4
	case p.RandomFirst < 0:
		return 0
	}
	return p.RandomFirst
}

// Pick returns up to in.Want blocks to request from the peer, in the order
// to send them. It never returns a block the peer lacks, a block we hold,
// or a block already in flight to this peer; outside endgame it never
// returns a block requested from anyone. rng breaks ties between equally
// rare pieces and draws the random first pieces.
func (p Picker) Pick(in PickInput, rng *rand.Rand) []Request {
	if in.Want <= 0 {
		return nil
	}
	n := p.Layout.NumPieces()
	var out []Request
	inFlight := make(map[Block]bool, len(in.InFlight))
	for _, b := range in.InFlight {
		inFlight[b] = true
	}
	want := func(i int) bool { return in.PeerHas.Has(i) && !in.Have.Has(i) }

	// 1. Strict priority: finish what is started, the most nearly complete
	// pieces first.
	partial := slices.Clone(in.Partial)
	slices.SortStableFunc(partial, func(a, b Partial) int {
		return cmp.Or(cmp.Compare(countDone(b), countDone(a)), cmp.Compare(a.Piece, b.Piece))
	})
	started := make(map[int]bool, len(partial))
	for _, pp := range partial {
		started[pp.Piece] = true
	}
	for _, pp := range partial {
		if !want(pp.Piece) {
			continue
		}
		for j := range p.Layout.NumBlocks(pp.Piece) {
			if len(out) == in.Want {
				return out
			}
			b := p.Layout.Block(pp.Piece, j)
			if pp.missing(j) && pp.pending(j) == 0 && !inFlight[b] {
				out = append(out, Request{b, PickPartial})
			}
		}
	}

	// 2. New pieces: at random while we have little, else rarest first.
	random := in.Have.Count() < p.randomFirst()
	for len(out) < in.Want {
		piece, reason := -1, PickRarest
		if random {
			var cands []int
			for i := range n {
				if want(i) && !started[i] {
					cands = append(cands, i)
				}
			}
			if len(cands) > 0 {
				piece, reason = cands[rng.IntN(len(cands))], PickRandomFirst
			}
		} else {
			piece = rarest(n, in.Availability, func(i int) bool { return want(i) && !started[i] }, rng)
		}
		if piece < 0 {
			break
		}
		started[piece] = true
		for j := range p.Layout.NumBlocks(piece) {
			if len(out) == in.Want {
				break
			}
			out = append(out, Request{p.Layout.Block(piece, j), reason})
		}
	}
	if len(out) > 0 || !p.endgame(in, started) {
		return out
	}

	// 3. Endgame: ask this peer too for blocks requested elsewhere, those
	// with the fewest requests out first.
	type dup struct {
		b       Block
		pending int
	}
	var dups []dup
	for _, pp := range partial {
		if !want(pp.Piece) {
			continue
		}
		for j := range p.Layout.NumBlocks(pp.Piece) {
			b := p.Layout.Block(pp.Piece, j)
			if pp.missing(j) && !inFlight[b] {
				dups = append(dups, dup{b, pp.pending(j)})
			}
		}
	}
	slices.SortStableFunc(dups, func(a, b dup) int { return cmp.Compare(a.pending, b.pending) })
	copies := p.EndgameCopies
	if copies <= 0 {
		copies = 2
	}
	for _, d := range dups {
		if len(out) == in.Want || d.pending >= copies {
			break
		}
		out = append(out, Request{d.b, PickEndgame})
	}
	return out
}

// Endgame reports whether the download is in endgame mode: every piece we
// lack has been started and every missing block is requested from someone.
func (p Picker) Endgame(in PickInput) bool {
	started := make(map[int]bool, len(in.Partial))
	for _, pp := range in.Partial {
		started[pp.Piece] = true
	}
	return p.endgame(in, started)
}

func (p Picker) endgame(in PickInput, started map[int]bool) bool {
	if in.Have.Complete() {
		return false
	}
	for i := range p.Layout.NumPieces() {
		if !in.Have.Has(i) && !started[i] {
			return false
		}
	}
	for _, pp := range in.Partial {
		for j := range p.Layout.NumBlocks(pp.Piece) {
			if pp.missing(j) && pp.pending(j) == 0 {
				return false
			}
		}
	}
	return true
}

// rarest returns the piece accepted by ok with the lowest availability,
// ties broken uniformly at random, or -1 if none is accepted.
func rarest(n int, avail []int, ok func(int) bool, rng *rand.Rand) int {
	best, bestAvail, ties := -1, 0, 0
	for i := range n {
		if !ok(i) {
			continue
		}
		a := 0
		if i < len(avail) {
			a = avail[i]
		}
		switch {
		case best < 0 || a < bestAvail:
			best, bestAvail, ties = i, a, 1
		case a == bestAvail:
			ties++
			if rng.IntN(ties) == 0 { // reservoir sampling among the ties
				best = i
			}
		}
	}
	return best
}

func countDone(p Partial) int {
	c := 0
	for _, d := range p.Done {
		if d {
			c++
		}
	}
	return c
}

// Request pipelining: how many blocks to keep in flight to one peer.
const (
	MinQueue  = 8               // blocks in flight to a new or slow peer (128 KiB)
	MaxQueue  = 500             // the most we ask any peer to queue
	QueueTime = 2 * time.Second // a fast peer gets this much transfer in flight
)

// QueueDepth returns how many requests to keep outstanding to a peer that
// delivers rate bytes per second: enough blocks to keep QueueTime of
// transfer in flight, so a fast link never idles waiting for the next
// request, between MinQueue and MaxQueue.
func QueueDepth(rate float64) int {
	d := int(rate * QueueTime.Seconds() / BlockSize)
	return min(max(d, MinQueue), MaxQueue)
}
