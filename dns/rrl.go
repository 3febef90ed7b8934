package dns

import (
	"net/netip"
	"sync"
	"time"
)

// An RRLAction is what response rate limiting does with one reply.
type RRLAction uint8

const (
	RRLAnswer RRLAction = iota // send the reply
	RRLSlip                    // send an empty reply with TC set: a real client retries over TCP
	RRLDrop                    // send nothing
)

func (a RRLAction) String() string {
	switch a {
	case RRLAnswer:
		return "answer"
	case RRLSlip:
		return "slip"
	case RRLDrop:
		return "drop"
	}
	return "RRLAction(?)"
}

// RRL is response rate limiting for an authoritative server: the defence
// against the slides' amplification attack, where an attacker sends small
// queries with the victim's address as source and the server floods the
// victim with large replies. Replies over UDP to one client prefix (a /24
// or a /56, as a spoofed flood comes from one victim) are limited to Rate
// per second; beyond it, every Slip-th reply goes out empty with TC set (a
// genuine client asks again over TCP, which cannot be spoofed) and the
// others are dropped. TCP is never limited, and neither is a query over
// UDP with a valid server cookie (DNS Cookies, RFC 7873): the cookie was
// sent to its source address earlier and came back, so that address is
// the client's own and not a victim's. Set it as Server.RateLimit.
type RRL struct {
	// Rate is the replies per second (and the burst) allowed to one
	// client prefix; 0 means 5.
	Rate int
	// Slip: every Slip-th limited reply is sent truncated; 0 means 2,
	// 1 slips them all, a negative value drops them all.
	Slip int
	// IPv4Prefix and IPv6Prefix are the prefix lengths that make one
	// client; 0 means 24 and 56.
	IPv4Prefix, IPv6Prefix int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxClients bounds the prefixes tracked; 0 means 100,000.
	MaxClients int

	mu      sync.Mutex
	buckets map[netip.Prefix]*rrlBucket
}

type rrlBucket struct {
	tokens  float64
	last    time.Time
	limited int
}

// rrlDecide is the policy for one bucket: refill at rate per second up to
// rate, spend one token per reply, and when none is left slip every
// slip-th reply and drop the rest.
func rrlDecide(b *rrlBucket, now time.Time, rate, slip int) RRLAction {
	if b.last.IsZero() {
		b.tokens = float64(rate)
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(rate), b.tokens+d.Seconds()*float64(rate))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		b.limited = 0
		return RRLAnswer
	}
	b.limited++
	if slip > 0 && b.limited%slip == 0 {
		return RRLSlip
	}
	return RRLDrop
}

// Decide says what to do with the next reply to client.
func (l *RRL) Decide(client netip.Addr) RRLAction {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	client = client.Unmap()
	bits := orDefault(l.IPv4Prefix, 24)
	if client.Is6() {
		bits = orDefault(l.IPv6Prefix, 56)
	}
	p, err := client.Prefix(bits)
	if err != nil {
		return RRLAnswer
	}
	slip := l.Slip
	if slip == 0 {
		slip = 2
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = make(map[netip.Prefix]*rrlBucket)
	}
	b := l.buckets[p]
	if b == nil {
		if len(l.buckets) >= orDefault(l.MaxClients, 100000) {
			for k, old := range l.buckets { // forget the idle ones
				if now.Sub(old.last) > time.Second {
					delete(l.buckets, k)
				}
			}
			if len(l.buckets) >= orDefault(l.MaxClients, 100000) {
				return RRLDrop // too many clients at once: a flood
			}
		}
		b = &rrlBucket{}
		l.buckets[p] = b
	}
	return rrlDecide(b, now, orDefault(l.Rate, 5), slip)
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
