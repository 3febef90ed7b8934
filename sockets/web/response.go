package web

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sniffLen is how much of a body http.DetectContentType looks at.
const sniffLen = 512

// A response is the http.ResponseWriter a handler writes its response
// message with: a status line, header fields, and the body.
//
// The body is held back, up to writeBufferSize bytes, until the handler
// returns or flushes: if it all fits, its length is known and goes out as
// Content-Length, as net/http does. A longer body goes out as it is
// written, chunked for HTTP/1.1 and delimited by closing the connection
// for HTTP/1.0, unless the handler set Content-Length itself.
type response struct {
	c    *conn
	req  *http.Request
	body *body

	header        http.Header
	status        int
	wroteHeader   bool  // the status is chosen (WriteHeader, or the first Write)
	headerSent    bool  // the status line and header fields are in the write buffer
	contentLength int64 // what the handler's Content-Length says, -1 if nothing
	written       int64 // body bytes the handler wrote
	chunked       bool  // the body goes out in chunks
	closeAfter    bool  // the connection closes after this response
	done          bool  // the handler returned
}

func (w *response) init(c *conn, req *http.Request, b *body) {
	w.c, w.req, w.body = c, req, b
	w.contentLength = -1
	c.pending = c.pending[:0]
	if req.Close {
		w.closeAfter = true
	}
}

// reset forgets what a panicking handler did to the response, so that the
// server can answer with its own.
func (w *response) reset() {
	w.header = nil
	w.wroteHeader = false
	w.contentLength = -1
	w.written = 0
	w.c.pending = w.c.pending[:0]
}

// Header returns the header fields the response will carry. Changes after
// WriteHeader or the first Write have no effect, except for 1xx responses.
//
// The map is the connection's, cleared and used again for each response
// it carries (a response's header fields are dead once its handler
// returns, as net/http's are): a map less to make and grow per request.
func (w *response) Header() http.Header {
	if w.header == nil {
		if w.done {
			return http.Header{} // the connection's map may be the next response's now
		}
		if w.c.header == nil {
			w.c.header = make(http.Header)
		} else {
			clear(w.c.header)
		}
		w.header = w.c.header
	}
	return w.header
}

// WriteHeader sends the status code: at once for an informational (1xx)
// status, which may be sent several times before the final one (not to
// HTTP/1.0 clients, RFC 9110 §15.2); with the body for a final status.
// A second final status is logged and ignored.
func (w *response) WriteHeader(code int) {
	if w.done {
		w.c.srv.logf("web: WriteHeader(%d) after the handler for %s returned", code, w.req.URL.Path)
		return
	}
	if w.wroteHeader {
		w.c.srv.logf("web: superfluous WriteHeader(%d) for %s (already %d)", code, w.req.URL.Path, w.status)
		return
	}
	if code < 100 || code > 999 {
		panic("web: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		if w.req.ProtoAtLeast(1, 1) {
			w.sendInformational(code)
		}
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := w.header.Get("Content-Length"); cl != "" {
		v, err := strconv.ParseInt(cl, 10, 64)
		if err == nil && v >= 0 {
			w.contentLength = v
		} else {
			w.c.srv.logf("web: invalid Content-Length %q from the handler for %s", cl, w.req.URL.Path)
			w.header.Del("Content-Length")
		}
	}
}

// sendInformational sends a 1xx response with the handler's fields
// (103 Early Hints carries Link fields, say), and flushes it.
func (w *response) sendInformational(code int) {
	c := w.c
	c.srv.traceStatus(code)
	if code == http.StatusContinue {
		w.body.sentContinue = true
	}
	b := appendStatusLine(c.out.buf, code)
	c.keys = c.keys[:0]
	for k := range w.header {
		if k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection" {
			c.keys = append(c.keys, k)
		}
	}
	slices.Sort(c.keys)
	for _, k := range c.keys {
		for _, v := range w.header[k] {
			b = appendField(b, k, v)
		}
	}
	c.out.buf = append(b, "\r\n"...)
	c.out.flush()
}

// Write writes body bytes; the first Write sends the status 200 if
// WriteHeader was not called.
func (w *response) Write(p []byte) (int, error) {
	if w.done {
		return 0, errAfterHandler
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.contentLength >= 0 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	c := w.c
	if !w.headerSent {
		if len(c.pending)+len(p) <= cap(c.pending) {
			c.pending = append(c.pending, p...)
			return len(p), nil
		}
		w.sendHeader(false)
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString is Write for a string, which io.WriteString calls; a short
// string costs no conversion.
func (w *response) WriteString(s string) (int, error) {
	if !w.wroteHeader && !w.done {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerSent && !w.done && bodyAllowedForStatus(w.status) &&
		len(w.c.pending)+len(s) <= cap(w.c.pending) &&
		(w.contentLength < 0 || w.written+int64(len(s)) <= w.contentLength) {
		w.c.pending = append(w.c.pending, s...)
		w.written += int64(len(s))
		return len(s), nil
	}
	return w.Write([]byte(s))
}

// writeBody puts body bytes in the write buffer, in a chunk if the body is
// chunked; HEAD responses drop them.
func (w *response) writeBody(p []byte) error {
	if len(p) == 0 || w.req.Method == http.MethodHead {
		return nil
	}
	out := &w.c.out
	if w.chunked {
		out.buf = strconv.AppendInt(out.buf, int64(len(p)), 16)
		out.buf = append(out.buf, "\r\n"...)
		if err := out.write(p); err != nil {
			return err
		}
		out.buf = append(out.buf, "\r\n"...)
		return nil
	}
	return out.write(p)
}

// Flush sends what the handler wrote so far (http.Flusher). The body's
// length is then unknown unless the handler set Content-Length.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush that reports a failed write; http.ResponseController
// calls it.
func (w *response) FlushError() error {
	if w.done {
		return errAfterHandler
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.headerSent {
		w.sendHeader(false)
	}
	return w.c.out.flush()
}

// SetReadDeadline moves the deadline of the handler's body reads, for
// http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error { return w.c.nc.SetReadDeadline(t) }

// SetWriteDeadline moves the deadline of the response's writes, for
// http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// ReadFrom copies src into the body; io.Copy calls it. When src reads a
// file (see kernelSource) and the body's length is known, the header
// leaves first and the file's bytes go from the page cache to the socket
// with sendfile(2), never passing through the server's buffers.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if w.done {
		return 0, errAfterHandler
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	if !w.headerSent && len(w.c.pending) == 0 && !hasKey(w.header, "Content-Type") {
		// The first bytes choose the Content-Type: read them first.
		m, err := w.copyFrom(io.LimitReader(src, sniffLen))
		n += m
		if err != nil || m < sniffLen {
			return n, err
		}
	}
	fr, ok := kernelSource(src)
	c := w.c
	if !ok || c.tcp == nil || w.req.Method == http.MethodHead || !bodyAllowedForStatus(w.status) {
		m, err := w.copyFrom(src)
		return n + m, err
	}
	if !w.headerSent {
		if w.contentLength < 0 {
			m, err := w.copyFrom(src) // chunked: through the buffer
			return n + m, err
		}
		w.sendHeader(false)
	}
	if w.chunked {
		m, err := w.copyFrom(src)
		return n + m, err
	}
	if w.contentLength >= 0 {
		if left := w.contentLength - w.written; fr.n < 0 || left < fr.n {
			fr.n = left
		}
	}
	if fr.n == 0 {
		return n, nil
	}
	m, err := c.sendFile(&fr)
	w.written += m
	return n + m, err
}

// A fileRange is the part of a file that a response body copies, when the
// operating system can copy it to the socket by itself (sendfile).
type fileRange struct {
	src     io.Reader         // what the handler copies from
	file    syscall.Conn      // the file under it
	off     int64             // where to start, or -1: at the file's own position
	n       int64             // how many bytes, or -1: up to the end of the file
	limited *io.LimitedReader // src, when it is one
	section *io.SectionReader // the section src reads, if it does
}

// kernelSource finds the file under src: src is an *os.File, an
// io.LimitedReader of one (as http.ServeContent makes), or an
// io.SectionReader of one, perhaps limited too (a handler that keeps its
// files open shares one *os.File among requests through sections: each
// has its own offset). io.Copy from an *os.File comes here with the file
// in a wrapper of the os package: the test is for the syscall.Conn that
// files have.
func kernelSource(src io.Reader) (fileRange, bool) {
	fr := fileRange{src: src, off: -1, n: -1}
	r := src
	if lr, ok := r.(*io.LimitedReader); ok {
		fr.limited, r, fr.n = lr, lr.R, lr.N
	}
	if sr, ok := r.(*io.SectionReader); ok {
		ra, base, size := sr.Outer()
		pos, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return fr, false
		}
		fr.section, fr.off = sr, base+pos
		if left := max(size-pos, 0); fr.n < 0 || left < fr.n {
			fr.n = left
		}
		f, ok := ra.(syscall.Conn)
		fr.file = f
		return fr, ok
	}
	f, ok := r.(syscall.Conn)
	fr.file = f
	return fr, ok
}

// reader returns what to copy from when sendfile cannot: src, limited to
// n bytes.
func (fr *fileRange) reader() io.Reader {
	if fr.n < 0 {
		return fr.src
	}
	return io.LimitReader(fr.src, fr.n)
}

// advance moves the handler's readers past n bytes that sendfile sent.
func (fr *fileRange) advance(n int64) {
	if fr.limited != nil {
		fr.limited.N -= n
	}
	if fr.section != nil {
		fr.section.Seek(n, io.SeekCurrent)
	}
}

// copyFrom copies src into the body through Write, with the connection's
// copy buffer.
func (w *response) copyFrom(src io.Reader) (int64, error) {
	c := w.c
	if c.copyBuf == nil {
		c.copyBuf = make([]byte, copyBufferSize)
	}
	var n int64
	for {
		m, rerr := src.Read(c.copyBuf)
		if m > 0 {
			if _, err := w.Write(c.copyBuf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// sendHeader chooses how the body is delimited and puts the status line
// and header fields in the write buffer, followed by the body held back so
// far. done says the handler has returned, so the body held back is all of
// it.
func (w *response) sendHeader(done bool) {
	c := w.c
	h := w.header
	w.headerSent = true
	bodyOK := bodyAllowedForStatus(w.status)
	isHEAD := w.req.Method == http.MethodHead

	var contentType string
	if bodyOK && !hasKey(h, "Content-Type") && len(c.pending) > 0 {
		contentType = http.DetectContentType(c.pending)
	}
	cl := w.contentLength
	if cl < 0 && done && bodyOK && (!isHEAD || len(c.pending) > 0) {
		cl = int64(len(c.pending))
	}
	switch {
	case !bodyOK:
		cl = -1
	case isHEAD || cl >= 0:
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
	default:
		w.closeAfter = true // HTTP/1.0: the end of the connection ends the body
	}

	// Will the connection carry another request?
	if hasToken(h["Connection"], "close") || c.srv.closing.Load() {
		w.closeAfter = true
	}
	if !done {
		// The handler may still read the body: if it does not read it
		// all, settle can throw away so much, and no more, of the rest.
		if more, n := w.body.unfinished(); more && (n < 0 || n > maxDrain || w.body.expectContinue && !w.body.sentContinue) {
			w.closeAfter = true
		}
	}
	// Say it both ways: the response is HTTP/1.1, which persists unless
	// "close" is said, even when the request was HTTP/1.0.
	var connection string
	switch {
	case w.closeAfter:
		connection = "close"
	case !w.req.ProtoAtLeast(1, 1):
		connection = "keep-alive"
	}
	_, handlerDate := h["Date"]

	// The fields, sorted by name, the server's among the handler's.
	c.keys = c.keys[:0]
	for k, vv := range h {
		switch k {
		case "Connection", "Content-Length", "Transfer-Encoding":
			continue
		case "Content-Type":
			if !bodyOK {
				continue
			}
		}
		if len(vv) > 0 {
			c.keys = append(c.keys, k)
		}
	}
	if connection != "" {
		c.keys = append(c.keys, "Connection")
	}
	if cl >= 0 {
		c.keys = append(c.keys, "Content-Length")
	}
	if contentType != "" {
		c.keys = append(c.keys, "Content-Type")
	}
	if !handlerDate {
		c.keys = append(c.keys, "Date")
	}
	if w.chunked {
		c.keys = append(c.keys, "Transfer-Encoding")
	}
	slices.Sort(c.keys)

	c.srv.traceStatus(w.status)
	b := appendStatusLine(c.out.buf, w.status)
	for _, k := range c.keys {
		switch {
		case k == "Connection":
			b = appendField(b, k, connection)
		case k == "Content-Length":
			b = append(b, "Content-Length: "...)
			b = strconv.AppendInt(b, cl, 10)
			b = append(b, "\r\n"...)
		case k == "Content-Type" && contentType != "":
			b = appendField(b, k, contentType)
		case k == "Date" && !handlerDate:
			b = append(b, "Date: "...)
			b = append(b, c.dateNow()...)
			b = append(b, "\r\n"...)
		case k == "Transfer-Encoding":
			b = append(b, "Transfer-Encoding: chunked\r\n"...)
		default:
			for _, v := range h[k] {
				b = appendField(b, k, v)
			}
		}
	}
	c.out.buf = append(b, "\r\n"...)
	if len(c.pending) > 0 {
		w.writeBody(c.pending)
		c.pending = c.pending[:0]
	}
}

// finish completes the response once the handler has returned: the header
// if it is still held back, the last chunk, and whether the connection
// can carry another request.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.done = true
	if w.contentLength >= 0 && w.written != w.contentLength && w.req.Method != http.MethodHead && bodyAllowedForStatus(w.status) {
		// Fewer bytes than promised: the client would take the next
		// response for the rest of this one.
		w.c.srv.logf("web: the handler for %s wrote %d bytes of the %d its Content-Length promised", w.req.URL.Path, w.written, w.contentLength)
		w.closeAfter = true
	}
	if !w.headerSent {
		// Read what is left of the body first: the header says whether
		// the connection stays open.
		w.body.settle()
		w.closeAfter = w.closeAfter || w.body.closeAfter
		w.sendHeader(true)
	}
	if w.chunked {
		w.c.out.buf = append(w.c.out.buf, "0\r\n\r\n"...)
	}
	w.header = nil // the connection's, for its next response
}

// writeError makes the response the server's own error answer.
func (w *response) writeError(code int) {
	w.wroteHeader = true
	w.status = code
	w.header = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	text := strconv.Itoa(code) + " " + http.StatusText(code) + "\n"
	w.c.pending = append(w.c.pending[:0], text...)
	w.sendHeader(true)
}

// bodyAllowedForStatus reports whether a response with this status may
// have a body (RFC 9110 §6.4.1): not 1xx, 204 or 304.
func bodyAllowedForStatus(code int) bool {
	switch {
	case code >= 100 && code <= 199:
		return false
	case code == http.StatusNoContent, code == http.StatusNotModified:
		return false
	}
	return true
}

// hasKey reports whether h names key, even with no value: a handler sets
// h["Date"] = nil to send no Date, and h["Content-Type"] = nil to keep the
// server from guessing one.
func hasKey(h http.Header, key string) bool {
	_, ok := h[key]
	return ok
}

// hasToken reports whether a comma-separated field has the token tok.
func hasToken(values []string, tok string) bool {
	for _, v := range values {
		for opt := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(opt, " \t"), tok) {
				return true
			}
		}
	}
	return false
}

// appendStatusLine appends "HTTP/1.1 200 OK\r\n". The server answers
// every request as HTTP/1.1, its own version, as RFC 9110 §2.5 asks.
func appendStatusLine(b []byte, code int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// appendField appends a field line. A name that is not a token is dropped,
// and CR and LF in a value become spaces, so that nothing a handler puts
// in a header can start a line of its own (response splitting).
func appendField(b []byte, name, value string) []byte {
	if !isToken(name) {
		return b
	}
	b = append(b, name...)
	b = append(b, ": "...)
	value = strings.Trim(value, " \t")
	if strings.ContainsAny(value, "\r\n") {
		for i := 0; i < len(value); i++ {
			if ch := value[i]; ch == '\r' || ch == '\n' {
				b = append(b, ' ')
			} else {
				b = append(b, ch)
			}
		}
	} else {
		b = append(b, value...)
	}
	return append(b, "\r\n"...)
}
