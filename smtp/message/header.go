package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// MaxLineLength is the longest line, without its CRLF, that RFC 5322 §2.1.1
// allows. Header writers here never produce a longer line.
const MaxLineLength = 998

// foldWidth is the line length RFC 5322 §2.1.1 recommends (78 octets).
const foldWidth = 78

// A Field is one header field: its name as written and its value unfolded
// (the CRLFs of folding removed, the whitespace kept, leading and trailing
// whitespace trimmed). Encoded words are left as they are; see DecodeWords.
type Field struct {
	Key   string
	Value string
}

// A Header is a message header: its fields in the order they appear.
// Lookups are case-insensitive. The zero value is an empty header.
type Header struct {
	fields []Field
}

// Fields returns the header's fields in order. The slice is the header's
// own; callers must not modify it.
func (h *Header) Fields() []Field { return h.fields }

// Len returns the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// Get returns the value of the first field named key, or "".
func (h *Header) Get(key string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, key) {
			return f.Value
		}
	}
	return ""
}

// Has reports whether a field named key is present.
func (h *Header) Has(key string) bool {
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, key) {
			return true
		}
	}
	return false
}

// Values returns the values of every field named key, in order.
func (h *Header) Values(key string) []string {
	var vs []string
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, key) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// Add appends a field at the end of the header.
func (h *Header) Add(key, value string) {
	h.fields = append(h.fields, Field{Key: key, Value: value})
}

// Prepend puts a field at the top of the header, as trace fields
// (Received:, Return-Path:) are added (RFC 5321 §4.4).
func (h *Header) Prepend(key, value string) {
	h.fields = append([]Field{{Key: key, Value: value}}, h.fields...)
}

// Set replaces every field named key by one field with value, in the
// position of the first; if there was none it is appended.
func (h *Header) Set(key, value string) {
	out := h.fields[:0]
	done := false
	for _, f := range h.fields {
		if strings.EqualFold(f.Key, key) {
			if done {
				continue
			}
			f = Field{Key: key, Value: value}
			done = true
		}
		out = append(out, f)
	}
	h.fields = out
	if !done {
		h.Add(key, value)
	}
}

// Del removes every field named key.
func (h *Header) Del(key string) {
	out := h.fields[:0]
	for _, f := range h.fields {
		if !strings.EqualFold(f.Key, key) {
			out = append(out, f)
		}
	}
	h.fields = out
}

// ErrHeaderTooLarge is returned when a header exceeds the reader's bound.
var ErrHeaderTooLarge = errors.New("message: header too large")

// validKey reports whether k is a field name (RFC 5322 §3.6.8: printable
// US-ASCII except colon).
func validKey(k []byte) bool {
	if len(k) == 0 {
		return false
	}
	for _, c := range k {
		if c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// AppendTo appends the header in wire form, each field folded at
// whitespace to about 78 octets and never over 998, each line ending in
// CRLF, followed by the blank line that ends the header.
func (h *Header) AppendTo(b []byte) []byte {
	for _, f := range h.fields {
		b = AppendField(b, f.Key, f.Value)
	}
	return append(b, "\r\n"...)
}

// WriteTo writes the header (with its ending blank line) to w.
func (h *Header) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(h.AppendTo(nil))
	return int64(n), err
}

// AppendField appends one field "Key: value" folded to RFC 5322's line
// lengths. Runs of non-whitespace longer than a line allows are split by
// turning them into RFC 2047 encoded words, so no line exceeds 998 octets.
func AppendField(b []byte, key, value string) []byte {
	b = append(b, key...)
	b = append(b, ':')
	lineLen := len(key) + 1
	words := splitFoldable(value)
	for i, w := range words {
		if len(w) > MaxLineLength-2 {
			// Too long to fit any line: encode it as several encoded words.
			enc := strings.Fields(EncodeWord(w))
			for _, e := range enc {
				if lineLen+1+len(e) > foldWidth && lineLen > 1 {
					b = append(b, "\r\n"...)
					lineLen = 0
				}
				b = append(b, ' ')
				b = append(b, e...)
				lineLen += 1 + len(e)
			}
			continue
		}
		ws, word := leadingSpace(w)
		if i == 0 && ws == "" {
			ws = " "
		}
		if lineLen+len(ws)+len(word) > foldWidth && lineLen > len(key)+1 && ws != "" {
			// Fold: the whitespace stays, after the line break.
			b = append(b, "\r\n"...)
			lineLen = 0
		}
		b = append(b, ws...)
		b = append(b, word...)
		lineLen += len(ws) + len(word)
	}
	return append(b, "\r\n"...)
}

// splitFoldable cuts v into pieces that each start with their leading
// whitespace (except possibly the first), so folding can happen before any
// piece.
func splitFoldable(v string) []string {
	var out []string
	start := 0
	for i := 1; i < len(v); i++ {
		if (v[i] == ' ' || v[i] == '\t') && v[i-1] != ' ' && v[i-1] != '\t' {
			out = append(out, v[start:i])
			start = i
		}
	}
	if start < len(v) {
		out = append(out, v[start:])
	}
	return out
}

func leadingSpace(s string) (ws, rest string) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[:i], s[i:]
}

// unfold removes the CRLF (or LF) of folded lines and trims the value.
func unfold(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return string(raw)
	}
	out := make([]byte, 0, len(raw))
	for _, c := range raw {
		if c == '\r' || c == '\n' {
			continue
		}
		out = append(out, c)
	}
	return string(out)
}
