package dash

import (
	"encoding/binary"
	"errors"
	"fmt"

	"appnet.dev/dash/mpd"
)

// A SegmentIndex is what an ISO BMFF segment index box ('sidx', ISO/IEC
// 14496-12 §8.16.3) says: where in the file each subsegment (a chunk the
// player may fetch on its own, by byte range) starts, how long it is in
// bytes and how long it plays. It is how a DASH Representation that is one
// MP4 file (the on-demand profile's SegmentBase, which names only the
// index's byte range) is cut into chunks a player can switch between.
type SegmentIndex struct {
	Timescale   uint64 // units per second of the times below
	Earliest    uint64 // presentation time of the first subsegment
	First       uint64 // byte offset in the file of the first subsegment
	Subsegments []mpd.Subsegment
	// Where the box itself is in the file: bytes Start to End-1.
	Start, End uint64
}

// ErrNestedIndex is returned for an index whose entries point at further
// index boxes (a hierarchical index), which this player does not follow.
var ErrNestedIndex = errors.New("dash: the segment index refers to other segment indexes, which is not supported")

// ParseSegmentIndex reads the segment index in data, bytes of a file
// from offset at on (a SegmentBase's indexRange). Boxes before the 'sidx'
// box, such as 'styp', are skipped. Offsets in the result are from the
// start of the file: the first subsegment begins right after the box plus
// the box's first_offset.
func ParseSegmentIndex(data []byte, at uint64) (*SegmentIndex, error) {
	for off := 0; off < len(data); {
		rest := data[off:]
		if len(rest) < 8 {
			return nil, fmt.Errorf("dash: %d bytes left where a box header was expected: no 'sidx' box", len(rest))
		}
		size, header := uint64(binary.BigEndian.Uint32(rest)), 8
		kind := string(rest[4:8])
		switch size {
		case 0: // to the end of the file
			size = uint64(len(rest))
		case 1: // a 64-bit size follows
			if len(rest) < 16 {
				return nil, fmt.Errorf("dash: box %q: truncated 64-bit size", kind)
			}
			size, header = binary.BigEndian.Uint64(rest[8:]), 16
		}
		if size < uint64(header) {
			return nil, fmt.Errorf("dash: box %q: size %d smaller than its header", kind, size)
		}
		if kind != "sidx" {
			if size > uint64(len(rest)) {
				return nil, fmt.Errorf("dash: box %q of %d bytes runs past the index range: no 'sidx' box", kind, size)
			}
			off += int(size)
			continue
		}
		if size > uint64(len(rest)) {
			return nil, fmt.Errorf("dash: 'sidx' box of %d bytes, only %d in the index range", size, len(rest))
		}
		idx, err := parseSidx(rest[header:size])
		if err != nil {
			return nil, err
		}
		idx.Start = at + uint64(off)
		idx.End = idx.Start + size
		if idx.First > (1<<63)-idx.End {
			return nil, fmt.Errorf("dash: 'sidx' first_offset %d out of range", idx.First)
		}
		idx.First += idx.End
		return idx, nil
	}
	return nil, errors.New("dash: no 'sidx' box in the index range")
}

// parseSidx reads a sidx box's body (after the box header): version and
// flags, reference_ID, timescale, earliest_presentation_time and
// first_offset (32 bits each in version 0, 64 in version 1), a reserved
// 16 bits, reference_count, then 12 bytes per reference.
func parseSidx(b []byte) (*SegmentIndex, error) {
	short := errors.New("dash: 'sidx' box truncated")
	if len(b) < 12 {
		return nil, short
	}
	version := b[0]
	idx := &SegmentIndex{Timescale: uint64(binary.BigEndian.Uint32(b[8:]))}
	b = b[12:]
	switch version {
	case 0:
		if len(b) < 8 {
			return nil, short
		}
		idx.Earliest, idx.First = uint64(binary.BigEndian.Uint32(b)), uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	case 1:
		if len(b) < 16 {
			return nil, short
		}
		idx.Earliest, idx.First = binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])
		b = b[16:]
	default:
		return nil, fmt.Errorf("dash: 'sidx' version %d, want 0 or 1", version)
	}
	if idx.Timescale == 0 {
		return nil, errors.New("dash: 'sidx' with timescale 0")
	}
	if len(b) < 4 {
		return nil, short
	}
	count := int(binary.BigEndian.Uint16(b[2:]))
	b = b[4:]
	if len(b) < 12*count { // bounds the allocation by the bytes at hand
		return nil, fmt.Errorf("dash: 'sidx' lists %d references in %d bytes", count, len(b))
	}
	if count == 0 {
		return nil, errors.New("dash: 'sidx' without references")
	}
	idx.Subsegments = make([]mpd.Subsegment, count)
	for i := range idx.Subsegments {
		r := b[12*i:]
		ref := binary.BigEndian.Uint32(r)
		if ref>>31 == 1 {
			return nil, ErrNestedIndex
		}
		idx.Subsegments[i] = mpd.Subsegment{Size: uint64(ref & 0x7fffffff), Duration: uint64(binary.BigEndian.Uint32(r[4:]))}
		if idx.Subsegments[i].Size == 0 {
			return nil, fmt.Errorf("dash: 'sidx' reference %d has size 0", i+1)
		}
	}
	return idx, nil
}
