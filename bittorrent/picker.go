package bittorrent

import (
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
	return p.AppendPick(nil, in, rng)
}

// AppendPick is Pick appending to dst, for a caller that reuses one buffer
// from call to call (the swarm simulator calls it half a million times a
// run). For torrents of up to 4096 pieces it allocates nothing but dst's
// growth.
func (p Picker) AppendPick(dst []Request, in PickInput, rng *rand.Rand) []Request {
	if in.Want <= 0 {
		return dst
	}
	n := p.Layout.NumPieces()
	base := len(dst)
	want := func(i int) bool { return in.PeerHas.Has(i) && !in.Have.Has(i) }
	full := func() bool { return len(dst)-base == in.Want }
	var small [64]uint64
	started := newPieceSet(small[:], n) // pieces partial or chosen in this call
	for _, pp := range in.Partial {
		started.add(pp.Piece)
	}

	// 1. Strict priority: finish what is started, the most nearly complete
	// pieces first.
	for pp, ok := p.firstPartial(in); ok && !full(); pp, ok = p.nextPartial(in, pp) {
		if !want(pp.Piece) {
			continue
		}
		for j := range p.Layout.NumBlocks(pp.Piece) {
			if full() {
				break
			}
			b := p.Layout.Block(pp.Piece, j)
			if pp.missing(j) && pp.pending(j) == 0 && !slices.Contains(in.InFlight, b) {
				dst = append(dst, Request{b, PickPartial})
			}
		}
	}

	// 2. New pieces: at random while we have little, else rarest first.
	fresh := func(i int) bool { return want(i) && !started.has(i) }
	random := in.Have.Count() < p.randomFirst()
	for !full() {
		piece, reason := -1, PickRarest
		if random {
			piece, reason = randomPiece(n, fresh, rng), PickRandomFirst
		} else {
			piece = rarest(n, in.Availability, fresh, rng)
		}
		if piece < 0 {
			break
		}
		started.add(piece)
		for j := range p.Layout.NumBlocks(piece) {
			if full() {
				break
			}
			dst = append(dst, Request{p.Layout.Block(piece, j), reason})
		}
	}
	if len(dst) > base || !p.endgame(in, started) {
		return dst
	}

	// 3. Endgame: ask this peer too for blocks requested elsewhere, those
	// with the fewest requests out first, up to EndgameCopies of each.
	copies := p.EndgameCopies
	if copies <= 0 {
		copies = 2
	}
	for pending := 0; pending < copies; pending++ {
		for pp, ok := p.firstPartial(in); ok && !full(); pp, ok = p.nextPartial(in, pp) {
			if !want(pp.Piece) {
				continue
			}
			for j := range p.Layout.NumBlocks(pp.Piece) {
				if full() {
					break
				}
				b := p.Layout.Block(pp.Piece, j)
				if pp.missing(j) && pp.pending(j) == pending && !slices.Contains(in.InFlight, b) {
					dst = append(dst, Request{b, PickEndgame})
				}
			}
		}
	}
	return dst
}

// Partial pieces are visited most nearly complete first, then by piece
// number: firstPartial returns the first in that order and nextPartial the
// one after prev, so the picker needs no sorted copy.
func (p Picker) firstPartial(in PickInput) (Partial, bool) {
	return p.nextPartial(in, Partial{Piece: -1, Done: nil})
}

func (p Picker) nextPartial(in PickInput, prev Partial) (Partial, bool) {
	// before reports whether a comes before b in the visiting order.
	before := func(aDone, aPiece, bDone, bPiece int) bool {
		return aDone > bDone || (aDone == bDone && aPiece < bPiece)
	}
	prevDone := countDone(prev)
	var best Partial
	bestDone, found := 0, false
	for _, pp := range in.Partial {
		d := countDone(pp)
		if prev.Piece >= 0 && !before(prevDone, prev.Piece, d, pp.Piece) {
			continue // visited already
		}
		if !found || before(d, pp.Piece, bestDone, best.Piece) {
			best, bestDone, found = pp, d, true
		}
	}
	return best, found
}

// Endgame reports whether the download is in endgame mode: every piece we
// lack has been started and every missing block is requested from someone.
func (p Picker) Endgame(in PickInput) bool {
	var small [64]uint64
	started := newPieceSet(small[:], p.Layout.NumPieces())
	for _, pp := range in.Partial {
		started.add(pp.Piece)
	}
	return p.endgame(in, started)
}

func (p Picker) endgame(in PickInput, started pieceSet) bool {
	if in.Have.Complete() {
		return false
	}
	for i := range p.Layout.NumPieces() {
		if !in.Have.Has(i) && !started.has(i) {
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

// randomPiece returns a piece accepted by ok chosen uniformly at random, or
// -1 if none is accepted.
func randomPiece(n int, ok func(int) bool, rng *rand.Rand) int {
	count := 0
	for i := range n {
		if ok(i) {
			count++
		}
	}
	if count == 0 {
		return -1
	}
	k := rng.IntN(count)
	for i := range n {
		if ok(i) {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return -1
}

// A pieceSet is a scratch set of piece numbers, one bit each.
type pieceSet []uint64

// newPieceSet returns an empty set for n pieces in buf if it is large
// enough, so that small torrents need no allocation.
func newPieceSet(buf []uint64, n int) pieceSet {
	words := (n + 63) / 64
	if words > len(buf) {
		return make(pieceSet, words)
	}
	return pieceSet(buf[:words])
}

func (s pieceSet) add(i int) {
	if i >= 0 && i/64 < len(s) {
		s[i/64] |= 1 << (i % 64)
	}
}

func (s pieceSet) has(i int) bool { return i >= 0 && i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0 }

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
