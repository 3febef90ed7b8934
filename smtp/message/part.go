package message

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// A Part is one entity of a parsed message (RFC 2045 §2.4): the whole
// message at the root, then the parts of multiparts and the messages
// enclosed in message/rfc822 parts. It records where its header and body
// lie in the raw message, so a reader such as an IMAP server can serve
// BODY[1.2.MIME] or BODY[2.HEADER] by slicing the stored message, and
// everything IMAP's BODYSTRUCTURE reports.
type Part struct {
	Header Header

	// Type and Subtype are lowercased ("text", "plain"); Params holds the
	// Content-Type parameters with lowercased names. Without a valid
	// Content-Type they are text/plain; charset=us-ascii (RFC 2045 §5.2),
	// or message/rfc822 inside multipart/digest (RFC 2046 §5.1.5).
	Type, Subtype string
	Params        map[string]string

	// RawType and RawSubtype are the type and subtype as the Content-Type
	// field writes them ("Text", "PLAIN"), or the defaults above, and
	// ParamList its parameters as written, in order, RFC 2231 encoding
	// and all (see Param), without the default charset. IMAP's
	// BODYSTRUCTURE reports them so.
	RawType, RawSubtype string
	ParamList           []Param

	Encoding    string // Content-Transfer-Encoding, lowercased; "7bit" if absent
	ID          string // Content-ID, as written (with its angle brackets)
	Description string // Content-Description, RFC 2047 decoded
	MD5         string // Content-MD5

	// Disposition is the lowercased Content-Disposition ("inline",
	// "attachment", "" if absent) and DispositionParams its parameters.
	Disposition       string
	DispositionParams map[string]string
	// RawDisposition and DispositionParamList are the disposition
	// ("Attachment") and its parameters as written, in order, like
	// RawType and ParamList.
	RawDisposition       string
	DispositionParamList []Param
	Language             []string // Content-Language tags
	Location             string   // Content-Location

	// HeaderOffset and HeaderSize locate the header in the raw message,
	// including the blank line that ends it (if there is one).
	// BodyOffset and BodySize locate the body: for a part of a multipart
	// the line break before the next boundary is not part of the body
	// (RFC 2046 §5.1.1). Lines counts the body's line breaks.
	HeaderOffset, HeaderSize int64
	BodyOffset, BodySize     int64
	Lines                    int64

	// Parts holds a multipart's parts in order; Message holds the message
	// enclosed in a message/rfc822 (or message/global) part.
	Parts   []*Part
	Message *Part

	// HeaderTruncated is set when the header was larger than the parser's
	// bound: the fields past the bound are not in Header, although the
	// offsets still cover them.
	HeaderTruncated bool
}

// MediaType returns "type/subtype".
func (p *Part) MediaType() string { return p.Type + "/" + p.Subtype }

// IsMultipart reports whether the part's type is multipart. Its Parts may
// still be empty: a multipart whose boundary never appears has none.
func (p *Part) IsMultipart() bool { return p.Type == "multipart" }

// Lookup finds the part a section path names, such as 1.2 (given as 1,
// 2), following IMAP's part numbering (RFC 3501 §6.4.5, RFC 9051
// §6.4.5), the way Dovecot reads it. It returns nil if there is no such
// part.
//
//   - The empty path is the whole message (the root).
//   - A multipart's parts are numbered from 1.
//   - A part that is not a multipart has one part, number 1: itself. So
//     BODY[1] of a message that is not multipart is its body, and so is
//     BODY[1] of a whole message of type message/rfc822 (the enclosed
//     message, header and all).
//   - Past the first number, the parts of a message/rfc822 part are those
//     of the message it encloses: 2.1 is the first part of the message in
//     part 2, or its body if that message is not a multipart.
//   - The body of a whole message that is not a multipart has no parts
//     beneath it: 1.1 there names nothing.
func (p *Part) Lookup(path ...int) *Part {
	cur := p
	for i, n := range path {
		if n < 1 {
			return nil
		}
		if i > 0 && cur.Message != nil {
			cur = cur.Message
		}
		switch {
		case cur.IsMultipart() && len(cur.Parts) > 0:
			if n > len(cur.Parts) {
				return nil
			}
			cur = cur.Parts[n-1]
		case n != 1:
			return nil
		case cur == p && i > 0:
			return nil
		}
	}
	return cur
}

// Walk calls fn for p and every part beneath it, depth first, parts before
// an enclosed message's parts.
func (p *Part) Walk(fn func(*Part)) {
	fn(p)
	for _, c := range p.Parts {
		c.Walk(fn)
	}
	if p.Message != nil {
		p.Message.Walk(fn)
	}
}

// HeaderBytes returns the part's raw header (with its blank line) from
// raw, the message it was parsed from.
func (p *Part) HeaderBytes(raw []byte) []byte {
	return slice(raw, p.HeaderOffset, p.HeaderSize)
}

// BodyBytes returns the part's raw (still transfer-encoded) body from raw.
func (p *Part) BodyBytes(raw []byte) []byte {
	return slice(raw, p.BodyOffset, p.BodySize)
}

// Decode returns the part's body from raw with its transfer encoding undone.
func (p *Part) Decode(raw []byte) ([]byte, error) {
	return io.ReadAll(NewDecoder(p.Encoding, bytes.NewReader(p.BodyBytes(raw))))
}

// Text returns a text part's body from raw as UTF-8: its transfer
// encoding undone (see Decode) and its charset parameter (US-ASCII if it
// has none) converted. UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 are
// known; in any other charset it returns the octets with each run of what
// is not UTF-8 replaced by one U+FFFD, and an error wrapping ErrCharset.
// Line ends stay CRLF, as on the wire.
func (p *Part) Text(raw []byte) (string, error) {
	b, err := p.Decode(raw)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), err
	}
	charset := p.Params["charset"]
	if charset == "" {
		charset = "us-ascii"
	}
	s, err := toUTF8(charset, b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD"), err
	}
	return s, nil
}

func slice(raw []byte, off, n int64) []byte {
	if off < 0 || off > int64(len(raw)) {
		return nil
	}
	end := off + n
	if end > int64(len(raw)) {
		end = int64(len(raw))
	}
	return raw[off:end]
}

// Parser parses messages with bounds. Its zero value uses the defaults.
type Parser struct {
	MaxHeaderBytes      int // one header; default 64 KiB
	MaxTotalHeaderBytes int // all headers kept together; default 1 MiB
	MaxParts            int // parts in the tree; default 1000
	MaxDepth            int // nesting of multiparts and messages; default 32
}

// Parse parses a message held in memory with the default bounds.
func Parse(raw []byte) (*Part, error) {
	var p Parser
	return p.Parse(bytes.NewReader(raw))
}

// Parse reads a whole message from r and returns its part tree. It streams:
// besides the tree it holds one bounded header and a few kilobytes of the
// current line. Line endings may be CRLF or bare LF. It fails only when r
// fails; a malformed message still gives the best tree it can (RFC 2046 asks
// readers to be liberal), never a panic.
func (ps *Parser) Parse(r io.Reader) (*Part, error) {
	s := &scanner{
		r:        bufio.NewReaderSize(r, 4096),
		maxHdr:   orDefault(ps.MaxHeaderBytes, 64<<10),
		budget:   orDefault(ps.MaxTotalHeaderBytes, 1<<20),
		maxParts: orDefault(ps.MaxParts, 1000),
		maxDepth: orDefault(ps.MaxDepth, 32),
	}
	root := &Part{}
	_, _, err := s.entity(root, nil, 0, false)
	if err != nil {
		return nil, fmt.Errorf("message: reading: %w", err)
	}
	return root, nil
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// keepLine is how much of a body line the scanner keeps: enough to
// recognise any boundary (70 characters plus dashes and padding).
const keepLine = 1024

// line is one line of input.
type line struct {
	start       int64  // offset of its first byte
	text        []byte // its content without line ending, at most keep bytes
	length      int64  // total length including the ending
	eol         int    // length of its ending: 0 (at EOF), 1 (LF) or 2 (CRLF)
	prevEOL     int    // the ending length of the line before it
	linesBefore int64  // line endings seen before it
	long        bool   // text was cut
}

type scanner struct {
	r        *bufio.Reader
	off      int64
	lines    int64
	lastEOL  int
	maxHdr   int
	budget   int
	maxParts int
	nparts   int
	maxDepth int
	back     *line // one line pushed back
	buf      []byte
}

// next reads a line keeping at most keep bytes of it.
func (s *scanner) next(keep int) (*line, error) {
	if s.back != nil {
		l := s.back
		s.back = nil
		return l, nil
	}
	l := &line{start: s.off, prevEOL: s.lastEOL, linesBefore: s.lines}
	s.buf = s.buf[:0]
	var tail [2]byte // the line's last two bytes
	for {
		chunk, err := s.r.ReadSlice('\n')
		l.length += int64(len(chunk))
		switch n := len(chunk); {
		case n >= 2:
			tail = [2]byte{chunk[n-2], chunk[n-1]}
		case n == 1:
			tail = [2]byte{tail[1], chunk[0]}
		}
		if room := keep - len(s.buf); room > 0 {
			if len(chunk) <= room {
				s.buf = append(s.buf, chunk...)
			} else {
				s.buf = append(s.buf, chunk[:room]...)
				l.long = true
			}
		} else if len(chunk) > 0 {
			l.long = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if l.length == 0 {
				return nil, io.EOF
			}
		} else if err != nil {
			return nil, err
		}
		break
	}
	s.off += l.length
	text := s.buf
	if !l.long && len(text) > 0 && text[len(text)-1] == '\n' {
		l.eol = 1
		text = text[:len(text)-1]
		if len(text) > 0 && text[len(text)-1] == '\r' {
			l.eol = 2
			text = text[:len(text)-1]
		}
	} else if l.long && tail[1] == '\n' {
		// The ending was cut off with the rest of the line.
		l.eol = 1
		if tail[0] == '\r' {
			l.eol = 2
		}
	}
	if l.eol > 0 {
		s.lines++
	}
	s.lastEOL = l.eol
	l.text = text
	return l, nil
}

func (s *scanner) unread(l *line) { s.back = l }

// hit is a boundary line that ended an entity. The functions that scan
// return one with found = true when a boundary line stopped them, and
// found = false when the end of input (or of a header) did.
type hit struct {
	l     *line
	index int  // which boundary of the stack
	close bool // "--boundary--"
}

// isBoundary checks l against the boundary stack, innermost first.
func isBoundary(l *line, bounds []string) (h hit, found bool) {
	if l.long || len(bounds) == 0 || len(l.text) < 3 || l.text[0] != '-' || l.text[1] != '-' {
		return hit{}, false
	}
	t := l.text[2:]
	for i := len(bounds) - 1; i >= 0; i-- {
		b := bounds[i]
		if !bytes.HasPrefix(t, []byte(b)) {
			continue
		}
		rest := bytes.TrimRight(t[len(b):], " \t")
		switch string(rest) {
		case "":
			return hit{l: l, index: i}, true
		case "--":
			return hit{l: l, index: i, close: true}, true
		}
	}
	return hit{}, false
}

// entity parses a header and a body. It returns the boundary line that
// ended it and found = true, or found = false at the end of input.
func (s *scanner) entity(p *Part, bounds []string, depth int, digest bool) (end hit, found bool, err error) {
	s.nparts++
	p.HeaderOffset = s.off
	if s.back != nil {
		p.HeaderOffset = s.back.start
	}
	h, found, err := s.header(p, bounds)
	if err != nil {
		return hit{}, false, err
	}
	s.describe(p, digest)
	if found {
		// A boundary came before the header ended: the line break before
		// the boundary belongs to it, and the body is empty.
		stop := h.l.start - int64(h.l.prevEOL)
		if stop < p.HeaderOffset {
			p.HeaderOffset = stop
		}
		p.HeaderSize = stop - p.HeaderOffset
		p.BodyOffset = stop
		return h, true, nil
	}
	p.BodyOffset = s.off
	if s.back != nil {
		p.BodyOffset = s.back.start
	}
	startLines := s.lines
	if s.back != nil {
		startLines = s.back.linesBefore
	}
	boundary := p.Params["boundary"]
	switch {
	case p.Type == "multipart" && boundary != "" && len(boundary) <= 200 && depth < s.maxDepth && s.nparts < s.maxParts:
		end, found, err = s.multipart(p, append(bounds[:len(bounds):len(bounds)], boundary), depth, p.Subtype == "digest")
	case p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global") &&
		p.Encoding != "base64" && p.Encoding != "quoted-printable" && depth < s.maxDepth && s.nparts < s.maxParts:
		p.Message = &Part{}
		end, found, err = s.entity(p.Message, bounds, depth+1, false)
	default:
		end, found, err = s.skip(bounds)
	}
	if err != nil {
		return hit{}, false, err
	}
	s.finish(p, end, found, startLines)
	return end, found, nil
}

// finish sets the body's size and line count from where it ended: at
// the boundary end if found, else at the end of input.
func (s *scanner) finish(p *Part, end hit, found bool, startLines int64) {
	stop, lines := s.off, s.lines
	if found {
		stop = end.l.start - int64(end.l.prevEOL)
		lines = end.l.linesBefore
		if end.l.prevEOL > 0 {
			lines--
		}
	}
	if stop < p.BodyOffset {
		// The body is empty. If the blank line that ended the header was
		// the line break before the boundary, that break belongs to the
		// boundary (RFC 2046 §5.1.1), not to this part: the header ends
		// where it begins.
		if stop >= p.HeaderOffset && stop < p.HeaderOffset+p.HeaderSize {
			p.HeaderSize = stop - p.HeaderOffset
			p.BodyOffset = stop
		}
		stop, lines = p.BodyOffset, startLines
	}
	p.BodySize = stop - p.BodyOffset
	p.Lines = lines - startLines
	if p.Lines < 0 {
		p.Lines = 0
	}
}

// skip reads lines until a boundary of the stack (found) or the end of
// input (not found).
func (s *scanner) skip(bounds []string) (h hit, found bool, err error) {
	for {
		l, err := s.next(keepLine)
		if err == io.EOF {
			return hit{}, false, nil
		}
		if err != nil {
			return hit{}, false, err
		}
		if h, found := isBoundary(l, bounds); found {
			return h, true, nil
		}
	}
}

// multipart reads a multipart body: preamble, parts, epilogue. Like
// skip, it returns the outer boundary that ended it, if one did.
func (s *scanner) multipart(p *Part, bounds []string, depth int, digest bool) (h hit, found bool, err error) {
	own := len(bounds) - 1
	// Preamble.
	h, found, err = s.skip(bounds)
	for err == nil && found && h.index == own && !h.close {
		if s.nparts >= s.maxParts {
			// Too many parts: the rest is one opaque leaf's worth of
			// lines, but outer boundaries are still honoured.
			return s.skip(bounds[:own])
		}
		child := &Part{}
		p.Parts = append(p.Parts, child)
		h, found, err = s.entity(child, bounds, depth+1, digest)
	}
	if err != nil {
		return hit{}, false, err
	}
	if found && h.index == own && h.close {
		// Epilogue, up to an outer boundary.
		return s.skip(bounds[:own])
	}
	return h, found, nil // an outer boundary, or the end of input
}

// header reads header fields into p until the blank line. A line that is
// neither a field nor a continuation ends the header and starts the body.
// It returns a boundary hit and found = true if a boundary line came
// first.
func (s *scanner) header(p *Part, bounds []string) (h hit, found bool, err error) {
	var cur []byte // the field being collected
	size := 0
	truncated := false
	flush := func() {
		if cur == nil {
			return
		}
		k := bytes.IndexByte(cur, ':')
		p.Header.Add(string(cur[:k]), unfold(cur[k+1:]))
		cur = nil
	}
	end := int64(-1) // where the header ends, if not at s.off
	defer func() {
		if end < 0 {
			end = s.off
		}
		p.HeaderSize = end - p.HeaderOffset
		p.HeaderTruncated = truncated
	}()
	for {
		l, err := s.next(s.maxHdr + 2)
		if err == io.EOF {
			flush()
			return hit{}, false, nil
		}
		if err != nil {
			return hit{}, false, err
		}
		if h, found := isBoundary(l, bounds); found {
			flush()
			p.HeaderTruncated = truncated
			end = l.start
			return h, true, nil
		}
		if len(l.text) == 0 && !l.long {
			flush()
			p.HeaderTruncated = truncated
			return hit{}, false, nil
		}
		c := l.text[0]
		if c == ' ' || c == '\t' {
			if cur != nil && !truncated {
				if size+len(l.text) > s.maxHdr || len(l.text) > s.budget || l.long {
					truncated = true
					cur = nil
					continue
				}
				cur = append(cur, '\r', '\n')
				cur = append(cur, l.text...)
				size += len(l.text) + 2
				s.budget -= len(l.text) + 2
			}
			continue
		}
		k := bytes.IndexByte(l.text, ':')
		if k < 0 && l.long && validKey(bytes.TrimRight(l.text, " \t")) {
			// A field whose name alone is longer than the bound (the bound
			// may fall in the blanks an obsolete name has before its
			// colon): count it, keep none of it.
			flush()
			truncated = true
			continue
		}
		if k <= 0 || !validKey(bytes.TrimRight(l.text[:k], " \t")) {
			// Not a header line: the body starts here.
			flush()
			p.HeaderTruncated = truncated
			s.unread(l)
			end = l.start
			return hit{}, false, nil
		}
		flush()
		if truncated || l.long || size+len(l.text) > s.maxHdr || len(l.text) > s.budget {
			truncated = true
			continue
		}
		name := bytes.TrimRight(l.text[:k], " \t")
		cur = append(append(make([]byte, 0, len(l.text)), name...), l.text[k:]...)
		size += len(l.text) + 2
		s.budget -= len(l.text) + 2
	}
}

// describe fills in the MIME fields of p from its header.
func (s *scanner) describe(p *Part, digest bool) {
	p.Type, p.Subtype = "text", "plain"
	if digest {
		p.Type, p.Subtype = "message", "rfc822"
	}
	p.Params = map[string]string{}
	p.RawType, p.RawSubtype = p.Type, p.Subtype
	if v := p.Header.Get("Content-Type"); v != "" {
		if mt, params, list, err := parseMediaType(v); err == nil || mt != "" {
			if t, st, ok := strings.Cut(mt, "/"); ok && t != "" && st != "" {
				p.RawType, p.RawSubtype, p.ParamList = t, st, list
				p.Type, p.Subtype, p.Params = strings.ToLower(t), strings.ToLower(st), params
			}
		}
	}
	if p.Type == "text" && p.Params["charset"] == "" && !p.Header.Has("Content-Type") {
		p.Params["charset"] = "us-ascii"
	}
	p.Encoding = strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding")))
	if p.Encoding == "" {
		p.Encoding = "7bit"
	}
	p.ID = strings.TrimSpace(p.Header.Get("Content-ID"))
	p.Description, _ = DecodeWords(p.Header.Get("Content-Description"))
	p.MD5 = strings.TrimSpace(p.Header.Get("Content-MD5"))
	p.Location = strings.Join(strings.Fields(p.Header.Get("Content-Location")), "")
	if v := p.Header.Get("Content-Disposition"); v != "" {
		if d, params, list, _ := parseMediaType(v); d != "" {
			p.Disposition, p.DispositionParams = strings.ToLower(d), params
			p.RawDisposition, p.DispositionParamList = d, list
		}
	}
	if v := p.Header.Get("Content-Language"); v != "" {
		p.Language = strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	}
}
