package smtp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"appnet.dev/dns"
)

// An MX is one mail exchanger of a domain (RFC 5321 §5.1): a host and its
// preference, lower first.
type MX struct {
	Host       string
	Preference uint16
}

// A Resolver finds where mail for a domain goes: step 3 of the lecture's
// scenario, the sending server looking up hamburger.edu's MX records.
// DNSResolver asks a name server with package dns; StaticResolver answers
// from maps, for tests and the tour.
type Resolver interface {
	// LookupMX returns domain's mail exchangers. An empty list and a nil
	// error mean the domain exists but has no MX records: then the domain
	// itself is the mail host (the "implicit MX"). A domain that does not
	// exist gives an error matching ErrNoSuchDomain.
	LookupMX(ctx context.Context, domain string) ([]MX, error)
	// LookupHost returns a host's addresses.
	LookupHost(ctx context.Context, host string) ([]netip.Addr, error)
}

// ErrNoSuchDomain is matched by resolver errors for names that do not
// exist (NXDOMAIN): mail to them fails permanently.
var ErrNoSuchDomain = errors.New("smtp: no such domain")

// MailHosts returns the hosts to try for domain, in order (RFC 5321 §5.1):
// the MX hosts by preference (equal preferences keep their order), or
// the domain itself when it has no MX. A null MX (RFC 7505, the single
// host ".") means the domain accepts no mail: ok is false.
func MailHosts(domain string, mxs []MX) (hosts []string, ok bool) {
	if len(mxs) == 0 {
		return []string{domain}, true
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, false
	}
	sorted := append([]MX(nil), mxs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Preference < sorted[j].Preference })
	for _, m := range sorted {
		h := strings.TrimSuffix(m.Host, ".")
		if h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts, true
}

// StaticResolver answers from maps: MX by domain, Hosts by host name
// (lowercase, without the trailing dot). A domain in neither map does not
// exist.
type StaticResolver struct {
	MX    map[string][]MX
	Hosts map[string][]netip.Addr
}

// LookupMX returns r.MX[domain].
func (r *StaticResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	if mx, ok := r.MX[d]; ok {
		return mx, nil
	}
	if _, ok := r.Hosts[d]; ok {
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoSuchDomain, domain)
}

// LookupHost returns r.Hosts[host].
func (r *StaticResolver) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if a, ok := r.Hosts[h]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoSuchDomain, host)
}

// DNSResolver looks names up by asking one name server (Server,
// "127.0.0.1:53") with the stub resolver of package dns.
type DNSResolver struct {
	Client *dns.Client // nil means a zero dns.Client
	Server string
}

func (r *DNSResolver) client() *dns.Client {
	if r.Client == nil {
		return &dns.Client{}
	}
	return r.Client
}

func dnsErr(name string, err error) error {
	var rc dns.RCode
	if errors.As(err, &rc) && rc == dns.RCodeNameError {
		return fmt.Errorf("%w: %s", ErrNoSuchDomain, name)
	}
	return fmt.Errorf("smtp: looking up %s: %w", name, err)
}

// LookupMX asks for domain's MX records.
func (r *DNSResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	n, err := dns.ParseName(domain)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoSuchDomain, domain, err)
	}
	mxs, err := r.client().LookupMX(ctx, r.Server, n)
	if err != nil {
		return nil, dnsErr(domain, err)
	}
	out := make([]MX, 0, len(mxs))
	for _, m := range mxs {
		out = append(out, MX{Host: m.Exchange.String(), Preference: m.Preference})
	}
	return out, nil
}

// LookupHost asks for host's A and AAAA records.
func (r *DNSResolver) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	n, err := dns.ParseName(host)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoSuchDomain, host, err)
	}
	addrs, err := r.client().LookupAddr(ctx, r.Server, n)
	if err != nil {
		return nil, dnsErr(host, err)
	}
	return addrs, nil
}
