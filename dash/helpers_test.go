package dash

import (
	"io"
	"io/fs"
	"strings"
	"sync"
	"testing"
)

// syncWriter serialises writes from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.w.(interface{ String() string }); ok {
		return b.String()
	}
	return ""
}

// newLog returns an empty log that the server or player goroutines may
// write while the test reads it.
func newLog() *syncWriter { return &syncWriter{w: &strings.Builder{}} }

// serveLogged serves files on loopback and returns the base URL with the
// server's trace: each request it was asked is a "C: GET /path" line.
func serveLogged(t testing.TB, files fs.FS) (base string, log *syncWriter) {
	t.Helper()
	log = newLog()
	return serve(t, &Server{FS: files, Trace: log}), log
}
