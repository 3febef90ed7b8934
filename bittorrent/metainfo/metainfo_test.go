package metainfo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/bittorrent/bencode"
	"github.com/google/go-cmp/cmp"
)

func TestParseMktorrentSingle(t *testing.T) {
	m, err := Load("testdata/single-private.torrent")
	if err != nil {
		t.Fatal(err)
	}
	if m.Announce != "http://127.0.0.1:6969/announce" || m.Comment != "from gaia.cs.umass.edu" ||
		!strings.HasPrefix(m.CreatedBy, "mktorrent") || !m.CreationDate.IsZero() {
		t.Errorf("header fields: %+v", m)
	}
	info := m.Info
	if info.Name != "crepes.txt" || info.MultiFile() || !info.Private || info.PieceLength != 1<<15 {
		t.Errorf("info: %+v", info)
	}
	if info.TotalLength() != 288894 || info.NumPieces() != 9 || info.PieceSize(8) != 288894-8*(1<<15) {
		t.Errorf("length %d pieces %d last %d", info.TotalLength(), info.NumPieces(), info.PieceSize(8))
	}
	data, _ := os.ReadFile("testdata/single-private.torrent")
	i := bytes.Index(data, []byte("4:infod")) + 6
	if want := sha1.Sum(data[i : len(data)-1]); m.InfoHash() != want {
		t.Errorf("InfoHash = %v, want the SHA-1 of the file's info bytes %x", m.InfoHash(), want)
	}
	out, err := m.Bytes()
	if err != nil || !bytes.Equal(out, data) {
		t.Errorf("Bytes() differs from the file:\n%q\n%q (%v)", out, data, err)
	}
}

func TestParseMktorrentMulti(t *testing.T) {
	m, err := Load("testdata/multi.torrent")
	if err != nil {
		t.Fatal(err)
	}
	wantTiers := [][]string{{"http://127.0.0.1:6969/announce"}, {"udp://127.0.0.1:6969/announce", "http://127.0.0.2:6969/announce"}}
	if diff := cmp.Diff(wantTiers, m.AnnounceList); diff != "" {
		t.Errorf("announce-list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"http://netcinema.com/files/"}, m.URLList); diff != "" {
		t.Errorf("url-list (-want +got):\n%s", diff)
	}
	wantFiles := []FileRange{
		{Path: []string{"netcinema", "episodes", "one.txt"}, Offset: 0, Length: 108894},
		{Path: []string{"netcinema", "episodes", "two.txt"}, Offset: 108894, Length: 43885},
		{Path: []string{"netcinema", "trailer.txt"}, Offset: 152779, Length: 26},
	}
	if diff := cmp.Diff(wantFiles, m.Info.FileRanges()); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	wantTrackers := []string{"http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969/announce", "http://127.0.0.2:6969/announce"}
	if diff := cmp.Diff(wantTrackers, m.Trackers()); diff != "" {
		t.Errorf("Trackers (-want +got):\n%s", diff)
	}
	// url-list was a single string; Bytes writes the list form, but the
	// info bytes and so the hash are untouched.
	out, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil || back.InfoHash() != m.InfoHash() {
		t.Fatalf("re-parse: %v, hash %v want %v", err, back.InfoHash(), m.InfoHash())
	}
}

// An info dictionary with keys this package does not know keeps them: the
// hash is of the bytes, not of the fields.
func TestInfoHashKeepsUnknownKeys(t *testing.T) {
	info := "d6:lengthi3e4:name5:a.txt12:piece lengthi16384e6:pieces20:" + strings.Repeat("x", 20) + "10:x-cdn-hint7:KingCDNe"
	data := []byte("d8:announce17:http://t/announce4:info" + info + "e")
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if m.InfoHash() != sha1.Sum([]byte(info)) {
		t.Errorf("InfoHash does not hash the raw info bytes")
	}
	reencoded, _ := m.Info.marshal()
	if sha1.Sum(reencoded) == m.InfoHash() {
		t.Errorf("re-encoding the known fields should have lost the unknown key (test is meaningless)")
	}
	out, _ := m.Bytes()
	if !bytes.Equal(out, data) {
		t.Errorf("Bytes() = %q, want %q", out, data)
	}
}

func TestParseRejects(t *testing.T) {
	pieces := func(n int) string { return bencodeString(strings.Repeat("h", 20*n)) }
	tests := []struct {
		name, info, why string
	}{
		{"dotdot", "d5:filesld6:lengthi1e4:pathl2:..6:passwdeee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", `".."`},
		{"absolute", "d5:filesld6:lengthi1e4:pathl4:/etceee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "separator"},
		{"empty component", "d5:filesld6:lengthi1e4:pathl1:a0:eee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "empty name"},
		{"empty path", "d5:filesld6:lengthi1e4:pathleee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "empty path"},
		{"dot", "d5:filesld6:lengthi1e4:pathl1:.eee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", `"."`},
		{"backslash", "d5:filesld6:lengthi1e4:pathl4:a\\..eee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "separator"},
		{"name dotdot", "d6:lengthi1e4:name2:..12:piece lengthi16e6:pieces" + pieces(1) + "e", `".."`},
		{"name slash", "d6:lengthi1e4:name4:/etc12:piece lengthi16e6:pieces" + pieces(1) + "e", "separator"},
		{"no name", "d6:lengthi1e12:piece lengthi16e6:pieces" + pieces(1) + "e", "empty name"},
		{"duplicate file", "d5:filesld6:lengthi1e4:pathl1:aeed6:lengthi1e4:pathl1:aeee4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "twice"},
		{"both", "d5:filesld6:lengthi1e4:pathl1:aeee6:lengthi1e4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "both"},
		{"neither", "d4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "e", "neither"},
		{"no files", "d5:filesle4:name1:x12:piece lengthi16e6:pieces0:e", "empty file list"},
		{"negative length", "d6:lengthi-1e4:name1:x12:piece lengthi16e6:pieces0:e", "out of range"},
		{"zero piece length", "d6:lengthi1e4:name1:x12:piece lengthi0e6:pieces" + pieces(1) + "e", "piece length"},
		{"huge piece length", "d6:lengthi1e4:name1:x12:piece lengthi1099511627776e6:pieces" + pieces(1) + "e", "piece length"},
		{"ragged pieces", "d6:lengthi1e4:name1:x12:piece lengthi16e6:pieces3:abce", "multiple of 20"},
		{"too few pieces", "d6:lengthi40e4:name1:x12:piece lengthi16e6:pieces" + pieces(2) + "e", "want 3"},
		{"too many pieces", "d6:lengthi1e4:name1:x12:piece lengthi16e6:pieces" + pieces(2) + "e", "want 1"},
		{"overflow", "d5:filesld6:lengthi9223372036854775807e4:pathl1:aeed6:lengthi9223372036854775807e4:pathl1:beee4:name1:x12:piece lengthi16e6:pieces0:e", "out of range"},
		{"private 2", "d6:lengthi1e4:name1:x12:piece lengthi16e6:pieces" + pieces(1) + "7:privatei2ee", "private"},
		{"unsorted", "d4:name1:x6:lengthi1e12:piece lengthi16e6:pieces" + pieces(1) + "e", "out of order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte("d4:info" + tt.info + "e"))
			if err == nil || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("Parse = %v, want an error mentioning %q", err, tt.why)
			}
		})
	}
	for _, bad := range []string{"", "de", "d4:infoi1ee", "d4:info0:e", "le"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func bencodeString(s string) string { return string(bencode.AppendString(nil, s)) }

func TestReadLimit(t *testing.T) {
	data, err := os.ReadFile("testdata/multi.torrent")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readLimited(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Errorf("a torrent of exactly the limit: %v", err)
	}
	_, err = readLimited(bytes.NewReader(data), int64(len(data)-1))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a torrent one byte over the limit: %v", err)
	}
}

func TestSetInfoAndWrite(t *testing.T) {
	m := &MetaInfo{Announce: "http://tracker.hamburger.edu/announce", CreationDate: time.Unix(1700000000, 0).UTC()}
	info := Info{Name: "hello.txt", PieceLength: 4, Length: 5, Pieces: []byte(strings.Repeat("p", 40))}
	if err := m.SetInfo(info); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "d8:announce37:http://tracker.hamburger.edu/announce13:creation datei1700000000e4:infod6:lengthi5e4:name9:hello.txt12:piece lengthi4e6:pieces40:" + strings.Repeat("p", 40) + "ee"
	if buf.String() != want {
		t.Errorf("Write:\n got %q\nwant %q", buf.String(), want)
	}
	back, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := m.SetInfo(Info{Name: "x", PieceLength: 4, Length: 5}); err == nil {
		t.Errorf("SetInfo accepted an info without piece hashes")
	}
	if _, err := (&MetaInfo{}).Bytes(); err == nil {
		t.Errorf("Bytes without info succeeded")
	}
}

func TestZeroLengthSingleFile(t *testing.T) {
	var m MetaInfo
	if err := m.SetInfo(Info{Name: "empty", PieceLength: 16384, Pieces: []byte{}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(m.InfoBytes, []byte("6:lengthi0e")) {
		t.Errorf("a zero-length file must still say length: %q", m.InfoBytes)
	}
	b, _ := m.Bytes()
	if _, err := Parse(b); err != nil {
		t.Errorf("re-parse: %v", err)
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "netcinema")
	files := map[string][]byte{
		"trailer.txt":      []byte("Madagascar 2, the trailer\n"),
		"episodes/one.bin": bytes.Repeat([]byte("1234567"), 10000),
		"episodes/two.bin": bytes.Repeat([]byte("abc"), 7777),
		"episodes/zero":    {},
	}
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("trailer.txt", filepath.Join(root, "link"))

	var calls []int64
	m, err := Create(context.Background(), root, CreateOptions{
		Announce:    "http://127.0.0.1:6969/announce",
		PieceLength: 1 << 14,
		Private:     true,
		Workers:     3,
		Progress: func(hashed, total int64) {
			if total != 70000+23331+26 {
				t.Errorf("progress total %d", total)
			}
			calls = append(calls, hashed)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []File{
		{70000, []string{"episodes", "one.bin"}},
		{23331, []string{"episodes", "two.bin"}},
		{0, []string{"episodes", "zero"}},
		{26, []string{"trailer.txt"}},
	}
	if diff := cmp.Diff(wantFiles, m.Info.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	// The pieces are the hashes of the files' bytes laid end to end.
	stream := append(append(append([]byte{}, files["episodes/one.bin"]...), files["episodes/two.bin"]...), files["trailer.txt"]...)
	var want []byte
	for off := 0; off < len(stream); off += 1 << 14 {
		h := sha1.Sum(stream[off:min(off+1<<14, len(stream))])
		want = append(want, h[:]...)
	}
	if !bytes.Equal(m.Info.Pieces, want) {
		t.Errorf("piece hashes differ")
	}
	if len(calls) != m.Info.NumPieces() || calls[len(calls)-1] != int64(len(stream)) {
		t.Errorf("progress calls %v for %d pieces", calls, m.Info.NumPieces())
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] <= calls[i-1] {
			t.Errorf("progress not increasing: %v", calls)
		}
	}
	if m.Info.Name != "netcinema" || !m.Info.Private {
		t.Errorf("info %+v", m.Info)
	}
	// Single file.
	single, err := Create(context.Background(), filepath.Join(root, "trailer.txt"), CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if single.Info.MultiFile() || single.Info.Length != 26 || single.Info.PieceLength != DefaultPieceLength ||
		single.Info.PieceHash(0) != sha1.Sum(files["trailer.txt"]) {
		t.Errorf("single: %+v", single.Info)
	}
	// "." is named after the directory it is.
	t.Chdir(root)
	dot, err := Create(context.Background(), ".", CreateOptions{})
	if err != nil || dot.Info.Name != "netcinema" || dot.InfoHash() == m.InfoHash() {
		t.Errorf("Create(.) = %+v, %v", dot, err)
	}
	if _, err := Create(context.Background(), t.TempDir(), CreateOptions{}); err == nil {
		t.Errorf("Create of an empty directory succeeded")
	}
}

func TestHashPieces(t *testing.T) {
	data := bytes.Repeat([]byte("gaia.cs.umass.edu "), 5000) // 90000 bytes
	for _, workers := range []int{1, 2, 7} {
		for _, pl := range []int64{1, 1000, 16384, 90000, 1 << 20} {
			data := data
			if pl == 1 {
				data = data[:777] // one-byte pieces: keep it short
			}
			got, err := HashPieces(context.Background(), bytes.NewReader(data), pl, workers, nil)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for off := int64(0); off < int64(len(data)); off += pl {
				h := sha1.Sum(data[off:min(off+pl, int64(len(data)))])
				want = append(want, h[:]...)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("workers %d piece length %d: hashes differ", workers, pl)
			}
		}
	}
	got, err := HashPieces(context.Background(), bytes.NewReader(nil), 16384, 2, nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty input: %q %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := HashPieces(ctx, bytes.NewReader(data), 16, 2, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	boom := errors.New("disk on fire")
	if _, err := HashPieces(context.Background(), &failingReader{data[:50000], boom}, 1000, 2, nil); !errors.Is(err, boom) {
		t.Errorf("read error: %v", err)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestMagnet(t *testing.T) {
	h, _ := ParseHash("c12fe1c06bba254a9dc9f519b335aa7c1367a88a")
	tests := []struct {
		in   string
		want Magnet
	}{
		{"magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a", Magnet{InfoHash: h}},
		{"magnet:?xt=urn:btih:C12FE1C06BBA254A9DC9F519B335AA7C1367A88A&dn=crepes+recipe&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce&tr=udp://127.0.0.1:6969",
			Magnet{InfoHash: h, Name: "crepes recipe", Trackers: []string{"http://127.0.0.1:6969/announce", "udp://127.0.0.1:6969"}}},
		{"magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK&tr.1=http://a/announce&tr.2=http://b/announce&x.pe=127.0.0.2:6881&ws=http://netcinema.com/f",
			Magnet{InfoHash: h, Trackers: []string{"http://a/announce", "http://b/announce"}, Peers: []string{"127.0.0.2:6881"}, WebSeeds: []string{"http://netcinema.com/f"}}},
	}
	for _, tt := range tests {
		got, err := ParseMagnet(tt.in)
		if err != nil {
			t.Errorf("ParseMagnet(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseMagnet(%q) (-want +got):\n%s", tt.in, diff)
		}
		back, err := ParseMagnet(got.String())
		if err != nil || cmp.Diff(got, back) != "" {
			t.Errorf("String round trip of %q: %q, %v", tt.in, got.String(), err)
		}
	}
	want := "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=crepes+recipe&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce"
	if s := (Magnet{InfoHash: h, Name: "crepes recipe", Trackers: []string{"http://127.0.0.1:6969/announce"}}).String(); s != want {
		t.Errorf("String = %q, want %q", s, want)
	}
	for _, bad := range []string{
		"http://x/?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a",
		"magnet:?dn=x",
		"magnet:?xt=urn:btih:c12f",
		"magnet:?xt=urn:btih:zz2fe1c06bba254a9dc9f519b335aa7c1367a88a",
		"magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e",
		"magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&xt=urn:btih:0000000000000000000000000000000000000000",
		"magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=%zz",
		"magnet:?xt=urn:btih:" + strings.Repeat("a", maxMagnetLength),
	} {
		if m, err := ParseMagnet(bad); err == nil {
			t.Errorf("ParseMagnet(%.80q) = %+v, want an error", bad, m)
		}
	}
	mi, err := Load("testdata/multi.torrent")
	if err != nil {
		t.Fatal(err)
	}
	mg := mi.Magnet()
	if mg.InfoHash != mi.InfoHash() || mg.Name != "netcinema" || len(mg.Trackers) != 3 {
		t.Errorf("Magnet() = %+v", mg)
	}
}
