package sockets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// startUDP runs a UDPServer on a loopback port until the test ends.
func startUDP(t testing.TB, s *UDPServer) net.Addr {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveUntilCleanup(t, func() error { return s.ServePacket(pc) }, s.Close)
	return pc.LocalAddr()
}

// startTCP runs a TCPServer on a loopback port until the test ends.
func startTCP(t testing.TB, s *TCPServer) net.Addr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveUntilCleanup(t, func() error { return s.Serve(ln) }, s.Close)
	return ln.Addr()
}

// serveUntilCleanup runs serve in a goroutine; at the test's end it calls
// stop and checks that serve returned ErrServerClosed.
func serveUntilCleanup(t testing.TB, serve, stop func() error) {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	t.Cleanup(func() {
		stop()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("server returned %v, want ErrServerClosed", err)
		}
	})
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var sentences = []struct{ in, want string }{
	{"hello", "HELLO"},
	{"Do you like ketchup?", "DO YOU LIKE KETCHUP?"},
	{"crêpes à la française", "CRÊPES À LA FRANÇAISE"},
	{"", ""},
}

// checkSentences sends every sentence through c and checks the replies.
func checkSentences(t *testing.T, ctx context.Context, c uppercaser) {
	t.Helper()
	for _, s := range sentences {
		got, err := c.Uppercase(ctx, s.in)
		if err != nil {
			t.Fatalf("Uppercase(%q): %v", s.in, err)
		}
		if got != s.want {
			t.Errorf("Uppercase(%q) = %q, want %q", s.in, got, s.want)
		}
	}
}

func TestUDPUppercase(t *testing.T) {
	ctx := testContext(t)
	addr := startUDP(t, &UDPServer{})
	c, err := DialUDP(ctx, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkSentences(t, ctx, c)
}

// UDP gives no delivery guarantee: with no server, the client's wait ends
// with its context.
func TestUDPClientNoServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := pc.LocalAddr().String()
	defer pc.Close() // bound, so nothing answers and no ICMP error comes back
	ctx, cancel := context.WithCancel(testContext(t))
	c, err := DialUDP(ctx, silent)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		// Cancel once the datagram has reached the silent socket.
		buf := make([]byte, 100)
		pc.ReadFrom(buf)
		cancel()
	}()
	if _, err := c.Uppercase(ctx, "anyone there?"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// A stray datagram from another address is not taken for the reply.
func TestUDPClientIgnoresStrangers(t *testing.T) {
	ctx := testContext(t)
	server, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	stranger, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	c, err := DialUDP(ctx, server.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		buf := make([]byte, 100)
		n, from, err := server.ReadFrom(buf)
		if err != nil {
			return
		}
		stranger.WriteTo([]byte("SPOOFED"), from)
		server.WriteTo([]byte(strings.ToUpper(string(buf[:n]))), from)
	}()
	got, err := c.Uppercase(ctx, "real")
	if err != nil || got != "REAL" {
		t.Errorf("Uppercase = %q, %v; want REAL", got, err)
	}
}

func TestTCPUppercase(t *testing.T) {
	ctx := testContext(t)
	addr := startTCP(t, &TCPServer{})
	c, err := DialTCP(ctx, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One connection carries every sentence: TCP is a persistent pipe.
	checkSentences(t, ctx, c)
	if _, err := c.Uppercase(ctx, "two\nlines"); err == nil {
		t.Error("a sentence with a newline was sent")
	}
}

// Many clients at once, each on its own connection, each gets its own
// answers: the concurrent server of the slide.
func TestTCPServerManyClients(t *testing.T) {
	ctx := testContext(t)
	addr := startTCP(t, &TCPServer{})
	const clients, rounds = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := DialTCP(ctx, addr.String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for r := range rounds {
				in := fmt.Sprintf("client %d round %d", i, r)
				got, err := c.Uppercase(ctx, in)
				if err != nil {
					errs <- err
					return
				}
				if got != strings.ToUpper(in) {
					errs <- fmt.Errorf("client %d got %q", i, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Shutdown stops accepting at once but lets a connected client finish.
func TestTCPServerShutdown(t *testing.T) {
	ctx := testContext(t)
	s := &TCPServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.Serve(ln) }()
	c, err := DialTCP(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Uppercase(ctx, "before"); err != nil {
		t.Fatal(err)
	}

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- s.Shutdown(ctx) }()
	if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v, want ErrServerClosed", err)
	}
	// The welcoming socket is closed: new clients are refused...
	if c2, err := DialTCP(ctx, ln.Addr().String()); err == nil {
		c2.Close()
		t.Error("a new client connected after Shutdown")
	}
	// ...while the connected one is still served.
	if got, err := c.Uppercase(ctx, "during"); err != nil || got != "DURING" {
		t.Errorf("during shutdown: %q, %v", got, err)
	}
	c.Close()
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

// Shutdown whose context ends first closes the remaining connections.
func TestTCPServerShutdownDeadline(t *testing.T) {
	ctx := testContext(t)
	s := &TCPServer{}
	addr := startTCP(t, s)
	c, err := DialTCP(ctx, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Uppercase(ctx, "hold the line"); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Shutdown(expired); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	if _, err := c.Uppercase(ctx, "still there?"); err == nil {
		t.Error("the connection survived a Shutdown whose context had ended")
	}
}

// A client that stops talking is disconnected after the idle timeout.
func TestTCPServerIdleTimeout(t *testing.T) {
	addr := startTCP(t, &TCPServer{IdleTimeout: 20 * time.Millisecond})
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle client read %d bytes, %v; want the server to close (EOF)", n, err)
	}
}

func TestCompleteRunes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{"", 0},
		{"crêpe", len("crêpe")},
		{"cr\xc3", 2},               // ê cut after its first byte
		{"a\xe2\x82", 1},            // € cut after two of three bytes
		{"a\xe2\x82\xac", 4},        // € whole
		{"\xf0\x9f\x98", 0},         // an emoji missing its last byte
		{"a\x80", 2},                // a stray continuation byte is passed on
		{"\x80\x80\x80\x80\x80", 5}, // no start byte in reach: pass it all on
	} {
		if got := completeRunes([]byte(tt.in)); got != tt.want {
			t.Errorf("completeRunes(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// A character cut between two TCP segments comes back whole.
func TestTCPServerSplitCharacter(t *testing.T) {
	addr := startTCP(t, &TCPServer{})
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	word := []byte("crêpe\n")
	conn.Write(word[:3]) // "cr" and the first byte of ê
	conn.Write(word[3:])
	lr := NewLineReader(conn, 100)
	line, err := lr.ReadLine()
	if err != nil || string(line) != "CRÊPE" {
		t.Errorf("got %q, %v; want CRÊPE", line, err)
	}
}

// Many connections trace into one plain buffer: the server makes it safe
// (the race detector checks).
func TestTCPServerSharedTrace(t *testing.T) {
	ctx := testContext(t)
	var buf strings.Builder
	s := &TCPServer{Trace: &buf}
	addr := startTCP(t, s)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := DialTCP(ctx, addr.String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if _, err := c.Uppercase(ctx, fmt.Sprintf("client %d", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	s.Close() // the traced conns flush on close
	for i := range 5 {
		if want := fmt.Sprintf("S: CLIENT %d\n", i); !strings.Contains(buf.String(), want) {
			t.Errorf("trace lacks %q", want)
		}
	}
}

// A context that ends after the call is over does not spoil the next call.
func TestWatchContextLateCancel(t *testing.T) {
	ctx := testContext(t)
	addr := startTCP(t, &TCPServer{})
	c, err := DialTCP(ctx, addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first, cancel := context.WithCancel(ctx)
	if _, err := c.Uppercase(first, "one"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if got, err := c.Uppercase(ctx, "two"); err != nil || got != "TWO" {
		t.Errorf("after a late cancel: %q, %v", got, err)
	}
}

// A context that ends during the call ends it, and the error says why.
func TestWatchContextCancelDuringCall(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(testContext(t))
	done := WatchContext(ctx, pc)
	go cancel()
	_, _, rerr := pc.ReadFrom(make([]byte, 10))
	if cerr := done(); !errors.Is(cerr, context.Canceled) {
		t.Fatalf("done() = %v, want context.Canceled", cerr)
	}
	if rerr == nil {
		t.Fatal("ReadFrom returned without error on an idle socket")
	}
	// The deadline is cleared again: a datagram can be read now.
	go func() {
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err == nil {
			c.Write([]byte("x"))
			c.Close()
		}
	}()
	if _, _, err := pc.ReadFrom(make([]byte, 10)); err != nil {
		t.Errorf("read after done(): %v", err)
	}
}

// done may be called twice, say once on an error path and once deferred.
func TestWatchContextDoneTwice(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	done := WatchContext(testContext(t), pc)
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Errorf("second done() = %v", err)
	}
}
