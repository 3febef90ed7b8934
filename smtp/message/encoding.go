package message

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
)

// NewDecoder returns a reader that undoes the Content-Transfer-Encoding
// enc (RFC 2045 §6): base64 (ignoring line breaks and characters outside
// the alphabet, as §6.8 asks) or quoted-printable. 7bit, 8bit, binary and
// unknown encodings are passed through unchanged.
func NewDecoder(enc string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, &base64Filter{r: r})
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// base64Filter drops everything that is not in the base64 alphabet and
// stops at the first '=' padding run's end.
type base64Filter struct {
	r   io.Reader
	buf [512]byte
}

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		if len(p) > len(f.buf) {
			p = p[:len(f.buf)]
		}
		n, err := f.r.Read(f.buf[:len(p)])
		k := 0
		for _, c := range f.buf[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// NewEncoder returns a writer that applies the Content-Transfer-Encoding
// enc to what is written to it, with CRLF line endings: base64 in lines of
// 76 characters, or quoted-printable. Other encodings are written as they
// are. Close flushes the encoding; it does not close w.
func NewEncoder(enc string, w io.Writer) io.WriteCloser {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		lw := &lineWrapper{w: w, width: 76}
		return &closeBoth{base64.NewEncoder(base64.StdEncoding, lw), lw}
	case "quoted-printable":
		return quotedprintable.NewWriter(w)
	}
	return nopCloser{w}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

type closeBoth struct {
	io.WriteCloser
	lw *lineWrapper
}

func (c *closeBoth) Close() error {
	if err := c.WriteCloser.Close(); err != nil {
		return err
	}
	return c.lw.end()
}

// lineWrapper inserts CRLF every width bytes.
type lineWrapper struct {
	w     io.Writer
	width int
	col   int
}

func (l *lineWrapper) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := l.width - l.col
		if k > len(p) {
			k = len(p)
		}
		m, err := l.w.Write(p[:k])
		n += m
		if err != nil {
			return n, err
		}
		l.col += k
		p = p[k:]
		if l.col == l.width {
			if _, err := io.WriteString(l.w, "\r\n"); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

func (l *lineWrapper) end() error {
	if l.col > 0 {
		l.col = 0
		_, err := io.WriteString(l.w, "\r\n")
		return err
	}
	return nil
}

// ChooseEncoding picks the Content-Transfer-Encoding a body needs to
// travel as 7-bit text (RFC 2045 §6): "7bit" if every line is short
// US-ASCII, "quoted-printable" if it is mostly ASCII, else "base64".
func ChooseEncoding(body []byte) string {
	high, long, col := 0, false, 0
	for _, c := range body {
		if c >= 0x80 || c == 0 {
			high++
		}
		if c == '\n' {
			col = 0
			continue
		}
		col++
		if col > 76 {
			long = true
		}
	}
	if high == 0 && !long {
		return "7bit"
	}
	if high*10 < len(body) {
		return "quoted-printable"
	}
	return "base64"
}

// crlfWriter turns bare LF into CRLF.
type crlfWriter struct {
	w    *bufio.Writer
	prev byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\n' && c.prev != '\r' {
			if err := c.w.WriteByte('\r'); err != nil {
				return 0, err
			}
		}
		if err := c.w.WriteByte(b); err != nil {
			return 0, err
		}
		c.prev = b
	}
	return len(p), nil
}
