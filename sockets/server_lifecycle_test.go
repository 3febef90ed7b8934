package sockets

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// serving starts lc.Serve on a loopback listener with serve, and returns
// the listener's address and the channel Serve's result arrives on.
func serving(t *testing.T, lc *Lifecycle, serve func(net.Conn)) (string, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- lc.Serve(l, serve, log.New(io.Discard, "", 0)) }()
	return l.Addr().String(), served
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Shutdown closes the listener at once but waits for a connection in the
// middle of a request to finish it.
func TestLifecycleShutdownWaitsForBusyConn(t *testing.T) {
	var lc Lifecycle
	started, release := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	addr, served := serving(t, &lc, func(c net.Conn) {
		lc.SetIdle(c, false) // busy: a request is under way
		close(started)
		<-release
		finished.Store(true)
	})
	dial(t, addr)
	<-started

	shut := make(chan error, 1)
	go func() { shut <- lc.Shutdown(context.Background()) }()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	// The listener is closed, so Shutdown has begun; the request is not
	// over, so it must not have returned.
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a request was under way", err)
	default:
	}
	close(release)
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if !finished.Load() {
		t.Error("Shutdown returned before the connection's goroutine ended")
	}
	if n := lc.Conns(); n != 0 {
		t.Errorf("%d connections still tracked", n)
	}
	if lc.Context().Err() == nil {
		t.Error("Context not cancelled after Shutdown finished")
	}
}

// Shutdown wakes a connection that waits for its next request, and the
// connection sees that the server is closing.
func TestLifecycleShutdownWakesIdleConn(t *testing.T) {
	var lc Lifecycle
	waiting := make(chan struct{})
	result := make(chan string, 1)
	addr, served := serving(t, &lc, func(c net.Conn) {
		if lc.SetIdle(c, true) {
			result <- "closing before the read"
			return
		}
		close(waiting)
		_, err := c.Read(make([]byte, 1))
		closing := lc.SetIdle(c, false)
		switch {
		case err == nil:
			result <- "read data nobody sent"
		case !closing:
			result <- "woken, but not told the server is closing: " + err.Error()
		case !errors.Is(err, os.ErrDeadlineExceeded):
			result <- "woken by " + err.Error() + ", not by the deadline"
		default:
			result <- "woken"
		}
	})
	dial(t, addr) // sends nothing
	<-waiting
	if err := lc.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if got := <-result; got != "woken" {
		t.Error(got)
	}
	<-served
}

// Close closes every connection under way and returns once their
// goroutines have ended.
func TestLifecycleCloseInterrupts(t *testing.T) {
	var lc Lifecycle
	reading := make(chan struct{})
	var readErr error
	addr, served := serving(t, &lc, func(c net.Conn) {
		lc.SetIdle(c, false) // busy: Close must not care
		close(reading)
		_, readErr = c.Read(make([]byte, 1))
	})
	dial(t, addr)
	<-reading
	if err := lc.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	// Close waited for the goroutine, so readErr is set.
	if !errors.Is(readErr, net.ErrClosed) {
		t.Errorf("the read under way ended with %v, want the connection closed", readErr)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if lc.Context().Err() == nil {
		t.Error("Context not cancelled by Close")
	}
}

// When Shutdown's context ends first, the connections left are closed,
// their goroutines waited for, and ctx's error returned.
func TestLifecycleShutdownDeadlineClosesStragglers(t *testing.T) {
	var lc Lifecycle
	reading := make(chan struct{})
	var readErr error
	addr, served := serving(t, &lc, func(c net.Conn) {
		lc.SetIdle(c, false) // busy, and its client never finishes
		close(reading)
		_, readErr = c.Read(make([]byte, 1))
	})
	dial(t, addr)
	<-reading

	ctx, cancel := context.WithCancel(context.Background())
	shut := make(chan error, 1)
	go func() { shut <- lc.Shutdown(ctx) }()
	<-served // Shutdown has begun
	cancel() // and its time is up
	if err := <-shut; !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	if !errors.Is(readErr, net.ErrClosed) {
		t.Errorf("the straggler's read ended with %v, want the connection closed", readErr)
	}
	if lc.Context().Err() == nil {
		t.Error("Context not cancelled when Shutdown gave up waiting")
	}
}

// After Shutdown (or Close) nothing starts: Serve and ServePacket return
// ErrServerClosed and close their socket, ServeConn closes its connection.
func TestLifecycleServeAfterShutdown(t *testing.T) {
	var lc Lifecycle
	if err := lc.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown of an idle server = %v", err)
	}
	if !lc.Closing() {
		t.Error("Closing() = false after Shutdown")
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	called := false
	if err := lc.Serve(l, func(net.Conn) { called = true }, nil); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener after Serve: Accept = %v, want it closed", err)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = lc.ServePacket(pc, func(net.PacketConn) error { called = true; return nil })
	if !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServePacket = %v, want ErrServerClosed", err)
	}
	if _, _, err := pc.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("socket after ServePacket: ReadFrom = %v, want it closed", err)
	}

	client, server := net.Pipe()
	defer client.Close()
	lc.ServeConn(server, func(net.Conn) { called = true })
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("ServeConn's connection: Read = %v, want EOF", err)
	}
	if called {
		t.Error("a serve function ran after Shutdown")
	}
}

// ServeConn serves a connection that came from no listener; Close ends it
// and waits for it.
func TestLifecycleServeConn(t *testing.T) {
	var lc Lifecycle
	client, server := net.Pipe()
	defer client.Close()
	reading := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		lc.ServeConn(server, func(c net.Conn) {
			close(reading)
			c.Read(make([]byte, 1))
		})
	}()
	<-reading
	if n := lc.Conns(); n != 1 {
		t.Errorf("Conns = %d while serving one, want 1", n)
	}
	lc.Close()
	select {
	case <-ended:
	default:
		t.Error("Close returned before ServeConn")
	}
}

// ServePacket runs the loop, returns its error unless the server is
// closing, and closes the socket; Close ends a loop blocked in a read.
func TestLifecycleServePacket(t *testing.T) {
	var lc Lifecycle
	defer lc.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := lc.ServePacket(pc, func(net.PacketConn) error { return boom }); err != boom {
		t.Errorf("ServePacket = %v, want the loop's error", err)
	}
	if _, _, err := pc.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("socket after ServePacket: ReadFrom = %v, want it closed", err)
	}

	pc, err = net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reading := make(chan struct{})
	served := make(chan error, 1)
	go func() {
		served <- lc.ServePacket(pc, func(pc net.PacketConn) error {
			close(reading)
			_, _, err := pc.ReadFrom(make([]byte, 1))
			return err
		})
	}()
	<-reading
	lc.Close()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServePacket = %v, want ErrServerClosed", err)
	}
}

// failing is a listener whose Accept fails with err the first fails
// times (always if fails < 0), telling calls of each failure.
type failing struct {
	net.Listener
	err   error
	calls chan int

	mu    sync.Mutex
	fails int
	n     int
}

func (l *failing) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails != 0
	if l.fails > 0 {
		l.fails--
	}
	l.n++
	n := l.n
	l.mu.Unlock()
	if !fail {
		return l.Listener.Accept()
	}
	if l.calls != nil {
		select {
		case l.calls <- n:
		default:
		}
	}
	return nil, l.err
}

func emfile() error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
}

// Accept errors that pass are logged and waited out; the next client is
// served.
func TestLifecycleAcceptRetried(t *testing.T) {
	var lc Lifecycle
	defer lc.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs sockettest.SyncBuffer
	served := make(chan error, 1)
	go func() {
		served <- lc.Serve(&failing{Listener: l, err: emfile(), fails: 3}, func(c net.Conn) {
			c.Write([]byte("hello"))
		}, log.New(&logs, "", 0))
	}()
	c := dial(t, l.Addr().String())
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello" {
		t.Fatalf("after 3 failed accepts the client read %q, %v", got, err)
	}
	logged := logs.String()
	for _, want := range []string{"too many open files; retrying in 5ms", "retrying in 10ms", "retrying in 20ms"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
	lc.Close()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}

// An accept error that does not pass ends Serve with it; Close ends a
// wait for an error that persists.
func TestLifecycleAcceptGivesUp(t *testing.T) {
	t.Run("other error", func(t *testing.T) {
		var lc Lifecycle
		defer lc.Close()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		bad := errors.New("listener broken")
		if err := lc.Serve(&failing{Listener: l, err: bad, fails: -1}, func(net.Conn) {}, nil); err != bad {
			t.Errorf("Serve = %v, want %v", err, bad)
		}
		if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("listener left open: Accept = %v", err)
		}
		lc.mu.Lock()
		n := len(lc.listeners)
		lc.mu.Unlock()
		if n != 0 {
			t.Errorf("%d listeners still tracked after Serve returned", n)
		}
	})
	t.Run("close during wait", func(t *testing.T) {
		var lc Lifecycle
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		fl := &failing{Listener: l, err: emfile(), fails: -1, calls: make(chan int, 1)}
		served := make(chan error, 1)
		go func() { served <- lc.Serve(fl, func(net.Conn) {}, log.New(io.Discard, "", 0)) }()
		for n := 0; n < 4; { // waiting 5, 10, 20 ms, now 40 ms
			select {
			case n = <-fl.calls:
			case err := <-served:
				t.Fatalf("Serve gave up after a passing error: %v", err)
			}
		}
		lc.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
}
