package message

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// A Message is an entity to build and write, or the decoded form of one
// read by ReadMessage: a header and either a body (decoded content, for a
// leaf) or parts (for a multipart).
type Message struct {
	Header Header
	Body   []byte
	Parts  []*Message
}

// Bytes returns the message in wire form (see WriteTo).
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	m.WriteTo(&b)
	return b.Bytes()
}

// WriteTo writes the message with CRLF line endings. A message with Parts
// is written as a multipart: if it has no multipart Content-Type one of
// multipart/mixed is set, and a boundary is generated if there is none.
// A leaf's Body is encoded with its Content-Transfer-Encoding; if it has
// none and the body is not short-lined 7-bit text, one is chosen
// (ChooseEncoding) and the field is added.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	err := m.write(bw)
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

func (m *Message) write(w *bufio.Writer) error {
	h := Header{fields: append([]Field(nil), m.Header.fields...)}
	if m.Parts != nil {
		mt, params, err := ParseMediaType(h.Get("Content-Type"))
		if err != nil || !strings.HasPrefix(mt, "multipart/") {
			mt, params = "multipart/mixed", map[string]string{}
		}
		if params["boundary"] == "" {
			params["boundary"] = NewBoundary()
		}
		h.Set("Content-Type", FormatMediaType(mt, params))
		if _, err := w.Write(h.AppendTo(nil)); err != nil {
			return err
		}
		b := params["boundary"]
		for _, p := range m.Parts {
			fmt.Fprintf(w, "--%s\r\n", b)
			if err := p.write(w); err != nil {
				return err
			}
			w.WriteString("\r\n")
		}
		_, err = fmt.Fprintf(w, "--%s--\r\n", b)
		return err
	}
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	if enc == "" {
		if enc = ChooseEncoding(m.Body); enc != "7bit" {
			h.Set("Content-Transfer-Encoding", enc)
		}
	}
	if _, err := w.Write(h.AppendTo(nil)); err != nil {
		return err
	}
	var out io.Writer = w
	if enc != "base64" {
		out = &crlfWriter{w: w} // text travels with CRLF line endings
	}
	e := NewEncoder(enc, out)
	if _, err := e.Write(m.Body); err != nil {
		return err
	}
	return e.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewBoundary returns a random multipart boundary (RFC 2046 §5.1.1): it
// cannot occur in encoded content because it contains "=_" followed by
// characters base64 and quoted-printable never produce together.
func NewBoundary() string {
	var r [15]byte
	rand.Read(r[:])
	return "=_appnet_" + hex.EncodeToString(r[:])
}

// ReadMessage reads a whole message into memory, at most max bytes, and
// returns it decoded: each leaf's Body with its transfer encoding undone,
// multiparts as Parts. An enclosed message/rfc822 stays whole in its
// part's Body (parse it again to look inside).
func ReadMessage(r io.Reader, max int64) (*Message, error) {
	raw, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("message: reading: %w", err)
	}
	if int64(len(raw)) > max {
		return nil, fmt.Errorf("message: longer than %d bytes", max)
	}
	root, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return build(root, raw)
}

func build(p *Part, raw []byte) (*Message, error) {
	m := &Message{Header: p.Header}
	switch {
	case p.Message != nil:
		m.Body = append([]byte(nil), p.BodyBytes(raw)...)
	case p.IsMultipart() && len(p.Parts) > 0:
		for _, c := range p.Parts {
			cm, err := build(c, raw)
			if err != nil {
				return nil, err
			}
			m.Parts = append(m.Parts, cm)
		}
	default:
		body, err := p.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("message: decoding %s body: %w", p.Encoding, err)
		}
		m.Body = body
	}
	return m, nil
}
