package dns

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RData is the data part of a resource record. Each type of record has its
// own struct (*A, *MX, *SOA …); types this package does not know travel as
// *Unknown, unchanged (RFC 3597).
type RData interface {
	// Type is the record type this data belongs to.
	Type() Type
	// String is the data in presentation (zone file) form.
	String() string
	// appendRData appends the data in wire form; names may be compressed
	// with c where RFC 3597 §4 allows it (nil: never).
	appendRData(b []byte, c *compressor) ([]byte, error)
}

// A is an IPv4 host address (RFC 1035 §3.4.1): hostname to IP address.
type A struct{ Addr netip.Addr }

// AAAA is an IPv6 host address (RFC 3596).
type AAAA struct{ Addr netip.Addr }

// NS names an authoritative name server for the owner's zone.
type NS struct{ Host Name }

// CNAME says the owner is an alias whose canonical name is Target.
type CNAME struct{ Target Name }

// PTR points from an address's in-addr.arpa name to a host name.
type PTR struct{ Target Name }

// MX names a mail server for the owner's domain; lower Preference first.
type MX struct {
	Preference uint16
	Exchange   Name
}

// SOA starts a zone of authority (RFC 1035 §3.3.13). Minimum is the TTL of
// negative answers (RFC 2308 §4).
type SOA struct {
	MName   Name // the primary name server
	RName   Name // the mailbox of the person responsible, @ written as .
	Serial  uint32
	Refresh uint32
	Retry   uint32
	Expire  uint32
	Minimum uint32
}

// TXT holds character strings of up to 255 octets each.
type TXT struct{ Strings []string }

// SRV locates a service (RFC 2782).
type SRV struct {
	Priority uint16
	Weight   uint16
	Port     uint16
	Target   Name
}

// CAA says which certificate authorities may issue for the owner (RFC 8659).
type CAA struct {
	Flags uint8
	Tag   string
	Value string
}

// Unknown is the data of a record type this package has no struct for,
// kept as opaque octets (RFC 3597). Its presentation form is \# LEN HEX.
type Unknown struct {
	T    Type
	Data []byte
}

func (*A) Type() Type         { return TypeA }
func (*AAAA) Type() Type      { return TypeAAAA }
func (*NS) Type() Type        { return TypeNS }
func (*CNAME) Type() Type     { return TypeCNAME }
func (*PTR) Type() Type       { return TypePTR }
func (*MX) Type() Type        { return TypeMX }
func (*SOA) Type() Type       { return TypeSOA }
func (*TXT) Type() Type       { return TypeTXT }
func (*SRV) Type() Type       { return TypeSRV }
func (*CAA) Type() Type       { return TypeCAA }
func (u *Unknown) Type() Type { return u.T }

var errBadAddr = errors.New("address of the wrong family")

func (r *A) appendRData(b []byte, _ *compressor) ([]byte, error) {
	if !r.Addr.Is4() {
		return b, errBadAddr
	}
	a := r.Addr.As4()
	return append(b, a[:]...), nil
}

func (r *AAAA) appendRData(b []byte, _ *compressor) ([]byte, error) {
	if !r.Addr.Is6() {
		return b, errBadAddr
	}
	a := r.Addr.As16()
	return append(b, a[:]...), nil
}

func (r *NS) appendRData(b []byte, c *compressor) ([]byte, error) {
	return appendName(b, r.Host, c), nil
}
func (r *CNAME) appendRData(b []byte, c *compressor) ([]byte, error) {
	return appendName(b, r.Target, c), nil
}
func (r *PTR) appendRData(b []byte, c *compressor) ([]byte, error) {
	return appendName(b, r.Target, c), nil
}
func (r *MX) appendRData(b []byte, c *compressor) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, r.Preference)
	return appendName(b, r.Exchange, c), nil
}
func (r *SOA) appendRData(b []byte, c *compressor) ([]byte, error) {
	b = appendName(b, r.MName, c)
	b = appendName(b, r.RName, c)
	for _, v := range [...]uint32{r.Serial, r.Refresh, r.Retry, r.Expire, r.Minimum} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b, nil
}

var errStringTooLong = errors.New("character string longer than 255 octets")

func (r *TXT) appendRData(b []byte, _ *compressor) ([]byte, error) {
	if len(r.Strings) == 0 {
		return append(b, 0), nil // one empty string: RDATA may not be empty
	}
	for _, s := range r.Strings {
		if len(s) > 255 {
			return b, errStringTooLong
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	return b, nil
}

func (r *SRV) appendRData(b []byte, _ *compressor) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, r.Priority)
	b = binary.BigEndian.AppendUint16(b, r.Weight)
	b = binary.BigEndian.AppendUint16(b, r.Port)
	return appendName(b, r.Target, nil), nil // RFC 2782: no compression
}

func (r *CAA) appendRData(b []byte, _ *compressor) ([]byte, error) {
	if len(r.Tag) == 0 || len(r.Tag) > 255 {
		return b, errors.New("CAA tag must be 1 to 255 octets")
	}
	b = append(b, r.Flags, byte(len(r.Tag)))
	b = append(b, r.Tag...)
	return append(b, r.Value...), nil
}

func (r *Unknown) appendRData(b []byte, _ *compressor) ([]byte, error) {
	return append(b, r.Data...), nil
}

// parseRData reads the data of a record of type t from msg[off:end]. Names
// may be compressed against the whole message.
func parseRData(t Type, msg []byte, off, end int) (RData, error) {
	d := msg[off:end]
	name := func(at int) (Name, int, error) {
		n, next, err := parseName(msg[:end], at)
		return n, next, err
	}
	switch t {
	case TypeA:
		if len(d) != 4 {
			return nil, errRDataLen
		}
		return &A{netip.AddrFrom4([4]byte(d))}, nil
	case TypeAAAA:
		if len(d) != 16 {
			return nil, errRDataLen
		}
		return &AAAA{netip.AddrFrom16([16]byte(d))}, nil
	case TypeNS, TypeCNAME, TypePTR:
		n, next, err := name(off)
		if err != nil {
			return nil, err
		}
		if next != end {
			return nil, errRDataLen
		}
		switch t {
		case TypeNS:
			return &NS{n}, nil
		case TypeCNAME:
			return &CNAME{n}, nil
		}
		return &PTR{n}, nil
	case TypeMX:
		if len(d) < 3 {
			return nil, errRDataLen
		}
		n, next, err := name(off + 2)
		if err != nil {
			return nil, err
		}
		if next != end {
			return nil, errRDataLen
		}
		return &MX{binary.BigEndian.Uint16(d), n}, nil
	case TypeSOA:
		mn, next, err := name(off)
		if err != nil {
			return nil, err
		}
		rn, next, err := name(next)
		if err != nil {
			return nil, err
		}
		if end-next != 20 {
			return nil, errRDataLen
		}
		v := msg[next:end]
		be := binary.BigEndian
		return &SOA{mn, rn, be.Uint32(v), be.Uint32(v[4:]), be.Uint32(v[8:]), be.Uint32(v[12:]), be.Uint32(v[16:])}, nil
	case TypeTXT:
		var ss []string
		for i := 0; i < len(d); {
			l := int(d[i])
			if i+1+l > len(d) {
				return nil, errRDataLen
			}
			ss = append(ss, string(d[i+1:i+1+l]))
			i += 1 + l
		}
		if len(ss) == 0 {
			return nil, errRDataLen
		}
		return &TXT{ss}, nil
	case TypeSRV:
		if len(d) < 7 {
			return nil, errRDataLen
		}
		n, next, err := name(off + 6)
		if err != nil {
			return nil, err
		}
		if next != end {
			return nil, errRDataLen
		}
		be := binary.BigEndian
		return &SRV{be.Uint16(d), be.Uint16(d[2:]), be.Uint16(d[4:]), n}, nil
	case TypeCAA:
		if len(d) < 2 || int(d[1]) == 0 || 2+int(d[1]) > len(d) {
			return nil, errRDataLen
		}
		tl := int(d[1])
		return &CAA{d[0], string(d[2 : 2+tl]), string(d[2+tl:])}, nil
	}
	return &Unknown{t, append([]byte(nil), d...)}, nil
}

var errRDataLen = errors.New("record data has the wrong length")

// String forms (RFC 1035 §5.1, RFC 3597 §5).

func (r *A) String() string     { return r.Addr.String() }
func (r *AAAA) String() string  { return r.Addr.String() }
func (r *NS) String() string    { return r.Host.String() }
func (r *CNAME) String() string { return r.Target.String() }
func (r *PTR) String() string   { return r.Target.String() }
func (r *MX) String() string {
	return strconv.Itoa(int(r.Preference)) + " " + r.Exchange.String()
}
func (r *SOA) String() string {
	return fmt.Sprintf("%s %s %d %d %d %d %d", r.MName, r.RName, r.Serial, r.Refresh, r.Retry, r.Expire, r.Minimum)
}
func (r *TXT) String() string {
	var sb strings.Builder
	for i, s := range r.Strings {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(quote(s))
	}
	return sb.String()
}
func (r *SRV) String() string {
	return fmt.Sprintf("%d %d %d %s", r.Priority, r.Weight, r.Port, r.Target)
}
func (r *CAA) String() string {
	if !caaTag(r.Tag) {
		// Not a tag the presentation form can carry (one from the wire
		// with a space in it, say): the generic form keeps it (RFC 3597).
		b, _ := r.appendRData(nil, nil)
		return (&Unknown{TypeCAA, b}).String()
	}
	return fmt.Sprintf("%d %s %s", r.Flags, r.Tag, quote(r.Value))
}

// caaTag reports whether tag is a CAA property tag as RFC 8659 §4.1 has
// it: ASCII letters and digits only, at least one (and at most the 255 a
// length octet can count).
func caaTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 255 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if c := tag[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
func (r *Unknown) String() string {
	if len(r.Data) == 0 {
		return `\# 0`
	}
	return `\# ` + strconv.Itoa(len(r.Data)) + " " + hex.EncodeToString(r.Data)
}

// quote writes s as a quoted character string with escapes for quotes,
// backslashes and bytes that are not printable.
func quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&sb, "\\%03d", c)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// A token is one field of a record's presentation form.
type token struct {
	s      string
	quoted bool
}

// parseRDataText reads the presentation form of t's data from fields;
// relative names are completed with origin.
func parseRDataText(t Type, f []token, origin Name) (RData, error) {
	if len(f) > 0 && f[0].s == `\#` && !f[0].quoted {
		return parseGeneric(t, f[1:])
	}
	want := func(n int) error {
		if len(f) != n {
			return fmt.Errorf("%s wants %d fields, got %d", t, n, len(f))
		}
		return nil
	}
	name := func(s string) (Name, error) { return parseNameRel(s, origin) }
	u16 := func(s string) (uint16, error) {
		v, err := strconv.ParseUint(s, 10, 16)
		return uint16(v), err
	}
	switch t {
	case TypeA, TypeAAAA:
		if err := want(1); err != nil {
			return nil, err
		}
		a, err := netip.ParseAddr(f[0].s)
		if err != nil {
			return nil, err
		}
		if t == TypeA {
			if !a.Is4() {
				return nil, errBadAddr
			}
			return &A{a}, nil
		}
		if !a.Is6() || a.Is4In6() && strings.Count(f[0].s, ":") == 0 {
			return nil, errBadAddr
		}
		return &AAAA{a}, nil
	case TypeNS, TypeCNAME, TypePTR:
		if err := want(1); err != nil {
			return nil, err
		}
		n, err := name(f[0].s)
		if err != nil {
			return nil, err
		}
		switch t {
		case TypeNS:
			return &NS{n}, nil
		case TypeCNAME:
			return &CNAME{n}, nil
		}
		return &PTR{n}, nil
	case TypeMX:
		if err := want(2); err != nil {
			return nil, err
		}
		p, err := u16(f[0].s)
		if err != nil {
			return nil, err
		}
		n, err := name(f[1].s)
		if err != nil {
			return nil, err
		}
		return &MX{p, n}, nil
	case TypeSOA:
		if err := want(7); err != nil {
			return nil, err
		}
		mn, err := name(f[0].s)
		if err != nil {
			return nil, err
		}
		rn, err := name(f[1].s)
		if err != nil {
			return nil, err
		}
		var v [5]uint32
		for i := range v {
			if i == 0 {
				x, err := strconv.ParseUint(f[2].s, 10, 32)
				if err != nil {
					return nil, err
				}
				v[0] = uint32(x)
				continue
			}
			if v[i], err = parseTTL(f[2+i].s); err != nil {
				return nil, err
			}
		}
		return &SOA{mn, rn, v[0], v[1], v[2], v[3], v[4]}, nil
	case TypeTXT:
		if len(f) == 0 {
			return nil, errors.New("TXT wants at least one string")
		}
		r := &TXT{}
		for _, tok := range f {
			if len(tok.s) > 255 {
				return nil, errStringTooLong
			}
			r.Strings = append(r.Strings, tok.s)
		}
		return r, nil
	case TypeSRV:
		if err := want(4); err != nil {
			return nil, err
		}
		var v [3]uint16
		for i := range v {
			x, err := u16(f[i].s)
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
		n, err := name(f[3].s)
		if err != nil {
			return nil, err
		}
		return &SRV{v[0], v[1], v[2], n}, nil
	case TypeCAA:
		if err := want(3); err != nil {
			return nil, err
		}
		fl, err := strconv.ParseUint(f[0].s, 10, 8)
		if err != nil {
			return nil, err
		}
		if !caaTag(f[1].s) {
			return nil, fmt.Errorf("bad CAA tag %q: want letters and digits (RFC 8659)", f[1].s)
		}
		return &CAA{uint8(fl), f[1].s, f[2].s}, nil
	case TypeOPT:
		return nil, errors.New("OPT is not a zone record")
	}
	return nil, fmt.Errorf("type %s has no presentation form here: use \\# LEN HEX", t)
}

// parseGeneric reads RFC 3597's \# LEN HEX... form. Known types given this
// way are converted to their struct.
func parseGeneric(t Type, f []token) (RData, error) {
	if len(f) == 0 {
		return nil, errors.New(`\# wants a length`)
	}
	n, err := strconv.ParseUint(f[0].s, 10, 16)
	if err != nil {
		return nil, err
	}
	var h strings.Builder
	for _, tok := range f[1:] {
		h.WriteString(tok.s)
	}
	d, err := hex.DecodeString(h.String())
	if err != nil {
		return nil, err
	}
	if len(d) != int(n) {
		return nil, fmt.Errorf(`\# says %d octets, got %d`, n, len(d))
	}
	switch t {
	case TypeA, TypeAAAA, TypeMX, TypeTXT, TypeSRV, TypeCAA, TypeNS, TypeCNAME, TypePTR, TypeSOA:
		if len(d) == 0 {
			return nil, errRDataLen
		}
		return parseRData(t, d, 0, len(d))
	case TypeOPT:
		return nil, errors.New("OPT is not a zone record")
	}
	return &Unknown{t, d}, nil
}

// parseTTL reads a TTL in seconds, or with BIND's units (1h30m, 2d, 1w).
func parseTTL(s string) (uint32, error) {
	if v, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(v), nil
	}
	if s == "" {
		return 0, errors.New("empty TTL")
	}
	var total, cur uint64
	digits := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			cur = cur*10 + uint64(c-'0')
			digits = true
			if cur > 1<<32 {
				return 0, fmt.Errorf("TTL %q out of range", s)
			}
			continue
		}
		var mult uint64
		switch lower(c) {
		case 's':
			mult = 1
		case 'm':
			mult = 60
		case 'h':
			mult = 3600
		case 'd':
			mult = 86400
		case 'w':
			mult = 604800
		default:
			return 0, fmt.Errorf("bad TTL %q", s)
		}
		if !digits {
			return 0, fmt.Errorf("bad TTL %q", s)
		}
		total += cur * mult
		cur, digits = 0, false
	}
	if digits {
		return 0, fmt.Errorf("bad TTL %q", s) // units must end the number
	}
	if total > 1<<32-1 {
		return 0, fmt.Errorf("TTL %q out of range", s)
	}
	return uint32(total), nil
}
