package sockets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// readSize is how much a LineReader asks of the underlying reader at a
// time, and all it buffers besides the line being assembled.
const readSize = 4 << 10

// ErrLineTooLong is matched (with errors.Is) by the error a LineReader
// returns for a line longer than its limit.
var ErrLineTooLong = errors.New("sockets: line too long")

// LineTooLongError reports a line that exceeded a LineReader's limit. The
// rest of that line has already been read and thrown away, so the caller
// can answer with a protocol error (SMTP's "500 5.5.2 Line too long") and
// carry on with the next line.
type LineTooLongError struct {
	Max int // the limit, in bytes, counting the line ending
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("sockets: line longer than %d bytes", e.Max)
}

// Is makes errors.Is(err, ErrLineTooLong) true.
func (e *LineTooLongError) Is(target error) bool { return target == ErrLineTooLong }

// A LineReader reads the lines of a text protocol (SMTP, IMAP, the
// uppercase application) from a stream, with a hard limit on the length of
// a line. Unlike bufio.Reader it never holds more than the limit: a client
// that sends megabytes without a newline costs the server a fixed buffer.
//
// Lines end with LF; a CR before the LF belongs to the ending. ReadLine
// strips the ending; ReadRawLine keeps it as received, for protocols that
// must reject a bare LF or a bare CR (the SMTP smuggling defence).
//
// A LineReader does no I/O of its own beyond Read on the underlying
// reader; deadlines are the connection's.
type LineReader struct {
	r    io.Reader
	max  int
	buf  []byte // buf[start:end] is read but not yet returned
	lbuf []byte // the line being assembled when it spans refills
	// start and end index buf.
	start, end int
	err        error // sticky error from r
}

// NewLineReader returns a reader of lines of at most max bytes, counting
// the line ending (RFC 5321's 512 for a command line, 1000 for a text
// line). A max below 2 is treated as 2.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max < 2 {
		max = 2
	}
	// The buffer does not shrink with the limit: a server reading
	// 1000-byte lines still takes what a client sent in one read.
	return &LineReader{r: r, max: max, buf: make([]byte, readSize)}
}

// Max returns the reader's line limit.
func (lr *LineReader) Max() int { return lr.max }

// ReadLine returns the next line without its ending (CRLF or LF). The
// slice is valid until the next call. A line over the limit fails with a
// *LineTooLongError after being discarded; a partial line at the end of
// the stream fails with io.ErrUnexpectedEOF; the end of the stream at a
// line boundary is io.EOF.
func (lr *LineReader) ReadLine() ([]byte, error) {
	line, err := lr.ReadRawLine()
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1] // the LF
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// ReadRawLine returns the next line with its ending exactly as received:
// it always ends in LF, which may or may not follow a CR. Errors are as for
// ReadLine.
func (lr *LineReader) ReadRawLine() ([]byte, error) {
	lr.lbuf = lr.lbuf[:0]
	for {
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			chunk := lr.buf[lr.start : lr.start+i+1]
			lr.start += i + 1
			if len(lr.lbuf)+len(chunk) > lr.max {
				return nil, &LineTooLongError{Max: lr.max}
			}
			if len(lr.lbuf) == 0 {
				return chunk, nil
			}
			lr.lbuf = append(lr.lbuf, chunk...)
			return lr.lbuf, nil
		}
		// No newline in the buffer: keep what there is and read more.
		pending := lr.buf[lr.start:lr.end]
		if len(lr.lbuf)+len(pending) >= lr.max {
			lr.start, lr.end = 0, 0
			lr.lbuf = lr.lbuf[:0]
			if err := lr.discardLine(); err != nil {
				return nil, err
			}
			return nil, &LineTooLongError{Max: lr.max}
		}
		lr.lbuf = append(lr.lbuf, pending...)
		lr.start, lr.end = 0, 0
		if err := lr.fill(); err != nil {
			if err == io.EOF && len(lr.lbuf) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// discardLine reads and drops bytes up to and including the next LF,
// never keeping more than one buffer's worth.
func (lr *LineReader) discardLine() error {
	for {
		if err := lr.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if i := bytes.IndexByte(lr.buf[lr.start:lr.end], '\n'); i >= 0 {
			lr.start += i + 1
			return nil
		}
		lr.start, lr.end = 0, 0
	}
}

// fill reads once into the empty tail of buf. It is called only when
// buf[start:end] holds no newline, and with start == end == 0 after the
// caller moved the pending bytes out.
func (lr *LineReader) fill() error {
	if lr.err != nil {
		return lr.err
	}
	for tries := 0; tries < 100; tries++ {
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		if err != nil {
			lr.err = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	lr.err = io.ErrNoProgress
	return lr.err
}

// Read reads raw bytes: first what is buffered, then from the underlying
// reader. Protocols use it for counted data that follows a line: an IMAP
// literal, a BDAT chunk, a length-prefixed body.
func (lr *LineReader) Read(p []byte) (int, error) {
	if lr.start < lr.end {
		n := copy(p, lr.buf[lr.start:lr.end])
		lr.start += n
		return n, nil
	}
	if lr.err != nil {
		return 0, lr.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	return lr.r.Read(p)
}

// Buffered returns how many bytes have been read from the underlying
// reader but not yet returned. A server uses it to notice a client that
// pipelines where it may not (bytes after a command that must wait for
// the reply, as before STARTTLS).
func (lr *LineReader) Buffered() int { return lr.end - lr.start }

// Reset makes lr read from r, dropping anything buffered; for a
// connection upgraded in place, as by STARTTLS.
func (lr *LineReader) Reset(r io.Reader) {
	lr.r = r
	lr.start, lr.end = 0, 0
	lr.lbuf = lr.lbuf[:0]
	lr.err = nil
}
