package bittorrent

import (
	"math/bits"
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
func (p *Partial) missing(j int) bool { return j >= len(p.Done) || !p.Done[j] }

func (p *Partial) pending(j int) int {
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
	nb := p.blockCounts()
	n := nb.n
	base := len(dst)
	want := func(i int) bool { return in.PeerHas.Has(i) && !in.Have.Has(i) }
	full := func() bool { return len(dst)-base == in.Want }
	var small [64]uint64
	started := newPieceSet(small[:], n) // pieces partial or chosen in this call
	for _, pp := range in.Partial {
		started.add(pp.Piece)
	}
	var infoBuf [64]partialInfo
	info := describe(infoBuf[:0], in.Partial, nb)

	// free reports whether block j of partial piece pp is one to ask
	// this peer for when it has pending requests out already.
	free := func(pp *Partial, j, pending int) bool {
		return pp.missing(j) && pp.pending(j) == pending &&
			(len(in.InFlight) == 0 || !slices.Contains(in.InFlight, p.Layout.Block(pp.Piece, j)))
	}
	// offers reports whether the peer has a block of partial k to ask
	// for.
	offers := func(k, pending int) bool {
		pp := &in.Partial[k]
		if !want(pp.Piece) {
			return false
		}
		if len(in.InFlight) == 0 && pending < 64 {
			return info[k].levels&(1<<pending) != 0
		}
		for j := range nb.of(pp.Piece) {
			if free(pp, j, pending) {
				return true
			}
		}
		return false
	}

	// 1. Strict priority: finish what is started, the most nearly complete
	// pieces first.
	for pp := range p.partials(in, info, func(k int) bool { return offers(k, 0) }) {
		for j := range nb.of(pp.Piece) {
			if full() {
				return dst
			}
			if free(&pp, j, 0) {
				dst = append(dst, Request{p.Layout.Block(pp.Piece, j), PickPartial})
			}
		}
	}

	// 2. New pieces: at random while we have little, else rarest first,
	// among those the peer has and we neither have nor started.
	var freshBuf [64]uint64
	fresh := newPieceSet(freshBuf[:], n)
	random := in.Have.Count() < p.randomFirst()
	for !full() {
		for w := range fresh {
			fresh[w] = in.PeerHas.word(w) &^ in.Have.word(w) &^ started[w] & wordMask(n, w)
		}
		piece, reason := -1, PickRarest
		if random {
			piece, reason = randomPiece(fresh, rng), PickRandomFirst
		} else {
			piece = rarest(fresh, in.Availability, rng)
		}
		if piece < 0 {
			break
		}
		started.add(piece)
		for j := range nb.of(piece) {
			if full() {
				break
			}
			dst = append(dst, Request{p.Layout.Block(piece, j), reason})
		}
	}
	if len(dst) > base || !p.endgame(in, started, info) {
		return dst
	}

	// 3. Endgame: ask this peer too for blocks requested elsewhere, those
	// with the fewest requests out first, up to EndgameCopies of each.
	copies := p.EndgameCopies
	if copies <= 0 {
		copies = 2
	}
	for pending := 0; pending < copies; pending++ {
		for pp := range p.partials(in, info, func(k int) bool { return offers(k, pending) }) {
			for j := range nb.of(pp.Piece) {
				if full() {
					return dst
				}
				if free(&pp, j, pending) {
					dst = append(dst, Request{p.Layout.Block(pp.Piece, j), PickEndgame})
				}
			}
		}
	}
	return dst
}

// blockCounts is Layout.NumBlocks worked out once for a pick: the number
// of pieces n, the blocks of every piece but the last, and of the last.
type blockCounts struct{ n, full, last int }

func (p Picker) blockCounts() blockCounts {
	b := blockCounts{n: p.Layout.NumPieces()}
	if b.n > 0 {
		b.full, b.last = p.Layout.NumBlocks(0), p.Layout.NumBlocks(b.n-1)
	}
	return b
}

// of is the number of blocks of piece i.
func (b blockCounts) of(i int) int {
	switch {
	case i < 0 || i >= b.n:
		return 0
	case i == b.n-1:
		return b.last
	}
	return b.full
}

// A partialInfo sums up one of PickInput.Partial for the steps of a pick.
type partialInfo struct {
	done int // blocks received
	// levels has bit k set if a block still missing has k requests
	// pending (k < 64).
	levels uint64
}

// describe appends the summary of each partial piece to dst.
func describe(dst []partialInfo, partials []Partial, nb blockCounts) []partialInfo {
	for i := range partials {
		pp := &partials[i]
		var levels uint64
		for j := range nb.of(pp.Piece) {
			if j < len(pp.Done) && pp.Done[j] {
				continue
			}
			k := 0
			if j < len(pp.Pending) {
				k = pp.Pending[j]
			}
			if k >= 0 && k < 64 {
				levels |= 1 << k
			}
		}
		dst = append(dst, partialInfo{done: countDone(*pp), levels: levels})
	}
	return dst
}

// partials yields the partial pieces that ok accepts (by their index in
// in.Partial, summed up in info), most nearly complete first, then by
// piece number. It needs no sorted copy: each step looks for the first
// piece after the one it yielded last.
func (p Picker) partials(in PickInput, info []partialInfo, ok func(k int) bool) func(yield func(Partial) bool) {
	// before reports whether piece a, with aDone blocks received, comes
	// before piece b.
	before := func(aDone, a, bDone, b int) bool {
		return aDone > bDone || (aDone == bDone && a < b)
	}
	return func(yield func(Partial) bool) {
		// Whether ok accepts each piece, asked once for all the steps
		// (0 not asked yet, 1 yes, 2 no).
		var okBuf [64]uint8
		oks := okBuf[:]
		if len(in.Partial) > len(okBuf) {
			oks = make([]uint8, len(in.Partial))
		}
		accepts := func(k int) bool {
			if oks[k] == 0 {
				oks[k] = 2
				if ok(k) {
					oks[k] = 1
				}
			}
			return oks[k] == 1
		}
		prev, prevDone := -1, 0
		for {
			best, bestDone := -1, 0
			for k, pp := range in.Partial {
				d := info[k].done
				if prev >= 0 && !before(prevDone, in.Partial[prev].Piece, d, pp.Piece) {
					continue // yielded already
				}
				if (best < 0 || before(d, pp.Piece, bestDone, in.Partial[best].Piece)) && accepts(k) {
					best, bestDone = k, d
				}
			}
			if best < 0 || !yield(in.Partial[best]) {
				return
			}
			prev, prevDone = best, bestDone
		}
	}
}

// Endgame reports whether the download is in endgame mode: every piece we
// lack has been started and every missing block is requested from someone.
func (p Picker) Endgame(in PickInput) bool {
	var small [64]uint64
	started := newPieceSet(small[:], p.Layout.NumPieces())
	for _, pp := range in.Partial {
		started.add(pp.Piece)
	}
	var infoBuf [64]partialInfo
	return p.endgame(in, started, describe(infoBuf[:0], in.Partial, p.blockCounts()))
}

func (p Picker) endgame(in PickInput, started pieceSet, info []partialInfo) bool {
	if in.Have.Complete() {
		return false
	}
	n := p.Layout.NumPieces()
	for w := range started { // a piece we lack and have not started?
		if ^in.Have.word(w)&^started[w]&wordMask(n, w) != 0 {
			return false
		}
	}
	for _, pi := range info {
		if pi.levels&1 != 0 { // a missing block nobody was asked for
			return false
		}
	}
	return true
}

// randomPiece returns a piece of the set chosen uniformly at random, or
// -1 if the set is empty.
func randomPiece(set pieceSet, rng *rand.Rand) int {
	count := set.count()
	if count == 0 {
		return -1
	}
	k := rng.IntN(count)
	for i := range set.all() {
		if k == 0 {
			return i
		}
		k--
	}
	return -1
}

// A pieceSet is a scratch set of piece numbers, one bit each, in the
// order of a Bitfield's bytes (piece 64w is the high bit of word w), so
// that it combines with one word by word.
type pieceSet []uint64

// newPieceSet returns an empty set for n pieces in buf if it is large
// enough, so that small torrents need no allocation.
func newPieceSet(buf []uint64, n int) pieceSet {
	words := (n + 63) / 64
	if words > len(buf) {
		return make(pieceSet, words)
	}
	s := pieceSet(buf[:words])
	clear(s)
	return s
}

func (s pieceSet) add(i int) {
	if i >= 0 && i/64 < len(s) {
		s[i/64] |= 1 << (63 - i%64)
	}
}

func (s pieceSet) count() int {
	c := 0
	for _, w := range s {
		c += bits.OnesCount64(w)
	}
	return c
}

// all yields the pieces of the set in increasing order.
func (s pieceSet) all() func(yield func(int) bool) {
	return func(yield func(int) bool) {
		for w, word := range s {
			for word != 0 {
				lz := bits.LeadingZeros64(word)
				if !yield(64*w + lz) {
					return
				}
				word &^= 1 << (63 - lz)
			}
		}
	}
}

// wordMask keeps the bits of word w that stand for pieces below n.
func wordMask(n, w int) uint64 {
	if rest := n - 64*w; rest < 64 {
		return ^uint64(0) << (64 - rest)
	}
	return ^uint64(0)
}

// rarest returns the piece of the set with the lowest availability, ties
// broken uniformly at random, or -1 if the set is empty.
func rarest(set pieceSet, avail []int, rng *rand.Rand) int {
	best, bestAvail, ties := -1, 0, 0
	for i := range set.all() {
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
