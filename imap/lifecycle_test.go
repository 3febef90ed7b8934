package imap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeServer accepts one connection on loopback and runs script on it; it
// stops when the test ends.
func fakeServer(t *testing.T, script func(conn net.Conn, br *bufio.Reader)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		script(conn, bufio.NewReader(conn))
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}

// A server that announces a 256 MiB literal and sends six bytes of it
// costs the client what it sent, not what it announced.
func TestClientHostileLiteralAllocatesWhatArrives(t *testing.T) {
	addr := fakeServer(t, func(conn net.Conn, br *bufio.Reader) {
		io.WriteString(conn, "* OK hamburger.edu ready\r\n")
		if _, err := br.ReadString('\n'); err != nil {
			return
		}
		io.WriteString(conn, "* 1 FETCH (BODY[] {268435455}\r\nlittle")
		// then hang up with the literal unfinished
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = c.Login(ctx, "bob", "hunter2")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Login = %v, want unexpected EOF", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
		t.Errorf("client allocated %d bytes for a literal of 6", got)
	}
}

// One response may hold at most maxTotal bytes, however its literals are
// cut.
func TestReaderResponseCap(t *testing.T) {
	const lit = "* 1 FETCH (BODY[1] {10}\r\n0123456789 BODY[2] {10}\r\n0123456789)\r\n"
	for _, tc := range []struct {
		max    int64
		wantOK bool
	}{
		{0, true}, {200, true}, {40, false}, {15, false},
	} {
		r := newReader(bufio.NewReader(strings.NewReader(lit)))
		r.maxTotal = tc.max
		resp, err := r.readResponse(nil)
		if tc.wantOK {
			if err != nil || string(resp.fetch.Body["BODY[2]"]) != "0123456789" {
				t.Errorf("maxTotal %d: %v, %+v", tc.max, err, resp)
			}
			continue
		}
		var se *SyntaxError
		if !errors.Is(err, ErrLiteralTooBig) && !errors.As(err, &se) {
			t.Errorf("maxTotal %d: err = %v, want a too-big error", tc.max, err)
		}
	}
}

// silentServer greets (if greet) and then says nothing more.
func silentServer(t *testing.T, greet bool) string {
	return fakeServer(t, func(conn net.Conn, br *bufio.Reader) {
		if greet {
			io.WriteString(conn, "* OK hamburger.edu ready\r\n")
		}
		io.Copy(io.Discard, br) // until the client hangs up
	})
}

// A server gone silent cannot hang a call whose context has no deadline:
// CommandTimeout ends it.
func TestClientSilentServerTimesOut(t *testing.T) {
	for _, greet := range []bool{false, true} {
		addr := silentServer(t, greet)
		c, err := Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		c.CommandTimeout = 50 * time.Millisecond
		err = c.Login(context.Background(), "bob", "hunter2")
		c.Close()
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("greeting %v: Login = %v, want a timeout", greet, err)
		}
	}
}

// Cancelling the context ends a call waiting on a silent server, and
// says so.
func TestClientSilentServerCancel(t *testing.T) {
	addr := silentServer(t, true)
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- c.Fetch(ctx, SeqSet{{1, 1}}, FetchOptions{Items: []string{"FLAGS"}}, func(*FetchMessage) error { return nil })
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch = %v, want context.Canceled", err)
	}
}

func TestClientCommandTimeoutDefault(t *testing.T) {
	for _, tc := range []struct {
		set, want time.Duration
	}{
		{0, 5 * time.Minute}, {-1, 5 * time.Minute}, {time.Second, time.Second},
	} {
		c := &Client{CommandTimeout: tc.set}
		if got := c.commandTimeout(); got != tc.want {
			t.Errorf("CommandTimeout %v: %v, want %v", tc.set, got, tc.want)
		}
	}
}

// flakyListener fails Accept with err the first n times, then accepts.
type flakyListener struct {
	net.Listener
	mu     sync.Mutex
	n      int
	err    error
	closed bool
	calls  int
	third  chan struct{} // closed at the third call of Accept
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.calls++; l.calls == 3 {
		close(l.third)
	}
	if l.n > 0 {
		l.n--
		l.mu.Unlock()
		return nil, l.err
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

func (l *flakyListener) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Listener.Close()
}

func (l *flakyListener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func newFlaky(t *testing.T, n int, err error) *flakyListener {
	l, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		t.Fatal(err2)
	}
	return &flakyListener{Listener: l, n: n, err: err, third: make(chan struct{})}
}

// Out of file descriptors a few times, the server waits and serves on.
func TestServeRidesOutEMFILE(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	l := newFlaky(t, 3, emfile)
	srv := &Server{Hostname: "hamburger.edu", Backend: &Users{Dir: t.TempDir()}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	dialRaw(t, l.Addr().String()) // reads the greeting
	srv.Close()
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if !l.isClosed() {
		t.Error("listener left open")
	}
}

// Close interrupts the wait between failed Accepts.
func TestServeCloseDuringAcceptPause(t *testing.T) {
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	l := newFlaky(t, 1<<30, emfile) // never recovers: Serve waits 1 s a turn
	srv := &Server{Backend: &Users{Dir: t.TempDir()}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	<-l.third // Serve has waited twice and goes on waiting longer
	srv.Close()
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}

// An error Accept cannot recover from ends Serve, which closes its
// listener (the Lifecycle forgets it: see sockets).
func TestServeFatalAcceptError(t *testing.T) {
	bad := errors.New("listener broken")
	l := newFlaky(t, 1, bad)
	srv := &Server{Backend: &Users{Dir: t.TempDir()}}
	err := srv.Serve(l)
	if !errors.Is(err, bad) {
		t.Errorf("Serve = %v, want %v", err, bad)
	}
	if !l.isClosed() {
		t.Error("listener left open")
	}
	srv.Close()
}

// Close waits for a session run by ServeConn; a ServeConn after Close
// closes its connection at once.
func TestCloseWaitsForServeConn(t *testing.T) {
	srv := &Server{Hostname: "hamburger.edu", Backend: &Users{Dir: t.TempDir()}}
	client, server := net.Pipe()
	defer client.Close()
	ended := make(chan struct{})
	go func() {
		srv.ServeConn(server)
		close(ended)
	}()
	greeting, err := bufio.NewReader(client).ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	srv.Close()
	// The session forgets itself just before it ends; Close must have
	// waited for that.
	if left := srv.life.Conns(); left != 0 {
		t.Error("Close returned before ServeConn's session ended")
	}
	<-ended

	client2, server2 := net.Pipe()
	defer client2.Close()
	srv.ServeConn(server2) // returns at once
	if n, err := client2.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("after Close, ServeConn's connection gave %d bytes, %v; want EOF", n, err)
	}
}

// Shutdown lets a command under way finish, then ends the session and
// returns: it waits on the sessions, not on a clock.
func TestShutdownWaitsForCommandThenReturns(t *testing.T) {
	srv := &Server{Hostname: "hamburger.edu", Backend: &Users{Dir: t.TempDir()}, AllowInsecureAuth: true}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	s := dialRaw(t, l.Addr().String())
	// After "+" the session is in the middle of LOGIN, reading its
	// literal: busy, not waiting for a command.
	s.send("a1 LOGIN {3}\r\n")
	if l := s.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("got %q, want +", l)
	}
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	s.send("bob wrong\r\n")
	var got []string
	for i := 0; i < 3; i++ {
		l, err := s.br.ReadString('\n')
		if err != nil {
			break
		}
		got = append(got, strings.TrimRight(l, "\r\n"))
	}
	all := strings.Join(got, "\n")
	if len(got) != 2 || !strings.HasPrefix(got[0], "a1 NO") || !strings.HasPrefix(got[1], "* BYE") {
		t.Errorf("session said %q, want a1 NO then * BYE", all)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := <-served; err != ErrServerClosed {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}

// A context cancelled after its command is over leaves no deadline behind
// for the next command; one cancelled in the middle leaves the client
// saying it is unusable, rather than out of step with the server.
func TestClientLateCancel(t *testing.T) {
	addr, _, _ := startServer(t, nil)
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(context.Background(), "bob", "hunter2"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel() // races with Noop
		first := c.Noop(ctx)
		<-ctx.Done()
		next := c.Noop(context.Background())
		if first == nil {
			if next != nil {
				t.Fatalf("round %d: Noop after a late cancel: %v", i, next)
			}
			continue
		}
		if !errors.Is(first, context.Canceled) {
			t.Errorf("round %d: cancelled Noop = %v, want context.Canceled", i, first)
		}
		if next == nil || !strings.Contains(next.Error(), "unusable") {
			t.Errorf("round %d: Noop after a cancelled one = %v, want an unusable-connection error", i, next)
		}
		return
	}
}

// One command holds at most 16*MaxLine bytes in memory, however many
// literals it is cut into; the session answers BAD and goes on.
func TestServerCommandCap(t *testing.T) {
	addr, _, _ := startServer(t, nil)
	s := dialRaw(t, addr)
	s.send("a1 LOGIN bob hunter2\r\na2 SELECT INBOX\r\n")
	s.until("a2")
	lit := strings.Repeat("k", maxNonSync)
	var cmd strings.Builder
	cmd.WriteString("a3 SEARCH")
	for i := 0; i < 16*MaxLine/maxNonSync+2; i++ {
		cmd.WriteString(" SUBJECT {4096+}\r\n" + lit)
	}
	cmd.WriteString("\r\n")
	wrote := make(chan error, 1)
	go func() { // the server answers before it has read it all
		_, err := s.conn.Write([]byte(cmd.String()))
		wrote <- err
	}()
	if got := s.until("a3"); !strings.HasPrefix(got, "a3 BAD") || !strings.Contains(got, "in all") {
		t.Errorf("oversized SEARCH: %q, want BAD", got)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	s.send("a4 NOOP\r\n")
	if got := s.until("a4"); !strings.HasPrefix(got, "a4 OK") {
		t.Errorf("after the oversized command: %q", got)
	}
}
