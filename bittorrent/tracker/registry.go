package tracker

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"appnet.dev/bittorrent/metainfo"
)

// A Backend is the tracker's memory, which the Server consults for every
// announce and scrape. [Registry] is the in-memory one; a Backend could as
// well keep its swarms in a database.
type Backend interface {
	// Announce records what a peer, reachable at addr, has told the
	// tracker and returns up to numWant other peers of the torrent with
	// the torrent's counts: never the peer itself, and peers of addr's
	// address family first (a UDP reply can carry no others). An error
	// becomes the reply's failure reason.
	Announce(now time.Time, req *AnnounceRequest, addr netip.AddrPort, numWant int) ([]Peer, Stats, error)
	// Scrape returns a torrent's counts (zero for an unknown torrent).
	Scrape(now time.Time, h metainfo.Hash) (Stats, error)
}

// Defaults for a Registry.
const (
	DefaultPeerTimeout = 45 * time.Minute // 1.5 × the default announce interval
	DefaultMaxSwarms   = 100_000
	DefaultMaxPeers    = 100_000 // per swarm
)

// A Registry is an in-memory Backend: for each torrent, the peers that
// announced lately. A peer that has not announced for PeerTimeout is gone
// (it crashed, or its "stopped" was lost): churn is the normal case in a
// P2P system. Time is passed in, so expiry is tested in virtual time.
// The zero value is ready to use, and a Registry is safe for concurrent use.
type Registry struct {
	PeerTimeout time.Duration // default DefaultPeerTimeout
	MaxSwarms   int           // torrents tracked at once; default DefaultMaxSwarms
	MaxPeers    int           // peers per torrent; default DefaultMaxPeers

	// Allow, if set, restricts the tracker to the torrents it accepts (a
	// whitelist, as a private tracker keeps).
	Allow func(metainfo.Hash) bool

	// Rand chooses which peers to hand out when there are more than
	// wanted; nil uses math/rand/v2's global source.
	Rand *rand.Rand

	mu        sync.Mutex
	swarms    map[metainfo.Hash]*swarm
	lastSweep time.Time
}

type swarm struct {
	peers      []*entry       // in the order they joined, less those gone
	index      map[PeerID]int // where each peer is in peers
	downloaded int
	lastSweep  time.Time
}

type entry struct {
	peer Peer
	left int64
	seen time.Time
}

func newSwarm(now time.Time) *swarm {
	return &swarm{index: map[PeerID]int{}, lastSweep: now}
}

func (r *Registry) timeout() time.Duration {
	if r.PeerTimeout > 0 {
		return r.PeerTimeout
	}
	return DefaultPeerTimeout
}

// Announce implements Backend.
func (r *Registry) Announce(now time.Time, req *AnnounceRequest, addr netip.AddrPort, numWant int) ([]Peer, Stats, error) {
	if r.Allow != nil && !r.Allow(req.InfoHash) {
		return nil, Stats{}, &Error{"torrent not registered with this tracker"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	timeout := r.timeout()
	if now.Sub(r.lastSweep) > timeout {
		r.sweep(now)
	}
	s := r.swarms[req.InfoHash]
	if s == nil {
		if req.Event == Stopped {
			return nil, Stats{}, nil
		}
		if len(r.swarms) >= cmp.Or(r.MaxSwarms, DefaultMaxSwarms) {
			return nil, Stats{}, &Error{"tracker full: too many torrents"}
		}
		if r.swarms == nil {
			r.swarms = map[metainfo.Hash]*swarm{}
		}
		s = newSwarm(now)
		r.swarms[req.InfoHash] = s
	}
	// Silent peers are skipped at once and removed now and then, so an
	// announce costs one pass over the swarm.
	if now.Sub(s.lastSweep) > timeout/8 {
		s.expire(now, timeout)
	}

	var e *entry
	if i, ok := s.index[req.PeerID]; ok {
		e = s.peers[i]
	}
	switch {
	case req.Event == Stopped:
		if e != nil {
			s.remove(req.PeerID)
		}
		if len(s.peers) == 0 {
			delete(r.swarms, req.InfoHash)
		}
		_, st := s.pick(nil, now, timeout, 0, nil)
		return nil, st, nil
	case e == nil:
		if len(s.peers) >= cmp.Or(r.MaxPeers, DefaultMaxPeers) {
			return nil, Stats{}, &Error{"tracker full: too many peers in this torrent"}
		}
		e = &entry{peer: Peer{ID: req.PeerID}, left: -1}
		s.index[req.PeerID] = len(s.peers)
		s.peers = append(s.peers, e)
	}
	if req.Event == Completed && e.left != 0 {
		s.downloaded++
	}
	e.peer.Addr = addr
	e.left = req.Left
	e.seen = now
	peers, st := s.pick(e, now, timeout, numWant, r.Rand)
	return peers, st, nil
}

// Scrape implements Backend.
func (r *Registry) Scrape(now time.Time, h metainfo.Hash) (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.swarms[h]
	if s == nil {
		return Stats{}, nil
	}
	_, st := s.pick(nil, now, r.timeout(), 0, nil)
	return st, nil
}

// Expire forgets every peer silent for longer than PeerTimeout at now,
// and every torrent left without peers. Announce does this as it goes;
// Expire is for a caller that wants the memory back at once.
func (r *Registry) Expire(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now)
}

func (r *Registry) sweep(now time.Time) {
	for h, s := range r.swarms {
		s.expire(now, r.timeout())
		if len(s.peers) == 0 {
			delete(r.swarms, h)
		}
	}
	r.lastSweep = now
}

func (s *swarm) expire(now time.Time, timeout time.Duration) {
	kept := s.peers[:0]
	for _, e := range s.peers {
		if now.Sub(e.seen) > timeout {
			delete(s.index, e.peer.ID)
			continue
		}
		s.index[e.peer.ID] = len(kept)
		kept = append(kept, e)
	}
	clear(s.peers[len(kept):])
	s.peers = kept
	s.lastSweep = now
}

func (s *swarm) remove(id PeerID) {
	i := s.index[id]
	last := len(s.peers) - 1
	if i != last {
		moved := s.peers[last]
		s.peers[i] = moved
		s.index[moved.peer.ID] = i
	}
	s.peers[last] = nil
	s.peers = s.peers[:last]
	delete(s.index, id)
}

// pick counts the live peers and chooses up to numWant of them for self
// (nil for none): never self (by ID or by address), and no seeds for a
// seed, which has nothing to get from them. Peers of self's address
// family come first: a UDP reply carries only those, and they are the
// ones self can surely reach.
func (s *swarm) pick(self *entry, now time.Time, timeout time.Duration, numWant int, rng *rand.Rand) ([]Peer, Stats) {
	st := Stats{Downloaded: s.downloaded}
	want := numWant
	if self == nil {
		want = 0
	}
	same, other := newReservoir(want, rng), newReservoir(want, rng)
	same.out = make([]Peer, 0, min(want, len(s.peers)))
	for _, e := range s.peers {
		if now.Sub(e.seen) > timeout {
			continue // gone silent; removed at the next sweep
		}
		if e.left == 0 {
			st.Complete++
		} else {
			st.Incomplete++
		}
		if want <= 0 || e == self || e.peer.Addr == self.peer.Addr || (self.left == 0 && e.left == 0) {
			continue
		}
		if e.peer.Addr.Addr().Is4() == self.peer.Addr.Addr().Is4() {
			same.add(e.peer)
		} else {
			other.add(e.peer)
		}
	}
	if want <= 0 {
		return nil, st
	}
	out := same.out
	for _, p := range other.out {
		if len(out) == want {
			break
		}
		out = append(out, p)
	}
	return out, st
}

// A reservoir keeps a uniform random sample of up to n of the values
// offered to it, without holding the rest (reservoir sampling): one pass
// over a swarm of thousands, memory for n.
type reservoir struct {
	out  []Peer
	n    int
	seen int
	intN func(int) int
}

func newReservoir(n int, rng *rand.Rand) *reservoir {
	r := &reservoir{n: max(n, 0), intN: rand.IntN}
	if rng != nil {
		r.intN = rng.IntN
	}
	return r
}

func (r *reservoir) add(p Peer) {
	r.seen++
	if len(r.out) < r.n {
		r.out = append(r.out, p)
	} else if j := r.intN(r.seen); j < r.n {
		r.out[j] = p
	}
}

// SelectPeers returns numWant of the candidates chosen uniformly at
// random (all of them, in order, if there are fewer), in a fresh slice.
// With a seeded rng and the same candidates in the same order, the choice
// is reproducible.
func SelectPeers(candidates []Peer, numWant int, rng *rand.Rand) []Peer {
	r := newReservoir(numWant, rng)
	for _, p := range candidates {
		r.add(p)
	}
	return r.out
}
