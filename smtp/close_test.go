package smtp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stuckBackend is a Backend that, once it has read the message, waits
// for its context: a delivery to a mailbox that hangs.
type stuckBackend struct {
	entered chan struct{} // closed when Deliver is waiting
	result  chan error    // what the context said when Deliver gave up
}

func newStuckBackend() *stuckBackend {
	return &stuckBackend{entered: make(chan struct{}), result: make(chan error, 1)}
}

func (b *stuckBackend) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	io.Copy(io.Discard, msg)
	close(b.entered)
	<-ctx.Done()
	b.result <- ctx.Err()
	return ctx.Err()
}

// within fails the test if done is not closed soon: a bound so a broken
// server fails the test instead of hanging it, not a speed assertion.
func within(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never returned", what)
	}
}

// closeCancels calls Close and checks that it cancelled the stuck
// delivery and waited for it.
func closeCancels(t *testing.T, srv *Server, sb *stuckBackend) {
	t.Helper()
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	within(t, closed, "Close")
	select {
	case err := <-sb.result:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("backend's context ended with %v", err)
		}
	default:
		t.Error("Close returned before the backend did")
	}
}

// startStuck starts a server whose backend hangs and sends it a message,
// returning once the backend holds it.
func startStuck(t *testing.T) (*Server, *stuckBackend, chan error) {
	t.Helper()
	sb := newStuckBackend()
	srv := &Server{Domain: "hamburger.edu", Backend: sb}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	rc := dialRaw(t, l.Addr().String())
	rc.transaction()
	rc.send("Subject: ketchup\r\n\r\nDo you like ketchup?\r\n.\r\n")
	<-sb.entered
	return srv, sb, served
}

// TestCloseCancelsDelivery: Close cancels the context of a Backend in the
// middle of Deliver and waits for it to return.
func TestCloseCancelsDelivery(t *testing.T) {
	srv, sb, served := startStuck(t)
	closeCancels(t, srv, sb)
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
}

// TestShutdownCancelsDelivery: when Shutdown's ctx expires, the deliveries
// still running are cancelled and waited for.
func TestShutdownCancelsDelivery(t *testing.T) {
	srv, sb, served := startStuck(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	var err error
	go func() { err = srv.Shutdown(ctx); close(done) }()
	within(t, done, "Shutdown")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown returned %v", err)
	}
	select {
	case <-sb.result:
	default:
		t.Error("Shutdown returned before the backend did")
	}
	<-served
}

// TestCloseEndsServeConn: a session started with ServeConn is one of the
// server's: Close cancels its delivery and waits for it.
func TestCloseEndsServeConn(t *testing.T) {
	sb := newStuckBackend()
	srv := &Server{Domain: "hamburger.edu", Backend: sb}
	client, server := net.Pipe()
	defer client.Close()
	go io.Copy(io.Discard, client) // the replies; ends when the pipe closes
	ended := make(chan struct{})
	go func() { srv.ServeConn(server); close(ended) }()
	if _, err := io.WriteString(client, "HELO crepes.fr\r\nMAIL FROM:<alice@crepes.fr>\r\n"+
		"RCPT TO:<bob@hamburger.edu>\r\nDATA\r\nDo you like ketchup?\r\n.\r\n"); err != nil {
		t.Fatal(err)
	}
	<-sb.entered
	closeCancels(t, srv, sb)
	within(t, ended, "ServeConn")
}

// flakyListener fails its first fails Accepts with EMFILE ("too many
// open files"), as a real listener does when the process runs out of
// descriptors for a moment, then accepts from the real listener.
type flakyListener struct {
	net.Listener
	fails int
	tried chan struct{} // a token per failed Accept
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		l.tried <- struct{}{}
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServeRetriesEMFILE: a burst of EMFILE does not stop the server;
// once descriptors are free again it greets the next client.
func TestServeRetriesEMFILE(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: l, fails: 3, tried: make(chan struct{}, 3)}
	srv := &Server{Domain: "hamburger.edu", Backend: &MemoryBackend{}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(fl) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220 hamburger.edu") {
		t.Fatalf("greeting %q, %v", line, err)
	}
	if len(fl.tried) != 3 {
		t.Errorf("%d failed Accepts before the greeting, want 3", len(fl.tried))
	}
	srv.Close()
	if err := <-done; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
}

// TestCloseInterruptsAcceptRetry: Close ends an accept loop that is
// waiting to retry after EMFILE, and Serve says ErrServerClosed.
func TestCloseInterruptsAcceptRetry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: l, fails: 1 << 30, tried: make(chan struct{})}
	srv := &Server{Domain: "hamburger.edu", Backend: &MemoryBackend{}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(fl) }()
	<-fl.tried
	<-fl.tried // the loop went on after the first EMFILE
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	within(t, closed, "Close")
	if err := <-done; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
}

// TestServeStopsOnOtherErrors: an Accept error the policy does not
// retry ends Serve with that error.
func TestServeStopsOnOtherErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	srv := &Server{Domain: "hamburger.edu", Backend: &MemoryBackend{}}
	if err := srv.Serve(l); err == nil || err == ErrServerClosed {
		t.Errorf("Serve on a closed listener returned %v", err)
	}
}
