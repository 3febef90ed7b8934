package web

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// floodHandler writes up to 256 MB of body in pieces under half the write
// buffer (so they go through it and its flushes, the socket's own sends)
// until a write fails, and hands over the error.
func floodHandler(errc chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		piece := make([]byte, 1000)
		var err error
		for total := 0; total < 256<<20 && err == nil; total += len(piece) {
			_, err = w.Write(piece)
		}
		errc <- err
	})
}

// TestSendWaitsForRoom: a client that reads nothing fills the socket's
// buffers; the server's sends then wait for room (EAGAIN, then the
// netpoller) and give up at the write deadline, which the handler sees.
func TestSendWaitsForRoom(t *testing.T) {
	errc := make(chan error, 1)
	addr := start(t, &Server{WriteTimeout: 100 * time.Millisecond, ErrorLog: testLog(t), Handler: floodHandler(errc)})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the handler's write: %v, want the write deadline's error", err)
	}
}

// TestSendToResetConnection: when the client resets the connection in
// the middle of a response, the server's next send fails at once with the
// socket's error, and the handler sees it.
func TestSendToResetConnection(t *testing.T) {
	errc := make(chan error, 1)
	addr := start(t, &Server{ErrorLog: testLog(t), Handler: floodHandler(errc)})
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil { // the response has begun
		t.Fatal(err)
	}
	c.(*net.TCPConn).SetLinger(0) // Close sends a reset
	c.Close()
	err := <-errc
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the handler's write after the reset: %v, want the socket's error", err)
	}
}
