package swarm

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"

	"appnet.dev/bittorrent"
)

// newPicker returns the picker for a Config.Selection.
func newPicker(name string, fileSize, pieceSize int64) (Picker, error) {
	switch name {
	case RarestFirst:
		return &realPicker{p: bittorrent.Picker{Layout: bittorrent.Layout{Length: fileSize, PieceLength: pieceSize}}}, nil
	case Random:
		return RandomPiece{}, nil
	case Sequential:
		return InOrder{}, nil
	}
	return nil, fmt.Errorf("swarm: unknown piece selection %q", name)
}

// newChoker returns the choker for a Config.Choking.
func newChoker(name string, rng *rand.Rand) (Choker, error) {
	if name == NoChoking {
		return Unchoked{}, nil
	}
	c, ok := bittorrent.ChokerPreset(name)
	if !ok {
		return nil, fmt.Errorf("swarm: unknown choker %q", name)
	}
	return &realChoker{c: c, rng: rng}, nil
}

// realPicker adapts bittorrent.Picker, which chooses 16 KiB blocks, to the
// simulator, which moves whole pieces: the piece of the first block it
// chooses is the one fetched.
type realPicker struct {
	p        bittorrent.Picker
	have     bittorrent.Bitfield // scratch bitfields, refilled at each pick
	remote   bittorrent.Bitfield
	partials []bittorrent.Partial
	done     []bool
	pending  []int
	reqs     []bittorrent.Request

	lastPiece, fullBlocks, lastBlocks int // for blocks, 0 until first asked
}

func (rp *realPicker) Pick(r *PickRequest) (int, bool) {
	// Pieces started: in flight (every missing block requested once) or
	// partly received (the blocks whole so far are done).
	rp.partials = rp.partials[:0]
	rp.done, rp.pending = rp.done[:0], rp.pending[:0]
	endgame := true
	for w, word := range r.Started {
		if ^r.Have[w]&^word&fullWord(r.Pieces, w) != 0 {
			endgame = false
			break
		}
	}
	// Outside endgame the picker can choose nothing of a piece in flight
	// (its missing blocks are all requested), so it is left out of what
	// the neighbour offers rather than described block by block: the
	// choice is the same, and found faster. In endgame the picker must see
	// every piece started.
	var inFlight Pieces
	if !endgame {
		inFlight = r.Requested
	}
	have := bitfield(&rp.have, r.Have, nil, r.Pieces)
	remote := bitfield(&rp.remote, r.Remote, inFlight, r.Pieces)
	for w, word := range r.Started {
		if !endgame {
			word &= r.Remote[w] &^ r.Requested[w]
		}
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if !r.Requested.Has(i) && r.Partial[i] == 0 {
				continue
			}
			rp.partial(i, r)
		}
	}
	rp.reqs = rp.p.AppendPick(rp.reqs[:0], bittorrent.PickInput{
		Have: have, PeerHas: remote, Availability: r.Availability,
		Partial: rp.partials, Want: 1,
	}, r.Rand)
	if len(rp.reqs) == 0 {
		return 0, false
	}
	return rp.reqs[0].Piece, true
}

// blocks is the number of blocks of piece i (Layout.NumBlocks, without
// its division at every call).
func (rp *realPicker) blocks(i int) int {
	if rp.lastPiece == 0 {
		l := rp.p.Layout
		rp.lastPiece = l.NumPieces() - 1
		rp.fullBlocks, rp.lastBlocks = l.NumBlocks(0), l.NumBlocks(rp.lastPiece)
	}
	if i == rp.lastPiece {
		return rp.lastBlocks
	}
	return rp.fullBlocks
}

// partial describes piece i, started, as the picker sees it.
func (rp *realPicker) partial(i int, r *PickRequest) {
	nb := rp.blocks(i)
	whole := int(r.Partial[i]) / bittorrent.BlockSize
	requested := 0
	if r.Requested.Has(i) {
		requested = 1
	}
	start := len(rp.done)
	rp.done = slices.Grow(rp.done, nb)[:start+nb]
	rp.pending = slices.Grow(rp.pending, nb)[:start+nb]
	done, pending := rp.done[start:start+nb:start+nb], rp.pending[start:start+nb:start+nb]
	for j := range nb {
		done[j] = j < whole
		pending[j] = 0
		if j >= whole {
			pending[j] = requested
		}
	}
	rp.partials = append(rp.partials, bittorrent.Partial{Piece: i, Done: done, Pending: pending})
}

// bitfield converts a set of n pieces, less those in without (if not
// nil), to the wire's bitfield (piece 0 is the high bit of the first
// byte), written over *f.
func bitfield(f *bittorrent.Bitfield, p, without Pieces, n int) bittorrent.Bitfield {
	if f.Len() != n {
		*f = bittorrent.NewBitfield(n)
	}
	b := f.Bytes() // shared with *f
	for k, w := range p {
		if without != nil {
			w &^= without[k]
		}
		// Each byte's bits reversed, the bytes kept in order.
		w = bits.ReverseBytes64(bits.Reverse64(w))
		if rest := b[8*k:]; len(rest) >= 8 {
			binary.LittleEndian.PutUint64(rest, w)
		} else {
			for j := range rest {
				rest[j] = byte(w >> (8 * j))
			}
		}
	}
	return *f
}

// realChoker adapts bittorrent.Choker, a pure policy, keeping its state
// from one decision to the next.
type realChoker struct {
	c       bittorrent.Choker
	state   bittorrent.ChokerState
	rng     *rand.Rand
	stats   []bittorrent.PeerStats
	choices []bittorrent.Choice // reused by every decision
	out     []Choice
}

func (rc *realChoker) Rechoke(now time.Time, seeding, _ bool, ns []Neighbour) []Choice {
	rc.stats = rc.stats[:0]
	for _, n := range ns {
		rc.stats = append(rc.stats, n.peerStats())
	}
	rc.choices = rc.decide(rc.choices, rc.stats, now, seeding)
	out := grow(rc.out, len(rc.choices))
	rc.out = out
	for i, c := range rc.choices {
		out[i] = Choice{c.Unchoke(), c.Reason.String()}
	}
	return out
}

// peerStats is n as the bittorrent package's choker sees it.
func (n Neighbour) peerStats() bittorrent.PeerStats {
	return bittorrent.PeerStats{
		ID: n.Key, Interested: n.Interested,
		DownloadRate: n.DownloadRate, UploadRate: n.UploadRate,
		Connected: n.Connected, LastBlock: n.LastPiece, LastUnchoked: n.LastUnchoked,
	}
}

// decide runs the choker on stats, built by Rechoke or by the simulator
// straight from its links, and writes its choices over buf.
func (rc *realChoker) decide(buf []bittorrent.Choice, stats []bittorrent.PeerStats, now time.Time, seeding bool) []bittorrent.Choice {
	d := rc.c.AppendDecide(buf[:0], rc.state, stats, seeding, now, rc.rng)
	rc.state = d.State
	return d.Choices
}

// Slots implements [Slotted]: the regular slots and the optimistic one.
func (rc *realChoker) Slots() int { return rc.c.Regular + rc.c.Optimistic }

// full reports whether an update between rounds is sure to change nothing
// when busy interested neighbours are unchoked: in mainline's seed state,
// which has no optimistic unchoke, only regular slots are filled between
// rounds. (A leecher's choker may still refill the slot of a neighbour
// that snubs it, and a new seed keeps its last optimistic unchoke until
// its first seed round.)
func (rc *realChoker) full(seeding bool, busy int) bool {
	return seeding && rc.c.SeedRounds && rc.state.Optimistic == "" && busy >= rc.c.Regular
}

// fullWord is word w of the set of all n pieces.
func fullWord(n, w int) uint64 {
	if rest := n - 64*w; rest < 64 {
		return 1<<uint(rest) - 1
	}
	return ^uint64(0)
}
