package bittorrent

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"appnet.dev/bittorrent/metainfo"
)

// A Storage keeps a torrent's content in its files under a directory, as
// every client lays them out: a single-file torrent is the file Info.Name,
// a multi-file torrent is the directory Info.Name with the files' paths
// under it. Pieces run across file boundaries; Storage maps a piece's bytes
// onto the files it covers. Its methods are safe for concurrent use.
type Storage struct {
	info   *metainfo.Info
	layout Layout
	files  []storageFile
}

type storageFile struct {
	path        string
	offset, len int64
	f           *os.File
	readOnly    bool
}

// StorageOptions tune OpenStorage.
type StorageOptions struct {
	// Preallocate sets every file to its full length at once (sparse where
	// the file system allows), instead of letting files grow as pieces land.
	Preallocate bool
	// ReadOnly opens existing files only, for seeding; a missing file is an
	// error.
	ReadOnly bool
}

// ErrHashMismatch reports a piece whose SHA-1 is not the one in the torrent.
var ErrHashMismatch = errors.New("bittorrent: piece hash mismatch")

// OpenStorage opens (creating them unless opt.ReadOnly) the files of the
// torrent under dir. The paths were checked when the torrent was parsed;
// OpenStorage checks them again, so a hand-built Info cannot escape dir.
func OpenStorage(dir string, info *metainfo.Info, opt StorageOptions) (*Storage, error) {
	s := &Storage{info: info, layout: Layout{Length: info.TotalLength(), PieceLength: info.PieceLength}}
	for _, fr := range info.FileRanges() {
		if err := metainfo.CheckPath(fr.Path); err != nil {
			s.Close()
			return nil, fmt.Errorf("bittorrent: storage: %w", err)
		}
		path := filepath.Join(append([]string{dir}, fr.Path...)...)
		var f *os.File
		var err error
		if opt.ReadOnly {
			f, err = os.Open(path)
		} else {
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
			}
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("bittorrent: storage: %w", err)
		}
		if opt.Preallocate && !opt.ReadOnly {
			if st, err := f.Stat(); err == nil && st.Size() < fr.Length {
				if err := f.Truncate(fr.Length); err != nil {
					f.Close()
					s.Close()
					return nil, fmt.Errorf("bittorrent: storage: preallocating %s: %w", path, err)
				}
			}
		}
		s.files = append(s.files, storageFile{path: path, offset: fr.Offset, len: fr.Length, f: f, readOnly: opt.ReadOnly})
	}
	return s, nil
}

// Layout is how the torrent is cut into pieces and blocks.
func (s *Storage) Layout() Layout { return s.layout }

// Info is the torrent's info dictionary.
func (s *Storage) Info() *metainfo.Info { return s.info }

// span calls fn for every part of [off, off+n) that falls in a file, with
// the file, the offset inside it and the range inside [0, n).
func (s *Storage) span(off int64, n int, fn func(f storageFile, fileOff int64, lo, hi int) error) error {
	if off < 0 || off+int64(n) > s.layout.Length {
		return fmt.Errorf("bittorrent: storage: range %d+%d beyond %d bytes", off, n, s.layout.Length)
	}
	end := off + int64(n)
	for _, f := range s.files {
		if f.offset+f.len <= off || f.offset >= end || f.len == 0 {
			continue
		}
		lo := max(off, f.offset)
		hi := min(end, f.offset+f.len)
		if err := fn(f, lo-f.offset, int(lo-off), int(hi-off)); err != nil {
			return err
		}
	}
	return nil
}

// ReadAt reads len(p) bytes of the torrent's content at off. Bytes of a
// file not yet written read as zeros.
func (s *Storage) ReadAt(p []byte, off int64) (int, error) {
	err := s.span(off, len(p), func(f storageFile, fileOff int64, lo, hi int) error {
		n, err := f.f.ReadAt(p[lo:hi], fileOff)
		if err == io.EOF {
			clear(p[lo+n : hi])
			err = nil
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteAt writes p at offset off of the torrent's content.
func (s *Storage) WriteAt(p []byte, off int64) (int, error) {
	err := s.span(off, len(p), func(f storageFile, fileOff int64, lo, hi int) error {
		if f.readOnly {
			return fmt.Errorf("bittorrent: storage: %s is read-only", f.path)
		}
		_, err := f.f.WriteAt(p[lo:hi], fileOff)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadBlock reads a block of a piece: the peer.BlockSource a connection
// fills its piece messages from.
func (s *Storage) ReadBlock(index, begin uint32, p []byte) error {
	b := Block{Piece: int(index), Begin: int(begin), Length: len(p)}
	if !s.layout.Valid(b, len(p)) {
		return fmt.Errorf("bittorrent: storage: no %v", b)
	}
	_, err := s.ReadAt(p, int64(index)*s.layout.PieceLength+int64(begin))
	return err
}

// CheckPiece reports whether data is piece i, by its SHA-1.
func (s *Storage) CheckPiece(i int, data []byte) bool {
	if int64(len(data)) != s.layout.PieceSize(i) {
		return false
	}
	sum := sha1.Sum(data)
	want := s.info.PieceHash(i)
	return bytes.Equal(sum[:], want[:])
}

// WritePiece checks data against piece i's hash and writes it. A piece
// that does not match is not written and gives ErrHashMismatch.
func (s *Storage) WritePiece(i int, data []byte) error {
	if !s.CheckPiece(i, data) {
		return fmt.Errorf("%w: piece %d", ErrHashMismatch, i)
	}
	_, err := s.WriteAt(data, int64(i)*s.layout.PieceLength)
	return err
}

// Verify hashes every piece on disk, on every core, and returns the set of
// pieces that are good: what a restarted download resumes from, and what a
// seed proves it has. progress, if not nil, is called after each piece
// from one goroutine at a time.
func (s *Storage) Verify(ctx context.Context, progress func(done, total int)) (Bitfield, error) {
	n := s.layout.NumPieces()
	have := NewBitfield(n)
	workers := min(runtime.GOMAXPROCS(0), max(n, 1))
	next := make(chan int)
	var mu sync.Mutex
	var firstErr error
	done := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, s.layout.PieceLength)
			for i := range next {
				data := buf[:s.layout.PieceSize(i)]
				_, err := s.ReadAt(data, int64(i)*s.layout.PieceLength)
				ok := err == nil && s.CheckPiece(i, data)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if ok {
					have.Set(i)
				}
				done++
				if progress != nil {
					progress(done, n)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		err = firstErr
	}
	return have, err
}

// Sync flushes written data to disk.
func (s *Storage) Sync() error {
	var first error
	for _, f := range s.files {
		if !f.readOnly {
			if err := f.f.Sync(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

// Close closes the files.
func (s *Storage) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.files = nil
	return first
}
