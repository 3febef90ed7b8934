package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Bounds on what a peer may send. A command or response line (not counting
// literals) is at most MaxLine bytes; lists nest at most maxDepth deep.
const (
	MaxLine         = 64 << 10
	maxDepth        = 32
	maxNonSync      = 4096 // LITERAL-: the largest non-synchronising literal
	defaultMaxLit   = 1 << 20
	maxLiteralDigit = 20
	literalChunk    = 32 << 10 // what a literal's buffer starts with
)

// A SyntaxError is a malformed command or response. The server answers it
// with BAD; the client treats it as a broken server.
type SyntaxError struct {
	What string
}

func (e *SyntaxError) Error() string { return "imap: syntax error: " + e.What }

func syntaxErr(format string, args ...any) error {
	return &SyntaxError{What: fmt.Sprintf(format, args...)}
}

// ErrLiteralTooBig is returned when a peer announces a literal larger than
// allowed; nothing of it has been read.
var ErrLiteralTooBig = errors.New("imap: literal too big")

// reader is the lexer of IMAP's grammar over a buffered connection: atoms,
// numbers, quoted strings, literals and parenthesised lists, with the
// line length and nesting bounded. Both sides use it: the server for
// commands (with cont to send "+" before a synchronising literal), the
// client for responses.
type reader struct {
	br     *bufio.Reader
	line   int   // bytes read on this line, outside literals
	maxLit int64 // largest literal accepted
	// maxTotal, if positive, bounds the bytes one response or command
	// holds in memory, literals included; held counts them.
	maxTotal int64
	held     int64
	depth    int
	literal  func(n int64, nonSync bool) error // called after a literal's announcement, before its data
	sawLit   bool                              // a literal was read on this line
	eol      bool                              // the line's end has been read
}

func newReader(br *bufio.Reader) *reader {
	return &reader{br: br, maxLit: defaultMaxLit}
}

// reset starts a new line.
func (r *reader) reset() { r.line, r.held, r.depth, r.sawLit, r.eol = 0, 0, 0, false, false }

func (r *reader) peek() (byte, error) {
	b, err := r.br.Peek(1)
	if err != nil {
		return 0, unexpected(err)
	}
	return b[0], nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *reader) readByte() (byte, error) {
	if r.line >= MaxLine {
		return 0, syntaxErr("line too long")
	}
	if r.maxTotal > 0 && r.held >= r.maxTotal {
		return 0, syntaxErr("over %d bytes in all", r.maxTotal)
	}
	c, err := r.br.ReadByte()
	if err != nil {
		return 0, unexpected(err)
	}
	r.line++
	r.held++
	return c, nil
}

func (r *reader) expect(want byte) error {
	c, err := r.readByte()
	if err != nil {
		return err
	}
	if c != want {
		return syntaxErr("expected %q, got %q", want, c)
	}
	return nil
}

func (r *reader) sp() error { return r.expect(' ') }

// crlf reads the end of the line: CRLF, or a bare LF from a hand-typed
// session.
func (r *reader) crlf() error {
	c, err := r.readByte()
	if err != nil {
		return err
	}
	if c == '\r' {
		c, err = r.readByte()
		if err != nil {
			return err
		}
	}
	if c != '\n' {
		return syntaxErr("expected end of line, got %q", c)
	}
	r.eol = true
	return nil
}

// atEOL reports whether the next bytes end the line.
func (r *reader) atEOL() bool {
	c, err := r.peek()
	return err == nil && (c == '\r' || c == '\n')
}

// skipLine discards the rest of the line after a syntax error. If the line
// announces a non-synchronising literal, its data is discarded too, so the
// connection stays in step; false means that is impossible and the
// connection must close.
func (r *reader) skipLine() bool {
	var tail []byte
	for n := 0; ; n++ {
		c, err := r.br.ReadByte()
		if err != nil {
			return false
		}
		if c == '\n' {
			break
		}
		if len(tail) < 32 {
			tail = append(tail, c)
		} else {
			tail = append(tail[1:], c)
		}
		if n > 16*MaxLine {
			return false
		}
	}
	s := strings.TrimSuffix(string(tail), "\r")
	if strings.HasSuffix(s, "+}") {
		if i := strings.LastIndexByte(s, '{'); i >= 0 {
			n, err := strconv.ParseInt(s[i+1:len(s)-2], 10, 64)
			if err != nil || n > maxNonSync {
				return false
			}
			if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
				return false
			}
			r.line = 0
			return r.skipLine()
		}
	}
	return true
}

func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c > 0x20 && c < 0x7f
}

// atom reads one or more atom characters; extra lists characters allowed
// beyond them (such as "]" in response codes or "*%" in LIST patterns).
func (r *reader) atom(extra string) (string, error) {
	var b []byte
	for {
		c, err := r.peek()
		if err != nil {
			return "", err
		}
		if !isAtomChar(c) && (c < 0x21 || c > 0x7e || strings.IndexByte(extra, c) < 0) {
			break
		}
		r.readByte()
		b = append(b, c)
	}
	if len(b) == 0 {
		c, _ := r.peek()
		return "", syntaxErr("expected an atom, got %q", c)
	}
	return string(b), nil
}

func (r *reader) number64() (int64, error) {
	s, err := r.atom("")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, syntaxErr("bad number %q", s)
	}
	return n, nil
}

// quoted reads a quoted string, the opening quote not yet read.
func (r *reader) quoted() (string, error) {
	if err := r.expect('"'); err != nil {
		return "", err
	}
	var b []byte
	for {
		c, err := r.readByte()
		if err != nil {
			return "", err
		}
		switch c {
		case '"':
			return string(b), nil
		case '\\':
			if c, err = r.readByte(); err != nil {
				return "", err
			}
			if c != '"' && c != '\\' {
				return "", syntaxErr("bad escape in quoted string")
			}
		case '\r', '\n', 0:
			return "", syntaxErr("line break in quoted string")
		}
		b = append(b, c)
	}
}

// literalHeader reads "{n}" or "{n+}" and the CRLF after it, and returns n.
func (r *reader) literalHeader() (int64, bool, error) {
	if err := r.expect('{'); err != nil {
		return 0, false, err
	}
	var n int64
	digits := 0
	nonSync := false
	for {
		c, err := r.readByte()
		if err != nil {
			return 0, false, err
		}
		if c >= '0' && c <= '9' {
			digits++
			if digits > maxLiteralDigit {
				return 0, false, syntaxErr("literal size too long")
			}
			if n > (1<<62)/10 {
				n = 1 << 62 // saturate: surely too big
			} else {
				n = n*10 + int64(c-'0')
			}
			continue
		}
		if c == '+' && !nonSync && digits > 0 {
			nonSync = true
			continue
		}
		if c == '}' && digits > 0 {
			break
		}
		return 0, false, syntaxErr("bad literal")
	}
	if err := r.crlf(); err != nil {
		return 0, false, err
	}
	if r.literal != nil {
		if err := r.literal(n, nonSync); err != nil {
			return 0, false, err
		}
	} else if n > r.maxLit {
		return 0, false, ErrLiteralTooBig
	}
	r.sawLit = true
	return n, nonSync, nil
}

// literalSize reads a literal's announcement and returns its size; the
// data is the caller's to read.
func (r *reader) literalSize() (int64, error) {
	n, _, err := r.literalHeader()
	return n, err
}

// literalBytes reads a whole literal into memory, bounded by maxLit and by
// what is left of maxTotal. The buffer grows as the data arrives, so a peer
// that announces a huge literal and sends little costs only what it sent.
func (r *reader) literalBytes() ([]byte, error) {
	n, _, err := r.literalHeader()
	if err != nil {
		return nil, err
	}
	if n > r.maxLit {
		return nil, ErrLiteralTooBig
	}
	if r.maxTotal > 0 && n > r.maxTotal-r.held {
		// Within maxLit, so the data is coming: pass it by, to stay in
		// step with the peer, and fail the line.
		if _, err := io.CopyN(io.Discard, r.br, n); err != nil {
			return nil, unexpected(err)
		}
		r.line = 0
		return nil, syntaxErr("over %d bytes in all", r.maxTotal)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(n, literalChunk)))
	got, err := io.CopyN(&buf, r.br, n)
	r.held += got
	if err != nil {
		return nil, unexpected(err)
	}
	r.line = 0
	return buf.Bytes(), nil
}

// str reads a string: quoted or literal.
func (r *reader) str() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		return r.quoted()
	case '{':
		b, err := r.literalBytes()
		return string(b), err
	}
	return "", syntaxErr("expected a string, got %q", c)
}

// astring reads an atom or a string.
func (r *reader) astring() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '"' || c == '{' {
		return r.str()
	}
	return r.atom("]")
}

// nstring reads a string or NIL; ok is false for NIL.
func (r *reader) nstring() (s string, ok bool, err error) {
	c, err := r.peek()
	if err != nil {
		return "", false, err
	}
	if c == '"' || c == '{' {
		s, err := r.str()
		return s, err == nil, err
	}
	a, err := r.atom("")
	if err != nil {
		return "", false, err
	}
	if !strings.EqualFold(a, "NIL") {
		return "", false, syntaxErr("expected a string or NIL, got %q", a)
	}
	return "", false, nil
}

// list reads "(" item *(SP item) ")" calling item for each element; an
// empty list "()" calls it never.
func (r *reader) list(item func() error) error {
	if err := r.expect('('); err != nil {
		return err
	}
	r.depth++
	if r.depth > maxDepth {
		return syntaxErr("lists nested too deep")
	}
	defer func() { r.depth-- }()
	if c, err := r.peek(); err != nil {
		return err
	} else if c == ')' {
		r.readByte()
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		c, err := r.peek()
		if err != nil {
			return err
		}
		if c == '(' {
			continue // body parts follow each other without a space
		}
		r.readByte()
		if c == ')' {
			return nil
		}
		if c != ' ' {
			return syntaxErr("expected space or ')' in list, got %q", c)
		}
	}
}

// flag reads a flag: an atom or "\"atom (or "\*" in PERMANENTFLAGS).
func (r *reader) flag() (string, error) {
	c, err := r.peek()
	if err != nil {
		return "", err
	}
	if c == '\\' {
		r.readByte()
		if c, _ := r.peek(); c == '*' {
			r.readByte()
			return `\*`, nil
		}
		a, err := r.atom("")
		return `\` + a, err
	}
	return r.atom("")
}

func (r *reader) flagList() ([]string, error) {
	var flags []string
	err := r.list(func() error {
		f, err := r.flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// The writing side: how strings go on the wire.

// appendString writes s as an atom-safe quoted string, or as a literal when
// it holds characters a quoted string cannot carry.
func appendString(b []byte, s string) []byte {
	if needsLiteral(s) {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "}\r\n"...)
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func needsLiteral(s string) bool {
	if len(s) > 1000 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 || c >= 0x80 {
			return true
		}
	}
	return false
}

// appendNString writes s, or NIL when s is empty.
func appendNString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return appendString(b, s)
}

// appendAString writes s as an atom if it can be one.
func appendAString(b []byte, s string) []byte {
	if s == "" || strings.EqualFold(s, "NIL") {
		return appendString(b, s)
	}
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return appendString(b, s)
		}
	}
	return append(b, s...)
}
