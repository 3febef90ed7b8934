package tracker

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
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
	// the torrent's counts. An error becomes the reply's failure reason.
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
	peers      map[PeerID]*entry
	downloaded int
}

type entry struct {
	peer Peer
	left int64
	seen time.Time
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
	if now.Sub(r.lastSweep) > r.timeout() {
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
		s = &swarm{peers: map[PeerID]*entry{}}
		r.swarms[req.InfoHash] = s
	}
	s.expire(now, r.timeout())

	e := s.peers[req.PeerID]
	switch {
	case req.Event == Stopped:
		delete(s.peers, req.PeerID)
		if len(s.peers) == 0 {
			delete(r.swarms, req.InfoHash)
		}
		return nil, s.stats(), nil
	case e == nil:
		if len(s.peers) >= cmp.Or(r.MaxPeers, DefaultMaxPeers) {
			return nil, Stats{}, &Error{"tracker full: too many peers in this torrent"}
		}
		e = &entry{peer: Peer{ID: req.PeerID}, left: -1}
		s.peers[req.PeerID] = e
	}
	if req.Event == Completed && e.left != 0 {
		s.downloaded++
	}
	e.peer.Addr = addr
	e.left = req.Left
	e.seen = now
	return s.pick(e, numWant, r.Rand), s.stats(), nil
}

// Scrape implements Backend.
func (r *Registry) Scrape(now time.Time, h metainfo.Hash) (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.swarms[h]
	if s == nil {
		return Stats{}, nil
	}
	s.expire(now, r.timeout())
	return s.stats(), nil
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
	for id, e := range s.peers {
		if now.Sub(e.seen) > timeout {
			delete(s.peers, id)
		}
	}
}

func (s *swarm) stats() Stats {
	st := Stats{Downloaded: s.downloaded}
	for _, e := range s.peers {
		if e.left == 0 {
			st.Complete++
		} else {
			st.Incomplete++
		}
	}
	return st
}

// pick chooses up to numWant peers for self: never self (by ID or by
// address), and no seeds for a seed, which has nothing to get from them.
func (s *swarm) pick(self *entry, numWant int, rng *rand.Rand) []Peer {
	var out []Peer
	for _, e := range s.peers {
		if e == self || e.peer.Addr == self.peer.Addr || (self.left == 0 && e.left == 0) {
			continue
		}
		out = append(out, e.peer)
	}
	return SelectPeers(out, numWant, rng)
}

// SelectPeers returns numWant of the candidates chosen at random (all of
// them if there are fewer), in a fresh slice. Candidates are first put in
// address order, so a seeded rng makes the choice reproducible.
func SelectPeers(candidates []Peer, numWant int, rng *rand.Rand) []Peer {
	c := slices.Clone(candidates)
	slices.SortFunc(c, func(a, b Peer) int { return a.Addr.Compare(b.Addr) })
	if numWant < 0 {
		numWant = 0
	}
	if len(c) <= numWant {
		return c
	}
	intN := rand.IntN
	if rng != nil {
		intN = rng.IntN
	}
	for i := range numWant { // a partial Fisher–Yates shuffle
		j := i + intN(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:numWant]
}
