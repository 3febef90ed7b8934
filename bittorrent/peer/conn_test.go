package peer

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
	"github.com/google/go-cmp/cmp"
)

// pair returns two ends of a loopback TCP connection.
func pair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

type blocks []byte

func (b blocks) ReadBlock(index, begin uint32, p []byte) error {
	copy(p, b[int(index)*8+int(begin):])
	return nil
}

func TestConnExchange(t *testing.T) {
	a, b := pair(t)
	var trace sockettest.SyncBuffer
	data := blocks("0123456789abcdef")
	alice := NewConn(a, Config{Trace: &trace, Self: "alice", Peer: "bob"})
	bob := NewConn(b, Config{Blocks: data})
	var ah, bh Handshake
	copy(ah.InfoHash[:], "info hash of file   ")
	copy(ah.PeerID[:], "-AN0001-alice.......")
	bh = ah
	bh.Reserved[5] = 0x10
	copy(bh.PeerID[:], "-AN0001-bob.........")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := bob.AcceptHandshake(ctx, func(theirs Handshake) (Handshake, error) {
			if theirs.InfoHash != bh.InfoHash {
				return Handshake{}, errors.New("unknown torrent")
			}
			return bh, nil
		})
		errc <- err
	}()
	got, err := alice.Handshake(ctx, ah)
	if err != nil || <-errc != nil {
		t.Fatalf("handshake: %v", err)
	}
	if got != bh {
		t.Errorf("alice got handshake %+v, want %+v", got, bh)
	}

	// Bob answers requests with blocks read from his BlockSource.
	bob.Run(func(m Message) error {
		switch m.Type {
		case Interested:
			bob.Send(Message{Type: Unchoke})
		case Request:
			bob.Send(Message{Type: Piece, Index: m.Index, Begin: m.Begin, Length: m.Length})
		}
		return nil
	})
	received := make(chan string, 4)
	alice.Run(func(m Message) error {
		switch m.Type {
		case Unchoke:
			alice.Send(Message{Type: Request, Index: 1, Begin: 2, Length: 4})
		case Piece:
			received <- string(m.Payload)
		}
		return nil
	})
	alice.Send(Message{Type: Interested})
	select {
	case p := <-received:
		if p != "abcd" {
			t.Errorf("piece = %q, want %q", p, "abcd")
		}
	case <-ctx.Done():
		t.Fatal("no piece")
	}
	alice.Close()
	<-bob.Done()
	bob.Close()
	if !errors.Is(alice.Err(), ErrClosed) {
		t.Errorf("alice.Err = %v, want ErrClosed", alice.Err())
	}
	want := []string{
		`alice: handshake BitTorrent protocol reserved 0000000000000000 info_hash 696e666f2068617368206f662066696c65202020 peer_id "-AN0001-alice......."`,
		`bob: handshake BitTorrent protocol reserved 0000000000100000 info_hash 696e666f2068617368206f662066696c65202020 peer_id "-AN0001-bob........."`,
		"alice: interested",
		"bob: unchoke",
		"alice: request 1 2 4",
		"bob: piece 1 2 (4 bytes)",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(trace.String()), "\n")); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
	s := alice.Stats()
	if s.BlocksRead != 4 || s.Read != 68+5+(13+4) || s.Written != 68+5+17 {
		t.Errorf("alice's stats = %+v", s)
	}
}

func TestConnKeepAliveAndIdleTimeout(t *testing.T) {
	a, b := pair(t)
	// a sends keep-alives every 10 ms of silence; b reads them raw.
	alice := NewConn(a, Config{KeepAlive: 10 * time.Millisecond})
	alice.Run(func(Message) error { return nil })
	defer alice.Close()
	b.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got [8]byte
	if _, err := b.Read(got[:4]); err != nil || string(got[:4]) != "\x00\x00\x00\x00" {
		t.Fatalf("read %q, %v; want a keep-alive", got[:4], err)
	}

	// A silent peer is dropped after the idle timeout.
	c, d := pair(t)
	_ = d // never writes
	carol := NewConn(c, Config{IdleTimeout: 20 * time.Millisecond, KeepAlive: time.Hour})
	carol.Run(func(Message) error { return nil })
	<-carol.Done()
	carol.Close()
	var ne net.Error
	if err := carol.Err(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Err = %v, want a timeout", err)
	}
}

func TestConnGiantLength(t *testing.T) {
	a, b := pair(t)
	alice := NewConn(a, Config{})
	alice.Run(func(Message) error { return nil })
	b.Write([]byte("\x7f\xff\xff\xff\x07"))
	<-alice.Done()
	alice.Close()
	if !errors.Is(alice.Err(), ErrTooLong) {
		t.Errorf("Err = %v, want ErrTooLong", alice.Err())
	}
}

func TestConnCancelPiece(t *testing.T) {
	a, _ := pair(t)
	c := NewConn(a, Config{})
	c.Send(Message{Type: Piece, Index: 1, Begin: 0, Length: 16384})
	c.Send(Message{Type: Have, Index: 1})
	c.Send(Message{Type: Piece, Index: 2, Begin: 0, Length: 16384})
	if !c.CancelPiece(1, 0, 16384) || c.CancelPiece(1, 0, 16384) {
		t.Error("CancelPiece did not remove exactly one queued piece")
	}
	if n := c.DropPieces(); n != 1 {
		t.Errorf("DropPieces = %d, want 1", n)
	}
	c.Close()
}

func TestHandshakeSilentPeer(t *testing.T) {
	a, _ := pair(t)
	c := NewConn(a, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Handshake(ctx, Handshake{})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Handshake with a silent peer = %v, want a timeout", err)
	}
	// A handshake for another torrent is refused.
	x, y := pair(t)
	go y.Write(AppendHandshake(nil, Handshake{InfoHash: [20]byte{1}}))
	if _, err := NewConn(x, Config{}).Handshake(context.Background(), Handshake{}); err == nil {
		t.Error("handshake for another torrent accepted")
	}
}
