package resolver

import (
	"net/netip"
	"sync"
	"time"

	"appnet.dev/dns"
)

// A Cache keeps what the resolver learnt — answers, referrals and glue
// for their TTL, and negative answers for the SOA's negative TTL (RFC 2308
// §5) — so the next client asking is answered without a query and the TLD
// servers' NS records spare the root. Time comes from Now, so tests run in
// virtual time. A Cache is safe for concurrent use.
type Cache struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxEntries bounds the RRsets kept; 0 means 100,000. When full,
	// expired entries go first, then arbitrary ones.
	MaxEntries int
	// MaxTTL caps how long anything is kept, whatever TTL its server
	// gave; 0 means a day. Negative answers are kept at most 3 hours
	// (RFC 2308 §5).
	MaxTTL time.Duration
	// MaxNetworks bounds the answers kept for one name and type, one per
	// client network, when servers tailor them by EDNS Client Subnet (RFC
	// 7871 §11.3); 0 means 64. When full, expired answers go first, then
	// the one nearest its expiry.
	MaxNetworks int

	mu sync.RWMutex
	m  map[dns.Name][]*entry // by canonical name: one hash per lookup
	n  int                   // entries in m
}

type cacheKey struct {
	name dns.Name // canonical
	t    dns.Type // 0 for a name that does not exist (NXDOMAIN)
}

type entry struct {
	t       dns.Type  // 0 for NXDOMAIN
	rrs     []dns.RR  // the RRset, or the SOA of a negative answer
	stored  time.Time // TTLs count down from here
	expires time.Time
	rcode   dns.RCode // NXDOMAIN, or success with no rrs for NODATA
	neg     bool
	reach   reach // the clients it may be given to; negative answers reach everyone
}

func (c *Cache) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Add caches rrs, grouped into RRsets by name and type; a set lives as long
// as its shortest TTL.
func (c *Cache) Add(rrs []dns.RR) { c.add(rrs, reach{}) }

// add caches rrs for the clients in reach.
func (c *Cache) add(rrs []dns.RR, to reach) {
	if len(rrs) == 0 {
		return
	}
	sets := map[cacheKey][]dns.RR{}
	var order []cacheKey
	for _, rr := range rrs {
		k := cacheKey{rr.Name.Canonical(), rr.Type()}
		if _, ok := sets[k]; !ok {
			order = append(order, k)
		}
		sets[k] = append(sets[k], rr)
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range order {
		set := sets[k]
		ttl := set[0].TTL
		for _, rr := range set {
			ttl = min(ttl, rr.TTL)
		}
		ttl = min(ttl, c.maxTTL(24*time.Hour))
		if ttl == 0 {
			continue
		}
		for i := range set {
			set[i].TTL = ttl
		}
		c.put(k, &entry{rrs: set, stored: now, expires: now.Add(time.Duration(ttl) * time.Second), reach: to})
	}
}

// AddNegative caches that name does not exist (rcode NXDOMAIN, for every
// type) or has no records of type t (NODATA), for the negative TTL of soa:
// the smaller of its TTL and its Minimum field (RFC 2308 §5).
func (c *Cache) AddNegative(name dns.Name, t dns.Type, rcode dns.RCode, soa dns.RR) {
	s, ok := soa.Data.(*dns.SOA)
	if !ok {
		return
	}
	ttl := min(soa.TTL, s.Minimum, c.maxTTL(3*time.Hour))
	if ttl == 0 {
		return
	}
	k := cacheKey{name.Canonical(), t}
	if rcode == dns.RCodeNameError {
		k.t = 0
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	soa.TTL = ttl
	c.put(k, &entry{rrs: []dns.RR{soa}, stored: now, expires: now.Add(time.Duration(ttl) * time.Second), rcode: rcode, neg: true})
}

func (c *Cache) put(k cacheKey, e *entry) {
	if c.m == nil {
		c.m = map[dns.Name][]*entry{}
	}
	limit := c.MaxEntries
	if limit <= 0 {
		limit = 100000
	}
	e.t = k.t
	set := c.m[k.name]
	networks := 0
	for i, old := range set {
		if old.t != k.t {
			continue
		}
		if old.reach.same(e.reach) {
			set[i] = e
			return
		}
		if old.reach.net.IsValid() {
			networks++
		}
	}
	if e.reach.net.IsValid() && networks >= dflt(c.MaxNetworks, 64) {
		set = c.dropNetwork(k, set, e.stored)
	}
	if c.n >= limit {
		for name, es := range c.m { // expired entries first, then any
			kept := es[:0]
			for _, x := range es {
				if x.expires.After(e.stored) {
					kept = append(kept, x)
				}
			}
			c.n -= len(es) - len(kept)
			if len(kept) == 0 || c.n >= limit {
				c.n -= len(kept)
				delete(c.m, name)
			} else {
				c.m[name] = kept
			}
		}
		set = c.m[k.name]
	}
	c.m[k.name] = append(set, e)
	c.n++
}

// dropNetwork makes room for one more tailored answer of k's type: it
// removes from set, the entries at k's name, the expired tailored answers
// of that type, or if none, the one nearest its expiry.
func (c *Cache) dropNetwork(k cacheKey, set []*entry, now time.Time) []*entry {
	victim := -1
	kept := set[:0]
	for _, x := range set {
		if x.t == k.t && x.reach.net.IsValid() && !x.expires.After(now) {
			c.n--
			continue
		}
		kept = append(kept, x)
	}
	if len(kept) == len(set) {
		for i, x := range kept {
			if x.t == k.t && x.reach.net.IsValid() && (victim < 0 || x.expires.Before(kept[victim].expires)) {
				victim = i
			}
		}
		kept = append(kept[:victim], kept[victim+1:]...)
		c.n--
	}
	clear(set[len(kept):])
	c.m[k.name] = kept
	return kept
}

// Get returns the cached RRset of type t at name with TTLs counted down
// to what is left of them, or false when none is cached or it has expired.
// It sees only answers for clients whose subnet is not sent.
func (c *Cache) Get(name dns.Name, t dns.Type) ([]dns.RR, bool) {
	rrs, neg, _ := c.lookup(name, t)
	return rrs, rrs != nil && !neg
}

// lookup returns an RRset, or a negative answer (neg true, rrs holding
// the SOA, rcode NXDOMAIN or success for NODATA).
func (c *Cache) lookup(name dns.Name, t dns.Type) (rrs []dns.RR, neg bool, rcode dns.RCode) {
	rrs, neg, rcode, _, ok := c.appendLookup(nil, name, t, netip.Prefix{})
	if !ok {
		return nil, false, 0
	}
	return rrs, neg, rcode
}

// lookupFor is lookup for a client whose subnet is sub (invalid when none
// is sent); scope is the scope prefix length of the answer found.
func (c *Cache) lookupFor(name dns.Name, t dns.Type, sub netip.Prefix) (rrs []dns.RR, neg bool, rcode dns.RCode, scope int) {
	rrs, neg, rcode, scope, ok := c.appendLookup(nil, name, t, sub)
	if !ok {
		return nil, false, 0, 0
	}
	return rrs, neg, rcode, scope
}

// appendLookup appends the cached RRset (or negative answer's SOA) to dst,
// TTLs counted down, for a client whose subnet is sub (invalid when none
// is sent): of the answers that may be given to it, the one for the
// smallest network, the longest prefix (RFC 7871 §7.3.2). Expired entries
// are left for put to sweep.
func (c *Cache) appendLookup(dst []dns.RR, name dns.Name, t dns.Type, sub netip.Prefix) (out []dns.RR, neg bool, rcode dns.RCode, scope int, ok bool) {
	now := c.now()
	cn := name.Canonical()
	c.mu.RLock()
	defer c.mu.RUnlock()
	set := c.m[cn]
	for _, want := range [2]dns.Type{0, t} {
		var best *entry
		for _, e := range set {
			if e.t != want || !e.expires.After(now) || !e.reach.serves(sub) {
				continue
			}
			if best == nil || e.reach.net.Bits() > best.reach.net.Bits() {
				best = e
			}
		}
		if best == nil {
			continue
		}
		left := uint32((best.expires.Sub(now) + time.Second - 1) / time.Second)
		for _, rr := range best.rrs {
			rr.TTL = left
			dst = append(dst, rr)
		}
		return dst, best.neg, best.rcode, best.reach.scope, true
	}
	return dst, false, 0, 0, false
}

// Len is the number of RRsets and negative answers held.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

// maxTTL is MaxTTL in seconds, at most limit.
func (c *Cache) maxTTL(limit time.Duration) uint32 {
	d := limit
	if c.MaxTTL > 0 {
		d = min(c.MaxTTL, limit)
	}
	return uint32(d / time.Second)
}
