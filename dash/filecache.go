package dash

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A CachedDir is a directory of DASH content on disk, like Dir, that keeps
// the files it has opened open between requests, as nginx's
// open_file_cache does. A chunk never changes once written (a new chunk
// gets a new name), so the open, stat and close a request would otherwise
// cost, three system calls of the handful a request needs, are paid once
// per file. Requests share the open file and read it at offsets of their
// own (pread, or sendfile at an offset), never through a shared position.
//
// A cached file is checked against the directory again when it has not
// been for Revalidate: a file replaced (an MPD rewritten by a live
// encoder) is opened afresh, a file removed is not found. At most Max
// files stay open; beyond that the idle ones are closed.
type CachedDir struct {
	Root       string        // the directory served
	Max        int           // files kept open; 1024 if zero
	Revalidate time.Duration // how long a check of a file holds; 1 s if zero
	Now        func() time.Time

	mu    sync.Mutex
	files map[string]*sharedFile
}

// NewCachedDir returns a CachedDir for the directory root.
func NewCachedDir(root string) *CachedDir { return &CachedDir{Root: root} }

// sharedFile is one open file shared by the requests reading it.
type sharedFile struct {
	f       *os.File
	info    fs.FileInfo
	lastMod string    // info's ModTime as an HTTP date, formatted once
	checked time.Time // when info was last compared with the directory
	users   int       // requests reading it now
	dropped bool      // out of the cache: the last user closes f
}

func (d *CachedDir) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Open implements fs.FS: a handle on the shared open file, with a read
// position of its own. Close the handle when done.
func (d *CachedDir) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	path := func() string { return filepath.Join(d.Root, filepath.FromSlash(name)) }
	now := d.now()
	d.mu.Lock()
	of := d.files[name]
	if of != nil && now.Sub(of.checked) >= orDefault(d.Revalidate, time.Second) {
		// Ask the directory again: is the name still this file?
		st, err := os.Stat(path())
		if err == nil && os.SameFile(st, of.info) && st.Size() == of.info.Size() && st.ModTime().Equal(of.info.ModTime()) {
			of.checked = now
		} else {
			d.drop(name, of)
			of = nil
		}
	}
	if of == nil {
		d.mu.Unlock()
		f, err := openFile(path())
		if err != nil {
			if pe, ok := err.(*fs.PathError); ok {
				pe.Path = name // do not show where the directory is
			}
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		d.mu.Lock()
		of = &sharedFile{f: f, info: st, checked: now, lastMod: httpDate(st.ModTime())}
		if old := d.files[name]; old != nil {
			d.drop(name, old) // another request opened it meanwhile
		}
		d.add(name, of)
	}
	of.users++
	d.mu.Unlock()
	return &cachedFile{d: d, of: of}, nil
}

// add puts of in the cache, making room first; d.mu is held.
func (d *CachedDir) add(name string, of *sharedFile) {
	if d.files == nil {
		d.files = make(map[string]*sharedFile)
	}
	max := d.Max
	if max <= 0 {
		max = 1024
	}
	if len(d.files) >= max {
		// Full: close every file no request is reading. Simple, and the
		// files in use now are the likely ones to be asked for again.
		for n, o := range d.files {
			if o.users == 0 {
				d.drop(n, o)
			}
		}
	}
	if len(d.files) < max {
		d.files[name] = of
	} else {
		of.dropped = true // all in use: serve this one uncached
	}
}

// drop takes of out of the cache; d.mu is held. The file is closed now if
// nobody reads it, else by its last reader.
func (d *CachedDir) drop(name string, of *sharedFile) {
	if d.files[name] == of {
		delete(d.files, name)
	}
	of.dropped = true
	if of.users == 0 {
		of.f.Close()
	}
}

// release ends one request's use of of.
func (d *CachedDir) release(of *sharedFile) {
	d.mu.Lock()
	defer d.mu.Unlock()
	of.users--
	if of.dropped && of.users == 0 {
		of.f.Close()
	}
}

// Close closes every cached file that no request is reading; files in use
// are closed by their last reader.
func (d *CachedDir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for n, o := range d.files {
		d.drop(n, o)
	}
	return nil
}

var errClosedHandle = errors.New("dash: file handle closed")

// A cachedFile is one request's handle on a shared open file: reads go
// through ReadAt at the handle's own position. The Server reads the
// shared *os.File itself through an io.SectionReader (sharedReaderAt), so
// that sendfile sends from an offset of the request's own.
type cachedFile struct {
	d   *CachedDir
	of  *sharedFile
	off int64
}

func (c *cachedFile) Stat() (fs.FileInfo, error) { return c.of.info, nil }

// lastModified returns the file's Last-Modified field, formatted when the
// file was opened rather than for every request.
func (c *cachedFile) lastModified() string { return c.of.lastMod }

// readerAt returns what a request may read f through at offsets of its
// own: the shared *os.File of a CachedDir, any other file that reads at
// offsets, or nil.
func readerAt(f fs.File) io.ReaderAt {
	switch f := f.(type) {
	case *cachedFile:
		if f.of != nil {
			return f.of.f
		}
		return nil
	case *memFile:
		return nil // written from memory whole
	case io.ReaderAt:
		return f
	}
	return nil
}

func (c *cachedFile) Read(p []byte) (int, error) {
	if c.of == nil {
		return 0, errClosedHandle
	}
	n, err := c.of.f.ReadAt(p, c.off)
	c.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (c *cachedFile) ReadAt(p []byte, off int64) (int, error) {
	if c.of == nil {
		return 0, errClosedHandle
	}
	return c.of.f.ReadAt(p, off)
}

func (c *cachedFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.of.info.Size()
	default:
		return 0, errors.New("dash: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("dash: negative position")
	}
	c.off = offset
	return offset, nil
}

func (c *cachedFile) Close() error {
	if c.of == nil {
		return errClosedHandle
	}
	c.d.release(c.of)
	c.of = nil
	return nil
}

var (
	_ fs.FS         = (*CachedDir)(nil)
	_ io.ReaderAt   = (*cachedFile)(nil)
	_ io.ReadSeeker = (*cachedFile)(nil)
)

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
