package swarm

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"time"

	"appnet.dev/bittorrent"
)

// ErrStalled reports a simulation in which peers still wanted pieces but
// nothing could move any more, or that ran past Config.Limit.
var ErrStalled = errors.New("swarm: distribution stalled")

// epoch is the wall-clock instant virtual time 0 stands for, handed to the
// policies (which only compare times): 2026-01-01 00:00 UTC, in seconds
// since 1970.
const epoch = 1767225600

// A node is the seed (number 0) or a peer (1…N).
type node struct {
	id    int
	name  string // "peer 7", for the choker (Neighbour.Key)
	up    float64
	down  float64 // 0: unlimited
	rider bool    // free rider: never unchokes anyone

	present        bool
	arrived        float64
	finished, left float64 // -1 until it happens
	have           Pieces  // in sim.have
	nHave          int
	requested      Pieces     // pieces in flight to this node
	started        Pieces     // pieces in flight or partly received
	recv           []float64  // per piece not yet verified: bytes received
	progress       []progress // per piece: how it is coming
	avail          []int      // per piece: neighbours holding it (in sim.avail)
	out, in        []*link    // links this node uploads on, downloads on
	outTo, inFrom  []int32    // the neighbours' numbers, in the order of out and in
	outOpen        []bool     // whether each out link is unchoked, in the order of out
	inOpen         []bool     // and each in link, in the order of in
	// outLive counts down, for each connection in the order of out, the
	// rounds before its rates are sure to be 0 and stay so: 3 while data
	// flows either way (rates are measured over two rounds).
	outLive          []uint8
	outView          []view  // what the choker reads of each out link, in the order of out
	busy, waiting    int     // out links interested and unchoked, interested and choked
	slots            int     // the choker's slots (Slotted), -1 if it does not say
	activeIn         int     // flows arriving now
	inflows          []*link // the in links with a flow
	flows            []*link // the out links with a flow
	rawIn            float64 // the sum of the uploaders' shares offered to it
	scale            float64 // its flows run at this share of what is offered
	rescaling        bool    // queued for rescale
	dirty, rechoking bool    // queued for rate computation, for a choker update
	picker           Picker
	choker           Choker
	rng              *rand.Rand
	roundNo          int
	rounds           [2]float64 // when its last two rounds were, -1 before
	uploaded         float64
	downloaded       float64
}

func (n *node) complete(pieces int) bool { return n.nHave == pieces }

// connections makes room for k connections in n's lists, which then grow
// only past that (a peer accepts up to twice Config.Neighbours).
func (n *node) connections(k int) {
	n.out, n.in = make([]*link, 0, k), make([]*link, 0, k)
	n.outTo, n.inFrom = make([]int32, 0, k), make([]int32, 0, k)
	n.outOpen, n.inOpen, n.outLive = make([]bool, 0, k), make([]bool, 0, k), make([]uint8, 0, k)
	n.outView = make([]view, 0, k)
}

// A link carries data one way between two neighbours, from → to. Each
// connection is a pair of links, each the other's rev.
//
// A thousand peers' links do not fit in the processor's cache, and each
// line of 64 bytes fetched costs, so a link holds what the flows and the
// rounds need, in three lines; what from's choker reads of it is in
// from.outView, side by side with the other neighbours'.
type link struct {
	unchoked   bool // from uploads to to (and from.outOpen)
	interested bool // to wants something from has (and from.outView)
	active     bool // a flow is on (below)
	closed     bool
	outAt      int32 // index in from.out
	inIdx      int32 // index in to.in
	from, to   *node
	rev        *link
	rate       float64 // the flow's rate: raw, scaled down if the downloader is saturated
	downRate   float64 // measured at to's rounds (downMark); upRate is in the view
	connected  float64

	// The flow: one piece moving at rate.
	piece  int32
	flowAt int32   // index in from.flows
	inAt   int32   // index in to.inflows
	raw    float64 // the uploader's equal share
	last   float64 // when bytes was last brought up to date
	bytes  float64 // delivered in total
	// bytes when from, and when to, got the whole file: the exchange
	// while leeching, for Result.Reciprocation.
	fromDone, toDone       float64
	fromDoneSet, toDoneSet bool

	// bytes at the last two rounds of from, and of to: rates are
	// measured over 20 s, as most clients do, from node.rounds (or from
	// connected if later).
	upMark, downMark [2]float64
	unchokedAt       float64
	unchokedTime     float64 // total time unchoked with to interested

	_ [16]byte // to three whole cache lines, so that each link starts on one
}

// A view is what a peer's choker reads of one out link, kept in the
// peer's outView in the order of out: a round reads one line per
// neighbour, one after the other.
type view struct {
	key          string  // the neighbour's name (Neighbour.Key)
	upRate       float64 // measured at the peer's rounds (link.upMark)
	connected    float64
	lastUnchoked float64 // when the peer last unchoked it, -1 if never
	lastBlock    float64 // when it last sent the peer a piece, -1 if never
	interested   bool    // link.interested
}

// An event is something scheduled in virtual time. The queue holds events
// by value, so that scheduling one allocates nothing.
type event struct {
	t     float64
	seq   uint64
	node  *node
	piece int32
	kind  eventKind
}

// A progress is how a piece on its way to a node is coming, the fields
// that change together kept together.
type progress struct {
	rate  float64 // the sum of its flows' rates
	last  float64 // when recv was brought up to date
	flows int16   // flows bringing it (more than 1 in endgame)
	plan          // when it will be complete
}

// A plan is when a piece will be complete at the rates of now: the time
// and the order of scheduling (seq) of its pieceDone event, and those of
// the earliest pieceDone event queued for it. Rates change often, mostly
// to make a piece later, so a plan that moves later keeps its event in
// the queue: when that event comes, it is put back at the plan's time and
// order, where it would have been all along.
type plan struct {
	t      float64
	seq    uint64 // 0: no plan (no flow brings the piece)
	queued float64
	qseq   uint64 // 0: no event queued
}

type eventKind uint8

const (
	pieceDone eventKind = iota
	rechokeRound
	arrive
	abort
	sample
)

// A queue is the events to come, a binary min-heap by time (then by
// order of scheduling, so that the run is deterministic).
type queue []event

func (q queue) Len() int { return len(q) }

func (q queue) less(i, j int) bool {
	if q[i].t != q[j].t {
		return q[i].t < q[j].t
	}
	return q[i].seq < q[j].seq
}

func (q *queue) push(e event) {
	*q = append(*q, e)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *queue) pop() event {
	h := *q
	e := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = event{}
	h = h[:last]
	for i := 0; ; {
		small := i
		if l := 2*i + 1; l < len(h) && h.less(l, small) {
			small = l
		}
		if r := 2*i + 2; r < len(h) && h.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	*q = h
	return e
}

// sim is one run of the simulator.
type sim struct {
	cfg       Config
	pieces    int
	pieceLen  float64
	lastLen   float64
	now       float64
	q         queue
	seq       uint64
	rng       *rand.Rand
	nodes     []*node
	present   []*node // nodes in the torrent now, in arrival order
	links     []*link // every link ever made, for the statistics
	dirty     []*node
	saturated []*node
	choking   []*node
	copies    []int  // per piece: present nodes holding it
	full      Pieces // every piece
	leechers  int    // present nodes without the whole file
	pending   int    // arrivals still to come
	events    int
	flows     int // active flows
	stuck     int // samples in a row with leechers and no flow
	honest    int // honest peers still to finish

	riderMark            bool    // markRiders has run
	riderBytes, allBytes float64 // bytes to free riders, in all, by then
	scratch              struct {
		ns      []Neighbour
		nsLinks []*link
		nsAt    []int32 // their indexes in out
		req     PickRequest
		flows   []*link
		ended   []*link
		stats   []bittorrent.PeerStats
		choices []bittorrent.Choice
		rates   []float64
		fixed   []bool
	}
	slab []link // links are allocated from here (newLink)

	// have holds every node's Pieces, words apiece, avail every node's
	// availability counts (node.have and node.avail are slices of them).
	have  []uint64
	words int
	avail []int
	res   Result
}

func (s *sim) pieceSize(p int) float64 {
	if p == s.pieces-1 {
		return s.lastLen
	}
	return s.pieceLen
}

func (s *sim) at(t float64, e event) {
	e.t = t
	s.seq++
	e.seq = s.seq
	s.q.push(e)
}

// Run simulates the distribution cfg describes and returns what it
// measured. The same Config (and Seed) always gives the same Result.
func Run(cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	s.pieces = int((cfg.FileSize + cfg.PieceSize - 1) / cfg.PieceSize)
	s.pieceLen = float64(cfg.PieceSize)
	s.lastLen = float64(cfg.FileSize - int64(s.pieces-1)*cfg.PieceSize)
	s.copies = make([]int, s.pieces)
	// Every node's pieces and availability, side by side: the fan-out of
	// a piece reads one word and one count of each neighbour's.
	s.words = (s.pieces + 63) / 64
	s.have = make([]uint64, (cfg.Peers+1)*s.words)
	s.avail = make([]int, (cfg.Peers+1)*s.pieces)
	s.full = newPieces(s.pieces)
	for p := range s.pieces {
		s.full.set(p)
	}
	s.res = Result{Config: cfg, Pieces: s.pieces}
	s.res.Bound = s.bound()

	for i := 0; i <= cfg.Peers; i++ {
		n := &node{
			id: i, name: "peer " + strconv.Itoa(i), scale: 1, rounds: [2]float64{-1, -1},
			up: cfg.Upload, down: cfg.Download,
			finished: -1, left: -1,
			have:      s.have[i*s.words : (i+1)*s.words : (i+1)*s.words],
			requested: newPieces(s.pieces),
			started:   newPieces(s.pieces),
			recv:      make([]float64, s.pieces),
			progress:  make([]progress, s.pieces),
			avail:     s.avail[i*s.pieces : (i+1)*s.pieces : (i+1)*s.pieces],
			rng:       rand.New(rand.NewPCG(s.rng.Uint64(), uint64(i))),
		}
		n.connections(min(2*cfg.Neighbours, cfg.Peers))
		if i == 0 {
			n.up = cfg.SeedUpload
			for p := range s.pieces {
				n.have.set(p)
			}
			n.nHave = s.pieces
			n.finished = 0
		} else if i > cfg.Peers-cfg.FreeRiders {
			n.rider, n.up = true, 0
		} else {
			s.honest++
		}
		if err := s.policies(n); err != nil {
			return nil, err
		}
		n.slots = -1
		if sl, ok := n.choker.(Slotted); ok {
			n.slots = sl.Slots()
		}
		s.nodes = append(s.nodes, n)
	}

	s.join(s.nodes[0])
	if cfg.Churn.Interarrival == 0 {
		s.join(s.nodes[1:]...) // a flash crowd
	} else {
		t := 0.0
		for _, n := range s.nodes[1:] {
			t += s.rng.ExpFloat64() * cfg.Churn.Interarrival.Seconds()
			s.pending++
			s.at(t, event{kind: arrive, node: n})
		}
	}
	s.at(0, event{kind: sample})

	limit := cfg.Limit.Seconds()
	for s.q.Len() > 0 {
		if s.pending == 0 && s.leechers == 0 {
			break
		}
		e := s.q.pop()
		if e.t > limit {
			s.now = limit
			return s.finish(fmt.Errorf("%w: still running at %v (Config.Limit)", ErrStalled, cfg.Limit))
		}
		s.now = e.t
		s.events++
		s.handle(e)
		// Everything due at the same instant happens before the
		// bandwidth is shared again.
		for s.q.Len() > 0 && s.q[0].t == s.now {
			s.events++
			s.handle(s.q.pop())
		}
		s.settle()
		if s.stuck >= stallSamples {
			return s.finish(fmt.Errorf("%w: %d leechers at %v and nothing moving", ErrStalled, s.leechers, s.dur(s.now)))
		}
	}
	return s.finish(nil)
}

func (s *sim) dur(t float64) time.Duration { return time.Duration(math.Round(t * 1e9)) }
func (s *sim) clock(t float64) time.Time   { return time.Unix(epoch, int64(s.dur(t))).UTC() }

// bound is the slides' bound for the configured distribution.
func (s *sim) bound() time.Duration {
	c := s.cfg
	if c.Mode == ClientServer {
		return ClientServerBound(c.Peers, float64(c.FileSize), c.SeedUpload, c.Download)
	}
	u := make([]float64, c.Peers)
	for i := range u {
		if i < c.Peers-c.FreeRiders {
			u[i] = c.Upload
		}
	}
	return P2PBound(float64(c.FileSize), c.SeedUpload, c.Download, u)
}

// policies gives n its picker and choker.
func (s *sim) policies(n *node) error {
	c := s.cfg
	if c.Mode == ClientServer {
		// The server sends every client the file in order, to all at once.
		n.picker, n.choker = InOrder{}, Unchoked{}
		return nil
	}
	var err error
	if c.NewPicker != nil {
		n.picker = c.NewPicker(n.id)
	} else if n.picker, err = newPicker(c.Selection, c.FileSize, c.PieceSize); err != nil {
		return err
	}
	if c.NewChoker != nil {
		n.choker = c.NewChoker(n.id, n.rng)
	} else if n.choker, err = newChoker(c.Choking, n.rng); err != nil {
		return err
	}
	return nil
}

func (s *sim) handle(e event) {
	switch e.kind {
	case pieceDone:
		n, p := e.node, int(e.piece)
		pl := &n.progress[p].plan
		if pl.qseq == e.seq {
			pl.qseq = 0
		}
		switch {
		case !n.present || pl.seq == 0:
		case pl.seq == e.seq:
			s.done(n, p)
		case pl.qseq == 0: // the plan moved later: its event goes back in
			pl.queued, pl.qseq = pl.t, pl.seq
			s.q.push(event{t: pl.t, seq: pl.seq, kind: pieceDone, node: n, piece: e.piece})
		}
	case rechokeRound:
		n := e.node
		if !n.present || (s.cfg.Mode == ClientServer && n.id != 0) {
			return // a client-server client uploads nothing
		}
		s.round(n)
		next := s.dur(n.arrived) + time.Duration(n.roundNo)*s.cfg.Round
		s.at(next.Seconds(), event{kind: rechokeRound, node: n})
	case arrive:
		s.pending--
		s.join(e.node)
	case abort:
		if e.node.present && !e.node.complete(s.pieces) {
			s.leave(e.node)
		}
	case sample:
		s.sample()
		s.at(s.now+s.cfg.Sample.Seconds(), event{kind: sample})
	}
}

// join brings ns into the torrent at once: they announce themselves to
// the tracker, then each asks it for neighbours and connects to them. Peers
// arriving together (a flash crowd) are all on the tracker's list when the
// first of them asks, so that each meets a random sample of the crowd, not
// only those that happened to be handled before it.
func (s *sim) join(ns ...*node) {
	for _, n := range ns {
		n.present = true
		n.arrived = s.now
		s.present = append(s.present, n)
		for p := range s.pieces {
			if n.have.Has(p) {
				s.copies[p]++
			}
		}
		if !n.complete(s.pieces) {
			s.leechers++
		}
		s.res.Arrivals++
	}
	for _, n := range ns {
		if s.cfg.Mode == ClientServer {
			if n.id != 0 {
				s.connect(s.nodes[0], n)
			}
		} else {
			s.neighbours(n)
		}
		if n.id != 0 && s.cfg.Churn.Abort > 0 {
			s.at(s.now+s.rng.ExpFloat64()*s.cfg.Churn.Abort.Seconds(), event{kind: abort, node: n})
		}
		s.at(s.now, event{kind: rechokeRound, node: n})
	}
}

// neighbours tops up n's peer set with random peers from the tracker: to
// Config.Neighbours at once, then a few more at each round up to twice
// that, as a client does while it knows peers to try.
func (s *sim) neighbours(n *node) {
	want := s.cfg.Neighbours
	if len(n.out) >= want {
		want = min(len(n.out)+connectsPerRound, 2*s.cfg.Neighbours)
	}
	others := len(s.present) - 1
	tries := 3 * (want - len(n.out))
	for len(n.out) < want && others > len(n.out) && tries > 0 {
		tries--
		m := s.present[s.rng.IntN(len(s.present))]
		if m == n || len(m.out) >= 2*s.cfg.Neighbours || connected(n, m) ||
			(m.complete(s.pieces) && n.complete(s.pieces)) {
			continue
		}
		s.connect(n, m)
	}
}

// connectsPerRound is how many new connections a leecher opens per round
// once it has Config.Neighbours.
const connectsPerRound = 4

func connected(a, b *node) bool {
	if len(a.out) > len(b.out) {
		a, b = b, a
	}
	for _, l := range a.out {
		if l.to == b {
			return true
		}
	}
	return false
}

// connect opens a connection between a and b: two links, and each side
// learns the other's bitfield.
func (s *sim) connect(a, b *node) {
	ab, ba := s.newLink(), s.newLink()
	*ab = link{from: a, to: b, connected: s.now}
	*ba = link{from: b, to: a, connected: s.now}
	ab.rev, ba.rev = ba, ab
	ab.outAt, ba.outAt = int32(len(a.out)), int32(len(b.out))
	ab.inIdx, ba.inIdx = int32(len(b.in)), int32(len(a.in))
	a.out, b.in = append(a.out, ab), append(b.in, ab)
	b.out, a.in = append(b.out, ba), append(a.in, ba)
	a.outTo, b.inFrom = append(a.outTo, int32(b.id)), append(b.inFrom, int32(a.id))
	b.outTo, a.inFrom = append(b.outTo, int32(a.id)), append(a.inFrom, int32(b.id))
	a.outOpen, b.outOpen = append(a.outOpen, false), append(b.outOpen, false)
	b.inOpen, a.inOpen = append(b.inOpen, false), append(a.inOpen, false)
	a.outLive, b.outLive = append(a.outLive, 0), append(b.outLive, 0)
	a.outView = append(a.outView, view{key: b.name, connected: s.now, lastUnchoked: -1, lastBlock: -1})
	b.outView = append(b.outView, view{key: a.name, connected: s.now, lastUnchoked: -1, lastBlock: -1})
	s.links = append(s.links, ab, ba)
	for _, l := range []*link{ab, ba} {
		count(l.to.avail, l.from.have, +1)
		s.setInterest(l, offersAny(l.from.have, l.to.have))
	}
}

// leave takes n out of the torrent (churn).
func (s *sim) leave(n *node) {
	n.present = false
	n.left = s.now
	for i, m := range s.present {
		if m == n {
			s.present = append(s.present[:i], s.present[i+1:]...)
			break
		}
	}
	for p := range s.pieces {
		if n.have.Has(p) {
			s.copies[p]--
		}
	}
	if !n.complete(s.pieces) {
		s.leechers--
	}
	for _, l := range n.out {
		s.close(l)
	}
	for _, l := range n.in {
		s.close(l)
	}
	n.out, n.in, n.outTo, n.inFrom, n.outOpen, n.inOpen, n.outLive, n.outView = nil, nil, nil, nil, nil, nil, nil, nil
	if n.activeIn != 0 {
		panic("swarm: flows left after leave")
	}
	// The neighbours look for new peers at their next round.
}

// close ends one link of a departing node.
// newLink returns a zero link from the current slab: links made together
// lie together in memory, and each starts on a cache line.
func (s *sim) newLink() *link {
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]link, 0, linkSlab)
	}
	s.slab = s.slab[:len(s.slab)+1]
	return &s.slab[len(s.slab)-1]
}

// linkSlab is how many links are allocated at once.
const linkSlab = 1024

func (s *sim) close(l *link) {
	if l.closed {
		return
	}
	l.closed = true
	s.stop(l)
	if l.unchoked {
		s.setUnchoked(l, false)
	}
	count(l.to.avail, l.from.have, -1)
	l.from.tally(l, -1)
	if from := l.from; from.present {
		i := l.outAt
		from.out, from.outTo = cut(from.out, i), cut(from.outTo, i)
		from.outOpen, from.outLive = cut(from.outOpen, i), cut(from.outLive, i)
		from.outView = cut(from.outView, i)
		if int(i) < len(from.out) {
			from.out[i].outAt = i
		}
		s.wantRechoke(from)
	}
	if to := l.to; to.present {
		i := l.inIdx
		to.in, to.inFrom, to.inOpen = cut(to.in, i), cut(to.inFrom, i), cut(to.inOpen, i)
		if int(i) < len(to.in) {
			to.in[i].inIdx = i
		}
		s.retry(to)
	}
}

// count adds d to avail[p] for every piece p of have.
func count(avail []int, have Pieces, d int) {
	for w, word := range have {
		if word == ^uint64(0) { // 64 pieces in a row, as a seed has
			for i := range avail[w*64 : w*64+64] {
				avail[w*64+i] += d
			}
			continue
		}
		for word != 0 {
			avail[w*64+bits.TrailingZeros64(word)] += d
			word &= word - 1
		}
	}
}

// cut removes element i of s, moving the last one into its place.
func cut[T any](s []T, i int32) []T {
	last := len(s) - 1
	s[i] = s[last]
	var zero T
	s[last] = zero
	return s[:last]
}

// setInterest records whether l.to wants something l.from has; a change
// is news for l.from's choker.
func (s *sim) setInterest(l *link, v bool) {
	if l.interested == v {
		return
	}
	if l.unchoked {
		s.accountService(l)
	}
	l.from.tally(l, -1)
	l.interested = v
	l.from.outView[l.outAt].interested = v
	l.from.tally(l, +1)
	if l.unchoked {
		l.unchokedAt = s.now
	}
	// A neighbour that lost interest frees its slot; one that gained it
	// can take a free slot.
	if (!v && l.unchoked) || (v && !l.unchoked && s.freeSlot(l.from)) {
		s.wantRechoke(l.from)
	}
}

// freeSlot reports whether n's choker could unchoke one more interested
// neighbour.
func (s *sim) freeSlot(n *node) bool {
	return n.slots < 0 || n.busy < n.slots
}

// tally adds d to the count of n's out links, l among them, that are
// interested and unchoked (busy) or interested and choked (waiting).
func (n *node) tally(l *link, d int) {
	switch {
	case !l.interested:
	case l.unchoked:
		n.busy += d
	default:
		n.waiting += d
	}
}

func (s *sim) accountService(l *link) {
	if l.interested {
		l.unchokedTime += s.now - l.unchokedAt
	}
}

func (s *sim) setUnchoked(l *link, v bool) {
	if l.unchoked == v {
		return
	}
	if v {
		l.unchokedAt = s.now
		l.from.outView[l.outAt].lastUnchoked = s.now
	} else {
		s.accountService(l)
	}
	from := l.from
	from.tally(l, -1)
	l.unchoked = v
	from.tally(l, +1)
	from.outOpen[l.outAt] = v
	l.to.inOpen[l.inIdx] = v
}

func (s *sim) wantRechoke(n *node) {
	if n.present && !n.rechoking {
		n.rechoking = true
		s.choking = append(s.choking, n)
	}
}

// advance brings a flow's byte count up to now.
func (s *sim) advance(l *link) {
	if dt := s.now - l.last; dt > 0 && l.rate > 0 {
		b := l.rate * dt
		l.bytes += b
		l.from.uploaded += b
		l.to.downloaded += b
	}
	l.last = s.now
}

// advancePiece brings the bytes n has received of piece p up to now.
func (s *sim) advancePiece(n *node, p int) {
	pr := &n.progress[p]
	if dt := s.now - pr.last; dt > 0 && pr.rate > 0 {
		n.recv[p] = min(n.recv[p]+pr.rate*dt, s.pieceSize(p))
	}
	pr.last = s.now
}

// schedule (re)plans the completion of n's piece p at its current rate.
func (s *sim) schedule(n *node, p int) {
	pr := &n.progress[p]
	pl := &pr.plan
	pl.seq = 0
	if pr.rate > 0 {
		left := max(s.pieceSize(p)-n.recv[p], 0)
		s.seq++
		pl.t, pl.seq = s.now+left/pr.rate, s.seq
		if pl.qseq == 0 || pl.t < pl.queued || (pl.t == pl.queued && pl.seq < pl.qseq) {
			pl.queued, pl.qseq = pl.t, pl.seq
			s.q.push(event{t: pl.t, seq: pl.seq, kind: pieceDone, node: n, piece: int32(p)})
		}
	}
}

// setRate changes the rate of l's flow, and so of the piece it carries.
func (s *sim) setRate(l *link, rate float64) {
	if rate == l.rate {
		return
	}
	s.advance(l)
	to, p := l.to, int(l.piece)
	s.advancePiece(to, p)
	pr := &to.progress[p]
	pr.rate += rate - l.rate
	if pr.flows == 1 || pr.rate < 0 {
		pr.rate = max(rate, 0) // no rounding drift with one flow
	}
	l.rate = rate
	s.schedule(to, p)
}

// start asks l.to's picker for a piece to fetch over l, and starts the
// flow if there is one.
func (s *sim) start(l *link) {
	if l.active || !l.unchoked || !l.interested || l.closed || l.from.up == 0 || !l.from.present || !l.to.present {
		return
	}
	to := l.to
	if !s.offers(l) {
		return
	}
	r := &s.scratch.req
	*r = PickRequest{
		Pieces: s.pieces, Have: to.have, Remote: l.from.have, Requested: to.requested, Started: to.started,
		Partial: to.recv, Availability: to.avail, Rand: to.rng,
	}
	p, ok := to.picker.Pick(r)
	if !ok {
		return
	}
	if p < 0 || p >= s.pieces || to.have.Has(p) || !l.from.have.Has(p) {
		panic(fmt.Sprintf("swarm: picker chose piece %d, which the peer has or the neighbour lacks", p))
	}
	l.active = true
	l.from.outLive[l.outAt], to.outLive[l.rev.outAt] = 3, 3 // both ends' rounds measure it
	l.flowAt = int32(len(l.from.flows))
	l.from.flows = append(l.from.flows, l)
	l.inAt = int32(len(to.inflows))
	to.inflows = append(to.inflows, l)
	l.piece = int32(p)
	l.rate = 0
	l.last = s.now
	to.requested.set(p)
	to.started.set(p)
	to.progress[p].flows++
	to.activeIn++
	s.flows++
	s.markDirty(l.from)
}

// offers reports whether l.from has a piece l.to could request from it:
// one it lacks and has not requested from anyone, or, in endgame (every
// missing piece requested), any piece it lacks. It saves asking the picker
// when the answer is sure to be no.
func (s *sim) offers(l *link) bool {
	from, to := l.from.have, l.to
	endgame := true
	for i, w := range from {
		if w&^to.have[i]&^to.requested[i] != 0 {
			return true
		}
		if ^to.have[i]&^to.requested[i]&s.full[i] != 0 {
			endgame = false
		}
	}
	return endgame
}

// stop ends l's flow before the piece is complete. What arrived is kept
// (BitTorrent keeps the blocks it received; the piece is finished later,
// from anyone).
func (s *sim) stop(l *link) {
	if !l.active {
		return
	}
	to, p := l.to, int(l.piece)
	s.setRate(l, 0)
	s.unflow(l)
	if to.progress[p].flows == 0 {
		if to.present && s.pieceSize(p)-to.recv[p] <= 1e-9*s.pieceSize(p) {
			// It was due now: the piece is complete after all.
			s.done(to, p)
			return
		}
		s.retry(to)
	}
}

// unflow removes l's (rate 0) flow from the books.
func (s *sim) unflow(l *link) {
	to, p := l.to, int(l.piece)
	l.active = false
	fs := l.from.flows
	last := fs[len(fs)-1]
	fs[l.flowAt], last.flowAt = last, l.flowAt
	l.from.flows = fs[:len(fs)-1]
	ins := to.inflows
	lastIn := ins[len(ins)-1]
	ins[l.inAt], lastIn.inAt = lastIn, l.inAt
	to.inflows = ins[:len(ins)-1]
	pr := &to.progress[p]
	pr.flows--
	if pr.flows == 0 {
		to.requested.clear(p)
		pr.rate, pr.plan.seq = 0, 0
	}
	to.activeIn--
	s.flows--
	to.rawIn -= l.raw
	l.raw = 0
	if to.scale < 1 {
		s.markSaturated(to)
	}
	s.markDirty(l.from)
}

// retry gives n's idle unchoked links a chance to start a flow, after a
// piece came back into play.
func (s *sim) retry(n *node) {
	for i, l := range n.in {
		if n.inOpen[i] { // start asks no choked link for anything
			s.start(l)
		}
	}
}

// done completes n's piece p. Every flow carrying it ends (there are
// several in endgame, each bringing other blocks of the piece), and each
// of those links moves on to another piece.
func (s *sim) done(n *node, p int) {
	ended := s.scratch.ended[:0]
	for _, l := range n.inflows {
		if int(l.piece) == p {
			s.advance(l)
			l.rate = 0
			out := l.rev // the downloader's link back to the uploader
			n.outView[out.outAt].lastBlock = s.now
			ended = append(ended, l)
		}
	}
	for _, l := range ended {
		s.unflow(l)
	}
	n.recv[p] = 0
	n.progress[p].rate, n.progress[p].plan.seq = 0, 0
	n.started.clear(p)
	s.got(n, p)
	for _, l := range ended {
		s.start(l)
	}
	s.scratch.ended = ended[:0]
}

// got records that n verified piece p.
func (s *sim) got(n *node, p int) {
	n.have.set(p)
	n.nHave++
	s.copies[p]++
	// The neighbours' pieces and counts are read by number, and a link
	// only where something happens on it: a neighbour becomes interested
	// (p is the only piece n has that it lacks), n loses interest in a
	// neighbour (it has nothing n lacks any more), or an unchoked
	// neighbour may request p.
	w, bit, pieces, words := p/64, uint64(1)<<(uint(p)%64), s.pieces, s.words
	mine, first := n.have, n.have[0]
	if w == 0 {
		first &^= bit
	}
	// Whether a neighbour has p is a coin toss the processor cannot
	// guess, so the loops test it last, after the conditions that are
	// rarely true.
	for i, m := range n.outTo { // n offers p to its neighbours
		s.avail[int(m)*pieces+p]++
		theirs := int(m) * words
		// Interested now if p is the one piece of n's it lacks (the
		// first word usually says no).
		if first&^s.have[theirs] == 0 && s.have[theirs+w]&bit == 0 && only(mine, s.have[theirs:theirs+words], p) {
			s.setInterest(n.out[i], true)
		}
		if n.outOpen[i] && s.have[theirs+w]&bit == 0 {
			s.start(n.out[i])
		}
	}
	for i, m := range n.inFrom { // n no longer needs p from anyone
		theirs := int(m) * words
		if s.have[theirs]&^mine[0] == 0 && s.have[theirs+w]&bit != 0 && !offersAny(s.have[theirs:theirs+words], mine) {
			s.setInterest(n.in[i], false)
		}
	}
	if n.complete(s.pieces) {
		n.finished = s.now
		s.leechers--
		for _, l := range n.out {
			s.advance(l)
			l.fromDone, l.fromDoneSet = l.bytes, true
		}
		for _, l := range n.in {
			s.advance(l)
			l.toDone, l.toDoneSet = l.bytes, true
		}
		if !n.rider {
			if s.honest--; s.honest == 0 && !s.riderMark {
				s.markRiders()
			}
		}
		s.wantRechoke(n) // now a seed: the choker switches state
		if s.cfg.Churn.Selfish {
			s.leave(n)
			return
		}
		// Two seeds have nothing to say to each other: like real
		// clients, hang up, and leave room for leechers.
		var seeds []*link
		for _, l := range n.out {
			if l.to.complete(s.pieces) {
				seeds = append(seeds, l)
			}
		}
		for _, l := range seeds {
			s.close(l)
			s.close(l.rev)
		}
	}
}

func (s *sim) markDirty(n *node) {
	if !n.dirty {
		n.dirty = true
		s.dirty = append(s.dirty, n)
	}
}

// settle runs the choker updates an event caused, then shares the
// bandwidth again wherever the set of flows changed.
func (s *sim) settle() {
	for len(s.choking) > 0 {
		n := s.choking[0]
		s.choking = s.choking[1:]
		n.rechoking = false
		if n.present {
			s.rechoke(n, false)
		}
	}
	for _, n := range s.dirty {
		n.dirty = false
		s.share(n)
	}
	s.dirty = s.dirty[:0]
	for _, n := range s.saturated {
		n.rescaling = false
		s.rescale(n)
	}
	s.saturated = s.saturated[:0]
}

// share divides n's upload rate equally among its flows. Each flow then
// runs at that share, unless its downloader is offered more than its
// download rate in all: then the downloader's flows are all scaled down in
// proportion (rescale).
func (s *sim) share(n *node) {
	k := len(n.flows)
	if k == 0 {
		return
	}
	raw := n.up / float64(k)
	for _, l := range n.flows {
		if l.raw == raw {
			continue
		}
		to := l.to
		to.rawIn += raw - l.raw
		l.raw = raw
		if to.down > 0 && (to.scale < 1 || to.rawIn > to.down) {
			s.markSaturated(to)
			continue
		}
		s.setRate(l, raw)
	}
}

func (s *sim) markSaturated(n *node) {
	if !n.rescaling {
		n.rescaling = true
		s.saturated = append(s.saturated, n)
	}
}

// rescale fits the flows into n within its download rate.
func (s *sim) rescale(n *node) {
	if !n.present {
		return
	}
	n.scale = 1
	if n.down > 0 && n.rawIn > n.down {
		n.scale = n.down / n.rawIn
	}
	for _, l := range n.in {
		if l.active {
			s.setRate(l, l.raw*n.scale)
		}
	}
}

// round is n's periodic choking round.
func (s *sim) round(n *node) {
	n.roundNo++
	if s.cfg.Mode == P2P && !n.complete(s.pieces) {
		s.neighbours(n)
	}
	span := s.cfg.Round.Seconds()
	before := n.rounds[0] // the rates run from the round before the last
	for i, l := range n.out {
		if n.outLive[i] == 0 {
			continue // nothing moved either way for two rounds: rates 0
		}
		since := max(l.connected, before)
		b := l.bytes + l.rate*(s.now-l.last)
		n.outView[i].upRate = (b - l.upMark[0]) / max(s.now-since, span)
		l.upMark = [2]float64{l.upMark[1], b}
		// n.in holds the other half of each connection.
		in := l.rev
		b = in.bytes + in.rate*(s.now-in.last)
		in.downRate = (b - in.downMark[0]) / max(s.now-since, span)
		in.downMark = [2]float64{in.downMark[1], b}
		if !l.active && !in.active {
			n.outLive[i]--
		}
	}
	n.rounds = [2]float64{n.rounds[1], s.now}
	s.rechoke(n, true)
}

// rechoke asks n's choker who to unchoke and applies the answer.
func (s *sim) rechoke(n *node, round bool) {
	if n.rider || n.up == 0 || len(n.out) == 0 {
		return
	}
	if !round && !waiting(n) {
		return // no slot to fill: between rounds nobody is choked
	}
	if rc, ok := n.choker.(*realChoker); ok && !round && rc.full(n.complete(s.pieces), n.busy) {
		return
	}
	ls, at := s.scratch.nsLinks[:0], s.scratch.nsAt[:0]
	for i := range n.out {
		v := &n.outView[i]
		if !v.interested && !n.outOpen[i] && (!round || n.outLive[i] == 0 || (n.out[i].rev.downRate == 0 && v.upRate == 0)) {
			continue // nobody to decide about
		}
		ls, at = append(ls, n.out[i]), append(at, int32(i))
	}
	s.scratch.nsLinks, s.scratch.nsAt = ls, at
	if len(ls) == 0 {
		return
	}
	now, seeding := s.clock(s.now), n.complete(s.pieces)
	// unchoke says whether choice k unchokes, reason why.
	var unchoke func(k int) bool
	var reason func(k int) string
	if rc, ok := n.choker.(*realChoker); ok {
		// The bittorrent package's choker: its input is built straight
		// from the links, without the Neighbour in between, and its
		// choices are read as they come.
		stats := grow(s.scratch.stats, len(ls))
		for k, i := range at {
			s.peerStats(&stats[k], n, int(i), now)
		}
		s.scratch.stats = stats
		choices := rc.decide(s.scratch.choices, stats, now, seeding)
		s.scratch.choices = choices
		unchoke = func(k int) bool { return choices[k].Unchoke() }
		reason = func(k int) string { return choices[k].Reason.String() }
	} else {
		ns := s.scratch.ns[:0]
		for _, l := range ls {
			nb := s.neighbour(l)
			ns = append(ns, nb)
		}
		s.scratch.ns = ns
		choices := n.choker.Rechoke(now, seeding, round, ns)
		unchoke = func(k int) bool { return choices[k].Unchoke }
		reason = func(k int) string { return choices[k].Reason }
	}
	if round && s.cfg.RecordRounds {
		r := Round{Time: s.dur(s.now), Peer: n.id, Seeding: seeding}
		for k := range ls {
			if unchoke(k) {
				r.Unchoked = append(r.Unchoked, ls[k].to.id)
				r.Reasons = append(r.Reasons, reason(k))
			}
		}
		s.res.Rounds = append(s.res.Rounds, r)
	}
	for k, l := range ls {
		u := unchoke(k)
		// n.outOpen says without reading the link, unless the list
		// changed (a neighbour that finished hung up).
		if i := at[k]; int(i) < len(n.out) && n.out[i] == l && u == n.outOpen[i] {
			continue
		}
		if u == l.unchoked {
			continue
		}
		s.setUnchoked(l, u)
		if u {
			s.start(l)
		} else {
			s.stop(l)
		}
	}
}

// peerStats sets *p to what n's choker sees of its neighbour on n.out[i],
// as the bittorrent package's choker takes it: the fields of neighbour,
// built without it. *p is zero.
func (s *sim) peerStats(p *bittorrent.PeerStats, n *node, i int, now time.Time) {
	v := &n.outView[i]
	p.ID, p.Interested = v.key, v.interested
	p.UploadRate = v.upRate
	p.Connected = s.clock(v.connected)
	// The other way only if something moved on it lately (outLive): else
	// its rate is 0 and no flow is on.
	if n.outLive[i] != 0 {
		in := n.out[i].rev
		p.DownloadRate = in.downRate
		if in.active && in.rate > 0 {
			p.LastBlock = now
		}
	}
	if p.LastBlock.IsZero() && v.lastBlock >= 0 {
		p.LastBlock = s.clock(v.lastBlock)
	}
	if v.lastUnchoked >= 0 {
		p.LastUnchoked = s.clock(v.lastUnchoked)
	}
}

// neighbour is what l.from's choker sees of l.to.
func (s *sim) neighbour(l *link) Neighbour {
	in, v := l.rev, &l.from.outView[l.outAt]
	nb := Neighbour{
		ID: l.to.id, Key: v.key, Interested: l.interested, Unchoked: l.unchoked,
		DownloadRate: in.downRate, UploadRate: v.upRate,
		Connected: s.clock(l.connected),
	}
	if in.active && in.rate > 0 {
		nb.LastPiece = s.clock(s.now)
	} else if v.lastBlock >= 0 {
		nb.LastPiece = s.clock(v.lastBlock)
	}
	if v.lastUnchoked >= 0 {
		nb.LastUnchoked = s.clock(v.lastUnchoked)
	}
	return nb
}

// waiting reports whether an interested neighbour of n is choked.
func waiting(n *node) bool { return n.waiting > 0 }

// grow returns b resized to n zero elements, reusing its array.
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	b = b[:n]
	clear(b)
	return b
}
