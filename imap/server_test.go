package imap

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"appnet.dev/imap/maildir"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs a server for bob (password "hunter2") over a fresh
// Maildir and returns its address and bob's store.
func startServer(t testing.TB, configure func(*Server)) (string, *maildir.Store, *Server) {
	t.Helper()
	users := &Users{Dir: t.TempDir(), Passwords: map[string]string{"bob": "hunter2"}}
	store, err := users.Store("bob")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Hostname: "hamburger.edu", Backend: users, AllowInsecureAuth: true}
	if configure != nil {
		configure(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return l.Addr().String(), store, srv
}

const python = "/usr/bin/python3"

func TestPythonImaplib(t *testing.T) {
	if _, err := os.Stat(python); err != nil {
		t.Skip("python3 not installed (Debian package python3)")
	}
	var trace syncBuffer
	addr, _, _ := startServer(t, func(s *Server) { s.Trace = &trace })
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "testdata/imaplib_session.py", port, "bob", "hunter2").CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib session failed: %v\n%s\ntranscript:\n%s", err, out, trace.String())
	}
	if n := bytes.Count(out, []byte("ok ")); n < 40 {
		t.Errorf("only %d checks passed:\n%s", n, out)
	}
	_ = strconv.Itoa
}
