package dns

import (
	"context"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// emfileListener fails Accept with EMFILE a few times, then works.
type emfileListener struct {
	net.Listener
	fails int
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// A moment without file descriptors does not end TCP service.
func TestServeRidesOutEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	zs, err := NewZones(readTestZone(t))
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: zs}
	done := make(chan error, 1)
	go func() { done <- s.Serve(&emfileListener{Listener: ln, fails: 3}) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Exchange(ctx, NewQuery(MustParseName("www.networkutopia.com"), TypeA))
	if err != nil {
		t.Fatalf("after EMFILE: %v", err)
	}
	if len(reply.Answers) == 0 {
		t.Errorf("after EMFILE: no answer (rcode %v)", reply.Header.RCode)
	}
}
