package dash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"appnet.dev/sockets"
	"appnet.dev/sockets/web"
)

// ErrServerClosed is returned by Serve after Shutdown or Close; it is
// sockets.ErrServerClosed, the one value every appnet server returns.
var ErrServerClosed = sockets.ErrServerClosed

// A Server serves a DASH directory — the manifest and its chunks — over
// HTTP: GET and HEAD only, byte ranges (for SegmentBase and mediaRange
// addressing), the MIME types players expect, and nothing outside FS.
// The zero value serves an empty tree; set FS to os.DirFS(dir) or to an
// Encoded's Files. Server is an http.Handler; its Serve and
// ListenAndServe run it on appnet's own HTTP/1.1 server
// ([appnet.dev/sockets/web]), which sends a whole chunk from disk with
// sendfile, the header and the file's bytes leaving together.
type Server struct {
	Addr              string        // for ListenAndServe; "127.0.0.1:8080" if empty
	FS                fs.FS         // the files served
	ReadHeaderTimeout time.Duration // 10 s if zero
	IdleTimeout       time.Duration // 60 s if zero
	Trace             io.Writer     // if set, one "C:" and one "S:" line per request
	ErrorLog          *log.Logger

	mu      sync.Mutex
	srv     *web.Server
	closed  bool
	traceMu sync.Mutex
}

// MIMEType returns the Content-Type for a file name, by its extension.
func MIMEType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".mpd":
		return "application/dash+xml"
	case ".m4s":
		return "video/iso.segment"
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".m4a":
		return "audio/mp4"
	case ".webm":
		return "video/webm"
	case ".ts":
		return "video/mp2t"
	case ".vtt":
		return "text/vtt"
	case ".toy":
		return ToyMIME
	case ".html":
		return "text/html; charset=utf-8"
	}
	return "application/octet-stream"
}

// MaxFileSize bounds a file the server must read into memory because its
// fs.File cannot seek.
const MaxFileSize = 1 << 30

func (s *Server) tracef(format string, args ...any) {
	if s.Trace == nil {
		return
	}
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	fmt.Fprintf(s.Trace, format+"\n", args...)
}

// statusWriter remembers the status and size of a response for the trace.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

// Unwrap lets http.ResponseController reach net/http's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

// conditional reports whether a request asks for part of a file or
// depends on a validator: Range, If-Range and the four If-… conditions
// of RFC 9110 §13. net/http has put the keys in canonical form.
func conditional(h http.Header) bool {
	for _, k := range [...]string{"Range", "If-Range", "If-Modified-Since", "If-None-Match", "If-Match", "If-Unmodified-Since"} {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

// ServeHTTP serves one file of FS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Trace != nil {
		rng := ""
		if v := r.Header.Get("Range"); v != "" {
			rng = " Range: " + v
		}
		s.tracef("C: %s %s%s", r.Method, r.URL.Path, rng)
		sw := &statusWriter{ResponseWriter: w}
		w = sw
		defer func() {
			s.tracef("S: %d %s (%d bytes)", sw.status, http.StatusText(sw.status), sw.n)
		}()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	// fs.ValidPath refuses "..", "." and empty elements: no way out of FS,
	// and no second name for the same file.
	if !strings.HasPrefix(r.URL.Path, "/") || !fs.ValidPath(name) || name == "." || strings.ContainsAny(name, "\\\x00") {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	if s.FS == nil {
		http.NotFound(w, r)
		return
	}
	f, err := s.FS.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			http.NotFound(w, r)
		} else {
			http.Error(w, "cannot open", http.StatusInternalServerError)
		}
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() || !st.Mode().IsRegular() {
		http.NotFound(w, r) // no directory listings
		return
	}
	// Header keys are written in canonical form straight into the map:
	// h.Set would canonicalize each one again on every request. The
	// values share one array, one allocation rather than one per field.
	h := w.Header()
	v := new([6]string)
	field := func(i int, key, value string) {
		v[i] = value
		h[key] = v[i : i+1 : i+1]
	}
	field(0, "Content-Type", MIMEType(name))
	field(1, "Access-Control-Allow-Origin", "*") // browsers' dash.js fetches cross-origin
	if path.Ext(name) == ".mpd" {
		field(2, "Cache-Control", "max-age=60")
	} else {
		field(2, "Cache-Control", "max-age=86400") // chunks never change
	}
	// The common case, a plain GET of a whole file, goes straight out
	// (with sendfile for files on disk); ranges and conditional requests
	// go through http.ServeContent.
	if r.Method == http.MethodGet && !conditional(r.Header) {
		field(3, "Content-Length", strconv.FormatInt(st.Size(), 10))
		lastMod := ""
		if cf, ok := f.(*cachedFile); ok {
			lastMod = cf.lastModified() // formatted once per open file
		} else {
			lastMod = httpDate(st.ModTime())
		}
		if lastMod != "" {
			field(4, "Last-Modified", lastMod)
		}
		field(5, "Accept-Ranges", "bytes")
		w.WriteHeader(http.StatusOK)
		if m, ok := f.(*memFile); ok {
			w.Write(m.data)
		} else if ra := readerAt(f); ra != nil {
			// From an offset of this request's own, never the file's
			// position: a CachedDir's files are shared by requests.
			io.Copy(w, io.NewSectionReader(ra, 0, st.Size()))
		} else {
			io.CopyN(w, f, st.Size())
		}
		return
	}
	var rs io.ReadSeeker
	if ra := readerAt(f); ra != nil {
		rs = io.NewSectionReader(ra, 0, st.Size())
	} else if frs, ok := f.(io.ReadSeeker); ok {
		rs = frs
	} else {
		if st.Size() > MaxFileSize {
			http.Error(w, "file too large", http.StatusInternalServerError)
			return
		}
		b, err := io.ReadAll(io.LimitReader(f, MaxFileSize))
		if err != nil {
			http.Error(w, "cannot read", http.StatusInternalServerError)
			return
		}
		rs = bytes.NewReader(b)
	}
	// ServeContent answers Range (206 and 416), If-Modified-Since and HEAD.
	http.ServeContent(w, r, name, st.ModTime(), rs)
}

// httpDate formats t for a Last-Modified field ("" for the zero time).
func httpDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(http.TimeFormat)
}

func (s *Server) server() (*web.Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	if s.srv == nil {
		s.srv = &web.Server{
			Addr:              s.Addr,
			Handler:           s,
			ReadHeaderTimeout: s.ReadHeaderTimeout, // web's defaults: 10 s
			IdleTimeout:       s.IdleTimeout,       // and 60 s
			ErrorLog:          s.ErrorLog,
		}
	}
	return s.srv, nil
}

// Serve accepts connections on l until Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	srv, err := s.server()
	if err != nil {
		return err
	}
	return srv.Serve(l)
}

// ListenAndServe listens on s.Addr (127.0.0.1:8080 if empty) and serves.
func (s *Server) ListenAndServe() error {
	srv, err := s.server()
	if err != nil {
		return err
	}
	return srv.ListenAndServe()
}

// Shutdown stops accepting and waits for requests in progress, until ctx
// is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}
