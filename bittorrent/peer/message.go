package peer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A Type is the one-byte ID that follows a message's length prefix.
type Type uint8

// The messages of BEP 3, and the DHT port message of BEP 5 (which appnet
// reads and ignores).
const (
	Choke         Type = 0 // no payload: I will not upload to you
	Unchoke       Type = 1 // no payload: you may request
	Interested    Type = 2 // no payload: you have pieces I want
	NotInterested Type = 3 // no payload
	Have          Type = 4 // index: I now hold this piece
	Bitfield      Type = 5 // the pieces I hold, sent once after the handshake
	Request       Type = 6 // index, begin, length: please send this block
	Piece         Type = 7 // index, begin, block: the data
	Cancel        Type = 8 // index, begin, length: forget that request
	Port          Type = 9 // a DHT port (BEP 5)
)

func (t Type) String() string {
	switch t {
	case Choke:
		return "choke"
	case Unchoke:
		return "unchoke"
	case Interested:
		return "interested"
	case NotInterested:
		return "not interested"
	case Have:
		return "have"
	case Bitfield:
		return "bitfield"
	case Request:
		return "request"
	case Piece:
		return "piece"
	case Cancel:
		return "cancel"
	case Port:
		return "port"
	case Extended:
		return "extended"
	}
	return fmt.Sprintf("message %d", uint8(t))
}

// A Message is one message of the peer wire protocol: a 4-byte big-endian
// length, then (unless it is a keep-alive, of length 0) a type byte and a
// payload.
type Message struct {
	KeepAlive bool // a zero-length message; every other field is unused
	Type      Type
	Index     uint32 // have, request, piece, cancel: the piece
	Begin     uint32 // request, piece, cancel: the byte offset in the piece
	Length    uint32 // request, cancel: the block's length
	// Payload is the bitfield of a bitfield message, the block of a piece
	// message, the 2-byte port of a port message, and the raw payload of
	// a message of an unknown type.
	Payload []byte
}

func (m Message) String() string {
	if m.KeepAlive {
		return "keep-alive"
	}
	switch m.Type {
	case Have:
		return fmt.Sprintf("have %d", m.Index)
	case Bitfield:
		return fmt.Sprintf("bitfield %d bytes", len(m.Payload))
	case Request, Cancel:
		return fmt.Sprintf("%v %d %d %d", m.Type, m.Index, m.Begin, m.Length)
	case Piece:
		return fmt.Sprintf("piece %d %d (%d bytes)", m.Index, m.Begin, len(m.Payload))
	}
	return m.Type.String()
}

// DefaultMaxLength bounds a message's length prefix: a piece message with a
// 128 KiB block, or a bitfield for a million pieces, whichever is more.
const DefaultMaxLength = 1<<17 + 9

var (
	// ErrTooLong reports a length prefix beyond the limit, rejected before
	// anything is allocated.
	ErrTooLong = errors.New("peer: message too long")
)

// A ProtocolError reports a message or handshake that breaks BEP 3.
type ProtocolError struct {
	What string
}

func (e *ProtocolError) Error() string { return "peer: " + e.What }

// AppendMessage appends the wire form of m to b.
func AppendMessage(b []byte, m Message) []byte {
	if m.KeepAlive {
		return binary.BigEndian.AppendUint32(b, 0)
	}
	switch m.Type {
	case Have:
		b = binary.BigEndian.AppendUint32(b, 5)
		b = append(b, byte(m.Type))
		return binary.BigEndian.AppendUint32(b, m.Index)
	case Request, Cancel:
		b = binary.BigEndian.AppendUint32(b, 13)
		b = append(b, byte(m.Type))
		b = binary.BigEndian.AppendUint32(b, m.Index)
		b = binary.BigEndian.AppendUint32(b, m.Begin)
		return binary.BigEndian.AppendUint32(b, m.Length)
	case Piece:
		b = binary.BigEndian.AppendUint32(b, uint32(9+len(m.Payload)))
		b = append(b, byte(m.Type))
		b = binary.BigEndian.AppendUint32(b, m.Index)
		b = binary.BigEndian.AppendUint32(b, m.Begin)
		return append(b, m.Payload...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(m.Payload)))
	b = append(b, byte(m.Type))
	return append(b, m.Payload...)
}

// ParseMessage decodes the body of one message (what follows the length
// prefix; empty for a keep-alive). The payload of the result aliases body.
func ParseMessage(body []byte) (Message, error) {
	if len(body) == 0 {
		return Message{KeepAlive: true}, nil
	}
	m := Message{Type: Type(body[0])}
	p := body[1:]
	want := -1 // exact payload length, or -1 for variable
	switch m.Type {
	case Choke, Unchoke, Interested, NotInterested:
		want = 0
	case Have:
		want = 4
	case Request, Cancel:
		want = 12
	case Port:
		want = 2
	case Piece:
		if len(p) < 8 {
			return Message{}, &ProtocolError{fmt.Sprintf("piece message of %d bytes", len(body))}
		}
	case Bitfield:
		if len(p) == 0 {
			return Message{}, &ProtocolError{"empty bitfield"}
		}
	}
	if want >= 0 && len(p) != want {
		return Message{}, &ProtocolError{fmt.Sprintf("%v message of %d bytes, want %d", m.Type, len(body), want+1)}
	}
	switch m.Type {
	case Have:
		m.Index = binary.BigEndian.Uint32(p)
	case Request, Cancel:
		m.Index = binary.BigEndian.Uint32(p)
		m.Begin = binary.BigEndian.Uint32(p[4:])
		m.Length = binary.BigEndian.Uint32(p[8:])
	case Piece:
		m.Index = binary.BigEndian.Uint32(p)
		m.Begin = binary.BigEndian.Uint32(p[4:])
		m.Payload = p[8:]
	case Choke, Unchoke, Interested, NotInterested:
	default:
		m.Payload = p
	}
	return m, nil
}

// ReadMessage reads one message from r into buf, growing it as needed,
// and returns the message and the buffer for reuse; the message's payload
// aliases the buffer. A length prefix above max (0 means
// DefaultMaxLength) fails with ErrTooLong before anything is read or
// allocated for it.
func ReadMessage(r io.Reader, buf []byte, max int) (Message, []byte, error) {
	if max <= 0 {
		max = DefaultMaxLength
	}
	var prefix []byte
	if cap(buf) >= 4 {
		prefix = buf[:4] // a local array would escape through r
	} else {
		prefix = make([]byte, 4)
	}
	if _, err := io.ReadFull(r, prefix); err != nil {
		return Message{}, buf, err
	}
	n := binary.BigEndian.Uint32(prefix)
	if uint64(n) > uint64(max) {
		return Message{}, buf, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Message{}, buf, err
	}
	m, err := ParseMessage(buf)
	return m, buf, err
}
