package hierarchy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"appnet.dev/dns"
)

// A recursiveServer is a name server of the local Internet in Recursive
// mode: it answers from its zones as before, but when those only refer a
// recursive query (RD) elsewhere — "I don't know this name, but ask this
// server" — it asks that server itself, with RD set, and hands the answer
// back. The query thus travels root → TLD → authoritative and the answer
// travels back along the same chain: the slides' recursive query, which
// puts the burden of name resolution on the server contacted.
//
// It passes queries on over TCP, where each query has a goroutine of its
// own at the next server: a server waiting for the answer to one query
// can still be asked another (the address of a name server missing its
// glue, say) without the two waiting on each other.
type recursiveServer struct {
	in   *Internet
	host *Host
	p    *dns.Primary
}

func (rs *recursiveServer) ServeDNS(ctx context.Context, reply *dns.Message, req *dns.Request) {
	rs.p.ServeDNS(ctx, reply, req)
	if req.Opcode != dns.OpcodeQuery || !req.RecursionDesired || len(req.Questions) != 1 {
		return
	}
	reply.RecursionAvailable = true
	if reply.RCode != dns.RCodeSuccess || reply.Authoritative || len(reply.Answers) > 0 {
		return // answered from the server's own zones, or an error
	}
	next, ok := rs.referredTo(ctx, reply)
	if !ok {
		return // not a referral: leave the reply as it is
	}
	q := req.Questions[0]
	r, err := rs.ask(ctx, next, q.Name, q.Type)
	if err != nil {
		*reply = dns.Message{Header: reply.Header, Questions: reply.Questions, EDNS: reply.EDNS}
		reply.RCode = dns.RCodeServerFailure
		return
	}
	// Another server's answer, passed on: not authoritative here.
	reply.Authoritative = false
	reply.RCode = r.RCode
	reply.Answers = append(reply.Answers[:0], r.Answers...)
	reply.Authorities = append(reply.Authorities[:0], r.Authorities...)
	reply.Additionals = append(reply.Additionals[:0], r.Additionals...)
	rs.in.tracef("%s → %s: %s (passed back to the caller)", next.Name, rs.host.Name, summary(r))
}

// referredTo returns a server a referral in reply points to, found by its
// glue or, missing that, by a recursive query to the root.
func (rs *recursiveServer) referredTo(ctx context.Context, reply *dns.Message) (*Host, bool) {
	var hosts []dns.Name
	for _, rr := range reply.Authorities {
		if ns, ok := rr.Data.(*dns.NS); ok {
			hosts = append(hosts, ns.Host)
		}
	}
	if len(hosts) == 0 {
		return nil, false
	}
	for _, name := range hosts {
		for _, rr := range reply.Additionals {
			if a, ok := rr.Data.(*dns.A); ok && rr.Name.Equal(name) {
				if h := rs.in.byIP[a.Addr]; h != nil && h != rs.host {
					return h, true
				}
			}
		}
	}
	// No glue (amazon.com's server is under .net): ask for its address
	// the way any caller would, recursively from the root.
	for _, root := range rs.in.Roots() {
		r, err := rs.ask(ctx, rs.in.byIP[root], hosts[0], dns.TypeA)
		if err != nil {
			continue
		}
		for _, rr := range r.Answers {
			if a, ok := rr.Data.(*dns.A); ok {
				if h := rs.in.byIP[a.Addr]; h != nil && h != rs.host {
					return h, true
				}
			}
		}
	}
	return nil, false
}

// ask sends the recursive query (name, t) to h and counts it as work done
// on a caller's behalf.
func (rs *recursiveServer) ask(ctx context.Context, h *Host, name dns.Name, t dns.Type) (*dns.Message, error) {
	if h == nil {
		return nil, fmt.Errorf("hierarchy: no such server")
	}
	rs.host.forwarded.Add(1)
	rs.in.tracef("%s → %s: %s %s? (RD: on behalf of its caller)", rs.host.Name, h.Name, name, t)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	q := dns.NewQuery(name, t)
	q.RecursionDesired = true
	cl := dns.Client{Dial: rs.in.Dial, Timeout: 3 * time.Second}
	return cl.ExchangeTCP(ctx, netip.AddrPortFrom(h.Public, rs.in.port()).String(), q)
}

// summary is a reply in a few words: its last answer record, or its
// RCode.
func summary(r *dns.Message) string {
	if n := len(r.Answers); n > 0 {
		rr := r.Answers[n-1]
		return fmt.Sprintf("%s %s %s", rr.Name, rr.Type(), rr.Data)
	}
	return strings.TrimPrefix(r.RCode.String(), "dns: ")
}

// port is the port the servers are reached on at their public addresses.
func (in *Internet) port() uint16 {
	if in.Port != 0 {
		return uint16(in.Port)
	}
	return 53
}

func (in *Internet) tracef(format string, args ...any) {
	if in.trace == nil {
		return
	}
	in.traceMu.Lock()
	defer in.traceMu.Unlock()
	fmt.Fprintf(in.trace, strings.TrimSuffix(format, "\n")+"\n", args...)
}

// Forwarded returns how many queries the server sent on its callers'
// behalf in Recursive mode: the work a recursive query puts on it.
func (h *Host) Forwarded() int { return int(h.forwarded.Load()) }
