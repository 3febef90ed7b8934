package sockets

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestAcceptRetry(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", err)}
	}
	for _, tt := range []struct {
		name  string
		err   error
		last  time.Duration
		want  time.Duration
		retry bool
	}{
		{"out of descriptors", opErr(syscall.EMFILE), 0, 5 * time.Millisecond, true},
		{"system out of descriptors", opErr(syscall.ENFILE), 5 * time.Millisecond, 10 * time.Millisecond, true},
		{"client gave up", opErr(syscall.ECONNABORTED), 0, 5 * time.Millisecond, true},
		{"doubling stops at a second", opErr(syscall.EMFILE), 800 * time.Millisecond, time.Second, true},
		{"deadline on the listener", opErr(os.ErrDeadlineExceeded), 0, 5 * time.Millisecond, true},
		{"listener closed", opErr(net.ErrClosed), 0, 0, false},
		{"anything else", errors.New("boom"), 0, 0, false},
		{"wrapped", fmt.Errorf("serve: %w", opErr(syscall.EMFILE)), 0, 5 * time.Millisecond, true},
	} {
		wait, retry := AcceptRetry(tt.err, tt.last)
		if wait != tt.want || retry != tt.retry {
			t.Errorf("%s: AcceptRetry = %v, %v; want %v, %v", tt.name, wait, retry, tt.want, tt.retry)
		}
	}
}

// A listener that fails with EMFILE a few times, then works.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// The TCP server rides out a moment without file descriptors.
func TestTCPServerSurvivesEMFILE(t *testing.T) {
	ctx := testContext(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &TCPServer{}
	serveUntilCleanup(t, func() error { return s.Serve(&flakyListener{Listener: ln, fails: 3}) }, s.Close)
	c, err := DialTCP(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.Uppercase(ctx, "still serving"); err != nil || got != "STILL SERVING" {
		t.Errorf("after EMFILE: %q, %v", got, err)
	}
}
