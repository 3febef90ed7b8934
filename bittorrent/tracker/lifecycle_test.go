package tracker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/sockets/sockettest"
)

// failingListener fails its first fails Accepts with err (all of them if
// fails < 0) before it hands out connections, and tells calls of each
// failure.
type failingListener struct {
	net.Listener
	err   error
	calls chan int

	mu    sync.Mutex
	fails int
	n     int
}

func (l *failingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails != 0
	if l.fails > 0 {
		l.fails--
	}
	l.n++
	n := l.n
	l.mu.Unlock()
	if fail {
		if l.calls != nil {
			select {
			case l.calls <- n:
			default:
			}
		}
		return nil, l.err
	}
	return l.Listener.Accept()
}

func acceptError(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// A burst of EMFILE (or its friends) from Accept does not stop the HTTP
// tracker: it waits and accepts again.
func TestServeRidesOutAcceptErrors(t *testing.T) {
	for _, err := range []error{
		acceptError(syscall.EMFILE),
		acceptError(syscall.ENFILE),
		acceptError(syscall.ENOMEM), // not Temporary(): net/http's server alone would give up
		fmt.Errorf("accept: %w", syscall.ECONNABORTED),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			l, err2 := net.Listen("tcp", "127.0.0.1:0")
			if err2 != nil {
				t.Fatal(err2)
			}
			var logs sockettest.SyncBuffer
			srv := &Server{ErrorLog: log.New(&logs, "", 0)}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(&failingListener{Listener: l, err: err, fails: 3}) }()
			defer func() {
				srv.Close()
				if err := <-served; !errors.Is(err, ErrServerClosed) {
					t.Errorf("Serve returned %v", err)
				}
			}()

			var c Client
			resp, aerr := c.Announce(context.Background(), "http://"+l.Addr().String()+"/announce",
				&AnnounceRequest{InfoHash: metainfo.Hash{7}, PeerID: pid("a"), Port: 1, Left: 1})
			if aerr != nil {
				t.Fatalf("announce after 3 failed accepts: %v\nlog:\n%s", aerr, logs.String())
			}
			if resp.Incomplete != 1 {
				t.Errorf("incomplete = %d, want 1", resp.Incomplete)
			}
			if got := strings.Count(logs.String(), "retrying in"); got != 3 {
				t.Errorf("%d retries logged, want 3:\n%s", got, logs.String())
			}
		})
	}
}

// An Accept error that does not pass ends Serve with that error.
func TestServeEndsOnOtherAcceptErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	srv := &Server{ErrorLog: log.New(io.Discard, "", 0)}
	defer srv.Close()
	bad := acceptError(syscall.EINVAL)
	if err := srv.Serve(&failingListener{Listener: l, err: bad, fails: -1}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Serve returned %v, want EINVAL", err)
	}
}

// Close ends Serve while it waits out an Accept error that persists.
func TestCloseEndsAcceptWait(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{ErrorLog: log.New(io.Discard, "", 0)}
	fl := &failingListener{Listener: l, err: acceptError(syscall.EMFILE), fails: -1, calls: make(chan int, 1)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(fl) }()
	waitCalls(t, fl.calls, served, 4) // waiting 5, 10, 20 ms, now 40 ms
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
}

// waitCalls waits for the n-th failed call, failing the test if the
// serving loop returns first.
func waitCalls(t *testing.T, calls <-chan int, served <-chan error, n int) {
	t.Helper()
	for {
		select {
		case got := <-calls:
			if got >= n {
				return
			}
		case err := <-served:
			t.Fatalf("the loop gave up after a passing error: %v", err)
		}
	}
}

// failingPacketConn fails its first fails reads with err (all if < 0),
// telling calls of each.
type failingPacketConn struct {
	net.PacketConn
	err   error
	calls chan int

	mu    sync.Mutex
	fails int
	n     int
}

func (c *failingPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	fail := c.fails != 0
	if c.fails > 0 {
		c.fails--
	}
	c.n++
	n := c.n
	c.mu.Unlock()
	if fail {
		if c.calls != nil {
			select {
			case c.calls <- n:
			default:
			}
		}
		return 0, nil, c.err
	}
	return c.PacketConn.ReadFrom(p)
}

// The UDP loop backs off and reads again after errors that pass, ends
// on a socket closed under it, and Close ends its wait.
func TestServePacketReadErrors(t *testing.T) {
	readErr := &net.OpError{Op: "read", Net: "udp", Err: os.NewSyscallError("recvfrom", syscall.ENOMEM)}

	t.Run("rides out", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var logs sockettest.SyncBuffer
		srv := &Server{ErrorLog: log.New(&logs, "", 0)}
		served := make(chan error, 1)
		go func() { served <- srv.ServePacket(&failingPacketConn{PacketConn: pc, err: readErr, fails: 3}) }()
		defer func() {
			srv.Close()
			if err := <-served; !errors.Is(err, ErrServerClosed) {
				t.Errorf("ServePacket returned %v", err)
			}
		}()
		uc, err := DialUDP(context.Background(), pc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		uc.Timeout, uc.Retries = 2*time.Second, 1 // bounds the failure, not the success
		if _, err := uc.Announce(context.Background(), &AnnounceRequest{InfoHash: metainfo.Hash{8}, PeerID: pid("a"), Port: 1, Left: 1}); err != nil {
			t.Fatalf("announce after 3 failed reads: %v\nlog:\n%s", err, logs.String())
		}
		log := logs.String()
		for _, want := range []string{"retrying in 5ms", "retrying in 10ms", "retrying in 20ms"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
	})

	t.Run("closed socket", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{ErrorLog: log.New(io.Discard, "", 0)}
		defer srv.Close()
		pc.Close() // by its owner, not by the server
		if err := srv.ServePacket(pc); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServePacket on a closed socket returned %v", err)
		}
	})

	t.Run("close during wait", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{ErrorLog: log.New(io.Discard, "", 0)}
		fc := &failingPacketConn{PacketConn: pc, err: readErr, fails: -1, calls: make(chan int, 1)}
		served := make(chan error, 1)
		go func() { served <- srv.ServePacket(fc) }()
		waitCalls(t, fc.calls, served, 4)
		srv.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServePacket returned %v", err)
		}
	})
}

func TestReadRetryWait(t *testing.T) {
	for _, tc := range []struct{ last, want time.Duration }{
		{0, 5 * time.Millisecond},
		{5 * time.Millisecond, 10 * time.Millisecond},
		{300 * time.Millisecond, 600 * time.Millisecond},
		{600 * time.Millisecond, time.Second},
		{time.Second, time.Second},
	} {
		if got := readRetryWait(tc.last); got != tc.want {
			t.Errorf("readRetryWait(%v) = %v, want %v", tc.last, got, tc.want)
		}
	}
}

// stuckBackend holds every announce until release is closed, telling
// entered when one arrives. It ignores its context, as a careless Backend
// would.
type stuckBackend struct {
	Registry
	entered chan struct{}
	release chan struct{}
}

func (b *stuckBackend) Announce(ctx context.Context, now time.Time, req *AnnounceRequest, addr netip.AddrPort, numWant int) ([]Peer, Stats, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Registry.Announce(ctx, now, req, addr, numWant)
}

// blockingBackend is a Backend whose store never answers: every call
// tells entered and waits for its context to end, then tells ended and
// returns the context's error, as a well-behaved Backend over a dead
// database does.
type blockingBackend struct {
	entered chan string // "announce" or "scrape"
	ended   chan error
}

func (b *blockingBackend) wait(ctx context.Context, what string) error {
	b.entered <- what
	<-ctx.Done()
	b.ended <- ctx.Err()
	return ctx.Err()
}

func (b *blockingBackend) Announce(ctx context.Context, _ time.Time, _ *AnnounceRequest, _ netip.AddrPort, _ int) ([]Peer, Stats, error) {
	return nil, Stats{}, b.wait(ctx, "announce")
}

func (b *blockingBackend) Scrape(ctx context.Context, _ time.Time, _ metainfo.Hash) (Stats, error) {
	return Stats{}, b.wait(ctx, "scrape")
}

// Close, and Shutdown once its context ends, do not wait for ever for a
// Backend that blocks: they cancel the contexts of the requests under
// way, over HTTP and UDP alike, and the Backend's calls return.
func TestStopCancelsBackendCalls(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		stop    func(*Server) error
		wantErr error
	}{
		{"Close", (*Server).Close, nil},
		{"Shutdown", func(s *Server) error { return s.Shutdown(cancelled) }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backend := &blockingBackend{entered: make(chan string, 2), ended: make(chan error, 2)}
			srv := &Server{Backend: backend, ErrorLog: log.New(io.Discard, "", 0)}
			l, pc, err := ListenBoth("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 2)
			go func() { served <- srv.Serve(l) }()
			go func() { served <- srv.ServePacket(pc) }()

			// An announce over HTTP and a scrape over UDP, both held in
			// the backend.
			httpDone := make(chan error, 1)
			go func() {
				var c Client
				_, err := c.Announce(context.Background(), "http://"+l.Addr().String()+"/announce",
					&AnnounceRequest{InfoHash: metainfo.Hash{13}, PeerID: pid("a"), Port: 1, Left: 1})
				httpDone <- err
			}()
			udpCtx, udpCancel := context.WithCancel(context.Background())
			defer udpCancel()
			udpDone := make(chan error, 1)
			go func() {
				var c Client
				_, err := c.Scrape(udpCtx, "udp://"+pc.LocalAddr().String()+"/announce", metainfo.Hash{13})
				udpDone <- err
			}()
			got := map[string]bool{<-backend.entered: true, <-backend.entered: true}
			if !got["announce"] || !got["scrape"] {
				t.Fatalf("backend calls under way: %v, want an announce and a scrape", got)
			}

			if err := tc.stop(srv); !errors.Is(err, tc.wantErr) {
				t.Errorf("%s returned %v, want %v", tc.name, err, tc.wantErr)
			}
			// It returned, so both calls have ended: each saw its context end.
			for range 2 {
				if err := <-backend.ended; !errors.Is(err, context.Canceled) {
					t.Errorf("a backend call ended with %v, want context.Canceled", err)
				}
			}
			for range 2 {
				if err := <-served; !errors.Is(err, ErrServerClosed) {
					t.Errorf("Serve or ServePacket returned %v", err)
				}
			}
			// Neither request got a reply: the HTTP connection was closed,
			// and the UDP client waits until its own context ends.
			if err := <-httpDone; err == nil {
				t.Error("the HTTP announce held in the backend got a reply")
			}
			udpCancel()
			if err := <-udpDone; !errors.Is(err, context.Canceled) {
				t.Errorf("the UDP scrape held in the backend: %v, want no reply (context.Canceled)", err)
			}
		})
	}
}

// When Shutdown's context ends with a request still in flight, Shutdown
// closes the connection (as Close does), waits for the handler to return,
// as every appnet server does, and returns the context's error.
func TestShutdownFallsBackToClose(t *testing.T) {
	backend := &stuckBackend{entered: make(chan struct{}, 1), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(backend.release) })
	defer release()
	srv := &Server{Backend: backend, ErrorLog: log.New(io.Discard, "", 0)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	target, err := announceURL("http://hamburger.edu/announce", &AnnounceRequest{InfoHash: metainfo.Hash{9}, PeerID: pid("a"), Port: 1, Left: 1})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: hamburger.edu\r\n\r\n", strings.TrimPrefix(target, "http://hamburger.edu"))
	<-backend.entered // the request is in the handler, which will not return until released

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	// The connection was closed under the stuck request: the client reads
	// the end of the stream, not a reply (and not its own deadline).
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("after Shutdown gave up: read %q, %v; want the connection closed", line, err)
	}
	// The handler is still in the backend, so Shutdown has not returned.
	select {
	case err := <-shut:
		t.Errorf("Shutdown returned %v while a handler was still running", err)
	default:
	}
	release()
	if err := <-shut; !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown returned %v, want context.Canceled", err)
	}
}

// Shutdown with time enough drains the request in flight and returns nil.
func TestShutdownDrains(t *testing.T) {
	backend := &stuckBackend{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := &Server{Backend: backend}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	replied := make(chan error, 1)
	go func() {
		var c Client
		_, err := c.Announce(context.Background(), "http://"+l.Addr().String()+"/announce",
			&AnnounceRequest{InfoHash: metainfo.Hash{9}, PeerID: pid("a"), Port: 1, Left: 1})
		replied <- err
	}()
	<-backend.entered
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	if err := <-served; !errors.Is(err, ErrServerClosed) { // the listener is closed first
		t.Errorf("Serve returned %v", err)
	}
	close(backend.release)
	if err := <-replied; err != nil {
		t.Errorf("request in flight during Shutdown: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// A Serve that returns (its listener closed by its owner) leaves no
// web.Server behind in the tracker.
func TestServeForgetsItsWebServer(t *testing.T) {
	srv := &Server{ErrorLog: log.New(io.Discard, "", 0)}
	defer srv.Close()
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		var c Client
		if _, err := c.Announce(context.Background(), "http://"+l.Addr().String()+"/announce",
			&AnnounceRequest{InfoHash: metainfo.Hash{10}, PeerID: pid("a"), Port: 1, Left: 1}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		if err := <-served; err == nil || errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve on a listener its owner closed returned %v", err)
		}
	}
	srv.mu.Lock()
	n := len(srv.webs)
	srv.mu.Unlock()
	if n != 0 {
		t.Errorf("%d web.Servers kept after their Serve returned, want 0", n)
	}
}

// cancelOnRead cancels a context as soon as a read has returned, the
// latest a cancel can come while a request is under way.
type cancelOnRead struct {
	net.Conn
	cancel func()

	mu           sync.Mutex
	readDeadline time.Time
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	return n, err
}

func (c *cancelOnRead) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *cancelOnRead) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// A cancel that comes as the reply arrives does not leave a deadline in
// the past behind: the client's next request, with a live context, gets
// its reply at the first try.
func TestUDPLateCancelLeavesNoDeadline(t *testing.T) {
	_, udpURL := startServer(t, &Server{})
	addr := strings.TrimSuffix(strings.TrimPrefix(udpURL, "udp://"), "/announce")
	raw, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	conn := &cancelOnRead{Conn: raw, cancel: cancel}
	uc := NewUDPClient(conn)
	defer uc.Close()
	var trace strings.Builder
	uc.Trace = &trace
	uc.Timeout, uc.Retries = 10*time.Second, 1

	if err := uc.Connect(ctx); err != nil {
		t.Errorf("connect whose context ended after its reply came: %v", err)
	}
	conn.mu.Lock()
	left := conn.readDeadline
	conn.mu.Unlock()
	if !left.IsZero() && left.Before(time.Now()) {
		t.Errorf("a deadline in the past (%v) was left on the socket", left)
	}
	if _, err := uc.Announce(context.Background(), &AnnounceRequest{InfoHash: metainfo.Hash{11}, PeerID: pid("a"), Port: 1, Left: 1}); err != nil {
		t.Fatalf("announce after a late cancel: %v\n%s", err, trace.String())
	}
	if strings.Contains(trace.String(), "no reply") {
		t.Errorf("a request timed out after the late cancel:\n%s", trace.String())
	}
}

// When its listener fails, Serve lets the request under way finish and
// closes every connection it accepted (the idle ones too) before it
// returns, so none outlives it.
func TestServeEndsItsConnections(t *testing.T) {
	backend := &stuckBackend{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := &Server{Backend: backend, ErrorLog: log.New(io.Discard, "", 0)}
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	// An idle keep-alive connection, after one scrape.
	idle, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idle.SetDeadline(time.Now().Add(10 * time.Second))
	h := metainfo.Hash{12}
	fmt.Fprintf(idle, "GET /scrape?info_hash=%s HTTP/1.1\r\nHost: hamburger.edu\r\n\r\n", url.QueryEscape(string(h[:])))
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// A request under way, held in the backend.
	replied := make(chan error, 1)
	go func() {
		var c Client
		_, err := c.Announce(context.Background(), "http://"+l.Addr().String()+"/announce",
			&AnnounceRequest{InfoHash: h, PeerID: pid("a"), Port: 1, Left: 1})
		replied <- err
	}()
	<-backend.entered

	l.Close() // by its owner: Serve ends with an error
	close(backend.release)
	if err := <-served; err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve on a listener its owner closed returned %v", err)
	}
	if err := <-replied; err != nil {
		t.Errorf("request under way when the listener failed: %v", err)
	}
	if b, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("idle connection after Serve returned: read %q, %v; want it closed", b, err)
	}
}

// brokenListener hands out connections until broken is closed; its next
// Accept then fails for good, and Close tells closed.
type brokenListener struct {
	net.Listener
	broken chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (l *brokenListener) Accept() (net.Conn, error) {
	select {
	case <-l.broken:
		return nil, errors.New("listener broken")
	default:
	}
	return l.Listener.Accept()
}

func (l *brokenListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// A Shutdown of the tracker while Serve drains a failed listener's
// connections lets their requests finish, as it does for every other
// connection: the drain is not cut short when the tracker's UDP side is
// done. (When Serve drained under the lifecycle's context, the cut raced
// with the release below, so this test caught it only now and then; what
// it checks holds either way.)
func TestShutdownWhileServeDrains(t *testing.T) {
	backend := &stuckBackend{entered: make(chan struct{}, 1), release: make(chan struct{})}
	release := sync.OnceFunc(func() { close(backend.release) })
	defer release()
	srv := &Server{Backend: backend, ErrorLog: log.New(io.Discard, "", 0)}
	defer srv.Close()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &brokenListener{Listener: tl, broken: make(chan struct{}), closed: make(chan struct{})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	replied := make(chan error, 1)
	go func() {
		var c Client
		_, err := c.Announce(context.Background(), "http://"+tl.Addr().String()+"/announce",
			&AnnounceRequest{InfoHash: metainfo.Hash{14}, PeerID: pid("a"), Port: 1, Left: 1})
		replied <- err
	}()
	<-backend.entered

	// Break the listener (the wake-up connection takes the accept loop to
	// its failing Accept). Once the web server closed it, it has returned
	// the listener's error, and Serve goes on to drain the connection.
	close(l.broken)
	if wake, err := net.Dial("tcp", tl.Addr().String()); err == nil {
		wake.Close()
	}
	<-l.closed

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	<-srv.life.Context().Done() // the UDP side is done: the point where the drain used to be cut
	release()
	if err := <-replied; err != nil {
		t.Errorf("request under way when the listener failed, then Shutdown: %v", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve on a broken listener returned %v, want its error", err)
	}
}
