package dns

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// silentTCP accepts connections and reads from them, never answering: a
// name server that went quiet. It returns the listener's address.
func silentTCP(t *testing.T, ln net.Listener) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go io.Copy(io.Discard, c) // ends when the connection is closed
		}
	}()
}

// answerUDP answers the queries that reach pc with reply's messages, in
// order, until the test ends (at most ten queries).
func answerUDP(t *testing.T, pc net.PacketConn, reply func(q *Message) []*Message) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for range 10 {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var q Message
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, r := range reply(&q) {
				b, err := r.Pack()
				if err != nil {
					return
				}
				pc.WriteTo(b, from)
			}
		}
	}()
}

// finish runs call and fails the test if it has not returned within a
// generous bound: the bug being tested is a call that never returns.
func finish(t *testing.T, call func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- call() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("the exchange hung on a silent server though its client has a Timeout")
		return nil
	}
}

// TestExchangeTCPSilentServer: a context without a deadline and a TCP
// server that never answers; the client's Timeout ends the exchange.
func TestExchangeTCPSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silentTCP(t, ln)
	cl := Client{Timeout: 100 * time.Millisecond}
	err = finish(t, func() error {
		_, err := cl.ExchangeTCP(context.Background(), ln.Addr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA))
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ExchangeTCP to a silent server: %v, want the timeout", err)
	}
}

// TestTruncatedFallbackSilentTCP: the UDP reply is truncated, and the
// server never answers the TCP retry; the retry is bounded too.
func TestTruncatedFallbackSilentTCP(t *testing.T) {
	pc, ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silentTCP(t, ln)
	answerUDP(t, pc, func(q *Message) []*Message {
		q.Response, q.Truncated = true, true
		return []*Message{q}
	})
	cl := Client{Timeout: 100 * time.Millisecond}
	err = finish(t, func() error {
		_, err := cl.Exchange(context.Background(), ln.Addr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA))
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("TCP fallback to a silent server: %v, want the timeout", err)
	}
}

// TestTransferSilentServer: AXFR from a server that accepts the
// connection and says nothing ends at the client's Timeout.
func TestTransferSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silentTCP(t, ln)
	cl := &Client{Timeout: 100 * time.Millisecond}
	err = finish(t, func() error {
		_, err := Transfer(context.Background(), cl, ln.Addr().String(), MustParseName("networkutopia.com"), 0)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("transfer from a silent server: %v, want the timeout", err)
	}
}

// TestExchangePreEDNSServer: a server from before EDNS answers FORMERR,
// without an OPT record, to a query with one; the client asks again
// without it and returns that answer — with a single attempt too, where
// it once returned neither a reply nor an error.
func TestExchangePreEDNSServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answerUDP(t, pc, func(q *Message) []*Message {
		r := &Message{Header: q.Header, Questions: q.Questions}
		r.Response = true
		if q.EDNS != nil {
			r.RCode = RCodeFormatError
		} else {
			r.Authoritative = true
		}
		return []*Message{r}
	})
	for _, attempts := range []int{1, 3} {
		cl := Client{Timeout: 5 * time.Second, Attempts: attempts}
		r, err := cl.Exchange(context.Background(), pc.LocalAddr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA))
		if err != nil || r == nil || r.RCode != RCodeSuccess || !r.Authoritative {
			t.Errorf("attempts %d: reply %v, error %v; want the answer to the query without EDNS", attempts, r, err)
		}
	}
}

// TestExchangeDropsForgedCookie: a forger who guessed ID and port (here:
// who saw them) answers first, but with another client cookie than the
// query's; the client waits on and returns the server's reply, which
// echoes it. Without a cookie in the query, the forgery would be taken.
func TestExchangeDropsForgedCookie(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answerUDP(t, pc, func(q *Message) []*Message {
		reply := func(client [ClientCookieLen]byte, genuine bool) *Message {
			r := &Message{Header: q.Header, Questions: q.Questions}
			r.Response, r.Authoritative = true, genuine
			r.EDNS = &EDNS{UDPSize: 1232, Options: []Option{Cookie{Client: client, Server: []byte("server00")}.Option()}}
			return r
		}
		sent, _, _ := q.EDNS.Cookie() // zero if the query had none
		return []*Message{reply([ClientCookieLen]byte{'f', 'o', 'r', 'g', 'e', 'd'}, false), reply(sent.Client, true)}
	})
	cl := Client{Timeout: 5 * time.Second, Attempts: 1}
	q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
	q.EDNS = &EDNS{UDPSize: 1232, Options: []Option{Cookie{Client: [ClientCookieLen]byte{1, 2, 3, 4, 5, 6, 7, 8}}.Option()}}
	r, err := cl.Exchange(context.Background(), pc.LocalAddr().String(), q)
	if err != nil || !r.Authoritative {
		t.Errorf("with a cookie: reply %v, error %v; want the genuine reply, not the forgery", r, err)
	}
	r, err = cl.Exchange(context.Background(), pc.LocalAddr().String(), NewQuery(MustParseName("www.networkutopia.com"), TypeA))
	if err != nil || r.Authoritative {
		t.Errorf("without a cookie: reply %v, error %v; want the first reply (the forgery cannot be told apart)", r, err)
	}
}
