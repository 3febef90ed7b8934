package imap

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// Every goroutine of the package has an owner that ends it. The tests run
// under sockettest.VerifyNoLeaks, which fails the run if any goroutine of
// appnet outlives them; the tests below check the stronger promise right
// after the call that makes it: once Close or Shutdown has returned,
// nothing the server started is left waiting.
func TestMain(m *testing.M) { os.Exit(sockettest.VerifyNoLeaks(m)) }

// serveForLeakTest serves bob's mailbox on a loopback port and returns
// the address and a channel with what Serve returns once it has.
func serveForLeakTest(t *testing.T, srv *Server) (string, <-chan error) {
	t.Helper()
	users := &Users{Dir: t.TempDir(), Passwords: map[string]string{"bob": "hunter2"}}
	store, err := users.Store("bob")
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	inbox.Deliver(strings.NewReader(aliceMsg))
	srv.Backend, srv.AllowInsecureAuth = users, true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), served
}

// TestCloseLeavesNoGoroutines: Close waits for every session, whatever it
// was doing: greeted and silent, selected, idling, in the middle of an
// APPEND literal, or selected inside TLS.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "127.0.0.1")
	srv := &Server{Hostname: "hamburger.edu", TLSConfig: scfg, PollInterval: 10 * time.Millisecond}
	addr, served := serveForLeakTest(t, srv)

	dialRaw(t, addr) // greeted, then silent
	selected := dialRaw(t, addr)
	selected.send("a1 LOGIN bob hunter2\r\na2 SELECT INBOX\r\n")
	selected.until("a2")
	idling := dialRaw(t, addr)
	idling.send("b1 LOGIN bob hunter2\r\nb2 SELECT INBOX\r\nb3 IDLE\r\n")
	idling.until("b2")
	if l := idling.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE answered %q", l)
	}
	appending := dialRaw(t, addr)
	appending.send("c1 LOGIN bob hunter2\r\nc2 APPEND INBOX {100}\r\n")
	appending.until("c1")
	if l := appending.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND answered %q", l)
	}
	appending.send("Subject: half a message\r\n")
	secure := dialRaw(t, addr)
	secure.send("d1 STARTTLS\r\n")
	secure.until("d1")
	tc := tls.Client(secure.conn, ccfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	secure.conn = tc
	secure.br.Reset(tc)
	secure.send("d2 LOGIN bob hunter2\r\nd3 SELECT INBOX\r\n")
	secure.until("d3")

	srv.Close()
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if left := sockettest.BlockedGoroutines(); len(left) > 0 {
		t.Errorf("goroutines left blocked after Close:\n%s", strings.Join(left, "\n\n"))
	}
}

// TestShutdownLeavesNoGoroutines: Shutdown says BYE to idle and idling
// sessions and lets a command finish; when it returns, they are all gone.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	srv := &Server{Hostname: "hamburger.edu", PollInterval: 10 * time.Millisecond}
	addr, served := serveForLeakTest(t, srv)
	idle := dialRaw(t, addr)
	idle.send("a1 LOGIN bob hunter2\r\n")
	idle.until("a1")
	idling := dialRaw(t, addr)
	idling.send("b1 LOGIN bob hunter2\r\nb2 SELECT INBOX\r\nb3 IDLE\r\n")
	idling.until("b2")
	if l := idling.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("IDLE answered %q", l)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	for _, s := range []*rawSession{idle, idling} {
		if l := s.line(); !strings.HasPrefix(l, "* BYE") {
			t.Errorf("after Shutdown the session read %q, want * BYE", l)
		}
	}
	if left := sockettest.BlockedGoroutines(); len(left) > 0 {
		t.Errorf("goroutines left blocked after Shutdown:\n%s", strings.Join(left, "\n\n"))
	}
}
