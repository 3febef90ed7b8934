package metainfo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"appnet.dev/bittorrent/metainfo"
)

// Bob makes a torrent of a file to share: the file is cut into pieces,
// each piece hashed, and the info hash names the result (mktorrent and
// libtorrent give the same hash for the same file and options).
func ExampleCreate() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "crepes.txt")
	os.WriteFile(path, []byte(strings.Repeat("flour, eggs, milk\n", 40000)), 0o644)

	m, err := metainfo.Create(context.Background(), path, metainfo.CreateOptions{
		Announce:    "http://tracker.crepes.fr:6969/announce",
		PieceLength: 256 << 10,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Info.Name, m.Info.TotalLength(), "bytes in", m.Info.NumPieces(), "pieces")
	fmt.Println("last piece:", m.Info.PieceSize(m.Info.NumPieces()-1), "bytes")
	fmt.Println("info hash:", m.InfoHash())
	// Output:
	// crepes.txt 720000 bytes in 3 pieces
	// last piece: 195712 bytes
	// info hash: 65398f4776af9c3ea235e2da5caa16acfbe4c632
}

func ExampleParseMagnet() {
	m, err := metainfo.ParseMagnet("magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=netcinema+trailer&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce")
	if err != nil {
		panic(err)
	}
	fmt.Println(m.InfoHash)
	fmt.Println(m.Name)
	fmt.Println(m.Trackers)
	// Output:
	// c12fe1c06bba254a9dc9f519b335aa7c1367a88a
	// netcinema trailer
	// [udp://127.0.0.1:6969/announce]
}
