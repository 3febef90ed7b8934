package bittorrent

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/peer"
)

// An Announcer tells a tracker about us and hears of other peers. The
// tracker package's clients fit it through a small adapter (see
// examples/bittorrent/torrent); tests and simulations pass a func.
type Announcer interface {
	Announce(ctx context.Context, a Announce) (AnnounceResult, error)
}

// AnnouncerFunc adapts a function to Announcer.
type AnnouncerFunc func(ctx context.Context, a Announce) (AnnounceResult, error)

// Announce calls f.
func (f AnnouncerFunc) Announce(ctx context.Context, a Announce) (AnnounceResult, error) {
	return f(ctx, a)
}

// Announce is what a peer tells its tracker (BEP 3, "tracker GET requests").
type Announce struct {
	InfoHash   metainfo.Hash
	PeerID     [20]byte
	IP         net.IP // our listening address, when it is a specific one
	Port       int    // our listening port
	Uploaded   int64
	Downloaded int64
	Left       int64
	Event      string // "started", "completed", "stopped" or "" for a regular announce
}

// AnnounceResult is the tracker's answer.
type AnnounceResult struct {
	Peers    []string      // host:port of other peers
	Interval time.Duration // when to announce again
}

// Config configures a Torrent. The zero value downloads into the current
// directory with the BEP 3 choker and no tracker.
type Config struct {
	Dir         string   // where the torrent's files are (or go)
	PeerID      [20]byte // zero: "-AN0001-" and 12 random bytes
	Choker      Choker   // zero: ChokerBEP3()
	Picker      Picker   // its Layout is filled in; RandomFirst as set
	Tracker     Announcer
	MaxPeers    int    // connections at most; 0 means 50
	Seed        uint64 // seeds the picker's and choker's randomness; 0: random
	Preallocate bool   // size the files at once (see StorageOptions)
	ReadOnly    bool   // only seed existing files: a missing file is an error, nothing is written
	// Dial connects to a peer. Nil: a net.Dialer bound to the listener's
	// IP when it is a specific one, so that a swarm on 127.0.0.x addresses
	// sees each peer at its own address.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Tick is how often rates are measured and the choker consulted; 0
	// means 1 s. The choker's own intervals decide when rounds happen.
	Tick           time.Duration
	RequestTimeout time.Duration // requests unanswered this long are cancelled; 0 means 30 s
	MaxHashFails   int           // bad pieces a peer may send before it is banned; 0 means 3
	Conn           peer.Config   // timeouts and limits of every connection
	// Trace, if not nil, receives every message of every connection, one
	// line each: "127.0.0.2:6881: interested" for ours (named by our
	// listening address) and "127.0.0.3:51234: unchoke" for the peer's.
	Trace io.Writer
	// OnEvent, if not nil, hears what happens: choking rounds, piece
	// choices, pieces verified, bans. It is called with the torrent's lock
	// held and must not call the Torrent's methods.
	OnEvent func(Event)
}

// An EventKind says what an Event reports.
type EventKind uint8

const (
	EventConnected  EventKind = iota + 1 // a peer connected (Peer)
	EventDropped                         // a peer's connection ended (Peer, Err)
	EventRound                           // a choking round (Unchoked)
	EventPick                            // a piece started (Peer, Piece, Reason)
	EventVerified                        // a piece passed its hash check (Piece)
	EventHashFailed                      // a piece failed its hash check (Piece)
	EventBanned                          // a peer sent too many bad pieces (Peer)
	EventComplete                        // the download finished
)

// An Event is something that happened in a Torrent, for logs and the tour.
type Event struct {
	Time     time.Time
	Kind     EventKind
	Peer     string   // the peer's address
	Piece    int      // for picks and hash checks
	Reason   string   // why a piece was picked
	Holders  int      // for picks: how many connected peers have the piece
	Unchoked []Choice // for rounds: who is unchoked, and why
	Err      error
}

func (e Event) String() string {
	switch e.Kind {
	case EventConnected:
		return "connected " + e.Peer
	case EventDropped:
		return fmt.Sprintf("dropped %s: %v", e.Peer, e.Err)
	case EventRound:
		var s []string
		for _, c := range e.Unchoked {
			s = append(s, fmt.Sprintf("%s (%v)", c.ID, c.Reason))
		}
		return fmt.Sprintf("unchoke %v", s)
	case EventPick:
		return fmt.Sprintf("pick piece %d from %s: %s", e.Piece, e.Peer, e.Reason)
	case EventVerified:
		return fmt.Sprintf("piece %d verified", e.Piece)
	case EventHashFailed:
		return fmt.Sprintf("piece %d failed its hash check", e.Piece)
	case EventBanned:
		return "banned " + e.Peer
	case EventComplete:
		return "complete"
	}
	return "event"
}

// A Torrent seeds or downloads one torrent: it connects to the peers the
// tracker names and accepts those that connect to it, tells each what it
// has, requests blocks with the Picker, uploads to those the Choker
// unchokes, checks every piece's SHA-1 before it keeps it, and bans peers
// that send bad pieces. Close stops every goroutine it started.
type Torrent struct {
	cfg      Config
	mi       *metainfo.MetaInfo
	infoHash metainfo.Hash
	store    *Storage
	layout   Layout
	picker   Picker
	choker   Choker
	tick     time.Duration
	reqTO    time.Duration
	ours     peer.Handshake
	trace    io.Writer

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ln     net.Listener
	dial   func(ctx context.Context, addr string) (net.Conn, error)

	complete     chan struct{}
	completeOnce sync.Once

	mu         sync.Mutex
	started    bool
	closed     bool
	rng        *mrand.Rand
	have       Bitfield
	avail      []int
	partial    map[int]*piece
	free       [][]byte // piece buffers to reuse
	peers      []*peerConn
	known      map[string]bool // addresses connected or being dialed
	banned     map[string]bool // addresses and peer IDs
	chokeState ChokerState
	downloaded int64 // verified block bytes received
	uploaded   int64
	wasted     int64 // duplicate, unrequested and bad-piece bytes
	wireRead   int64 // bytes of connections already closed
	wireWrite  int64
	downRate   float64
	upRate     float64
	lastTick   time.Time
	firstConn  time.Time // the first connection's handshake
	firstByte  time.Duration
}

type piece struct {
	index     int
	data      []byte
	done      []bool
	pending   []int
	got       int
	from      map[*peerConn]bool
	verifying bool
}

type peerConn struct {
	conn     *peer.Conn
	addr     string
	id       [20]byte
	outgoing bool

	amChoking, amInterested, peerChoking, peerInterested bool

	has          Bitfield
	wanted       int // pieces it has that we lack
	inflight     map[Block]time.Time
	msgs         int
	connected    time.Time
	lastBlock    time.Time
	lastUnchoked time.Time
	stalledUntil time.Time
	downBytes    int64 // since the last tick
	sentBefore   int64 // BlocksSent at the last tick
	downRate     float64
	upRate       float64
	fails        int
	// Request pipelining: depth is how many requests to keep in flight.
	// It starts at MinQueue and, in slow start, grows by one for every
	// block that arrives (doubling every round trip, as TCP does) until a
	// second's rate stops growing; then it follows QueueDepth(downRate).
	depth     int
	slowStart bool
	lastRate  float64 // bytes/s received in the last tick
}

// Open prepares a torrent in cfg.Dir: it opens (or creates) the files and
// verifies the pieces already there, so a restarted download resumes and a
// seed proves what it has. It does no network I/O; Start does.
func Open(ctx context.Context, mi *metainfo.MetaInfo, cfg Config) (*Torrent, error) {
	if cfg.Dir == "" {
		cfg.Dir = "."
	}
	store, err := OpenStorage(cfg.Dir, &mi.Info, StorageOptions{Preallocate: cfg.Preallocate, ReadOnly: cfg.ReadOnly})
	if err != nil {
		return nil, err
	}
	have, err := store.Verify(ctx, nil)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("bittorrent: verifying %s: %w", cfg.Dir, err)
	}
	t := &Torrent{
		cfg:      cfg,
		mi:       mi,
		infoHash: mi.InfoHash(),
		store:    store,
		layout:   store.Layout(),
		have:     have,
		avail:    make([]int, store.Layout().NumPieces()),
		partial:  map[int]*piece{},
		known:    map[string]bool{},
		banned:   map[string]bool{},
		complete: make(chan struct{}),
		tick:     cfg.Tick,
		reqTO:    cfg.RequestTimeout,
	}
	if cfg.Trace != nil {
		t.trace = &lockedWriter{w: cfg.Trace}
	}
	t.picker = cfg.Picker
	t.picker.Layout = t.layout
	t.choker = cfg.Choker
	if t.choker.Regular == 0 && t.choker.Optimistic == 0 {
		t.choker = ChokerBEP3()
	}
	if t.tick <= 0 {
		t.tick = time.Second
	}
	if t.reqTO <= 0 {
		t.reqTO = 30 * time.Second
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		for _, c := range b {
			seed = seed<<8 | uint64(c)
		}
	}
	t.rng = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	t.ours.InfoHash = t.infoHash
	t.ours.Reserved[peer.ExtensionByte] |= peer.ExtensionBit // for reqq; see addPeer
	t.ours.PeerID = cfg.PeerID
	if t.ours.PeerID == ([20]byte{}) {
		copy(t.ours.PeerID[:], "-AN0001-")
		const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		for i := 8; i < 20; i++ {
			t.ours.PeerID[i] = alnum[t.rng.IntN(len(alnum))]
		}
	}
	if have.Complete() {
		t.completeOnce.Do(func() { close(t.complete) })
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t, nil
}

// PeerID is the ID this torrent sends in its handshakes.
func (t *Torrent) PeerID() [20]byte { return t.ours.PeerID }

// InfoHash names the torrent.
func (t *Torrent) InfoHash() metainfo.Hash { return t.infoHash }

// Storage is where the torrent's content is.
func (t *Torrent) Storage() *Storage { return t.store }

// Complete is closed once every piece is verified (at once for a seed).
func (t *Torrent) Complete() <-chan struct{} { return t.complete }

// Start begins work: accepting peers on l (which may be nil for a
// download that only connects out), announcing to the tracker, and the
// timer that measures rates and runs the choker. The Torrent owns l from
// now on and closes it in Close.
func (t *Torrent) Start(l net.Listener) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("bittorrent: torrent closed")
	}
	if t.started {
		return errors.New("bittorrent: torrent already started")
	}
	t.started = true
	t.ln = l
	t.dial = t.cfg.Dial
	if t.dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		if l != nil {
			if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsUnspecified() {
				d.LocalAddr = &net.TCPAddr{IP: a.IP}
			}
		}
		t.dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	t.lastTick = time.Now()
	if l != nil {
		t.wg.Add(1)
		go t.acceptLoop(l)
	}
	t.wg.Add(1)
	go t.tickLoop()
	if t.cfg.Tracker != nil {
		t.wg.Add(1)
		go t.announceLoop()
	}
	return nil
}

// Addr is the address the torrent accepts peers on, nil before Start or
// without a listener.
func (t *Torrent) Addr() net.Addr {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// Close stops the torrent: it tells the tracker it leaves, closes the
// listener and every connection, waits for every goroutine, and closes the
// files.
func (t *Torrent) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	conns := make([]*peer.Conn, 0, len(t.peers))
	for _, p := range t.peers {
		conns = append(conns, p.conn)
	}
	t.mu.Unlock()
	t.cancel()
	if t.ln != nil {
		t.ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	t.wg.Wait()
	return t.store.Close()
}

func (t *Torrent) event(e Event) {
	if t.cfg.OnEvent != nil {
		e.Time = time.Now()
		t.cfg.OnEvent(e)
	}
}

// AddPeer connects to a peer at addr (host:port) unless it is connected,
// banned, or the torrent has MaxPeers connections. It returns at once.
func (t *Torrent) AddPeer(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started || t.closed || t.known[addr] || t.banned[addr] || len(t.known) >= t.maxPeers() {
		return
	}
	if t.ln != nil && addr == t.ln.Addr().String() {
		return // ourselves, as a tracker may say
	}
	t.known[addr] = true
	t.wg.Add(1)
	go t.connect(addr)
}

func (t *Torrent) maxPeers() int {
	if t.cfg.MaxPeers > 0 {
		return t.cfg.MaxPeers
	}
	return 50
}

func (t *Torrent) connConfig(addr string) peer.Config {
	c := t.cfg.Conn
	c.Blocks = t.store
	// libtorrent tries MSE first; answering it (in plaintext) saves the
	// second or so it waits before trying again without.
	c.Encrypted = [][20]byte{t.infoHash}
	if t.cfg.Trace != nil {
		c.Trace = t.trace
		c.Self = "us"
		if t.ln != nil {
			c.Self = t.ln.Addr().String()
		}
	}
	if c.Trace != nil && c.Peer == "" {
		c.Peer = addr
	}
	return c
}

// lockedWriter serialises the lines of all connections' traces.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (t *Torrent) connect(addr string) {
	defer t.wg.Done()
	ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
	defer cancel()
	nc, err := t.dial(ctx, addr)
	if err != nil {
		t.forget(addr)
		return
	}
	c := peer.NewConn(nc, t.connConfig(addr))
	theirs, err := c.Handshake(ctx, t.ours)
	if err != nil {
		nc.Close()
		t.forget(addr)
		return
	}
	t.addPeer(c, addr, theirs, true)
}

func (t *Torrent) forget(addr string) {
	t.mu.Lock()
	delete(t.known, addr)
	t.mu.Unlock()
}

func (t *Torrent) acceptLoop(l net.Listener) {
	defer t.wg.Done()
	for {
		nc, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		t.mu.Lock()
		full := t.closed || len(t.peers) >= t.maxPeers()
		if !full {
			t.wg.Add(1)
		}
		t.mu.Unlock()
		if full {
			nc.Close()
			continue
		}
		go func() {
			defer t.wg.Done()
			addr := nc.RemoteAddr().String()
			c := peer.NewConn(nc, t.connConfig(addr))
			ctx, cancel := context.WithTimeout(t.ctx, 15*time.Second)
			defer cancel()
			theirs, err := c.AcceptHandshake(ctx, func(h peer.Handshake) (peer.Handshake, error) {
				if h.InfoHash != t.infoHash {
					return peer.Handshake{}, &peer.ProtocolError{What: "handshake for a torrent we do not serve"}
				}
				return t.ours, nil
			})
			if err != nil {
				nc.Close()
				return
			}
			t.addPeer(c, addr, theirs, false)
		}()
	}
}

// addPeer registers a connection whose handshake is done, sends our
// bitfield and starts its loops.
func (t *Torrent) addPeer(c *peer.Conn, addr string, theirs peer.Handshake, outgoing bool) {
	now := time.Now()
	t.mu.Lock()
	reject := t.closed || t.banned[addr] || t.banned[string(theirs.PeerID[:])] || theirs.PeerID == t.ours.PeerID
	for _, q := range t.peers {
		if q.id != theirs.PeerID || reject {
			continue
		}
		// Connected twice: both sides dialled at once. Both keep the
		// connection opened by the peer with the smaller ID, so they agree
		// without a word.
		if q.outgoing == outgoing || t.keep(q.outgoing, theirs.PeerID) {
			reject = true
		} else {
			q.conn.Stop(errDuplicate) // its watcher removes it
		}
	}
	if reject {
		if outgoing {
			delete(t.known, addr)
		}
		t.mu.Unlock()
		c.NetConn().Close()
		return
	}
	p := &peerConn{
		conn: c, addr: addr, id: theirs.PeerID, outgoing: outgoing,
		amChoking: true, peerChoking: true,
		has:       NewBitfield(t.layout.NumPieces()),
		inflight:  map[Block]time.Time{},
		connected: now,
		depth:     MinQueue,
		slowStart: true,
	}
	t.peers = append(t.peers, p)
	if t.firstConn.IsZero() {
		t.firstConn = now
	}
	if !outgoing {
		t.known[addr] = true
	}
	if t.have.Count() > 0 {
		c.Send(peer.Message{Type: peer.Bitfield, Payload: slices.Clone(t.have.Bytes())})
	}
	if theirs.SupportsExtensions() {
		// BEP 10's handshake, for its reqq alone: without it libtorrent
		// keeps at most 500 requests queued with us, too few to keep a
		// fast link busy. We offer no extension messages.
		if m, err := peer.ExtensionHandshakeMessage(peer.ExtensionHandshake{V: "appnet", Reqq: maxQueuedRequests}); err == nil {
			c.Send(m)
		}
	}
	t.event(Event{Kind: EventConnected, Peer: addr})
	t.wg.Add(1)
	t.mu.Unlock()
	c.Run(func(m peer.Message) error { return t.handle(p, m) })
	go func() {
		defer t.wg.Done()
		select {
		case <-c.Done():
		case <-t.ctx.Done():
		}
		c.Close()
		t.removePeer(p)
	}()
}

func (t *Torrent) removePeer(p *peerConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := slices.Index(t.peers, p)
	if i < 0 {
		return
	}
	t.peers = slices.Delete(t.peers, i, i+1)
	delete(t.known, p.addr)
	for j := range t.layout.NumPieces() {
		if p.has.Has(j) {
			t.avail[j]--
		}
	}
	t.dropRequests(p, false)
	for _, pc := range t.partial {
		delete(pc.from, p)
	}
	st := p.conn.Stats()
	t.wireRead += st.Read
	t.wireWrite += st.Written
	t.uploaded += st.BlocksSent - p.sentBefore
	t.event(Event{Kind: EventDropped, Peer: p.addr, Err: p.conn.Err()})
	if !p.amChoking && !t.closed {
		t.rechoke(time.Now()) // a slot is free: fill it now
	}
}

// dropRequests forgets every request outstanding to p, telling it so if
// cancel is set.
func (t *Torrent) dropRequests(p *peerConn, cancel bool) {
	for b := range p.inflight {
		if pc := t.partial[b.Piece]; pc != nil {
			pc.pending[b.Begin/BlockSize]--
		}
		if cancel {
			p.conn.Send(peer.Message{Type: peer.Cancel, Index: uint32(b.Piece), Begin: uint32(b.Begin), Length: uint32(b.Length)})
		}
	}
	clear(p.inflight)
}

var (
	errBanned    = errors.New("bittorrent: peer banned after bad pieces")
	errDuplicate = errors.New("bittorrent: second connection to the same peer")
)

// keep reports whether, of two connections to one peer, the one we
// opened (outgoing) or the one it opened survives: the one whose opener
// has the smaller peer ID.
func (t *Torrent) keep(outgoing bool, theirs [20]byte) bool {
	return outgoing == (bytes.Compare(t.ours.PeerID[:], theirs[:]) < 0)
}

// MaxRequestLength is the largest block a peer may request from us.
const MaxRequestLength = 128 << 10

// maxQueuedRequests bounds the requests a peer may have queued with us;
// the extension handshake tells peers so (BEP 10's reqq).
const maxQueuedRequests = 2048

// handle runs in p's read loop for every message p sends.
func (t *Torrent) handle(p *peerConn, m peer.Message) error {
	if m.Type == peer.Piece {
		return t.onPiece(p, m)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p.msgs++
	n := t.layout.NumPieces()
	switch m.Type {
	case peer.Choke:
		p.peerChoking = true
		t.dropRequests(p, false) // BEP 3: a choke discards our requests
	case peer.Unchoke:
		p.peerChoking = false
		t.fill(p)
	case peer.Interested, peer.NotInterested:
		p.peerInterested = m.Type == peer.Interested
		t.rechoke(time.Now())
	case peer.Have:
		if int(m.Index) >= n {
			return &peer.ProtocolError{What: fmt.Sprintf("have %d of %d pieces", m.Index, n)}
		}
		t.peerHas(p, int(m.Index))
		t.fill(p)
	case peer.Bitfield:
		// BEP 3 sends it first or not at all, but aria2 sends its bitfield
		// after its first piece when it started with none: take it as haves.
		f, err := ParseBitfield(m.Payload, n)
		if err != nil {
			return &peer.ProtocolError{What: err.Error()}
		}
		for i := range n {
			if f.Has(i) {
				t.peerHas(p, i)
			}
		}
		t.fill(p)
	case peer.Request:
		b := Block{int(m.Index), int(m.Begin), int(m.Length)}
		if !t.layout.Valid(b, MaxRequestLength) {
			return &peer.ProtocolError{What: fmt.Sprintf("request for %v beyond the torrent or too long", b)}
		}
		if !t.have.Has(b.Piece) {
			return &peer.ProtocolError{What: fmt.Sprintf("request for piece %d we do not have", b.Piece)}
		}
		if p.amChoking {
			return nil // a request that crossed our choke
		}
		if p.conn.QueuedPieces() >= maxQueuedRequests {
			return nil // too many queued: drop it, as choked requests are
		}
		p.conn.Send(peer.Message{Type: peer.Piece, Index: m.Index, Begin: m.Begin, Length: m.Length})
	case peer.Cancel:
		p.conn.CancelPiece(m.Index, m.Begin, m.Length)
	}
	return nil
}

func (t *Torrent) peerHas(p *peerConn, i int) {
	if p.has.Has(i) {
		return
	}
	p.has.Set(i)
	t.avail[i]++
	if !t.have.Has(i) {
		p.wanted++
		if !p.amInterested {
			p.amInterested = true
			p.conn.Send(peer.Message{Type: peer.Interested})
		}
	}
}

func (t *Torrent) onPiece(p *peerConn, m peer.Message) error {
	now := time.Now()
	t.mu.Lock()
	p.msgs++
	b := Block{int(m.Index), int(m.Begin), len(m.Payload)}
	if _, ok := p.inflight[b]; !ok {
		t.wasted += int64(len(m.Payload)) // cancelled, or never asked for
		t.mu.Unlock()
		return nil
	}
	delete(p.inflight, b)
	if p.slowStart && p.depth < MaxQueue {
		p.depth++
	}
	if t.firstByte == 0 {
		t.firstByte = max(now.Sub(t.firstConn), time.Nanosecond)
	}
	p.lastBlock = now
	p.downBytes += int64(len(m.Payload))
	pc := t.partial[b.Piece]
	j := b.Begin / BlockSize
	pc.pending[j]--
	if pc.done[j] {
		t.wasted += int64(len(m.Payload))
		t.fill(p)
		t.mu.Unlock()
		return nil
	}
	copy(pc.data[b.Begin:], m.Payload)
	pc.done[j] = true
	pc.got++
	pc.from[p] = true
	if pc.pending[j] > 0 {
		// Endgame: others were asked for this block too; call them off.
		for _, q := range t.peers {
			if _, ok := q.inflight[b]; ok && q != p {
				delete(q.inflight, b)
				pc.pending[j]--
				q.conn.Send(peer.Message{Type: peer.Cancel, Index: m.Index, Begin: m.Begin, Length: uint32(b.Length)})
			}
		}
	}
	var verify *piece
	if pc.got == len(pc.done) {
		pc.verifying = true
		verify = pc
	}
	t.fill(p)
	t.mu.Unlock()
	if verify != nil {
		t.verify(verify)
	}
	return nil
}

// verify checks a complete piece's hash outside the lock and writes it.
func (t *Torrent) verify(pc *piece) {
	err := t.store.WritePiece(pc.index, pc.data)
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.partial, pc.index)
	t.free = append(t.free, pc.data[:cap(pc.data)])
	if err != nil {
		t.wasted += int64(len(pc.data))
		t.event(Event{Kind: EventHashFailed, Piece: pc.index, Err: err})
		limit := t.cfg.MaxHashFails
		if limit <= 0 {
			limit = 3
		}
		for q := range pc.from {
			q.fails++
			if q.fails >= limit {
				t.banned[q.addr] = true
				t.banned[string(q.id[:])] = true
				t.event(Event{Kind: EventBanned, Peer: q.addr})
				q.conn.Stop(errBanned) // the peer's watcher goroutine removes it
			}
		}
		for _, q := range t.peers {
			t.fill(q)
		}
		return
	}
	t.have.Set(pc.index)
	t.downloaded += int64(len(pc.data))
	t.event(Event{Kind: EventVerified, Piece: pc.index})
	for _, q := range t.peers {
		q.conn.Send(peer.Message{Type: peer.Have, Index: uint32(pc.index)})
		if q.has.Has(pc.index) {
			q.wanted--
			if q.wanted == 0 && q.amInterested {
				q.amInterested = false
				q.conn.Send(peer.Message{Type: peer.NotInterested})
			}
		}
	}
	if t.have.Complete() {
		t.event(Event{Kind: EventComplete})
		t.completeOnce.Do(func() { close(t.complete) })
		t.rechoke(time.Now()) // seeding now: rank by upload rate
		return
	}
	for _, q := range t.peers {
		t.fill(q)
	}
}

// fill tops up the requests outstanding to p, with the picker's choices.
func (t *Torrent) fill(p *peerConn) {
	if p.peerChoking || !p.amInterested || t.closed {
		return
	}
	now := time.Now()
	if now.Before(p.stalledUntil) {
		return
	}
	depth := p.depth
	want := depth - len(p.inflight)
	if want <= 0 || (len(p.inflight) > 0 && want < depth/4) {
		return
	}
	in := PickInput{
		Have:         t.have,
		PeerHas:      p.has,
		Availability: t.avail,
		Want:         want,
	}
	in.Partial = make([]Partial, 0, len(t.partial))
	for _, pc := range t.partial {
		in.Partial = append(in.Partial, Partial{Piece: pc.index, Done: pc.done, Pending: pc.pending})
	}
	slices.SortFunc(in.Partial, func(a, b Partial) int { return a.Piece - b.Piece }) // map order must not leak into choices
	in.InFlight = make([]Block, 0, len(p.inflight))
	for b := range p.inflight {
		in.InFlight = append(in.InFlight, b)
	}
	for _, r := range t.picker.Pick(in, t.rng) {
		pc := t.partial[r.Piece]
		if pc == nil {
			pc = t.newPiece(r.Piece)
			t.event(Event{Kind: EventPick, Peer: p.addr, Piece: r.Piece, Reason: r.Reason.String(), Holders: t.avail[r.Piece]})
		}
		pc.pending[r.Begin/BlockSize]++
		p.inflight[r.Block] = now
		p.conn.Send(peer.Message{Type: peer.Request, Index: uint32(r.Piece), Begin: uint32(r.Begin), Length: uint32(r.Length)})
	}
}

func (t *Torrent) newPiece(i int) *piece {
	size := int(t.layout.PieceSize(i))
	var data []byte
	if n := len(t.free); n > 0 && cap(t.free[n-1]) >= size {
		data = t.free[n-1][:size]
		t.free = t.free[:n-1]
	} else {
		data = make([]byte, size, t.layout.PieceLength)
	}
	nb := t.layout.NumBlocks(i)
	pc := &piece{index: i, data: data, done: make([]bool, nb), pending: make([]int, nb), from: map[*peerConn]bool{}}
	t.partial[i] = pc
	return pc
}

// rechoke asks the choker who is unchoked now and applies its decision.
func (t *Torrent) rechoke(now time.Time) {
	stats := make([]PeerStats, len(t.peers))
	for i, p := range t.peers {
		stats[i] = PeerStats{
			ID: p.addr, Interested: p.peerInterested,
			DownloadRate: p.downRate, UploadRate: p.upRate,
			Connected: p.connected, LastBlock: p.lastBlock, LastUnchoked: p.lastUnchoked,
		}
		if !p.amInterested {
			stats[i].LastBlock = now // we ask it for nothing: it cannot snub us
		}
	}
	seeding := t.have.Complete()
	d := t.choker.Decide(t.chokeState, stats, seeding, now, t.rng)
	t.chokeState = d.State
	for i, c := range d.Choices {
		p := t.peers[i]
		switch {
		case c.Unchoke() && p.amChoking:
			p.amChoking = false
			p.lastUnchoked = now
			p.conn.Send(peer.Message{Type: peer.Unchoke})
		case c.Unchoke():
			p.lastUnchoked = now
		case !c.Unchoke() && !p.amChoking:
			p.amChoking = true
			p.conn.DropPieces()
			p.conn.Send(peer.Message{Type: peer.Choke})
		}
	}
	if d.Round {
		t.event(Event{Kind: EventRound, Unchoked: d.State.Unchoked})
	}
}

func (t *Torrent) tickLoop() {
	defer t.wg.Done()
	tk := time.NewTicker(t.tick)
	defer tk.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case now := <-tk.C:
			t.onTick(now)
		}
	}
}

// rateWindow is the time constant of the rate averages.
const rateWindow = 5 * time.Second

func (t *Torrent) onTick(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	dt := now.Sub(t.lastTick).Seconds()
	t.lastTick = now
	if dt <= 0 {
		return
	}
	alpha := min(1, dt/rateWindow.Seconds())
	var down, up float64
	for _, p := range t.peers {
		sent := p.conn.Stats().BlocksSent
		upBytes := sent - p.sentBefore
		p.sentBefore = sent
		t.uploaded += upBytes
		rate := float64(p.downBytes) / dt
		p.downRate += (rate - p.downRate) * alpha
		p.upRate += (float64(upBytes)/dt - p.upRate) * alpha
		p.downBytes = 0
		if p.slowStart && rate > 0 && rate < 1.25*p.lastRate {
			p.slowStart = false // the link, not the queue, is the limit now
		}
		if rate > 0 {
			p.lastRate = rate
		}
		if !p.slowStart {
			p.depth = QueueDepth(p.downRate)
		}
		down += p.downRate
		up += p.upRate
		// Requests unanswered for RequestTimeout go back to the pool.
		if len(p.inflight) > 0 {
			oldest := now
			for _, at := range p.inflight {
				if at.Before(oldest) {
					oldest = at
				}
			}
			if p.lastBlock.After(oldest) {
				oldest = p.lastBlock
			}
			if now.Sub(oldest) >= t.reqTO {
				t.dropRequests(p, true)
				p.stalledUntil = now.Add(t.reqTO)
			}
		}
	}
	t.downRate, t.upRate = down, up
	t.rechoke(now)
	for _, p := range t.peers {
		t.fill(p)
	}
}

func (t *Torrent) announceLoop() {
	defer t.wg.Done()
	event := "started"
	var completeSeen bool
	done := t.complete
	if t.have.Complete() {
		completeSeen = true
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-t.ctx.Done():
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			t.announce(ctx, "stopped")
			cancel()
			return
		case <-done:
			done = nil
			if !completeSeen {
				completeSeen = true
				event = "completed"
				if !timer.Stop() {
					select {
					case <-timer.C:
					default:
					}
				}
				timer.Reset(0)
			}
			continue
		case <-timer.C:
		}
		res, err := t.announce(t.ctx, event)
		interval := res.Interval
		if err != nil {
			interval = 15 * time.Second
		} else {
			event = ""
			for _, a := range res.Peers {
				t.AddPeer(a)
			}
		}
		if interval <= 0 {
			interval = 30 * time.Minute
		}
		timer.Reset(max(interval, time.Second))
	}
}

func (t *Torrent) announce(ctx context.Context, event string) (AnnounceResult, error) {
	a := Announce{InfoHash: t.infoHash, PeerID: t.ours.PeerID, Event: event}
	if t.ln != nil {
		if ta, ok := t.ln.Addr().(*net.TCPAddr); ok {
			a.Port = ta.Port
			if !ta.IP.IsUnspecified() {
				a.IP = ta.IP
			}
		}
	}
	t.mu.Lock()
	a.Uploaded, a.Downloaded = t.uploaded, t.downloaded
	a.Left = t.left()
	t.mu.Unlock()
	return t.cfg.Tracker.Announce(ctx, a)
}

func (t *Torrent) left() int64 {
	var left int64
	for i := range t.layout.NumPieces() {
		if !t.have.Has(i) {
			left += t.layout.PieceSize(i)
		}
	}
	return left
}

// Stats is a snapshot of a torrent's progress.
type Stats struct {
	Pieces, NumPieces int
	Length, Left      int64
	Downloaded        int64   // bytes of verified pieces received
	Uploaded          int64   // bytes of blocks sent
	Wasted            int64   // bytes received and thrown away: duplicates, bad pieces
	DownloadRate      float64 // bytes/s, averaged over a few seconds
	UploadRate        float64
	Peers             int
	Availability      []int // per piece: how many connected peers have it
	WireRead          int64 // every byte received and sent, handshakes and headers included
	WireWritten       int64
	Complete          bool
	// FirstByte is the time from the first peer's handshake to the first
	// block received: how fast a download gets going. Zero until then.
	FirstByte time.Duration
}

// Stats returns the torrent's progress.
func (t *Torrent) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Stats{
		Pieces: t.have.Count(), NumPieces: t.layout.NumPieces(),
		Length: t.layout.Length, Left: t.left(),
		Downloaded: t.downloaded, Uploaded: t.uploaded, Wasted: t.wasted,
		DownloadRate: t.downRate, UploadRate: t.upRate,
		Peers: len(t.peers), Availability: slices.Clone(t.avail),
		WireRead: t.wireRead, WireWritten: t.wireWrite,
		Complete: t.have.Complete(), FirstByte: t.firstByte,
	}
	for _, p := range t.peers {
		st := p.conn.Stats()
		s.WireRead += st.Read
		s.WireWritten += st.Written
		s.Uploaded += st.BlocksSent - p.sentBefore
	}
	return s
}

// PeerStatus describes one connection.
type PeerStatus struct {
	Addr                        string
	ID                          [20]byte
	Outgoing                    bool
	AmChoking, AmInterested     bool
	PeerChoking, PeerInterested bool
	Pieces                      int // pieces the peer has
	DownloadRate, UploadRate    float64
	InFlight                    int
}

// Peers describes the current connections.
func (t *Torrent) Peers() []PeerStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PeerStatus, len(t.peers))
	for i, p := range t.peers {
		out[i] = PeerStatus{
			Addr: p.addr, ID: p.id, Outgoing: p.outgoing,
			AmChoking: p.amChoking, AmInterested: p.amInterested,
			PeerChoking: p.peerChoking, PeerInterested: p.peerInterested,
			Pieces: p.has.Count(), DownloadRate: p.downRate, UploadRate: p.upRate,
			InFlight: len(p.inflight),
		}
	}
	return out
}

var _ io.Closer = (*Torrent)(nil)
