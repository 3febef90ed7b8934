package sockets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"
	"unicode/utf8"
)

// The slides' example application, over UDP and over TCP:
//
//  1. the client reads a line of characters from its keyboard and sends it
//     to the server;
//  2. the server receives the data and converts the characters to
//     uppercase;
//  3. the server sends the modified data back to the client;
//  4. the client receives it and displays the line on its screen.

// MaxDatagram is the largest datagram the UDP uppercase server and client
// handle. The slides' programs use a 2048-byte buffer; a UDP datagram can
// carry up to 65,507 bytes of data over IPv4.
const MaxDatagram = 65507

// UDPServer is the slides' UDPServer: it reads a datagram, uppercases it,
// and sends the result back to the address the datagram came from. There
// is no connection and no per-client state: each datagram stands alone.
// The zero value is ready to use.
type UDPServer struct {
	// Addr is the UDP address ListenAndServe listens on; default ":12000",
	// the slides' serverPort.
	Addr string
	// Trace, if set, receives one line per datagram: who sent what, and
	// the reply.
	Trace io.Writer

	life      Lifecycle
	traceOnce sync.Once
	trace     io.Writer // Trace, made safe for all sockets at once
}

// ListenAndServe listens on Addr and serves it.
func (s *UDPServer) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":12000"
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return s.ServePacket(pc)
}

// ServePacket answers datagrams on pc until Close or Shutdown, then returns
// ErrServerClosed. It closes pc.
func (s *UDPServer) ServePacket(pc net.PacketConn) error {
	s.traceOnce.Do(func() {
		if s.Trace != nil {
			s.trace = NewSyncWriter(s.Trace)
		}
	})
	return s.life.ServePacket(pc, s.serveDatagrams)
}

// serveDatagrams is the server's loop: one datagram in, one out.
func (s *UDPServer) serveDatagrams(pc net.PacketConn) error {
	buf := make([]byte, MaxDatagram)
	for {
		n, client, err := pc.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return fmt.Errorf("sockets: udp server: %w", err)
		}
		reply := bytes.ToUpper(buf[:n])
		if s.trace != nil {
			fmt.Fprintf(s.trace, "server: from %v %q, reply %q\n", client, buf[:n], reply)
		}
		// A reply that cannot be sent is lost, as UDP loses datagrams:
		// the client decides whether to ask again.
		pc.WriteTo(reply, client)
	}
}

// Close stops the server: it closes its sockets and waits for ServePacket
// to return.
func (s *UDPServer) Close() error { return s.life.Close() }

// Shutdown is Close: a UDP server holds no conversations to let finish.
// It returns ctx's error if ServePacket has not returned by then.
func (s *UDPServer) Shutdown(ctx context.Context) error { return s.life.Shutdown(ctx) }

// UDPClient is the slides' UDPClient: it attaches the server's address to
// every datagram it sends, and takes the reply that comes back from that
// address.
type UDPClient struct {
	pc     net.PacketConn
	server net.Addr
	buf    []byte
}

// NewUDPClient returns a client that sends from pc to server. It does not
// take ownership of pc until Close.
func NewUDPClient(pc net.PacketConn, server net.Addr) *UDPClient {
	return &UDPClient{pc: pc, server: server, buf: make([]byte, MaxDatagram)}
}

// DialUDP creates a UDP socket for talking to the server at addr. Like the
// slides' client it does not bind: the system picks the port.
func DialUDP(ctx context.Context, addr string) (*UDPClient, error) {
	ap, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	local := ":0"
	if ap.IP.IsLoopback() {
		local = net.JoinHostPort(ap.IP.String(), "0") // stay on loopback
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", local)
	if err != nil {
		return nil, err
	}
	return NewUDPClient(pc, ap), nil
}

// Uppercase sends sentence in one datagram and returns the server's reply.
// UDP may lose either datagram: Uppercase then waits until ctx is done, so
// give it a deadline. Datagrams from other addresses are ignored.
//
// Nothing in the datagrams ties a reply to its request: if a reply comes
// late, after Uppercase gave up on it, the next call takes it for its
// own answer. That is why DNS, which also runs over UDP, puts a 16-bit ID
// in every query and checks it in the reply.
func (c *UDPClient) Uppercase(ctx context.Context, sentence string) (string, error) {
	if len(sentence) > MaxDatagram {
		return "", fmt.Errorf("sockets: udp client: sentence of %d bytes does not fit in a datagram", len(sentence))
	}
	done := WatchContext(ctx, c.pc)
	n, err := c.exchange(sentence)
	if cerr := done(); cerr != nil {
		return "", fmt.Errorf("sockets: udp client: no reply: %w", cerr)
	}
	if err != nil {
		return "", fmt.Errorf("sockets: udp client: %w", err)
	}
	return string(c.buf[:n]), nil
}

// exchange sends one datagram and waits for one from the server.
func (c *UDPClient) exchange(sentence string) (int, error) {
	if _, err := c.pc.WriteTo([]byte(sentence), c.server); err != nil {
		return 0, err
	}
	for {
		n, from, err := c.pc.ReadFrom(c.buf)
		if err != nil {
			return 0, err
		}
		if from.String() == c.server.String() {
			return n, nil
		}
	}
}

// LocalAddr returns the address the system gave the client's socket.
func (c *UDPClient) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// Close closes the client's socket.
func (c *UDPClient) Close() error { return c.pc.Close() }

// TCPServer is the slides' TCPServer, made concurrent: the welcoming
// socket accepts each client and the server talks with each on its own
// new connection, in its own goroutine, so many clients are served at
// once. It uppercases whatever a client sends, as it arrives, until the
// client closes its side. The zero value is ready to use.
type TCPServer struct {
	// Addr is the TCP address ListenAndServe listens on; default
	// ":12000", the slides' serverPort.
	Addr string
	// IdleTimeout closes a connection that sends nothing for this long.
	// Zero means two minutes.
	IdleTimeout time.Duration
	// Trace, if set, receives the dialogue of every connection.
	Trace io.Writer
	// ErrorLog receives the accept errors the server waits out; nil
	// means log.Default().
	ErrorLog *log.Logger

	life      Lifecycle
	traceOnce sync.Once
	trace     io.Writer // Trace, made safe for all connections at once
}

// ListenAndServe listens on Addr and serves it.
func (s *TCPServer) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":12000"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln and serves each in a new goroutine,
// until Shutdown or Close; then it returns ErrServerClosed. It closes ln.
func (s *TCPServer) Serve(ln net.Listener) error {
	s.traceOnce.Do(func() {
		if s.Trace != nil {
			s.trace = NewSyncWriter(s.Trace)
		}
	})
	return s.life.Serve(ln, s.serveConn, s.ErrorLog)
}

// serveConn is one client's conversation on its own connection socket.
// The connection is never idle in the Lifecycle's sense: the server
// answers bytes as they come, so Shutdown waits for the client to close.
func (s *TCPServer) serveConn(conn net.Conn) {
	conn = Trace(conn, s.trace, "S", "C")
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 2 * time.Minute
	}
	buf := make([]byte, 1024) // the slides' recv(1024)
	var carry []byte          // the first bytes of a character cut by a read
	for {
		conn.SetReadDeadline(time.Now().Add(idle))
		n, err := conn.Read(buf[len(carry):])
		data := buf[:len(carry)+n]
		carry = carry[:0]
		if err == nil {
			// Hold back an incomplete UTF-8 character until the rest comes.
			cut := completeRunes(data)
			carry = append(carry, data[cut:]...)
			data = data[:cut]
		}
		if len(data) > 0 {
			conn.SetWriteDeadline(time.Now().Add(idle))
			if _, werr := conn.Write(bytes.ToUpper(data)); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
		copy(buf, carry)
	}
}

// completeRunes returns the length of the longest prefix of p that does
// not end inside a UTF-8 character.
func completeRunes(p []byte) int {
	for back := 1; back <= utf8.UTFMax && back <= len(p); back++ {
		i := len(p) - back
		if utf8.RuneStart(p[i]) {
			if utf8.FullRune(p[i:]) {
				return len(p)
			}
			return i
		}
	}
	return len(p)
}

// Close closes the welcoming sockets and every client connection, and
// waits for their goroutines to end.
func (s *TCPServer) Close() error { return s.life.Close() }

// Shutdown closes the welcoming sockets, then waits for the clients to
// finish and close their connections. If ctx ends first, it closes the
// remaining connections, waits for their goroutines and returns ctx's
// error.
func (s *TCPServer) Shutdown(ctx context.Context) error { return s.life.Shutdown(ctx) }

// MaxLine is the longest line, in bytes, the TCP uppercase client accepts
// back from the server.
const MaxLine = 64 << 10

// TCPClient is the slides' TCPClient: it connects once, then each
// sentence is a line written to the connection and a line read back. No
// address travels with the data: the connection knows where it goes.
type TCPClient struct {
	conn net.Conn
	lr   *LineReader
}

// NewTCPClient returns a client on an established connection.
func NewTCPClient(conn net.Conn) *TCPClient {
	return &TCPClient{conn: conn, lr: NewLineReader(conn, MaxLine)}
}

// DialTCP connects to the uppercase server at addr; creating the socket
// is what makes the client's TCP establish the connection.
func DialTCP(ctx context.Context, addr string) (*TCPClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewTCPClient(conn), nil
}

// Uppercase sends sentence followed by a newline and returns the line the
// server sends back, without its newline.
func (c *TCPClient) Uppercase(ctx context.Context, sentence string) (string, error) {
	if bytes.ContainsAny([]byte(sentence), "\r\n") {
		return "", errors.New("sockets: tcp client: sentence has a line break")
	}
	done := WatchContext(ctx, c.conn)
	line, err := c.exchange(sentence)
	if cerr := done(); cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("sockets: tcp client: %w", err)
	}
	return line, nil
}

// exchange writes one line and reads one back.
func (c *TCPClient) exchange(sentence string) (string, error) {
	if _, err := io.WriteString(c.conn, sentence+"\n"); err != nil {
		return "", err
	}
	line, err := c.lr.ReadLine()
	if err != nil {
		return "", err
	}
	return string(line), nil
}

// Close closes the connection.
func (c *TCPClient) Close() error { return c.conn.Close() }
