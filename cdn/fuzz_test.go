package cdn

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", "public, max-age=60, s-maxage=600", "no-store", `private="Set-Cookie", no-cache`,
		"max-age=10, stale-while-revalidate=30, stale-if-error=86400", "max-stale", "max-age=\"5\"",
		"max-age=99999999999999999999", "MAX-AGE=3,,, ,immutable", `no-cache="a\"b", must-revalidate`,
		"min-fresh=5, only-if-cached", "max-age=-1", "=,=", "\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := ParseCacheControl([]string{s})
		for _, d := range []int64{int64(cc.MaxAge), int64(cc.SMaxAge), int64(cc.StaleIfError), int64(cc.StaleWhileRevalidate), int64(cc.MaxStale), int64(cc.MinFresh)} {
			if d < -1 || d > int64(maxDelta) {
				t.Fatalf("%q: duration %d out of range", s, d)
			}
		}
		// What String writes, ParseCacheControl reads back the same.
		if again := ParseCacheControl([]string{cc.String()}); again != cc {
			t.Fatalf("%q: parsed %+v, wrote %q, read back %+v", s, cc, cc.String(), again)
		}
	})
}

func FuzzRange(f *testing.F) {
	for _, s := range []string{
		"bytes=0-499", "bytes=500-", "bytes=-500", "bytes=0-0,-1", "bytes=5-1", "items=0-1",
		"bytes=0-1,2-3,4-5", "bytes= 1 - 2 ", "bytes=99999999999999999999-", "bytes=-0", "bytes=,",
	} {
		f.Add(s, int64(1000))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 || size > 1<<40 {
			return
		}
		rs, err := ParseRange(s, size)
		if err != nil {
			if rs != nil {
				t.Fatalf("%q: ranges %v with error %v", s, rs, err)
			}
			return
		}
		if len(rs) == 0 || len(rs) > MaxRanges {
			t.Fatalf("%q: %d ranges", s, len(rs))
		}
		for _, r := range rs {
			if r.Start < 0 || r.Length <= 0 || r.Start+r.Length > size {
				t.Fatalf("%q size %d: range %+v outside the object", s, size, r)
			}
		}
	})
}

func FuzzMap(f *testing.F) {
	f.Add("cluster east 40.7 -74.0\nedge e1 east 127.0.0.2:8080\nzone 10.1.0.0/16 east\n")
	f.Add("# nothing\n\n")
	f.Add("zone ::/0 x\n")
	f.Add("cluster a 1 1\nedge e a [::1]:80\nzone 2001:db8::/32 a # v6\n")
	f.Add("cluster a NaN 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMap(strings.NewReader(s))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		m.WriteTo(&buf)
		text := buf.String()
		again, err := ParseMap(strings.NewReader(text))
		if err != nil {
			t.Fatalf("map written from %q does not parse: %v\n%s", s, err, text)
		}
		var buf2 bytes.Buffer
		again.WriteTo(&buf2)
		if text != buf2.String() {
			t.Fatalf("not stable:\n%s\n---\n%s", text, buf2.String())
		}
		for _, z := range m.Zones {
			if zz, ok := m.ZoneFor(z.Prefix.Addr()); !ok || zz.Prefix.Bits() < z.Prefix.Bits() {
				t.Fatalf("zone %v does not cover its own address", z.Prefix)
			}
		}
	})
}

func FuzzClientSubnet(f *testing.F) {
	f.Add(AppendClientSubnet(nil, ClientSubnet{Source: netip.MustParsePrefix("10.1.2.0/24")}))
	f.Add(AppendClientSubnet(nil, ClientSubnet{Source: netip.MustParsePrefix("2001:db8::/48"), Scope: 48}))
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := ParseClientSubnet(b)
		if err != nil {
			return
		}
		if got := AppendClientSubnet(nil, cs); !bytes.Equal(got, b) {
			t.Fatalf("% x parsed as %+v, written as % x", b, cs, got)
		}
	})
}
