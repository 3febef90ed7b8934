package tracker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/sockets"
	"appnet.dev/sockets/web"
)

// ErrServerClosed is returned by the Server's Serve methods after
// Shutdown or Close. It is sockets.ErrServerClosed, the one value every
// appnet server returns.
var ErrServerClosed = sockets.ErrServerClosed

// Defaults of a Server.
const (
	DefaultInterval    = 30 * time.Minute
	DefaultMinInterval = 5 * time.Minute
	DefaultNumWant     = 50
	DefaultMaxNumWant  = 200
)

// maxQuery bounds an HTTP announce's query string.
const maxQuery = 8 << 10

// udpReplyTimeout bounds the answer to one UDP request: the Backend's
// work (its context's deadline), then the write of the reply. A client
// asks again after 15 s (BEP 15), so a later reply would be of no use.
const udpReplyTimeout = 5 * time.Second

// A Server is a BitTorrent tracker over HTTP (BEP 3, an http.Handler for
// /announce and /scrape) and over UDP (BEP 15, on a net.PacketConn). The
// zero value is a working tracker that remembers its swarms in a Registry
// of its own.
type Server struct {
	// Addr is the address ListenAndServe listens on, over TCP (HTTP) and
	// UDP alike; default ":6969", the port trackers commonly use.
	Addr string
	// Backend keeps the swarms; nil means a Registry of the server's own.
	Backend Backend
	// Interval is how long peers wait between announces (default
	// DefaultInterval); MinInterval how long they must wait at least
	// (default DefaultMinInterval, sent over HTTP only).
	Interval    time.Duration
	MinInterval time.Duration
	// NumWant is the number of peers sent when a peer does not say
	// (default DefaultNumWant); MaxNumWant caps what a peer may ask for
	// (default DefaultMaxNumWant).
	NumWant    int
	MaxNumWant int
	// TrustIP honours the "ip" an announce carries instead of the
	// address it came from. Only for trackers behind a proxy or in a lab.
	TrustIP bool
	// Now tells the time: for peer expiry and connection IDs. nil means
	// time.Now.
	Now func() time.Time
	// Trace, if set, receives every exchange as C:/S: lines.
	Trace io.Writer
	// ErrorLog receives errors of the listeners and sockets (with the
	// wait before trying again); nil means log.Default().
	ErrorLog *log.Logger

	initOnce sync.Once
	backend  Backend
	secret   [32]byte // keys the UDP connection IDs
	traceMu  sync.Mutex

	// The tracker stops as every appnet server does, in two parts of
	// one kind. life takes the UDP side from serving to closed: it
	// tracks the sockets and ends the read loops' waits. On the HTTP
	// side each Serve call runs a web.Server (appnet's HTTP/1.1 server,
	// a Lifecycle inside) for the connections of its listener, kept in
	// webs until the tracker stops; Shutdown and Close pass the word on
	// to them.
	life  sockets.Lifecycle
	mu    sync.Mutex
	webs  map[*web.Server]bool
	loops sync.WaitGroup // Serve calls
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.backend = s.Backend
		if s.backend == nil {
			s.backend = &Registry{}
		}
		rand.Read(s.secret[:])
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// pause waits for d, or less if the server stops; it reports whether the
// server still runs.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.life.Done():
		return false
	}
}

// readRetryWait is the wait before the UDP loop reads again after a
// failed read, given the last wait (0 after a read that worked): 5 ms,
// doubling up to 1 s, so an error that persists costs a few reads a
// second instead of a spinning core.
func readRetryWait(last time.Duration) time.Duration {
	const first, most = 5 * time.Millisecond, time.Second
	return min(max(2*last, first), most)
}

func (s *Server) tracef(format string, args ...any) {
	if s.Trace == nil {
		return
	}
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	fmt.Fprintf(s.Trace, format+"\n", args...)
}

// announce applies the server's policy around the Backend: which address
// the peer has, how many peers it gets, and the intervals.
func (s *Server) announce(ctx context.Context, req *AnnounceRequest, from netip.Addr) (*AnnounceResponse, error) {
	s.init()
	addr := netip.AddrPortFrom(from.Unmap(), req.Port)
	if s.TrustIP && req.IP.IsValid() {
		addr = netip.AddrPortFrom(req.IP.Unmap(), req.Port)
	}
	numWant := req.NumWant
	if numWant <= 0 {
		numWant = s.NumWant
		if numWant <= 0 {
			numWant = DefaultNumWant
		}
	}
	maxWant := s.MaxNumWant
	if maxWant <= 0 {
		maxWant = DefaultMaxNumWant
	}
	numWant = min(numWant, maxWant)
	if req.Event == Stopped {
		numWant = 0
	}
	peers, stats, err := s.backend.Announce(ctx, s.now(), req, addr, numWant)
	if err != nil {
		return nil, err
	}
	resp := &AnnounceResponse{
		Interval:    s.Interval,
		MinInterval: s.MinInterval,
		Complete:    stats.Complete,
		Incomplete:  stats.Incomplete,
		Peers:       peers,
	}
	if resp.Interval <= 0 {
		resp.Interval = DefaultInterval
	}
	if resp.MinInterval <= 0 {
		resp.MinInterval = min(DefaultMinInterval, resp.Interval)
	}
	return resp, nil
}

// ServeHTTP answers HTTP announces and scrapes: a path whose last element
// begins with "announce" or "scrape" (as BEP 48 expects), anything else is
// 404. Failures are sent as a bencoded "failure reason" with status 200,
// which is what clients read. The Backend works under the request's
// context, which the HTTP server cancels when the connection ends or the
// server closes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "tracker: GET only", http.StatusMethodNotAllowed)
		return
	}
	last := path.Base(r.URL.Path)
	from, _ := netip.ParseAddrPort(r.RemoteAddr)
	uri := r.URL.RequestURI()
	if len(uri) > 300 {
		uri = uri[:300] + "…"
	}
	if s.Trace != nil {
		s.tracef("C: GET %s (from %v)", uri, from.Addr())
	}
	w.Header().Set("Content-Type", "text/plain")
	var body []byte
	switch {
	case len(r.URL.RawQuery) > maxQuery:
		body = s.failHTTP("query too long")
	case strings.HasPrefix(last, "announce"):
		body = s.serveHTTPAnnounce(r, from.Addr())
	case strings.HasPrefix(last, "scrape"):
		body = s.serveHTTPScrape(r)
	default:
		s.tracef("S: 404")
		http.NotFound(w, r)
		return
	}
	w.Write(body)
}

func (s *Server) failHTTP(reason string) []byte {
	s.tracef("S: failure reason %q", reason)
	return appendHTTPFailure(nil, reason)
}

func (s *Server) serveHTTPAnnounce(r *http.Request, from netip.Addr) []byte {
	req, compact, noPeerID, err := parseAnnounceQuery(r.URL.Query())
	if err != nil {
		return s.failHTTP(err.Error())
	}
	if !from.IsValid() {
		return s.failHTTP("cannot tell the peer's address")
	}
	resp, err := s.announce(r.Context(), req, from)
	if err != nil {
		return s.failHTTP(failureText(err))
	}
	if s.Trace != nil {
		s.tracef("S: %s", describe(resp))
	}
	return appendHTTPAnnounce(nil, resp, compact, noPeerID)
}

func (s *Server) serveHTTPScrape(r *http.Request) []byte {
	s.init()
	raw := r.URL.Query()["info_hash"]
	if len(raw) == 0 {
		return s.failHTTP("scrape needs info_hash (no full scrape here)")
	}
	if len(raw) > maxScrapeHashes {
		return s.failHTTP(fmt.Sprintf("at most %d info_hash per scrape", maxScrapeHashes))
	}
	hashes := make([]metainfo.Hash, 0, len(raw))
	for _, h := range raw {
		if len(h) != 20 {
			return s.failHTTP("info_hash must be 20 bytes")
		}
		hashes = append(hashes, metainfo.Hash([]byte(h)))
	}
	// Dictionary keys go in sorted order, and only once each.
	slices.SortFunc(hashes, func(a, b metainfo.Hash) int { return bytes.Compare(a[:], b[:]) })
	hashes = slices.Compact(hashes)
	now := s.now()
	b := []byte("d5:filesd")
	for _, h := range hashes {
		st, err := s.backend.Scrape(r.Context(), now, h)
		if err != nil {
			return s.failHTTP(failureText(err))
		}
		if s.Trace != nil {
			s.tracef("S: scrape %s complete=%d downloaded=%d incomplete=%d", shortHash(h), st.Complete, st.Downloaded, st.Incomplete)
		}
		b = fmt.Appendf(b, "20:%s", h[:])
		b = fmt.Appendf(b, "d8:completei%de10:downloadedi%de10:incompletei%dee", st.Complete, st.Downloaded, st.Incomplete)
	}
	return append(b, "ee"...)
}

func failureText(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return err.Error()
}

// connectionID derives the ID a UDP client at from may use during the
// minute window: a keyed hash, so the server keeps no state per client
// and a forged source address cannot produce a valid ID.
func (s *Server) connectionID(from netip.AddrPort, window int64) uint64 {
	mac := hmac.New(sha256.New, s.secret[:])
	var b [8 + 16 + 2]byte
	binary.BigEndian.PutUint64(b[:], uint64(window))
	a := from.Addr().As16()
	copy(b[8:], a[:])
	binary.BigEndian.PutUint16(b[24:], from.Port())
	mac.Write(b[:])
	return binary.BigEndian.Uint64(mac.Sum(nil))
}

func window(now time.Time) int64 { return now.Unix() / int64(ConnectionIDLifetime/time.Second) }

// validConnectionID accepts the IDs of this minute and the last one, so
// an ID lives one to two minutes, as BEP 15 asks.
func (s *Server) validConnectionID(id uint64, from netip.AddrPort, now time.Time) bool {
	w := window(now)
	return id == s.connectionID(from, w) || id == s.connectionID(from, w-1)
}

// HandlePacket answers one UDP tracker datagram from a peer at from,
// returning the reply to send (nil: send nothing). The Backend works under
// ctx; if it gives up, the reply is an error. ServePacket calls it for
// every datagram, with a context that ends when the server closes or
// after a few seconds (long before the client asks again); it is exported
// for tests and custom transports.
func (s *Server) HandlePacket(ctx context.Context, from netip.AddrPort, p []byte) []byte {
	s.init()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if len(p) < headerLen {
		return nil // too short to carry a transaction ID to answer
	}
	now := s.now()
	act := action(binary.BigEndian.Uint32(p[8:]))
	tid := binary.BigEndian.Uint32(p[12:])
	fail := func(msg string) []byte {
		s.tracef("S: error %q", msg)
		return appendErrorReply(nil, tid, msg)
	}
	if act == actionConnect {
		if binary.BigEndian.Uint64(p) != protocolID {
			return fail("connect without the protocol ID")
		}
		id := s.connectionID(from, window(now))
		if s.Trace != nil {
			s.tracef("C: connect transaction=%08x (from %v)", tid, from)
		}
		s.tracef("S: connect connection_id=%016x", id)
		b := appendHeader(nil, actionConnect, tid)
		return binary.BigEndian.AppendUint64(b, id)
	}
	if !s.validConnectionID(binary.BigEndian.Uint64(p), from, now) {
		if s.Trace != nil {
			s.tracef("C: %v with connection_id=%016x (from %v)", act, binary.BigEndian.Uint64(p), from)
		}
		return fail("invalid or expired connection ID")
	}
	switch act {
	case actionAnnounce:
		req, err := parseAnnounceRequest(p)
		if err != nil {
			if s.Trace != nil {
				s.tracef("C: announce (from %v)", from)
			}
			return fail(err.Error())
		}
		if s.Trace != nil {
			s.tracef("C: announce info_hash=%s port=%d left=%d event=%s (from %v)", shortHash(req.InfoHash), req.Port, req.Left, eventName(req.Event), from.Addr())
		}
		resp, err := s.announce(ctx, req, from.Addr())
		if err != nil {
			return fail(failureText(err))
		}
		ipv6 := !from.Addr().Is4()
		kept := resp.Peers[:0:0]
		for _, peer := range resp.Peers {
			if peer.Addr.Addr().Is4() != ipv6 {
				kept = append(kept, peer)
			}
		}
		size := 6
		if ipv6 {
			size = 18
		}
		resp.Peers = kept[:min(len(kept), (maxUDPReply-announceReplyMin)/size)]
		if s.Trace != nil {
			s.tracef("S: announce %s", describe(resp))
		}
		return appendAnnounceReply(make([]byte, 0, announceReplyMin+len(resp.Peers)*size), tid, resp, ipv6)
	case actionScrape:
		body := p[headerLen:]
		if len(body)%20 != 0 || len(body) == 0 || len(body)/20 > maxScrapeHashes {
			return fail(fmt.Sprintf("scrape of %d bytes: want 1 to %d info hashes of 20 bytes", len(body), maxScrapeHashes))
		}
		if s.Trace != nil {
			s.tracef("C: scrape %d torrents (from %v)", len(body)/20, from)
		}
		stats := make([]Stats, 0, len(body)/20)
		for ; len(body) > 0; body = body[20:] {
			st, err := s.backend.Scrape(ctx, now, metainfo.Hash(body[:20]))
			if err != nil {
				return fail(failureText(err))
			}
			if s.Trace != nil {
				s.tracef("S: scrape %s complete=%d downloaded=%d incomplete=%d", shortHash(metainfo.Hash(body[:20])), st.Complete, st.Downloaded, st.Incomplete)
			}
			stats = append(stats, st)
		}
		return appendScrapeReply(nil, tid, stats)
	}
	return fail(fmt.Sprintf("unknown action %d", uint32(act)))
}

// ServePacket answers UDP tracker requests arriving on pc until Shutdown
// or Close, then returns ErrServerClosed. It closes pc when it returns.
func (s *Server) ServePacket(pc net.PacketConn) error {
	s.init()
	return s.life.ServePacket(pc, s.servePackets)
}

// servePackets is the UDP loop: a request in, a reply out. Each request
// gets udpReplyTimeout, and ends early if the server closes, so a Backend
// that blocks holds neither the loop nor Close for long.
func (s *Server) servePackets(pc net.PacketConn) error {
	life := s.life.Context()
	buf := make([]byte, maxUDPPacket)
	var wait time.Duration
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("tracker: %w", err)
			}
			// Anything else (a deadline someone set, no buffer space for
			// a moment) may pass: wait, longer each time, and read again.
			wait = readRetryWait(wait)
			s.logf("tracker: read: %v; retrying in %v", err, wait)
			if !s.pause(wait) {
				return ErrServerClosed
			}
			continue
		}
		wait = 0
		ua, ok := addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(life, udpReplyTimeout)
		reply := s.HandlePacket(ctx, ua.AddrPort(), buf[:n])
		cancel()
		if reply != nil {
			pc.SetWriteDeadline(time.Now().Add(udpReplyTimeout))
			if _, err := pc.WriteTo(reply, addr); err != nil && s.life.Closing() {
				return ErrServerClosed
			}
		}
	}
}

// Serve answers HTTP announces and scrapes on l until Shutdown or Close,
// then returns ErrServerClosed. Accept errors that pass (the process out
// of file descriptors for a moment, say; see sockets.AcceptRetry) are
// logged to ErrorLog and ridden out; any other ends Serve, after the
// requests under way on l's connections have finished.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	ws := &web.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      10 * time.Second, // for the whole exchange once the head is in
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxQuery * 2,
		ErrorLog:          s.ErrorLog,
	}
	// Under mu, so that Shutdown, which takes mu after the Lifecycle
	// began closing, either sees ws or makes Serve stop here.
	s.mu.Lock()
	if s.life.Closing() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	if s.webs == nil {
		s.webs = map[*web.Server]bool{}
	}
	s.webs[ws] = true
	s.loops.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		// Once the server stops, Shutdown and Close still need every
		// web.Server to end its connections; until then, a Serve that
		// returned leaves nothing behind.
		if !s.life.Closing() {
			delete(s.webs, ws)
		}
		s.mu.Unlock()
		s.loops.Done()
	}()
	err := ws.Serve(l)
	if errors.Is(err, ErrServerClosed) {
		return ErrServerClosed
	}
	// The listener failed, but connections it accepted may still be in
	// use: let their requests finish and close them, so that none outlives
	// Serve. Not under the tracker's lifecycle context: a Shutdown of the
	// tracker cancels that one as soon as its UDP side is done, which
	// would cut these requests short however long Shutdown's own context
	// allows. ws stays in webs while this runs, so the tracker's Shutdown
	// and Close stop it as they stop the others: Close at once, Shutdown
	// when its context ends.
	ws.Shutdown(context.Background())
	return err
}

// ListenAndServe serves the HTTP tracker on TCP and the UDP tracker on
// UDP, both at Addr (host:port, default ":6969"; port 0 picks one free
// for both).
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":6969"
	}
	l, pc, err := ListenBoth(addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(pc) }() // stopped by Shutdown/Close, which close pc
	err = s.Serve(l)
	s.Close()
	if perr := <-errc; err == nil || errors.Is(err, ErrServerClosed) {
		if !errors.Is(perr, ErrServerClosed) {
			err = perr
		}
	}
	return err
}

// ListenBoth opens a TCP listener and a UDP socket on the same address
// and port; with port 0 it tries a few ports the system picks until one is
// free for both.
func ListenBoth(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("tracker: %w", err)
	}
	for range 20 {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("tracker: %w", err)
		}
		_, p, _ := net.SplitHostPort(l.Addr().String())
		pc, err := net.ListenPacket("udp", net.JoinHostPort(host, p))
		if err == nil {
			return l, pc, nil
		}
		l.Close()
		if port != "0" {
			return nil, nil, fmt.Errorf("tracker: %w", err)
		}
	}
	return nil, nil, errors.New("tracker: no port free for both TCP and UDP")
}

// Shutdown stops the server: UDP sockets close at once, HTTP connections
// finish their requests (see web.Server.Shutdown). It waits for the Serve
// and ServePacket calls to return. If ctx ends first, Shutdown closes the
// connections left, as Close does, waits for their handlers, and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.life.Shutdown(ctx) // the UDP side: closing begins here
	if e := s.stopWebs(func(ws *web.Server) error { return ws.Shutdown(ctx) }); err == nil {
		err = e
	}
	s.loops.Wait()
	return err
}

// Close stops the server at once, closing every listener, socket and
// connection, and waits for the Serve and ServePacket calls to return.
func (s *Server) Close() error {
	err := s.life.Close()
	if e := s.stopWebs((*web.Server).Close); err == nil {
		err = e
	}
	s.loops.Wait()
	return err
}

// stopWebs calls stop (Shutdown or Close) on the web.Server of every
// Serve call, side by side, so that every listener closes at once, and
// returns the first error.
func (s *Server) stopWebs(stop func(*web.Server) error) error {
	webs := s.webServers()
	errc := make(chan error, len(webs))
	for _, ws := range webs {
		go func() { errc <- stop(ws) }()
	}
	var err error
	for range webs {
		if e := <-errc; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// webServers returns the web.Servers of the Serve calls; called once the
// Lifecycle is closing, when no Serve adds one any more.
func (s *Server) webServers() []*web.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*web.Server
	for ws := range s.webs {
		out = append(out, ws)
	}
	return out
}
