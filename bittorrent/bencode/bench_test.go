package bencode

import (
	"fmt"
	"testing"
)

type benchFile struct {
	Length int64    `bencode:"length"`
	Path   []string `bencode:"path"`
}

type benchInfo struct {
	Files       []benchFile `bencode:"files"`
	Name        string      `bencode:"name"`
	PieceLength int64       `bencode:"piece length"`
	Pieces      []byte      `bencode:"pieces"`
}

type benchTorrent struct {
	Announce string    `bencode:"announce"`
	Info     benchInfo `bencode:"info"`
}

// largeTorrent builds a multi-file torrent of 4 GiB in 256 KiB pieces
// (16384 piece hashes, 320 KiB) over 5000 files.
func largeTorrent(b *testing.B) []byte {
	var t benchTorrent
	t.Announce = "http://tracker.hamburger.edu:6969/announce"
	t.Info.Name = "netcinema"
	t.Info.PieceLength = 256 << 10
	total := int64(0)
	for i := range 5000 {
		n := int64(4<<30) / 5000
		t.Info.Files = append(t.Info.Files, benchFile{n, []string{"season", fmt.Sprintf("episode-%04d.mp4", i)}})
		total += n
	}
	t.Info.Pieces = make([]byte, 20*((total+t.Info.PieceLength-1)/t.Info.PieceLength))
	data, err := Marshal(t)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkDecodeLargeTorrent(b *testing.B) {
	data := largeTorrent(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var t benchTorrent
		if err := Unmarshal(data, &t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidLargeTorrent(b *testing.B) {
	data := largeTorrent(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if !Valid(data) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkEncodeLargeTorrent(b *testing.B) {
	data := largeTorrent(b)
	var t benchTorrent
	if err := Unmarshal(data, &t); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(t); err != nil {
			b.Fatal(err)
		}
	}
}
