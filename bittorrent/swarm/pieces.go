package swarm

import "math/bits"

// Pieces is a set of piece numbers, one bit each (a BitTorrent bitfield).
type Pieces []uint64

func newPieces(n int) Pieces { return make(Pieces, (n+63)/64) }

// Has reports whether piece i is in the set.
func (p Pieces) Has(i int) bool { return p[i>>6]&(1<<(uint(i)&63)) != 0 }

func (p Pieces) set(i int)   { p[i>>6] |= 1 << (uint(i) & 63) }
func (p Pieces) clear(i int) { p[i>>6] &^= 1 << (uint(i) & 63) }

// Count returns the number of pieces in the set.
func (p Pieces) Count() int {
	n := 0
	for _, w := range p {
		n += bits.OnesCount64(w)
	}
	return n
}

// countNew returns how many pieces of remote are not in have.
func countNew(remote, have Pieces) int {
	n := 0
	for i, w := range remote {
		n += bits.OnesCount64(w &^ have[i])
	}
	return n
}
