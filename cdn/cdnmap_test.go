package cdn

import (
	"net/netip"
	"testing"
)

// TestMapScope: the network an answer holds for is the client's zone, cut
// short of any more specific zone inside it, and no zone at all for a
// client outside every zone.
func TestMapScope(t *testing.T) {
	m := &Map{Zones: []Zone{
		{Prefix: netip.MustParsePrefix("10.1.0.0/16"), Cluster: "boston"},
		{Prefix: netip.MustParsePrefix("10.1.99.0/24"), Cluster: "newyork"},
		{Prefix: netip.MustParsePrefix("10.2.0.0/16"), Cluster: "newyork"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Cluster: "sanjose"},
	}}
	tests := []struct {
		client string
		scope  int
	}{
		{"10.1.2.3", 18},        // 10.1.0.0/18 stops short of 10.1.99.0/24
		{"10.1.200.1", 17},      // 10.1.128.0/17 likewise
		{"10.1.99.7", 24},       // the corner itself
		{"10.2.3.4", 16},        // a zone with nothing inside
		{"10.0.0.1", 16},        // no zone: 10.0.0.0/16 leaves out 10.1.0.0/16 next door
		{"192.0.2.1", 1},        // no zone, far from every one
		{"2001:db8::1", 32},     // IPv6 zones are apart from IPv4 ones
		{"::ffff:10.1.2.3", 18}, // mapped addresses are their IPv4 selves
	}
	for _, tt := range tests {
		client := netip.MustParseAddr(tt.client)
		got := m.Scope(client)
		if got != tt.scope {
			t.Errorf("Scope(%s) = %d, want %d", tt.client, got, tt.scope)
			continue
		}
		// The claim itself: every zone's answer is the same across the
		// scope's network, checked at its first and last address.
		net := netip.PrefixFrom(client.Unmap(), got).Masked()
		first, _ := m.ZoneFor(net.Addr())
		want, _ := m.ZoneFor(client)
		if first != want {
			t.Errorf("Scope(%s) = %d: %s falls in %v, not %v", tt.client, got, net.Addr(), first, want)
		}
	}
}
