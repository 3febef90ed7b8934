//go:build linux || darwin

package sockets

import (
	"testing"
	"time"
)

func benchBerkeleyBulk(b *testing.B) {
	welcome, err := Socket(AF_INET, SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer Close(welcome)
	addr, _ := Inet("127.0.0.1", 0)
	if err := Bind(welcome, addr); err != nil {
		b.Fatal(err)
	}
	Listen(welcome, 1)
	sa, _ := Getsockname(welcome)
	client, _ := Socket(AF_INET, SOCK_STREAM, 0)
	defer Close(client)
	if err := Connect(client, sa); err != nil {
		b.Fatal(err)
	}
	SetRecvTimeout(welcome, 10*time.Second)
	conn, _, err := Accept(welcome)
	if err != nil {
		b.Fatal(err)
	}
	defer Close(conn)
	SetRecvTimeout(conn, 30*time.Second)

	b.SetBytes(bulkChunk)
	total := int64(b.N) * bulkChunk
	done := make(chan int64, 1)
	go func() {
		buf := make([]byte, bulkChunk)
		var got int64
		for got < total {
			n, err := Recv(conn, buf, 0)
			if err != nil || n == 0 {
				break
			}
			got += int64(n)
		}
		done <- got
	}()
	buf := make([]byte, bulkChunk)
	b.ResetTimer()
	for range b.N {
		for sent := 0; sent < len(buf); {
			n, err := Send(client, buf[sent:], 0)
			if err != nil {
				b.Fatal(err)
			}
			sent += n
		}
	}
	if got := <-done; got != total {
		b.Fatalf("received %d bytes, sent %d", got, total)
	}
}
