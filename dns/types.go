package dns

import (
	"strconv"
	"strings"
)

// A Type is a resource record type (RFC 1035 §3.2.2 and later RFCs).
type Type uint16

// The record types this package knows by name. Every other type is carried
// as opaque data (Unknown, RFC 3597).
const (
	TypeA     Type = 1
	TypeNS    Type = 2
	TypeCNAME Type = 5
	TypeSOA   Type = 6
	TypePTR   Type = 12
	TypeMX    Type = 15
	TypeTXT   Type = 16
	TypeAAAA  Type = 28
	TypeSRV   Type = 33
	TypeOPT   Type = 41
	TypeAXFR  Type = 252 // only in questions
	TypeIXFR  Type = 251 // only in questions
	TypeANY   Type = 255 // only in questions
	TypeCAA   Type = 257
)

var typeNames = map[Type]string{
	TypeA: "A", TypeNS: "NS", TypeCNAME: "CNAME", TypeSOA: "SOA", TypePTR: "PTR",
	TypeMX: "MX", TypeTXT: "TXT", TypeAAAA: "AAAA", TypeSRV: "SRV", TypeOPT: "OPT",
	TypeAXFR: "AXFR", TypeIXFR: "IXFR", TypeANY: "ANY", TypeCAA: "CAA",
}

// String returns the type's mnemonic, or TYPEnnn (RFC 3597 §5).
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ParseType reads a type mnemonic ("MX") or the generic form ("TYPE15"),
// in any case.
func ParseType(s string) (Type, bool) {
	u := strings.ToUpper(s)
	for t, name := range typeNames {
		if name == u {
			return t, true
		}
	}
	if v, ok := strings.CutPrefix(u, "TYPE"); ok {
		n, err := strconv.ParseUint(v, 10, 16)
		return Type(n), err == nil
	}
	return 0, false
}

// A Class is a record class; in practice always IN, the Internet.
type Class uint16

// Classes of RFC 1035 §3.2.4 and RFC 2136.
const (
	ClassINET  Class = 1
	ClassCHAOS Class = 3
	ClassHS    Class = 4
	ClassNONE  Class = 254
	ClassANY   Class = 255
)

// String returns the class's mnemonic, or CLASSnnn.
func (c Class) String() string {
	switch c {
	case ClassINET:
		return "IN"
	case ClassCHAOS:
		return "CH"
	case ClassHS:
		return "HS"
	case ClassNONE:
		return "NONE"
	case ClassANY:
		return "ANY"
	}
	return "CLASS" + strconv.Itoa(int(c))
}

// ParseClass reads a class mnemonic or the generic form CLASSnnn.
func ParseClass(s string) (Class, bool) {
	u := strings.ToUpper(s)
	switch u {
	case "IN":
		return ClassINET, true
	case "CH":
		return ClassCHAOS, true
	case "HS":
		return ClassHS, true
	case "NONE":
		return ClassNONE, true
	case "ANY":
		return ClassANY, true
	}
	if v, ok := strings.CutPrefix(u, "CLASS"); ok {
		n, err := strconv.ParseUint(v, 10, 16)
		return Class(n), err == nil
	}
	return 0, false
}

// An Opcode says what kind of message this is (RFC 1035 §4.1.1).
type Opcode uint8

// Opcodes.
const (
	OpcodeQuery  Opcode = 0
	OpcodeIQuery Opcode = 1 // obsolete (RFC 3425)
	OpcodeStatus Opcode = 2
	OpcodeNotify Opcode = 4 // RFC 1996
	OpcodeUpdate Opcode = 5 // RFC 2136
)

func (o Opcode) String() string {
	switch o {
	case OpcodeQuery:
		return "QUERY"
	case OpcodeIQuery:
		return "IQUERY"
	case OpcodeStatus:
		return "STATUS"
	case OpcodeNotify:
		return "NOTIFY"
	case OpcodeUpdate:
		return "UPDATE"
	}
	return "OPCODE" + strconv.Itoa(int(o))
}

// An RCode is a response code: the header's four bits, extended to twelve
// by the OPT record (RFC 6891 §6.1.3). A reply's RCode is the error a
// client reports; RCode implements error for that reason.
type RCode uint16

// Response codes.
const (
	RCodeSuccess        RCode = 0  // NOERROR
	RCodeFormatError    RCode = 1  // FORMERR
	RCodeServerFailure  RCode = 2  // SERVFAIL
	RCodeNameError      RCode = 3  // NXDOMAIN
	RCodeNotImplemented RCode = 4  // NOTIMP
	RCodeRefused        RCode = 5  // REFUSED
	RCodeYXDomain       RCode = 6  // RFC 2136
	RCodeYXRRSet        RCode = 7  // RFC 2136
	RCodeNXRRSet        RCode = 8  // RFC 2136
	RCodeNotAuth        RCode = 9  // RFC 2136
	RCodeNotZone        RCode = 10 // RFC 2136
	RCodeBadVersion     RCode = 16 // BADVERS, RFC 6891
	RCodeBadCookie      RCode = 23 // BADCOOKIE, RFC 7873: ask again with the server cookie sent
)

var rcodeNames = [...]string{
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
}

func (r RCode) String() string {
	if int(r) < len(rcodeNames) {
		return rcodeNames[r]
	}
	switch r {
	case RCodeBadVersion:
		return "BADVERS"
	case RCodeBadCookie:
		return "BADCOOKIE"
	}
	return "RCODE" + strconv.Itoa(int(r))
}

// Error makes an RCode usable as an error: "dns: NXDOMAIN".
func (r RCode) Error() string { return "dns: " + r.String() }
