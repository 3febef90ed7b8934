package bittorrent

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"appnet.dev/bittorrent/peer"
)

// FuzzPeerMessages feeds whatever a peer might send to a downloading
// Torrent's message handler: it must never panic, and a broken message
// must end only that peer's connection.
func FuzzPeerMessages(f *testing.F) {
	mi, _ := newTorrentFile(f, 40<<10, 16<<10) // 3 pieces, the last one short
	var seq []byte
	for _, m := range []peer.Message{
		{Type: peer.Bitfield, Payload: []byte{0xe0}},
		{Type: peer.Unchoke},
		{Type: peer.Piece, Index: 0, Begin: 0, Payload: make([]byte, 16384)},
		{Type: peer.Have, Index: 2},
		{Type: peer.Interested},
		{Type: peer.Request, Index: 0, Begin: 0, Length: 16384},
		{Type: peer.Cancel, Index: 0, Begin: 0, Length: 16384},
		{Type: peer.Choke},
		{Type: peer.NotInterested},
	} {
		seq = peer.AppendMessage(seq, m)
	}
	f.Add(seq)
	f.Add(peer.AppendMessage(nil, peer.Message{Type: peer.Have, Index: 99}))
	f.Add(peer.AppendMessage(nil, peer.Message{Type: peer.Request, Index: 2, Begin: 8000, Length: 16384}))

	tor, err := Open(context.Background(), mi, Config{Dir: f.TempDir(), Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { tor.Close() })
	f.Fuzz(func(t *testing.T, wire []byte) {
		a, b := net.Pipe()
		defer b.Close()
		c := peer.NewConn(a, peer.Config{}) // never Run: what it sends just queues
		p := &peerConn{
			conn: c, addr: "127.0.0.99:1", amChoking: true, peerChoking: true,
			has: NewBitfield(tor.layout.NumPieces()), inflight: map[Block]time.Time{}, connected: time.Now(),
		}
		tor.mu.Lock()
		tor.peers = append(tor.peers, p)
		tor.mu.Unlock()
		r := bytes.NewReader(wire)
		var buf []byte
		for {
			m, nb, err := peer.ReadMessage(r, buf, 0)
			buf = nb
			if err != nil || m.KeepAlive && r.Len() == 0 {
				break
			}
			if m.KeepAlive {
				continue
			}
			if err := tor.handle(p, m); err != nil {
				break
			}
		}
		c.Stop(peer.ErrClosed)
		tor.removePeer(p)
		tor.mu.Lock()
		defer tor.mu.Unlock()
		for _, pc := range tor.partial {
			for j, n := range pc.pending {
				if n < 0 {
					t.Fatalf("piece %d block %d has %d requests pending", pc.index, j, n)
				}
			}
		}
	})
}
