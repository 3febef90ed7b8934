package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"appnet.dev/sockets"
)

// A Request is a query as the server received it. It and the Message in it
// are valid only during ServeDNS: the server reuses them for the next query.
type Request struct {
	Message
	Remote netip.AddrPort // the client's address and port
	TCP    bool           // it came over TCP
	// ValidCookie: the query carried a server cookie this server made
	// for this client (DNS Cookies, RFC 7873), so its source address is
	// not spoofed, even over UDP.
	ValidCookie bool
}

// A Handler answers queries. The server gives it a reply already started
// (ID, QR, opcode, RD and CD copied, the question, the OPT record when the
// query had one) and sends whatever the handler leaves there, truncated to
// what the client can take. The reply's slices may be appended to; they are
// reused for the next query.
type Handler interface {
	ServeDNS(ctx context.Context, reply *Message, req *Request)
}

// HandlerFunc makes a function a Handler.
type HandlerFunc func(ctx context.Context, reply *Message, req *Request)

// ServeDNS calls f.
func (f HandlerFunc) ServeDNS(ctx context.Context, reply *Message, req *Request) { f(ctx, reply, req) }

// ErrServerClosed is returned by the Serve methods after Shutdown or Close.
// It is sockets.ErrServerClosed, the one value every appnet server returns.
var ErrServerClosed = sockets.ErrServerClosed

// A Server is an authoritative name server on UDP and TCP (RFC 1035 §4.2,
// RFC 7766). The zero value with a Handler is ready to use. Answering a
// query allocates nothing; on Linux, UDP datagrams are read and written in
// batches (recvmmsg and sendmmsg), several queries per system call.
type Server struct {
	Addr    string  // for ListenAndServe; default ":53" ("127.0.0.1:5300" in a lab)
	Handler Handler // e.g. a *Zones

	// UDPSize is the largest UDP reply sent to an EDNS client (RFC 6891);
	// the client's own limit applies too. 0 means 1232 (the DNS flag day
	// 2020 value). Clients without EDNS get at most 512 octets.
	UDPSize int
	// ReadTimeout bounds reading one query over TCP once its length has
	// arrived, WriteTimeout writing one reply; IdleTimeout bounds the wait
	// for the next query on a TCP connection. 0 means 2s, 2s and 10s.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxTCPQueries is how many queries one TCP connection may send; 0
	// means 100.
	MaxTCPQueries int
	// MaxTCPConns bounds the TCP connections open at once; more are
	// closed as they arrive. 0 means 1000.
	MaxTCPConns int
	// Trace, if set, receives every query and reply, C: and S: lines.
	Trace io.Writer
	// Workers is the number of goroutines reading UDP; 0 means GOMAXPROCS.
	Workers int
	// RateLimit, if set, limits the replies sent over UDP to each client
	// prefix (response rate limiting, against amplification). Queries
	// with a valid server cookie are not limited.
	RateLimit *RRL
	// CookieSecret keys the server cookies (DNS Cookies, RFC 7873, made
	// as RFC 9018 says) that the server puts in its reply to every query
	// with a COOKIE option; zero means a random secret drawn at first
	// use. Servers behind one address (anycast) share one secret. Set
	// it before serving: each worker reads it once.
	CookieSecret [16]byte
	// PreviousCookieSecret, if not zero, is the secret before the last
	// rollover: cookies made with it are still valid, and replaced by
	// ones made with CookieSecret (RFC 9018 §5).
	PreviousCookieSecret [16]byte
	// RequireCookies answers BADCOOKIE, with a fresh server cookie, to a
	// query over UDP whose COOKIE option lacks a valid server cookie,
	// instead of answering the question (RFC 7873 §5.2.3): the client
	// asks again with the cookie and so proves its address. Queries
	// without a COOKIE option, from clients that do not know cookies, and
	// queries over TCP are answered as usual.
	RequireCookies bool
	// Now is the clock of the server cookies' timestamps; nil means
	// time.Now.
	Now func() time.Time
	// ErrorLog receives what goes wrong inside the server, such as a
	// handler's panic with its stack, or an accept error it waits out;
	// nil means log.Default().
	ErrorLog *log.Logger

	// life tracks sockets and TCP connections from serving to closed;
	// its Context is the handlers' context, cancelled by Close.
	life    sockets.Lifecycle
	traceMu sync.Mutex

	cookieMu     sync.Mutex
	cookieSecret [16]byte // CookieSecret, or the random one drawn for it
	cookieReady  bool
}

func (s *Server) udpSize() int {
	if s.UDPSize >= 512 {
		return min(s.UDPSize, 65535)
	}
	return 1232
}

func dflt(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ServePacket answers the queries arriving on pc until Shutdown or Close,
// then returns ErrServerClosed. It closes pc when it returns.
func (s *Server) ServePacket(pc net.PacketConn) error {
	return s.life.ServePacket(pc, s.serveUDP)
}

// serveUDP runs Workers loops on pc and returns the first one's error once
// all have ended (closing pc ends them all).
func (s *Server) serveUDP(pc net.PacketConn) error {
	ctx := s.life.Context()
	n := s.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	errs := make(chan error, n)
	for range n {
		go func() { errs <- s.udpLoop(ctx, pc) }()
	}
	var first error
	for range n {
		if err := <-errs; first == nil {
			first = err
			pc.Close() // one loop failed: end the others too
		}
	}
	return first
}

func (s *Server) udpLoop(ctx context.Context, pc net.PacketConn) error {
	if uc, ok := pc.(*net.UDPConn); ok {
		return s.udpBatchLoop(ctx, uc)
	}
	return s.udpSimpleLoop(ctx, pc)
}

// maxUDPQuery is the longest query the server takes over UDP; longer
// datagrams are dropped (a client with that much to say uses TCP).
const maxUDPQuery = 4096

// udpSimpleLoop reads and answers one datagram at a time.
func (s *Server) udpSimpleLoop(ctx context.Context, pc net.PacketConn) error {
	w := newWorker()
	buf := make([]byte, 65535)
	uc, _ := pc.(*net.UDPConn)
	for {
		var n int
		var remote netip.AddrPort
		var addr net.Addr
		var err error
		if uc != nil {
			n, remote, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			n, addr, err = pc.ReadFrom(buf)
			if ua, ok := addr.(*net.UDPAddr); ok {
				remote = ua.AddrPort()
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		if n > maxUDPQuery {
			continue
		}
		out := s.handle(ctx, w, buf[:n], remote, false)
		if out == nil {
			continue
		}
		if uc != nil {
			uc.WriteToUDPAddrPort(out, remote)
		} else {
			pc.WriteTo(out, addr)
		}
	}
}

// A worker holds what answering one query needs, reused query after query
// so that answering allocates nothing.
type worker struct {
	p      Parser
	req    Request
	reqOpt EDNS
	reply  Message
	repOpt EDNS
	out    []byte
	comp   compressor

	secrets   [2][16]byte // current and previous cookie secret, once read
	secretsOK bool
	cookieBuf [ClientCookieLen + MaxServerCookieLen]byte
	cookieOut []byte // the reply's COOKIE option data
}

func newWorker() *worker {
	return &worker{out: make([]byte, 0, 65535+2)}
}

// handle answers one query in msg and returns the reply's wire form (with
// a length prefix over TCP), or nil to send nothing.
func (s *Server) handle(ctx context.Context, w *worker, msg []byte, remote netip.AddrPort, tcp bool) []byte {
	if len(msg) < HeaderLen || msg[2]&0x80 != 0 {
		return nil // too short to answer, or a reply: never answer those
	}
	w.req.Remote, w.req.TCP = remote, tcp
	req := &w.req.Message
	reply := &w.reply
	err := req.unpack(&w.p, msg, &w.reqOpt)
	*reply = Message{
		Header: Header{
			ID: binary.BigEndian.Uint16(msg), Response: true, Opcode: req.Opcode,
			RecursionDesired: req.RecursionDesired, CheckingDisabled: req.CheckingDisabled,
		},
		Questions: reply.Questions[:0], Answers: reply.Answers[:0],
		Authorities: reply.Authorities[:0], Additionals: reply.Additionals[:0],
	}
	if s.Trace != nil && err == nil {
		s.trace("C", req)
	}
	limit := 512
	switch {
	case err != nil:
		reply.RCode = RCodeFormatError
		if s.Trace != nil {
			s.traceLine(fmt.Sprintf("C: id %d malformed: %v", reply.ID, err))
		}
	case req.Opcode == OpcodeQuery && len(req.Questions) != 1:
		reply.RCode = RCodeFormatError
	default:
		reply.Questions = append(reply.Questions, req.Questions...)
		cookie := s.checkCookie(w, remote.Addr())
		w.req.ValidCookie = cookie == cookieValid
		// A valid server cookie proves the source address: such a query
		// cannot be a forged one aimed at a victim, so it is not limited.
		if s.RateLimit != nil && !tcp && cookie != cookieValid {
			switch s.RateLimit.Decide(remote.Addr()) {
			case RRLDrop:
				return nil
			case RRLSlip:
				s.slip(w, cookie)
				return s.pack(w, limit, false)
			}
		}
		if e := req.EDNS; e != nil {
			s.startOPT(w, cookie)
			limit = min(max(int(e.UDPSize), 512), s.udpSize())
			if e.Version > 0 {
				reply.RCode = RCodeBadVersion // RFC 6891 §6.1.3
				break
			}
		}
		switch {
		case cookie == cookieMalformed:
			reply.RCode = RCodeFormatError // RFC 7873 §5.2.2
		case cookie == cookieUnproven && s.RequireCookies && !tcp:
			// Not answered until the client proves its address by
			// sending back the cookie this reply carries.
			reply.RCode = RCodeBadCookie
		case s.Handler == nil:
			reply.RCode = RCodeServerFailure
		case !s.serveSafely(ctx, reply, &w.req):
			*reply = Message{Header: reply.Header, Questions: reply.Questions, EDNS: reply.EDNS}
			reply.RCode = RCodeServerFailure
		}
	}
	return s.pack(w, limit, tcp)
}

// slip makes w's reply the one response rate limiting lets through now
// and then (a "slip"): empty and truncated, so that a real client retries
// over TCP while a forged victim gets no amplification.
func (s *Server) slip(w *worker, cookie cookieState) {
	w.reply.Truncated = true
	if w.req.EDNS != nil {
		// With a server cookie in it, so that the client's next query
		// over UDP is not limited.
		s.startOPT(w, cookie)
	}
}

// startOPT gives w's reply its OPT record, with the COOKIE option when the
// query had a well-formed one.
func (s *Server) startOPT(w *worker, cookie cookieState) {
	w.repOpt = EDNS{UDPSize: uint16(s.udpSize()), Options: w.repOpt.Options[:0]}
	if cookie >= cookieUnproven {
		w.repOpt.Options = append(w.repOpt.Options, Option{Code: OptionCookie, Data: w.cookieOut})
	}
	w.reply.EDNS = &w.repOpt
}

// pack writes w's reply in w.out, within limit octets over UDP (with its
// length prefix over TCP), and returns it.
func (s *Server) pack(w *worker, limit int, tcp bool) []byte {
	req, reply := &w.req.Message, &w.reply
	if tcp {
		limit = 65535
	}
	b := w.out[:0]
	if tcp {
		b = append(b, 0, 0)
	}
	start := len(b)
	b, truncated, perr := reply.appendPack(b, limit, &w.comp)
	if tcp && truncated && perr == nil && len(req.Questions) == 1 && req.Opcode == OpcodeQuery &&
		(req.Questions[0].Type == TypeAXFR || req.Questions[0].Type == TypeIXFR) {
		// A zone transfer too big for one message goes in several
		// (RFC 5936 §2.2), each with its own length prefix.
		if out, ok := packTransfer(b[:0], reply, &w.comp); ok {
			w.out = out
			return out
		}
	}
	if perr != nil {
		// The handler left something unpackable: say SERVFAIL instead.
		*reply = Message{Header: reply.Header, Questions: reply.Questions, EDNS: reply.EDNS}
		reply.RCode = RCodeServerFailure
		b, _, _ = reply.appendPack(b[:start], limit, &w.comp)
	}
	if tcp {
		binary.BigEndian.PutUint16(b, uint16(len(b)-2))
	}
	w.out = b
	if s.Trace != nil {
		var shown Message
		if shown.Unpack(b[start:]) == nil {
			s.trace("S", &shown)
		}
	}
	return b
}

// serveSafely calls the handler and reports false if it panicked: one bad
// query must not take the server down with it. The panic goes to ErrorLog
// with its stack.
func (s *Server) serveSafely(ctx context.Context, reply *Message, req *Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			ok = false
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			q := "?"
			if len(req.Questions) == 1 {
				q = req.Questions[0].Name.String() + " " + req.Questions[0].Type.String()
			}
			s.logf("dns: panic serving %s (%s): %v\n%s", req.Remote, q, v, buf)
		}
	}()
	s.Handler.ServeDNS(ctx, reply, req)
	return true
}

// logf writes to ErrorLog, or to log.Default() if it is nil.
func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// Serve answers queries on TCP connections accepted from l (RFC 7766:
// two-octet length before each message, several queries per connection)
// until Shutdown or Close, then returns ErrServerClosed. It closes l when
// it returns.
func (s *Server) Serve(l net.Listener) error {
	maxConns := s.MaxTCPConns
	if maxConns <= 0 {
		maxConns = 1000
	}
	return s.life.Serve(&connLimit{Listener: l, s: s, max: maxConns}, s.serveTCP, s.ErrorLog)
}

// connLimit closes the connections it accepts while max are open already.
type connLimit struct {
	net.Listener
	s   *Server
	max int
}

func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.s.life.Conns() < l.max {
			return c, err
		}
		c.Close()
	}
}

// serveTCP serves one TCP connection, in the handlers' context.
func (s *Server) serveTCP(c net.Conn) {
	s.serveConn(s.life.Context(), c)
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	w := newWorker()
	var remote netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		remote = ta.AddrPort()
	}
	buf := make([]byte, 512)
	maxQ := s.MaxTCPQueries
	if maxQ <= 0 {
		maxQ = 100
	}
	for range maxQ {
		var lb [2]byte
		// The idle deadline first: while the connection waits for its
		// next query, Shutdown may move it to now to end the wait, and
		// that must not be undone.
		c.SetReadDeadline(time.Now().Add(dflt(s.IdleTimeout, 10*time.Second)))
		if s.life.SetIdle(c, true) {
			return // shutting down
		}
		_, err := io.ReadFull(c, lb[:])
		s.life.SetIdle(c, false) // a query under way is answered
		if err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if n > len(buf) {
			buf = make([]byte, n) // at most 65535: the prefix bounds it
		}
		c.SetReadDeadline(time.Now().Add(dflt(s.ReadTimeout, 2*time.Second)))
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		out := s.handle(ctx, w, buf[:n], remote, true)
		if out == nil {
			return
		}
		c.SetWriteDeadline(time.Now().Add(dflt(s.WriteTimeout, 2*time.Second)))
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// Listen opens UDP and TCP on the same address, as a name server needs.
// With port 0 it picks a port free for both.
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	for try := 0; ; try++ {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, err
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err == nil {
			return pc, ln, nil
		}
		ln.Close()
		if _, port, _ := net.SplitHostPort(addr); port != "0" || try >= 20 {
			return nil, nil, err
		}
	}
}

// ServeBoth answers on pc (UDP) and l (TCP) until Shutdown or Close and
// returns ErrServerClosed, or the first error of either.
func (s *Server) ServeBoth(pc net.PacketConn, l net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(pc) }()
	err := s.Serve(l)
	if err != ErrServerClosed {
		s.Close()
	}
	<-errc
	return err
}

// ListenAndServe listens on s.Addr over UDP and TCP and serves both.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":53"
	}
	pc, ln, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.ServeBoth(pc, ln)
}

// Shutdown stops accepting queries, lets the queries being answered finish
// and waits for every goroutine, or until ctx is done: then it closes the
// connections left, as Close does.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.life.Shutdown(ctx)
}

// Close closes every socket and connection at once and waits for the
// server's goroutines to end.
func (s *Server) Close() error {
	return s.life.Close()
}

func (s *Server) trace(who string, m *Message) {
	s.traceLine(traceText(who, m))
}

func (s *Server) traceLine(text string) {
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	io.WriteString(s.Trace, text+"\n")
}

// traceText prints m in the slides' manner: one line for the header, one
// per question and record, each after "C: " or "S: ".
func traceText(who string, m *Message) string {
	var sb strings.Builder
	if m.Response {
		fmt.Fprintf(&sb, "%s: reply id %d %s %s flags:%s", who, m.ID, m.Opcode, m.RCode.String(), m.flagString())
	} else {
		fmt.Fprintf(&sb, "%s: query id %d %s flags:%s", who, m.ID, m.Opcode, m.flagString())
	}
	if m.EDNS != nil {
		fmt.Fprintf(&sb, " edns udp=%d", m.EDNS.UDPSize)
	}
	for _, q := range m.Questions {
		fmt.Fprintf(&sb, "\n%s:   question   %s %s %s", who, q.Name, q.Class, q.Type)
	}
	for _, sec := range [...]struct {
		name string
		rrs  []RR
	}{{"answer    ", m.Answers}, {"authority ", m.Authorities}, {"additional", m.Additionals}} {
		for _, rr := range sec.rrs {
			fmt.Fprintf(&sb, "\n%s:   %s %s %d %s %s %s", who, sec.name, rr.Name, rr.TTL, rr.Class, rr.Type(), rr.Data)
		}
	}
	return sb.String()
}

// packTransfer appends reply as consecutive length-prefixed TCP messages
// that share its header and question and split its answer section, each
// under 64 KiB. It reports false if one record alone does not fit.
func packTransfer(b []byte, reply *Message, c *compressor) ([]byte, bool) {
	msg := *reply
	rrs := reply.Answers
	for i := 0; i < len(rrs); {
		n := min(len(rrs)-i, 2000)
		for {
			msg.Answers = rrs[i : i+n]
			start := len(b)
			b = append(b, 0, 0)
			var truncated bool
			var err error
			b, truncated, err = msg.appendPack(b, 65535, c)
			if err != nil {
				return b, false
			}
			if !truncated {
				binary.BigEndian.PutUint16(b[start:], uint16(len(b)-start-2))
				break
			}
			b = b[:start]
			if n == 1 {
				return b, false
			}
			n /= 2
		}
		i += n
	}
	return b, true
}
