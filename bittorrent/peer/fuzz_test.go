package peer

import (
	"bytes"
	"testing"
)

func FuzzParseMessage(f *testing.F) {
	for _, m := range []Message{
		{KeepAlive: true}, {Type: Choke}, {Type: Have, Index: 7},
		{Type: Bitfield, Payload: []byte{0xf0}}, {Type: Request, Index: 1, Begin: 2, Length: 16384},
		{Type: Piece, Index: 1, Begin: 2, Payload: []byte("data")}, {Type: Cancel, Length: 1},
		{Type: Port, Payload: []byte{1, 2}},
	} {
		f.Add(AppendMessage(nil, m))
	}
	f.Add([]byte("\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, wire []byte) {
		m, _, err := ReadMessage(bytes.NewReader(wire), nil, 1<<16)
		if err != nil {
			return
		}
		// What parses re-encodes to the bytes it came from.
		again := AppendMessage(nil, m)
		if !bytes.Equal(again, wire[:len(again)]) {
			t.Fatalf("re-encoded %q as %q", wire[:len(again)], again)
		}
	})
}

func FuzzReadHandshake(f *testing.F) {
	f.Add(AppendHandshake(nil, Handshake{Reserved: [8]byte{5: 0x10}}))
	f.Add([]byte("\x13BitTorrent protocol"))
	f.Add([]byte("\x00"))
	f.Fuzz(func(t *testing.T, wire []byte) {
		h, err := ReadHandshake(bytes.NewReader(wire))
		if err != nil {
			return
		}
		if again := AppendHandshake(nil, h); !bytes.Equal(again, wire[:HandshakeLen]) {
			t.Fatalf("re-encoded %q as %q", wire[:HandshakeLen], again)
		}
	})
}
