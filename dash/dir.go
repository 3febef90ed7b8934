package dash

import (
	"io/fs"
	"path/filepath"
)

// Dir is a directory of DASH content on disk, as an fs.FS for a Server.
// It is os.DirFS with cheaper opens: on Unix a file is opened without
// being registered with the runtime's network poller (regular files cannot
// be polled; trying costs five system calls per request).
type Dir string

// Open implements fs.FS.
func (d Dir) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := openFile(filepath.Join(string(d), filepath.FromSlash(name)))
	if err != nil {
		if pe, ok := err.(*fs.PathError); ok {
			pe.Path = name // do not show where the directory is
		}
		return nil, err
	}
	return f, nil
}

var _ fs.FS = Dir("")
