package metainfo

import (
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// DefaultPieceLength is the piece length Create uses when none is given:
// the slides' 256 KB chunks.
const DefaultPieceLength = 256 << 10

// CreateOptions say how Create builds a torrent. The zero value makes a
// public torrent with no tracker, in 256 KiB pieces.
type CreateOptions struct {
	Announce     string     // the tracker's announce URL
	AnnounceList [][]string // tiers of trackers (BEP 12)
	URLList      []string   // web seeds (BEP 19)
	Name         string     // the torrent's name; default: the base name of the path
	PieceLength  int64      // default DefaultPieceLength
	Private      bool       // BEP 27
	Source       string
	Comment      string
	CreatedBy    string
	CreationDate time.Time // zero: no date, so the output is reproducible

	// Progress, if set, is called from Create's goroutine after each piece
	// is hashed, with the bytes hashed so far and the total.
	Progress func(hashed, total int64)

	// Workers is how many goroutines hash pieces; default GOMAXPROCS.
	Workers int
}

// Create builds a torrent of the file or directory at path. A directory
// becomes a multi-file torrent of every regular file below it, in
// lexical order of their paths; symbolic links and other special files are
// skipped. Hashing reads the files once, in order, and hashes pieces on
// opt.Workers goroutines.
func Create(ctx context.Context, path string, opt CreateOptions) (*MetaInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("metainfo: create: %w", err)
	}
	info := Info{
		Name:        opt.Name,
		PieceLength: opt.PieceLength,
		Private:     opt.Private,
		Source:      opt.Source,
	}
	if info.Name == "" {
		abs, err := filepath.Abs(path) // so that "." is named after the directory
		if err != nil {
			return nil, fmt.Errorf("metainfo: create: %w", err)
		}
		info.Name = filepath.Base(abs)
	}
	if info.PieceLength == 0 {
		info.PieceLength = DefaultPieceLength
	}
	if info.PieceLength < 0 || info.PieceLength > MaxPieceLength {
		return nil, fmt.Errorf("metainfo: create: piece length %d out of range (1 to %d)", info.PieceLength, MaxPieceLength)
	}
	var disk []diskFile
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(path, p)
			if err != nil {
				return err
			}
			parts := strings.Split(filepath.ToSlash(rel), "/")
			info.Files = append(info.Files, File{Length: fi.Size(), Path: parts})
			disk = append(disk, diskFile{p, fi.Size()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("metainfo: create: %w", err)
		}
		if len(info.Files) == 0 {
			return nil, fmt.Errorf("metainfo: create: no regular files in %s", path)
		}
	} else {
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("metainfo: create: %s is not a regular file", path)
		}
		info.Length = st.Size()
		disk = []diskFile{{path, st.Size()}}
	}

	total := info.TotalLength()
	var progress func(int64)
	if opt.Progress != nil {
		progress = func(n int64) { opt.Progress(n, total) }
	}
	r := &filesReader{files: disk}
	defer r.close()
	info.Pieces, err = HashPieces(ctx, r, info.PieceLength, opt.Workers, progress)
	if err != nil {
		return nil, fmt.Errorf("metainfo: create: %w", err)
	}
	m := &MetaInfo{
		Announce:     opt.Announce,
		AnnounceList: opt.AnnounceList,
		URLList:      opt.URLList,
		Comment:      opt.Comment,
		CreatedBy:    opt.CreatedBy,
		CreationDate: opt.CreationDate,
	}
	if err := m.SetInfo(info); err != nil {
		return nil, err
	}
	return m, nil
}

type diskFile struct {
	path string
	size int64 // as listed; the file must still have this many bytes
}

// filesReader reads a list of files as one stream, opening each in turn
// and reading exactly the size it was listed with.
type filesReader struct {
	files []diskFile
	cur   *os.File
	left  int64
}

func (r *filesReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.left == 0 {
		r.close()
		if len(r.files) == 0 {
			return 0, io.EOF
		}
		f, err := os.Open(r.files[0].path)
		if err != nil {
			return 0, err
		}
		r.cur, r.left = f, r.files[0].size
		r.files = r.files[1:]
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.cur.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		if r.left > 0 {
			return n, fmt.Errorf("%s shrank while it was hashed", r.cur.Name())
		}
		err = nil
	}
	return n, err
}

func (r *filesReader) close() {
	if r.cur != nil {
		r.cur.Close()
		r.cur = nil
	}
}

// HashPieces reads r to its end and returns the SHA-1 hashes of its
// pieces of pieceLength bytes (the last may be shorter), concatenated as
// in Info.Pieces. One goroutine reads while workers goroutines (default
// GOMAXPROCS) hash; all have stopped when HashPieces returns. progress, if
// set, is called from the caller's goroutine with the bytes hashed so far.
func HashPieces(ctx context.Context, r io.Reader, pieceLength int64, workers int, progress func(hashed int64)) ([]byte, error) {
	if pieceLength <= 0 || pieceLength > MaxPieceLength {
		return nil, fmt.Errorf("piece length %d out of range (1 to %d)", pieceLength, MaxPieceLength)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // runs after cancel: every goroutine below watches ctx
	defer cancel()

	type job struct {
		index int
		buf   []byte
	}
	type result struct {
		index int
		hash  [sha1.Size]byte
		n     int
	}
	type readEnd struct {
		pieces int
		err    error
	}
	buffers := workers + 2
	free := make(chan []byte, buffers) // buffers not in use; nil until first needed
	for range buffers {
		free <- nil
	}
	jobs := make(chan job, workers)
	results := make(chan result, buffers)
	done := make(chan readEnd, 1)

	wg.Add(1)
	go func() { // the reader: fills buffers in order
		defer wg.Done()
		defer close(jobs)
		for i := 0; ; i++ {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				done <- readEnd{i, ctx.Err()}
				return
			}
			if buf == nil {
				buf = make([]byte, pieceLength)
			}
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				select {
				case jobs <- job{i, buf[:n]}:
				case <-ctx.Done():
					done <- readEnd{i, ctx.Err()}
					return
				}
			}
			switch {
			case err == io.EOF:
				done <- readEnd{i, nil}
				return
			case err == io.ErrUnexpectedEOF:
				done <- readEnd{i + 1, nil}
				return
			case err != nil:
				done <- readEnd{i, err}
				return
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() { // a hasher
			defer wg.Done()
			for j := range jobs {
				res := result{j.index, sha1.Sum(j.buf), len(j.buf)}
				free <- j.buf[:cap(j.buf)] // never blocks: room for every buffer
				select {
				case results <- res:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	var pieces []byte
	var hashed int64
	received, total := 0, -1
	for total < 0 || received < total {
		select {
		case res := <-results:
			if need := (res.index + 1) * sha1.Size; need > len(pieces) {
				pieces = append(pieces, make([]byte, need-len(pieces))...)
			}
			copy(pieces[res.index*sha1.Size:], res.hash[:])
			received++
			hashed += int64(res.n)
			if progress != nil {
				progress(hashed)
			}
		case end := <-done:
			if end.err != nil {
				return nil, end.err
			}
			total = end.pieces
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if pieces == nil {
		pieces = []byte{}
	}
	return pieces, nil
}
