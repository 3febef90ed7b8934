package dns

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"appnet.dev/sockets"
)

// A Conn is a connection to one name server over UDP or TCP, on which a
// stub resolver exchanges queries and replies.
type Conn struct {
	c     net.Conn
	tcp   bool
	buf   []byte    // the query being sent
	rbuf  []byte    // replies as they arrive
	Trace io.Writer // if set, prints each query (C:) and reply (S:)
	// Timeout bounds each Exchange even when its context has no
	// deadline; 0 means 2s.
	Timeout time.Duration
}

// NewConn makes a Conn of c, a connected UDP socket or a TCP connection.
// It does not dial.
func NewConn(c net.Conn) *Conn {
	_, isPacket := c.(net.PacketConn)
	return &Conn{c: c, tcp: !isPacket}
}

// Dial connects to a name server; network is "udp" or "tcp". Each UDP Conn
// has its own socket, so its source port is one the system picked at random.
func Dial(ctx context.Context, network, addr string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dns: dial %s: %w", addr, err)
	}
	return NewConn(c), nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// ErrMismatch is reported when a reply does not answer the query sent.
var ErrMismatch = errors.New("dns: reply does not match the query")

// Exchange sends q and waits for its reply, until ctx is done or Timeout
// has passed. q is sent with a fresh random ID (q itself is not changed).
// Over UDP, replies whose ID or question do not match are ignored, as an
// attacker's guesses would be (the connected socket already drops those
// from other addresses), and so are replies with another client cookie
// than the one q carries, if it carries a DNS Cookie (see echoesCookie).
func (c *Conn) Exchange(ctx context.Context, q *Message) (*Message, error) {
	ctx, cancel := context.WithTimeout(ctx, dflt(c.Timeout, 2*time.Second))
	defer cancel()
	id := uint16(rand.Uint32())
	b := c.buf[:0]
	if c.tcp {
		b = append(b, 0, 0)
	}
	b, err := q.AppendPack(b)
	if err != nil {
		return nil, err
	}
	start := 0
	if c.tcp {
		start = 2
		if len(b)-2 > 0xFFFF {
			return nil, errors.New("dns: query too long")
		}
		binary.BigEndian.PutUint16(b, uint16(len(b)-2))
	}
	binary.BigEndian.PutUint16(b[start:], id)
	c.buf = b
	if c.Trace != nil {
		sent := *q
		sent.ID = id
		fmt.Fprintln(c.Trace, traceText("C", &sent))
	}
	// The watch moves the deadline when ctx ends, so the error then
	// says why: the context's deadline or its cancellation.
	c.c.SetDeadline(time.Time{})
	// done may be called twice (by ctxErr, then deferred): once only
	// reaches WatchContext's function.
	done := sync.OnceValue(sockets.WatchContext(ctx, c.c))
	defer done()
	if _, err := c.c.Write(b); err != nil {
		return nil, ctxErr(ctx, done, err)
	}
	for {
		msg, err := c.read()
		if err != nil {
			return nil, ctxErr(ctx, done, err)
		}
		var r Message
		if err := r.Unpack(msg); err != nil {
			if c.tcp {
				return nil, err
			}
			continue // not from a server that talks DNS: keep waiting
		}
		if !matches(&r, q, id) {
			if c.tcp {
				return nil, ErrMismatch
			}
			continue
		}
		if c.Trace != nil {
			fmt.Fprintln(c.Trace, traceText("S", &r))
		}
		return &r, nil
	}
}

// ctxErr says why an exchange failed: the context's end if that is what
// stopped it (done disarms the watch and reports it), else err.
func ctxErr(ctx context.Context, done func() error, err error) error {
	if cerr := done(); cerr != nil {
		return cerr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("dns: exchange: %w", err)
}

func (c *Conn) read() ([]byte, error) {
	if c.tcp {
		var lb [2]byte
		if _, err := io.ReadFull(c.c, lb[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(lb[:]))
		if cap(c.rbuf) < n {
			c.rbuf = make([]byte, n)
		}
		_, err := io.ReadFull(c.c, c.rbuf[:n])
		return c.rbuf[:n], err
	}
	if len(c.rbuf) < 65535 {
		c.rbuf = make([]byte, 65535)
	}
	n, err := c.c.Read(c.rbuf[:65535])
	return c.rbuf[:n], err
}

// matches checks that r is a reply to q sent with id: same ID, QR set,
// same question (names compared without case).
func matches(r, q *Message, id uint16) bool {
	if r.ID != id || !r.Response || len(r.Questions) != len(q.Questions) {
		// A FORMERR reply may come without the question.
		return r.ID == id && r.Response && len(r.Questions) == 0 && r.RCode != RCodeSuccess && echoesCookie(r, q)
	}
	for i, rq := range r.Questions {
		qq := q.Questions[i]
		if rq.Type != qq.Type || rq.Class != qq.Class || !rq.Name.Equal(qq.Name) {
			return false
		}
	}
	return echoesCookie(r, q)
}

// echoesCookie reports whether reply r keeps to the DNS Cookie of query q
// (RFC 7873 §5.3): if q carried one, a COOKIE option in r must be well
// formed and start with q's client cookie. One that does not was sent by
// someone who never saw the query, a forger guessing ID and port; the
// exchange waits on for the real reply. (A reply without the option may
// come from a server that does not know cookies.)
func echoesCookie(r, q *Message) bool {
	sent, ok, _ := q.EDNS.Cookie()
	if !ok {
		return true
	}
	got, ok, err := r.EDNS.Cookie()
	return err == nil && (!ok || got.Client == sent.Client)
}

// A Client is a stub resolver: it asks one name server a question and
// waits for the answer, retrying over UDP and falling back to TCP when the
// reply is truncated. The zero value is ready to use.
type Client struct {
	// Timeout bounds each exchange, UDP attempt or TCP query, even when
	// the context has no deadline; 0 means 2s.
	Timeout time.Duration
	// Attempts is how many times a UDP query is sent; 0 means 3.
	Attempts int
	// UDPSize is the EDNS payload size offered; 0 means 1232, and a
	// negative value sends queries without EDNS.
	UDPSize int
	// Dial opens connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Trace, if set, prints every query and reply.
	Trace io.Writer
}

func (cl *Client) dial(ctx context.Context, network, addr string) (*Conn, error) {
	if cl.Dial == nil {
		c, err := Dial(ctx, network, addr)
		if c != nil {
			c.Trace, c.Timeout = cl.Trace, cl.Timeout
		}
		return c, err
	}
	nc, err := cl.Dial(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dns: dial %s: %w", addr, err)
	}
	c := NewConn(nc)
	c.Trace, c.Timeout = cl.Trace, cl.Timeout
	return c, nil
}

// Exchange asks server ("127.0.0.1:5300") the query q and returns its
// reply, whatever its RCode. It adds an OPT record unless q has one or
// UDPSize is negative.
func (cl *Client) Exchange(ctx context.Context, server string, q *Message) (*Message, error) {
	added := false
	if q.EDNS == nil && cl.UDPSize >= 0 {
		qq := *q
		size := cl.UDPSize
		if size == 0 {
			size = 1232
		}
		qq.EDNS = &EDNS{UDPSize: uint16(min(size, 65535))}
		q, added = &qq, true
	}
	attempts := cl.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		r, err := cl.exchangeOnce(ctx, "udp", server, q)
		if err == nil {
			if r.Truncated {
				return cl.exchangeOnce(ctx, "tcp", server, q)
			}
			if r.RCode == RCodeFormatError && r.EDNS == nil && added {
				// A server from before EDNS: ask again without it (RFC
				// 6891 §7). That is another question, not a retry of
				// this one: it does not use up an attempt.
				plain := *q
				plain.EDNS, added = nil, false
				q = &plain
				i--
				continue
			}
			return r, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return nil, lastErr
}

// ExchangeTCP asks over TCP only.
func (cl *Client) ExchangeTCP(ctx context.Context, server string, q *Message) (*Message, error) {
	return cl.exchangeOnce(ctx, "tcp", server, q)
}

// exchangeOnce makes one exchange on a connection of its own, bounded by
// the client's Timeout whatever ctx says: a server that never answers
// must not hold a caller whose context has no deadline.
func (cl *Client) exchangeOnce(ctx context.Context, network, server string, q *Message) (*Message, error) {
	ctx, cancel := context.WithTimeout(ctx, dflt(cl.Timeout, 2*time.Second))
	defer cancel()
	c, err := cl.dial(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Exchange(ctx, q)
}

// NewQuery makes a query for name and type with RD clear, as a stub asks
// an authoritative server.
func NewQuery(name Name, t Type) *Message {
	return &Message{Questions: []Question{{Name: name, Type: t, Class: ClassINET}}}
}

// Lookup asks server for the records of type t at name and returns the
// answer section's records of that type (after any CNAMEs). A reply with
// an error code is returned as that RCode (an error).
func (cl *Client) Lookup(ctx context.Context, server string, name Name, t Type) ([]RR, error) {
	r, err := cl.Exchange(ctx, server, NewQuery(name, t))
	if err != nil {
		return nil, err
	}
	if r.RCode != RCodeSuccess {
		return nil, r.RCode
	}
	var out []RR
	for _, rr := range r.Answers {
		if rr.Type() == t {
			out = append(out, rr)
		}
	}
	return out, nil
}

// LookupMX returns domain's mail servers, lowest preference first: what a
// mail server asks before it sends mail to hamburger.edu.
func (cl *Client) LookupMX(ctx context.Context, server string, domain Name) ([]MX, error) {
	rrs, err := cl.Lookup(ctx, server, domain, TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]MX, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, *rr.Data.(*MX))
	}
	slices.SortStableFunc(out, func(a, b MX) int { return cmp.Compare(a.Preference, b.Preference) })
	return out, nil
}

// LookupAddr returns host's IPv4 and IPv6 addresses (A, then AAAA).
func (cl *Client) LookupAddr(ctx context.Context, server string, host Name) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, t := range [...]Type{TypeA, TypeAAAA} {
		rrs, err := cl.Lookup(ctx, server, host, t)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			switch d := rr.Data.(type) {
			case *A:
				out = append(out, d.Addr)
			case *AAAA:
				out = append(out, d.Addr)
			}
		}
	}
	return out, nil
}
