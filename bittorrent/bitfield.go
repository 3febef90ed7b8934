package bittorrent

import (
	"encoding/binary"
	"errors"
	"math/bits"
)

// A Bitfield is a set of piece indexes, stored as the bitfield message of
// BEP 3 carries it: the high bit of the first byte is piece 0. The zero
// value is an empty set of no pieces; use NewBitfield for a given count.
type Bitfield struct {
	bits []byte
	n    int
}

// NewBitfield returns an empty set for a torrent of n pieces.
func NewBitfield(n int) Bitfield {
	return Bitfield{bits: make([]byte, (n+7)/8), n: n}
}

// ErrBitfield reports a bitfield whose length does not match the torrent or
// whose spare bits at the end are set.
var ErrBitfield = errors.New("bittorrent: malformed bitfield")

// ParseBitfield reads the payload of a bitfield message for a torrent of n
// pieces. The payload must be exactly (n+7)/8 bytes with the spare bits
// clear. The returned set does not share b.
func ParseBitfield(b []byte, n int) (Bitfield, error) {
	if len(b) != (n+7)/8 {
		return Bitfield{}, ErrBitfield
	}
	if n%8 != 0 && b[len(b)-1]&(0xff>>(n%8)) != 0 {
		return Bitfield{}, ErrBitfield
	}
	f := NewBitfield(n)
	copy(f.bits, b)
	return f, nil
}

// Len is the number of pieces the set ranges over.
func (f Bitfield) Len() int { return f.n }

// Has reports whether piece i is in the set. Out-of-range indexes are not.
func (f Bitfield) Has(i int) bool {
	if i < 0 || i >= f.n {
		return false
	}
	return f.bits[i/8]&(0x80>>(i%8)) != 0
}

// Set adds piece i to the set. It panics if i is out of range.
func (f Bitfield) Set(i int) {
	if i < 0 || i >= f.n {
		panic("bittorrent: piece index out of range")
	}
	f.bits[i/8] |= 0x80 >> (i % 8)
}

// Clear removes piece i from the set. It panics if i is out of range.
func (f Bitfield) Clear(i int) {
	if i < 0 || i >= f.n {
		panic("bittorrent: piece index out of range")
	}
	f.bits[i/8] &^= 0x80 >> (i % 8)
}

// SetAll adds every piece: the set of a seed.
func (f Bitfield) SetAll() {
	for i := range f.n {
		f.Set(i)
	}
}

// Count is the number of pieces in the set.
func (f Bitfield) Count() int {
	c := 0
	for _, b := range f.bits {
		c += bits.OnesCount8(b)
	}
	return c
}

// Complete reports whether every piece is in the set.
func (f Bitfield) Complete() bool { return f.Count() == f.n }

// word returns pieces 64w to 64w+63 as the bits of a uint64, piece 64w the
// highest, in the order of the bitfield message; pieces beyond the set's
// length are 0.
func (f Bitfield) word(w int) uint64 {
	if 8*w >= len(f.bits) {
		return 0
	}
	b := f.bits[8*w:]
	if len(b) < 8 {
		var buf [8]byte
		copy(buf[:], b)
		b = buf[:]
	}
	return binary.BigEndian.Uint64(b)
}

// Bytes returns the set as the payload of a bitfield message. The slice is
// shared with f.
func (f Bitfield) Bytes() []byte { return f.bits }

// Clone returns a copy that shares nothing with f.
func (f Bitfield) Clone() Bitfield {
	c := Bitfield{bits: make([]byte, len(f.bits)), n: f.n}
	copy(c.bits, f.bits)
	return c
}

// String shows the set as the slides draw it: one character per piece,
// '1' for a piece held and '0' for one missing.
func (f Bitfield) String() string {
	b := make([]byte, f.n)
	for i := range f.n {
		b[i] = '0'
		if f.Has(i) {
			b[i] = '1'
		}
	}
	return string(b)
}
