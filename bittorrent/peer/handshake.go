package peer

import (
	"encoding/hex"
	"fmt"
	"io"
)

// Protocol is the protocol string every handshake starts with, after its
// length byte (19).
const Protocol = "BitTorrent protocol"

// HandshakeLen is the size of a handshake: 1+19+8+20+20 bytes.
const HandshakeLen = 68

// A Handshake opens every connection: the protocol string, eight reserved
// bytes whose bits announce extensions (BEP 10's 0x10 in byte 5, the fast
// extension's 0x04 in byte 7, DHT's 0x01 in byte 7), the info hash of the
// torrent, and the sender's peer ID.
type Handshake struct {
	Reserved [8]byte
	InfoHash [20]byte
	PeerID   [20]byte
}

func (h Handshake) String() string {
	return fmt.Sprintf("handshake %s reserved %x info_hash %s peer_id %q",
		Protocol, h.Reserved, hex.EncodeToString(h.InfoHash[:]), printable(h.PeerID[:]))
}

// printable shows a peer ID's ASCII prefix (like -AR1360-) and dots for
// the random bytes.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = '.'
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		}
	}
	return string(out)
}

// AppendHandshake appends the wire form of h to b.
func AppendHandshake(b []byte, h Handshake) []byte {
	b = append(b, byte(len(Protocol)))
	b = append(b, Protocol...)
	b = append(b, h.Reserved[:]...)
	b = append(b, h.InfoHash[:]...)
	return append(b, h.PeerID[:]...)
}

// ParseHandshake decodes the 68 bytes of a handshake. The reserved bits are
// kept as they came, so a caller can see the peer's extensions.
func ParseHandshake(b []byte) (Handshake, error) {
	var h Handshake
	if len(b) != HandshakeLen {
		return h, &ProtocolError{fmt.Sprintf("handshake of %d bytes, want %d", len(b), HandshakeLen)}
	}
	if int(b[0]) != len(Protocol) || string(b[1:20]) != Protocol {
		return h, &ProtocolError{fmt.Sprintf("handshake for protocol %q", printable(b[1:min(len(b), 1+int(b[0]))]))}
	}
	copy(h.Reserved[:], b[20:28])
	copy(h.InfoHash[:], b[28:48])
	copy(h.PeerID[:], b[48:68])
	return h, nil
}

// ReadHandshake reads a handshake from r. It reads exactly 68 bytes, or
// stops at the first byte if the protocol length is not 19.
func ReadHandshake(r io.Reader) (Handshake, error) {
	var b [HandshakeLen]byte
	if _, err := io.ReadFull(r, b[:1]); err != nil {
		return Handshake{}, err
	}
	if int(b[0]) != len(Protocol) {
		return Handshake{}, &ProtocolError{fmt.Sprintf("handshake protocol length %d, want %d", b[0], len(Protocol))}
	}
	if _, err := io.ReadFull(r, b[1:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Handshake{}, err
	}
	return ParseHandshake(b[:])
}
