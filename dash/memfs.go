package dash

import (
	"bytes"
	"io"
	"io/fs"
	"strings"
	"time"
)

// MemFS is an in-memory file system: path (slash-separated, no leading
// slash) to contents. Encoded content lives in one, and a Server serves it
// as it serves a directory. It is read-only once served.
type MemFS map[string][]byte

// Open implements fs.FS. Directories exist implicitly and list nothing.
func (m MemFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if b, ok := m[name]; ok {
		return &memFile{Reader: bytes.NewReader(b), data: b, name: name, size: int64(len(b))}, nil
	}
	prefix := name + "/"
	if name == "." {
		prefix = ""
	}
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return &memFile{Reader: bytes.NewReader(nil), name: name, dir: true}, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

type memFile struct {
	*bytes.Reader
	data []byte
	name string
	size int64
	dir  bool
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Name() string {
	if i := strings.LastIndexByte(f.name, '/'); i >= 0 {
		return f.name[i+1:]
	}
	return f.name
}
func (f *memFile) Size() int64 { return f.size }
func (f *memFile) Mode() fs.FileMode {
	if f.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (f *memFile) ModTime() time.Time { return time.Time{} }
func (f *memFile) IsDir() bool        { return f.dir }
func (f *memFile) Sys() any           { return nil }

var _ io.ReadSeeker = (*memFile)(nil)
