package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Primary is the authoritative server of zones that change: it answers
// queries as Zones does, applies dynamic updates (RFC 2136) — the slides'
// registrar inserting Network Utopia's NS and glue records into .com — sends
// NOTIFY (RFC 1996) to its secondaries when a zone changes, and hands whole
// zones to them by AXFR over TCP (RFC 5936). Updates and transfers are
// allowed only to the addresses its policies accept.
type Primary struct {
	// AllowUpdate says whether a client may update a zone; nil allows
	// loopback clients only.
	AllowUpdate func(client netip.Addr, zone Name) bool
	// AllowTransfer says whether a client may transfer a zone; nil allows
	// loopback clients only.
	AllowTransfer func(client netip.Addr, zone Name) bool
	// Save, if set, is called with each zone an update changed, before
	// the update is answered: WriteZoneFile writes it back to its file.
	Save func(z *Zone) error
	// Notify lists the secondaries ("127.0.0.1:5301") told of each
	// change.
	Notify []string
	// Dial opens the connections NOTIFY is sent on; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex // serialises updates; guards the fields below
	closed bool
	ctx    context.Context // of the NOTIFYs under way; Close cancels it
	cancel context.CancelFunc
	zones  atomic.Pointer[Zones]
	wg     sync.WaitGroup
}

// NewPrimary makes a Primary serving zs.
func NewPrimary(zs ...*Zone) (*Primary, error) {
	h, err := NewZones(zs...)
	if err != nil {
		return nil, err
	}
	p := &Primary{}
	p.zones.Store(h)
	return p, nil
}

// Zone returns the current version of the zone with that origin, or nil.
func (p *Primary) Zone(origin Name) *Zone {
	z := p.zones.Load().Find(origin)
	if z == nil || !z.Origin.Equal(origin) {
		return nil
	}
	return z
}

// Wait waits for the NOTIFY messages being sent.
func (p *Primary) Wait() { p.wg.Wait() }

// Close stops the NOTIFY messages being sent and waits for their
// goroutines; updates after it change the zone without notifying. Close
// the dns.Server first, so no update arrives meanwhile.
func (p *Primary) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.cancel != nil {
		p.cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func loopbackOnly(a netip.Addr, _ Name) bool { return a.Unmap().IsLoopback() }

// ServeDNS answers queries, AXFR and UPDATE.
func (p *Primary) ServeDNS(ctx context.Context, reply *Message, req *Request) {
	switch {
	case req.Opcode == OpcodeUpdate:
		p.update(reply, req)
	case req.Opcode == OpcodeQuery && len(req.Questions) == 1 &&
		(req.Questions[0].Type == TypeAXFR || req.Questions[0].Type == TypeIXFR):
		p.transfer(reply, req)
	default:
		p.zones.Load().ServeDNS(ctx, reply, req)
	}
}

// transfer answers AXFR over TCP with the whole zone, SOA first and last,
// in one message (RFC 5936 §2.2 allows one or several). IXFR gets the
// same full transfer over TCP (RFC 1995 §4 allows that), and over UDP
// only the current SOA, which tells the client to ask over TCP.
func (p *Primary) transfer(reply *Message, req *Request) {
	q := req.Questions[0]
	allow := p.AllowTransfer
	if allow == nil {
		allow = loopbackOnly
	}
	z := p.Zone(q.Name)
	switch {
	case z == nil:
		reply.RCode = RCodeNotAuth
		return
	case !allow(req.Remote.Addr(), z.Origin):
		reply.RCode = RCodeRefused
		return
	case !req.TCP && q.Type == TypeIXFR:
		reply.Authoritative = true
		reply.Answers = append(reply.Answers, z.SOA)
		return
	case !req.TCP:
		reply.RCode = RCodeRefused
		return
	}
	reply.Authoritative = true
	reply.Answers = append(reply.Answers, z.SOA)
	for _, rr := range z.rrs {
		if rr.Type() != TypeSOA {
			reply.Answers = append(reply.Answers, rr)
		}
	}
	reply.Answers = append(reply.Answers, z.SOA)
}

// update applies an RFC 2136 UPDATE: the zone section names the zone, the
// prerequisites are in the answer section, the updates in the authority
// section. All of it applies, or none.
func (p *Primary) update(reply *Message, req *Request) {
	if len(req.Questions) != 1 || req.Questions[0].Type != TypeSOA {
		reply.RCode = RCodeFormatError
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	zname := req.Questions[0].Name
	z := p.Zone(zname)
	if z == nil {
		reply.RCode = RCodeNotAuth
		return
	}
	allow := p.AllowUpdate
	if allow == nil {
		allow = loopbackOnly
	}
	if !allow(req.Remote.Addr(), z.Origin) {
		reply.RCode = RCodeRefused
		return
	}
	if rc := checkPrerequisites(z, req.Answers); rc != RCodeSuccess {
		reply.RCode = rc
		return
	}
	rrs, changed, rc := applyUpdates(z, req.Authorities)
	if rc != RCodeSuccess {
		reply.RCode = rc
		return
	}
	if !changed {
		return
	}
	nz, err := NewZone(z.Origin, rrs)
	if err != nil {
		reply.RCode = RCodeServerFailure
		return
	}
	if p.Save != nil {
		if err := p.Save(nz); err != nil {
			reply.RCode = RCodeServerFailure
			return
		}
	}
	p.replace(nz)
	p.notify(nz)
}

func (p *Primary) replace(nz *Zone) {
	old := p.zones.Load()
	zs := make([]*Zone, 0, len(old.zones))
	for _, z := range old.zones {
		if z.Origin.Equal(nz.Origin) {
			z = nz
		}
		zs = append(zs, z)
	}
	p.zones.Store(&Zones{zones: zs})
}

// notify tells each secondary the zone changed (RFC 1996 §3.7), from a
// goroutine that Wait waits for and Close stops; each NOTIFY is sent a few
// times until acknowledged. The caller holds p.mu.
func (p *Primary) notify(z *Zone) {
	if p.closed || len(p.Notify) == 0 {
		return
	}
	if p.ctx == nil {
		p.ctx, p.cancel = context.WithCancel(context.Background())
	}
	for _, addr := range p.Notify {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
			defer cancel()
			SendNotify(ctx, &Client{Dial: p.Dial, Timeout: 500 * time.Millisecond}, addr, z.Origin, z.SOA)
		}()
	}
}

// SendNotify tells the secondary at addr that zone changed, its new SOA
// being soa (RFC 1996): an AA query of opcode NOTIFY the secondary answers
// and acts on by asking for the SOA and transferring the zone.
func SendNotify(ctx context.Context, cl *Client, addr string, zone Name, soa RR) error {
	m := &Message{
		Header:    Header{Opcode: OpcodeNotify, Authoritative: true},
		Questions: []Question{{Name: zone, Type: TypeSOA, Class: ClassINET}},
	}
	if soa.Data != nil {
		m.Answers = []RR{soa}
	}
	r, err := cl.Exchange(ctx, addr, m)
	if err != nil {
		return err
	}
	if r.RCode != RCodeSuccess {
		return r.RCode
	}
	return nil
}

// sameData reports whether two records carry the same data; names in the
// data compare without case.
func sameData(a, b RR) bool {
	return a.Type() == b.Type() && strings.EqualFold(a.Data.String(), b.Data.String())
}

func emptyData(rr RR) bool {
	u, ok := rr.Data.(*Unknown)
	return ok && len(u.Data) == 0
}

// checkPrerequisites checks the prerequisite section (RFC 2136 §3.2).
func checkPrerequisites(z *Zone, pre []RR) RCode {
	type setKey struct {
		name Name
		t    Type
	}
	want := map[setKey][]RR{}
	for _, rr := range pre {
		if rr.TTL != 0 {
			return RCodeFormatError
		}
		if !rr.Name.IsSubdomainOf(z.Origin) {
			return RCodeNotZone
		}
		n := z.nodes[rr.Name.Canonical()]
		t := rr.Type()
		switch rr.Class {
		case ClassANY:
			if !emptyData(rr) {
				return RCodeFormatError
			}
			if t == TypeANY {
				if n == nil || len(n.sets) == 0 {
					return RCodeNameError
				}
			} else if n == nil || n.get(t) == nil {
				return RCodeNXRRSet
			}
		case ClassNONE:
			if !emptyData(rr) {
				return RCodeFormatError
			}
			if t == TypeANY {
				if n != nil && len(n.sets) > 0 {
					return RCodeYXDomain
				}
			} else if n != nil && n.get(t) != nil {
				return RCodeYXRRSet
			}
		case ClassINET:
			k := setKey{rr.Name.Canonical(), t}
			want[k] = append(want[k], rr)
		default:
			return RCodeFormatError
		}
	}
	// Value-dependent prerequisites: the RRset must be exactly these.
	for k, rrs := range want {
		var have []RR
		if n := z.nodes[k.name]; n != nil {
			have = n.get(k.t)
		}
		if !sameSet(have, rrs) {
			return RCodeNXRRSet
		}
	}
	return RCodeSuccess
}

func sameSet(a, b []RR) bool {
	contains := func(s []RR, r RR) bool {
		for _, x := range s {
			if sameData(x, r) {
				return true
			}
		}
		return false
	}
	for _, r := range a {
		if !contains(b, r) {
			return false
		}
	}
	for _, r := range b {
		if !contains(a, r) {
			return false
		}
	}
	return true
}

// applyUpdates checks the update section (RFC 2136 §3.4.1) and applies it
// to a copy of the zone's records (§3.4.2), the SOA serial incremented
// when anything changed.
func applyUpdates(z *Zone, ups []RR) ([]RR, bool, RCode) {
	for _, rr := range ups {
		if !rr.Name.IsSubdomainOf(z.Origin) {
			return nil, false, RCodeNotZone
		}
		t := rr.Type()
		switch rr.Class {
		case ClassINET:
			if t == TypeANY || t == TypeAXFR || t == TypeIXFR || t == TypeOPT || emptyData(rr) {
				return nil, false, RCodeFormatError
			}
		case ClassANY:
			if rr.TTL != 0 || !emptyData(rr) || t == TypeAXFR || t == TypeIXFR {
				return nil, false, RCodeFormatError
			}
		case ClassNONE:
			if rr.TTL != 0 || t == TypeANY || t == TypeAXFR || t == TypeIXFR {
				return nil, false, RCodeFormatError
			}
		default:
			return nil, false, RCodeFormatError
		}
	}
	rrs := append([]RR(nil), z.rrs...)
	changed := false
	apex := func(rr RR) bool { return rr.Name.Equal(z.Origin) }
	del := func(keep func(RR) bool) {
		out := rrs[:0]
		for _, r := range rrs {
			if keep(r) {
				out = append(out, r)
			} else {
				changed = true
			}
		}
		rrs = out
	}
	for _, u := range ups {
		t := u.Type()
		switch u.Class {
		case ClassINET:
			if t == TypeSOA {
				if !apex(u) || int32(u.Data.(*SOA).Serial-z.SOA.Data.(*SOA).Serial) <= 0 {
					continue
				}
				del(func(r RR) bool { return r.Type() != TypeSOA })
				rrs = append(rrs, u)
				changed = true
				continue
			}
			conflict, dup := false, false
			for i, r := range rrs {
				if !r.Name.Equal(u.Name) {
					continue
				}
				if (r.Type() == TypeCNAME) != (t == TypeCNAME) {
					conflict = true
				}
				if sameData(r, u) {
					dup = true
					if r.TTL != u.TTL {
						rrs[i].TTL = u.TTL
						changed = true
					}
				}
			}
			if !conflict && !dup {
				rrs = append(rrs, u)
				changed = true
			}
		case ClassANY:
			del(func(r RR) bool {
				if !r.Name.Equal(u.Name) || (t != TypeANY && r.Type() != t) {
					return true
				}
				return apex(r) && (r.Type() == TypeSOA || r.Type() == TypeNS)
			})
		case ClassNONE:
			if apex(u) && t == TypeSOA {
				continue
			}
			ns := 0
			for _, r := range rrs {
				if apex(r) && r.Type() == TypeNS {
					ns++
				}
			}
			del(func(r RR) bool {
				if !r.Name.Equal(u.Name) || !sameData(r, RR{Data: u.Data}) {
					return true
				}
				if apex(r) && t == TypeNS && ns <= 1 {
					return true // never the last NS of the zone
				}
				return false
			})
		}
	}
	if !changed {
		return rrs, false, RCodeSuccess
	}
	for i, r := range rrs {
		if r.Type() == TypeSOA {
			soa := *r.Data.(*SOA)
			if soa.Serial == z.SOA.Data.(*SOA).Serial {
				soa.Serial++
				if soa.Serial == 0 {
					soa.Serial = 1
				}
			}
			rrs[i].Data = &soa
		}
	}
	return rrs, true, RCodeSuccess
}

// WriteZoneFile writes z to path as a master file, replacing the file
// only once the new one is complete.
func WriteZoneFile(path string, z *Zone) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("dns: write zone: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := WriteZone(tmp, z.Origin, z.rrs); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dns: write zone: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dns: write zone: %w", err)
	}
	return nil
}
