package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"appnet.dev/sockets"
)

// Transfer asks the server at addr for the whole zone by AXFR over TCP
// (RFC 5936) and returns its records, the SOA once. The transfer may come
// in one message or several; it must start and end with the SOA. At most
// maxRecords records are taken (0 means 1,000,000).
func Transfer(ctx context.Context, cl *Client, addr string, zone Name, maxRecords int) ([]RR, error) {
	if maxRecords <= 0 {
		maxRecords = 1000000
	}
	c, err := cl.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	first, err := c.Exchange(ctx, NewQuery(zone, TypeAXFR))
	if err != nil {
		return nil, err
	}
	if first.RCode != RCodeSuccess {
		return nil, fmt.Errorf("dns: transfer of %s: %w", zone, first.RCode)
	}
	if len(first.Answers) == 0 || first.Answers[0].Type() != TypeSOA || !first.Answers[0].Name.Equal(zone) {
		return nil, fmt.Errorf("dns: transfer of %s: does not start with the SOA", zone)
	}
	soa := first.Answers[0]
	out := []RR{soa}
	msg := first
	rest := first.Answers[1:]
	for {
		for _, rr := range rest {
			if rr.Type() == TypeSOA && rr.Name.Equal(zone) {
				return out, nil // the closing SOA
			}
			if !rr.Name.IsSubdomainOf(zone) {
				return nil, fmt.Errorf("dns: transfer of %s: %s is out of the zone", zone, rr.Name)
			}
			if len(out) >= maxRecords {
				return nil, fmt.Errorf("dns: transfer of %s: more than %d records", zone, maxRecords)
			}
			out = append(out, rr)
		}
		b, err := cl.readNext(ctx, c)
		if err != nil {
			return nil, err
		}
		var next Message
		if err := next.Unpack(b); err != nil {
			return nil, err
		}
		if next.ID != msg.ID || !next.Response || next.RCode != RCodeSuccess {
			return nil, fmt.Errorf("dns: transfer of %s: %w", zone, ErrMismatch)
		}
		rest = next.Answers
	}
}

// readNext reads the next message of a transfer, waiting at most the
// client's Timeout for it and no longer than ctx allows.
func (cl *Client) readNext(ctx context.Context, c *Conn) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, dflt(cl.Timeout, 2*time.Second))
	defer cancel()
	done := sockets.WatchContext(ctx, c.c)
	b, err := c.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, ctxErr(ctx, done, err)
	}
	done()
	return b, nil
}

// A Secondary keeps a copy of a zone whose primary is elsewhere: it asks
// the primary for the zone's SOA every Refresh seconds (and when the
// primary sends NOTIFY, RFC 1996), transfers the zone by AXFR when the
// primary's serial is newer (serial arithmetic of RFC 1982), and answers
// queries from its copy. Serve it with a dns.Server and run Run.
type Secondary struct {
	Origin  Name
	Primary string // the primary's address, "127.0.0.1:5300"
	// Client asks the primary; nil means the zero Client.
	Client *Client
	// AllowNotify says whether a NOTIFY from addr is heeded; nil heeds
	// the primary's address only.
	AllowNotify func(addr netip.Addr) bool
	// Trace, if set, tells each refresh and transfer.
	Trace io.Writer

	// Transferred, if set, is called with each new copy of the zone.
	Transferred func(z *Zone)

	zone atomic.Pointer[Zone]
	once sync.Once
	kick chan struct{}
}

func (s *Secondary) kickChan() chan struct{} {
	s.once.Do(func() { s.kick = make(chan struct{}, 1) })
	return s.kick
}

// Zone returns the current copy, or nil before the first transfer.
func (s *Secondary) Zone() *Zone { return s.zone.Load() }

func (s *Secondary) client() *Client {
	if s.Client == nil {
		return &Client{}
	}
	return s.Client
}

// Refresh asks the primary for the zone's serial and transfers the zone
// when it is newer than the copy's; it reports whether it transferred.
func (s *Secondary) Refresh(ctx context.Context) (bool, error) {
	cl := s.client()
	r, err := cl.Exchange(ctx, s.Primary, NewQuery(s.Origin, TypeSOA))
	if err != nil {
		return false, err
	}
	var serial uint32
	found := false
	for _, rr := range r.Answers {
		if soa, ok := rr.Data.(*SOA); ok && rr.Name.Equal(s.Origin) {
			serial, found = soa.Serial, true
		}
	}
	if !found {
		return false, fmt.Errorf("dns: refresh of %s: no SOA from %s (%v)", s.Origin, s.Primary, r.RCode)
	}
	if z := s.zone.Load(); z != nil && int32(serial-z.SOA.Data.(*SOA).Serial) <= 0 {
		return false, nil
	}
	rrs, err := Transfer(ctx, cl, s.Primary, s.Origin, 0)
	if err != nil {
		return false, err
	}
	z, err := NewZone(s.Origin, rrs)
	if err != nil {
		return false, err
	}
	s.zone.Store(z)
	if s.Transferred != nil {
		s.Transferred(z)
	}
	if s.Trace != nil {
		fmt.Fprintf(s.Trace, "secondary %s: transferred serial %d from %s, %d records\n", s.Origin, serial, s.Primary, len(rrs))
	}
	return true, nil
}

// Run refreshes the zone at once, then whenever NOTIFY comes and every
// SOA refresh interval (the retry interval after a failure), until ctx
// is done.
func (s *Secondary) Run(ctx context.Context) error {
	kick := s.kickChan()
	for {
		wait := time.Hour
		if _, err := s.Refresh(ctx); err != nil {
			if s.Trace != nil {
				fmt.Fprintf(s.Trace, "secondary %s: refresh: %v\n", s.Origin, err)
			}
			wait = 10 * time.Second
			if z := s.zone.Load(); z != nil {
				wait = time.Duration(z.SOA.Data.(*SOA).Retry) * time.Second
			}
		} else if z := s.zone.Load(); z != nil {
			wait = time.Duration(z.SOA.Data.(*SOA).Refresh) * time.Second
		}
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// ServeDNS answers queries from the copy and takes NOTIFY messages.
func (s *Secondary) ServeDNS(_ context.Context, reply *Message, req *Request) {
	if req.Opcode == OpcodeNotify {
		allow := s.AllowNotify
		if allow == nil {
			primary, err := netip.ParseAddrPort(s.Primary)
			allow = func(a netip.Addr) bool { return err == nil && a.Unmap() == primary.Addr().Unmap() }
		}
		switch {
		case len(req.Questions) != 1 || !req.Questions[0].Name.Equal(s.Origin):
			reply.RCode = RCodeNotAuth
		case !allow(req.Remote.Addr()):
			reply.RCode = RCodeRefused
		default:
			reply.Authoritative = true
			select {
			case s.kickChan() <- struct{}{}:
			default: // a refresh is already due
			}
		}
		return
	}
	z := s.zone.Load()
	if z == nil {
		if req.Opcode == OpcodeQuery {
			reply.RCode = RCodeServerFailure
		} else {
			reply.RCode = RCodeNotImplemented
		}
		return
	}
	zs := Zones{zones: []*Zone{z}}
	zs.ServeDNS(context.Background(), reply, req)
}
