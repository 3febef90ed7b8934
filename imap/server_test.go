package imap

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"appnet.dev/imap/maildir"
	"appnet.dev/sockets/sockettest"
)

// startServer runs a server for bob (password "hunter2") over a fresh
// Maildir and returns its address and bob's store.
func startServer(t testing.TB, configure func(*Server)) (string, *maildir.Store, *Server) {
	t.Helper()
	addr, bob, srv := startBob(t, "maildir", configure)
	return addr, bob.store, srv
}

// bobMail is bob's mail (password "hunter2") on one kind of storage, so
// that a test can run against each Backend.
type bobMail struct {
	backend   Backend
	mailboxes Mailboxes      // bob's, as the server sees them
	store     *maildir.Store // the Maildir; nil in memory
}

// forEachBackend runs test once over a Maildir and once in memory.
func forEachBackend(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range []string{"maildir", "memory"} {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// newBob makes bob's empty mail on kind's storage, with the clock now
// (nil: time.Now) for UIDVALIDITY.
func newBob(t testing.TB, kind string, now func() time.Time) *bobMail {
	t.Helper()
	passwords := map[string]string{"bob": "hunter2"}
	switch kind {
	case "maildir":
		users := &Users{Dir: t.TempDir(), Passwords: passwords}
		store, err := users.Store("bob")
		if err != nil {
			t.Fatal(err)
		}
		store.Now = now
		bob, err := users.mailboxes("bob")
		if err != nil {
			t.Fatal(err)
		}
		return &bobMail{backend: users, mailboxes: bob, store: store}
	case "memory":
		mem := &MemoryBackend{Passwords: passwords, Now: now}
		return &bobMail{backend: mem, mailboxes: mem.Mailboxes("bob")}
	}
	t.Fatalf("no backend %q", kind)
	return nil
}

// inbox returns bob's INBOX as the server sees it.
func (b *bobMail) inbox(t testing.TB) Mailbox {
	t.Helper()
	inbox, err := b.mailboxes.Mailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return inbox
}

// deliver puts msg in bob's INBOX as a mail server does: into the
// Maildir's new/ (the message gets its UID when a session looks), or in
// memory as an APPEND.
func (b *bobMail) deliver(msg string) error {
	if b.store != nil {
		inbox, err := b.store.Mailbox("INBOX")
		if err == nil {
			_, err = inbox.Deliver(strings.NewReader(msg))
		}
		return err
	}
	inbox, err := b.mailboxes.Mailbox("INBOX")
	if err != nil {
		return err
	}
	app := inbox.Append()
	if err := app.Add(strings.NewReader(msg), nil, time.Time{}); err != nil {
		return err
	}
	_, err = app.Commit()
	return err
}

// startBob runs a server for bob's mail on kind's storage and returns its
// address, bob's mail and the server.
func startBob(t testing.TB, kind string, configure func(*Server)) (string, *bobMail, *Server) {
	t.Helper()
	bob := newBob(t, kind, nil)
	srv := &Server{Hostname: "hamburger.edu", Backend: bob.backend, AllowInsecureAuth: true}
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
	return l.Addr().String(), bob, srv
}

func TestPythonImaplib(t *testing.T) {
	python := sockettest.Python(t)
	forEachBackend(t, func(t *testing.T, kind string) {
		var trace sockettest.SyncBuffer
		addr, _, _ := startBob(t, kind, func(s *Server) { s.Trace = &trace })
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
	})
}
