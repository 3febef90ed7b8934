package bittorrent

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"appnet.dev/bittorrent/metainfo"
)

// writeFiles makes a directory of files of the given sizes with random
// content and returns its path.
func writeFiles(t testing.TB, dir string, sizes map[string]int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	root := filepath.Join(dir, "gaia")
	for name, n := range sizes {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n+8)
		for i := 0; i < n; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
		}
		b = b[:n]
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestStorageMultiFile(t *testing.T) {
	src := t.TempDir()
	// Pieces of 20000 bytes run across every file boundary; one file is empty.
	root := writeFiles(t, src, map[string]int{"a.txt": 30000, "b/c.bin": 5, "b/d.bin": 0, "e.bin": 45001}, 1)
	mi, err := metainfo.Create(context.Background(), root, metainfo.CreateOptions{PieceLength: 20000})
	if err != nil {
		t.Fatal(err)
	}
	seed, err := OpenStorage(src, &mi.Info, StorageOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer seed.Close()
	have, err := seed.Verify(context.Background(), nil)
	if err != nil || !have.Complete() {
		t.Fatalf("seed Verify = %v, %v; want every piece", have, err)
	}

	dst := t.TempDir()
	leech, err := OpenStorage(dst, &mi.Info, StorageOptions{Preallocate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer leech.Close()
	if st, err := os.Stat(filepath.Join(dst, "gaia", "e.bin")); err != nil || st.Size() != 45001 {
		t.Errorf("preallocated e.bin: %v, %v", st, err)
	}
	got, _ := leech.Verify(context.Background(), nil)
	if got.Count() != 0 {
		t.Errorf("empty files verify as %v", got)
	}
	l := seed.Layout()
	for i := range l.NumPieces() {
		data := make([]byte, l.PieceSize(i))
		if _, err := seed.ReadAt(data, int64(i)*l.PieceLength); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			bad := bytes.Clone(data)
			bad[7] ^= 1
			if err := leech.WritePiece(i, bad); !errors.Is(err, ErrHashMismatch) {
				t.Errorf("WritePiece(bad) = %v, want ErrHashMismatch", err)
			}
		}
		if err := leech.WritePiece(i, data); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a.txt", "b/c.bin", "b/d.bin", "e.bin"} {
		want, _ := os.ReadFile(filepath.Join(root, name))
		got, err := os.ReadFile(filepath.Join(dst, "gaia", name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs after download (%v)", name, err)
		}
	}
	// A byte flipped on disk costs exactly the piece that holds it.
	f, _ := os.OpenFile(filepath.Join(dst, "gaia", "e.bin"), os.O_RDWR, 0)
	f.WriteAt([]byte{0}, 45000) // the last byte of the torrent
	f.Close()
	got, err = leech.Verify(context.Background(), nil)
	last := l.NumPieces() - 1
	if err != nil || got.Has(last) || got.Count() != l.NumPieces()-1 {
		t.Errorf("after corruption Verify = %v, %v; want all but piece %d", got, err, last)
	}
	var blk [5]byte
	if err := seed.ReadBlock(1, 9998, blk[:]); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(root, "a.txt"))
	if !bytes.Equal(blk[:2], want[29998:]) {
		t.Errorf("ReadBlock across files = %x", blk)
	}
	if err := seed.ReadBlock(uint32(last), 0, make([]byte, 20000)); err == nil {
		t.Error("ReadBlock beyond the last piece succeeded")
	}
}

func TestStorageRejectsEscapingPaths(t *testing.T) {
	info := &metainfo.Info{Name: "x", PieceLength: 16, Files: []metainfo.File{{Length: 1, Path: []string{"..", "evil"}}}, Pieces: make([]byte, 20)}
	if _, err := OpenStorage(t.TempDir(), info, StorageOptions{}); err == nil {
		t.Error("OpenStorage accepted a path with ..")
	}
}

func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	root := writeFiles(b, dir, map[string]int{"big.bin": 64 << 20}, 2)
	mi, err := metainfo.Create(context.Background(), root, metainfo.CreateOptions{PieceLength: 256 << 10})
	if err != nil {
		b.Fatal(err)
	}
	s, err := OpenStorage(dir, &mi.Info, StorageOptions{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(64 << 20)
	for b.Loop() {
		have, err := s.Verify(context.Background(), nil)
		if err != nil || !have.Complete() {
			b.Fatal(have, err)
		}
	}
}

func BenchmarkCheckPiece(b *testing.B) {
	info := &metainfo.Info{Name: "x", PieceLength: 256 << 10, Length: 256 << 10, Pieces: make([]byte, 20)}
	s := &Storage{info: info, layout: Layout{Length: info.Length, PieceLength: info.PieceLength}}
	data := make([]byte, 256<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s.CheckPiece(0, data)
	}
}

// BenchmarkSHA1 is crypto/sha1 alone on a 256 KiB piece: the ceiling
// CheckPiece and Verify are measured against.
func BenchmarkSHA1(b *testing.B) {
	data := make([]byte, 256<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sha1.Sum(data)
	}
}
