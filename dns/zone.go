package dns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// A Zone is the data an authoritative server holds for one zone of the
// hierarchy: its origin (networkutopia.com), its SOA and every record at or
// below the origin down to its delegations. A Zone is read-only once made
// and safe for concurrent lookups.
type Zone struct {
	Origin Name
	SOA    RR // the apex SOA record
	nodes  map[Name]*node
	cuts   []Name        // names below the apex holding NS (delegations), canonical
	rrs    []RR          // as given, for Records
	turn   atomic.Uint64 // rotates RRsets between answers
}

// A node holds the records of one owner name. Empty non-terminals (names
// with nothing of their own but with names below them) have a node too, so
// they answer NODATA rather than NXDOMAIN.
type node struct {
	sets []rrset
}

type rrset struct {
	t   Type
	rrs []RR
}

func (n *node) get(t Type) []RR {
	for i := range n.sets {
		if n.sets[i].t == t {
			return n.sets[i].rrs
		}
	}
	return nil
}

// NewZone checks rrs and indexes them for answering. The records must all
// be at or below origin, with exactly one SOA, at the apex, and a CNAME
// must be alone at its name.
func NewZone(origin Name, rrs []RR) (*Zone, error) {
	z := &Zone{Origin: origin, nodes: make(map[Name]*node), rrs: rrs}
	for _, rr := range rrs {
		if rr.Data == nil {
			return nil, fmt.Errorf("dns: zone %s: record %s without data", origin, rr.Name)
		}
		if !rr.Name.IsSubdomainOf(origin) {
			return nil, fmt.Errorf("dns: zone %s: %s is out of the zone", origin, rr.Name)
		}
		t := rr.Type()
		if t == TypeSOA {
			if !rr.Name.Equal(origin) {
				return nil, fmt.Errorf("dns: zone %s: SOA at %s, not at the apex", origin, rr.Name)
			}
			if z.SOA.Data != nil {
				return nil, fmt.Errorf("dns: zone %s: more than one SOA", origin)
			}
			z.SOA = rr
		}
		key := rr.Name.Canonical()
		n := z.nodes[key]
		if n == nil {
			n = &node{}
			z.nodes[key] = n
			// Give every ancestor up to the apex a node.
			for p := key; !p.Equal(origin); {
				p = p.Parent()
				if z.nodes[p] != nil {
					break
				}
				z.nodes[p] = &node{}
			}
		}
		i := 0
		for i < len(n.sets) && n.sets[i].t != t {
			i++
		}
		if i == len(n.sets) {
			n.sets = append(n.sets, rrset{t: t})
		}
		n.sets[i].rrs = append(n.sets[i].rrs, rr)
	}
	if z.SOA.Data == nil {
		return nil, fmt.Errorf("dns: zone %s: no SOA at the apex", origin)
	}
	for name, n := range z.nodes {
		if n.get(TypeCNAME) != nil && len(n.sets) > 1 {
			return nil, fmt.Errorf("dns: zone %s: CNAME and other data at %s", origin, name)
		}
		if n.get(TypeNS) != nil && !name.Equal(origin) {
			z.cuts = append(z.cuts, name)
		}
	}
	return z, nil
}

// Records returns the zone's records as given to NewZone.
func (z *Zone) Records() []RR { return z.rrs }

// negativeTTL is the TTL of a negative answer's SOA: the lesser of the
// SOA's own TTL and its minimum field (RFC 2308 §3, §5).
func negativeTTL(soa RR) uint32 {
	return min(soa.TTL, soa.Data.(*SOA).Minimum)
}

// maxChain bounds the CNAMEs followed inside one zone.
const maxChain = 8

// answer fills reply with the zone's answer to q: the authoritative
// behaviour of RFC 1034 §4.3.2 with wildcards (RFC 4592), negative answers
// (RFC 2308) and referrals at delegations.
func (z *Zone) answer(reply *Message, q Question) {
	reply.Authoritative = true
	name := q.Name
	for chain := 0; ; chain++ {
		if len(z.cuts) > 0 {
			if ns := z.delegation(name); ns != nil {
				if len(reply.Answers) == 0 {
					reply.Authoritative = false
				}
				reply.Authorities = append(reply.Authorities, ns...)
				for _, rr := range ns {
					z.addGlue(reply, rr.Data.(*NS).Host)
				}
				return
			}
		}
		n := z.nodes[name.Canonical()]
		owner := name
		if n == nil {
			// RFC 4592: the closest encloser's wildcard, if it has one.
			// A wildcard with nothing of its own (an empty non-terminal)
			// still exists, and answers NODATA.
			enc := name.Parent()
			for z.nodes[enc.Canonical()] == nil && !enc.Equal(z.Origin) {
				enc = enc.Parent()
			}
			if w, err := enc.Child("*"); err == nil {
				n = z.nodes[w.Canonical()]
			}
			if n == nil {
				reply.RCode = RCodeNameError
				z.addSOA(reply)
				return
			}
		}
		if cn := n.get(TypeCNAME); cn != nil && q.Type != TypeCNAME && q.Type != TypeANY {
			reply.Answers = appendOwned(reply.Answers, cn, owner)
			target := cn[0].Data.(*CNAME).Target
			if chain+1 >= maxChain || !target.IsSubdomainOf(z.Origin) {
				return
			}
			name = target
			continue
		}
		start := len(reply.Answers)
		if q.Type == TypeANY {
			for _, s := range n.sets {
				reply.Answers = appendOwned(reply.Answers, s.rrs, owner)
			}
		} else if rrs := n.get(q.Type); rrs != nil {
			if len(rrs) > 1 && (q.Type == TypeA || q.Type == TypeAAAA) {
				reply.Answers = appendRotated(reply.Answers, rrs, z.turn.Add(1)-1)
				if !owner.Equal(rrs[0].Name) {
					for i := start; i < len(reply.Answers); i++ {
						reply.Answers[i].Name = owner
					}
				}
			} else {
				reply.Answers = appendOwned(reply.Answers, rrs, owner)
			}
		}
		if len(reply.Answers) == start {
			z.addSOA(reply) // NODATA
			return
		}
		for _, rr := range reply.Answers[start:] {
			switch d := rr.Data.(type) {
			case *MX:
				z.addGlue(reply, d.Exchange)
			case *NS:
				z.addGlue(reply, d.Host)
			case *SRV:
				z.addGlue(reply, d.Target)
			}
		}
		return
	}
}

// delegation finds the highest zone cut at or above name (below the apex)
// and returns its NS records.
func (z *Zone) delegation(name Name) []RR {
	if len(z.cuts) <= 16 {
		// Few delegations: test each rather than walk every ancestor.
		var top *Name
		for i, c := range z.cuts {
			if name.IsSubdomainOf(c) && (top == nil || c.n < top.n) {
				top = &z.cuts[i]
			}
		}
		if top == nil {
			return nil
		}
		return z.nodes[*top].get(TypeNS)
	}
	var found []RR
	for p := name; !p.Equal(z.Origin) && p.IsSubdomainOf(z.Origin); p = p.Parent() {
		if n := z.nodes[p.Canonical()]; n != nil {
			if ns := n.get(TypeNS); ns != nil {
				found = ns
			}
		}
	}
	return found
}

func (z *Zone) addSOA(reply *Message) {
	soa := z.SOA
	soa.TTL = negativeTTL(soa)
	reply.Authorities = append(reply.Authorities, soa)
}

// addGlue adds host's A and AAAA records, if the zone has them, to the
// additional section. Below a cut these are the glue records.
func (z *Zone) addGlue(reply *Message, host Name) {
	if !host.IsSubdomainOf(z.Origin) {
		return
	}
	n := z.nodes[host.Canonical()]
	if n == nil {
		return
	}
	for _, rr := range reply.Additionals {
		if rr.Name.Equal(host) {
			return // already there
		}
	}
	reply.Additionals = append(reply.Additionals, n.get(TypeA)...)
	reply.Additionals = append(reply.Additionals, n.get(TypeAAAA)...)
}

// appendOwned appends rrs, renamed to owner when they came from a wildcard.
func appendOwned(dst, rrs []RR, owner Name) []RR {
	start := len(dst)
	dst = append(dst, rrs...)
	if len(rrs) > 0 && !rrs[0].Name.Equal(owner) {
		for i := start; i < len(dst); i++ {
			dst[i].Name = owner
		}
	}
	return dst
}

// appendRotated appends rrs starting at position turn mod len(rrs) and
// wrapping around: several A records for one name come back in a rotated
// order on each answer, which spreads clients over replicated servers (the
// slides' load distribution). It is a pure function of its arguments.
func appendRotated(dst, rrs []RR, turn uint64) []RR {
	if len(rrs) == 0 {
		return dst
	}
	k := int(turn % uint64(len(rrs)))
	dst = append(dst, rrs[k:]...)
	return append(dst, rrs[:k]...)
}

// Zones answers queries from a set of zones: a zone-backed Handler. A query
// goes to the zone with the longest origin that contains its name; names
// outside every zone are REFUSED, other opcodes than QUERY get NOTIMP.
type Zones struct {
	zones []*Zone
}

// NewZones makes a handler for zs; two zones may not share an origin.
func NewZones(zs ...*Zone) (*Zones, error) {
	for i, a := range zs {
		for _, b := range zs[:i] {
			if a.Origin.Equal(b.Origin) {
				return nil, fmt.Errorf("dns: zone %s given twice", a.Origin)
			}
		}
	}
	return &Zones{zones: zs}, nil
}

// Find returns the zone that holds name, or nil.
func (zs *Zones) Find(name Name) *Zone {
	var best *Zone
	for _, z := range zs.zones {
		if name.IsSubdomainOf(z.Origin) && (best == nil || z.Origin.n > best.Origin.n) {
			best = z
		}
	}
	return best
}

// ServeDNS answers req from the zones.
func (zs *Zones) ServeDNS(_ context.Context, reply *Message, req *Request) {
	if req.Opcode != OpcodeQuery {
		reply.RCode = RCodeNotImplemented
		return
	}
	if len(req.Questions) != 1 {
		reply.RCode = RCodeFormatError
		return
	}
	q := req.Questions[0]
	switch {
	case q.Class != ClassINET && q.Class != ClassANY:
		reply.RCode = RCodeRefused
		return
	case q.Type == TypeAXFR || q.Type == TypeIXFR || q.Type == TypeOPT:
		reply.RCode = RCodeRefused
		return
	}
	z := zs.Find(q.Name)
	if z == nil {
		reply.RCode = RCodeRefused
		return
	}
	if q.Type == TypeANY && !req.TCP && z.minimalANY(reply, q) {
		return
	}
	z.answer(reply, q)
}

// TypeHINFO is the host information type (RFC 1035 §3.3.2), used today
// only for RFC 8482's minimal answers to ANY.
const TypeHINFO Type = 13

// minimalANY answers ANY over UDP at a name holding data with one
// synthesised HINFO "RFC8482" record (RFC 8482 §4.2) instead of every
// RRset there: an ANY query is a small question with a large answer, an
// amplifier's favourite. Over TCP ANY gets the full answer. It reports
// false, leaving the query to the normal path, for names without data
// of their own (NXDOMAIN, delegations, wildcards).
func (z *Zone) minimalANY(reply *Message, q Question) bool {
	if len(z.cuts) > 0 && z.delegation(q.Name) != nil {
		return false
	}
	n := z.nodes[q.Name.Canonical()]
	if n == nil || len(n.sets) == 0 {
		return false
	}
	reply.Authoritative = true
	hinfo := []byte{7, 'R', 'F', 'C', '8', '4', '8', '2', 0}
	reply.Answers = append(reply.Answers, RR{Name: q.Name, Class: ClassINET, TTL: z.SOA.TTL, Data: &Unknown{T: TypeHINFO, Data: hinfo}})
	return true
}

// ReadZone reads a master file and makes its Zone; origin is the zone's
// apex and the file's initial $ORIGIN.
func ReadZone(zf ZoneFile, r io.Reader) (*Zone, error) {
	rrs, err := zf.Parse(r)
	if err != nil {
		return nil, err
	}
	if len(rrs) == 0 {
		return nil, errors.New("dns: zone " + zf.Name + ": no records")
	}
	return NewZone(zf.Origin, rrs)
}
