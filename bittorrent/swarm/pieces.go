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

// offersAny reports whether remote holds a piece have lacks.
func offersAny(remote, have Pieces) bool {
	for i, w := range remote {
		if w&^have[i] != 0 {
			return true
		}
	}
	return false
}

// only reports whether p is the one piece of remote that have lacks.
func only(remote, have Pieces, p int) bool {
	for i, w := range remote {
		w &^= have[i]
		if i == p/64 {
			w &^= 1 << (uint(p) % 64)
		}
		if w != 0 {
			return false
		}
	}
	return true
}
