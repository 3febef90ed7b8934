package cdn

import (
	"context"
	"fmt"
	"io"
	"sync"

	"appnet.dev/dns"
)

// DefaultTTL is the TTL of a DNSRouter's answers when its TTL is zero:
// short, so that clients come back for a new edge soon after one fails.
const DefaultTTL = 20

// A DNSRouter is DNS-based request routing: the authoritative name server
// of a CDN's domain (KingCDN's kingcdn.com), a dns.Handler. For a query for
// any name under Zone it answers A records of the edges its Router chooses
// for the client — located by the EDNS Client Subnet its resolver sent, or
// else by the resolver's own address — with the name as the content key and
// a short TTL, so only healthy edges are handed out and a failed one drops
// out of resolvers' caches within one TTL.
type DNSRouter struct {
	Router *Router
	Zone   dns.Name // e.g. kingcdn.com
	// NS is the zone's name server, for its SOA and NS records.
	NS dns.Name
	// TTL of the answers in seconds (DefaultTTL if zero).
	TTL uint32
	// Answers is how many edges one answer names (1 if zero); more give a
	// client other copies to fall back on.
	Answers int
	Trace   io.Writer

	mu sync.Mutex
}

func (d *DNSRouter) ttl() uint32 {
	if d.TTL > 0 {
		return d.TTL
	}
	return DefaultTTL
}

func (d *DNSRouter) soa() dns.RR {
	return dns.RR{Name: d.Zone, Class: dns.ClassINET, TTL: d.ttl(), Data: &dns.SOA{
		MName: d.NS, RName: d.NS, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minimum: d.ttl(),
	}}
}

// ServeDNS answers one query.
func (d *DNSRouter) ServeDNS(_ context.Context, reply *dns.Message, req *dns.Request) {
	if req.Opcode != dns.OpcodeQuery || len(req.Questions) != 1 {
		reply.RCode = dns.RCodeNotImplemented
		return
	}
	q := req.Questions[0]
	if !q.Name.IsSubdomainOf(d.Zone) || (q.Class != dns.ClassINET && q.Class != dns.ClassANY) {
		reply.RCode = dns.RCodeRefused
		return
	}
	reply.Authoritative = true

	// Where is the client? In the subnet its resolver told us, else at the
	// resolver's own address (also when the resolver says /0: "do not
	// place my client", RFC 7871 §7.1.2).
	client := req.Remote.Addr().Unmap()
	ecs, hasECS, err := req.EDNS.ClientSubnet()
	if err != nil {
		reply.RCode = dns.RCodeFormatError // RFC 7871 §7.1.1
		return
	}
	if hasECS && ecs.Source.Bits() > 0 {
		client = ecs.Source.Addr()
	}
	if hasECS && reply.EDNS != nil {
		// For how large a network the answer holds: all of the client's
		// zone that no more specific zone takes (0 when the answer did
		// not depend on the subnet).
		scope := 0
		if ecs.Source.Bits() > 0 {
			scope = d.Router.Map.Scope(client)
		}
		reply.EDNS.Options = append(reply.EDNS.Options, dns.ClientSubnet{Source: ecs.Source, Scope: scope}.Option())
	}

	switch {
	case q.Name.Equal(d.Zone) && q.Type == dns.TypeSOA:
		reply.Answers = append(reply.Answers, d.soa())
		return
	case q.Name.Equal(d.Zone) && q.Type == dns.TypeNS:
		reply.Answers = append(reply.Answers, dns.RR{Name: d.Zone, Class: dns.ClassINET, TTL: d.ttl(), Data: &dns.NS{Host: d.NS}})
		return
	case q.Type != dns.TypeA && q.Type != dns.TypeANY:
		reply.Authorities = append(reply.Authorities, d.soa()) // NODATA
		return
	}
	n := max(d.Answers, 1)
	nodes := d.Router.Choose(client, q.Name.Canonical().String(), n)
	if len(nodes) == 0 {
		reply.RCode = dns.RCodeServerFailure
		d.tracef("kingcdn dns: %s from %s: no healthy edge", q.Name, client)
		return
	}
	for _, node := range nodes {
		if !node.Addr.Addr().Is4() {
			continue
		}
		reply.Answers = append(reply.Answers, dns.RR{
			Name: q.Name, Class: dns.ClassINET, TTL: d.ttl(),
			Data: &dns.A{Addr: node.Addr.Addr()},
		})
	}
	d.tracef("kingcdn dns: %s for client %s -> %s (%s)", q.Name, client, nodes[0].Name, nodes[0].Addr.Addr())
}

func (d *DNSRouter) tracef(format string, args ...any) {
	if d.Trace == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.Trace, format+"\n", args...)
}
