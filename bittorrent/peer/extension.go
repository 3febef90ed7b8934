package peer

import "appnet.dev/bittorrent/bencode"

// Extended is the message type of BEP 10, the extension protocol: its
// payload is a one-byte extended message ID (0 for the extension
// handshake) and a bencoded body.
const Extended Type = 20

// Reserved bits of the handshake that announce extensions.
const (
	ExtensionByte = 5    // BEP 10's bit is in this reserved byte...
	ExtensionBit  = 0x10 // ...and this is it
)

// SupportsExtensions reports whether a handshake announces BEP 10.
func (h Handshake) SupportsExtensions() bool {
	return h.Reserved[ExtensionByte]&ExtensionBit != 0
}

// An ExtensionHandshake is the first extended message (ID 0), sent to a
// peer whose handshake set the BEP 10 bit. Its field M maps the names of
// the extension messages we understand to the IDs we want them sent with
// (empty: none); Reqq tells the peer how many requests it may keep
// queued with us. A client that hears no reqq assumes a small default
// (libtorrent: 500 blocks, 8 MiB), which on a fast link leaves the sender
// waiting for requests rather than sending data.
type ExtensionHandshake struct {
	M    map[string]int `bencode:"m"`
	V    string         `bencode:"v,omitempty"`    // client name and version
	Reqq int            `bencode:"reqq,omitempty"` // requests the peer may queue with us
}

// ExtensionHandshakeMessage returns the extended message that carries h.
func ExtensionHandshakeMessage(h ExtensionHandshake) (Message, error) {
	if h.M == nil {
		h.M = map[string]int{}
	}
	body, err := bencode.Marshal(h)
	if err != nil {
		return Message{}, err
	}
	return Message{Type: Extended, Payload: append([]byte{0}, body...)}, nil
}
