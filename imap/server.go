package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"appnet.dev/sockets"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close. It is sockets.ErrServerClosed, the one value every appnet server
// returns.
var ErrServerClosed = sockets.ErrServerClosed

// A Server is an IMAP server. Its zero value, with a Backend, is ready to
// use.
type Server struct {
	// Addr is the address ListenAndServe listens on; default ":143".
	Addr string
	// Hostname is named in the greeting; default "localhost".
	Hostname string
	Backend  Backend

	// TLSConfig enables STARTTLS. Without TLS, LOGIN and AUTHENTICATE
	// are refused (LOGINDISABLED) unless AllowInsecureAuth is set, which
	// the loopback examples and tests do.
	TLSConfig         *tls.Config
	AllowInsecureAuth bool

	// AppendLimit is the largest message APPEND accepts (APPENDLIMIT);
	// default 32 MiB. A bigger literal is refused before the "+"
	// continuation with NO [TOOBIG].
	AppendLimit int64

	// ReadTimeout bounds the wait for each command (the RFC's
	// autologout timer, default 30 minutes); IdleTimeout bounds one IDLE
	// (default 29 minutes); PollInterval is how often a selected session
	// looks for changes made by other processes (default 500ms; changes
	// made in this process are seen at once).
	ReadTimeout  time.Duration
	IdleTimeout  time.Duration
	PollInterval time.Duration

	// Trace, if set, receives every session's dialogue ("S: ...",
	// "C: ..."), with passwords shown as "<redacted>": LOGIN's password
	// (atom, quoted string or literal) and what the client sends for
	// AUTHENTICATE ("C: a1 LOGIN bob <redacted>"). The server wraps it
	// once in a sockets.SyncWriter, so sessions running at the same time
	// print whole lines in turn: Trace itself need not be safe for
	// concurrent use.
	Trace io.Writer
	// ErrorLog receives errors of the store and of accepting; nil means
	// log.Default().
	ErrorLog *log.Logger

	life sockets.Lifecycle // listeners and sessions, from serving to closed
	meta metaCache

	traceOnce sync.Once
	trace     *sockets.SyncWriter // Trace, shared by every session (traceWriter)
}

func (srv *Server) hostname() string {
	if srv.Hostname == "" {
		return "localhost"
	}
	return srv.Hostname
}

func (srv *Server) appendLimit() int64 {
	if srv.AppendLimit <= 0 {
		return 32 << 20
	}
	return srv.AppendLimit
}

func durationOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (srv *Server) logf(format string, args ...any) {
	if srv.ErrorLog != nil {
		srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// ListenAndServe listens on Addr (default ":143") and serves.
func (srv *Server) ListenAndServe() error {
	addr := srv.Addr
	if addr == "" {
		addr = ":143"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine
// until Shutdown or Close; it then returns ErrServerClosed. It closes l
// when it returns. Passing errors of Accept (out of file descriptors, a
// client that gave up) are logged and waited out as sockets.AcceptRetry
// says; any other ends Serve.
func (srv *Server) Serve(l net.Listener) error {
	return srv.life.Serve(l, srv.serveConn, srv.ErrorLog)
}

// ServeConn serves one connection (say one end of net.Pipe) and returns
// when the session ends. Close and Shutdown wait for it; after them it
// closes c at once.
func (srv *Server) ServeConn(c net.Conn) {
	srv.life.ServeConn(c, srv.serveConn)
}

// serveConn runs one session on c, which the server's Lifecycle tracks.
func (srv *Server) serveConn(c net.Conn) {
	srv.newSession(c).serve()
}

// Shutdown stops accepting connections, tells sessions that are waiting
// for a command or idling to end (BYE) and the others to end after their
// command, and waits for every session to end or ctx to be done; then it
// closes what is left, as Close does.
func (srv *Server) Shutdown(ctx context.Context) error {
	return srv.life.Shutdown(ctx)
}

// Close closes the listeners and every connection at once, and waits for
// the sessions' goroutines (ServeConn's included) to end.
func (srv *Server) Close() error {
	return srv.life.Close()
}

// State is where an IMAP session stands (RFC 3501 §3).
type State int

const (
	NotAuthenticated State = iota // after the greeting: CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE
	Authenticated                 // mailbox commands: SELECT, LIST, APPEND…
	Selected                      // message commands on the selected mailbox: FETCH, STORE, SEARCH…
	Logout                        // after LOGOUT or BYE: the connection closes
)

func (s State) String() string {
	switch s {
	case NotAuthenticated:
		return "not authenticated"
	case Authenticated:
		return "authenticated"
	case Selected:
		return "selected"
	case Logout:
		return "logout"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// session is one client's connection.
type session struct {
	srv   *Server
	raw   net.Conn // the accepted connection
	conn  net.Conn // raw, or TLS over it, traced
	r     *reader
	w     *bufio.Writer
	state State
	tls   bool

	user     string
	store    Mailboxes
	box      Mailbox // the selected mailbox,
	boxName  string  // by the name it was selected with
	readOnly bool
	recent   [][2]uint32 // UID ranges [from, to) that are \Recent in this session
	rev2     bool        // the client sent ENABLE IMAP4rev2
	view     []viewMsg   // the session's sequence numbers: view[i] is message i+1
	pending  []Message   // the snapshot the view is built from, until a command needs it
	seen     []Message   // the mailbox's list when the view was last brought up to date

	litLimit     int64    // largest literal accepted for the string being read
	searchWord   string   // a search key's first word, read while looking for CHARSET
	searchReturn []string // SEARCH RETURN (...) options, after ENABLE IMAP4rev2
}

// viewMsg is a message as this session knows it.
type viewMsg struct {
	uid   uint32
	flags []string
}

func (srv *Server) newSession(c net.Conn) *session {
	s := &session{srv: srv, raw: c}
	s.setConn(c)
	return s
}

func (s *session) setConn(c net.Conn) {
	s.conn = c
	if w := s.srv.traceWriter(); w != nil {
		r := new(authRedactor) // passwords never reach the transcript
		s.conn = sockets.TraceRedacted(c, w, "S", "C", r.line)
	}
	s.r = newReader(bufio.NewReaderSize(s.conn, 16<<10))
	s.r.literal = s.checkLiteral
	s.r.maxTotal = 16 * MaxLine // what one command may hold in memory, messages streamed by APPEND aside
	s.w = bufio.NewWriterSize(s.conn, 16<<10)
}

// setWaiting marks the session as waiting for a command or idling (true)
// or working on a command (false), and reports whether the server is
// shutting down. Shutdown wakes a waiting session by moving its read
// deadline to now, so that it can say BYE (see sockets.Lifecycle.SetIdle):
// set the read deadline before calling setWaiting(true).
func (s *session) setWaiting(w bool) (closing bool) {
	return s.srv.life.SetIdle(s.raw, w)
}

// errFatal ends the session after a response that cannot be recovered from.
var errFatal = errors.New("imap: fatal")

// checkLiteral is called for every literal a client announces, before its
// data: a synchronising literal gets "+" only if it fits.
func (s *session) checkLiteral(n int64, nonSync bool) error {
	limit := s.litLimit
	switch {
	case limit < 0:
		limit = 0 // refused whatever its size
	case limit == 0:
		limit = MaxLine
	}
	if nonSync {
		if n > maxNonSync {
			return fmt.Errorf("%w: non-synchronising literal of %d bytes (LITERAL- allows %d)", errFatal, n, maxNonSync)
		}
		return nil
	}
	if n > limit {
		return &tooBig{n: n, limit: limit}
	}
	s.w.WriteString("+ Ready for literal data\r\n")
	return s.flush()
}

type tooBig struct{ n, limit int64 }

func (e *tooBig) Error() string {
	return fmt.Sprintf("imap: literal of %d bytes is over the limit of %d", e.n, e.limit)
}

func (s *session) flush() error {
	s.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	return s.w.Flush()
}

func (s *session) capabilities() string {
	caps := []string{"IMAP4rev1", "IMAP4rev2", "LITERAL-", "SASL-IR", "UIDPLUS", "MULTIAPPEND", "MOVE", "IDLE", "ENABLE", "ID",
		"UNSELECT", "CHILDREN", "NAMESPACE", "BINARY", fmt.Sprintf("APPENDLIMIT=%d", s.srv.appendLimit())}
	if s.srv.TLSConfig != nil && !s.tls {
		caps = append(caps, "STARTTLS")
	}
	if s.state == NotAuthenticated {
		if s.tls || s.srv.AllowInsecureAuth {
			caps = append(caps, "AUTH=PLAIN")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
	}
	return strings.Join(caps, " ")
}

func (s *session) serve() {
	defer s.conn.Close()
	if s.setWaiting(false) {
		fmt.Fprintf(s.w, "* BYE %s shutting down\r\n", s.srv.hostname())
		s.flush()
		return
	}
	fmt.Fprintf(s.w, "* OK [CAPABILITY %s] %s IMAP4rev1 service ready\r\n", s.capabilities(), s.srv.hostname())
	if s.flush() != nil {
		return
	}
	for s.state != Logout {
		if err := s.command(); err != nil {
			return
		}
		if s.flush() != nil {
			return
		}
	}
}

// command reads and runs one command. A non-nil error ends the session.
func (s *session) command() error {
	// The deadline first: once the session is waiting, Shutdown may move
	// it to now to wake the read, and that must not be undone.
	s.conn.SetReadDeadline(time.Now().Add(durationOr(s.srv.ReadTimeout, 30*time.Minute)))
	if s.setWaiting(true) {
		fmt.Fprintf(s.w, "* BYE %s shutting down\r\n", s.srv.hostname())
		s.flush()
		return errFatal
	}
	s.r.reset()
	s.litLimit = 0
	// Wait for the first byte of the command, then stop counting idle time.
	_, err := s.r.br.Peek(1)
	closing := s.setWaiting(false)
	if err != nil {
		if closing {
			fmt.Fprintf(s.w, "* BYE %s shutting down\r\n", s.srv.hostname())
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			fmt.Fprintf(s.w, "* BYE autologout: idle for too long\r\n")
		}
		s.flush()
		return err
	}
	// The rest of the command, literals included, must follow promptly.
	rest := 5 * time.Minute
	if s.srv.ReadTimeout > 0 && s.srv.ReadTimeout < rest {
		rest = s.srv.ReadTimeout
	}
	s.conn.SetReadDeadline(time.Now().Add(rest))
	tag, err := s.r.atom("")
	if err == nil && strings.ContainsRune(tag, '+') {
		err = syntaxErr("bad tag")
	}
	a := &args{s: s, err: err}
	name := strings.ToUpper(a.atom(""))
	if a.err != nil {
		return s.recover("*", a.err)
	}
	if err := s.dispatch(tag, name); err != nil {
		return s.recover(tag, err)
	}
	return nil
}

// recover answers a failed command and decides whether the session can go
// on.
func (s *session) recover(tag string, err error) error {
	var se *SyntaxError
	var tb *tooBig
	switch {
	case errors.As(err, &tb):
		// The client sent nothing after the announcement: the line is over.
		fmt.Fprintf(s.w, "%s NO [TOOBIG] %s\r\n", tag, tb.Error())
		return nil
	case errors.As(err, &se):
		fmt.Fprintf(s.w, "%s BAD %s\r\n", tag, se.What)
		if !s.r.eol && !s.r.skipLine() {
			return err
		}
		return nil
	case errors.Is(err, errFatal):
		fmt.Fprintf(s.w, "* BYE %v\r\n", err)
		s.flush()
		return err
	}
	return err // the connection broke
}

// The responses.

func (s *session) ok(tag, format string, args ...any) {
	s.w.WriteString(tag)
	s.w.WriteString(" OK ")
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

func (s *session) no(tag, format string, args ...any) {
	s.w.WriteString(tag)
	s.w.WriteString(" NO ")
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

func (s *session) bad(tag, format string, args ...any) {
	s.w.WriteString(tag)
	s.w.WriteString(" BAD ")
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

func (s *session) untagged(format string, args ...any) {
	s.w.WriteString("* ")
	fmt.Fprintf(s.w, format, args...)
	s.w.WriteString("\r\n")
}

// storeError answers a failed store operation without showing paths.
func (s *session) storeError(tag string, err error) {
	var st *StatusResponse
	switch {
	case errors.As(err, &st) && st.Code != "":
		s.no(tag, "[%s] %s", st.Code, st.Text)
	case errors.As(err, &st):
		s.no(tag, "%s", st.Text)
	case errors.Is(err, ErrNoMailbox):
		s.no(tag, "[NONEXISTENT] No such mailbox")
	case errors.Is(err, ErrMailboxExists):
		s.no(tag, "[ALREADYEXISTS] Mailbox already exists")
	case errors.Is(err, ErrNoMessage):
		s.no(tag, "[NONEXISTENT] No such message")
	default:
		s.srv.logf("imap: %s: %v", s.user, err)
		s.no(tag, "[SERVERBUG] Internal error, see the server's log")
	}
}
