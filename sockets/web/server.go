package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"appnet.dev/sockets"
)

// ErrServerClosed is returned by Serve and ListenAndServe once Shutdown or
// Close has begun. It is sockets.ErrServerClosed, the value every server of
// appnet returns; it is not net/http's http.ErrServerClosed, so code moved
// over from http.Server compares with this one (errors.Is works too).
var ErrServerClosed = sockets.ErrServerClosed

// Defaults for the zero values of Server's fields.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxBodyBytes      = 1 << 20
)

// Limits that are not configurable.
const (
	// MaxHeaderFields bounds the number of field lines in a request head
	// (431 beyond), whatever their size.
	MaxHeaderFields = 100
	// maxDrain bounds what the server reads and throws away of a body
	// the handler left unread, so that the connection can carry the next
	// request; when more is left, the connection is closed instead.
	maxDrain = 256 << 10
	// readBufferSize and writeBufferSize are the sizes of a connection's
	// buffers. The write buffer is also how much of a response body the
	// server holds back to learn its Content-Length.
	readBufferSize  = 4 << 10
	writeBufferSize = 4 << 10
	// copyBufferSize is the buffer io.Copy into a response reads with,
	// when the source is not a file.
	copyBufferSize = 16 << 10
	// Lingering close: after a request the server refused, or one whose
	// body the handler did not read, it goes on reading (and throwing
	// away) what the client still sends, so that closing does not reset
	// the connection and destroy the answer before the client has read it
	// — a client uploading a large body reads nothing until it has sent
	// it. It stops when the client has been quiet for lingerTimeout, after
	// lingerTime in all, or after maxLinger bytes (nginx's lingering_close
	// has the same two times, 5 s and 30 s by default, and no byte limit).
	lingerTimeout = time.Second
	lingerTime    = 5 * time.Second
	maxLinger     = 64 << 20
)

// A Server is an HTTP/1.1 server (RFC 9112) that serves every request with
// a net/http Handler. The zero value serves http.NotFoundHandler on
// 127.0.0.1:8080 with the default limits. Fields must not change once the
// server is serving.
type Server struct {
	Addr              string        // for ListenAndServe; DefaultAddr if empty
	Handler           http.Handler  // http.NotFoundHandler() if nil
	ReadHeaderTimeout time.Duration // to read a request line and its header; DefaultReadHeaderTimeout if zero
	IdleTimeout       time.Duration // to wait for the next request on a persistent connection; DefaultIdleTimeout if zero
	WriteTimeout      time.Duration // for the handler to read the body and write the response; DefaultWriteTimeout if zero
	MaxHeaderBytes    int           // request line and fields; DefaultMaxHeaderBytes if zero (414 and 431 beyond)
	MaxBodyBytes      int64         // what a handler may read of a request body; DefaultMaxBodyBytes if zero (413 beyond)

	// ConnContext, if set, returns the context that every request on a
	// new connection starts from, as in net/http.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	// ErrorLog receives handler panics, superfluous WriteHeader calls and
	// accept errors; nil means log.Default(), as for every appnet server.
	ErrorLog *log.Logger

	// Trace, if set, receives one "C:" line per request line and one "S:"
	// line per status line, as the slides show an HTTP exchange.
	Trace io.Writer

	life    sockets.Lifecycle
	closing atomic.Bool
	traceMu sync.Mutex
	now     func() time.Time // the Date fields' clock, for tests; time.Now if nil
}

// Serve accepts connections on l and serves each in its own goroutine
// until Shutdown or Close, after which it returns ErrServerClosed. It
// rides out accept errors that pass (sockets.AcceptRetry) and closes l
// when it returns.
func (s *Server) Serve(l net.Listener) error {
	return s.life.Serve(l, s.serveConn, s.errorLog())
}

// ListenAndServe listens on s.Addr (DefaultAddr if empty) and calls
// Serve.
func (s *Server) ListenAndServe() error {
	if s.life.Closing() {
		return ErrServerClosed
	}
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Shutdown stops the server gracefully: it closes the listeners, closes
// the connections waiting for their next request, lets each request being
// served finish (its response says "Connection: close" if it has not been
// sent yet), and waits for every connection to end. If ctx ends first, it
// closes the connections left, cancels their requests' contexts, waits for
// their handlers to return, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	return s.life.Shutdown(ctx)
}

// Close stops the server at once: listeners and connections are closed
// and requests' contexts cancelled. A handler runs in its connection's
// goroutine, and Close waits for those goroutines: handlers still running
// learn of Close from their context, and their writes fail.
func (s *Server) Close() error {
	s.closing.Store(true)
	return s.life.Close()
}

func (s *Server) handler() http.Handler {
	if s.Handler == nil {
		return http.NotFoundHandler()
	}
	return s.Handler
}

func (s *Server) errorLog() *log.Logger {
	if s.ErrorLog == nil {
		return log.Default()
	}
	return s.ErrorLog
}

func (s *Server) logf(format string, args ...any) {
	s.errorLog().Printf(format, args...)
}

// traceRequest, traceRefusal and traceStatus write the Trace lines; they
// take no ...any, so that they cost nothing when Trace is nil.
func (s *Server) traceRequest(r *http.Request) {
	if s.Trace != nil {
		s.tracef("C: %s %s %s", r.Method, r.RequestURI, r.Proto)
	}
}

func (s *Server) traceRefusal(re *requestError) {
	if s.Trace != nil {
		s.tracef("C: (refused: %d %s)", re.code, re.reason)
	}
}

func (s *Server) traceStatus(code int) {
	if s.Trace != nil {
		s.tracef("S: HTTP/1.1 %d %s", code, http.StatusText(code))
	}
}

func (s *Server) tracef(format string, args ...any) {
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	fmt.Fprintf(s.Trace, format+"\n", args...)
}

func (s *Server) readHeaderTimeout() time.Duration {
	return orDefault(s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
}

func (s *Server) idleTimeout() time.Duration { return orDefault(s.IdleTimeout, DefaultIdleTimeout) }

func (s *Server) writeTimeout() time.Duration { return orDefault(s.WriteTimeout, DefaultWriteTimeout) }

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes <= 0 {
		return DefaultMaxHeaderBytes
	}
	return s.MaxHeaderBytes
}

func (s *Server) maxBodyBytes() int64 {
	if s.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return s.MaxBodyBytes
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// A conn is the server's side of one TCP connection: the socket accept
// returned, its buffers, and what stays the same from one request to the
// next.
type conn struct {
	srv        *Server
	nc         net.Conn
	tcp        *net.TCPConn // nc, when it is a TCP socket (for sendfile)
	br         *bufio.Reader
	out        outBuffer
	ctx        context.Context
	remoteAddr string

	head    []byte           // the request head being read
	keys    []string         // the response's field names, to sort them
	header  http.Header      // the response's header fields, reused response after response
	pending []byte           // response body held back until its length is known
	dateSec int64            // the second date was formatted for
	date    []byte           // "Mon, 02 Jan 2006 15:04:05 GMT"
	now     time.Time        // when the request being served began
	copyBuf []byte           // for io.Copy into a response; made when first needed
	lr      io.LimitedReader // the file copyFile sends
	sf      sendfileCall
	sock    io.Reader // what requests are read from: nc, or on Linux its rawSocket
}

// copyFile sends limit bytes of r (all that is left if limit < 0) with
// the net package's TCPConn.ReadFrom, which uses sendfile(2) or splice(2)
// when it can, after what the write buffer holds.
func (c *conn) copyFile(r io.Reader, limit int64) (int64, error) {
	if err := c.out.flush(); err != nil {
		return 0, err
	}
	src := r
	if limit >= 0 {
		c.lr = io.LimitedReader{R: r, N: limit}
		src = &c.lr
	}
	n, err := c.tcp.ReadFrom(src)
	c.lr.R = nil
	if err != nil {
		c.out.err = err
	}
	return n, err
}

// serveConn is the persistent-connection loop: wait for a request, read
// its head, hand it to the handler, finish the response, and go round
// again until either side asks to close, a timeout passes, or the server
// shuts down.
func (s *Server) serveConn(nc net.Conn) {
	c := &conn{srv: s, nc: nc, remoteAddr: nc.RemoteAddr().String()}
	c.tcp, _ = nc.(*net.TCPConn)
	c.sock = nc
	c.out = outBuffer{nc: nc, buf: make([]byte, 0, writeBufferSize)}
	c.out.w = connWriter{nc, &c.out.iov}
	c.initSocket()
	c.pending = make([]byte, 0, writeBufferSize)
	c.br = bufio.NewReaderSize(flushingReader{c}, readBufferSize)
	ctx := context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr())
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, nc)
		if ctx == nil {
			panic("web: ConnContext returned nil")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life.Context(), cancel)
	defer stop()
	defer cancel()
	c.ctx = ctx
	defer c.out.flush() // whatever the way out, the answers given so far leave

	for {
		if !c.waitForRequest() {
			return
		}
		// The request has begun: its head must come within
		// ReadHeaderTimeout, unless it is all here already (the usual
		// case: then no deadline needs moving).
		c.now = time.Now()
		if !headBuffered(c.br) {
			nc.SetReadDeadline(c.now.Add(s.readHeaderTimeout()))
		}
		e, err := c.readRequest()
		if err != nil {
			var re *requestError
			if errors.As(err, &re) {
				c.refuse(re)
			}
			return
		}
		if !c.serve(e) {
			return
		}
	}
}

// headBuffered reports whether the read buffer holds a complete request
// head: its empty line (not one of those that may come before it).
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	b = bytes.TrimLeft(b, "\r\n")
	return bytes.Contains(b, []byte("\n\r\n")) || bytes.Contains(b, []byte("\n\n"))
}

// waitForRequest waits, up to IdleTimeout, for the first byte of the next
// request, and reports whether one came. While it waits the connection is
// idle, and Shutdown closes it.
func (c *conn) waitForRequest() bool {
	s := c.srv
	if c.br.Buffered() > 0 { // pipelined: the request is already here
		return !s.closing.Load()
	}
	c.nc.SetReadDeadline(time.Now().Add(s.idleTimeout()))
	if s.life.SetIdle(c.nc, true) {
		c.out.flush()
		return false
	}
	_, err := c.br.Peek(1) // flushes the responses still buffered first
	closing := s.life.SetIdle(c.nc, false)
	return err == nil && !closing
}

// serve hands one request to the handler and finishes its response. It
// reports whether the connection may carry another request.
func (c *conn) serve(e *exchange) (keepAlive bool) {
	s := c.srv
	s.traceRequest(&e.req)
	// The handler's body reads and response writes share one deadline.
	c.nc.SetWriteDeadline(c.now.Add(s.writeTimeout()))
	if e.req.Body != http.NoBody {
		c.nc.SetReadDeadline(c.now.Add(s.writeTimeout()))
	}
	w := &e.resp
	if s.closing.Load() {
		w.closeAfter = true
	}
	if !c.runHandler(e) {
		c.out.flush()
		if more, _ := e.body.unfinished(); more {
			c.linger()
		}
		return false
	}
	w.finish()
	if w.closeAfter {
		e.body.done = true // no need to find the next request
	} else {
		e.body.finish()
	}
	if w.closeAfter || e.body.closeAfter || c.out.err != nil {
		c.out.flush()
		if more, _ := e.body.unfinished(); more || e.body.unread {
			c.linger()
		}
		return false
	}
	return true
}

// runHandler calls the handler, recovering a panic. After a panic the
// client gets a 500 if nothing of the response was sent yet, and the
// connection is closed: runHandler then reports false.
func (c *conn) runHandler(e *exchange) (ok bool) {
	w := &e.resp
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.logf("web: panic serving %s: %v\n%s", c.remoteAddr, v, buf)
			}
			if !w.headerSent {
				w.reset()
				w.closeAfter = true
				w.writeError(http.StatusInternalServerError)
			}
			w.done, e.body.done = true, true
			ok = false
		}
	}()
	c.srv.handler().ServeHTTP(w, &e.req)
	return true
}

// refuse answers a request the server could not accept with its status
// and reason, and closes the connection.
func (c *conn) refuse(re *requestError) {
	c.nc.SetWriteDeadline(c.now.Add(c.srv.writeTimeout()))
	c.srv.traceRefusal(re)
	body := fmt.Sprintf("%d %s: %s\n", re.code, http.StatusText(re.code), re.reason)
	c.writeSimple(re.code, body)
	c.out.flush()
	c.linger()
}

// writeSimple writes a complete response of the server's own: status,
// plain-text body, and "Connection: close".
func (c *conn) writeSimple(code int, body string) {
	c.srv.traceStatus(code)
	b := c.out.buf
	b = appendStatusLine(b, code)
	b = append(b, "Connection: close\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nDate: "...)
	b = append(b, c.dateNow()...)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	c.out.buf = b
}

// linger closes the sending half of the connection and reads what the
// client still sends, for a while (see lingerTime), before the socket is
// closed:
// closing a socket with unread data in it makes the system send a reset,
// which can destroy the response the client has not read yet.
func (c *conn) linger() {
	if c.tcp == nil || c.out.err != nil {
		return
	}
	if err := c.tcp.CloseWrite(); err != nil {
		return
	}
	start := time.Now()
	buf := make([]byte, copyBufferSize)
	for n := 0; n < maxLinger; {
		now := time.Now()
		if now.Sub(start) >= lingerTime {
			return
		}
		deadline := now.Add(lingerTimeout)
		if end := start.Add(lingerTime); end.Before(deadline) {
			deadline = end
		}
		c.nc.SetReadDeadline(deadline)
		m, err := c.nc.Read(buf)
		n += m
		if err != nil {
			return
		}
	}
}

// dateNow returns the Date field's value for the request being served,
// formatted once a second.
func (c *conn) dateNow() []byte {
	now := c.now
	if c.srv.now != nil {
		now = c.srv.now()
	}
	if sec := now.Unix(); sec != c.dateSec || c.date == nil {
		c.date = now.UTC().AppendFormat(c.date[:0], http.TimeFormat)
		c.dateSec = sec
	}
	return c.date
}

// flushingReader is what a connection's bufio.Reader reads from: before
// the server blocks waiting for more of the client's bytes, it sends the
// responses it has buffered. So responses to pipelined requests leave in
// one write, and a response is never held back while the server waits.
type flushingReader struct{ c *conn }

func (r flushingReader) Read(p []byte) (int, error) {
	if err := r.c.out.flush(); err != nil {
		return 0, err
	}
	return r.c.sock.Read(p)
}

// outBuffer is a connection's write buffer, append-style: responses are
// appended to buf and leave when it is flushed. A write larger than the
// buffer leaves at once, with what was buffered, in one writev.
type outBuffer struct {
	nc  net.Conn // the connection
	w   writevWriter
	buf []byte
	err error // the first write error; nothing is written after it
	iov [2][]byte
}

// A writevWriter sends a buffer, or two in one writev(2): on Linux the
// connection's rawSocket, elsewhere connWriter.
type writevWriter interface {
	io.Writer
	writev(a, b []byte) error
}

// connWriter is a writevWriter made of a net.Conn, whose writev is
// net.Buffers'.
type connWriter struct {
	net.Conn
	iov *[2][]byte
}

func (w connWriter) writev(a, b []byte) error {
	w.iov[0], w.iov[1] = a, b
	bufs := net.Buffers(w.iov[:])
	_, err := bufs.WriteTo(w.Conn)
	w.iov[0], w.iov[1] = nil, nil
	return err
}

func (o *outBuffer) flush() error {
	if o.err != nil {
		return o.err
	}
	if len(o.buf) == 0 {
		return nil
	}
	_, o.err = o.w.Write(o.buf)
	o.buf = o.buf[:0]
	if cap(o.buf) > 16*writeBufferSize {
		o.buf = make([]byte, 0, writeBufferSize) // a huge header passed: let it go
	}
	return o.err
}

// write appends p, or sends the buffer and p together when p would not
// fit.
func (o *outBuffer) write(p []byte) error {
	if o.err != nil {
		return o.err
	}
	if len(o.buf)+len(p) <= cap(o.buf) {
		o.buf = append(o.buf, p...)
		return nil
	}
	if len(p) < cap(o.buf)/2 {
		if o.flush() != nil {
			return o.err
		}
		o.buf = append(o.buf, p...)
		return nil
	}
	o.err = o.w.writev(o.buf, p)
	o.buf = o.buf[:0]
	return o.err
}
