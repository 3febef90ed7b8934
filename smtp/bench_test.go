package smtp

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"testing"
)

// BenchmarkServerMessage is one op per message, sent the way smtp-source
// sends it (MAIL, RCPT, DATA, each waiting for its reply, then 5 KiB of
// 80-column lines and the dot in one write) to a server with a discarding
// backend, over one loopback connection. The client is written by hand
// with no allocations of its own, so -benchmem counts the server's
// allocations per message.
func BenchmarkServerMessage(b *testing.B) {
	// MaxCommands: a session may not take b.N messages by default.
	addr := startServer(b, &Server{Domain: "hamburger.edu", Greeting: "ESMTP", Backend: Discard{}, MaxCommands: 1 << 30})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	// expect reads one reply, the last line of a multi-line one included,
	// and fails the benchmark unless its code is want.
	expect := func(want string) {
		b.Helper()
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if !bytes.HasPrefix(line, []byte(want)) {
				b.Fatalf("got %q, want %s", line, want)
			}
			if len(line) < 4 || line[3] != '-' {
				return
			}
		}
	}
	send := func(s []byte) {
		b.Helper()
		if _, err := conn.Write(s); err != nil {
			b.Fatal(err)
		}
	}
	var body []byte
	for n := 0; len(body) < 5120; n++ {
		body = append(body, "La de da de da "...)
		body = strconv.AppendInt(body, int64(n), 10)
		body = append(body, ". La de da de da de da de da de da de da de da de da de da.\r\n"...)
	}
	body = append(body, ".\r\n"...)
	mail := []byte("MAIL FROM:<alice@crepes.fr>\r\n")
	rcpt := []byte("RCPT TO:<bob@hamburger.edu>\r\n")
	data := []byte("DATA\r\n")

	expect("220")
	send([]byte("EHLO crepes.fr\r\n"))
	expect("250")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		send(mail)
		expect("250")
		send(rcpt)
		expect("250")
		send(data)
		expect("354")
		send(body)
		expect("250")
	}
	b.StopTimer()
	send([]byte("QUIT\r\n"))
	expect("221")
}
