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
	const rate = 1 << 19 // 512 KiB/s, so the depth is one chunk (16 KiB)
	tests := []struct {
		name    string
		charges []int         // bytes charged at t0, one after another
		at      time.Duration // when we ask
		want    time.Duration // how long to wait then
	}{
		{"full bucket passes", nil, 0, 0},
		{"depth spent, still not in debt", []int{chunk}, 0, 0},
		{"one chunk of debt waits its time", []int{chunk, chunk}, 0, time.Second * chunk / rate},
		{"debt paid off by waiting", []int{chunk, chunk}, time.Second * chunk / rate, 0},
		{"half paid", []int{chunk, chunk}, time.Second * chunk / rate / 2, time.Second * chunk / rate / 2},
		{"a second of debt waits a second", []int{chunk, rate}, 0, time.Second},
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
	b.charge(chunk)
	b.wait(t0.Add(time.Hour))
	b.charge(2 * chunk)
	if got := b.wait(t0.Add(time.Hour)); got <= 0 {
		t.Errorf("after an idle hour, two chunks passed without waiting: the bucket banked more than its depth")
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
