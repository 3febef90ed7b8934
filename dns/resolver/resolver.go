// Package resolver is the slides' local DNS server: an iterative resolver
// that walks the hierarchy from the root servers down (RFC 1034 §5.3.3),
// with a TTL cache (RFC 1035 §7.4, negative answers per RFC 2308), and a
// recursive name server (RA) for stub clients on top of it.
//
// A host at engineering.nyu.edu wants the address of gaia.cs.umass.edu.
// It asks its local DNS server, dns.nyu.edu, by a recursive query (RD): the
// Resolver's ServeDNS, served by a dns.Server. The local server then asks
// iteratively: a root server says "I don't know this name, but ask this
// server" (a referral to the .edu TLD servers, with glue), the .edu server
// refers to umass.edu's, which refers to cs.umass.edu's, which answers with
// authority. Resolver.Trace prints each of those steps.
//
// Everything learnt goes into the Cache: the answer, and the TLD servers'
// NS and glue records, so the next name under .edu or .com goes straight to
// the TLD server and the root is rarely asked (Resolver.Queries counts the
// queries each server got). Entries stay until their TTL runs out, even when
// the zone has changed since: the slides' out-of-date entries.
//
// Against the redirect attacks of the slides (DNS poisoning), every upstream
// query leaves from a fresh socket (a random source port) with a random ID,
// and only a reply from the server asked, with that ID and that question
// (case included when CaseRandomization, "0x20", is on), is accepted.
// Records are cached only when they lie in the bailiwick of the server that
// sent them: a .edu server may say where umass.edu is, never where
// amazon.com is. Each resolution has a budget of upstream queries, of CNAME
// links and of nested resolutions of name server addresses, so a lying or
// broken hierarchy (referral loops, lame servers, CNAME loops) ends in
// SERVFAIL in bounded time.
//
// On top of that, every upstream query carries a DNS Cookie (RFC 7873,
// unless NoCookies): a client cookie made for that server from a secret of
// the resolver's, and the server cookie the server last gave. A reply
// whose cookie is not the one sent — or that has none when its server gave
// one before — is dropped as it arrives and counted (ForgedReplies), and
// the resolver waits on for the genuine reply: an off-path forger who
// guesses ID and port still cannot guess 64 random bits more. A server
// that requires cookies answers the first query BADCOOKIE; the resolver
// asks again with the cookie that reply brought, and over TCP if refused
// twice. Cookies are on by default because they cannot break resolution:
// a server that does not know the option ignores it (RFC 6891 §6.1.2),
// and one that answers FORMERR is asked again without it.
//
// Among a zone's servers the resolver asks the one with the lowest smoothed
// round-trip time first (a server never measured gets its turn first),
// counts a timeout against the server and falls back to the others. Stubs
// asking the same question at once share one resolution.
//
// # Client subnet: where is the client?
//
// A CDN's DNS server (KingCDN's) picks an edge near whoever asks it, and
// what asks it is the local DNS server, not Bob: Bob is placed wherever
// his resolver is, which for a large public resolver may be far from him.
// With EDNS Client Subnet (RFC 7871; Resolver.ClientSubnet, a
// SubnetPolicy) the resolver adds to its query the network Bob is in —
// his address cut to a /24 (or /56 for IPv6), or the subnet his own query
// named — so the CDN answers for Bob's network. The price is privacy: every
// server told learns roughly where each client is, so the option is off by
// default, never goes to the root's or the TLDs' servers nor to a server
// that showed it ignores it, never carries loopback or private networks
// unless the policy lists them, and a stub that sends a /0 reveals
// nothing. The CDN's reply says, as a scope, for how large a network its
// answer holds; the Cache keeps the answer for that network only, beside
// the answers for other networks (at most Cache.MaxNetworks per name), so
// the next client in the same network is answered from the cache and one
// elsewhere is not. A scope of 0 means the answer holds for everyone.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"appnet.dev/dns"
)

// A NameServer is a server of a zone: its host name and one address.
type NameServer struct {
	Host dns.Name
	Addr netip.Addr
}

func (ns NameServer) String() string {
	if ns.Host.IsRoot() {
		return ns.Addr.String()
	}
	return fmt.Sprintf("%s (%s)", strings.TrimSuffix(ns.Host.String(), "."), ns.Addr)
}

// ReadHints reads root hints in the named.root format (a master file with
// the root's NS records and their addresses) and returns the root servers.
func ReadHints(r io.Reader) ([]NameServer, error) {
	rrs, err := dns.ZoneFile{Name: "root hints"}.Parse(r)
	if err != nil {
		return nil, err
	}
	var out []NameServer
	for _, rr := range rrs {
		ns, ok := rr.Data.(*dns.NS)
		if !ok || !rr.Name.IsRoot() {
			continue
		}
		for _, a := range rrs {
			if !a.Name.Equal(ns.Host) {
				continue
			}
			switch d := a.Data.(type) {
			case *dns.A:
				out = append(out, NameServer{ns.Host, d.Addr})
			case *dns.AAAA:
				out = append(out, NameServer{ns.Host, d.Addr})
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("resolver: root hints: no root server with an address")
	}
	return out, nil
}

// ErrServFail is matched by the errors of resolutions that failed: no
// server answered, or the answers broke a limit. The recursive server
// answers SERVFAIL then.
var ErrServFail = errors.New("resolver: resolution failed")

// A Resolver resolves names iteratively from the root servers. Set Roots;
// the rest has defaults. It is safe for concurrent use, and it is a
// dns.Handler: a dns.Server with a Resolver as Handler is a recursive name
// server, the local DNS server of the slides.
type Resolver struct {
	// Roots are the root servers to start from (ReadHints).
	Roots []NameServer
	// Port is the port servers are asked on; 0 means 53.
	Port int
	// Dial opens the connection for each upstream query; nil means a
	// net.Dialer. Each UDP query gets a connection, and so a source port,
	// of its own.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Cache, if set, keeps answers and referrals; its clock is the
	// resolver's.
	Cache *Cache
	// Timeout is the wait for one upstream reply; 0 means 800ms.
	Timeout time.Duration
	// MaxQueries bounds the upstream queries of one resolution, MaxCNAMEs
	// the aliases it follows, MaxDepth the nesting of resolutions of name
	// servers' addresses (missing glue); 0 means 40, 8 and 4.
	MaxQueries, MaxCNAMEs, MaxDepth int
	// CaseRandomization sends each query name in a random mix of upper
	// and lower case and accepts only replies that echo it ("0x20").
	CaseRandomization bool
	// ClientSubnet, if set, turns on EDNS Client Subnet (RFC 7871): the
	// recursive server tells authoritative servers its clients' subnets,
	// as the policy allows, and caches their answers by client network.
	// Nil, the default, reveals nothing.
	ClientSubnet *SubnetPolicy
	// NoCookies turns DNS Cookies (RFC 7873) off. By default every
	// upstream query carries a client cookie made for its server and
	// the server cookie that server last gave, and a reply with another
	// client cookie is dropped as forged (ForgedReplies). Servers that do
	// not know the option ignore it (RFC 6891 §6.1.2); one that answers
	// FORMERR is asked again without it.
	NoCookies bool
	// Name is what the trace calls this resolver ("dns.nyu.edu").
	Name string
	// Trace, if set, prints every step of every resolution.
	Trace io.Writer

	mu      sync.Mutex
	rtt     map[netip.Addr]time.Duration // smoothed round-trip times
	queries map[netip.Addr]int
	ignores map[netip.Addr]time.Time // servers that answered ECS without it, and when

	cookieSecret  [16]byte // makes the client cookies; drawn at first use
	cookieReady   bool
	serverCookies map[netip.Addr][]byte // the last server cookie of each server
	forged        atomic.Int64          // replies dropped for their cookie

	fmu     sync.Mutex
	flights map[flightKey]*flight
	joined  func() // for tests: called when a caller joins a flight
}

// Queries returns how many queries each server (by address) was sent.
func (r *Resolver) Queries() map[netip.Addr]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[netip.Addr]int, len(r.queries))
	for a, n := range r.queries {
		out[a] = n
	}
	return out
}

// RTT returns the smoothed round-trip time measured to addr, 0 if none.
func (r *Resolver) RTT(addr netip.Addr) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rtt[addr]
}

func (r *Resolver) tracef(format string, args ...any) {
	if r.Trace == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.Trace, format+"\n", args...)
}

func (r *Resolver) self() string {
	if r.Name == "" {
		return "resolver"
	}
	return r.Name
}

// state is one resolution's budget.
type state struct {
	left int // upstream queries still allowed
}

// A flight is one resolution under way, which callers asking the same
// question at the same time wait for instead of asking again.
type flight struct {
	done      chan struct{}
	msg       *dns.Message
	err       error
	abandoned bool // failed because the leader's context ended
}

type flightKey struct {
	name   dns.Name // canonical
	t      dns.Type
	subnet netip.Prefix
}

// Resolve finds the records of type t at name and returns them as a reply
// would carry them: the answer section (CNAMEs first, then the records),
// or NXDOMAIN or NODATA with the zone's SOA in the authority section.
// A failed resolution returns a SERVFAIL reply and an error matching
// ErrServFail. Callers asking the same question at once share one
// resolution: a thousand stubs asking for a new name cost the hierarchy
// the queries of one.
//
// The shared resolution runs under the context of the caller that started
// it. If that caller gives up (its context ends) before the resolution is
// over, the callers who joined it and still have time start again, one of
// them leading, rather than inherit a SERVFAIL that is not theirs.
func (r *Resolver) Resolve(ctx context.Context, name dns.Name, t dns.Type) (*dns.Message, error) {
	return r.ResolveSubnet(ctx, name, t, netip.Prefix{})
}

// ResolveSubnet is Resolve for a client in subnet, which it sends as EDNS
// Client Subnet to the servers that may use it (RFC 7871): not the root's
// or a top-level domain's, nor a server that answered ECS without it in
// the last SubnetPolicy.Recheck (a day). Answers come from the cache when
// one was cached for a network that holds subnet. When subnet is valid and
// not a /0, the reply carries an ECS option (in EDNS) whose Scope says for
// how large a network around subnet the answer holds; an invalid subnet
// (or a /0) sends none, like Resolve.
func (r *Resolver) ResolveSubnet(ctx context.Context, name dns.Name, t dns.Type, subnet netip.Prefix) (*dns.Message, error) {
	subnet = unmapPrefix(subnet)
	if subnet.Bits() <= 0 {
		subnet = netip.Prefix{}
	}
	key := flightKey{name.Canonical(), t, subnet}
	for {
		m, retry, err := r.resolveShared(ctx, key, name, t)
		if !retry || ctx.Err() != nil {
			return m, err
		}
	}
}

// resolveShared leads the resolution of key or joins the one under way. It
// reports retry when it joined a flight whose leader's context ended.
func (r *Resolver) resolveShared(ctx context.Context, key flightKey, name dns.Name, t dns.Type) (*dns.Message, bool, error) {
	r.fmu.Lock()
	if f := r.flights[key]; f != nil {
		r.fmu.Unlock()
		if r.joined != nil {
			r.joined()
		}
		select {
		case <-f.done:
			if f.abandoned {
				return nil, true, nil
			}
			m := *f.msg
			m.Questions = []dns.Question{{Name: name, Type: t, Class: dns.ClassINET}}
			m.Answers = slices.Clone(m.Answers)
			m.Authorities = slices.Clone(m.Authorities)
			return &m, false, f.err
		case <-ctx.Done():
			m := &dns.Message{
				Header:    dns.Header{Response: true, RecursionDesired: true, RecursionAvailable: true, RCode: dns.RCodeServerFailure},
				Questions: []dns.Question{{Name: name, Type: t, Class: dns.ClassINET}},
			}
			return m, false, fmt.Errorf("%w: %v", ErrServFail, ctx.Err())
		}
	}
	if r.flights == nil {
		r.flights = map[flightKey]*flight{}
	}
	f := &flight{done: make(chan struct{})}
	r.flights[key] = f
	r.fmu.Unlock()
	f.msg, f.err = r.resolveNow(ctx, name, t, key.subnet)
	// A failure because the leader's own context ended says nothing of
	// the name: those who joined try again under theirs.
	f.abandoned = f.err != nil && ctx.Err() != nil
	r.fmu.Lock()
	delete(r.flights, key)
	r.fmu.Unlock()
	close(f.done)
	return f.msg, false, f.err
}

func (r *Resolver) resolveNow(ctx context.Context, name dns.Name, t dns.Type, sub netip.Prefix) (*dns.Message, error) {
	out := &dns.Message{
		Header:    dns.Header{Response: true, RecursionDesired: true, RecursionAvailable: true},
		Questions: []dns.Question{{Name: name, Type: t, Class: dns.ClassINET}},
	}
	st := &state{left: dflt(r.MaxQueries, 40)}
	scope, err := r.resolve(ctx, st, name, t, 0, out, sub)
	if sub.IsValid() {
		out.EDNS = &dns.EDNS{Options: []dns.Option{dns.ClientSubnet{Source: sub, Scope: scope}.Option()}}
	}
	if err != nil {
		out.RCode = dns.RCodeServerFailure
		out.Answers, out.Authorities = nil, nil
		r.tracef("%s: SERVFAIL for %s %s: %v", r.self(), name, t, err)
		return out, err
	}
	return out, nil
}

func dflt[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// resolve appends the answer for (qname, qtype) to out, following CNAMEs,
// for a client whose subnet is sub (invalid when none is sent). It returns
// the longest scope of the answers it gave (RFC 7871 §7.2.1): the answer
// as a whole holds for that network.
func (r *Resolver) resolve(ctx context.Context, st *state, qname dns.Name, qtype dns.Type, depth int, out *dns.Message, sub netip.Prefix) (int, error) {
	seen := map[dns.Name]bool{}
	scope := 0
	for hops := 0; ; hops++ {
		if hops > dflt(r.MaxCNAMEs, 8) || seen[qname.Canonical()] {
			return scope, fmt.Errorf("%w: CNAME chain too long or looping at %s", ErrServFail, qname)
		}
		seen[qname.Canonical()] = true
		if r.Cache != nil {
			if rrs, neg, rcode, sc := r.Cache.lookupFor(qname, qtype, sub); rrs != nil {
				if neg {
					out.RCode = rcode
					out.Authorities = append(out.Authorities, rrs...)
				} else {
					out.Answers = append(out.Answers, rrs...)
				}
				r.tracef("%s: %s %s from the cache%s", r.self(), qname, qtype, forSubnet(sub))
				return max(scope, sc), nil
			}
			if qtype != dns.TypeCNAME {
				if rrs, neg, _, sc := r.Cache.lookupFor(qname, dns.TypeCNAME, sub); rrs != nil && !neg {
					out.Answers = append(out.Answers, rrs...)
					qname = rrs[0].Data.(*dns.CNAME).Target
					scope = max(scope, sc)
					continue
				}
			}
		}
		res, err := r.iterate(ctx, st, qname, qtype, depth, sub)
		if err != nil {
			return scope, err
		}
		scope = max(scope, res.scope)
		out.Answers = append(out.Answers, res.answers...)
		if res.next != nil {
			qname = *res.next
			continue
		}
		out.RCode = res.rcode
		out.Authorities = append(out.Authorities, res.soa...)
		return scope, nil
	}
}

// unmapPrefix turns a prefix of IPv4-mapped IPv6 addresses into the IPv4
// prefix it stands for, and masks it.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		p = netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0))
	}
	return p.Masked()
}

// forSubnet is what the trace adds for a client subnet.
func forSubnet(sub netip.Prefix) string {
	if !sub.IsValid() {
		return ""
	}
	return " for client subnet " + sub.String()
}

// result is what one walk down the hierarchy found.
type result struct {
	answers []dns.RR
	next    *dns.Name // a CNAME target left to resolve
	rcode   dns.RCode
	soa     []dns.RR
	scope   int // the scope prefix length of the answers (RFC 7871)
}

// closest returns the deepest zone above qname whose servers the cache
// knows, or the root and its hints.
func (r *Resolver) closest(qname dns.Name) (dns.Name, []NameServer) {
	if r.Cache != nil {
		for z := qname; ; z = z.Parent() {
			if nsset, ok := r.Cache.Get(z, dns.TypeNS); ok {
				if z.IsRoot() {
					break
				}
				var servers []NameServer
				for _, rr := range nsset {
					host := rr.Data.(*dns.NS).Host
					if addrs := r.cachedAddrs(host); len(addrs) > 0 {
						servers = append(servers, addrs...)
					} else {
						servers = append(servers, NameServer{Host: host})
					}
				}
				return z, servers
			}
			if z.IsRoot() {
				break
			}
		}
	}
	return dns.Name{}, r.Roots
}

func (r *Resolver) cachedAddrs(host dns.Name) []NameServer {
	var out []NameServer
	rrs, _ := r.Cache.Get(host, dns.TypeA)
	for _, rr := range rrs {
		out = append(out, NameServer{host, rr.Data.(*dns.A).Addr})
	}
	return out
}

// iterate walks from the closest known zone down to the one that answers.
func (r *Resolver) iterate(ctx context.Context, st *state, qname dns.Name, qtype dns.Type, depth int, sub netip.Prefix) (result, error) {
	zone, servers := r.closest(qname)
	for {
		reply, from, to, err := r.ask(ctx, st, zone, servers, qname, qtype, depth, sub)
		if err != nil {
			return result{}, err
		}
		res, child, next, err := r.step(reply, from, to, zone, qname, qtype)
		if err != nil || next == nil {
			return res, err
		}
		zone, servers = child, next
	}
}

// step takes in one upstream reply from a server of zone: an answer, a
// negative answer, or a referral to the servers of a zone closer to qname
// (child, next). What it caches lies within zone; answers are cached for
// the clients in to, the rest for everyone (RFC 7871 §7.3.1, §7.4).
func (r *Resolver) step(reply *dns.Message, from NameServer, to reach, zone, qname dns.Name, qtype dns.Type) (res result, child dns.Name, next []NameServer, err error) {
	var soa []dns.RR
	for _, rr := range reply.Authorities {
		if rr.Type() == dns.TypeSOA && rr.Name.IsSubdomainOf(zone) && qname.IsSubdomainOf(rr.Name) {
			soa = append(soa, rr)
		}
	}
	if reply.RCode == dns.RCodeNameError {
		if r.Cache != nil && len(soa) > 0 {
			r.Cache.AddNegative(qname, qtype, dns.RCodeNameError, soa[0])
		}
		r.tracef("%s: %s does not exist (NXDOMAIN)", hostOf(from), qname)
		return result{rcode: dns.RCodeNameError, soa: soa}, child, nil, nil
	}
	if res, ok := r.takeAnswer(reply, zone, qname, qtype, from, to); ok {
		return res, child, nil, nil
	}
	// A referral: NS records for a zone between the one asked and the name.
	child, nsset := referral(reply, zone, qname)
	if nsset == nil {
		if len(soa) > 0 || reply.Authoritative {
			if r.Cache != nil && len(soa) > 0 {
				r.Cache.AddNegative(qname, qtype, dns.RCodeSuccess, soa[0])
			}
			r.tracef("%s: %s has no %s records (NODATA)", hostOf(from), qname, qtype)
			return result{soa: soa}, child, nil, nil
		}
		return result{}, child, nil, fmt.Errorf("%w: %s gave neither answer nor referral for %s (lame)", ErrServFail, from, qname)
	}
	next = r.glue(reply, zone, nsset)
	if r.Cache != nil {
		r.Cache.Add(nsset)
	}
	var names []string
	for _, ns := range next {
		names = append(names, ns.String())
	}
	r.tracef("%s: I don't know %s, but ask this server: %s (for %s)", hostOf(from), qname, strings.Join(names, ", "), child)
	return result{}, child, next, nil
}

func hostOf(ns NameServer) string {
	if ns.Host.IsRoot() {
		return ns.Addr.String()
	}
	return strings.TrimSuffix(ns.Host.String(), ".")
}

// takeAnswer collects the records answering qname, following CNAMEs within
// the zone asked; it caches only records in the zone's bailiwick, for the
// clients in to.
func (r *Resolver) takeAnswer(reply *dns.Message, zone, qname dns.Name, qtype dns.Type, from NameServer, to reach) (result, bool) {
	res := result{scope: to.scope}
	name := qname
	found := false
	for range 10 {
		var rrs []dns.RR
		var cname *dns.RR
		for _, rr := range reply.Answers {
			if !rr.Name.Equal(name) || !rr.Name.IsSubdomainOf(zone) || rr.Class != dns.ClassINET {
				continue
			}
			switch {
			case rr.Type() == qtype || qtype == dns.TypeANY:
				rrs = append(rrs, rr)
			case rr.Type() == dns.TypeCNAME && cname == nil:
				cname = &rr
			}
		}
		if len(rrs) > 0 {
			found = true
			res.answers = append(res.answers, rrs...)
			if r.Cache != nil {
				r.Cache.add(rrs, to)
			}
			r.tracef("%s: %s", hostOf(from), describe(rrs))
			return res, true
		}
		if cname == nil {
			break
		}
		found = true
		res.answers = append(res.answers, *cname)
		if r.Cache != nil {
			r.Cache.add([]dns.RR{*cname}, to)
		}
		r.tracef("%s: %s", hostOf(from), cname)
		target := cname.Data.(*dns.CNAME).Target
		name = target
		if !target.IsSubdomainOf(zone) {
			break
		}
	}
	if !found {
		return res, false
	}
	res.next = &name
	return res, true
}

func describe(rrs []dns.RR) string {
	var parts []string
	for _, rr := range rrs {
		parts = append(parts, rr.String())
	}
	return strings.Join(parts, "; ")
}

// referral finds, in reply's authority section, the NS records of a zone
// strictly below zone and at or above qname: anything else (a referral
// upward or sideways) is a lame or lying server.
func referral(reply *dns.Message, zone, qname dns.Name) (dns.Name, []dns.RR) {
	var child dns.Name
	var set []dns.RR
	for _, rr := range reply.Authorities {
		if rr.Type() != dns.TypeNS || rr.Name.Equal(zone) || !rr.Name.IsSubdomainOf(zone) || !qname.IsSubdomainOf(rr.Name) {
			continue
		}
		if set != nil && !rr.Name.Equal(child) {
			continue
		}
		child = rr.Name
		set = append(set, rr)
	}
	return child, set
}

// glue returns the servers of a referral with the addresses the reply
// carried for them, taking only glue within the referring zone's
// bailiwick; servers without an address are returned with none.
func (r *Resolver) glue(reply *dns.Message, zone dns.Name, nsset []dns.RR) []NameServer {
	var out []NameServer
	var cache []dns.RR
	for _, ns := range nsset {
		host := ns.Data.(*dns.NS).Host
		n := len(out)
		for _, rr := range reply.Additionals {
			a, ok := rr.Data.(*dns.A)
			if !ok || !rr.Name.Equal(host) || !rr.Name.IsSubdomainOf(zone) {
				continue
			}
			out = append(out, NameServer{host, a.Addr})
			cache = append(cache, rr)
		}
		if len(out) == n {
			if r.Cache != nil {
				out = append(out, r.cachedAddrs(host)...)
			}
			if len(out) == n {
				out = append(out, NameServer{Host: host})
			}
		}
	}
	if r.Cache != nil {
		r.Cache.Add(cache)
	}
	return out
}

// ask sends the question to the zone's servers, fastest first, until one
// answers usefully; servers without addresses are resolved first (missing
// glue). It says which clients the reply's answer holds for: sub goes to
// the servers that may use it (sendsSubnet).
func (r *Resolver) ask(ctx context.Context, st *state, zone dns.Name, servers []NameServer, qname dns.Name, qtype dns.Type, depth int, sub netip.Prefix) (*dns.Message, NameServer, reach, error) {
	var addrs []NameServer
	var missing []dns.Name
	for _, s := range servers {
		if s.Addr.IsValid() {
			addrs = append(addrs, s)
		} else {
			missing = append(missing, s.Host)
		}
	}
	if len(addrs) == 0 {
		for _, host := range missing {
			if depth+1 > dflt(r.MaxDepth, 4) {
				return nil, NameServer{}, reach{}, fmt.Errorf("%w: resolving name servers nested too deep at %s", ErrServFail, host)
			}
			if host.IsSubdomainOf(zone) {
				continue // glue that should have come and did not
			}
			r.tracef("%s: no address for %s given: resolving it first", r.self(), host)
			// A name server's address is the resolver's business, not
			// the client's: no subnet goes with it.
			var m dns.Message
			if _, err := r.resolve(ctx, st, host, dns.TypeA, depth+1, &m, netip.Prefix{}); err != nil {
				continue
			}
			for _, rr := range m.Answers {
				if a, ok := rr.Data.(*dns.A); ok && rr.Name.Equal(host) {
					addrs = append(addrs, NameServer{host, a.Addr})
				}
			}
			if len(addrs) > 0 {
				break
			}
		}
		if len(addrs) == 0 {
			return nil, NameServer{}, reach{}, fmt.Errorf("%w: no address for any server of %s", ErrServFail, zone)
		}
	}
	r.order(addrs)
	var lastErr error
	for round := 0; round < 2; round++ {
		for _, s := range addrs {
			if st.left <= 0 {
				return nil, NameServer{}, reach{}, fmt.Errorf("%w: too many queries for %s", ErrServFail, qname)
			}
			if err := ctx.Err(); err != nil {
				return nil, NameServer{}, reach{}, fmt.Errorf("%w: %v", ErrServFail, err)
			}
			st.left--
			tailors := r.sendsSubnet(zone, s.Addr)
			send := sub
			if !tailors {
				send = netip.Prefix{}
			}
			reply, to, err := r.exchange(ctx, s, qname, qtype, send, tailors, withCookie)
			if err == nil && send.IsValid() && (reply.RCode == dns.RCodeRefused || reply.RCode == dns.RCodeFormatError) {
				// Perhaps it is the option the server refuses: ask
				// again without it (RFC 7871 §7.3), and leave it out
				// from now on.
				r.ignoreSubnet(s.Addr)
				st.left--
				send, tailors = netip.Prefix{}, false
				reply, to, err = r.exchange(ctx, s, qname, qtype, send, tailors, withCookie)
			}
			if err == nil && reply.RCode == dns.RCodeBadCookie && !r.NoCookies {
				// The server answers only a client that shows its
				// cookie, which this reply brought: ask again with it,
				// and over TCP if it still refuses (RFC 7873 §5.3).
				r.tracef("%s: BADCOOKIE: asking again with its server cookie", hostOf(s))
				st.left--
				reply, to, err = r.exchange(ctx, s, qname, qtype, send, tailors, withCookie)
				if err == nil && reply.RCode == dns.RCodeBadCookie {
					st.left--
					reply, to, err = r.exchange(ctx, s, qname, qtype, send, tailors, overTCP)
				}
			}
			if err == nil && reply.RCode == dns.RCodeFormatError {
				// Perhaps the COOKIE option, or EDNS itself, is what
				// the server cannot read: ask again without (RFC 6891
				// §7).
				how := withoutCookie
				if reply.EDNS == nil || r.NoCookies {
					how = withoutEDNS
				}
				st.left--
				reply, to, err = r.exchange(ctx, s, qname, qtype, send, tailors, how)
			}
			if err != nil {
				lastErr = err
				continue
			}
			switch reply.RCode {
			case dns.RCodeSuccess, dns.RCodeNameError:
				return reply, s, to, nil
			}
			lastErr = fmt.Errorf("%s answered %v", s, reply.RCode)
		}
	}
	return nil, NameServer{}, reach{}, fmt.Errorf("%w: no server of %s answered: %v", ErrServFail, zone, lastErr)
}

// sendsSubnet reports whether a server at addr, of zone, is sent its
// clients' subnets: never the servers of the root and the top-level
// domains (RFC 7871 §12.1), who do not tailor answers and should not
// learn where clients are, nor a server that lately answered ECS without
// it (it does not use ECS; RFC 7871 §12.1 asks to remember them), until
// SubnetPolicy.Recheck has passed.
func (r *Resolver) sendsSubnet(zone dns.Name, addr netip.Addr) bool {
	if zone.Labels() < 2 {
		return false
	}
	r.mu.Lock()
	since, ok := r.ignores[addr]
	r.mu.Unlock()
	if !ok {
		return true
	}
	var recheck time.Duration
	if r.ClientSubnet != nil {
		recheck = r.ClientSubnet.Recheck
	}
	return r.now().Sub(since) >= dflt(recheck, 24*time.Hour)
}

// ignoreSubnet remembers that the server at addr does not use ECS, and
// forgets the servers whose time to be probed again has come.
func (r *Resolver) ignoreSubnet(addr netip.Addr) {
	now := r.now()
	var recheck time.Duration
	if r.ClientSubnet != nil {
		recheck = r.ClientSubnet.Recheck
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ignores == nil {
		r.ignores = map[netip.Addr]time.Time{}
	}
	for a, since := range r.ignores {
		if now.Sub(since) >= dflt(recheck, 24*time.Hour) {
			delete(r.ignores, a)
		}
	}
	r.ignores[addr] = now
}

// now is the resolver's clock: its cache's.
func (r *Resolver) now() time.Time {
	if r.Cache != nil {
		return r.Cache.now()
	}
	return time.Now()
}

// order sorts servers by smoothed RTT; servers never measured come first
// in random order, so each gets measured.
func (r *Resolver) order(s []NameServer) {
	r.mu.Lock()
	key := make(map[netip.Addr]time.Duration, len(s))
	for _, ns := range s {
		key[ns.Addr] = r.rtt[ns.Addr]
	}
	r.mu.Unlock()
	rand.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	slices.SortStableFunc(s, func(a, b NameServer) int { return int(key[a.Addr] - key[b.Addr]) })
}

// exchange sends one query to one server, from a fresh socket with a
// random ID (dns.Client), with the client subnet sub as ECS if valid and a
// DNS Cookie as how says, and checks the reply answers it. It says whom
// the reply's answer holds for; tailors says the server may tailor
// answers to clients (it would be sent a subnet).
func (r *Resolver) exchange(ctx context.Context, s NameServer, qname dns.Name, qtype dns.Type, sub netip.Prefix, tailors bool, how attempt) (*dns.Message, reach, error) {
	sent := qname
	if r.CaseRandomization {
		sent = randomCase(qname)
	}
	q := dns.NewQuery(sent, qtype)
	var opts []dns.Option
	if sub.IsValid() {
		opts = append(opts, dns.ClientSubnet{Source: sub}.Option())
	}
	cookies := !r.NoCookies && (how == withCookie || how == overTCP)
	var cookie dns.Cookie
	if cookies {
		cookie = r.cookieFor(s.Addr)
		opts = append(opts, cookie.Option())
	}
	if how != withoutEDNS {
		// Set here, not left to dns.Client: a FORMERR to it comes back
		// as a reply, and ask decides what to try next.
		q.EDNS = &dns.EDNS{UDPSize: 1232, Options: opts}
	}
	r.mu.Lock()
	if r.queries == nil {
		r.queries = map[netip.Addr]int{}
		r.rtt = map[netip.Addr]time.Duration{}
	}
	r.queries[s.Addr]++
	r.mu.Unlock()
	r.tracef("%s → %s: %s %s?%s", r.self(), s, qname, qtype, forSubnet(sub))
	timeout := dflt(r.Timeout, 800*time.Millisecond)
	cl := dns.Client{Dial: r.Dial, Attempts: 1, Timeout: timeout}
	if cookies {
		cl.Dial = r.cookieDial(cookie.Client, len(cookie.Server) > 0)
	}
	if how == withoutEDNS {
		cl.UDPSize = -1
	}
	start := time.Now()
	server := netip.AddrPortFrom(s.Addr, uint16(dflt(r.Port, 53))).String()
	var reply *dns.Message
	var err error
	if how == overTCP {
		reply, err = cl.ExchangeTCP(ctx, server, q)
	} else {
		reply, err = cl.Exchange(ctx, server, q)
	}
	elapsed := time.Since(start)
	r.mu.Lock()
	old := r.rtt[s.Addr]
	if err != nil {
		elapsed = max(2*old, timeout) // a timeout counts against the server
	}
	if old == 0 {
		r.rtt[s.Addr] = elapsed
	} else {
		r.rtt[s.Addr] = (7*old + 3*elapsed) / 10
	}
	r.mu.Unlock()
	if err != nil {
		if len(cookie.Server) > 0 {
			// Perhaps the server no longer sends cookies and its
			// replies were dropped for that: expect none next time.
			r.learnCookie(s.Addr, nil)
		}
		r.tracef("%s: no answer (%v)", s, err)
		return nil, reach{}, err
	}
	if err := checkReply(reply, sent, qtype); err != nil {
		r.tracef("%s: reply rejected (%v)", s, err)
		return nil, reach{}, err
	}
	if cookies {
		sc, err := replyCookie(reply, cookie.Client)
		if err != nil {
			r.forged.Add(1)
			r.tracef("%s: reply rejected (%v)", s, err)
			return nil, reach{}, err
		}
		r.learnCookie(s.Addr, sc)
	}
	if !sub.IsValid() {
		return reply, reachOf(sub, dns.ClientSubnet{}, false, tailors), nil
	}
	cs, echoed, err := reply.EDNS.ClientSubnet()
	if err == nil && echoed && !echoMatches(sub, cs) {
		err = fmt.Errorf("%w: client subnet %s echoed as %s", dns.ErrMismatch, sub, cs.Source)
	}
	if err != nil {
		r.tracef("%s: reply rejected (%v)", s, err)
		return nil, reach{}, err
	}
	to := reachOf(sub, cs, echoed, tailors)
	switch {
	case reply.RCode == dns.RCodeRefused || reply.RCode == dns.RCodeFormatError:
		// ask tries again without the subnet
	case !echoed:
		r.ignoreSubnet(s.Addr) // it does not use ECS: keep the subnet from it
		r.tracef("%s: no client subnet in the reply (no ECS there): the answer holds for every client", hostOf(s))
	case to.net.IsValid():
		r.tracef("%s: scope /%d: the answer holds for %s", hostOf(s), cs.Scope, to.net)
	default:
		r.tracef("%s: scope /0: the answer holds for every client", hostOf(s))
	}
	return reply, to, nil
}

// checkReply rejects a reply whose question is not exactly the one sent
// (the letters' case included, for 0x20) or that is not a reply to a
// standard query.
func checkReply(reply *dns.Message, sent dns.Name, qtype dns.Type) error {
	if len(reply.Questions) != 1 || reply.Opcode != dns.OpcodeQuery {
		return fmt.Errorf("%w: no question", dns.ErrMismatch)
	}
	q := reply.Questions[0]
	if q.Name != sent || q.Type != qtype || q.Class != dns.ClassINET {
		return fmt.Errorf("%w: question %s", dns.ErrMismatch, q)
	}
	return nil
}

func randomCase(n dns.Name) dns.Name {
	b := []byte(n.String())
	for i, c := range b {
		if ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') && rand.IntN(2) == 0 {
			b[i] = c ^ 0x20
		}
	}
	m, err := dns.ParseName(string(b))
	if err != nil {
		return n
	}
	return m
}

// ServeDNS answers a stub's recursive query: from the cache when it can,
// else by resolving the question (which holds the server's worker until
// done: give the dns.Server enough Workers), and answers with RA set.
// Opcodes other than QUERY get NOTIMP, classes other than IN REFUSED.
//
// With a ClientSubnet policy, the subnet the policy picks for the client
// (SubnetPolicy.Source) goes upstream as ECS; a malformed ECS option gets
// FORMERR, one naming a network the policy does not allow REFUSED. A
// client that sent ECS gets it back with the scope of the answer (RFC
// 7871 §7.2.2); one that did not gets none.
func (r *Resolver) ServeDNS(ctx context.Context, reply *dns.Message, req *dns.Request) {
	reply.RecursionAvailable = true
	if req.Opcode != dns.OpcodeQuery {
		reply.RCode = dns.RCodeNotImplemented
		return
	}
	q := req.Questions[0]
	if q.Class != dns.ClassINET {
		reply.RCode = dns.RCodeRefused
		return
	}
	var sub netip.Prefix
	var asked dns.ClientSubnet
	var echo bool
	if r.ClientSubnet != nil {
		var err error
		asked, echo, err = req.EDNS.ClientSubnet()
		if err != nil {
			reply.RCode = dns.RCodeFormatError // RFC 7871 §6
			return
		}
		var refuse bool
		sub, refuse = r.ClientSubnet.Source(req.Remote.Addr(), asked, echo)
		if refuse {
			reply.RCode = dns.RCodeRefused // RFC 7871 §7.5
			return
		}
		echo = echo && reply.EDNS != nil
	}
	scope, ok := r.answerFromCache(reply, q, sub)
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		defer cancel()
		m, _ := r.ResolveSubnet(ctx, q.Name, q.Type, sub)
		reply.RCode = m.RCode
		reply.Answers = append(reply.Answers, m.Answers...)
		reply.Authorities = append(reply.Authorities, m.Authorities...)
		if cs, ok, _ := m.EDNS.ClientSubnet(); ok {
			scope = cs.Scope
		}
	}
	if echo {
		reply.EDNS.Options = append(reply.EDNS.Options, dns.ClientSubnet{Source: asked.Source, Scope: scope}.Option())
	}
}

// answerFromCache answers q from the cache alone, following cached CNAMEs,
// for a client whose subnet is sub (invalid when none is sent), without
// allocating when the reply's slices have room: the path most queries of a
// busy local DNS server take. It returns the longest scope of the answers
// it gave, or false, leaving reply unchanged, when the cache cannot answer
// all of it.
func (r *Resolver) answerFromCache(reply *dns.Message, q dns.Question, sub netip.Prefix) (int, bool) {
	if r.Cache == nil {
		return 0, false
	}
	answers, n := reply.Answers, len(reply.Answers)
	name := q.Name
	scope := 0
	for range dflt(r.MaxCNAMEs, 8) {
		out, neg, rcode, sc, ok := r.Cache.appendLookup(answers, name, q.Type, sub)
		scope = max(scope, sc)
		if ok {
			if neg {
				reply.RCode = rcode
				reply.Authorities = append(reply.Authorities, out[len(answers):]...)
				reply.Answers = answers
			} else {
				reply.Answers = out
			}
			if r.Trace != nil {
				r.tracef("%s: %s %s from the cache%s", r.self(), q.Name, q.Type, forSubnet(sub))
			}
			return scope, true
		}
		if q.Type == dns.TypeCNAME {
			break
		}
		out, neg, _, sc, ok = r.Cache.appendLookup(answers, name, dns.TypeCNAME, sub)
		if !ok || neg || len(out) == len(answers) {
			break
		}
		scope = max(scope, sc)
		answers = out
		name = out[len(out)-1].Data.(*dns.CNAME).Target
	}
	reply.Answers = reply.Answers[:n]
	return 0, false
}
