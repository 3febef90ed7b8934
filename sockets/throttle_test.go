package sockets

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// The token bucket, stepped in virtual time: how long a transfer waits.
func TestBucket(t *testing.T) {
	t0 := time.Unix(0, 0)
	const rate = 1 << 20 // 1 MiB/s
	depth := pieceSize(rate)
	perPiece := time.Duration(depth) * time.Second / rate
	tests := []struct {
		name    string
		charges []int         // bytes charged at t0, one after another
		at      time.Duration // when we ask
		want    time.Duration // how long to wait then
	}{
		{"full bucket passes", nil, 0, 0},
		{"depth spent, still not in debt", []int{depth}, 0, 0},
		{"a piece of debt waits its time", []int{depth, depth}, 0, perPiece},
		{"debt paid off by waiting", []int{depth, depth}, perPiece, 0},
		{"half paid", []int{depth, depth}, perPiece / 2, perPiece / 2},
		{"a second of debt waits a second", []int{depth, rate}, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(rate, t0)
			for _, n := range tt.charges {
				b.charge(n)
			}
			got := b.wait(t0.Add(tt.at))
			if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("wait = %v, want %v", got, tt.want)
			}
		})
	}
}

// Idle time never banks more than the bucket's depth.
func TestBucketDepth(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := newBucket(1<<20, t0)
	depth := pieceSize(1 << 20)
	b.charge(depth)
	b.wait(t0.Add(time.Hour))
	b.charge(2 * depth)
	if got := b.wait(t0.Add(time.Hour)); got <= 0 {
		t.Errorf("after an idle hour, two pieces passed without waiting: the bucket banked more than its depth")
	}
}

// A slow link moves small pieces, so that even a small transfer takes
// the link's time; a fast one moves larger pieces.
func TestPieceSize(t *testing.T) {
	for _, tt := range []struct {
		rate int64
		want int
	}{
		{37_500, minPiece}, // 300 kbit/s: one frame, 40 ms
		{1 << 20, 10485},   // 1 MiB/s: 10 ms
		{100 << 20, chunk}, // 100 MiB/s: capped
		{1, minPiece},
	} {
		if got := pieceSize(tt.rate); got != tt.want {
			t.Errorf("pieceSize(%d) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

// A throttled listener throttles what it accepts, and data goes through
// intact in both directions.
func TestThrottleListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := ThrottleListener(raw, Link{Rate: 10 << 20, Latency: time.Millisecond})
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		if _, ok := c.(*throttledConn); !ok {
			errc <- fmt.Errorf("accepted a %T, not a throttled conn", c)
			return
		}
		_, err = io.Copy(c, c) // echo until the client closes its side
		errc <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 200<<10)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	go func() {
		c.Write(msg)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(msg) {
		t.Errorf("echo through the throttled conn: got %d bytes, not the %d sent", len(got), len(msg))
	}
	if err := <-errc; err != nil {
		t.Error(err)
	}
}
