package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// OptionClientSubnet is the EDNS option code of Client Subnet (RFC 7871
// §6), carried in EDNS.Options.
const OptionClientSubnet = 8

// ErrClientSubnet is wrapped by every error of ParseClientSubnet: the
// option is malformed, and a server answers FORMERR (RFC 7871 §7.1.1).
var ErrClientSubnet = errors.New("dns: malformed EDNS Client Subnet option")

// A ClientSubnet is the EDNS Client Subnet option (RFC 7871): a resolver
// tells an authoritative server which network its client is in (Source,
// the client's address cut to a prefix, so as not to reveal the host), and
// the server's reply says for how large a network its answer holds (Scope,
// a prefix length; 0 in queries). A CDN's DNS server (KingCDN's) uses it to
// pick an edge near the client rather than near its resolver.
type ClientSubnet struct {
	Source netip.Prefix
	Scope  int
}

// Option returns cs as an EDNS option, for EDNS.Options.
func (cs ClientSubnet) Option() Option {
	return Option{Code: OptionClientSubnet, Data: cs.Append(nil)}
}

// Append appends the option data of cs (without code and length) to b:
// family, source prefix length, scope prefix length, and the address cut to
// the source prefix's octets, with the bits beyond it zeroed.
func (cs ClientSubnet) Append(b []byte) []byte {
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

// String prints cs as dig does: "10.1.2.0/24/0".
func (cs ClientSubnet) String() string {
	return fmt.Sprintf("%s/%d", cs.Source, cs.Scope)
}

// ParseClientSubnet reads the data of an EDNS Client Subnet option. It
// accepts exactly what §6 allows: family 1 (IPv4) or 2 (IPv6), prefix
// lengths no longer than the address, an address of just the source
// prefix's octets, and no bits set beyond the prefix.
func ParseClientSubnet(data []byte) (ClientSubnet, error) {
	if len(data) < 4 {
		return ClientSubnet{}, fmt.Errorf("%w: %d bytes, want at least 4", ErrClientSubnet, len(data))
	}
	family, source, scope := binary.BigEndian.Uint16(data), int(data[2]), int(data[3])
	var size int
	switch family {
	case 1:
		size = 4
	case 2:
		size = 16
	default:
		return ClientSubnet{}, fmt.Errorf("%w: address family %d", ErrClientSubnet, family)
	}
	if source > size*8 || scope > size*8 {
		return ClientSubnet{}, fmt.Errorf("%w: prefix /%d scope /%d longer than the address", ErrClientSubnet, source, scope)
	}
	addr := data[4:]
	if len(addr) != (source+7)/8 {
		return ClientSubnet{}, fmt.Errorf("%w: %d address bytes for a /%d", ErrClientSubnet, len(addr), source)
	}
	var full [16]byte
	copy(full[:], addr)
	a, _ := netip.AddrFromSlice(full[:size])
	p := netip.PrefixFrom(a, source)
	if p.Masked() != p {
		return ClientSubnet{}, fmt.Errorf("%w: bits set beyond /%d", ErrClientSubnet, source)
	}
	return ClientSubnet{Source: p, Scope: scope}, nil
}

// ClientSubnet returns the EDNS Client Subnet option of e, if it has one
// (false if e is nil or has none), or an error matching ErrClientSubnet if
// it is malformed or there are two.
func (e *EDNS) ClientSubnet() (ClientSubnet, bool, error) {
	if e == nil {
		return ClientSubnet{}, false, nil
	}
	var cs ClientSubnet
	found := false
	for _, o := range e.Options {
		if o.Code != OptionClientSubnet {
			continue
		}
		if found {
			return ClientSubnet{}, false, fmt.Errorf("%w: more than one", ErrClientSubnet)
		}
		var err error
		if cs, err = ParseClientSubnet(o.Data); err != nil {
			return ClientSubnet{}, false, err
		}
		found = true
	}
	return cs, found, nil
}
