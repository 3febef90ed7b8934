package tracker

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"github.com/google/go-cmp/cmp"
)

var (
	t0       = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	torrentA = metainfo.Hash{0xaa, 1}
	torrentB = metainfo.Hash{0xbb, 2}
)

func pid(name string) PeerID {
	var id PeerID
	copy(id[:], "-AP0001-"+name)
	return id
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func announceAt(t *testing.T, r *Registry, at time.Duration, h metainfo.Hash, name, addr string, left int64, ev Event, want int) ([]string, Stats) {
	t.Helper()
	req := &AnnounceRequest{InfoHash: h, PeerID: pid(name), Left: left, Event: ev, Port: ap(addr).Port()}
	peers, st, err := r.Announce(t.Context(), t0.Add(at), req, ap(addr), want)
	if err != nil {
		t.Fatalf("announce of %s: %v", name, err)
	}
	var out []string
	for _, p := range peers {
		out = append(out, p.Addr.String())
	}
	slices.Sort(out)
	return out, st
}

func TestRegistrySwarm(t *testing.T) {
	r := &Registry{PeerTimeout: 10 * time.Minute}
	// Alice joins an empty torrent: nobody to meet yet.
	peers, st := announceAt(t, r, 0, torrentA, "alice", "127.0.0.2:6881", 1000, Started, 50)
	if len(peers) != 0 || st != (Stats{Incomplete: 1}) {
		t.Errorf("alice first: %v %+v", peers, st)
	}
	announceAt(t, r, time.Minute, torrentA, "seed", "127.0.0.9:6881", 0, Started, 50)
	peers, st = announceAt(t, r, 2*time.Minute, torrentA, "bob", "127.0.0.3:6881", 1000, Started, 50)
	if diff := cmp.Diff([]string{"127.0.0.2:6881", "127.0.0.9:6881"}, peers); diff != "" {
		t.Errorf("bob's peers (-want +got):\n%s", diff)
	}
	if st != (Stats{Complete: 1, Incomplete: 2}) {
		t.Errorf("stats %+v", st)
	}
	// A seed gets no seeds.
	peers, _ = announceAt(t, r, 3*time.Minute, torrentA, "seed", "127.0.0.9:6881", 0, None, 50)
	if diff := cmp.Diff([]string{"127.0.0.2:6881", "127.0.0.3:6881"}, peers); diff != "" {
		t.Errorf("seed's peers (-want +got):\n%s", diff)
	}
	// Alice finishes: one download counted, once.
	announceAt(t, r, 4*time.Minute, torrentA, "alice", "127.0.0.2:6881", 0, Completed, 50)
	_, st = announceAt(t, r, 5*time.Minute, torrentA, "alice", "127.0.0.2:6881", 0, Completed, 50)
	if st != (Stats{Complete: 2, Incomplete: 1, Downloaded: 1}) {
		t.Errorf("after completed: %+v", st)
	}
	// Bob stops: gone at once.
	if peers, _ := announceAt(t, r, 6*time.Minute, torrentA, "bob", "127.0.0.3:6881", 10, Stopped, 50); len(peers) != 0 {
		t.Errorf("stopped got peers %v", peers)
	}
	if st, _ := r.Scrape(t.Context(), t0.Add(6*time.Minute), torrentA); st != (Stats{Complete: 2, Downloaded: 1}) {
		t.Errorf("after stop: %+v", st)
	}
	// The seed last announced at 3 min; at 13 min 30 s it has been silent
	// for more than 10 minutes and is forgotten, Alice (5 min) is not.
	if st, _ := r.Scrape(t.Context(), t0.Add(13*time.Minute+30*time.Second), torrentA); st != (Stats{Complete: 1, Downloaded: 1}) {
		t.Errorf("after expiry: %+v", st)
	}
	r.Expire(t0.Add(time.Hour))
	if st, _ := r.Scrape(t.Context(), t0.Add(time.Hour), torrentA); st != (Stats{}) {
		t.Errorf("after everyone expired: %+v", st)
	}
	if len(r.swarms) != 0 {
		t.Errorf("empty swarm kept: %d", len(r.swarms))
	}
}

func TestRegistryNeverReturnsSelf(t *testing.T) {
	r := &Registry{}
	announceAt(t, r, 0, torrentA, "alice", "127.0.0.2:6881", 5, Started, 50)
	// The same peer ID from a new address is the same peer, moved.
	peers, st := announceAt(t, r, time.Second, torrentA, "alice", "127.0.0.5:7000", 5, None, 50)
	if len(peers) != 0 || st.Incomplete != 1 {
		t.Errorf("moved alice sees %v %+v", peers, st)
	}
	// Another ID at the same address is not handed back to it either.
	peers, _ = announceAt(t, r, 2*time.Second, torrentA, "alice2", "127.0.0.5:7000", 5, None, 50)
	if len(peers) != 0 {
		t.Errorf("a peer was handed its own address: %v", peers)
	}
}

func TestRegistryNumWantAndTorrentsApart(t *testing.T) {
	r := &Registry{Rand: rand.New(rand.NewPCG(1, 2))}
	for i := range 30 {
		announceAt(t, r, 0, torrentA, string(rune('a'+i)), netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}), 6881).String(), 1, Started, 0)
	}
	announceAt(t, r, 0, torrentB, "other", "127.0.0.200:6881", 1, Started, 0)
	peers, _ := announceAt(t, r, time.Second, torrentA, "zz", "127.0.0.99:6881", 1, Started, 7)
	if len(peers) != 7 || len(slices.Compact(peers)) != 7 || slices.Contains(peers, "127.0.0.200:6881") {
		t.Errorf("numwant 7 gave %v", peers)
	}
	peers, _ = announceAt(t, r, time.Second, torrentB, "other2", "127.0.0.201:6881", 1, Started, 100)
	if diff := cmp.Diff([]string{"127.0.0.200:6881"}, peers); diff != "" {
		t.Errorf("torrent B (-want +got):\n%s", diff)
	}
}

func TestRegistryLimits(t *testing.T) {
	r := &Registry{MaxSwarms: 1, MaxPeers: 2}
	announceAt(t, r, 0, torrentA, "a", "127.0.0.2:1", 1, Started, 0)
	announceAt(t, r, 0, torrentA, "b", "127.0.0.3:1", 1, Started, 0)
	if _, _, err := r.Announce(t.Context(), t0, &AnnounceRequest{InfoHash: torrentA, PeerID: pid("c")}, ap("127.0.0.4:1"), 0); err == nil {
		t.Errorf("third peer accepted with MaxPeers 2")
	}
	if _, _, err := r.Announce(t.Context(), t0, &AnnounceRequest{InfoHash: torrentB, PeerID: pid("c")}, ap("127.0.0.4:1"), 0); err == nil {
		t.Errorf("second torrent accepted with MaxSwarms 1")
	}
	w := &Registry{Allow: func(h metainfo.Hash) bool { return h == torrentA }}
	_, _, err := w.Announce(t.Context(), t0, &AnnounceRequest{InfoHash: torrentB, PeerID: pid("c")}, ap("127.0.0.4:1"), 0)
	if e, ok := err.(*Error); !ok || e.Reason == "" {
		t.Errorf("unlisted torrent: %v", err)
	}
}

func TestSelectPeersDeterministic(t *testing.T) {
	var cands []Peer
	for i := range 10 {
		cands = append(cands, Peer{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(10 - i)}), 1)})
	}
	a := SelectPeers(cands, 4, rand.New(rand.NewPCG(7, 7)))
	b := SelectPeers(slices.Clone(cands), 4, rand.New(rand.NewPCG(7, 7)))
	if diff := cmp.Diff(a, b, cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })); diff != "" {
		t.Errorf("same seed, different choice:\n%s", diff)
	}
	all := SelectPeers(cands, 50, nil)
	if len(all) != 10 || all[0].Addr.Addr() != netip.MustParseAddr("127.0.0.10") {
		t.Errorf("all = %v", all)
	}
	if got := SelectPeers(cands, -1, nil); len(got) != 0 {
		t.Errorf("negative numwant = %v", got)
	}
}

func TestRetryTimeout(t *testing.T) {
	want := []time.Duration{15, 30, 60, 120, 240, 480, 960, 1920, 3840, 3840}
	for n, w := range want {
		if got := RetryTimeout(15*time.Second, n); got != w*time.Second {
			t.Errorf("RetryTimeout(15s, %d) = %v, want %v", n, got, w*time.Second)
		}
	}
}

// Many peers announcing at once, over both transports' code paths: the
// counts add up (run with -race).
func TestServerConcurrentAnnounces(t *testing.T) {
	srv := &Server{}
	h := metainfo.Hash{0xcc}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(g)}), 5000)
			id := binary.BigEndian.Uint64(srv.HandlePacket(t.Context(), from, appendConnectRequest(nil, 1))[8:])
			for i := range 50 {
				left := int64(1)
				if i%2 == 0 {
					left = 0
				}
				req := &AnnounceRequest{InfoHash: h, PeerID: pid(fmt.Sprint(g, "-", i)), Port: uint16(1000 + i), Left: left, Event: Started}
				if g%2 == 0 {
					r := srv.HandlePacket(t.Context(), from, appendAnnounceRequest(nil, id, uint32(i), req))
					if _, err := ParseUDPAnnounceReply(r, false); err != nil {
						t.Error(err)
						return
					}
				} else if _, err := srv.announce(t.Context(), req, from.Addr()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st, _ := srv.backend.Scrape(t.Context(), time.Now(), h)
	if st != (Stats{Complete: 200, Incomplete: 200}) {
		t.Errorf("stats %+v, want 200 seeds and 200 leechers", st)
	}
}

// Floyd's sampling takes exactly k distinct positions, each equally often.
func TestSampleUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, k, rounds = 10, 3, 30000
	var hits [n]int
	for range rounds {
		b := sample(n, k, rng.IntN)
		got := 0
		for i := range n {
			if b.has(i) {
				hits[i]++
				got++
			}
		}
		if got != k {
			t.Fatalf("sample(%d, %d) took %d", n, k, got)
		}
	}
	want := rounds * k / n
	for i, h := range hits {
		if h < want*95/100 || h > want*105/100 {
			t.Errorf("position %d taken %d times, want about %d: %v", i, h, want, hits)
		}
	}
	if b := sample(5, 5, rng.IntN); b != nil {
		t.Errorf("k = n should take everything (nil), got %v", b)
	}
}
