package message

import (
	"errors"
	"fmt"
	"strings"
)

// An Address is one mailbox of RFC 5322 §3.4: an optional display name
// (decoded from RFC 2047 into UTF-8) and the addr-spec local@domain.
//
// Group, when not empty, is the display name of the group (§3.4
// "group") the mailbox was listed in. An empty group such as
// "undisclosed-recipients:;" is one Address with only Group set. IMAP's
// ENVELOPE needs exactly this to write group start and end markers.
//
// RawName and RawGroup are the display name and the group's name as
// written, before RFC 2047 decoding: their words joined by single spaces,
// quoted strings unquoted, encoded words left as they are. ENVELOPE
// carries names so; the client decodes them.
type Address struct {
	Name     string
	RawName  string
	Local    string
	Domain   string
	Group    string
	RawGroup string
}

// Addr returns the addr-spec "local@domain", quoting the local part if
// it is not a dot-atom.
func (a Address) Addr() string {
	if a.Local == "" && a.Domain == "" {
		return ""
	}
	l := a.Local
	if !IsDotAtom(l) {
		l = quoteString(l)
	}
	if a.Domain == "" {
		return l
	}
	return l + "@" + a.Domain
}

// String formats the address as it is written in a header field:
// "Alice <alice@crepes.fr>", or just "alice@crepes.fr" without a name.
// Names that need it are quoted or RFC 2047 encoded.
func (a Address) String() string {
	if a.Name == "" {
		return a.Addr()
	}
	return formatPhrase(a.Name) + " <" + a.Addr() + ">"
}

// formatPhrase writes a display name as atoms, a quoted string or encoded
// words.
func formatPhrase(s string) string {
	if needsEncoding(s) {
		return EncodeWord(s)
	}
	for _, w := range strings.Fields(s) {
		if !isAtom(w) {
			return quoteString(s)
		}
	}
	if strings.Join(strings.Fields(s), " ") != s {
		return quoteString(s)
	}
	return s
}

func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// FormatAddressList writes addresses as an address-list, groups included.
func FormatAddressList(list []Address) string {
	var parts []string
	for i := 0; i < len(list); i++ {
		a := list[i]
		if a.Group == "" {
			parts = append(parts, a.String())
			continue
		}
		var members []string
		g := a.Group
		for ; i < len(list) && list[i].Group == g; i++ {
			m := list[i]
			m.Group = ""
			if m.Local != "" || m.Domain != "" {
				members = append(members, m.String())
			}
		}
		i--
		parts = append(parts, formatPhrase(g)+": "+strings.Join(members, ", ")+";")
	}
	return strings.Join(parts, ", ")
}

// isAtext reports whether c is an RFC 5322 atext character. Octets ≥ 0x80
// are allowed, as RFC 6532 (internationalised mail) does.
func isAtext(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c >= 0x80 {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) {
			return false
		}
	}
	return true
}

// IsDotAtom reports whether s is a dot-atom (RFC 5322 §3.2.3): atoms
// joined by single dots, the form a local part may take unquoted. It is
// also RFC 5321's Dot-string, so package smtp checks envelope paths
// with it. Octets ≥ 0x80 are allowed, as RFC 6532 does.
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) {
			return false
		}
	}
	return true
}

// ErrAddress is wrapped by every address parsing error.
var ErrAddress = errors.New("message: malformed address")

// maxAddressInput bounds the input the address parser accepts.
const maxAddressInput = 64 << 10

// maxCommentDepth bounds nested comments.
const maxCommentDepth = 32

// ParseAddress parses one mailbox ("Bob <bob@hamburger.edu>" or
// "bob@hamburger.edu").
func ParseAddress(s string) (Address, error) {
	list, err := ParseAddressList(s)
	if err != nil {
		return Address{}, err
	}
	if len(list) != 1 || list[0].Group != "" {
		return Address{}, fmt.Errorf("%w: %q: want one mailbox", ErrAddress, s)
	}
	return list[0], nil
}

// ParseAddressList parses an RFC 5322 §3.4 address-list: mailboxes and
// groups separated by commas, with comments, quoted strings, obsolete
// routes and empty list elements (§4.4) accepted. Display names are
// decoded from RFC 2047.
func ParseAddressList(s string) ([]Address, error) {
	if len(s) > maxAddressInput {
		return nil, fmt.Errorf("%w: address list longer than %d octets", ErrAddress, maxAddressInput)
	}
	p := addrParser{s: s}
	var list []Address
	for {
		p.skipCFWS()
		if p.err != nil {
			return nil, p.err
		}
		if p.eof() {
			break
		}
		if p.peek() == ',' {
			p.i++
			continue
		}
		got, err := p.addressOrGroup()
		if err != nil {
			return nil, err
		}
		list = append(list, got...)
		p.skipCFWS()
		if p.err != nil {
			return nil, p.err
		}
		if p.eof() {
			break
		}
		if p.peek() != ',' {
			return nil, p.errorf("expected ',' or end")
		}
		p.i++
	}
	return list, nil
}

type addrParser struct {
	s   string
	i   int
	err error
}

func (p *addrParser) eof() bool  { return p.i >= len(p.s) }
func (p *addrParser) peek() byte { return p.s[p.i] }

func (p *addrParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %q at %d: %s", ErrAddress, p.s, p.i, fmt.Sprintf(format, args...))
}

// skipCFWS skips folding whitespace and comments.
func (p *addrParser) skipCFWS() {
	for !p.eof() {
		switch c := p.peek(); {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
		case c == '(':
			p.skipComment()
			if p.err != nil {
				return
			}
		default:
			return
		}
	}
}

func (p *addrParser) skipComment() {
	depth := 0
	for !p.eof() {
		c := p.peek()
		p.i++
		switch c {
		case '\\':
			if !p.eof() {
				p.i++
			}
		case '(':
			depth++
			if depth > maxCommentDepth {
				p.err = p.errorf("comments nested too deep")
				return
			}
		case ')':
			depth--
			if depth == 0 {
				return
			}
		}
	}
	p.err = p.errorf("unterminated comment")
}

// word is an atom or a quoted string; quoted reports which.
type word struct {
	text   string
	quoted bool
}

// words reads a phrase: atoms (dots allowed, as obs-phrase does) and
// quoted strings, stopping at a special.
func (p *addrParser) words() ([]word, error) {
	var ws []word
	for {
		p.skipCFWS()
		if p.err != nil {
			return nil, p.err
		}
		if p.eof() {
			return ws, nil
		}
		c := p.peek()
		switch {
		case c == '"':
			q, err := p.quoted()
			if err != nil {
				return nil, err
			}
			ws = append(ws, word{q, true})
		case isAtext(c) || c == '.':
			start := p.i
			for !p.eof() && (isAtext(p.peek()) || p.peek() == '.') {
				p.i++
			}
			ws = append(ws, word{p.s[start:p.i], false})
		default:
			return ws, nil
		}
	}
}

func (p *addrParser) quoted() (string, error) {
	p.i++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.peek()
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", p.errorf("unterminated quoted string")
			}
			b.WriteByte(p.peek())
			p.i++
		case '\r', '\n':
			// folding inside a quoted string: drop the line break
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errorf("unterminated quoted string")
}

// phraseText joins a phrase's words with single spaces and decodes
// encoded words in its atoms.
func phraseText(ws []word) string {
	var b strings.Builder
	prevEncoded := false
	for i, w := range ws {
		text := w.text
		encoded := false
		if !w.quoted {
			if d, ok, _ := decodeWord(text); ok {
				text, encoded = d, true
			}
		}
		if i > 0 && !(encoded && prevEncoded) {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		prevEncoded = encoded
	}
	return b.String()
}

// phraseRaw joins a phrase's words with single spaces, decoding nothing.
func phraseRaw(ws []word) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.text)
	}
	return b.String()
}

// addressOrGroup parses a mailbox or a group.
func (p *addrParser) addressOrGroup() ([]Address, error) {
	start := p.i
	ws, err := p.words()
	if err != nil {
		return nil, err
	}
	if p.eof() || p.peek() == ',' {
		// A bare addr-spec without domain, or a phrase alone.
		return nil, p.errorf("missing @domain")
	}
	switch p.peek() {
	case ':': // group
		if len(ws) == 0 {
			return nil, p.errorf("group without a name")
		}
		name, raw := phraseText(ws), phraseRaw(ws)
		if name == "" {
			return nil, p.errorf("group without a name")
		}
		p.i++
		var members []Address
		for {
			p.skipCFWS()
			if p.err != nil {
				return nil, p.err
			}
			if p.eof() {
				break // tolerate a missing ';'
			}
			switch p.peek() {
			case ';':
				p.i++
				if len(members) == 0 {
					members = append(members, Address{Group: name, RawGroup: raw})
				}
				return members, nil
			case ',':
				p.i++
				continue
			}
			m, err := p.mailbox()
			if err != nil {
				return nil, err
			}
			m.Group, m.RawGroup = name, raw
			members = append(members, m)
		}
		if len(members) == 0 {
			members = append(members, Address{Group: name, RawGroup: raw})
		}
		return members, nil
	}
	p.i = start
	m, err := p.mailbox()
	if err != nil {
		return nil, err
	}
	return []Address{m}, nil
}

// mailbox parses name-addr or addr-spec.
func (p *addrParser) mailbox() (Address, error) {
	start := p.i
	ws, err := p.words()
	if err != nil {
		return Address{}, err
	}
	if !p.eof() && p.peek() == '<' {
		p.i++
		a, err := p.angleAddr()
		if err != nil {
			return Address{}, err
		}
		a.Name = phraseText(ws)
		a.RawName = phraseRaw(ws)
		return a, nil
	}
	p.i = start
	a, err := p.addrSpec()
	if err != nil {
		return Address{}, err
	}
	// A trailing comment is, by custom, the display name: "bob@x (Bob)".
	return a, nil
}

// angleAddr parses what follows '<': [obs-route] addr-spec '>'.
func (p *addrParser) angleAddr() (Address, error) {
	p.skipCFWS()
	if !p.eof() && p.peek() == '@' { // obs-route: @a,@b:
		for !p.eof() && p.peek() != ':' {
			if p.peek() == '>' {
				return Address{}, p.errorf("bad route")
			}
			p.i++
		}
		if p.eof() {
			return Address{}, p.errorf("unterminated route")
		}
		p.i++
	}
	a, err := p.addrSpec()
	if err != nil {
		return Address{}, err
	}
	p.skipCFWS()
	if p.err != nil {
		return Address{}, p.err
	}
	if p.eof() || p.peek() != '>' {
		return Address{}, p.errorf("expected '>'")
	}
	p.i++
	return a, nil
}

// addrSpec parses local-part "@" domain.
func (p *addrParser) addrSpec() (Address, error) {
	local, err := p.dotWords("local part", true)
	if err != nil {
		return Address{}, err
	}
	if p.eof() || p.peek() != '@' {
		return Address{}, p.errorf("missing @domain")
	}
	p.i++
	p.skipCFWS()
	if p.eof() {
		return Address{}, p.errorf("missing domain")
	}
	var domain string
	if p.peek() == '[' {
		start := p.i
		for !p.eof() && p.peek() != ']' {
			if p.peek() == '[' && p.i != start || p.peek() == '\\' {
				return Address{}, p.errorf("bad domain literal")
			}
			p.i++
		}
		if p.eof() {
			return Address{}, p.errorf("unterminated domain literal")
		}
		p.i++
		domain = p.s[start:p.i]
	} else if domain, err = p.dotWords("domain", false); err != nil {
		return Address{}, err
	}
	return Address{Local: local, Domain: domain}, nil
}

// dotWords reads atoms joined by dots, with comments and white space
// around each (RFC 5322 §3.4.1 with the obsolete forms of §4.4): a
// domain, or a local part, where quoted strings may stand for atoms.
func (p *addrParser) dotWords(what string, quoted bool) (string, error) {
	var b strings.Builder
	for {
		p.skipCFWS()
		if p.err != nil {
			return "", p.err
		}
		if p.eof() {
			return "", p.errorf("missing %s", what)
		}
		if quoted && p.peek() == '"' {
			q, err := p.quoted()
			if err != nil {
				return "", err
			}
			b.WriteString(q)
		} else {
			start := p.i
			for !p.eof() && isAtext(p.peek()) {
				p.i++
			}
			if p.i == start {
				return "", p.errorf("bad %s", what)
			}
			b.WriteString(p.s[start:p.i])
		}
		p.skipCFWS()
		if p.eof() || p.peek() != '.' {
			return b.String(), nil
		}
		p.i++
		b.WriteByte('.')
	}
}
