package cdn

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultOriginCacheControl is what an Origin says about every object when
// its CacheControl field is nil: any cache may keep it for a minute.
const DefaultOriginCacheControl = "public, max-age=60"

// An Origin is the content provider's own web server (netcinema.com's), the
// one copy every CDN copy comes from. It serves the files of Content with
// validators, an ETag and a Last-Modified, and a Cache-Control field that
// tells caches how long they may keep each object; it answers conditional
// requests with 304 and byte ranges with 206. It is an http.Handler.
type Origin struct {
	// Content holds the files, e.g. os.DirFS(dir) or an fstest.MapFS. A
	// path with "." or ".." segments is refused; a directory serves its
	// index.html.
	Content fs.FS
	// CacheControl gives the Cache-Control value for a file's path
	// ("videos/6Y7B23V/manifest.mpd"); nil means DefaultOriginCacheControl
	// for all, and "" leaves the field out.
	CacheControl func(name string) string
	// Now is the origin's clock, for Date (time.Now).
	Now func() time.Time
	// Trace, if set, gets one line per request.
	Trace io.Writer

	requests atomic.Int64
}

// Requests is the number of requests the origin has answered.
func (o *Origin) Requests() int64 { return o.requests.Load() }

// ETag is the entity tag an Origin gives a file: its modification time and
// size, as nginx makes them, so it changes whenever the file does; for a
// file without a modification time (an in-memory one), a hash of its
// contents.
func ETag(body []byte, mod time.Time) string {
	if mod.IsZero() {
		sum := sha256.Sum256(body)
		return fmt.Sprintf(`"%x"`, sum[:8])
	}
	return fmt.Sprintf(`"%x-%x"`, mod.Unix(), len(body))
}

func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.requests.Add(1)
	now := time.Now()
	if o.Now != nil {
		now = o.Now()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "cdn: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !safePath(r.URL.Path) || o.Content == nil {
		http.Error(w, "cdn: bad request path", http.StatusBadRequest)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" || strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	name = strings.TrimSuffix(name, "/")
	if !fs.ValidPath(name) {
		http.Error(w, "cdn: bad request path", http.StatusBadRequest)
		return
	}
	body, info, err := readFile(o.Content, name)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, fs.ErrNotExist) {
			code = http.StatusNotFound
		}
		if o.Trace != nil {
			fmt.Fprintf(o.Trace, "origin: %s %s %d\n", r.Method, r.URL.Path, code)
		}
		http.Error(w, http.StatusText(code), code)
		return
	}

	h := w.Header()
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	cc := DefaultOriginCacheControl
	if o.CacheControl != nil {
		cc = o.CacheControl(name)
	}
	if cc != "" {
		h.Set("Cache-Control", cc)
	}
	h.Set("ETag", ETag(body, info.ModTime()))
	if !info.ModTime().IsZero() {
		h.Set("Last-Modified", info.ModTime().UTC().Format(http.TimeFormat))
	}
	h.Set("Content-Type", contentType(name))
	h.Set("Accept-Ranges", "bytes")

	code := http.StatusOK
	switch {
	case notModified(r, h):
		code = http.StatusNotModified
		w.WriteHeader(code)
	case r.Header.Get("Range") != "" && ifRangeHolds(r, h):
		code = o.serveRange(w, r, body)
	default:
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	}
	if o.Trace != nil {
		fmt.Fprintf(o.Trace, "origin: %s %s %d\n", r.Method, r.URL.Path, code)
	}
}

// serveRange answers one byte range with 206; several, or a malformed
// field, get the whole file.
func (o *Origin) serveRange(w http.ResponseWriter, r *http.Request, body []byte) int {
	size := int64(len(body))
	ranges, err := ParseRange(r.Header.Get("Range"), size)
	if errors.Is(err, ErrUnsatisfiable) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return http.StatusRequestedRangeNotSatisfiable
	}
	if err != nil || len(ranges) != 1 {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(body)
		}
		return http.StatusOK
	}
	br := ranges[0]
	w.Header().Set("Content-Range", br.ContentRange(size))
	w.Header().Set("Content-Length", strconv.FormatInt(br.Length, 10))
	w.WriteHeader(http.StatusPartialContent)
	if r.Method == http.MethodGet {
		w.Write(body[br.Start : br.Start+br.Length])
	}
	return http.StatusPartialContent
}

// readFile reads name from fsys, or its index.html if it is a directory.
func readFile(fsys fs.FS, name string) ([]byte, fs.FileInfo, error) {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return nil, nil, err
	}
	if info.IsDir() {
		name = path.Join(name, "index.html")
		if info, err = fs.Stat(fsys, name); err != nil {
			return nil, nil, err
		}
	}
	body, err := fs.ReadFile(fsys, name)
	return body, info, err
}

// contentType names the media type of the files a video site serves.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".mpd":
		return "application/dash+xml"
	case ".m4s", ".mp4":
		return "video/mp4"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".json":
		return "application/json"
	case ".css":
		return "text/css"
	case ".js":
		return "text/javascript"
	}
	return "application/octet-stream"
}
