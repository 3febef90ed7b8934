package imap

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"appnet.dev/imap/maildir"
	"appnet.dev/sockets/sockettest"
)

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

func TestPythonImaplib(t *testing.T) {
	python := sockettest.Python(t)
	var trace sockettest.SyncBuffer
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
