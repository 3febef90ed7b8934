package swarm

import (
	"math/rand/v2"
	"time"
)

// The simulator asks two questions of every peer, and the answers are
// policies: which piece to request next from a neighbour (a [Picker]), and
// which neighbours to upload to (a [Choker]). The interfaces below are the
// simulator's view of them; the adapters in real.go plug in the piece
// picker and the choker of package appnet.dev/bittorrent, so what the
// simulator measures is the code a real client runs.

// PickRequest is what a peer knows when it chooses the next piece to
// request from one neighbour.
type PickRequest struct {
	Pieces    int    // number of pieces in the file
	Have      Pieces // pieces this peer has verified
	Remote    Pieces // pieces the neighbour has
	Requested Pieces // pieces already in flight to this peer from someone
	Started   Pieces // pieces in flight or partly received

	// Partial holds the bytes already received of each piece this peer
	// has started but not finished.
	Partial []float64

	// Availability counts, for each piece, the neighbours that have it.
	Availability []int

	Rand *rand.Rand // the peer's own randomness, seeded by the simulation
}

// A Picker chooses the piece a peer requests next from a neighbour. It
// returns ok = false when the neighbour has nothing the peer still needs
// and has not already requested.
type Picker interface {
	Pick(r *PickRequest) (piece int, ok bool)
}

// Neighbour is what a peer's choker sees of one neighbour at a round.
type Neighbour struct {
	ID int // the neighbour's peer number (0 is the seed)

	// Key names the neighbour for a choker that keys peers by string
	// (a real client uses the address): "peer 7". The choker of package
	// bittorrent breaks ties between equal rates at random, so no peer is
	// everybody's favourite for its name.
	Key string

	Interested bool // it wants a piece we have

	// Unchoked reports whether we currently upload to it.
	Unchoked bool

	// DownloadRate is the rate at which we received from it over the last
	// round, UploadRate the rate at which we sent to it, both in bytes/s.
	DownloadRate, UploadRate float64

	// Connected is when the connection was made, LastPiece when it last
	// sent us data (zero if never), LastUnchoked when we last unchoked it
	// (zero if never): the choker uses them for the new-peer bonus,
	// anti-snubbing and the seed's rotation.
	Connected, LastPiece, LastUnchoked time.Time
}

// Choice is a choker's decision for one neighbour, with the reason the
// simulator prints in Result.Rounds ("optimistic", "top by rate"…).
type Choice struct {
	Unchoke bool
	Reason  string
}

// A Choker decides which neighbours a peer unchokes. Rechoke is called at
// every round (every 10 s, the slides' "re-evaluate top 4") and also
// whenever a neighbour's interest changes, so a free upload slot is filled
// at once; between rounds it is consulted only if an interested neighbour
// is choked. It returns one Choice per neighbour, in the order of ns; the
// simulator reads it before the next call, so a Choker may reuse the
// slice.
//
// ns leaves out the neighbours that are neither interested nor unchoked
// and exchanged nothing with the peer in the last round, and between
// rounds all that are neither interested nor unchoked: a choker of BEP 3's
// family cannot choose them, and leaving them out keeps a swarm of a
// thousand peers fast. When no neighbour is left the choker is not called.
//
// Seeding reports that the peer has the whole file (BitTorrent's seed
// state, where uploads are ranked by upload rate instead of download
// rate); round is true at a periodic round and false for an update between
// rounds.
type Choker interface {
	Rechoke(now time.Time, seeding, round bool, ns []Neighbour) []Choice
}

// A Slotted choker says how many interested neighbours it unchokes at
// most. Between rounds the simulator then consults it only when a slot is
// free, which saves most of the calls in a large swarm; a Choker without
// Slots is consulted at every change of interest. The simulator asks once,
// when it makes the peer.
type Slotted interface {
	Slots() int
}

// InOrder requests the lowest-numbered piece it can: the strawman of the
// piece-selection experiment, which makes every peer want the same pieces
// as every other.
type InOrder struct{}

// Pick implements [Picker].
func (InOrder) Pick(r *PickRequest) (int, bool) {
	for i := range r.Pieces {
		if r.Remote.Has(i) && !r.Have.Has(i) && !r.Requested.Has(i) {
			return i, true
		}
	}
	return 0, false
}

// RandomPiece requests a piece chosen uniformly at random among those the
// neighbour can give.
type RandomPiece struct{}

// Pick implements [Picker].
func (RandomPiece) Pick(r *PickRequest) (int, bool) {
	n := 0
	choice := 0
	for i := range r.Pieces {
		if r.Remote.Has(i) && !r.Have.Has(i) && !r.Requested.Has(i) {
			n++
			if r.Rand.IntN(n) == 0 { // reservoir sampling
				choice = i
			}
		}
	}
	return choice, n > 0
}

// Unchoked is the "no choking" baseline: upload to every interested
// neighbour, sharing the upload rate among them all.
type Unchoked struct{}

// Rechoke implements [Choker].
func (Unchoked) Rechoke(_ time.Time, _, _ bool, ns []Neighbour) []Choice {
	out := make([]Choice, len(ns))
	for i, n := range ns {
		if n.Interested {
			out[i] = Choice{true, "interested"}
		}
	}
	return out
}
