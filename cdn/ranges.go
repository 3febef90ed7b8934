package cdn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxRanges is the most ranges one Range field may ask for; more are refused
// as malformed so that a request cannot make the edge write a body many
// times larger than the object (RFC 9110 §14.2 lets a server ignore them).
const MaxRanges = 16

// Errors of ParseRange.
var (
	// ErrBadRange: the Range field is malformed; serve the whole object.
	ErrBadRange = errors.New("cdn: malformed Range")
	// ErrUnsatisfiable: no range overlaps the object; answer 416.
	ErrUnsatisfiable = errors.New("cdn: range not satisfiable")
)

// A ByteRange is the bytes [Start, Start+Length) of an object.
type ByteRange struct {
	Start, Length int64
}

// ContentRange is the Content-Range value of r in an object of size bytes.
func (r ByteRange) ContentRange(size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", r.Start, r.Start+r.Length-1, size)
}

// ParseRange reads a Range field (RFC 9110 §14.2) for an object of size
// bytes: "bytes=0-499", "bytes=500-", "bytes=-500" and lists of these. Ranges
// that start past the end are dropped; if none is left the error is
// ErrUnsatisfiable. A malformed field, a unit other than bytes, or more than
// MaxRanges ranges give ErrBadRange.
func ParseRange(field string, size int64) ([]ByteRange, error) {
	unit, set, ok := strings.Cut(field, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, ErrBadRange
	}
	specs := strings.Split(set, ",")
	if len(specs) > MaxRanges {
		return nil, ErrBadRange
	}
	var out []ByteRange
	for _, spec := range specs {
		spec = strings.TrimSpace(spec)
		first, last, ok := strings.Cut(spec, "-")
		if !ok {
			return nil, ErrBadRange
		}
		var r ByteRange
		if first == "" {
			// suffix-range: the last n bytes.
			n, ok := digits(last)
			if !ok {
				return nil, ErrBadRange
			}
			if n == 0 || size == 0 {
				continue
			}
			n = min(n, size)
			r = ByteRange{size - n, n}
		} else {
			start, ok := digits(first)
			if !ok {
				return nil, ErrBadRange
			}
			end := size - 1
			if last != "" {
				e, ok := digits(last)
				if !ok || e < start {
					return nil, ErrBadRange
				}
				end = min(e, size-1)
			}
			if start >= size {
				continue
			}
			r = ByteRange{start, end - start + 1}
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, ErrUnsatisfiable
	}
	return out, nil
}

// digits reads a non-empty decimal number that fits in an int64.
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
