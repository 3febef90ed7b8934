package tracker

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/sockets"
)

// Defaults of the UDP client's retransmissions. BEP 15 allows up to 8
// retries (over an hour in all); a client with a swarm to join gives up
// much sooner and tries its next tracker.
const (
	DefaultUDPTimeout = 15 * time.Second
	DefaultUDPRetries = 2 // 15 s + 30 s + 60 s
)

// ErrTimeout means a UDP tracker never answered, after every retry.
var ErrTimeout = errors.New("tracker: no reply from the UDP tracker")

// A UDPClient talks to one UDP tracker (BEP 15) over a connected
// datagram socket. Its methods are safe for concurrent use; requests go
// one at a time.
type UDPClient struct {
	// Timeout is the wait for the first try's reply; try n waits
	// RetryTimeout(Timeout, n). Default DefaultUDPTimeout.
	Timeout time.Duration
	// Retries is how many times a request is sent again; default
	// DefaultUDPRetries, at most 8.
	Retries int
	// Now tells the time for connection ID expiry; nil means time.Now.
	Now func() time.Time
	// Trace, if set, receives the exchange as C:/S: lines.
	Trace io.Writer
	// URLData is the path and query of the tracker's URL
	// ("/announce?passkey=…"), sent with each announce as BEP 41 options
	// (at most 1024 bytes). Client sets it from the udp:// URL.
	URLData string

	conn   net.Conn
	ipv6   bool
	mu     sync.Mutex
	buf    []byte // for replies; allocated on first use
	connID uint64
	connAt time.Time
	hasID  bool
}

// NewUDPClient returns a client that uses conn, a connected UDP socket.
func NewUDPClient(conn net.Conn) *UDPClient {
	c := &UDPClient{conn: conn}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		c.ipv6 = !ap.Addr().Unmap().Is4()
	}
	return c
}

// DialUDP connects a UDP socket to the tracker at addr (host:port) and
// returns a client for it. No packet is sent until the first request.
func DialUDP(ctx context.Context, addr string) (*UDPClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	return NewUDPClient(conn), nil
}

// Close closes the socket.
func (c *UDPClient) Close() error { return c.conn.Close() }

func (c *UDPClient) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *UDPClient) tracef(format string, args ...any) {
	if c.Trace != nil {
		fmt.Fprintf(c.Trace, format+"\n", args...)
	}
}

// Connect obtains a connection ID. Announce and Scrape call it when the
// ID they hold is older than ConnectionIDLifetime.
func (c *UDPClient) Connect(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connect(ctx)
}

func (c *UDPClient) connect(ctx context.Context) error {
	reply, err := c.roundTrip(ctx, actionConnect, func(b []byte, tid uint32) []byte {
		c.tracef("C: connect transaction=%08x", tid)
		return appendConnectRequest(b, tid)
	})
	if err != nil {
		return err
	}
	if len(reply) < connectReplyLen {
		return &ProtocolError{"connect", fmt.Errorf("reply of %d bytes, want %d", len(reply), connectReplyLen)}
	}
	c.connID = binary.BigEndian.Uint64(reply[8:])
	c.connAt = c.now()
	c.hasID = true
	c.tracef("S: connect connection_id=%016x", c.connID)
	return nil
}

func (c *UDPClient) ensureConnected(ctx context.Context) error {
	if c.hasID && c.now().Sub(c.connAt) < ConnectionIDLifetime {
		return nil
	}
	return c.connect(ctx)
}

// Announce sends req and returns the tracker's reply.
func (c *UDPClient) Announce(ctx context.Context, req *AnnounceRequest) (*AnnounceResponse, error) {
	if len(c.URLData) > maxURLData {
		return nil, fmt.Errorf("tracker: URL data of %d bytes (at most %d)", len(c.URLData), maxURLData)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reply, err := c.connected(ctx, actionAnnounce, func(b []byte, tid uint32) []byte {
		c.tracef("C: announce info_hash=%s port=%d left=%d event=%s", shortHash(req.InfoHash), req.Port, req.Left, eventName(req.Event))
		b = appendAnnounceRequest(b, c.connID, tid, req)
		return appendURLData(b, c.URLData)
	})
	if err != nil {
		return nil, err
	}
	resp, err := ParseUDPAnnounceReply(reply, c.ipv6)
	if err != nil {
		return nil, err
	}
	c.tracef("S: announce %s", describe(resp))
	return resp, nil
}

// Scrape asks for the counts of up to 74 torrents, returned in order.
func (c *UDPClient) Scrape(ctx context.Context, hashes ...metainfo.Hash) ([]Stats, error) {
	if len(hashes) == 0 || len(hashes) > maxScrapeHashes {
		return nil, fmt.Errorf("tracker: scrape of %d torrents (1 to %d per request)", len(hashes), maxScrapeHashes)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	reply, err := c.connected(ctx, actionScrape, func(b []byte, tid uint32) []byte {
		c.tracef("C: scrape %d torrents", len(hashes))
		return appendScrapeRequest(b, c.connID, tid, hashes)
	})
	if err != nil {
		return nil, err
	}
	stats, err := ParseUDPScrapeReply(reply, len(hashes))
	if err != nil {
		return nil, err
	}
	for i, s := range stats {
		c.tracef("S: scrape %s complete=%d downloaded=%d incomplete=%d", shortHash(hashes[i]), s.Complete, s.Downloaded, s.Incomplete)
	}
	return stats, nil
}

// connected runs a request that needs a connection ID: it connects first
// if the ID it holds is too old, and connects again once if the tracker
// refuses the ID (its clock may run ahead of ours, or a long series of
// retransmissions outlived the ID).
func (c *UDPClient) connected(ctx context.Context, want action, build func(b []byte, tid uint32) []byte) ([]byte, error) {
	for try := 0; ; try++ {
		if err := c.ensureConnected(ctx); err != nil {
			return nil, err
		}
		reply, err := c.roundTrip(ctx, want, build)
		if errors.Is(err, ErrTimeout) {
			c.hasID = false // a tracker may drop requests with an ID it no longer knows
		}
		if err == nil || c.hasID || try > 0 || errors.Is(err, ErrTimeout) {
			return reply, err
		}
	}
}

// roundTrip sends the packet that build makes and waits for the reply
// with its transaction ID, retransmitting on BEP 15's schedule (with a
// fresh transaction ID each time) until Retries run out or ctx ends.
// Datagrams with another transaction ID are stray replies and ignored.
func (c *UDPClient) roundTrip(ctx context.Context, want action, build func(b []byte, tid uint32) []byte) ([]byte, error) {
	base := c.Timeout
	if base <= 0 {
		base = DefaultUDPTimeout
	}
	retries := c.Retries
	if retries <= 0 {
		retries = DefaultUDPRetries
	}
	retries = min(retries, 8)
	if c.buf == nil {
		c.buf = make([]byte, maxUDPRead)
	}
	var pkt []byte
	for n := 0; n <= retries; n++ {
		var t [4]byte
		rand.Read(t[:])
		tid := binary.BigEndian.Uint32(t[:])
		pkt = build(pkt[:0], tid)
		deadline := time.Now().Add(RetryTimeout(base, n))
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		if err := c.conn.SetDeadline(deadline); err != nil {
			return nil, fmt.Errorf("tracker: %s: %w", want, err)
		}
		// Armed after the deadline is set, so a cancel always wins over
		// it; done waits for a watch that fired and clears its deadline.
		done := sockets.WatchContext(ctx, c.conn)
		reply, again, err := c.try(want, tid, pkt)
		if cerr := done(); cerr != nil && (again || err != nil) {
			return nil, cerr // the context ended the wait: say so, not "i/o timeout"
		}
		if !again {
			return reply, err
		}
		c.tracef("C: (no reply in %v)", RetryTimeout(base, n))
	}
	return nil, ErrTimeout
}

// try sends pkt and reads until the reply with transaction ID tid comes
// or the deadline passes (again: send once more). Datagrams with another
// transaction ID are stray replies and ignored.
func (c *UDPClient) try(want action, tid uint32, pkt []byte) (reply []byte, again bool, err error) {
	if _, err := c.conn.Write(pkt); err != nil {
		return nil, false, fmt.Errorf("tracker: %s: %w", want, err)
	}
	buf := c.buf
	for {
		m, err := c.conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, true, nil
			}
			return nil, false, fmt.Errorf("tracker: %s: %w", want, err)
		}
		if m < 8 || binary.BigEndian.Uint32(buf[4:]) != tid {
			continue
		}
		switch got := action(binary.BigEndian.Uint32(buf)); got {
		case want:
			return append([]byte(nil), buf[:m]...), false, nil
		case actionError:
			msg := strings.ToValidUTF8(string(buf[8:m]), "?")
			c.tracef("S: error %q", msg)
			if strings.Contains(msg, "connection") {
				c.hasID = false // connect again
			}
			return nil, false, &Error{msg}
		default:
			return nil, false, &ProtocolError{want.String(), fmt.Errorf("reply with action %v", got)}
		}
	}
}

func eventName(e Event) string {
	if e == None {
		return "none"
	}
	return e.String()
}

// describe summarises a reply for transcripts.
func describe(r *AnnounceResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "interval=%v complete=%d incomplete=%d peers=[", r.Interval, r.Complete, r.Incomplete)
	for i, p := range r.Peers {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 8 {
			fmt.Fprintf(&b, "… %d more", len(r.Peers)-8)
			break
		}
		b.WriteString(p.Addr.String())
	}
	b.WriteByte(']')
	return b.String()
}
