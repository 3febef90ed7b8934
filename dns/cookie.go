package dns

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"time"
)

// OptionCookie is the EDNS option code of DNS Cookies (RFC 7873 §4),
// carried in EDNS.Options.
const OptionCookie = 10

// The lengths of the cookies (RFC 7873 §4): a client cookie is 8 octets, a
// server cookie 8 to 32; RFC 9018's server cookie is 16.
const (
	ClientCookieLen    = 8
	MinServerCookieLen = 8
	MaxServerCookieLen = 32
	serverCookieLen    = 16 // RFC 9018 version 1
)

// ErrCookie is wrapped by every error of ParseCookie: the option is
// malformed, and a server answers FORMERR (RFC 7873 §5.2.2) while a client
// drops the reply (§5.3).
var ErrCookie = errors.New("dns: malformed EDNS COOKIE option")

// A Cookie is the EDNS COOKIE option (RFC 7873): the client's random
// cookie, which a forged reply cannot know, and the server cookie the
// server made for that client cookie and the client's address, which
// proves on the next query that the client really is at that address.
// A client's first query carries no server cookie.
type Cookie struct {
	Client [ClientCookieLen]byte
	Server []byte // empty, or 8 to 32 octets
}

// Option returns c as an EDNS option, for EDNS.Options.
func (c Cookie) Option() Option {
	return Option{Code: OptionCookie, Data: c.Append(make([]byte, 0, ClientCookieLen+len(c.Server)))}
}

// Append appends the option data of c (without code and length) to b: the
// client cookie, then the server cookie.
func (c Cookie) Append(b []byte) []byte {
	return append(append(b, c.Client[:]...), c.Server...)
}

// String prints c in hex, client cookie then server cookie, as dig's
// COOKIE line does.
func (c Cookie) String() string {
	return hex.EncodeToString(c.Client[:]) + hex.EncodeToString(c.Server)
}

// ParseCookie reads the data of a COOKIE option. It accepts what §4
// allows: a client cookie of 8 octets, alone or followed by a server
// cookie of 8 to 32. The server cookie shares data's memory.
func ParseCookie(data []byte) (Cookie, error) {
	var c Cookie
	switch n := len(data); {
	case n < ClientCookieLen:
		return c, fmt.Errorf("%w: %d bytes, shorter than a client cookie", ErrCookie, n)
	case n > ClientCookieLen+MaxServerCookieLen:
		return c, fmt.Errorf("%w: %d bytes, longer than 40", ErrCookie, n)
	case n > ClientCookieLen && n < ClientCookieLen+MinServerCookieLen:
		return c, fmt.Errorf("%w: a server cookie of %d bytes, want 8 to 32", ErrCookie, n-ClientCookieLen)
	}
	copy(c.Client[:], data)
	if len(data) > ClientCookieLen {
		c.Server = data[ClientCookieLen:len(data):len(data)]
	}
	return c, nil
}

// Cookie returns the COOKIE option of e, if it has one (false if e is nil
// or has none), or an error matching ErrCookie if it is malformed. Only the
// first COOKIE option counts; others are ignored (RFC 7873 §5.2).
func (e *EDNS) Cookie() (Cookie, bool, error) {
	if e == nil {
		return Cookie{}, false, nil
	}
	for _, o := range e.Options {
		if o.Code == OptionCookie {
			c, err := ParseCookie(o.Data)
			return c, err == nil, err
		}
	}
	return Cookie{}, false, nil
}

// MakeClientCookie derives a client cookie from a client secret and the
// addresses of client and server, as RFC 7873 Appendix A.2 suggests
// (HMAC-SHA256 cut to 64 bits): each server gets its own cookie, so one
// server cannot track the client at another, and the client keeps no
// table of them. An invalid client address is left out (a client that
// does not know which address its queries leave from).
func MakeClientCookie(secret [16]byte, client, server netip.Addr) [ClientCookieLen]byte {
	m := hmac.New(sha256.New, secret[:])
	if client.IsValid() {
		b := client.Unmap().AsSlice()
		m.Write(b)
	}
	m.Write(server.Unmap().AsSlice())
	var c [ClientCookieLen]byte
	copy(c[:], m.Sum(nil))
	return c
}

// The server cookie's lifetime (RFC 9018 §4.3): one older than an hour has
// expired, one more than five minutes ahead of the server's clock is
// invalid, and one older than half an hour is replaced by a fresh one in
// the reply.
const (
	cookieLifetime = time.Hour
	cookieRenew    = 30 * time.Minute
	cookieSkew     = 5 * time.Minute
)

// AppendServerCookie appends to b the interoperable server cookie of RFC
// 9018 for a client with client cookie cc at address ip, made at now:
// version 1, three reserved zero octets, the time in Unix seconds (32 bits)
// and a SipHash-2-4, keyed with the server's secret, of the client cookie,
// those eight octets and the client's address. Servers sharing one secret
// (an anycast cluster) accept each other's cookies.
func AppendServerCookie(b []byte, secret *[16]byte, cc [ClientCookieLen]byte, ip netip.Addr, now time.Time) []byte {
	var head [8]byte
	head[0] = 1
	binary.BigEndian.PutUint32(head[4:], uint32(now.Unix()))
	b = append(b, head[:]...)
	return binary.LittleEndian.AppendUint64(b, cookieHash(secret, cc, head, ip))
}

// cookieHash is RFC 9018's hash: SipHash-2-4 of client cookie | version |
// reserved | timestamp | client address, without allocating.
func cookieHash(secret *[16]byte, cc [ClientCookieLen]byte, head [8]byte, ip netip.Addr) uint64 {
	var msg [8 + 8 + 16]byte
	n := copy(msg[:], cc[:])
	n += copy(msg[n:], head[:])
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		n += copy(msg[n:], a[:])
	} else {
		a := ip.As16()
		n += copy(msg[n:], a[:])
	}
	return sipHash24(secret, msg[:n])
}

// A CookieCheck is a server's verdict on the server cookie of a request
// (RFC 7873 §5.2, RFC 9018 §4.3), with its reason in words.
type CookieCheck struct {
	// Valid: the cookie is one this server made, for this client cookie
	// and this client address, and is neither expired nor from the
	// future. The request's source address is not spoofed.
	Valid bool
	// Renew: the reply carries a fresh server cookie, not the one
	// presented (always, unless Valid and younger than half an hour).
	Renew  bool
	Reason string
}

// CheckServerCookie judges c.Server for a request from the client at ip,
// at now, against the server's secrets (the current one and, while a new
// one is rolled out, the previous ones, whose cookies are renewed with the
// first: RFC 9018 §5). It is a pure
// function, graded by a table test.
func CheckServerCookie(c Cookie, ip netip.Addr, now time.Time, secrets ...*[16]byte) CookieCheck {
	switch {
	case len(c.Server) == 0:
		return CookieCheck{Renew: true, Reason: "no server cookie yet"}
	case len(c.Server) != serverCookieLen || c.Server[0] != 1:
		return CookieCheck{Renew: true, Reason: "not a version 1 server cookie (RFC 9018)"}
	}
	// Serial number arithmetic (RFC 1982) on the 32-bit timestamp.
	age := time.Duration(int32(uint32(now.Unix())-binary.BigEndian.Uint32(c.Server[4:]))) * time.Second
	switch {
	case age > cookieLifetime:
		return CookieCheck{Renew: true, Reason: "server cookie older than an hour"}
	case age < -cookieSkew:
		return CookieCheck{Renew: true, Reason: "server cookie from more than five minutes ahead"}
	}
	head := [8]byte(c.Server[:8])
	var got [8]byte
	for i, s := range secrets {
		binary.LittleEndian.PutUint64(got[:], cookieHash(s, c.Client, head, ip))
		if subtle.ConstantTimeCompare(got[:], c.Server[8:]) == 1 {
			switch {
			case i > 0:
				return CookieCheck{Valid: true, Renew: true, Reason: "valid under a previous secret: renewed"}
			case age > cookieRenew:
				return CookieCheck{Valid: true, Renew: true, Reason: "valid, older than half an hour: renewed"}
			}
			return CookieCheck{Valid: true, Reason: "valid"}
		}
	}
	return CookieCheck{Renew: true, Reason: "server cookie not made here for this client"}
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, 2012) of msg under the
// 128-bit key: a keyed hash for short messages, which an attacker who does
// not know the key cannot predict.
func sipHash24(key *[16]byte, msg []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[:8])
	k1 := binary.LittleEndian.Uint64(key[8:])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13) ^ v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16) ^ v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21) ^ v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17) ^ v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(msg)
	for len(msg) >= 8 {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
		msg = msg[8:]
	}
	// The last block: the octets left and the length's low byte on top.
	var last [8]byte
	copy(last[:], msg)
	last[7] = byte(n)
	m := binary.LittleEndian.Uint64(last[:])
	v3 ^= m
	round()
	round()
	v0 ^= m
	v2 ^= 0xff
	for range 4 {
		round()
	}
	return v0 ^ v1 ^ v2 ^ v3
}
