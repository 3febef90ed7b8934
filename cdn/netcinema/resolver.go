package netcinema

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"appnet.dev/cdn"
	"appnet.dev/dns"
)

// A Resolver is Bob's local DNS server, reduced to what the scene needs: it
// knows which server is authoritative for which zone (standing in for the
// walk down from the root), follows CNAMEs from one zone into another,
// tells each authoritative server Bob's subnet with EDNS Client Subnet, and
// caches answers for their TTL.
type Resolver struct {
	// Authorities maps a zone ("netcinema.com.") to its server's address.
	Authorities map[string]string
	// Subnet is the clients' network, sent as EDNS Client Subnet.
	Subnet netip.Prefix
	Client *dns.Client
	Now    func() time.Time
	Trace  io.Writer

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	rrs     []dns.RR
	expires time.Time
}

// ServeDNS answers A queries by resolving them.
func (r *Resolver) ServeDNS(ctx context.Context, reply *dns.Message, req *dns.Request) {
	reply.RecursionAvailable = true
	if len(req.Questions) != 1 || req.Questions[0].Type != dns.TypeA {
		return // NODATA for anything but A: enough for Bob
	}
	rrs, err := r.Resolve(ctx, req.Questions[0].Name)
	if err != nil {
		reply.RCode = dns.RCodeServerFailure
		if rc, ok := err.(dns.RCode); ok {
			reply.RCode = rc
		}
		return
	}
	reply.Answers = append(reply.Answers, rrs...)
}

// Resolve follows name through CNAMEs to its A records; the result is the
// whole chain.
func (r *Resolver) Resolve(ctx context.Context, name dns.Name) ([]dns.RR, error) {
	var chain []dns.RR
	for hop := 0; hop < 8; hop++ {
		rrs, err := r.ask(ctx, name)
		if err != nil {
			return nil, err
		}
		chain = append(chain, rrs...)
		var next *dns.CNAME
		hasA := false
		for _, rr := range rrs {
			switch d := rr.Data.(type) {
			case *dns.A:
				hasA = true
			case *dns.CNAME:
				if rr.Name.Equal(name) {
					next = d
				}
			}
		}
		if hasA || next == nil {
			return chain, nil
		}
		name = next.Target
	}
	return nil, fmt.Errorf("netcinema: resolver: CNAME chain too long at %s", name)
}

// ask gets name's A records (or its CNAME) from the cache or from the
// zone's authoritative server.
func (r *Resolver) ask(ctx context.Context, name dns.Name) ([]dns.RR, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	key := strings.ToLower(name.String())
	r.mu.Lock()
	if c, ok := r.cache[key]; ok && now.Before(c.expires) {
		r.mu.Unlock()
		return c.rrs, nil
	}
	r.mu.Unlock()

	zone, server := "", ""
	for z, s := range r.Authorities {
		if name.IsSubdomainOf(dns.MustParseName(z)) && len(z) > len(zone) {
			zone, server = z, s
		}
	}
	if server == "" {
		return nil, dns.RCodeServerFailure
	}
	q := dns.NewQuery(name, dns.TypeA)
	q.RecursionDesired = false
	q.EDNS = &dns.EDNS{UDPSize: 1232}
	if r.Subnet.IsValid() {
		q.EDNS.Options = []dns.Option{{Code: cdn.OptionClientSubnet,
			Data: cdn.AppendClientSubnet(nil, cdn.ClientSubnet{Source: r.Subnet})}}
	}
	reply, err := r.Client.Exchange(ctx, server, q)
	if err != nil {
		return nil, err
	}
	if reply.RCode != dns.RCodeSuccess {
		return nil, reply.RCode
	}
	var rrs []dns.RR
	ttl := uint32(1 << 31)
	var said []string
	for _, rr := range reply.Answers {
		if rr.Name.Equal(name) && (rr.Type() == dns.TypeA || rr.Type() == dns.TypeCNAME) {
			rrs = append(rrs, rr)
			ttl = min(ttl, rr.TTL)
			said = append(said, rr.Type().String()+" "+rr.Data.String())
		}
	}
	if r.Trace != nil {
		fmt.Fprintf(r.Trace, "local DNS: %s A? asked %s's server: %s (TTL %d)\n",
			name, strings.TrimSuffix(zone, "."), strings.Join(said, ", "), ttl)
	}
	if len(rrs) > 0 {
		r.mu.Lock()
		if r.cache == nil {
			r.cache = map[string]cached{}
		}
		r.cache[key] = cached{rrs, now.Add(time.Duration(ttl) * time.Second)}
		r.mu.Unlock()
	}
	return rrs, nil
}
