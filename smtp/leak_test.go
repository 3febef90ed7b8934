package smtp

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// Every goroutine of the package has an owner that ends it. TestMain (in
// crash_test.go) runs the tests under sockettest.VerifyNoLeaks, which
// fails the run if any goroutine of appnet outlives them; the tests here
// check the stronger promise right after the call that makes it: once
// Close or Run has returned, nothing they started is left waiting.

// TestCloseLeavesNoGoroutines: Close waits for every session, whatever it
// was doing: greeted and idle, in the middle of DATA, of BDAT, or idle
// inside TLS.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	srv := &Server{Domain: "hamburger.edu", Backend: &MemoryBackend{}, TLSConfig: scfg}
	addr, served := serveForLeakTest(t, srv)

	dialRaw(t, addr) // greeted, then silent
	data := dialRaw(t, addr)
	data.transaction()
	data.send("Subject: half a message\r\n\r\nDo you like")
	bdat := dialRaw(t, addr)
	bdat.cmd("EHLO crepes.fr", 250)
	bdat.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	bdat.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	bdat.send("BDAT 1000\r\nSubject: a chunk cut short\r\n")
	tlsIdle := dialRaw(t, addr)
	tlsIdle.cmd("EHLO crepes.fr", 250)
	tlsIdle.cmd("STARTTLS", 220)
	tc := tls.Client(tlsIdle.conn, ccfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tlsIdle.conn = tc
	tlsIdle.r.Reset(tc)
	tlsIdle.cmd("EHLO crepes.fr", 250)
	// A session that has answered a command is being served; make sure
	// the DATA and BDAT sessions have read what was sent too.
	data.cmd("\r\n.", 250)
	data.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	bdat.send(strings.Repeat("x", 1000-len("Subject: a chunk cut short\r\n")))
	bdat.expect(250)

	srv.Close()
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if left := sockettest.BlockedGoroutines(); len(left) > 0 {
		t.Errorf("goroutines left blocked after Close:\n%s", strings.Join(left, "\n\n"))
	}
}

// TestShutdownLeavesNoGoroutines: Shutdown lets a transaction finish and
// closes idle sessions; when it returns, they are all gone.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	mb := &MemoryBackend{}
	srv := &Server{Domain: "hamburger.edu", Backend: mb}
	addr, served := serveForLeakTest(t, srv)
	idle := dialRaw(t, addr)
	idle.cmd("EHLO crepes.fr", 250)
	busy := dialRaw(t, addr)
	busy.transaction()

	ctx := testCtx(t)
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	idle.expect(421)
	busy.cmd("Subject: last one\r\n\r\nDo you like ketchup?\r\n.", 250)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if n := len(mb.Messages()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
	if left := sockettest.BlockedGoroutines(); len(left) > 0 {
		t.Errorf("goroutines left blocked after Shutdown:\n%s", strings.Join(left, "\n\n"))
	}
}

// TestQueueRunLeavesNoGoroutines: a queue's Run, stopped while a
// delivery waits for the receiving server's verdict, returns only once
// that delivery has given up.
func TestQueueRunLeavesNoGoroutines(t *testing.T) {
	sb := newStuckBackend()
	dest := &Server{Domain: "hamburger.edu", Backend: sb}
	addr, served := serveForLeakTest(t, dest)
	_, port := splitAddr(t, addr)
	t.Setenv("APPNET_SMTP_PORT", port)
	q := crashQueue(t.TempDir()) // one worker, hamburger.edu on 127.0.0.1
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	if _, err := q.Submit(ctx, Path{"alice", "crepes.fr"}, []Path{{"bob", "hamburger.edu"}}, strings.NewReader("Subject: stuck\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- q.Run(ctx) }()
	<-sb.entered // the delivery waits for the 250 that will not come
	cancel()
	if err := <-ran; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
	if left := sockettest.BlockedGoroutines(); len(left) > 0 {
		for _, g := range left {
			// The receiving server is still up; only the queue's side counts.
			if strings.Contains(g, "smtp.(*Queue)") || strings.Contains(g, "smtp.(*Client)") {
				t.Errorf("queue goroutine left blocked after Run:\n%s", g)
			}
		}
	}
	dest.Close()
	<-served
}

// serveForLeakTest serves srv on a loopback port; the test closes it and
// reads Serve's result from the channel.
func serveForLeakTest(t *testing.T, srv *Server) (string, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), served
}
