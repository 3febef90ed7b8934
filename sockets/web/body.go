package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxChunkLine bounds a chunk-size line, chunk extensions included.
const maxChunkLine = 4 << 10

// A body is a request's message body as the handler reads it (Request.Body):
// Content-Length bytes, or chunks (RFC 9112 §7.1) until the last one, whose
// trailer fields are read and thrown away. The handler may read at most
// MaxBodyBytes of it; a longer read fails with *http.MaxBytesError.
type body struct {
	c    *conn
	resp *response

	chunked   bool
	remaining int64 // bytes left: of the body, or of the current chunk
	crlfDue   bool  // chunked: a chunk's data is over, its CRLF not yet read
	limit     int64 // bytes the handler may still read
	maxBody   int64 // MaxBodyBytes, for the error
	eof       bool  // the whole body has been read
	err       error // a framing or connection error: nothing more to read
	closed    bool  // the handler called Close
	done      bool  // the handler returned

	expectContinue bool // the client waits for "100 Continue" before sending it
	sentContinue   bool

	closeAfter bool // the connection cannot carry another request
	unread     bool // the client may still be sending body bytes nobody will read
}

func (b *body) init(c *conn, resp *response, contentLength, maxBody int64) {
	b.c, b.resp = c, resp
	b.limit, b.maxBody = maxBody, maxBody
	switch {
	case contentLength < 0:
		b.chunked = true
	case contentLength == 0:
		b.eof = true
	default:
		b.remaining = contentLength
	}
}

// Read reads the body for the handler.
func (b *body) Read(p []byte) (int, error) {
	switch {
	case b.done:
		return 0, errAfterHandler
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	}
	if b.limit <= 0 && !b.eof && b.err == nil {
		// The handler has read MaxBodyBytes: is there more?
		if _, err := b.read(nil); err == nil && !b.eof {
			b.err = &http.MaxBytesError{Limit: b.maxBody}
			b.closeAfter, b.unread = true, true
		}
	}
	if int64(len(p)) > b.limit {
		p = p[:max(b.limit, 0)]
	}
	n, err := b.read(p)
	b.limit -= int64(n)
	return n, err
}

// Close tells the server the handler is done with the body; the server
// reads what is left of it (see settle).
func (b *body) Close() error {
	b.closed = true
	return nil
}

// read is Read without the handler's limit. With an empty p it reads the
// framing only: up to the next data byte, or the end of the body.
func (b *body) read(p []byte) (int, error) {
	if err := b.next(); err != nil || len(p) == 0 {
		return 0, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.br.Read(p)
	return n, b.consumed(n, err)
}

// skip is read for bytes nobody wants: up to n of them are thrown away.
func (b *body) skip(n int) (int, error) {
	if err := b.next(); err != nil {
		return 0, err
	}
	m, err := b.c.br.Discard(int(min(int64(n), b.remaining)))
	return m, b.consumed(m, err)
}

// next gets the body ready for its next data bytes: it asks for them if
// the client waits to be asked, and reads the chunk framing before them.
// At the end of the body it returns io.EOF.
func (b *body) next() error {
	if b.err != nil {
		return b.err
	}
	if b.eof {
		return io.EOF
	}
	if b.expectContinue && !b.sentContinue {
		b.sendContinue()
	}
	if b.chunked && b.remaining == 0 {
		if err := b.nextChunk(); err != nil {
			return b.fail(err)
		}
		if b.eof {
			return io.EOF
		}
	}
	return nil
}

// consumed accounts for n data bytes read with error err, and returns
// the error for the reader: io.EOF once the body is complete.
func (b *body) consumed(n int, err error) error {
	b.remaining -= int64(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return b.fail(err)
	}
	if b.remaining == 0 && !b.chunked {
		b.eof = true
		return io.EOF
	}
	return nil
}

// fail records an error after which the body cannot be read and the
// connection cannot be trusted with another request.
func (b *body) fail(err error) error {
	b.err = err
	b.closeAfter = true
	return err
}

// sendContinue answers "Expect: 100-continue" (RFC 9110 §10.1.1): the
// handler wants the body, so the client may send it. Once the final
// response has begun it is too late: the client has its answer.
func (b *body) sendContinue() {
	b.sentContinue = true
	if b.resp.headerSent {
		return
	}
	b.c.srv.traceStatus(http.StatusContinue)
	b.c.out.buf = append(b.c.out.buf, "HTTP/1.1 100 Continue\r\n\r\n"...)
	b.c.out.flush()
}

// nextChunk reads up to the next chunk's data: the CRLF that ends the
// chunk before, and the chunk-size line. After the last chunk (size 0) it
// reads the trailer section and sets eof.
func (b *body) nextChunk() error {
	if b.crlfDue {
		line, err := b.readLine()
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return errors.New("web: malformed chunked body: chunk data longer than its size")
		}
		b.crlfDue = false
	}
	line, err := b.readLine()
	if err != nil {
		return err
	}
	size, err := parseChunkSize(line)
	if err != nil {
		return err
	}
	if size > 0 {
		b.remaining, b.crlfDue = size, true
		return nil
	}
	// The last chunk: trailer fields until an empty line, thrown away.
	// Together they may be as long as a request head.
	budget := b.c.srv.maxHeaderBytes()
	for {
		line, err := b.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			b.eof = true
			return nil
		}
		if budget -= len(line); budget < 0 {
			return errors.New("web: chunked body: trailer section too long")
		}
	}
}

// readLine reads one line of chunked framing, at most maxChunkLine bytes,
// and returns it without its CRLF (or bare LF).
func (b *body) readLine() ([]byte, error) {
	c := b.c
	c.head = c.head[:0] // the request head is a string by now: reuse its buffer
	for {
		frag, err := c.br.ReadSlice('\n')
		if len(c.head)+len(frag) > maxChunkLine {
			return nil, errors.New("web: chunked body: line too long")
		}
		c.head = append(c.head, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		line := c.head[:len(c.head)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}

// parseChunkSize parses a chunk-size line: hexadecimal digits, and
// optionally chunk extensions after a semicolon, which are ignored.
func parseChunkSize(line []byte) (int64, error) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == 15 {
			return 0, errors.New("web: chunked body: chunk size too large")
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, fmt.Errorf("web: malformed chunk size %.20q", line)
	}
	rest := line[i:]
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] != ';' {
		return 0, fmt.Errorf("web: malformed chunk size %.20q", line)
	}
	return size, nil
}

func unhex(b byte) int {
	switch {
	case '0' <= b && b <= '9':
		return int(b - '0')
	case 'a' <= b && b <= 'f':
		return int(b-'a') + 10
	case 'A' <= b && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// settle makes the connection ready for the next request once the
// handler is done with the body: what the handler left unread is read and
// thrown away, up to maxDrain bytes. If more is left, or the client was
// never told to send it (no "100 Continue"), or the framing broke, the
// connection must close instead: settle sets closeAfter.
func (b *body) settle() {
	switch {
	case b.eof || b.closeAfter:
		return
	case b.expectContinue && !b.sentContinue:
		b.closeAfter, b.unread = true, true
		return
	}
	for drained := 0; drained < maxDrain; {
		n, err := b.skip(maxDrain - drained)
		drained += n
		if err != nil {
			return // the end (io.EOF), or b.fail set closeAfter
		}
	}
	if b.next() == io.EOF {
		return
	}
	b.closeAfter, b.unread = true, true
}

// finish settles the body after the handler has returned, and stops it
// being read again.
func (b *body) finish() {
	if b.c == nil || b.done {
		return
	}
	b.settle()
	b.done = true
}

// unfinished reports whether some of the body is still to come, and how
// much when that is known (-1 for chunked).
func (b *body) unfinished() (bool, int64) {
	if b.c == nil || b.eof || b.err != nil {
		return false, 0
	}
	if b.chunked {
		return true, -1
	}
	return true, b.remaining
}
