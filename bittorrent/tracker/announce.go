package tracker

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"appnet.dev/bittorrent/metainfo"
)

// An Event tells the tracker why a peer announces (BEP 3). The values are
// BEP 15's, so they go on the UDP wire unchanged.
type Event int32

const (
	None      Event = 0 // a regular announce, every Interval
	Completed Event = 1 // the download just finished: the peer is now a seed
	Started   Event = 2 // the peer joins the torrent
	Stopped   Event = 3 // the peer leaves
)

// String returns the name HTTP announces use ("" for None).
func (e Event) String() string {
	switch e {
	case None:
		return ""
	case Completed:
		return "completed"
	case Started:
		return "started"
	case Stopped:
		return "stopped"
	}
	return fmt.Sprintf("Event(%d)", int32(e))
}

func parseEvent(s string) (Event, error) {
	switch s {
	case "", "empty":
		return None, nil
	case "completed":
		return Completed, nil
	case "started":
		return Started, nil
	case "stopped":
		return Stopped, nil
	}
	return None, fmt.Errorf("unknown event %q", s)
}

// A PeerID is the 20 bytes a peer names itself with, in announces and in
// the peer wire handshake.
type PeerID [20]byte

// String shows the ID with non-printable bytes escaped, so that the
// client prefix (-AP0001-, -lt2080-, A2-1-37-0-) stays readable.
func (id PeerID) String() string {
	var b strings.Builder
	for _, c := range id {
		if c >= 0x20 && c < 0x7f && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// An AnnounceRequest is what a peer tells the tracker: which torrent,
// who and where it is, and how far along.
type AnnounceRequest struct {
	InfoHash   metainfo.Hash
	PeerID     PeerID
	Port       uint16     // where the peer accepts connections
	IP         netip.Addr // optional: an address to be reached at other than the sender's
	Uploaded   int64      // bytes sent to peers since Started
	Downloaded int64      // bytes received since Started
	Left       int64      // bytes still missing; 0 means a seed, -1 unknown (no metadata yet)
	Event      Event
	NumWant    int    // how many peers it would like; 0 means the tracker's default
	Key        uint32 // a random number that identifies the peer across address changes
	TrackerID  string // echoed from an earlier reply's tracker id (HTTP only)
}

// A Peer is one entry of a tracker's peer list.
type Peer struct {
	ID   PeerID // zero in compact lists, which carry no IDs
	Addr netip.AddrPort
}

func (p Peer) String() string { return p.Addr.String() }

// An AnnounceResponse is the tracker's reply: when to come back, how big
// the swarm is, and some peers to connect to.
type AnnounceResponse struct {
	Interval    time.Duration // announce again after this long
	MinInterval time.Duration // and never sooner than this (HTTP only; 0 if unset)
	Complete    int           // seeders
	Incomplete  int           // leechers
	Peers       []Peer
	Warning     string // a warning message that did not stop the announce (HTTP only)
	TrackerID   string // to send back in later announces (HTTP only)
}

// Stats are a swarm's counts, as a scrape reports them.
type Stats struct {
	Complete   int // seeders
	Downloaded int // completed downloads ever reported
	Incomplete int // leechers
}

// An Error is a tracker's refusal: the "failure reason" of an HTTP reply
// or the message of a UDP error packet.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "tracker: failure: " + e.Reason }

// A ProtocolError reports a reply that breaks the protocol.
type ProtocolError struct {
	Op  string // "announce", "scrape", "connect"
	Err error
}

func (e *ProtocolError) Error() string { return "tracker: " + e.Op + ": bad reply: " + e.Err.Error() }
func (e *ProtocolError) Unwrap() error { return e.Err }

// ErrScrapeUnsupported means a tracker URL has no scrape form (BEP 48: the
// last path element of an HTTP announce URL must begin with "announce").
var ErrScrapeUnsupported = errors.New("tracker: scrape not supported by this tracker URL")

// AppendCompact appends p in the compact form of BEP 23 (IPv4: 4 address
// bytes and a 2-byte port) or BEP 7 (IPv6: 16 and 2).
func AppendCompact(b []byte, p netip.AddrPort) []byte {
	a := p.Addr()
	if a.Is4() || a.Is4In6() {
		b = append(b, a.Unmap().AsSlice()...)
	} else {
		b = append(b, a.AsSlice()...)
	}
	return binary.BigEndian.AppendUint16(b, p.Port())
}

// ParseCompact reads a compact peer list whose entries are size bytes:
// 6 for IPv4 (BEP 23), 18 for IPv6 (BEP 7).
func ParseCompact(b []byte, size int) ([]Peer, error) {
	if size != 6 && size != 18 {
		return nil, fmt.Errorf("compact entry size %d", size)
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("compact peer list of %d bytes is not a multiple of %d", len(b), size)
	}
	peers := make([]Peer, 0, len(b)/size)
	for ; len(b) > 0; b = b[size:] {
		a, _ := netip.AddrFromSlice(b[:size-2])
		peers = append(peers, Peer{Addr: netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[size-2:size]))})
	}
	return peers, nil
}

// shortHash is the info hash's first bytes, for transcripts.
func shortHash(h metainfo.Hash) string { return hex.EncodeToString(h[:4]) + "…" }
