package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"appnet.dev/sockets"
)

// A Server is the receiving side of SMTP (RFC 5321): Bob's mail server,
// hamburger.edu in the lecture. It greets, takes HELO or EHLO, then any
// number of MAIL, RCPT+, DATA transactions on one connection, and hands
// each accepted message to its Backend before answering 250.
//
// The zero value is a server for "localhost" that discards mail; set
// Domain and Backend. Fields must not change once Serve is called.
type Server struct {
	// Addr is the address ListenAndServe listens on; default ":25".
	Addr string
	// Domain is the server's name, in its greeting and Received: fields.
	Domain string
	// Greeting is text after the domain in the 220 greeting; default
	// none, as in the lecture's "220 hamburger.edu". Some clients
	// (smtp-source, old mailers) say EHLO only if it contains "ESMTP".
	Greeting string
	// LocalDomains lists the domains mail is accepted for; default
	// []string{Domain}. RCPT TO any other domain is relaying, refused with
	// 554 5.7.1 unless the session authenticated and the Backend is a
	// Relayer that relays to that domain.
	LocalDomains []string
	// Backend stores accepted mail; nil discards it.
	Backend Backend

	// TLSConfig, if set, offers STARTTLS (RFC 3207).
	TLSConfig *tls.Config
	// Authenticate, if set, offers AUTH PLAIN and LOGIN (RFC 4954),
	// only after STARTTLS unless AllowInsecureAuth. A nil error accepts.
	Authenticate      func(ctx context.Context, user, password string) error
	AllowInsecureAuth bool

	// MaxMessageBytes is the SIZE limit; default 10 MB.
	MaxMessageBytes int64
	// MaxRecipients per message; default 100 (RFC 5321 §4.5.3.1.8).
	MaxRecipients int
	// MaxErrors is how many bad commands a session may send before it is
	// closed with 421; default 10.
	MaxErrors int
	// MaxCommands bounds the commands of one session; default 10000.
	MaxCommands int

	// CommandTimeout bounds the wait for each command, DataTimeout for
	// each line of a message (RFC 5321 §4.5.3.2: 5 and 3 minutes, the
	// defaults). The TLS handshake has CommandTimeout too.
	CommandTimeout time.Duration
	DataTimeout    time.Duration

	// Trace, if set, receives every session's dialogue ("S: 220 …",
	// "C: HELO …"), with AUTH credentials shown as "<redacted>". The
	// server wraps it once in a sockets.SyncWriter, so sessions running
	// at the same time print whole lines in turn: Trace itself need not
	// be safe for concurrent use.
	Trace io.Writer
	// ErrorLog receives errors from accepting and delivering; nil means
	// log.Default().
	ErrorLog *log.Logger
	// Now is the clock for Received: dates; nil means time.Now.
	Now func() time.Time

	// life tracks listeners and sessions through serving, shutting down
	// and closed. Its Context is the parent of every session's context:
	// Close cancels it, so a Backend in the middle of a delivery is told
	// to stop.
	life sockets.Lifecycle
	seq  atomic.Int64

	traceOnce sync.Once
	trace     *sockets.SyncWriter // Trace, shared by every session (traceWriter)
}

// state is where a session is in the dialogue of the slides:
// greeting → HELO/EHLO → MAIL → RCPT+ → DATA → … → QUIT.
// A session's state. The slides' three phases of a transfer map onto the
// states: handshaking (stateGreeted until HELO/EHLO), transfer of
// messages (stateReady, stateMail, stateRcpt, then DATA back to
// stateReady, as often as the client likes on one connection), and
// closure (QUIT to stateClosed). phase names the phase of a state.
type state int

const (
	stateGreeted state = iota // handshaking: 220 sent, waiting for HELO/EHLO
	stateReady                // transfer: introduced, no transaction open
	stateMail                 // transfer: MAIL accepted, waiting for RCPT
	stateRcpt                 // transfer: at least one RCPT accepted, DATA may follow
	stateClosed               // closure: QUIT or an error ended the session
)

// phase returns the slides' name for the phase a state belongs to.
func (s state) phase() string {
	switch s {
	case stateGreeted:
		return "handshaking"
	case stateClosed:
		return "closure"
	default:
		return "transfer"
	}
}

// String names the state with its phase, as "transfer/mail".
func (s state) String() string {
	var name string
	switch s {
	case stateGreeted:
		name = "greeted"
	case stateReady:
		name = "ready"
	case stateMail:
		name = "mail"
	case stateRcpt:
		name = "rcpt"
	case stateClosed:
		name = "closed"
	default:
		return "state(" + strconv.Itoa(int(s)) + ")"
	}
	return s.phase() + "/" + name
}

func (srv *Server) domain() string {
	if srv.Domain == "" {
		return "localhost"
	}
	return srv.Domain
}

func (srv *Server) now() time.Time {
	if srv.Now != nil {
		return srv.Now()
	}
	return time.Now()
}

func orInt(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func orDur(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

func (srv *Server) commandTimeout() time.Duration { return orDur(srv.CommandTimeout, 5*time.Minute) }
func (srv *Server) dataTimeout() time.Duration    { return orDur(srv.DataTimeout, 3*time.Minute) }

func (srv *Server) backend() Backend {
	if srv.Backend == nil {
		return Discard{}
	}
	return srv.Backend
}

func (srv *Server) maxSize() int64 {
	if srv.MaxMessageBytes <= 0 {
		return 10 << 20
	}
	return srv.MaxMessageBytes
}

func (srv *Server) logf(format string, args ...any) {
	if srv.ErrorLog != nil {
		srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// isLocal reports whether mail for domain is ours to accept.
func (srv *Server) isLocal(domain string) bool {
	if domain == "" { // <postmaster>
		return true
	}
	list := srv.LocalDomains
	if list == nil {
		list = []string{srv.domain()}
	}
	for _, d := range list {
		if strings.EqualFold(strings.TrimSuffix(d, "."), domain) {
			return true
		}
	}
	return false
}

// ListenAndServe listens on Addr (default ":25") and serves.
func (srv *Server) ListenAndServe() error {
	addr := srv.Addr
	if addr == "" {
		addr = ":25"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// Serve accepts connections on l and serves each in its own goroutine
// until Shutdown or Close, when it returns ErrServerClosed. It closes l.
// Accept errors that pass (out of file descriptors for a moment, a
// client that gave up before it was accepted) are logged and waited out,
// as sockets.AcceptRetry says, rather than stop the serving.
func (srv *Server) Serve(l net.Listener) error {
	return srv.life.Serve(l, srv.serveConn, srv.ErrorLog)
}

// ServeConn serves one connection in the calling goroutine, as for a
// connection from net.Pipe. Shutdown and Close end it as they end the
// sessions Serve started.
func (srv *Server) ServeConn(c net.Conn) {
	srv.life.ServeConn(c, srv.serveConn)
}

// serveConn runs one session on c, which the server's Lifecycle tracks.
func (srv *Server) serveConn(c net.Conn) {
	ctx, cancel := context.WithCancel(srv.life.Context())
	s := &session{srv: srv, raw: c, ctx: ctx, cancel: cancel}
	s.setConn(c)
	s.serve()
}

// Shutdown stops accepting, lets sessions finish the transaction they are
// in, closes idle ones with "421 4.3.2", and waits for all of them, or
// until ctx is done: then it does what Close does, cancelling the
// deliveries still running, and waits for them.
func (srv *Server) Shutdown(ctx context.Context) error {
	return srv.life.Shutdown(ctx)
}

// Close closes the listeners and every connection at once, cancels the
// context of every session (so a Backend in the middle of Deliver is told
// to give up), and waits for every session to end.
func (srv *Server) Close() error {
	return srv.life.Close()
}

// A session is one client connection.
type session struct {
	srv     *Server
	raw     net.Conn            // the TCP connection, for deadlines and closing
	tlsConn *tls.Conn           // after STARTTLS
	conn    net.Conn            // what is read and written: raw, TLS, traced
	br      *bufio.Reader       // what the client sent, read readSize at a time
	lr      *sockets.LineReader // lines from br
	w       *bufio.Writer
	state   state
	ctx     context.Context // cancelled by Close and when the session ends
	cancel  context.CancelFunc

	rdl time.Time // the read deadline last set
	wdl time.Time // the write deadline last set

	helo     string
	esmtp    bool
	tls      bool
	authUser string
	env      *Envelope
	errors   int
	chunks   *chunkState // a BDAT transfer in progress

	// For DATA, reused by every message of the session.
	dr   dataReader
	msg  messageReader
	head []byte // the Received: field

	scratch []byte // for replyPath
}

// maxLine is the line reader's limit: longer data lines are refused, and
// command lines are held to MaxCommandLine after reading.
const maxLine = 64 << 10

// readSize is how much a session asks of the connection at a time: a
// whole 5 KiB message, as smtp-source sends it in one write after the
// 354, comes in with one read (the line reader alone reads 4 KiB).
const readSize = 16 << 10

func (s *session) setConn(c net.Conn) {
	s.conn = c
	if w := s.srv.traceWriter(); w != nil {
		r := new(authRedactor) // credentials never reach the transcript
		s.conn = sockets.TraceRedacted(c, w, "S", "C", r.line)
	}
	if s.lr == nil {
		s.br = bufio.NewReaderSize(s.conn, readSize)
		s.lr = sockets.NewLineReader(s.br, maxLine)
		s.w = bufio.NewWriterSize(s.conn, 4096)
	} else {
		s.br.Reset(s.conn)
		s.lr.Reset(s.br)
		s.w.Reset(s.conn)
	}
}

// buffered is how many bytes the client sent that the session has read
// from the connection and not yet used: 0 means the next read waits for
// the client.
func (s *session) buffered() int { return s.lr.Buffered() + s.br.Buffered() }

// setIdle marks the session as waiting for a command (true) or working on
// one (false), and reports whether the server is shutting down. Shutdown
// wakes a session waiting for a command, so it can say 421 (see
// sockets.Lifecycle.SetIdle).
func (s *session) setIdle(idle bool) (closing bool) {
	return s.srv.life.SetIdle(s.raw, idle)
}

// readDeadline moves the read and write deadlines to about now+d before
// each line is read. A write always follows a read, so the write deadline
// set here covers the reply.
//
// Moving a deadline is a timer change in the runtime's network poller,
// and a 5 KiB message is some 80 lines: setting both deadlines for every
// line cut the smtp-source rate by about a third on the course machine
// (BenchmarkSmtpSource/discard, -s 20, 5 KiB messages: about 13k msg/s
// against 20k). Reading the clock costs nothing measurable, so it is read
// for every line, and a deadline moves only when it would move by more
// than an eighth of d (or back, when d shrinks): each line gets between
// 7/8 of d and d, never less.
func (s *session) readDeadline(d time.Duration) {
	now := time.Now()
	next := now.Add(d)
	if next.Sub(s.rdl) > d/8 || next.Before(s.rdl) {
		s.rdl = next
		s.raw.SetReadDeadline(next)
	}
	wnext := now.Add(s.srv.commandTimeout())
	if wnext.Sub(s.wdl) > d/8 {
		s.wdl = wnext
		s.raw.SetWriteDeadline(wnext)
	}
}

func (s *session) reply(code int, enhanced, format string, args ...any) {
	text := format // most replies are fixed text: no formatting to do
	if len(args) > 0 {
		text = fmt.Sprintf(format, args...)
	}
	r := Reply{Code: code, Enhanced: s.enhanced(code, enhanced), Text: []string{text}}
	s.writeReply(&r)
}

// enhanced returns the enhanced status code a reply carries: RFC 2034
// codes are for clients that said EHLO, and errors always get theirs.
func (s *session) enhanced(code int, enhanced string) string {
	if s.esmtp || code >= 400 {
		return enhanced
	}
	return ""
}

// replyPath answers MAIL or RCPT with the path and text ("250 2.1.0
// alice@crepes.fr... Sender ok"), put together in a buffer of the session
// rather than by fmt: it is sent twice for every message.
func (s *session) replyPath(code int, enhanced string, p Path, text string) {
	s.scratch = append(p.appendTo(s.scratch[:0]), text...)
	s.w.Write(appendReplyLine(s.w.AvailableBuffer(), code, false, s.enhanced(code, enhanced), s.scratch))
}

// writeReply formats r straight into the writer's free space (it grows
// into a fresh slice only for a reply longer than that), so a reply costs
// no allocation.
func (s *session) writeReply(r *Reply) {
	s.w.Write(r.appendTo(s.w.AvailableBuffer()))
}

// flush sends the buffered replies when the client has nothing more
// pipelined, so a pipelined group gets its replies in one segment.
func (s *session) flush(force bool) error {
	if !force && s.buffered() > 0 {
		return nil
	}
	return s.w.Flush()
}

func (s *session) serve() {
	defer func() {
		s.cancel()
		s.abortChunks()
		if s.tlsConn != nil {
			s.tlsConn.SetWriteDeadline(time.Now().Add(time.Second))
			s.tlsConn.Close()
		}
		s.raw.Close()
	}()
	srv := s.srv
	if srv.Greeting != "" {
		s.reply(220, "", "%s %s", srv.domain(), srv.Greeting)
	} else {
		s.reply(220, "", "%s", srv.domain())
	}
	maxCmds := orInt(srv.MaxCommands, 10000)
	for n := 0; s.state != stateClosed; n++ {
		if err := s.flush(false); err != nil {
			return
		}
		if n >= maxCmds {
			s.closeWith(421, "4.7.0", "too many commands, closing connection")
			return
		}
		// The deadline first: once the session is idle, Shutdown may
		// move it to now to wake the read, and must not be undone.
		s.readDeadline(srv.commandTimeout())
		if s.setIdle(true) {
			s.closeWith(421, "4.3.2", "service shutting down")
			return
		}
		line, err := s.lr.ReadRawLine()
		if s.setIdle(false) && err != nil {
			s.closeWith(421, "4.3.2", "service shutting down")
			return
		}
		if err != nil {
			if errors.Is(err, sockets.ErrLineTooLong) {
				s.bad(500, "5.5.2", "line too long")
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.closeWith(421, "4.4.2", "timeout exceeded, closing connection")
			}
			return
		}
		if len(line) > MaxCommandLine && !s.inAuth(line) {
			s.bad(500, "5.5.2", "line too long")
			continue
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			s.bad(550, "5.5.2", "bare LF in command")
			continue
		}
		text := string(line[:len(line)-2])
		if strings.ContainsAny(text, "\r\x00") {
			s.bad(550, "5.5.2", "bare CR or NUL in command")
			continue
		}
		s.dispatch(parseCommand(text))
	}
	s.flush(true)
}

// closeWith says why the server ends the session ("421 4.3.2
// hamburger.edu service shutting down") and flushes it, giving a client
// that does not read a second at most.
func (s *session) closeWith(code int, enhanced, text string) {
	s.reply(code, enhanced, "%s %s", s.srv.domain(), text)
	s.raw.SetWriteDeadline(time.Now().Add(time.Second))
	s.flush(true)
	s.state = stateClosed
}

// inAuth allows longer lines for AUTH's initial response (RFC 4954 §4).
func (s *session) inAuth(line []byte) bool {
	return len(line) <= 12288 && len(line) > 5 && strings.EqualFold(string(line[:5]), "AUTH ")
}

// bad answers a broken command and counts it; too many end the session.
func (s *session) bad(code int, enhanced, format string, args ...any) {
	s.reply(code, enhanced, format, args...)
	s.errors++
	if s.errors >= orInt(s.srv.MaxErrors, 10) {
		s.reply(421, "4.7.0", "%s too many errors, closing connection", s.srv.domain())
		s.state = stateClosed
	}
}

// dispatch is the state machine: one switch over the commands, each
// checking the state it needs.
func (s *session) dispatch(c command) {
	switch c.verb {
	case "HELO", "EHLO":
		s.hello(c)
	case "MAIL":
		s.mail(c)
	case "RCPT":
		s.rcpt(c)
	case "DATA":
		s.data(c)
	case "BDAT":
		s.bdat(c)
	case "RSET":
		if c.arg != "" {
			s.bad(501, "5.5.4", "syntax: RSET takes no argument")
			return
		}
		s.reset()
		s.reply(250, "2.0.0", "OK")
	case "NOOP":
		s.reply(250, "2.0.0", "OK")
	case "VRFY":
		// RFC 5321 §3.5.3: 252 neither confirms nor denies.
		s.reply(252, "2.1.5", "cannot VRFY user, but will accept message and attempt delivery")
	case "HELP":
		s.reply(214, "2.0.0", "commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT STARTTLS AUTH")
	case "QUIT":
		s.reply(221, "2.0.0", "%s closing connection", s.srv.domain())
		s.state = stateClosed
	case "STARTTLS":
		s.startTLS(c)
	case "AUTH":
		s.auth(c)
	case "EXPN":
		s.reply(502, "5.5.1", "EXPN not available")
	default:
		s.bad(500, "5.5.2", "command not recognized")
	}
}

// reset aborts the transaction (RSET, HELO, or after DATA).
func (s *session) reset() {
	s.abortChunks()
	s.env = nil
	if s.state > stateReady && s.state != stateClosed {
		s.state = stateReady
	}
}

func (s *session) hello(c command) {
	if c.arg == "" || strings.ContainsAny(c.arg, " \t") && c.verb == "HELO" {
		s.bad(501, "5.5.4", "syntax: %s hostname", c.verb)
		return
	}
	s.reset()
	s.helo = strings.Fields(c.arg)[0]
	s.state = stateReady
	srv := s.srv
	if c.verb == "HELO" {
		s.esmtp = false
		s.reply(250, "", "Hello %s, pleased to meet you", s.helo)
		return
	}
	s.esmtp = true
	lines := []string{
		fmt.Sprintf("%s Hello %s, pleased to meet you", srv.domain(), s.helo),
		"PIPELINING",
		"SIZE " + strconv.FormatInt(srv.maxSize(), 10),
		"8BITMIME",
		"CHUNKING",
		"SMTPUTF8",
		"ENHANCEDSTATUSCODES",
	}
	if srv.TLSConfig != nil && !s.tls {
		lines = append(lines, "STARTTLS")
	}
	if srv.Authenticate != nil && (s.tls || srv.AllowInsecureAuth) && s.authUser == "" {
		lines = append(lines, "AUTH PLAIN LOGIN")
	}
	s.writeReply(&Reply{Code: 250, Text: lines})
}

func (s *session) mail(c command) {
	switch {
	case s.state == stateGreeted:
		s.bad(503, "5.5.1", "send HELO or EHLO first")
		return
	case s.state != stateReady:
		s.bad(503, "5.5.1", "nested MAIL command")
		return
	}
	from, params, err := parsePathArg(c.arg, "FROM", false)
	if err != nil {
		s.bad(501, "5.1.7", "%s", strings.TrimPrefix(err.Error(), "smtp: "))
		return
	}
	env := &Envelope{From: from, Helo: s.helo, RemoteAddr: s.raw.RemoteAddr(), TLS: s.tls, AuthUser: s.authUser}
	for k, v := range params {
		switch k {
		case "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				s.bad(501, "5.5.4", "syntax: bad SIZE")
				return
			}
			if n > s.srv.maxSize() {
				s.reply(552, "5.3.4", "message size exceeds fixed limit of %d", s.srv.maxSize())
				return
			}
			env.Size = n
		case "BODY":
			switch strings.ToUpper(v) {
			case "8BITMIME":
				env.Body8Bit = true
			case "7BIT":
			default:
				s.bad(501, "5.5.4", "syntax: bad BODY")
				return
			}
		case "SMTPUTF8":
			env.UTF8 = true
		case "AUTH":
			// RFC 4954 §5: accepted and ignored from untrusted clients.
		default:
			s.bad(555, "5.5.4", "unsupported parameter %s", k)
			return
		}
	}
	if !s.esmtp && len(params) > 0 {
		s.bad(555, "5.5.4", "parameters need EHLO")
		return
	}
	env.ID = s.newID()
	s.env = env
	s.state = stateMail
	s.replyPath(250, "2.1.0", from, "... Sender ok")
}

func (s *session) newID() string {
	var r [4]byte
	rand.Read(r[:])
	var b [48]byte
	id := strconv.AppendInt(b[:0], s.srv.now().Unix(), 36)
	id = strconv.AppendInt(id, s.srv.seq.Add(1), 36)
	id = hex.AppendEncode(id, r[:])
	return string(id)
}

func (s *session) rcpt(c command) {
	if s.state != stateMail && s.state != stateRcpt {
		s.bad(503, "5.5.1", "need MAIL before RCPT")
		return
	}
	to, params, err := parsePathArg(c.arg, "TO", s.env.UTF8)
	if err != nil {
		s.bad(501, "5.1.3", "%s", strings.TrimPrefix(err.Error(), "smtp: "))
		return
	}
	for k := range params { // no RCPT parameter is offered (NOTIFY needs DSN)
		s.bad(555, "5.5.4", "unsupported parameter %s", k)
		return
	}
	if len(s.env.To) >= orInt(s.srv.MaxRecipients, MaxRecipients) {
		s.reply(452, "4.5.3", "too many recipients")
		return
	}
	local := s.srv.isLocal(to.Domain)
	if !local && s.authUser == "" {
		s.reply(554, "5.7.1", "%s: relay access denied", to)
		return
	}
	if rl, ok := s.srv.backend().(Relayer); !local && (!ok || !rl.Relays(to.Domain)) {
		s.reply(554, "5.7.1", "%s: relay access denied: this server delivers only to its own domains", to)
		return
	}
	if rc, ok := s.srv.Backend.(RecipientChecker); ok && local {
		if err := rc.CheckRecipient(s.ctx, to); err != nil {
			s.replyErr(err, 550, "5.1.1", "%s: recipient rejected", to)
			return
		}
	}
	s.env.To = append(s.env.To, to)
	s.state = stateRcpt
	s.replyPath(250, "2.1.5", to, " ... Recipient ok")
}

// replyErr answers with err's own Reply if it is one.
func (s *session) replyErr(err error, code int, enhanced, format string, args ...any) {
	var r *Reply
	if errors.As(err, &r) {
		s.writeReply(r)
		return
	}
	s.reply(code, enhanced, format, args...)
}

func (s *session) data(c command) {
	switch {
	case s.state == stateMail:
		s.bad(554, "5.5.1", "no valid recipients")
		return
	case s.state != stateRcpt:
		s.bad(503, "5.5.1", "need RCPT before DATA")
		return
	case c.arg != "":
		s.bad(501, "5.5.4", "syntax: DATA takes no argument")
		return
	case s.chunks != nil:
		s.bad(503, "5.5.1", "DATA after BDAT")
		return
	}
	s.reply(354, "", `Enter mail, end with "." on a line by itself`)
	if err := s.flush(true); err != nil {
		s.state = stateClosed
		return
	}
	env := s.env
	// The readers live in the session, reused by every message: Deliver
	// is done with them when it returns.
	dr := &s.dr
	*dr = dataReader{s: s, max: s.srv.maxSize(), timeout: s.srv.dataTimeout()}
	s.head = s.received(s.head[:0], env)
	msg := &s.msg
	*msg = messageReader{head: s.head, data: dr}
	err := s.srv.backend().Deliver(s.ctx, env, msg)
	if derr := dr.drain(); derr != nil {
		// The connection failed mid-DATA: nothing was accepted.
		s.state = stateClosed
		if err == nil {
			s.srv.logf("smtp: backend accepted an incomplete message %s", env.ID)
		}
		return
	}
	s.reset()
	switch {
	case dr.err == ErrMessageTooLarge:
		s.reply(552, "5.3.4", "message size exceeds fixed limit of %d", dr.max)
	case dr.err == ErrBareLineEnding:
		s.reply(550, "5.5.2", "message rejected: bare CR or LF (SMTP smuggling?)")
	case dr.err == ErrLineTooLong:
		s.reply(500, "5.5.2", "message rejected: line too long")
	default:
		s.delivered(env, err)
	}
}

// received appends to b the trace field RFC 5321 §4.4 asks every server
// to prepend.
func (s *session) received(b []byte, env *Envelope) []byte {
	proto := "SMTP"
	if s.esmtp {
		proto = "ESMTP"
		if s.tls {
			proto += "S"
		}
		if s.authUser != "" {
			proto += "A"
		}
	}
	// Built by appending: it is written once for every message accepted.
	b = append(b, "Received: from "...)
	b = append(b, s.helo...)
	b = append(b, " (["...)
	if ta, ok := s.raw.RemoteAddr().(*net.TCPAddr); ok {
		b = ta.AddrPort().Addr().Unmap().AppendTo(b)
	}
	b = append(b, "])\r\n\tby "...)
	b = append(b, s.srv.domain()...)
	b = append(b, " with "...)
	b = append(b, proto...)
	b = append(b, " id "...)
	b = append(b, env.ID...)
	if len(env.To) == 1 {
		b = append(b, "\r\n\tfor "...)
		b = append(b, '<')
		b = env.To[0].appendTo(b)
		b = append(b, '>')
	}
	b = append(b, ";\r\n\t"...)
	b = s.srv.now().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 -0700")
	b = append(b, "\r\n"...)
	return b
}

func (s *session) startTLS(c command) {
	switch {
	case s.srv.TLSConfig == nil:
		s.bad(502, "5.5.1", "STARTTLS not available")
		return
	case s.tls:
		s.bad(503, "5.5.1", "already in TLS")
		return
	case c.arg != "":
		s.bad(501, "5.5.4", "syntax: STARTTLS takes no argument")
		return
	}
	s.reply(220, "2.0.0", "Ready to start TLS")
	if err := s.flush(true); err != nil {
		s.state = stateClosed
		return
	}
	// Anything the client pipelined after STARTTLS is discarded (RFC 3207
	// §5, the command injection defence): setConn resets the reader.
	tc := tls.Server(s.raw, s.srv.TLSConfig)
	tc.SetDeadline(time.Now().Add(s.srv.commandTimeout()))
	if err := tc.Handshake(); err != nil {
		s.srv.logf("smtp: TLS handshake with %v: %v", s.raw.RemoteAddr(), err)
		s.state = stateClosed
		return
	}
	tc.SetDeadline(time.Time{})
	s.rdl, s.wdl = time.Time{}, time.Time{}
	s.setConn(tc)
	s.tlsConn = tc
	s.tls = true
	s.abortChunks()
	s.helo, s.esmtp, s.env = "", false, nil
	s.state = stateGreeted
}

func (s *session) auth(c command) {
	srv := s.srv
	switch {
	case srv.Authenticate == nil:
		s.bad(502, "5.5.1", "AUTH not available")
		return
	case !s.tls && !srv.AllowInsecureAuth:
		s.bad(538, "5.7.11", "encryption required for requested authentication mechanism")
		return
	case s.state == stateGreeted || !s.esmtp:
		s.bad(503, "5.5.1", "send EHLO first")
		return
	case s.authUser != "":
		s.bad(503, "5.5.1", "already authenticated")
		return
	case s.state != stateReady:
		s.bad(503, "5.5.1", "AUTH not allowed during a transaction")
		return
	}
	mech, initial, _ := strings.Cut(c.arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		resp, ok := s.authResponse(initial, "")
		if !ok {
			return
		}
		parts := strings.Split(resp, "\x00")
		if len(parts) != 3 {
			s.bad(501, "5.5.2", "malformed PLAIN response")
			return
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		var ok bool
		if user, ok = s.authResponse(initial, "Username:"); !ok {
			return
		}
		if pass, ok = s.authResponse("", "Password:"); !ok {
			return
		}
	default:
		s.bad(504, "5.5.4", "unrecognized authentication mechanism")
		return
	}
	if err := srv.Authenticate(s.ctx, user, pass); err != nil {
		s.bad(535, "5.7.8", "authentication credentials invalid")
		return
	}
	s.authUser = user
	s.reply(235, "2.7.0", "authentication successful")
}

// authResponse returns the decoded initial response, or asks for one with
// a 334 challenge. It reports false after answering an error.
func (s *session) authResponse(initial, challenge string) (string, bool) {
	if initial == "" {
		s.reply(334, "", "%s", base64.StdEncoding.EncodeToString([]byte(challenge)))
		if err := s.flush(true); err != nil {
			s.state = stateClosed
			return "", false
		}
		s.readDeadline(s.srv.commandTimeout())
		line, err := s.lr.ReadLine()
		if err != nil {
			if errors.Is(err, sockets.ErrLineTooLong) {
				s.bad(500, "5.5.2", "line too long")
				return "", false
			}
			s.state = stateClosed
			return "", false
		}
		initial = string(line)
	}
	if initial == "*" {
		s.bad(501, "5.0.0", "authentication cancelled")
		return "", false
	}
	if initial == "=" {
		return "", true
	}
	dec, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		s.bad(501, "5.5.2", "cannot decode response")
		return "", false
	}
	return string(dec), true
}

// A dataReader reads a message after DATA up to the line ".": it removes
// dot-stuffing (RFC 5321 §4.5.2), enforces SIZE and the line limit while
// streaming, and treats a CR or LF that is not part of a CRLF as an error
// (so "\n.\n" and "\r.\r" never end a message: the smuggling defence).
// After an error it keeps reading, in drain, to the real end.
type dataReader struct {
	s         *session
	max       int64
	n         int64
	timeout   time.Duration
	pending   []byte
	done      bool
	afterCRLF bool  // the previous line ended in CRLF
	err       error // a content violation, sticky
	ioErr     error // the connection failed
}

func (d *dataReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		if d.ioErr != nil {
			return 0, d.ioErr
		}
		if d.done {
			return 0, io.EOF
		}
		d.next()
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// next reads one line into pending.
//
// RFC 5321's DATA timeout (§4.5.3.2.5) bounds the time between two
// receives from the client, not between two lines. So the deadline moves
// only when the session has nothing buffered (in the line reader or the
// reader under it) and must go to the socket: the lines that one receive
// brought cost no clock reads. (A line that the buffers hold only in part
// is completed by a receive under the
// deadline set just before the previous receive, within microseconds of
// it.)
func (d *dataReader) next() {
	if d.s.buffered() == 0 {
		d.s.readDeadline(d.timeout)
	}
	line, err := d.s.lr.ReadRawLine()
	if err != nil {
		if errors.Is(err, sockets.ErrLineTooLong) {
			d.fail(ErrLineTooLong)
			return
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.ioErr = err
		return
	}
	n := len(line)
	crlf := n >= 2 && line[n-2] == '\r'
	afterCRLF := d.afterCRLF || d.n == 0
	d.afterCRLF = crlf
	if crlf && n == 3 && line[0] == '.' && afterCRLF {
		// CRLF.CRLF: the end. A dot line after a bare LF ("\n.\r\n")
		// is not an end, so a smuggled message cannot start there.
		d.done = true
		return
	}
	if !crlf || bytesHasBareCR(line[:n-2]) {
		d.fail(ErrBareLineEnding)
		return
	}
	if line[0] == '.' {
		line = line[1:]
	}
	d.n += int64(len(line))
	if d.n > d.max {
		d.fail(ErrMessageTooLarge)
		return
	}
	d.pending = line
}

func (d *dataReader) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.pending = nil
}

// drain reads to the end of the message, whatever the backend left,
// and reports a connection failure.
func (d *dataReader) drain() error {
	for !d.done && d.ioErr == nil {
		d.pending = nil
		d.next()
	}
	return d.ioErr
}

func bytesHasBareCR(b []byte) bool {
	return bytes.IndexByte(b, '\r') >= 0
}

// messageReader is the Received: field followed by the message. Unlike
// io.MultiReader it has no WriteTo, which would allocate a 32 KiB buffer
// per message in io.Copy.
type messageReader struct {
	head []byte
	data *dataReader
}

func (m *messageReader) Read(p []byte) (int, error) {
	if len(m.head) > 0 {
		n := copy(p, m.head)
		m.head = m.head[n:]
		return n, nil
	}
	return m.data.Read(p)
}

// chunkState is a message arriving in BDAT chunks (RFC 3030): the chunks
// are streamed through a pipe to the Backend, which runs in a goroutine
// the session owns and always waits for.
type chunkState struct {
	pw   *io.PipeWriter
	done chan error // the Backend's result
	n    int64      // octets so far
}

// abortChunks stops a BDAT transfer: the Backend sees an error and stores
// nothing. It returns what the Backend returned.
func (s *session) abortChunks() error {
	if s.chunks == nil {
		return nil
	}
	s.chunks.pw.CloseWithError(errors.New("smtp: transaction aborted"))
	err := <-s.chunks.done
	s.chunks = nil
	return err
}

// bdat handles "BDAT size [LAST]". The size octets that follow are always
// read, even when the command is refused, so they are never taken for
// commands.
func (s *session) bdat(c command) {
	f := strings.Fields(c.arg)
	var size int64 = -1
	if len(f) >= 1 {
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil && n >= 0 {
			size = n
		}
	}
	last := len(f) == 2 && strings.EqualFold(f[1], "LAST")
	if size < 0 || len(f) > 2 || len(f) == 2 && !last {
		// Without a size we cannot know where the chunk ends: give up on
		// the connection rather than read data as commands.
		s.reply(501, "5.5.4", "syntax: BDAT size [LAST]; closing connection")
		s.state = stateClosed
		return
	}
	refuse := func(code int, enh, text string) {
		if _, err := s.copyChunk(size, nil); err != nil {
			s.state = stateClosed
			return
		}
		s.abortChunks()
		s.bad(code, enh, "%s", text)
	}
	switch {
	case s.state == stateMail:
		refuse(554, "5.5.1", "no valid recipients")
		return
	case s.state != stateRcpt:
		refuse(503, "5.5.1", "need MAIL and RCPT before BDAT")
		return
	}
	if s.chunks == nil {
		pr, pw := io.Pipe()
		cs := &chunkState{pw: pw, done: make(chan error, 1)}
		env := s.env
		backend := s.srv.backend()
		head := string(s.received(nil, env))
		go func() {
			err := backend.Deliver(s.ctx, env, io.MultiReader(strings.NewReader(head), pr))
			pr.CloseWithError(errors.New("smtp: backend stopped reading"))
			cs.done <- err
		}()
		s.chunks = cs
	}
	cs := s.chunks
	cs.n += size
	if cs.n > s.srv.maxSize() {
		refuse(552, "5.3.4", fmt.Sprintf("message size exceeds fixed limit of %d", s.srv.maxSize()))
		s.reset()
		return
	}
	werr, err := s.copyChunk(size, cs.pw)
	if err != nil {
		s.abortChunks()
		s.state = stateClosed
		return
	}
	if !last {
		if werr != nil {
			// The backend stopped reading: its error is the answer.
			err := s.abortChunks()
			if err == nil {
				err = werr
			}
			env := s.env
			s.reset()
			s.delivered(env, err)
			return
		}
		s.reply(250, "2.0.0", "%d octets received", size)
		return
	}
	cs.pw.Close()
	err = <-cs.done
	s.chunks = nil
	env := s.env
	s.reset()
	s.delivered(env, err)
}

// delivered answers the end of a message with the Backend's verdict.
func (s *session) delivered(env *Envelope, err error) {
	if err != nil {
		s.srv.logf("smtp: delivering %s: %v", env.ID, err)
		s.replyErr(err, 451, "4.3.0", "local error in processing, try again later")
		return
	}
	s.reply(250, "2.0.0", "Message accepted for delivery")
}

// copyChunk reads the n octets of a BDAT chunk and writes them to w, or
// drops them if w is nil. A write error (the backend stopped reading)
// ends the writing, never the reading, so the rest of the chunk is never
// taken for commands; it is returned as werr, and a read error as err.
func (s *session) copyChunk(n int64, w io.Writer) (werr, err error) {
	var buf [32 << 10]byte
	for n > 0 {
		s.readDeadline(s.srv.dataTimeout())
		k, rerr := s.lr.Read(buf[:min(n, int64(len(buf)))])
		if k > 0 && w != nil && werr == nil {
			_, werr = w.Write(buf[:k])
		}
		n -= int64(k)
		if rerr != nil && n > 0 {
			return werr, rerr
		}
	}
	return werr, nil
}
