package dns

import (
	"errors"
	"strconv"
	"strings"
)

// Limits of RFC 1035 §2.3.4.
const (
	MaxLabelLen = 63  // octets in one label
	MaxNameLen  = 255 // octets in a name's wire form, the root's zero included
)

// maxPointerHops bounds how many compression pointers one name may follow.
// Pointers must also point strictly backwards (RFC 9267 §2), so a loop is
// impossible; the bound is a second guard.
const maxPointerHops = 64

// A Name is a domain name: a sequence of labels ending at the root. It is
// kept in wire form (each label preceded by its length) in a fixed array, so
// names are values that compare with == and parse without allocating. The
// case of each letter is kept as written; Equal compares without regard to
// case, as RFC 1035 §2.3.3 and RFC 4343 ask. The zero Name is the root, ".".
type Name struct {
	wire [MaxNameLen - 1]byte // labels without the root's terminating zero
	n    uint8                // bytes of wire in use
}

var (
	errLabelTooLong = errors.New("label longer than 63 octets")
	errNameTooLong  = errors.New("name longer than 255 octets")
	errEmptyLabel   = errors.New("empty label")
	errBadEscape    = errors.New("bad escape")
)

// ParseName reads a name in presentation form ("www.networkutopia.com",
// with or without the final dot). Backslash escapes (\. and \DDD) are
// understood. The name is taken as absolute.
func ParseName(s string) (Name, error) {
	return parseNameRel(s, Name{})
}

// MustParseName is ParseName for names known to be valid; it panics on
// error. It is meant for constants in examples and tests.
func MustParseName(s string) Name {
	n, err := ParseName(s)
	if err != nil {
		panic(err)
	}
	return n
}

// parseNameRel reads a name in presentation form; a name without a final
// dot is relative to origin. "@" is origin itself.
func parseNameRel(s string, origin Name) (Name, error) {
	var n Name
	if s == "@" {
		return origin, nil
	}
	if s == "." {
		return n, nil
	}
	if s == "" {
		return n, errEmptyLabel
	}
	absolute := false
	var label [MaxLabelLen + 1]byte
	ll := 0
	flush := func() error {
		if ll == 0 {
			return errEmptyLabel
		}
		if int(n.n)+1+ll > len(n.wire) {
			return errNameTooLong
		}
		n.wire[n.n] = byte(ll)
		copy(n.wire[int(n.n)+1:], label[:ll])
		n.n += uint8(1 + ll)
		ll = 0
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '.':
			if err := flush(); err != nil {
				return Name{}, err
			}
			if i == len(s)-1 {
				absolute = true
			}
			continue
		case '\\':
			if i+1 >= len(s) {
				return Name{}, errBadEscape
			}
			if isDigit(s[i+1]) {
				if i+3 >= len(s) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
					return Name{}, errBadEscape
				}
				v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
				if v > 255 {
					return Name{}, errBadEscape
				}
				c = byte(v)
				i += 3
			} else {
				i++
				c = s[i]
			}
		}
		if ll == MaxLabelLen {
			return Name{}, errLabelTooLong
		}
		label[ll] = c
		ll++
	}
	if !absolute {
		if err := flush(); err != nil {
			return Name{}, err
		}
		if int(n.n)+int(origin.n) > len(n.wire) {
			return Name{}, errNameTooLong
		}
		copy(n.wire[n.n:], origin.wire[:origin.n])
		n.n += origin.n
	}
	return n, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// String returns the name in presentation form, with a final dot and with
// backslash escapes for dots, spaces and bytes that are not printable.
func (n Name) String() string {
	if n.n == 0 {
		return "."
	}
	var sb strings.Builder
	sb.Grow(int(n.n) + 1)
	for i := 0; i < int(n.n); {
		l := int(n.wire[i])
		for _, c := range n.wire[i+1 : i+1+l] {
			switch {
			case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
				sb.WriteByte('\\')
				sb.WriteByte(c)
			case c <= ' ' || c >= 0x7f:
				sb.WriteByte('\\')
				s := strconv.Itoa(int(c))
				sb.WriteString("000"[len(s):])
				sb.WriteString(s)
			default:
				sb.WriteByte(c)
			}
		}
		sb.WriteByte('.')
		i += 1 + l
	}
	return sb.String()
}

// IsRoot reports whether n is the root name ".".
func (n Name) IsRoot() bool { return n.n == 0 }

// WireLen is the length of n in uncompressed wire form.
func (n Name) WireLen() int { return int(n.n) + 1 }

// Labels is the number of labels in n, the root not counted.
func (n Name) Labels() int {
	c := 0
	for i := 0; i < int(n.n); i += 1 + int(n.wire[i]) {
		c++
	}
	return c
}

// FirstLabel returns n's leftmost label ("www" of www.networkutopia.com).
func (n Name) FirstLabel() string {
	if n.n == 0 {
		return ""
	}
	return string(n.wire[1 : 1+n.wire[0]])
}

// Parent returns n without its first label; the root's parent is the root.
func (n Name) Parent() Name {
	if n.n == 0 {
		return n
	}
	skip := 1 + int(n.wire[0])
	var p Name
	copy(p.wire[:], n.wire[skip:n.n])
	p.n = n.n - uint8(skip)
	return p
}

// Child returns label.n, or an error if the label or the result is too
// long. The label is taken as it is, without escapes.
func (n Name) Child(label string) (Name, error) {
	if len(label) == 0 {
		return Name{}, errEmptyLabel
	}
	if len(label) > MaxLabelLen {
		return Name{}, errLabelTooLong
	}
	if int(n.n)+1+len(label) > len(n.wire) {
		return Name{}, errNameTooLong
	}
	var c Name
	c.wire[0] = byte(len(label))
	copy(c.wire[1:], label)
	copy(c.wire[1+len(label):], n.wire[:n.n])
	c.n = n.n + uint8(1+len(label))
	return c, nil
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Equal reports whether n and m are the same name, ignoring ASCII case.
func (n Name) Equal(m Name) bool {
	if n.n != m.n {
		return false
	}
	for i := 0; i < int(n.n); i++ {
		if lower(n.wire[i]) != lower(m.wire[i]) {
			return false
		}
	}
	return true
}

// Canonical returns n with ASCII letters in lower case, the form to use as
// a map key.
func (n Name) Canonical() Name {
	for i := 0; i < int(n.n); i++ {
		n.wire[i] = lower(n.wire[i])
	}
	return n
}

// IsSubdomainOf reports whether n is m or a name below m.
func (n Name) IsSubdomainOf(m Name) bool {
	if m.n > n.n {
		return false
	}
	// Walk n's label boundaries until the remaining suffix has m's length.
	i := 0
	for int(n.n)-i > int(m.n) {
		i += 1 + int(n.wire[i])
	}
	if int(n.n)-i != int(m.n) {
		return false
	}
	for j := 0; j < int(m.n); j++ {
		if lower(n.wire[i+j]) != lower(m.wire[j]) {
			return false
		}
	}
	return true
}

// AppendWire appends n in uncompressed wire form.
func (n Name) AppendWire(b []byte) []byte {
	b = append(b, n.wire[:n.n]...)
	return append(b, 0)
}

// A compressor remembers where names were written in a message so later
// names can point at them (RFC 1035 §4.1.4). It holds offsets only and
// compares against the message itself, so it allocates nothing.
type compressor struct {
	msg  []byte // the buffer; the message starts at base
	base int
	offs [128]uint16 // offsets (from base) where a label sequence starts
	k    int
}

// appendName appends n to b, compressed against earlier names if c is not
// nil, and records the new labels' offsets in c.
func appendName(b []byte, n Name, c *compressor) []byte {
	if c == nil || n.n == 0 {
		return n.AppendWire(b)
	}
	c.msg = b
	// Try each suffix of n, longest first.
	for i := 0; i < int(n.n); i += 1 + int(n.wire[i]) {
		if p, ok := c.find(n.wire[i:n.n]); ok {
			b = c.record(b, n.wire[:i])
			return append(b, byte(0xC0|p>>8), byte(p))
		}
	}
	b = c.record(b, n.wire[:n.n])
	return append(b, 0)
}

// record appends the labels in w, remembering where each starts.
func (c *compressor) record(b []byte, w []byte) []byte {
	for i := 0; i < len(w); i += 1 + int(w[i]) {
		off := len(b) + i - c.base
		if off < 0x3FFF && c.k < len(c.offs) {
			c.offs[c.k] = uint16(off)
			c.k++
		}
	}
	return append(b, w...)
}

// find looks for an earlier occurrence of the label sequence w (ending at
// the root) in the message.
func (c *compressor) find(w []byte) (int, bool) {
	for _, off := range c.offs[:c.k] {
		if c.matches(int(off), w) {
			return int(off), true
		}
	}
	return 0, false
}

// matches compares the name at message offset off with w. The comparison
// is exact, case included, so that compression never changes a name's case
// (a resolver's 0x20 check depends on that). The names there were written
// by us, so pointers go backwards.
func (c *compressor) matches(off int, w []byte) bool {
	msg := c.msg[c.base:]
	i := 0
	for hops := 0; hops < maxPointerHops; {
		if off >= len(msg) {
			return false
		}
		l := int(msg[off])
		if l&0xC0 == 0xC0 {
			if off+1 >= len(msg) {
				return false
			}
			off = (l&0x3F)<<8 | int(msg[off+1])
			hops++
			continue
		}
		if l == 0 {
			return i == len(w)
		}
		if i >= len(w) || int(w[i]) != l || off+1+l > len(msg) {
			return false
		}
		if string(msg[off+1:off+1+l]) != string(w[i+1:i+1+l]) {
			return false
		}
		i += 1 + l
		off += 1 + l
	}
	return false
}

// parseName reads a possibly compressed name at msg[off:] and returns it
// with the offset just past it in the original position. It follows the
// rules of RFC 9267: every pointer points strictly before the place it was
// found, labels are at most 63 octets, the name at most 255, and the
// reserved label types 01 and 10 are errors.
func parseName(msg []byte, off int) (Name, int, error) {
	var n Name
	end, err := parseNameInto(&n, msg, off)
	return n, end, err
}

// parseNameInto is parseName writing into *n, which saves copying a Name
// on the hot path.
func parseNameInto(n *Name, msg []byte, off int) (int, error) {
	n.n = 0
	end := -1
	limit := off // pointers must point before this
	for hops := 0; ; {
		if off >= len(msg) {
			return 0, errShortName
		}
		l := int(msg[off])
		switch l & 0xC0 {
		case 0x00:
			if l == 0 {
				if end < 0 {
					end = off + 1
				}
				return end, nil
			}
			if off+1+l > len(msg) {
				return 0, errShortName
			}
			if int(n.n)+1+l > len(n.wire) {
				return 0, errNameTooLong
			}
			copy(n.wire[n.n:], msg[off:off+1+l])
			n.n += uint8(1 + l)
			off += 1 + l
		case 0xC0:
			if off+1 >= len(msg) {
				return 0, errShortName
			}
			p := (l&0x3F)<<8 | int(msg[off+1])
			if end < 0 {
				end = off + 2
			}
			if p >= limit {
				return 0, errPointerForward
			}
			hops++
			if hops > maxPointerHops {
				return 0, errPointerHops
			}
			limit = p
			off = p
		default:
			return 0, errLabelType
		}
	}
}

var (
	errShortName      = errors.New("name runs past the end of the message")
	errPointerForward = errors.New("compression pointer does not point backwards")
	errPointerHops    = errors.New("too many compression pointers")
	errLabelType      = errors.New("reserved label type")
)
