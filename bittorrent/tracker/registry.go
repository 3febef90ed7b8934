package tracker

import (
	"cmp"
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"appnet.dev/bittorrent/metainfo"
)

// A Backend is the tracker's memory, which the Server consults for every
// announce and scrape. [Registry] is the in-memory one; a Backend could as
// well keep its swarms in a database.
//
// Each call gets the request's context: the Server cancels it when the
// request's connection ends, when a UDP request has waited too long for
// its reply, and when the server closes. A Backend that can block (on a
// database, a remote store) must give up then and return ctx's error, or
// Close and Shutdown wait for it.
type Backend interface {
	// Announce records what a peer, reachable at addr, has told the
	// tracker and returns up to numWant other peers of the torrent with
	// the torrent's counts: never the peer itself, and peers of addr's
	// address family first (a UDP reply can carry no others). An error
	// becomes the reply's failure reason.
	Announce(ctx context.Context, now time.Time, req *AnnounceRequest, addr netip.AddrPort, numWant int) ([]Peer, Stats, error)
	// Scrape returns a torrent's counts (zero for an unknown torrent).
	Scrape(ctx context.Context, now time.Time, h metainfo.Hash) (Stats, error)
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
// Its calls never wait for more than its lock, so they ignore their
// context.
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
	peers      []entry        // in the order they joined, less those gone
	index      map[PeerID]int // where each peer is in peers
	downloaded int
	lastSweep  time.Time
}

type entry struct {
	peer Peer
	left int64
	seen int64 // when it last announced, in Unix nanoseconds
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
func (r *Registry) Announce(_ context.Context, now time.Time, req *AnnounceRequest, addr netip.AddrPort, numWant int) ([]Peer, Stats, error) {
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

	var e *entry // points into s.peers until the next append or remove
	if i, ok := s.index[req.PeerID]; ok {
		e = &s.peers[i]
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
		s.index[req.PeerID] = len(s.peers)
		s.peers = append(s.peers, entry{peer: Peer{ID: req.PeerID}, left: -1})
		e = &s.peers[len(s.peers)-1]
	}
	if req.Event == Completed && e.left != 0 {
		s.downloaded++
	}
	e.peer.Addr = addr
	e.left = req.Left
	e.seen = now.UnixNano()
	peers, st := s.pick(e, now, timeout, numWant, r.Rand)
	return peers, st, nil
}

// Scrape implements Backend.
func (r *Registry) Scrape(_ context.Context, now time.Time, h metainfo.Hash) (Stats, error) {
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
	cutoff := now.Add(-timeout).UnixNano()
	kept := s.peers[:0]
	for _, e := range s.peers {
		if e.seen < cutoff {
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
	s.peers[last] = entry{}
	s.peers = s.peers[:last]
	delete(s.index, id)
}

// pick counts the live peers and chooses up to numWant of them for self
// (nil for none): never self (by ID or by address), and no seeds for a
// seed, which has nothing to get from them. Peers of self's address
// family come first: a UDP reply carries only those, and they are the
// ones self can surely reach.
//
// Two passes over the swarm: the first counts the candidates, then
// sample picks which of them to take, the second collects those.
func (s *swarm) pick(self *entry, now time.Time, timeout time.Duration, numWant int, rng *rand.Rand) ([]Peer, Stats) {
	st := Stats{Downloaded: s.downloaded}
	cutoff := now.Add(-timeout).UnixNano()
	// kind sorts a peer: 0 not a candidate, 1 same family, 2 the other.
	kind := func(e *entry) int {
		if self == nil || e == self || e.peer.Addr == self.peer.Addr || (self.left == 0 && e.left == 0) {
			return 0
		}
		if e.peer.Addr.Addr().Is4() == self.peer.Addr.Addr().Is4() {
			return 1
		}
		return 2
	}
	var count [3]int
	for i := range s.peers {
		e := &s.peers[i]
		if e.seen < cutoff {
			continue // gone silent; removed at the next sweep
		}
		if e.left == 0 {
			st.Complete++
		} else {
			st.Incomplete++
		}
		count[kind(e)]++
	}
	if self == nil || numWant <= 0 {
		return nil, st
	}
	intN := rand.IntN
	if rng != nil {
		intN = rng.IntN
	}
	takeSame := min(numWant, count[1])
	take := [3]bitset{nil, sample(count[1], takeSame, intN), sample(count[2], min(numWant-takeSame, count[2]), intN)}
	out := make([]Peer, 0, takeSame+min(numWant-takeSame, count[2]))
	var seen [3]int
	for i := range s.peers {
		e := &s.peers[i]
		if e.seen < cutoff {
			continue
		}
		if k := kind(e); k != 0 {
			if take[k].has(seen[k]) {
				out = append(out, e.peer)
			}
			seen[k]++
		}
	}
	return out, st
}

// A bitset marks chosen positions; nil means all of them.
type bitset []uint64

func (b bitset) has(i int) bool { return b == nil || b[i/64]&(1<<(i%64)) != 0 }

// sample chooses k of the positions 0…n-1 uniformly at random with k
// calls to intN, by Floyd's algorithm: for each j from n-k to n-1, take
// a random position up to j, or j itself if that one is taken already.
func sample(n, k int, intN func(int) int) bitset {
	if k >= n {
		return nil
	}
	b := make(bitset, (n+63)/64)
	for j := n - k; j < n; j++ {
		t := intN(j + 1)
		if b.has(t) {
			t = j
		}
		b[t/64] |= 1 << (t % 64)
	}
	return b
}

// SelectPeers returns numWant of the candidates chosen uniformly at
// random (all of them if there are fewer), in their order, in a fresh
// slice. With a seeded rng and the same candidates, the choice is
// reproducible.
func SelectPeers(candidates []Peer, numWant int, rng *rand.Rand) []Peer {
	intN := rand.IntN
	if rng != nil {
		intN = rng.IntN
	}
	k := min(max(numWant, 0), len(candidates))
	take := sample(len(candidates), k, intN)
	out := make([]Peer, 0, k)
	for i, p := range candidates {
		if take.has(i) {
			out = append(out, p)
		}
	}
	return out
}
