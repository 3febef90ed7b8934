package smtp

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startServer serves srv on a fresh loopback port until the test ends.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	})
	return l.Addr().String()
}

// rawClient types at a server as telnet would.
type rawClient struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawClient{t: t, conn: c, r: bufio.NewReader(c)}
	rc.expect(220)
	return rc
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := rc.conn.Write([]byte(s)); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// reply reads one reply and returns its code and its lines' text.
func (rc *rawClient) reply() (int, string) {
	rc.t.Helper()
	var text []string
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			rc.t.Fatalf("reading reply: %v (so far %q)", err, text)
		}
		if len(line) < 5 || line[len(line)-2] != '\r' {
			rc.t.Fatalf("bad reply line %q", line)
		}
		text = append(text, line[4:len(line)-2])
		if line[3] == ' ' {
			code, _ := strconv.Atoi(line[:3])
			return code, strings.Join(text, "\n")
		}
	}
}

// expect reads a reply and fails unless its code is want.
func (rc *rawClient) expect(want int) string {
	rc.t.Helper()
	code, text := rc.reply()
	if code != want {
		rc.t.Fatalf("got %d %s, want %d", code, text, want)
	}
	return text
}

// cmd sends a line and expects a code.
func (rc *rawClient) cmd(line string, want int) string {
	rc.t.Helper()
	rc.send(line + "\r\n")
	return rc.expect(want)
}

// closed checks that the server closed the connection.
func (rc *rawClient) closed() {
	rc.t.Helper()
	if line, err := rc.r.ReadString('\n'); err == nil {
		rc.t.Fatalf("connection still open, got %q", line)
	}
}
