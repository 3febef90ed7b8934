package sockets

import (
	"bytes"
	"io"
	"net"
	"sync"
)

// maxTraceLine bounds what a transcript keeps of one line: a peer that
// sends a megabyte without a newline is printed in pieces of this size.
const maxTraceLine = 1024

// Trace returns a net.Conn that behaves exactly like conn and also prints
// the dialogue on w the way the slides print it: every line this side
// writes as "self: line" and every line it reads as "peer: line".
//
//	S: 220 hamburger.edu
//	C: HELO crepes.fr
//	S: 250 Hello crepes.fr, pleased to meet you
//
// A server passes ("S", "C"), a client ("C", "S"). Line endings are not
// printed, and each transcript line reaches w in a single Write. The two
// directions of one connection never write at once; connections that
// share a w need a w that is safe for concurrent use, such as os.Stdout
// or a *SyncWriter (a server wraps its Trace writer once with
// NewSyncWriter and passes that to Trace for every connection). If w is
// nil, Trace returns conn itself.
func Trace(conn net.Conn, w io.Writer, self, peer string) net.Conn {
	return TraceRedacted(conn, w, self, peer, nil)
}

// TraceRedacted is Trace with a censor: redact sees every line before it
// is printed, with fromPeer telling which side sent it, and returns what
// to print instead (the line itself, usually). A transcript can then show
// "C: AUTH PLAIN <redacted>" where the client sent its password. Calls to
// redact are never concurrent, and they come in the order the lines were
// read or written, so redact may keep state: "the server just asked for a
// password". A nil redact prints every line as it is.
func TraceRedacted(conn net.Conn, w io.Writer, self, peer string, redact func(fromPeer bool, line []byte) []byte) net.Conn {
	if w == nil {
		return conn
	}
	out, ok := w.(*SyncWriter)
	if !ok {
		out = NewSyncWriter(w)
	}
	c := &tracedConn{
		Conn:  conn,
		read:  lineTap{out: out, prefix: peer + ": "},
		wrote: lineTap{out: out, prefix: self + ": "},
	}
	if redact != nil {
		c.read.redact = func(line []byte) []byte {
			c.redactMu.Lock()
			defer c.redactMu.Unlock()
			return redact(true, line)
		}
		c.wrote.redact = func(line []byte) []byte {
			c.redactMu.Lock()
			defer c.redactMu.Unlock()
			return redact(false, line)
		}
	}
	return c
}

type tracedConn struct {
	net.Conn
	rmu, wmu    sync.Mutex
	read, wrote lineTap
	redactMu    sync.Mutex // one call of the redact function at a time
}

func (c *tracedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rmu.Lock()
		c.read.add(p[:n])
		c.rmu.Unlock()
	}
	return n, err
}

func (c *tracedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.wmu.Lock()
		c.wrote.add(p[:n])
		c.wmu.Unlock()
	}
	return n, err
}

// Close prints any unfinished line in each direction, then closes conn.
func (c *tracedConn) Close() error {
	c.rmu.Lock()
	c.read.flush()
	c.rmu.Unlock()
	c.wmu.Lock()
	c.wrote.flush()
	c.wmu.Unlock()
	return c.Conn.Close()
}

// lineTap cuts a byte stream into lines and prints each with a prefix.
type lineTap struct {
	out    *SyncWriter
	prefix string
	line   []byte
	redact func(line []byte) []byte // nil: print lines as they are
}

func (t *lineTap) add(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxTraceLine - len(t.line)
			if len(p) < room {
				t.line = append(t.line, p...)
				return
			}
			t.line = append(t.line, p[:room]...)
			p = p[room:]
			t.flush()
			continue
		}
		t.line = append(t.line, p[:i]...)
		p = p[i+1:]
		t.emit()
	}
}

// flush prints an unfinished line, if there is one.
func (t *lineTap) flush() {
	if len(t.line) > 0 {
		t.emit()
	}
}

// emit prints the current line, even an empty one: the blank line between
// a message's header and body belongs in the transcript.
func (t *lineTap) emit() {
	line := bytes.TrimSuffix(t.line, []byte("\r"))
	if t.redact != nil {
		line = t.redact(line)
	}
	msg := make([]byte, 0, len(t.prefix)+len(line)+1)
	msg = append(msg, t.prefix...)
	msg = append(msg, line...)
	msg = append(msg, '\n')
	t.out.Write(msg)
	t.line = t.line[:0]
}

// A SyncWriter lets several goroutines write to one writer, each Write
// whole: the traces of many connections, or a server's log and a
// client's, interleave line by line instead of byte by byte.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter returns w wrapped for concurrent use; w itself if it is
// already a *SyncWriter.
func NewSyncWriter(w io.Writer) *SyncWriter {
	if sw, ok := w.(*SyncWriter); ok {
		return sw
	}
	return &SyncWriter{w: w}
}

// Write writes p to the underlying writer while holding the lock.
func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
