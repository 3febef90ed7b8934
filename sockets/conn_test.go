package sockets

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/nettest"
)

// tcpPair returns the two ends of a TCP connection over loopback.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case server = <-accepted:
	case err := <-errc:
		t.Fatal(err)
	}
	return client, server
}

func wrapPipe(wrap func(c1, c2 net.Conn) (net.Conn, net.Conn)) nettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, nil, err
		}
		defer ln.Close()
		done := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			done <- c
		}()
		a, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, nil, nil, err
		}
		b := <-done
		if b == nil {
			a.Close()
			return nil, nil, nil, io.ErrUnexpectedEOF
		}
		c1, c2 = wrap(a, b)
		return c1, c2, func() { c1.Close(); c2.Close() }, nil
	}
}

func TestTraceConn(t *testing.T) {
	nettest.TestConn(t, wrapPipe(func(a, b net.Conn) (net.Conn, net.Conn) {
		return Trace(a, io.Discard, "C", "S"), Trace(b, io.Discard, "S", "C")
	}))
}

func TestThrottleConn(t *testing.T) {
	for _, l := range []Link{
		{Rate: 50 << 20},
		{Latency: time.Millisecond},
		{Rate: 50 << 20, Latency: time.Millisecond},
	} {
		t.Run(l.String(), func(t *testing.T) {
			nettest.TestConn(t, wrapPipe(func(a, b net.Conn) (net.Conn, net.Conn) {
				return Throttle(a, l), Throttle(b, l)
			}))
		})
	}
}

// The transcript shows each side's lines with its prefix, empty lines
// included, as the slides print an SMTP dialogue.
func TestTraceTranscript(t *testing.T) {
	client, server := tcpPair(t)
	var buf bytes.Buffer
	s := Trace(server, &buf, "S", "C")
	defer client.Close()

	steps := []struct{ from, text string }{
		{"S", "220 hamburger.edu\r\n"},
		{"C", "HELO crepes.fr\r\n"},
		{"S", "250 Hello crepes.fr, pleased to meet you\r\n"},
		{"C", "DATA\r\n"},
		{"C", "Subject: hi\r\n\r\nDo you like ketchup?\r\n.\r\n"},
	}
	lr := NewLineReader(s, 512)
	for _, st := range steps {
		if st.from == "S" {
			io.WriteString(s, st.text)
			if _, err := io.ReadFull(client, make([]byte, len(st.text))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		io.WriteString(client, st.text)
		for range strings.Count(st.text, "\n") {
			if _, err := lr.ReadLine(); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()
	want := `S: 220 hamburger.edu
C: HELO crepes.fr
S: 250 Hello crepes.fr, pleased to meet you
C: DATA
C: Subject: hi
C: 
C: Do you like ketchup?
C: .
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
}

func TestTraceNilWriter(t *testing.T) {
	client, server := tcpPair(t)
	defer client.Close()
	defer server.Close()
	if got := Trace(server, nil, "S", "C"); got != server {
		t.Error("Trace with a nil writer should return the conn itself")
	}
}

// A line with no newline is printed in bounded pieces.
func TestTraceLongLine(t *testing.T) {
	client, server := tcpPair(t)
	var buf bytes.Buffer
	c := Trace(client, &buf, "C", "S")
	defer server.Close()
	go io.Copy(io.Discard, server)
	io.WriteString(c, strings.Repeat("x", 3*maxTraceLine))
	c.Close()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d transcript lines, want 3", len(lines))
	}
	for _, l := range lines {
		if len(l) != len("C: ")+maxTraceLine {
			t.Errorf("piece of %d bytes, want %d", len(l), len("C: ")+maxTraceLine)
		}
	}
}

func (l Link) String() string {
	return fmt.Sprintf("rate=%d,latency=%v", l.Rate, l.Latency)
}
