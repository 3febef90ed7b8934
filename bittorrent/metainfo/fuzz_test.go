package metainfo

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse: any input is rejected cleanly or parses to a torrent whose
// encoding parses again to the same info hash, with safe file paths.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/single-private.torrent", "testdata/multi.torrent"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("d4:infod5:filesld6:lengthi1e4:pathl2:..6:passwdeee4:name1:x12:piece lengthi16e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"))
	f.Add([]byte("d4:infod6:lengthi0e4:name1:x12:piece lengthi16e6:pieces0:ee"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		for _, fr := range m.Info.FileRanges() {
			if err := CheckPath(fr.Path); err != nil {
				t.Fatalf("accepted unsafe path %q", fr.Path)
			}
		}
		out, err := m.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if back.InfoHash() != m.InfoHash() || !bytes.Equal(back.InfoBytes, m.InfoBytes) {
			t.Fatalf("info hash changed")
		}
		_ = m.Magnet().String()
	})
}

// FuzzParseMagnet: magnet links parse or fail cleanly, and what parses
// survives a round trip through String.
func FuzzParseMagnet(f *testing.F) {
	f.Add("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=crepes&tr=http://127.0.0.1:6969/announce")
	f.Add("magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&tr.1=x&x.pe=127.0.0.2:6881")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMagnet(s)
		if err != nil {
			return
		}
		back, err := ParseMagnet(m.String())
		if err != nil || back.InfoHash != m.InfoHash || back.Name != m.Name || len(back.Trackers) != len(m.Trackers) {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", s, back, m, err)
		}
	})
}
