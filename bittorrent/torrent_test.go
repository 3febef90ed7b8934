package bittorrent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/peer"
	"appnet.dev/sockets"
	"appnet.dev/sockets/sockettest"
)

// memTracker is an in-memory tracker for tests: it remembers every peer
// that announced and returns the others.
type memTracker struct {
	mu    sync.Mutex
	peers []string
}

func (m *memTracker) Announce(ctx context.Context, a Announce) (AnnounceResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	self := net.JoinHostPort(a.IP.String(), fmt.Sprint(a.Port))
	var others []string
	for _, p := range m.peers {
		if p != self {
			others = append(others, p)
		}
	}
	if a.Event == "stopped" {
		m.peers = slices.DeleteFunc(m.peers, func(p string) bool { return p == self })
	} else if !slices.Contains(m.peers, self) {
		m.peers = append(m.peers, self)
	}
	return AnnounceResult{Peers: others, Interval: time.Hour}, nil
}

// newTorrentFile writes a file of n random bytes and makes its torrent.
func newTorrentFile(t testing.TB, n int, pieceLength int64) (*metainfo.MetaInfo, string) {
	t.Helper()
	dir := t.TempDir()
	root := writeFiles(t, dir, map[string]int{"video.mp4": n, "notes/readme.txt": 1000}, 9)
	mi, err := metainfo.Create(context.Background(), root, metainfo.CreateOptions{PieceLength: pieceLength, Announce: "http://127.0.0.1/announce"})
	if err != nil {
		t.Fatal(err)
	}
	return mi, dir
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func start(t testing.TB, mi *metainfo.MetaInfo, cfg Config) *Torrent {
	t.Helper()
	tor, err := Open(context.Background(), mi, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tor.Start(listen(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tor.Close() })
	return tor
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	for _, name := range []string{"video.mp4", "notes/readme.txt"} {
		x, err1 := os.ReadFile(filepath.Join(a, "gaia", name))
		y, err2 := os.ReadFile(filepath.Join(b, "gaia", name))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs (%v, %v)", name, err1, err2)
		}
	}
}

func waitComplete(t *testing.T, tors ...*Torrent) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for i, tor := range tors {
		select {
		case <-tor.Complete():
		case <-timeout:
			t.Fatalf("torrent %d incomplete: %+v", i, tor.Stats())
		}
	}
}

func TestSwarm(t *testing.T) {
	mi, src := newTorrentFile(t, 3<<20+123, 64<<10)
	tr := &memTracker{}
	seed := start(t, mi, Config{Dir: src, Tracker: tr, Seed: 1, Tick: 50 * time.Millisecond})
	select {
	case <-seed.Complete():
	default:
		t.Fatal("seed is not complete after verifying its files")
	}
	var leechers []*Torrent
	var dirs []string
	for i := range 3 {
		dir := t.TempDir()
		dirs = append(dirs, dir)
		leechers = append(leechers, start(t, mi, Config{Dir: dir, Tracker: tr, Seed: uint64(i + 2), Tick: 50 * time.Millisecond}))
	}
	waitComplete(t, leechers...)
	for _, d := range dirs {
		sameFiles(t, src, d)
	}
	st := leechers[0].Stats()
	if st.Downloaded != mi.Info.TotalLength() || st.Left != 0 || !st.Complete {
		t.Errorf("stats: %+v", st)
	}
	// Resume: a torrent reopened over finished files is complete at once.
	leechers[2].Close()
	again, err := Open(context.Background(), mi, Config{Dir: dirs[2]})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-again.Complete():
	default:
		t.Error("reopened download is not complete")
	}
	again.Close()
	// Close waits for every goroutine a Torrent starts.
	seed.Close()
	for _, l := range leechers {
		l.Close()
	}
	if leaked := sockettest.BlockedGoroutines(); len(leaked) > 0 {
		t.Errorf("goroutines left blocked after Close:\n%s", strings.Join(leaked, "\n\n"))
	}
}

// badPeer is a peer that claims every piece and misbehaves: "wrong"
// answers requests with zeros, "giant" sends a 2 GiB length prefix,
// "beyond" requests past the end of a piece, "silent" never answers. The
// channel gets a value when it sees a cancel.
func badPeer(t *testing.T, mi *metainfo.MetaInfo, mode string) (string, chan struct{}) {
	ln := listen(t)
	cancels := make(chan struct{}, 1)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				c := peer.NewConn(nc, peer.Config{})
				var id [20]byte
				copy(id[:], "-XX0001-bad-"+mode)
				if _, err := c.AcceptHandshake(context.Background(), func(h peer.Handshake) (peer.Handshake, error) {
					return peer.Handshake{InfoHash: h.InfoHash, PeerID: id}, nil
				}); err != nil {
					return
				}
				all := NewBitfield(mi.Info.NumPieces())
				all.SetAll()
				if mode == "giant" {
					// Raw bytes, so that they arrive before the bad prefix.
					b := peer.AppendMessage(nil, peer.Message{Type: peer.Bitfield, Payload: all.Bytes()})
					b = peer.AppendMessage(b, peer.Message{Type: peer.Unchoke})
					nc.Write(append(b, "\x7f\xff\xff\xff\x07"...))
					io.Copy(io.Discard, nc)
					return
				}
				c.Send(peer.Message{Type: peer.Bitfield, Payload: all.Bytes()})
				switch mode {
				case "beyond":
					c.Send(peer.Message{Type: peer.Request, Index: 0, Begin: uint32(mi.Info.PieceLength) - 10, Length: 16384})
				}
				c.Send(peer.Message{Type: peer.Unchoke})
				c.Run(func(m peer.Message) error {
					switch {
					case m.Type == peer.Request && mode == "wrong":
						c.Send(peer.Message{Type: peer.Piece, Index: m.Index, Begin: m.Begin, Payload: make([]byte, m.Length)})
					case m.Type == peer.Cancel:
						select {
						case cancels <- struct{}{}:
						default:
						}
					}
					return nil
				})
				<-c.Done()
				c.Close()
			}()
		}
	}()
	return ln.Addr().String(), cancels
}

// TestBadPeers gives a leecher a bad peer alone first; once the leecher
// has dealt with it (banned, disconnected, timed out), it gets a good seed
// and must complete.
func TestBadPeers(t *testing.T) {
	mi, src := newTorrentFile(t, 1<<20, 32<<10)
	for _, mode := range []string{"wrong", "giant", "beyond", "silent"} {
		t.Run(mode, func(t *testing.T) {
			bad, cancels := badPeer(t, mi, mode)
			seed := start(t, mi, Config{Dir: src, Seed: 1})
			events := make(chan Event, 1000)
			leech := start(t, mi, Config{Dir: t.TempDir(), Seed: 2, Tick: 20 * time.Millisecond,
				RequestTimeout: 100 * time.Millisecond,
				OnEvent: func(e Event) {
					if e.Peer == bad || e.Kind == EventHashFailed {
						select {
						case events <- e:
						default:
						}
					}
				}})
			leech.AddPeer(bad)
			want := map[string]EventKind{"wrong": EventBanned, "giant": EventDropped, "beyond": EventDropped}[mode]
			failures := 0
			timeout := time.After(30 * time.Second)
		wait:
			for {
				select {
				case e := <-events:
					if e.Kind == EventHashFailed {
						failures++
					}
					if e.Kind == want {
						break wait
					}
				case <-cancels:
					if mode == "silent" {
						break wait
					}
				case <-timeout:
					t.Fatalf("the leecher did not deal with the %s peer", mode)
				}
			}
			if mode == "wrong" && failures != 3 {
				t.Errorf("banned after %d bad pieces, want 3", failures)
			}
			leech.AddPeer(seed.Addr().String())
			waitComplete(t, leech)
		})
	}
}

// TestChurn: the only seed leaves in the middle of a download; the
// requests it held go back to the pool, and a seed that arrives later
// finishes the job.
func TestChurn(t *testing.T) {
	mi, src := newTorrentFile(t, 1<<20, 32<<10)
	first := start(t, mi, Config{Dir: src, Seed: 1})
	halfway := make(chan struct{})
	var once sync.Once
	slow := func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return sockets.Throttle(c, sockets.Link{Rate: 512 << 10}), nil
	}
	pieces := 0
	leech := start(t, mi, Config{Dir: t.TempDir(), Seed: 2, Dial: slow, OnEvent: func(e Event) {
		if e.Kind == EventVerified {
			if pieces++; pieces == 8 {
				once.Do(func() { close(halfway) })
			}
		}
	}})
	leech.AddPeer(first.Addr().String())
	select {
	case <-halfway:
	case <-time.After(30 * time.Second):
		t.Fatal("no progress from the first seed")
	}
	first.Close()
	second := start(t, mi, Config{Dir: src, Seed: 3})
	leech.AddPeer(second.Addr().String())
	waitComplete(t, leech)
	if s := leech.Stats(); s.Peers != 1 || s.Pieces != s.NumPieces {
		t.Errorf("after churn: %+v", s)
	}
}

// TestSimultaneousConnect: two peers dial each other at once; they settle
// on the same one of the two connections.
func TestSimultaneousConnect(t *testing.T) {
	mi, src := newTorrentFile(t, 256<<10, 32<<10)
	changed := make(chan struct{}, 100)
	note := func(e Event) {
		if e.Kind == EventConnected || e.Kind == EventDropped {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
	a := start(t, mi, Config{Dir: src, Seed: 1, OnEvent: note})
	b := start(t, mi, Config{Dir: t.TempDir(), Seed: 2, OnEvent: note})
	a.AddPeer(b.Addr().String())
	b.AddPeer(a.Addr().String())
	waitComplete(t, b)
	timeout := time.After(20 * time.Second)
	for {
		pa, pb := a.Peers(), b.Peers()
		if len(pa) == 1 && len(pb) == 1 && pa[0].Outgoing != pb[0].Outgoing {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("a sees %+v, b sees %+v: want one shared connection", pa, pb)
		}
	}
}

// TestTrace: the wire dialogue of a download, as Config.Trace prints it.
func TestTrace(t *testing.T) {
	mi, src := newTorrentFile(t, 40<<10, 32<<10)
	seed := start(t, mi, Config{Dir: src, Seed: 1})
	var trace sockettest.SyncBuffer
	leech := start(t, mi, Config{Dir: t.TempDir(), Seed: 2, Trace: &trace})
	leech.AddPeer(seed.Addr().String())
	waitComplete(t, leech)
	us, them := leech.Addr().String(), seed.Addr().String()
	got := trace.String()
	for _, want := range []string{
		us + ": handshake BitTorrent protocol",
		them + ": handshake BitTorrent protocol",
		them + ": bitfield 1 bytes",
		us + ": interested",
		them + ": unchoke",
		us + ": request 0 0 16384",
		them + ": piece 0 0 (16384 bytes)",
	} {
		if !strings.Contains(got, want+"") {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}
