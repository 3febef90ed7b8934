//go:build linux || darwin

package sockets

import (
	"testing"
	"time"
)

// must fails the test on a socket call's error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func port(t *testing.T, sockid int) int {
	t.Helper()
	sa, err := Getsockname(sockid)
	must(t, err)
	return sa.(*SockaddrIn).Port
}

// The slides' UDP interaction with the C-style calls: the server binds,
// the client sends without binding, the server replies to whatever
// address RecvFrom reported.
func TestBerkeleyUDP(t *testing.T) {
	server, err := Socket(AF_INET, SOCK_DGRAM, 0)
	must(t, err)
	defer Close(server)
	addr, err := Inet("127.0.0.1", 0)
	must(t, err)
	must(t, Bind(server, addr))
	must(t, SetRecvTimeout(server, 10*time.Second))
	serverAddr, err := Inet("127.0.0.1", port(t, server))
	must(t, err)

	client, err := Socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)
	must(t, err)
	defer Close(client)
	must(t, SetRecvTimeout(client, 10*time.Second))
	msg := []byte("hello from the client")
	n, err := SendTo(client, msg, 0, serverAddr)
	must(t, err)
	if n != len(msg) {
		t.Fatalf("SendTo sent %d bytes, want %d", n, len(msg))
	}

	buf := make([]byte, 2048)
	n, from, err := RecvFrom(server, buf, 0)
	must(t, err)
	if got := string(buf[:n]); got != string(msg) {
		t.Fatalf("server got %q", got)
	}
	// The client never called Bind: the system chose its port on the
	// first SendTo, and the datagram carried it to the server.
	if got, want := from.(*SockaddrIn).Port, port(t, client); got != want {
		t.Errorf("datagram came from port %d, the client's socket has %d", got, want)
	}
	_, err = SendTo(server, []byte("HELLO FROM THE CLIENT"), 0, from)
	must(t, err)

	n, from, err = RecvFrom(client, buf, 0)
	must(t, err)
	if got := string(buf[:n]); got != "HELLO FROM THE CLIENT" {
		t.Errorf("client got %q", got)
	}
	if got := from.(*SockaddrIn); got.Port != serverAddr.Port || got.Addr != serverAddr.Addr {
		t.Errorf("reply came from %v:%d, want the server", got.Addr, got.Port)
	}
}

// The slides' TCP interaction: listen, connect, accept a new socket, and
// the listening socket carries no data.
func TestBerkeleyTCP(t *testing.T) {
	welcome, err := Socket(PF_INET, SOCK_STREAM, 0)
	must(t, err)
	defer Close(welcome)
	local, err := Inet("127.0.0.1", 0)
	must(t, err)
	must(t, Bind(welcome, local))
	must(t, Listen(welcome, 5))
	must(t, SetRecvTimeout(welcome, 10*time.Second))
	serverAddr, err := Inet("127.0.0.1", port(t, welcome))
	must(t, err)

	client, err := Socket(PF_INET, SOCK_STREAM, IPPROTO_TCP)
	must(t, err)
	defer Close(client)
	must(t, SetRecvTimeout(client, 10*time.Second))
	// The kernel completes the handshake from the listen queue, so the
	// client's Connect returns before the server calls Accept.
	must(t, Connect(client, serverAddr))

	conn, clientAddr, err := Accept(welcome)
	must(t, err)
	defer Close(conn)
	must(t, SetRecvTimeout(conn, 10*time.Second))
	if conn == welcome {
		t.Fatal("Accept returned the listening socket")
	}
	if got, want := clientAddr.(*SockaddrIn).Port, port(t, client); got != want {
		t.Errorf("Accept reported client port %d, the client's socket has %d", got, want)
	}

	_, err = Send(client, []byte("lowercase sentence"), 0)
	must(t, err)
	buf := make([]byte, 1024)
	n, err := Recv(conn, buf, 0)
	must(t, err)
	_, err = Send(conn, []byte(string(upper(buf[:n]))), 0)
	must(t, err)
	n, err = Recv(client, buf, 0)
	must(t, err)
	if got := string(buf[:n]); got != "LOWERCASE SENTENCE" {
		t.Errorf("client got %q", got)
	}

	// Closing the client's socket ends the connection: the server's
	// Recv returns 0.
	must(t, Close(client))
	n, err = Recv(conn, buf, 0)
	must(t, err)
	if n != 0 {
		t.Errorf("Recv after the client closed = %d bytes, want 0 (end of stream)", n)
	}
}

func upper(p []byte) []byte {
	out := make([]byte, len(p))
	for i, c := range p {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// A Recv with nothing to read gives up after the timeout instead of
// blocking forever.
func TestBerkeleyRecvTimeout(t *testing.T) {
	s, err := Socket(AF_INET, SOCK_DGRAM, 0)
	must(t, err)
	defer Close(s)
	addr, _ := Inet("127.0.0.1", 0)
	must(t, Bind(s, addr))
	must(t, SetRecvTimeout(s, time.Millisecond))
	if _, _, err := RecvFrom(s, make([]byte, 10), 0); err == nil {
		t.Fatal("RecvFrom on an idle socket returned without error")
	}
}

func TestInet(t *testing.T) {
	for _, tt := range []struct {
		addr string
		port int
		ok   bool
	}{
		{"127.0.0.1", 12000, true},
		{"0.0.0.0", 0, true},
		{"::1", 12000, false},
		{"gaia.cs.umass.edu", 80, false},
		{"127.0.0.1", 65536, false},
		{"127.0.0.1", -1, false},
	} {
		sa, err := Inet(tt.addr, tt.port)
		if (err == nil) != tt.ok {
			t.Errorf("Inet(%q, %d) error = %v, want ok=%v", tt.addr, tt.port, err, tt.ok)
		}
		if err == nil && sa.Port != tt.port {
			t.Errorf("Inet(%q, %d).Port = %d", tt.addr, tt.port, sa.Port)
		}
	}
	if InAddr(INADDR_ANY) != [4]byte{} {
		t.Error("INADDR_ANY is not 0.0.0.0")
	}
	if got := InAddr(0x7f000001); got != [4]byte{127, 0, 0, 1} {
		t.Errorf("InAddr(0x7f000001) = %v, want 127.0.0.1", got)
	}
}
