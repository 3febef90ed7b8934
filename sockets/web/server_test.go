package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// dial connects to addr with a deadline for the whole test conversation.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// roundTrip sends one request on c and reads its response.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader, raw string) (*http.Response, string) {
	t.Helper()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// waitEOF reads c until the server closes it, and returns what came.
func waitEOF(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("waiting for the server to close: %v (after %q)", err, b)
	}
	return string(b)
}

// TestFullDuplex: a handler may write its response while it reads the
// request's body (net/http's HTTP/1 server cuts the body off once the
// response begins). The response says "Connection: close" when the rest of
// the body is of unknown length.
func TestFullDuplex(t *testing.T) {
	addr := start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t), MaxBodyBytes: 1 << 20})
	payload := strings.Repeat("full duplex ", 20000)
	for _, chunked := range []bool{false, true} {
		c := dial(t, addr)
		var raw string
		if chunked {
			raw = fmt.Sprintf("POST /stream HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(payload), payload)
		} else {
			raw = fmt.Sprintf("POST /stream HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload)
		}
		go io.WriteString(c, raw) // the server answers while this goes on
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != payload {
			t.Errorf("chunked %v: %d bytes back of %d, %v", chunked, len(body), len(payload), err)
		}
		if resp.Close != chunked {
			t.Errorf("chunked %v: Close %v", chunked, resp.Close)
		}
	}
}

// TestShutdown: Shutdown closes the idle connection at once, lets the
// request being served finish (its response says "Connection: close"),
// and returns when it has; Serve returns ErrServerClosed; no goroutine of
// the server is left.
func TestShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished\n")
	})
	mux.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fast\n") })
	s := &Server{Handler: mux, ErrorLog: testLog(t)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	addr := l.Addr().String()

	idle := dial(t, addr)
	idleR := bufio.NewReader(idle)
	if resp, body := roundTrip(t, idle, idleR, "GET /fast HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 200 || body != "fast\n" {
		t.Fatalf("fast: %s %q", resp.Status, body)
	}
	busy := dial(t, addr)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	if rest := waitEOF(t, idleR); rest != "" {
		t.Errorf("the idle connection got %q before closing", rest)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in progress", err)
	default:
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "finished\n" || !resp.Close {
		t.Errorf("the request in progress: %s %q, Close %v", resp.Status, body, resp.Close)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("the listener still accepts")
	}
	for _, g := range sockettest.BlockedGoroutines() {
		if strings.Contains(g, "sockets/web.") && !strings.Contains(g, "_test.go") {
			t.Errorf("left after Shutdown:\n%s", g)
		}
	}
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if err := s.ListenAndServe(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe after Shutdown: %v", err)
	}
}

// TestShutdownDeadline: when Shutdown's context ends first, the request's
// context is cancelled, the connection closed, and Shutdown returns the
// context's error.
func TestShutdownDeadline(t *testing.T) {
	started := make(chan struct{})
	cancelled := make(chan error, 1)
	s := &Server{ErrorLog: testLog(t), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		cancelled <- r.Context().Err()
	})}
	addr := start(t, s)
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err != context.Canceled {
		t.Errorf("Shutdown: %v, want context.Canceled", err)
	}
	if err := <-cancelled; err != context.Canceled {
		t.Errorf("the request's context: %v", err)
	}
	waitEOF(t, c)
}

// TestClose: Close ends everything at once; handlers learn it from their
// context.
func TestClose(t *testing.T) {
	started := make(chan struct{})
	s := &Server{ErrorLog: testLog(t), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})}
	addr := start(t, s)
	idle := dial(t, addr)
	busy := dial(t, addr)
	io.WriteString(busy, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitEOF(t, idle)
	waitEOF(t, busy)
}

// TestTimeouts: a client that sends half a request head, or goes quiet
// between requests, is dropped without an answer; one that stops reading
// makes the handler's writes fail.
func TestTimeouts(t *testing.T) {
	wrote := make(chan error, 1)
	mux := http.NewServeMux()
	mux.Handle("/", testHandler())
	mux.HandleFunc("/flood", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
	})
	s := &Server{Handler: mux, ErrorLog: testLog(t),
		ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}
	addr := start(t, s)

	slow := dial(t, addr)
	io.WriteString(slow, "GET /hello HTTP/1.1\r\nHost: h\r\n") // and never the empty line
	if got := waitEOF(t, slow); got != "" {
		t.Errorf("half a head got %q", got)
	}

	quiet := dial(t, addr)
	br := bufio.NewReader(quiet)
	if resp, _ := roundTrip(t, quiet, br, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	if got := waitEOF(t, br); got != "" {
		t.Errorf("an idle connection got %q", got)
	}

	stalled := dial(t, addr)
	stalled.(*net.TCPConn).SetReadBuffer(4 << 10)
	io.WriteString(stalled, "GET /flood HTTP/1.1\r\nHost: h\r\n\r\n")
	if err := <-wrote; err == nil {
		t.Error("writing to a client that does not read never failed")
	}
}

// TestConnContext: the request's context comes from ConnContext, carries
// the local address as net/http's does, and is cancelled when the
// connection ends.
func TestConnContext(t *testing.T) {
	type key struct{}
	done := make(chan error, 1)
	s := &Server{
		ErrorLog: testLog(t),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, key{}, c.RemoteAddr().String())
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			fmt.Fprintf(w, "%v %v %v", ctx.Value(key{}) == r.RemoteAddr, ctx.Value(http.LocalAddrContextKey) != nil, ctx.Err())
			go func() {
				<-ctx.Done()
				done <- ctx.Err()
			}()
		}),
	}
	addr := start(t, s)
	c := dial(t, addr)
	resp, body := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || body != "true true <nil>" {
		t.Errorf("%s %q", resp.Status, body)
	}
	if err := <-done; err != context.Canceled {
		t.Errorf("after the connection ended: %v", err)
	}
}

// TestPanicLogged: a panic is logged with its value and stack; the
// connection carries no more requests; http.ErrAbortHandler is not logged.
func TestPanicLogged(t *testing.T) {
	var logged sockettest.SyncBuffer
	mux := http.NewServeMux()
	mux.Handle("/", testHandler())
	mux.HandleFunc("/abort", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	addr := start(t, &Server{Handler: mux, ErrorLog: log.New(&logged, "", 0)})
	for _, path := range []string{"/abort", "/panic"} {
		c := dial(t, addr)
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
		got := waitEOF(t, c)
		if !strings.HasPrefix(got, "HTTP/1.1 500 Internal Server Error\r\n") || strings.Count(got, "HTTP/1.1") != 1 {
			t.Errorf("%s: %q", path, got)
		}
	}
	text := logged.String()
	if !strings.Contains(text, "web: panic serving 127.0.0.1:") || !strings.Contains(text, "the handler fails") ||
		!strings.Contains(text, "helpers_test.go") || strings.Contains(text, "abort") {
		t.Errorf("the log:\n%s", text)
	}
}

// TestTrace: one C: line per request, one S: line per status line.
func TestTrace(t *testing.T) {
	var trace sockettest.SyncBuffer
	addr := start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t), Trace: &trace})
	c := dial(t, addr)
	io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi"+
		"GET /hello HTTP/1.0\r\n\r\n")
	waitEOF(t, c)
	c = dial(t, addr)
	io.WriteString(c, "GET /hello HTTP/1.1\r\n\r\n")
	waitEOF(t, c)
	want := "C: POST /echo HTTP/1.1\nS: HTTP/1.1 100 Continue\nS: HTTP/1.1 200 OK\n" +
		"C: GET /hello HTTP/1.0\nS: HTTP/1.1 200 OK\n" +
		"C: (refused: 400 an HTTP/1.1 request without a Host field)\nS: HTTP/1.1 400 Bad Request\n"
	if got := trace.String(); got != want {
		t.Errorf("trace:\n%s\nwant:\n%s", got, want)
	}
}

// TestResponseController: http.ResponseController finds Flush and the
// deadlines, and says the rest is not supported.
func TestResponseController(t *testing.T) {
	errs := make(chan error, 4)
	addr := start(t, &Server{ErrorLog: testLog(t), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		errs <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
		errs <- rc.SetReadDeadline(time.Now().Add(time.Minute))
		io.WriteString(w, "flushed")
		errs <- rc.Flush()
		_, _, err := rc.Hijack()
		errs <- err
	})})
	c := dial(t, addr)
	resp, body := roundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if body != "flushed" || len(resp.TransferEncoding) != 1 {
		t.Errorf("%q, TransferEncoding %q", body, resp.TransferEncoding)
	}
	for i, want := range []error{nil, nil, nil, http.ErrNotSupported} {
		if err := <-errs; !errors.Is(err, want) && err != want {
			t.Errorf("call %d: %v, want %v", i, err, want)
		}
	}
}

// TestListenAndServe listens on Addr and stops with Close.
func TestListenAndServe(t *testing.T) {
	s := &Server{Addr: "127.0.0.1:0", ErrorLog: testLog(t)}
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	s.Close()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe: %v", err)
	}
}

// TestWriteAfterHandler: a ResponseWriter or Body kept after the handler
// returns is dead: it cannot write into the next response on the
// connection.
func TestWriteAfterHandler(t *testing.T) {
	kept := make(chan http.ResponseWriter, 1)
	keptBody := make(chan io.Reader, 1)
	secondBegun, staleDone := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	addr := start(t, &Server{ErrorLog: testLog(t), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("X-First", "1")
			kept <- w
			keptBody <- r.Body
			io.WriteString(w, "first")
			return
		}
		w.Header().Set("X-Second", "1")
		close(secondBegun)
		<-staleDone
		io.WriteString(w, "second")
	})})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	roundTrip(t, c, br, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx")
	w := <-kept
	if _, err := io.WriteString(w, "intruder"); err == nil {
		t.Error("a write after the handler returned succeeded")
	}
	if _, err := (<-keptBody).Read(make([]byte, 1)); err == nil {
		t.Error("a read after the handler returned succeeded")
	}
	// The connection reuses its header map: a stale ResponseWriter must
	// not reach the next response's fields through it, even while that
	// response is being made.
	go func() {
		<-secondBegun
		w.Header().Set("X-Intruder", "1")
		close(staleDone)
	}()
	resp, body := roundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if body != "second" || resp.Header.Get("X-Second") != "1" {
		t.Errorf("second response: %v %q", resp.Header, body)
	}
	if v := resp.Header.Get("X-Intruder"); v != "" {
		t.Errorf("the second response carries X-Intruder: %s, set through the first's ResponseWriter", v)
	}
}

// TestShutdownPipelined: a response already begun when Shutdown comes is
// finished and sent whole; the request pipelined behind it is not served.
func TestShutdownPipelined(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", testHandler())
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "begun\n")
		w.(http.Flusher).Flush()
		close(started)
		<-release
		io.WriteString(w, "finished\n")
	})
	s := &Server{Handler: mux, ErrorLog: testLog(t)}
	addr := start(t, s)
	c := dial(t, addr)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	<-s.life.Done()
	close(release)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "begun\nfinished\n" {
		t.Errorf("the response in progress: %q, %v", body, err)
	}
	if rest := waitEOF(t, br); rest != "" {
		t.Errorf("after it: %q", rest)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestPipelinedBatch: the answers to requests that arrived together leave
// together, in one write; a request that must wait for more bytes gets
// the answers before it sent first.
func TestPipelinedBatch(t *testing.T) {
	s := &Server{Handler: testHandler(), ErrorLog: testLog(t)}
	req := "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n"
	c := &memConn{in: bytes.NewReader([]byte(strings.Repeat(req, 3))), limit: 1 << 20}
	s.serveConn(c)
	if n := strings.Count(c.out.String(), "HTTP/1.1 200 OK"); n != 3 || c.writes != 1 {
		t.Errorf("%d responses in %d writes, want 3 in 1", n, c.writes)
	}
	// Three requests and the start of a fourth: the three answers go out
	// before the server waits for the rest of it.
	c = &memConn{in: bytes.NewReader([]byte(strings.Repeat(req, 3) + "GET /hel")), limit: 1 << 20}
	s.serveConn(c)
	if n := strings.Count(c.out.String(), "HTTP/1.1 200 OK"); n != 3 || c.writes != 1 {
		t.Errorf("%d responses in %d writes, want 3 in 1", n, c.writes)
	}
}

// TestUnreadBodyTooLong: a body the handler did not read and that is
// longer than the server will throw away (maxDrain) closes the connection,
// and the response says so; one within it is thrown away, and the
// connection serves the next request.
func TestUnreadBodyTooLong(t *testing.T) {
	addr := start(t, &Server{Handler: testHandler(), ErrorLog: testLog(t), MaxBodyBytes: 2 * maxDrain})
	for _, n := range []int{maxDrain, maxDrain + 1} {
		c := dial(t, addr)
		go func() {
			fmt.Fprintf(c, "POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", n, strings.Repeat("b", n))
			io.WriteString(c, "GET /hello HTTP/1.1\r\nHost: h\r\n\r\n")
			c.(*net.TCPConn).CloseWrite()
		}()
		got := waitEOF(t, c)
		responses := strings.Count(got, "HTTP/1.1 200 OK")
		closes := strings.Count(got, "Connection: close")
		if n <= maxDrain && (responses != 2 || closes != 0) || n > maxDrain && (responses != 1 || closes != 1) {
			t.Errorf("%d bytes unread: %d responses, %d saying close:\n%s", n, responses, closes, got)
		}
	}
}

// TestConnWriterWritev: on a connection that is not a TCP socket (or off
// Linux) the two buffers of a large write leave through net.Buffers, in
// order and whole.
func TestConnWriterWritev(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	var iov [2][]byte
	w := connWriter{server, &iov}
	a, b := []byte(strings.Repeat("a", 3000)), []byte(strings.Repeat("b", 70000))
	errc := make(chan error, 1)
	go func() {
		errc <- w.writev(a, b)
		server.Close()
	}()
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(got) != string(a)+string(b) {
		t.Errorf("read %d bytes, want %d: a then b", len(got), len(a)+len(b))
	}
	if iov[0] != nil || iov[1] != nil {
		t.Error("the buffers are still held after the write")
	}
}
