package imap

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// A SeqRange is one element of a sequence set: Start:Stop, or a single
// number when they are equal. The value 0 stands for "*", the largest
// number in use.
type SeqRange struct {
	Start, Stop uint32
}

// A SeqSet is a set of message sequence numbers or UIDs, as written in
// "1:3,7,10:*" (RFC 3501 §9, sequence-set).
type SeqSet []SeqRange

// ErrBadSeqSet is returned by ParseSeqSet for malformed sets.
var ErrBadSeqSet = errors.New("imap: invalid sequence set")

// maxSeqRanges bounds the elements of a set read from the network.
const maxSeqRanges = 10000

// ParseSeqSet parses a sequence set. "$" (RFC 5182, the saved search
// result) is not supported.
func ParseSeqSet(s string) (SeqSet, error) {
	if s == "" {
		return nil, ErrBadSeqSet
	}
	var set SeqSet
	for _, part := range strings.Split(s, ",") {
		if len(set) >= maxSeqRanges {
			return nil, ErrBadSeqSet
		}
		a, b, isRange := strings.Cut(part, ":")
		start, err := parseSeqNum(a)
		if err != nil {
			return nil, err
		}
		stop := start
		if isRange {
			if stop, err = parseSeqNum(b); err != nil {
				return nil, err
			}
		}
		set = append(set, SeqRange{start, stop})
	}
	return set, nil
}

func parseSeqNum(s string) (uint32, error) {
	if s == "*" {
		return 0, nil
	}
	if s == "" || s[0] == '0' || len(s) > 10 {
		return 0, ErrBadSeqSet
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, ErrBadSeqSet
	}
	return uint32(n), nil
}

// String formats the set as IMAP writes it.
func (s SeqSet) String() string {
	var b []byte
	for i, r := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSeqNum(b, r.Start)
		if r.Stop != r.Start {
			b = append(b, ':')
			b = appendSeqNum(b, r.Stop)
		}
	}
	return string(b)
}

func appendSeqNum(b []byte, n uint32) []byte {
	if n == 0 {
		return append(b, '*')
	}
	return strconv.AppendUint(b, uint64(n), 10)
}

// Contains reports whether n is in the set when the largest number in use
// (the value of "*") is max.
func (s SeqSet) Contains(n, max uint32) bool {
	for _, r := range s {
		a, b := r.Start, r.Stop
		if a == 0 {
			a = max
		}
		if b == 0 {
			b = max
		}
		if a > b {
			a, b = b, a
		}
		if n >= a && n <= b {
			return true
		}
	}
	return false
}

// SeqSetOf returns the set holding exactly nums, compressed into ranges.
func SeqSetOf(nums ...uint32) SeqSet {
	var s SeqSet
	for _, n := range nums {
		if k := len(s); k > 0 && s[k-1].Stop+1 == n {
			s[k-1].Stop = n
			continue
		}
		s = append(s, SeqRange{n, n})
	}
	return s
}

// Ranges returns the set's ranges with "*" replaced by max, each with
// Start <= Stop, sorted and merged, so that membership is a binary search
// (see InRanges) however many elements a client wrote.
func (s SeqSet) Ranges(max uint32) []SeqRange {
	out := make([]SeqRange, 0, len(s))
	for _, r := range s {
		a, b := r.Start, r.Stop
		if a == 0 {
			a = max
		}
		if b == 0 {
			b = max
		}
		if a > b {
			a, b = b, a
		}
		out = append(out, SeqRange{a, b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	merged := out[:0]
	for _, r := range out {
		if k := len(merged); k > 0 && uint64(r.Start) <= uint64(merged[k-1].Stop)+1 {
			if r.Stop > merged[k-1].Stop {
				merged[k-1].Stop = r.Stop
			}
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// InRanges reports whether n is in ranges as returned by Ranges.
func InRanges(ranges []SeqRange, n uint32) bool {
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i].Stop >= n })
	return i < len(ranges) && ranges[i].Start <= n
}
