package metainfo

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"testing"
)

// Piece hashing throughput: HashPieces over 64 MiB in 256 KiB pieces, with
// one worker and with one per core, against crypto/sha1 alone on the same
// bytes. Compare the MB/s columns. (HashPieces copies each piece into a
// buffer that stays in cache; on some machines that makes it faster than
// sha1-raw, which reads the big buffer directly.)
func BenchmarkHashPieces(b *testing.B) {
	data := bytes.Repeat([]byte("netcinema.com KingCDN "), (64<<20)/22)
	// crypto/sha1 alone on one 256 KiB piece that stays in cache: the
	// hash function's own speed, the ceiling for one core.
	b.Run("sha1-hot", func(b *testing.B) {
		piece := data[:DefaultPieceLength]
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for range len(data) / DefaultPieceLength {
				sha1.Sum(piece)
			}
		}
	})
	// crypto/sha1 alone over the 64 MiB, piece by piece, straight from
	// memory.
	b.Run("sha1-raw", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for off := 0; off < len(data); off += DefaultPieceLength {
				sha1.Sum(data[off:min(off+DefaultPieceLength, len(data))])
			}
		}
	})
	for _, workers := range []int{1, 0} {
		name := fmt.Sprintf("workers=%d", workers)
		if workers == 0 {
			name = "workers=GOMAXPROCS"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := HashPieces(context.Background(), bytes.NewReader(data), DefaultPieceLength, workers, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
