package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"appnet.dev/bittorrent/metainfo"
)

// The UDP tracker protocol (BEP 15): every exchange is one datagram each
// way, and a connect exchange first proves the client's address is real
// (the server only answers announces carrying a connection ID it issued
// to that address recently).
//
//	C: connect    protocol_id 0x41727101980, transaction_id
//	S: connect    transaction_id, connection_id
//	C: announce   connection_id, transaction_id, info_hash, peer_id, …
//	S: announce   transaction_id, interval, leechers, seeders, peers
const protocolID = 0x41727101980

// An action is the kind of a UDP tracker packet.
type action uint32

const (
	actionConnect  action = 0
	actionAnnounce action = 1
	actionScrape   action = 2
	actionError    action = 3
)

func (a action) String() string {
	switch a {
	case actionConnect:
		return "connect"
	case actionAnnounce:
		return "announce"
	case actionScrape:
		return "scrape"
	case actionError:
		return "error"
	}
	return fmt.Sprintf("action(%d)", uint32(a))
}

// Packet sizes and limits of BEP 15.
const (
	headerLen          = 16 // connection ID (or protocol ID), action, transaction ID
	connectReplyLen    = 16
	announceRequestLen = 98
	announceReplyMin   = 20
	maxScrapeHashes    = 74   // as many as fit a reply in one Ethernet frame
	maxUDPPacket       = 2048 // the largest request the server reads
	maxUDPReply        = 1452 // the largest reply it sends: 1500-byte MTU less IPv6 and UDP headers
	maxUDPRead         = 1 << 16
	// ConnectionIDLifetime is how long a client may use a connection ID.
	ConnectionIDLifetime = time.Minute
)

// RetryTimeout is BEP 15's retransmission schedule: wait base·2^n for the
// reply to the n-th try (15 s, 30 s, 60 s … with the standard base of
// 15 s), n at most 8.
func RetryTimeout(base time.Duration, n int) time.Duration {
	n = min(max(n, 0), 8)
	return base << n
}

func appendConnectRequest(b []byte, tid uint32) []byte {
	b = binary.BigEndian.AppendUint64(b, protocolID)
	b = binary.BigEndian.AppendUint32(b, uint32(actionConnect))
	return binary.BigEndian.AppendUint32(b, tid)
}

func appendHeader(b []byte, a action, tid uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(a))
	return binary.BigEndian.AppendUint32(b, tid)
}

func appendAnnounceRequest(b []byte, connID uint64, tid uint32, req *AnnounceRequest) []byte {
	b = binary.BigEndian.AppendUint64(b, connID)
	b = appendHeader(b, actionAnnounce, tid)
	b = append(b, req.InfoHash[:]...)
	b = append(b, req.PeerID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(req.Downloaded))
	left := req.Left
	if left < 0 {
		left = math.MaxInt64 // unknown: surely not a seed
	}
	b = binary.BigEndian.AppendUint64(b, uint64(left))
	b = binary.BigEndian.AppendUint64(b, uint64(req.Uploaded))
	b = binary.BigEndian.AppendUint32(b, uint32(req.Event))
	var ip [4]byte
	if req.IP.Is4() {
		ip = req.IP.As4()
	}
	b = append(b, ip[:]...)
	b = binary.BigEndian.AppendUint32(b, req.Key)
	numWant := int32(-1)
	if req.NumWant > 0 {
		numWant = int32(min(req.NumWant, 1<<20))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(numWant))
	return binary.BigEndian.AppendUint16(b, req.Port)
}

// appendURLData appends BEP 41's options carrying a tracker URL's path
// and query ("/announce?passkey=…"): URLData options of at most 255 bytes
// each, then EndOfOptions. Trackers that do not know BEP 41 ignore them.
func appendURLData(b []byte, data string) []byte {
	if data == "" {
		return b
	}
	for len(data) > 0 {
		n := min(len(data), 255)
		b = append(b, 2, byte(n))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return append(b, 0)
}

// maxURLData bounds the URL data a client sends, so an announce stays
// well inside one datagram.
const maxURLData = 1024

// parseAnnounceRequest reads an announce packet (server side), after its
// connection ID and header were checked. Bytes after the 98 of BEP 15 are
// BEP 41 options, which this tracker does not need.
func parseAnnounceRequest(p []byte) (*AnnounceRequest, error) {
	if len(p) < announceRequestLen {
		return nil, fmt.Errorf("announce of %d bytes, want %d", len(p), announceRequestLen)
	}
	req := &AnnounceRequest{}
	copy(req.InfoHash[:], p[16:36])
	copy(req.PeerID[:], p[36:56])
	req.Downloaded = int64(binary.BigEndian.Uint64(p[56:]))
	req.Left = int64(binary.BigEndian.Uint64(p[64:]))
	req.Uploaded = int64(binary.BigEndian.Uint64(p[72:]))
	req.Event = Event(binary.BigEndian.Uint32(p[80:]))
	if req.Event < None || req.Event > Stopped {
		return nil, fmt.Errorf("unknown event %d", req.Event)
	}
	if ip := netip.AddrFrom4([4]byte(p[84:88])); !ip.IsUnspecified() {
		req.IP = ip
	}
	req.Key = binary.BigEndian.Uint32(p[88:])
	req.NumWant = max(int(int32(binary.BigEndian.Uint32(p[92:]))), 0)
	req.Port = binary.BigEndian.Uint16(p[96:])
	if req.Downloaded < 0 || req.Uploaded < 0 || req.Left < 0 {
		return nil, errors.New("negative byte count")
	}
	if req.Port == 0 {
		return nil, errors.New("port 0")
	}
	return req, nil
}

func appendAnnounceReply(b []byte, tid uint32, resp *AnnounceResponse, ipv6 bool) []byte {
	b = appendHeader(b, actionAnnounce, tid)
	b = binary.BigEndian.AppendUint32(b, uint32(resp.Interval/time.Second))
	b = binary.BigEndian.AppendUint32(b, uint32(resp.Incomplete))
	b = binary.BigEndian.AppendUint32(b, uint32(resp.Complete))
	size := 6
	if ipv6 {
		size = 18
	}
	for _, p := range resp.Peers {
		if len(b)+size > maxUDPReply {
			break // as many peers as fit one unfragmented datagram
		}
		if p.Addr.Addr().Is4() != ipv6 {
			b = AppendCompact(b, p.Addr)
		}
	}
	return b
}

// ParseUDPAnnounceReply decodes a UDP announce reply's payload after the
// 8-byte header: interval, leechers, seeders and the peers, 6 bytes each
// over IPv4 or 18 over IPv6.
func ParseUDPAnnounceReply(p []byte, ipv6 bool) (*AnnounceResponse, error) {
	if len(p) < announceReplyMin {
		return nil, &ProtocolError{"announce", fmt.Errorf("reply of %d bytes, want at least %d", len(p), announceReplyMin)}
	}
	interval := binary.BigEndian.Uint32(p[8:])
	leechers := binary.BigEndian.Uint32(p[12:])
	seeders := binary.BigEndian.Uint32(p[16:])
	if interval > maxInterval || leechers > 1<<30 || seeders > 1<<30 {
		return nil, &ProtocolError{"announce", fmt.Errorf("interval %d or counts %d/%d out of range", interval, leechers, seeders)}
	}
	size := 6
	if ipv6 {
		size = 18
	}
	peers, err := ParseCompact(p[20:], size)
	if err != nil {
		return nil, &ProtocolError{"announce", err}
	}
	return &AnnounceResponse{
		Interval:   time.Duration(interval) * time.Second,
		Complete:   int(seeders),
		Incomplete: int(leechers),
		Peers:      peers,
	}, nil
}

func appendScrapeRequest(b []byte, connID uint64, tid uint32, hashes []metainfo.Hash) []byte {
	b = binary.BigEndian.AppendUint64(b, connID)
	b = appendHeader(b, actionScrape, tid)
	for _, h := range hashes {
		b = append(b, h[:]...)
	}
	return b
}

func appendScrapeReply(b []byte, tid uint32, stats []Stats) []byte {
	b = appendHeader(b, actionScrape, tid)
	for _, s := range stats {
		b = binary.BigEndian.AppendUint32(b, uint32(s.Complete))
		b = binary.BigEndian.AppendUint32(b, uint32(s.Downloaded))
		b = binary.BigEndian.AppendUint32(b, uint32(s.Incomplete))
	}
	return b
}

// ParseUDPScrapeReply decodes a scrape reply for n torrents: seeders,
// completed and leechers for each, in the order they were asked.
func ParseUDPScrapeReply(p []byte, n int) ([]Stats, error) {
	if len(p) != 8+12*n {
		return nil, &ProtocolError{"scrape", fmt.Errorf("reply of %d bytes for %d torrents, want %d", len(p), n, 8+12*n)}
	}
	out := make([]Stats, n)
	for i := range out {
		e := p[8+12*i:]
		c, d, l := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:]), binary.BigEndian.Uint32(e[8:])
		if c > 1<<30 || d > 1<<30 || l > 1<<30 {
			return nil, &ProtocolError{"scrape", errors.New("count out of range")}
		}
		out[i] = Stats{Complete: int(c), Downloaded: int(d), Incomplete: int(l)}
	}
	return out, nil
}

func appendErrorReply(b []byte, tid uint32, msg string) []byte {
	b = appendHeader(b, actionError, tid)
	return append(b, msg...)
}
