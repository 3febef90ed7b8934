package peer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		m    Message
		wire string
	}{
		{Message{KeepAlive: true}, "\x00\x00\x00\x00"},
		{Message{Type: Choke}, "\x00\x00\x00\x01\x00"},
		{Message{Type: Unchoke}, "\x00\x00\x00\x01\x01"},
		{Message{Type: Interested}, "\x00\x00\x00\x01\x02"},
		{Message{Type: NotInterested}, "\x00\x00\x00\x01\x03"},
		{Message{Type: Have, Index: 0x01020304}, "\x00\x00\x00\x05\x04\x01\x02\x03\x04"},
		{Message{Type: Bitfield, Payload: []byte{0xff, 0x80}}, "\x00\x00\x00\x03\x05\xff\x80"},
		{Message{Type: Request, Index: 1, Begin: 0x4000, Length: 0x4000}, "\x00\x00\x00\x0d\x06\x00\x00\x00\x01\x00\x00\x40\x00\x00\x00\x40\x00"},
		{Message{Type: Piece, Index: 2, Begin: 3, Payload: []byte("abc")}, "\x00\x00\x00\x0c\x07\x00\x00\x00\x02\x00\x00\x00\x03abc"},
		{Message{Type: Cancel, Index: 1, Begin: 2, Length: 3}, "\x00\x00\x00\x0d\x08\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03"},
		{Message{Type: Port, Payload: []byte{0x1a, 0xe1}}, "\x00\x00\x00\x03\x09\x1a\xe1"},
		{Message{Type: 20, Payload: []byte("d1:ei0ee")}, "\x00\x00\x00\x09\x14d1:ei0ee"}, // BEP 10, kept raw
	}
	for _, tt := range tests {
		t.Run(tt.m.String(), func(t *testing.T) {
			got := AppendMessage(nil, tt.m)
			if string(got) != tt.wire {
				t.Errorf("AppendMessage = %q, want %q", got, tt.wire)
			}
			m, _, err := ReadMessage(strings.NewReader(tt.wire), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.m, m, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
				t.Errorf("ReadMessage (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadMessageErrors(t *testing.T) {
	tests := []struct {
		name string
		wire string
		want error // nil: a *ProtocolError
	}{
		{"giant length prefix", "\xff\xff\xff\xff\x07", ErrTooLong},
		{"just over the limit", "\x00\x02\x00\x0a\x07", ErrTooLong},
		{"choke with payload", "\x00\x00\x00\x02\x00\x00", nil},
		{"short have", "\x00\x00\x00\x04\x04\x00\x00\x00", nil},
		{"long request", "\x00\x00\x00\x0e\x06" + strings.Repeat("\x00", 13), nil},
		{"short piece", "\x00\x00\x00\x08\x07" + strings.Repeat("\x00", 7), nil},
		{"empty bitfield", "\x00\x00\x00\x01\x05", nil},
		{"truncated body", "\x00\x00\x00\x05\x04\x00", io.ErrUnexpectedEOF},
		{"truncated prefix", "\x00\x00", io.ErrUnexpectedEOF},
		{"nothing", "", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, buf, err := ReadMessage(strings.NewReader(tt.wire), nil, DefaultMaxLength)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			} else if _, ok := err.(*ProtocolError); !ok {
				t.Errorf("err = %v, want a *ProtocolError", err)
			}
			if errors.Is(err, ErrTooLong) && cap(buf) != 0 {
				t.Errorf("allocated %d bytes for a message it rejected", cap(buf))
			}
		})
	}
}

func TestReadMessageReusesBuffer(t *testing.T) {
	wire := AppendMessage(nil, Message{Type: Piece, Index: 1, Payload: make([]byte, 16384)})
	r := bytes.NewReader(wire)
	buf := make([]byte, 0, 1<<15)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(wire)
		var err error
		if _, buf, err = ReadMessage(r, buf, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadMessage allocates %v times per piece message with a buffer", allocs)
	}
}

func TestHandshake(t *testing.T) {
	h := Handshake{Reserved: [8]byte{5: 0x10, 7: 0x05}}
	copy(h.InfoHash[:], "aaaaaaaaaaaaaaaaaaaa")
	copy(h.PeerID[:], "-AR1360-abcdefghijkl")
	wire := AppendHandshake(nil, h)
	if len(wire) != HandshakeLen || !bytes.HasPrefix(wire, []byte("\x13BitTorrent protocol\x00\x00\x00\x00\x00\x10\x00\x05aaaa")) {
		t.Fatalf("AppendHandshake = %q", wire)
	}
	got, err := ReadHandshake(bytes.NewReader(wire))
	if err != nil || got != h {
		t.Errorf("ReadHandshake = %+v, %v; want %+v (extension bits kept)", got, err, h)
	}
	for _, bad := range []string{
		"\x12BitTorrent protoco",
		"\x13BitTorrent Protocol" + strings.Repeat("\x00", 48),
		"\x13BitTorrent protocol" + strings.Repeat("\x00", 20),
	} {
		if _, err := ReadHandshake(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadHandshake(%q) succeeded", bad)
		}
	}
}

func TestExtensionHandshakeMessage(t *testing.T) {
	m, err := ExtensionHandshakeMessage(ExtensionHandshake{V: "appnet", Reqq: 2048})
	if err != nil {
		t.Fatal(err)
	}
	got := string(AppendMessage(nil, m))
	want := "\x00\x00\x00\x20\x14\x00d1:mde4:reqqi2048e1:v6:appnete"
	if got != want {
		t.Errorf("extension handshake on the wire = %q, want %q", got, want)
	}
	if !(Handshake{Reserved: [8]byte{5: 0x10}}).SupportsExtensions() || (Handshake{Reserved: [8]byte{7: 0x05}}).SupportsExtensions() {
		t.Error("SupportsExtensions does not read reserved byte 5's 0x10 bit")
	}
}
