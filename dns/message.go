package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The Header starts every message, query or reply (RFC 1035 §4.1.1): the
// identification that matches a reply to its query, and the flags.
type Header struct {
	ID                 uint16
	Response           bool   // QR: a reply, not a query
	Opcode             Opcode // what kind of query
	Authoritative      bool   // AA: the answer comes from the zone's own server
	Truncated          bool   // TC: the reply did not fit; ask again over TCP
	RecursionDesired   bool   // RD: the client asks the server to recurse
	RecursionAvailable bool   // RA: the server would recurse
	Zero               bool   // Z: reserved, must be zero
	AuthenticData      bool   // AD (RFC 4035)
	CheckingDisabled   bool   // CD (RFC 4035)
	// RCode is the response code, all twelve bits: its upper eight travel
	// in the OPT record (EDNS), so a message with RCode > 15 needs EDNS.
	RCode RCode
}

// flags packs the header's second 16-bit word (without the RCode's upper
// bits).
func (h *Header) flags() uint16 {
	f := uint16(h.Opcode&0xF)<<11 | uint16(h.RCode&0xF)
	set := func(b bool, bit uint16) {
		if b {
			f |= bit
		}
	}
	set(h.Response, 1<<15)
	set(h.Authoritative, 1<<10)
	set(h.Truncated, 1<<9)
	set(h.RecursionDesired, 1<<8)
	set(h.RecursionAvailable, 1<<7)
	set(h.Zero, 1<<6)
	set(h.AuthenticData, 1<<5)
	set(h.CheckingDisabled, 1<<4)
	return f
}

func (h *Header) setFlags(f uint16) {
	h.Response = f&(1<<15) != 0
	h.Opcode = Opcode(f>>11) & 0xF
	h.Authoritative = f&(1<<10) != 0
	h.Truncated = f&(1<<9) != 0
	h.RecursionDesired = f&(1<<8) != 0
	h.RecursionAvailable = f&(1<<7) != 0
	h.Zero = f&(1<<6) != 0
	h.AuthenticData = f&(1<<5) != 0
	h.CheckingDisabled = f&(1<<4) != 0
	h.RCode = RCode(f & 0xF)
}

// A Question asks for the records of one type at one name.
type Question struct {
	Name  Name
	Type  Type
	Class Class
}

func (q Question) String() string {
	return q.Name.String() + "\t" + q.Class.String() + "\t" + q.Type.String()
}

// An RR is a resource record (RFC 1035 §3.2.1): (name, value, type, TTL),
// the type being the Data's.
type RR struct {
	Name  Name
	Class Class
	TTL   uint32 // seconds a cache may keep it
	Data  RData
}

// Type is the record's type, taken from its data.
func (r RR) Type() Type {
	if r.Data == nil {
		return 0
	}
	return r.Data.Type()
}

// String is the record in presentation form, one zone file line.
func (r RR) String() string {
	data := ""
	if r.Data != nil {
		data = r.Data.String()
	}
	return r.Name.String() + "\t" + strconv.FormatUint(uint64(r.TTL), 10) + "\t" +
		r.Class.String() + "\t" + r.Type().String() + "\t" + data
}

// EDNS is the content of the OPT pseudo-record (RFC 6891): the sender's
// UDP payload size, the EDNS version, the DO flag and options. Options of
// codes this package does not know are kept as they came and otherwise
// ignored.
type EDNS struct {
	UDPSize  uint16 // largest UDP reply the sender can take
	Version  uint8
	DNSSECOK bool // DO (RFC 3225)
	Options  []Option
}

// An Option is one EDNS option, as code and data.
type Option struct {
	Code uint16
	Data []byte
}

// A Message is a DNS query or reply: both share this format (RFC 1035 §4).
// The OPT pseudo-record of the additional section is kept apart, in EDNS.
type Message struct {
	Header
	Questions   []Question
	Answers     []RR // RRs answering the question
	Authorities []RR // RRs pointing toward an authority
	Additionals []RR // RRs holding additional information, without OPT
	EDNS        *EDNS
}

// A Section names a part of a message.
type Section uint8

// The message's sections, in wire order.
const (
	SectionQuestion Section = iota
	SectionAnswer
	SectionAuthority
	SectionAdditional
)

func (s Section) String() string {
	switch s {
	case SectionQuestion:
		return "question"
	case SectionAnswer:
		return "answer"
	case SectionAuthority:
		return "authority"
	case SectionAdditional:
		return "additional"
	}
	return "section" + strconv.Itoa(int(s))
}

// HeaderLen is the size of the fixed header.
const HeaderLen = 12

// Pack returns m in wire form.
func (m *Message) Pack() ([]byte, error) {
	return m.AppendPack(make([]byte, 0, 512))
}

// AppendPack appends m in wire form to b, compressing names, and returns
// the extended buffer. The message starts at len(b), so a caller can put a
// TCP length prefix in front.
func (m *Message) AppendPack(b []byte) ([]byte, error) {
	b, _, err := m.appendPack(b, 0, nil)
	return b, err
}

// ErrMalformed is matched (with errors.Is) by every error from parsing a
// message that breaks the format; a server answers those with FORMERR.
var ErrMalformed = errors.New("dns: malformed message")

// A ParseError tells what could not be parsed, and where.
type ParseError struct {
	Section Section
	Off     int // offset in the message
	Err     error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("dns: malformed message: %s section at offset %d: %v", e.Section, e.Off, e.Err)
}
func (e *ParseError) Unwrap() error        { return e.Err }
func (e *ParseError) Is(target error) bool { return target == ErrMalformed }

// appendPack appends m; if limit > 0 and the message would be longer than
// limit octets, it drops what does not fit: additional records quietly (RFC
// 2181 §9), otherwise everything after the question, and sets TC. It
// reports whether the reply was truncated. c may be a caller's reusable
// compressor.
func (m *Message) appendPack(b []byte, limit int, c *compressor) ([]byte, bool, error) {
	if m.RCode > 0xF && m.EDNS == nil {
		return b, false, fmt.Errorf("dns: pack: rcode %s needs EDNS", m.RCode.String())
	}
	if m.RCode > 0xFFF {
		return b, false, fmt.Errorf("dns: pack: rcode %d out of range", m.RCode)
	}
	for _, n := range [...]int{len(m.Questions), len(m.Answers), len(m.Authorities), len(m.Additionals)} {
		if n > 0xFFFF {
			return b, false, errors.New("dns: pack: too many records")
		}
	}
	if c == nil {
		c = new(compressor)
	}
	c.base, c.k = len(b), 0
	base := len(b)
	b = binary.BigEndian.AppendUint16(b, m.ID)
	b = binary.BigEndian.AppendUint16(b, m.flags())
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.Questions)))
	b = append(b, 0, 0, 0, 0, 0, 0) // the other counts, set below
	for _, q := range m.Questions {
		b = appendName(b, q.Name, c)
		b = binary.BigEndian.AppendUint16(b, uint16(q.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(q.Class))
	}
	optLen := 0
	if m.EDNS != nil {
		optLen = 11
		for _, o := range m.EDNS.Options {
			optLen += 4 + len(o.Data)
		}
	}
	afterQuestion, kAfterQuestion := len(b), c.k
	var err error
	counts := [3]int{}
	truncated := false
sections:
	for i, sec := range [...][]RR{m.Answers, m.Authorities, m.Additionals} {
		for _, rr := range sec {
			mark, k := len(b), c.k
			if b, err = appendRR(b, rr, c); err != nil {
				return b[:base], false, err
			}
			if limit > 0 && len(b)-base+optLen > limit {
				b, c.k = b[:mark], k
				if i < 2 {
					b, c.k = b[:afterQuestion], kAfterQuestion
					counts = [3]int{}
					truncated = true
				}
				break sections
			}
			counts[i]++
		}
	}
	if m.EDNS != nil {
		if b, err = appendOPT(b, m.EDNS, m.RCode); err != nil {
			return b[:base], false, err
		}
		counts[2]++
	}
	h := b[base:]
	binary.BigEndian.PutUint16(h[6:], uint16(counts[0]))
	binary.BigEndian.PutUint16(h[8:], uint16(counts[1]))
	binary.BigEndian.PutUint16(h[10:], uint16(counts[2]))
	if truncated {
		h[2] |= 1 << 1 // TC
	}
	return b, truncated, nil
}

func appendRR(b []byte, rr RR, c *compressor) ([]byte, error) {
	if rr.Data == nil {
		return b, errors.New("dns: pack: record without data")
	}
	b = appendName(b, rr.Name, c)
	b = binary.BigEndian.AppendUint16(b, uint16(rr.Data.Type()))
	b = binary.BigEndian.AppendUint16(b, uint16(rr.Class))
	b = binary.BigEndian.AppendUint32(b, rr.TTL)
	lenAt := len(b)
	b = append(b, 0, 0)
	b, err := rr.Data.appendRData(b, c)
	if err != nil {
		return b, fmt.Errorf("dns: pack %s %s: %w", rr.Name, rr.Data.Type(), err)
	}
	n := len(b) - lenAt - 2
	if n > 0xFFFF {
		return b, fmt.Errorf("dns: pack %s: data too long", rr.Name)
	}
	binary.BigEndian.PutUint16(b[lenAt:], uint16(n))
	return b, nil
}

func appendOPT(b []byte, e *EDNS, rc RCode) ([]byte, error) {
	b = append(b, 0) // root owner
	b = binary.BigEndian.AppendUint16(b, uint16(TypeOPT))
	b = binary.BigEndian.AppendUint16(b, e.UDPSize)
	ttl := uint32(rc>>4)<<24 | uint32(e.Version)<<16
	if e.DNSSECOK {
		ttl |= 1 << 15
	}
	b = binary.BigEndian.AppendUint32(b, ttl)
	lenAt := len(b)
	b = append(b, 0, 0)
	for _, o := range e.Options {
		if len(o.Data) > 0xFFFF {
			return b, errors.New("dns: pack: EDNS option too long")
		}
		b = binary.BigEndian.AppendUint16(b, o.Code)
		b = binary.BigEndian.AppendUint16(b, uint16(len(o.Data)))
		b = append(b, o.Data...)
	}
	if len(b)-lenAt-2 > 0xFFFF {
		return b, errors.New("dns: pack: EDNS options too long")
	}
	binary.BigEndian.PutUint16(b[lenAt:], uint16(len(b)-lenAt-2))
	return b, nil
}

// A Parser reads a message section by section without building a Message,
// so a server can look at the header and question without allocating.
// Start it with Start; then call Question until it reports false, then
// Next for each record, and Data or Raw for the record Next returned.
type Parser struct {
	msg     []byte
	off     int
	counts  [4]uint16
	section Section
	left    int // records left in section
	dataOff int // current record's data
	dataEnd int
	curType Type // of the record Next returned
}

// An RRHeader is a record without its data.
type RRHeader struct {
	Name   Name
	Type   Type
	Class  Class
	TTL    uint32
	Length uint16
}

// Start begins parsing msg and returns its header. The RCode holds the
// header's four bits only: EDNS's upper bits come with the OPT record.
func (p *Parser) Start(msg []byte) (Header, error) {
	*p = Parser{msg: msg}
	var h Header
	if len(msg) < HeaderLen {
		return h, &ParseError{SectionQuestion, 0, errors.New("shorter than a header")}
	}
	h.ID = binary.BigEndian.Uint16(msg)
	h.setFlags(binary.BigEndian.Uint16(msg[2:]))
	for i := range p.counts {
		p.counts[i] = binary.BigEndian.Uint16(msg[4+2*i:])
	}
	p.off = HeaderLen
	p.section = SectionQuestion
	p.left = int(p.counts[0])
	p.dataOff, p.dataEnd = -1, -1
	return h, nil
}

// Count is the number of entries the header announces for section s.
func (p *Parser) Count(s Section) int { return int(p.counts[s]) }

// Question returns the next question; ok is false when there are no more.
func (p *Parser) Question() (q Question, ok bool, err error) {
	if p.section != SectionQuestion || p.left == 0 {
		return q, false, nil
	}
	off, err := parseNameInto(&q.Name, p.msg, p.off)
	if err != nil {
		return Question{}, false, &ParseError{SectionQuestion, p.off, err}
	}
	if off+4 > len(p.msg) {
		return Question{}, false, &ParseError{SectionQuestion, off, errShort}
	}
	q.Type = Type(binary.BigEndian.Uint16(p.msg[off:]))
	q.Class = Class(binary.BigEndian.Uint16(p.msg[off+2:]))
	p.off = off + 4
	p.left--
	return q, true, nil
}

var (
	errShort        = errors.New("message ends early")
	errBadOption    = errors.New("EDNS option runs past the OPT record")
	errMisplacedOPT = errors.New("OPT record outside the additional section, not at the root, or twice")
)

// Next returns the header of the next record in the answer, authority or
// additional section and the section it is in; ok is false at the end.
// Any questions not yet read are skipped.
func (p *Parser) Next() (h RRHeader, sec Section, ok bool, err error) {
	for p.section == SectionQuestion && p.left > 0 {
		if _, _, err := p.Question(); err != nil {
			return h, 0, false, err
		}
	}
	if p.dataEnd >= 0 {
		p.off = p.dataEnd
		p.dataOff, p.dataEnd = -1, -1
	}
	for p.left == 0 {
		if p.section == SectionAdditional {
			return h, 0, false, nil
		}
		p.section++
		p.left = int(p.counts[p.section])
	}
	off, err := parseNameInto(&h.Name, p.msg, p.off)
	if err != nil {
		return RRHeader{}, 0, false, &ParseError{p.section, p.off, err}
	}
	if off+10 > len(p.msg) {
		return RRHeader{}, 0, false, &ParseError{p.section, off, errShort}
	}
	be := binary.BigEndian
	h.Type, h.Class = Type(be.Uint16(p.msg[off:])), Class(be.Uint16(p.msg[off+2:]))
	h.TTL, h.Length = be.Uint32(p.msg[off+4:]), be.Uint16(p.msg[off+8:])
	off += 10
	if off+int(h.Length) > len(p.msg) {
		return h, 0, false, &ParseError{p.section, off, errRDataLen}
	}
	p.dataOff, p.dataEnd = off, off+int(h.Length)
	p.left--
	p.curType = h.Type
	return h, p.section, true, nil
}

// Data parses the data of the record Next returned.
func (p *Parser) Data() (RData, error) {
	if p.dataOff < 0 {
		return nil, errors.New("dns: Data called without a record")
	}
	d, err := parseRData(p.curType, p.msg, p.dataOff, p.dataEnd)
	if err != nil {
		return nil, &ParseError{p.section, p.dataOff, err}
	}
	return d, nil
}

// Raw returns the wire form of the data of the record Next returned; it
// shares memory with the message.
func (p *Parser) Raw() []byte {
	if p.dataOff < 0 {
		return nil
	}
	return p.msg[p.dataOff:p.dataEnd]
}

// Offset is where the parser stands in the message: after the last
// question or record read (and its data, once Next moves on).
func (p *Parser) Offset() int { return max(p.off, p.dataEnd) }

// Unpack parses msg into m, replacing its content. The slices of m are
// reused, so a server can parse query after query into one Message. Data
// is copied: m does not keep msg.
func (m *Message) Unpack(msg []byte) error {
	var p Parser
	return m.unpack(&p, msg, nil)
}

// unpack parses msg with p. With scratch, the OPT record is read into it
// (reusing its option slice, whose data then share msg's memory) instead of
// a new EDNS: the server's path that allocates nothing.
func (m *Message) unpack(p *Parser, msg []byte, scratch *EDNS) error {
	h, err := p.Start(msg)
	if err != nil {
		return err
	}
	m.Header = h
	// Size the sections from the header's counts, each bounded by what
	// the message could hold (a question takes 5 octets at least, a
	// record 11), so a lying header cannot make us allocate much.
	room := (len(msg) - HeaderLen) / 11
	m.Questions = slices.Grow(m.Questions[:0], min(p.Count(SectionQuestion), (len(msg)-HeaderLen)/5))
	na, ns, nd := min(p.Count(SectionAnswer), room), min(p.Count(SectionAuthority), room), min(p.Count(SectionAdditional), room)
	if cap(m.Answers) == 0 && cap(m.Authorities) == 0 && cap(m.Additionals) == 0 {
		// One allocation for the three sections.
		all := make([]RR, 0, min(na+ns+nd, room))
		na = min(na, cap(all))
		ns = min(ns, cap(all)-na)
		m.Answers = all[0:0:na]
		m.Authorities = all[na : na : na+ns]
		m.Additionals = all[na+ns : na+ns : cap(all)]
	} else {
		m.Answers = slices.Grow(m.Answers[:0], na)
		m.Authorities = slices.Grow(m.Authorities[:0], ns)
		m.Additionals = slices.Grow(m.Additionals[:0], nd)
	}
	var slab addrSlab
	m.EDNS = nil
	for {
		q, ok, err := p.Question()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		m.Questions = append(m.Questions, q)
	}
	for {
		rh, sec, ok, err := p.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if rh.Type == TypeOPT {
			if sec != SectionAdditional || m.EDNS != nil || !rh.Name.IsRoot() {
				return &ParseError{sec, p.dataOff, errMisplacedOPT}
			}
			var e *EDNS
			var rc RCode
			if scratch != nil {
				*scratch = EDNS{UDPSize: uint16(rh.Class), Version: uint8(rh.TTL >> 16), DNSSECOK: rh.TTL&(1<<15) != 0, Options: scratch.Options[:0]}
				scratch.Options, err = appendOptions(scratch.Options, p.Raw(), false)
				e, rc = scratch, RCode(rh.TTL>>24)<<4
			} else {
				e, rc, err = parseOPT(rh, p.Raw(), true)
			}
			if err != nil {
				return &ParseError{sec, p.dataOff, err}
			}
			m.EDNS = e
			m.RCode |= rc
			continue
		}
		var d RData
		switch {
		case rh.Type == TypeA && rh.Length == 4 && rh.Class == ClassINET:
			d = slab.a(p.Raw(), p.left+1)
		case rh.Type == TypeAAAA && rh.Length == 16 && rh.Class == ClassINET:
			d = slab.aaaa(p.Raw(), p.left+1)
		case rh.Length == 0 && (rh.Class == ClassANY || rh.Class == ClassNONE):
			// RFC 2136's "delete an RRset" and prerequisites carry a
			// type with no data: kept as empty opaque data of that type.
			d = &Unknown{T: rh.Type}
		default:
			if d, err = p.Data(); err != nil {
				return err
			}
		}
		rr := RR{Name: rh.Name, Class: rh.Class, TTL: rh.TTL, Data: d}
		switch sec {
		case SectionAnswer:
			m.Answers = append(m.Answers, rr)
		case SectionAuthority:
			m.Authorities = append(m.Authorities, rr)
		default:
			m.Additionals = append(m.Additionals, rr)
		}
	}
	// Octets after the last record are ignored, as most servers do.
	return nil
}

// An addrSlab hands out A and AAAA records from one allocation per
// message instead of one per record.
type addrSlab struct {
	as    []A
	aaaas []AAAA
}

// a returns an A record for the 4 octets in d; left bounds how many more
// A records this message can still hold in this section.
func (s *addrSlab) a(d []byte, left int) *A {
	if len(s.as) == 0 {
		s.as = make([]A, min(left, 64))
	}
	r := &s.as[0]
	s.as = s.as[1:]
	r.Addr = netip.AddrFrom4([4]byte(d))
	return r
}

func (s *addrSlab) aaaa(d []byte, left int) *AAAA {
	if len(s.aaaas) == 0 {
		s.aaaas = make([]AAAA, min(left, 64))
	}
	r := &s.aaaas[0]
	s.aaaas = s.aaaas[1:]
	r.Addr = netip.AddrFrom16([16]byte(d))
	return r
}

// parseOPT reads an OPT record's fields; it returns the RCode's upper bits
// shifted into place. With copyData, option data is copied out of raw.
func parseOPT(h RRHeader, raw []byte, copyData bool) (*EDNS, RCode, error) {
	e := &EDNS{UDPSize: uint16(h.Class), Version: uint8(h.TTL >> 16), DNSSECOK: h.TTL&(1<<15) != 0}
	opts, err := appendOptions(e.Options, raw, copyData)
	e.Options = opts
	return e, RCode(h.TTL>>24) << 4, err
}

func appendOptions(opts []Option, raw []byte, copyData bool) ([]Option, error) {
	for i := 0; i < len(raw); {
		if i+4 > len(raw) {
			return opts, errBadOption
		}
		code := binary.BigEndian.Uint16(raw[i:])
		l := int(binary.BigEndian.Uint16(raw[i+2:]))
		if i+4+l > len(raw) {
			return opts, errBadOption
		}
		d := raw[i+4 : i+4+l]
		if copyData {
			d = append([]byte(nil), d...)
		}
		opts = append(opts, Option{code, d})
		i += 4 + l
	}
	return opts, nil
}

// optionString prints an EDNS option as dig does: the options this
// package knows by name ("; CLIENT-SUBNET: 10.1.2.0/24/0", "; COOKIE:
// <hex>"), others by code with their data in hex.
func optionString(o Option) string {
	switch o.Code {
	case OptionClientSubnet:
		if cs, err := ParseClientSubnet(o.Data); err == nil {
			return "; CLIENT-SUBNET: " + cs.String() + "\n"
		}
	case OptionCookie:
		if c, err := ParseCookie(o.Data); err == nil {
			return "; COOKIE: " + c.String() + "\n"
		}
	}
	return fmt.Sprintf("; OPTION %d: %x\n", o.Code, o.Data)
}

// String prints m the way dig does: header, flags, then each section.
func (m *Message) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, ";; ->>HEADER<<- opcode: %s, status: %s, id: %d\n", m.Opcode, m.RCode.String(), m.ID)
	fmt.Fprintf(&sb, ";; flags:%s; QUERY: %d, ANSWER: %d, AUTHORITY: %d, ADDITIONAL: %d\n",
		m.flagString(), len(m.Questions), len(m.Answers), len(m.Authorities), len(m.Additionals)+btoi(m.EDNS != nil))
	if e := m.EDNS; e != nil {
		sb.WriteString("\n;; OPT PSEUDOSECTION:\n")
		fl := ""
		if e.DNSSECOK {
			fl = " do"
		}
		fmt.Fprintf(&sb, "; EDNS: version: %d, flags:%s; udp: %d\n", e.Version, fl, e.UDPSize)
		for _, o := range e.Options {
			sb.WriteString(optionString(o))
		}
	}
	if len(m.Questions) > 0 {
		sb.WriteString("\n;; QUESTION SECTION:\n")
		for _, q := range m.Questions {
			sb.WriteString(";" + q.String() + "\n")
		}
	}
	for _, s := range [...]struct {
		title string
		rrs   []RR
	}{{"ANSWER", m.Answers}, {"AUTHORITY", m.Authorities}, {"ADDITIONAL", m.Additionals}} {
		if len(s.rrs) == 0 {
			continue
		}
		sb.WriteString("\n;; " + s.title + " SECTION:\n")
		for _, rr := range s.rrs {
			sb.WriteString(rr.String() + "\n")
		}
	}
	return sb.String()
}

func (h *Header) flagString() string {
	var s string
	for _, f := range [...]struct {
		on   bool
		name string
	}{{h.Response, "qr"}, {h.Authoritative, "aa"}, {h.Truncated, "tc"}, {h.RecursionDesired, "rd"},
		{h.RecursionAvailable, "ra"}, {h.AuthenticData, "ad"}, {h.CheckingDisabled, "cd"}} {
		if f.on {
			s += " " + f.name
		}
	}
	return s
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
