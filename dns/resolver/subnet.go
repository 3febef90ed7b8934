package resolver

import (
	"net/netip"
	"time"

	"appnet.dev/dns"
)

// A SubnetPolicy turns on EDNS Client Subnet (RFC 7871) in a Resolver and
// says how much of each client's address the resolver reveals. It is off
// when the Resolver's ClientSubnet is nil, the default: every server asked
// would learn where the resolver's clients are (RFC 7871 §11.3).
type SubnetPolicy struct {
	// IPv4Bits and IPv6Bits are the longest source prefixes sent, and so
	// the finest networks answers are cached for; 0 means 24 and 56, the
	// lengths RFC 7871 §11.1 recommends.
	IPv4Bits, IPv6Bits int
	// Clients lists the networks whose subnets may be sent. Nil means
	// public unicast addresses only: never loopback, link-local, or the
	// private networks of RFC 1918 and RFC 4193, which say nothing to a
	// server on the Internet and only reveal how a site is laid out. A
	// lab on loopback lists the networks it plays with (10.0.0.0/8).
	Clients []netip.Prefix
	// Recheck is how long a server that answered a query with ECS
	// without the option (it does not use ECS) is asked without it; then
	// it is probed again (RFC 7871 §12.1). 0 means a day.
	Recheck time.Duration
}

// bits is the longest source prefix sent for addresses like a.
func (p *SubnetPolicy) bits(a netip.Addr) int {
	if a.Is4() {
		return min(dflt(p.IPv4Bits, 24), 32)
	}
	return min(dflt(p.IPv6Bits, 56), 128)
}

// allowed reports whether the subnet s may be sent.
func (p *SubnetPolicy) allowed(s netip.Prefix) bool {
	if p.Clients == nil {
		a := s.Addr()
		return a.IsGlobalUnicast() && !a.IsPrivate()
	}
	for _, c := range p.Clients {
		if c.Bits() <= s.Bits() && c.Contains(s.Addr()) {
			return true
		}
	}
	return false
}

// Source decides what a query from the client at addr, whose own ECS
// option (if has) asked for asked.Source, reveals upstream: the subnet to
// send, or an invalid prefix for none. It is a pure function of its
// arguments, graded by a table test.
//
//   - The client's own option wins (RFC 7871 §7.1.1), cut to the longest
//     prefix the policy sends. A source of /0 means "reveal nothing"
//     (§7.1.2): nothing is sent.
//   - Otherwise the client's address is cut to the policy's prefix.
//   - A subnet outside the networks that may be sent is not sent; when
//     the client asked for it by its own option, refuse is true and the
//     client gets REFUSED (§7.5).
func (p *SubnetPolicy) Source(addr netip.Addr, asked dns.ClientSubnet, has bool) (subnet netip.Prefix, refuse bool) {
	if p == nil {
		return netip.Prefix{}, false
	}
	if has {
		if unmapPrefix(asked.Source).Bits() <= 0 {
			return netip.Prefix{}, false
		}
		src := unmapPrefix(asked.Source)
		a := src.Addr()
		s := netip.PrefixFrom(a, min(src.Bits(), p.bits(a))).Masked()
		if !p.allowed(s) {
			return netip.Prefix{}, true
		}
		return s, false
	}
	a := addr.Unmap()
	if !a.IsValid() {
		return netip.Prefix{}, false
	}
	s := netip.PrefixFrom(a, p.bits(a)).Masked()
	if !p.allowed(s) {
		return netip.Prefix{}, false
	}
	return s, false
}

// A reach says which clients a cached answer may be given to (RFC 7871
// §7.3.1). The zero reach is everyone: an answer with a scope of 0, or
// from a server that does not tailor answers to clients.
type reach struct {
	// net is the network the answer holds for; invalid for everyone.
	net netip.Prefix
	// scope is the server's scope prefix length, echoed to clients.
	scope int
	// anon marks an answer got without a subnet from a server that may
	// tailor answers: it was placed by the resolver's own address, and
	// goes only to clients whose subnet is not sent (§7.3.1).
	anon bool
	// exact marks an answer whose scope was longer than the subnet sent:
	// the server wanted to know more, so it goes only to clients that
	// send exactly net, no more (§7.3.1).
	exact bool
}

// same reports whether a and b are for the same clients: a new answer
// for them replaces the old.
func (a reach) same(b reach) bool {
	return a.net == b.net && a.anon == b.anon && a.exact == b.exact
}

// serves reports whether an answer of reach a may be given to a client
// whose subnet (invalid when none is sent) is sub.
func (a reach) serves(sub netip.Prefix) bool {
	switch {
	case !a.net.IsValid():
		return !a.anon || !sub.IsValid()
	case !sub.IsValid():
		return false
	case a.exact:
		return a.net == sub
	default:
		return a.net.Bits() <= sub.Bits() && a.net.Contains(sub.Addr())
	}
}

// reachOf says whom the answer of a reply holds for, given the subnet sent
// (invalid when none) and whether the server might tailor answers (it
// would have been sent one).
func reachOf(sent netip.Prefix, cs dns.ClientSubnet, echoed, tailors bool) reach {
	switch {
	case !sent.IsValid():
		return reach{anon: tailors}
	case !echoed || cs.Scope == 0:
		return reach{} // RFC 7871 §7.3: no option is a scope of 0
	case cs.Scope > sent.Bits():
		return reach{net: sent, scope: cs.Scope, exact: true}
	default:
		return reach{net: netip.PrefixFrom(sent.Addr(), cs.Scope).Masked(), scope: cs.Scope}
	}
}

// echoMatches reports whether the ECS option of a reply echoes the
// subnet sent: same family, source length and address (RFC 7871 §7.3,
// §11.2); a reply that does not is forged or broken, and dropped.
func echoMatches(sent netip.Prefix, cs dns.ClientSubnet) bool {
	return cs.Source == sent
}
