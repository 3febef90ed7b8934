package resolver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"appnet.dev/dns"
)

// maxServerCookies bounds the server cookies a resolver remembers, one per
// server address, at most 40 octets each: under a megabyte, for ten times
// fewer servers than the Cache's default 100,000 RRsets could name. When
// full, an arbitrary one is forgotten; that server's next reply teaches it
// again.
const maxServerCookies = 10000

// An attempt says how one upstream query is sent: what an earlier reply
// from the same server taught changes the next try.
type attempt uint8

const (
	withCookie    attempt = iota // the first try: a COOKIE option unless NoCookies
	overTCP                      // BADCOOKIE twice: over TCP, which proves the address (RFC 7873 §5.3)
	withoutCookie                // FORMERR to a query with the option: EDNS without it
	withoutEDNS                  // FORMERR without an OPT record: a server from before EDNS (RFC 6891 §7)
)

// cookieFor returns the cookie to send to the server at addr: a client
// cookie derived from the resolver's secret and the server's address (so
// no table of them is kept, and each server sees a different one), and the
// server cookie that server last gave, if any.
func (r *Resolver) cookieFor(addr netip.Addr) dns.Cookie {
	r.mu.Lock()
	if !r.cookieReady {
		rand.Read(r.cookieSecret[:])
		r.cookieReady = true
	}
	secret := r.cookieSecret
	server := r.serverCookies[addr]
	r.mu.Unlock()
	// The address queries leave from is the system's choice, made per
	// socket, so it is left out: a resolver does not move between
	// networks as the laptops RFC 7873 §4.1 worries about do.
	return dns.Cookie{Client: dns.MakeClientCookie(secret, netip.Addr{}, addr), Server: server}
}

// learnCookie remembers the server cookie the server at addr gave, or, if
// it gave none, forgets the one it gave before.
func (r *Resolver) learnCookie(addr netip.Addr, server []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(server) == 0 {
		delete(r.serverCookies, addr)
		return
	}
	if old, ok := r.serverCookies[addr]; ok && bytes.Equal(old, server) {
		return
	}
	if r.serverCookies == nil {
		r.serverCookies = map[netip.Addr][]byte{}
	}
	if _, ok := r.serverCookies[addr]; !ok && len(r.serverCookies) >= maxServerCookies {
		for a := range r.serverCookies {
			delete(r.serverCookies, a)
			break
		}
	}
	r.serverCookies[addr] = bytes.Clone(server)
}

// ForgedReplies returns how many upstream replies were dropped as forged
// by their DNS Cookie: a COOKIE option with another client cookie than the
// one sent, or a malformed one, or none from a server that had given a
// server cookie before (RFC 7873 §5.3). Only a sender that did not see the
// query sends those.
func (r *Resolver) ForgedReplies() int {
	return int(r.forged.Load())
}

// replyCookie checks the COOKIE option of reply against the client cookie
// sent, and returns the server cookie it carries.
func replyCookie(reply *dns.Message, client [dns.ClientCookieLen]byte) ([]byte, error) {
	c, ok, err := reply.EDNS.Cookie()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", dns.ErrMismatch, err)
	case !ok:
		return nil, nil // a server that does not know cookies
	case c.Client != client:
		return nil, fmt.Errorf("%w: client cookie %x, sent %x", dns.ErrMismatch, c.Client, client)
	}
	return c.Server, nil
}

// cookieDial returns the dialer of one upstream query sent with the
// client cookie client: its UDP sockets drop forged replies as they arrive
// (cookieFilter), so that the exchange waits on for the genuine one as it
// does after a reply with a wrong ID. expect says a reply must carry a
// COOKIE option (the server gave a server cookie before).
func (r *Resolver) cookieDial(client [dns.ClientCookieLen]byte, expect bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if r.Dial != nil {
			c, err = r.Dial(ctx, network, addr)
		} else {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		if pc, ok := c.(net.PacketConn); ok {
			return &cookieFilter{Conn: c, pc: pc, client: client, expect: expect, r: r}, nil
		}
		return c, nil
	}
}

// A cookieFilter is an upstream UDP socket that drops the datagrams whose
// DNS Cookie shows them forged (forged), counting them.
type cookieFilter struct {
	net.Conn
	pc     net.PacketConn
	client [dns.ClientCookieLen]byte
	expect bool
	r      *Resolver
}

func (f *cookieFilter) Read(b []byte) (int, error) {
	for {
		n, err := f.Conn.Read(b)
		if err != nil || !forged(b[:n], f.client, f.expect) {
			return n, err
		}
		f.r.forged.Add(1)
		f.r.tracef("%s: reply dropped: its cookie is not ours (forged)", f.RemoteAddr())
	}
}

// ReadFrom and WriteTo keep the filter a net.PacketConn, which tells
// dns.NewConn that it is a datagram socket.
func (f *cookieFilter) ReadFrom(b []byte) (int, net.Addr, error)  { return f.pc.ReadFrom(b) }
func (f *cookieFilter) WriteTo(b []byte, a net.Addr) (int, error) { return f.pc.WriteTo(b, a) }

// forged reports whether msg, a DNS reply, carries a COOKIE option that is
// malformed or has another client cookie than client, or, when expect,
// none at all. What is not a readable DNS message is left to the exchange
// to ignore.
func forged(msg []byte, client [dns.ClientCookieLen]byte, expect bool) bool {
	var p dns.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response {
		return false
	}
	for {
		rh, sec, ok, err := p.Next()
		if err != nil {
			return false
		}
		if !ok {
			return expect
		}
		if rh.Type != dns.TypeOPT || sec != dns.SectionAdditional {
			continue
		}
		raw := p.Raw()
		for i := 0; i+4 <= len(raw); {
			code, n := binary.BigEndian.Uint16(raw[i:]), int(binary.BigEndian.Uint16(raw[i+2:]))
			if i+4+n > len(raw) {
				return false // a broken OPT record: the exchange rejects it
			}
			if code == dns.OptionCookie {
				c, err := dns.ParseCookie(raw[i+4 : i+4+n])
				return err != nil || c.Client != client
			}
			i += 4 + n
		}
		return expect
	}
}
