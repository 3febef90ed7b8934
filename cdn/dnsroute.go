package cdn

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"

	"appnet.dev/dns"
)

// DefaultTTL is the TTL of a DNSRouter's answers when its TTL is zero:
// short, so that clients come back for a new edge soon after one fails.
const DefaultTTL = 20

// OptionClientSubnet is the EDNS option code of EDNS Client Subnet
// (RFC 7871).
const OptionClientSubnet = 8

// ErrClientSubnet is returned for a malformed EDNS Client Subnet option.
var ErrClientSubnet = errors.New("cdn: malformed EDNS Client Subnet option")

// A ClientSubnet is the EDNS Client Subnet option (RFC 7871 §6): the part
// of the client's address its resolver reveals (Source), and in a reply the
// prefix length the answer is good for (Scope).
type ClientSubnet struct {
	Source netip.Prefix
	Scope  int
}

// ParseClientSubnet reads the option's data.
func ParseClientSubnet(b []byte) (ClientSubnet, error) {
	if len(b) < 4 {
		return ClientSubnet{}, ErrClientSubnet
	}
	family, source, scope := binary.BigEndian.Uint16(b), int(b[2]), int(b[3])
	addr := b[4:]
	var full []byte
	switch family {
	case 1:
		full = make([]byte, 4)
	case 2:
		full = make([]byte, 16)
	default:
		return ClientSubnet{}, ErrClientSubnet
	}
	// The address is truncated to the source prefix's whole octets (§6).
	if source > len(full)*8 || scope > len(full)*8 || len(addr) != (source+7)/8 {
		return ClientSubnet{}, ErrClientSubnet
	}
	copy(full, addr)
	a, _ := netip.AddrFromSlice(full)
	p := netip.PrefixFrom(a, source)
	if p.Masked() != p {
		return ClientSubnet{}, ErrClientSubnet // bits set beyond the prefix
	}
	return ClientSubnet{Source: p, Scope: scope}, nil
}

// AppendClientSubnet appends the option data of cs to b.
func AppendClientSubnet(b []byte, cs ClientSubnet) []byte {
	p := cs.Source.Masked()
	family := uint16(1)
	if p.Addr().Is6() {
		family = 2
	}
	b = binary.BigEndian.AppendUint16(b, family)
	b = append(b, byte(p.Bits()), byte(cs.Scope))
	raw := p.Addr().AsSlice()
	return append(b, raw[:(p.Bits()+7)/8]...)
}

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

	// Where is the client? Its resolver's subnet if it told us, else the
	// resolver's own address.
	client := req.Remote.Addr().Unmap()
	var ecs *ClientSubnet
	if req.EDNS != nil {
		for _, o := range req.EDNS.Options {
			if o.Code != OptionClientSubnet {
				continue
			}
			cs, err := ParseClientSubnet(o.Data)
			if err != nil {
				reply.RCode = dns.RCodeFormatError // RFC 7871 §7.1.1
				return
			}
			ecs = &cs
			client = cs.Source.Addr()
		}
	}
	if ecs != nil && reply.EDNS != nil {
		// The answer holds for the zone the client fell in (or for its
		// whole source prefix when no zone covers it).
		scope := ecs.Source.Bits()
		if z, ok := d.Router.Map.ZoneFor(client); ok {
			scope = z.Prefix.Bits()
		}
		reply.EDNS.Options = append(reply.EDNS.Options, dns.Option{
			Code: OptionClientSubnet,
			Data: AppendClientSubnet(nil, ClientSubnet{Source: ecs.Source, Scope: scope}),
		})
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
