package dns

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestClientSubnetWire(t *testing.T) {
	for _, tt := range []struct {
		cs   ClientSubnet
		wire []byte
	}{
		// Bob's Boston network: family 1, /24, scope 0, three octets.
		{ClientSubnet{Source: netip.MustParsePrefix("10.1.2.0/24")}, []byte{0, 1, 24, 0, 10, 1, 2}},
		// A reply's scope; a prefix that ends inside an octet keeps it.
		{ClientSubnet{Source: netip.MustParsePrefix("10.1.0.0/16"), Scope: 16}, []byte{0, 1, 16, 16, 10, 1}},
		{ClientSubnet{Source: netip.MustParsePrefix("192.168.128.0/17")}, []byte{0, 1, 17, 0, 192, 168, 128}},
		// /0: the resolver asks that no client information be used (§7.1.2).
		{ClientSubnet{Source: netip.MustParsePrefix("0.0.0.0/0")}, []byte{0, 1, 0, 0}},
		{ClientSubnet{Source: netip.MustParsePrefix("2001:db8:1::/48"), Scope: 56}, []byte{0, 2, 48, 56, 0x20, 0x01, 0x0d, 0xb8, 0, 1}},
		{ClientSubnet{Source: netip.MustParsePrefix("128.119.245.12/32")}, []byte{0, 1, 32, 0, 128, 119, 245, 12}},
	} {
		if got := tt.cs.Append(nil); !bytes.Equal(got, tt.wire) {
			t.Errorf("%v: wrote % x, want % x", tt.cs, got, tt.wire)
		}
		got, err := ParseClientSubnet(tt.wire)
		if err != nil {
			t.Errorf("% x: %v", tt.wire, err)
			continue
		}
		if diff := cmp.Diff(tt.cs, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("% x (-want +got):\n%s", tt.wire, diff)
		}
	}
}

func TestClientSubnetAppendMasks(t *testing.T) {
	// A host address given as the source is cut to its prefix: the
	// resolver never reveals Bob's host.
	cs := ClientSubnet{Source: netip.MustParsePrefix("10.1.2.77/24")}
	if got, want := cs.Append(nil), []byte{0, 1, 24, 0, 10, 1, 2}; !bytes.Equal(got, want) {
		t.Errorf("wrote % x, want % x", got, want)
	}
}

func TestParseClientSubnetRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		wire []byte
	}{
		{"empty", nil},
		{"short header", []byte{0, 1, 24}},
		{"family 0", []byte{0, 0, 0, 0}},
		{"family 3", []byte{0, 3, 8, 0, 10}},
		{"IPv4 /33", []byte{0, 1, 33, 0, 1, 2, 3, 4, 5}},
		{"IPv4 scope /33", []byte{0, 1, 8, 33, 10}},
		{"IPv6 /129", append([]byte{0, 2, 129, 0}, make([]byte, 17)...)},
		{"address too short", []byte{0, 1, 24, 0, 10, 1}},
		{"address too long", []byte{0, 1, 16, 0, 10, 1, 2}},
		{"bits beyond the prefix", []byte{0, 1, 17, 0, 10, 1, 0x81}},
		{"address for /0", []byte{0, 1, 0, 0, 10}},
	} {
		_, err := ParseClientSubnet(tt.wire)
		if !errors.Is(err, ErrClientSubnet) {
			t.Errorf("%s (% x): err %v, want ErrClientSubnet", tt.name, tt.wire, err)
		}
	}
}

func TestEDNSClientSubnet(t *testing.T) {
	bob := ClientSubnet{Source: netip.MustParsePrefix("10.1.2.0/24")}
	// Through a whole message and back, next to an option of another code.
	q := NewQuery(MustParseName("netc6y-b23v.kingcdn.com"), TypeA)
	q.EDNS = &EDNS{UDPSize: 1232, Options: []Option{{Code: 10, Data: []byte("cookie12")}, bob.Option()}}
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	got, ok, err := m.EDNS.ClientSubnet()
	if err != nil || !ok || got != bob {
		t.Errorf("ClientSubnet() = %v, %v, %v; want %v", got, ok, err, bob)
	}

	var none *EDNS
	if _, ok, err := none.ClientSubnet(); ok || err != nil {
		t.Errorf("nil EDNS: %v, %v", ok, err)
	}
	if _, ok, err := (&EDNS{Options: []Option{{Code: 10}}}).ClientSubnet(); ok || err != nil {
		t.Errorf("no ECS: %v, %v", ok, err)
	}
	two := &EDNS{Options: []Option{bob.Option(), bob.Option()}}
	if _, _, err := two.ClientSubnet(); !errors.Is(err, ErrClientSubnet) {
		t.Errorf("two ECS options: err %v", err)
	}
	bad := &EDNS{Options: []Option{{Code: OptionClientSubnet, Data: []byte{0, 9, 0, 0}}}}
	if _, _, err := bad.ClientSubnet(); !errors.Is(err, ErrClientSubnet) {
		t.Errorf("family 9: err %v", err)
	}
}

func FuzzClientSubnet(f *testing.F) {
	f.Add([]byte{0, 1, 24, 0, 10, 1, 2})
	f.Add([]byte{0, 2, 48, 56, 0x20, 0x01, 0x0d, 0xb8, 0, 1})
	f.Add([]byte{0, 1, 0, 0})
	f.Add([]byte{0, 1, 17, 0, 10, 1, 0x81})
	f.Add([]byte{0, 1, 33, 0, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseClientSubnet(b)
		if err != nil {
			if !errors.Is(err, ErrClientSubnet) {
				t.Fatalf("% x: error %v does not match ErrClientSubnet", b, err)
			}
			return
		}
		// What is accepted is canonical: written back byte for byte.
		if got := cs.Append(nil); !bytes.Equal(got, b) {
			t.Fatalf("% x parsed as %v, written as % x", b, cs, got)
		}
	})
}
