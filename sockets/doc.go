// Package sockets is the lecture's socket programming chapter: the
// Berkeley socket procedures, the uppercase application over UDP and TCP,
// and the plumbing every text protocol in appnet shares.
//
// A socket is the door between an application process and the end-to-end
// transport protocol. The application owns everything above the door; the
// operating system's TCP or UDP owns everything below it. Two kinds of
// door serve the two transport services:
//
//   - a datagram socket (SOCK_DGRAM, UDP): no connection, no handshake;
//     the sender attaches the destination address and port to every
//     datagram, and datagrams may be lost, duplicated or reordered. It is
//     used for quick lookups and single query-reply actions: DNS on UDP
//     port 53.
//   - a stream socket (SOCK_STREAM, TCP): a connection is set up first, and
//     then a reliable, in-order byte stream flows both ways, like file
//     I/O, with flow control. It is used for large transfers and
//     persistent conversations: HTTP on port 80, FTP on 21, POP3 on 110,
//     Telnet on 23, SMTP on 25.
//
// # The Berkeley procedures
//
// Socket, Bind, Listen, Accept, Connect, Send, Recv, SendTo, RecvFrom and
// Close are the C calls of the slides, one Go function each, on the
// system-call layer (Linux and macOS), with the slides' constants
// (PF_INET, SOCK_STREAM, INADDR_ANY) and address structure (SockaddrIn is
// struct sockaddr_in) and Htons/Htonl for network byte order. A server
// creates a socket, binds it to a port, listens, and accepts: each Accept
// returns a new socket for one client, while the listening socket never
// carries data. A client creates a socket and connects (TCP), or simply
// sends to an address (UDP): it need not bind, the system picks its port.
//
// # The uppercase application
//
// The slides' example application: the client reads a line from its
// keyboard and sends it; the server converts it to uppercase and sends it
// back; the client prints it. UDPServer and UDPClient do it with
// datagrams, TCPServer and TCPClient with connections; TCPServer serves
// every client in its own goroutine, as the slide's "server TCP creates a
// new socket for each client" allows. The programs in
// examples/sockets wrap them; the slides' own Python programs
// (testdata/*.py, ported to Python 3) talk to them in the tests.
//
// # A server's lifecycle
//
// Every server in appnet lives through the same three phases, kept by a
// Lifecycle. Serving: it accepts clients on its welcoming sockets (or
// reads datagrams on its UDP sockets) and serves each connection in its
// own goroutine. Shutting down (Shutdown): it closes the welcoming sockets
// so that no new client gets in, tells the connections waiting idle for
// their next request to end, lets those in the middle of a request finish
// it, and waits for them all, up to the deadline of Shutdown's context.
// Closed (Close, or that deadline passed): every socket and connection is
// closed at once, and the server waits only for its goroutines to notice.
// From then on Serve returns ErrServerClosed. Each server shapes the
// phases the way net/http's Server does: exported configuration in a
// Server struct whose zero value works, an Addr for ListenAndServe,
// Serve(net.Listener) or ServePacket(net.PacketConn), Shutdown(ctx),
// Close(), and an ErrorLog where a nil *log.Logger means log.Default().
//
// # Plumbing for the protocols that follow
//
// SMTP, IMAP and the other text protocols are lines of ASCII commands and
// replies. Trace wraps a net.Conn and prints the dialogue as the slides do
// ("S: 220 hamburger.edu", "C: HELO crepes.fr"). LineReader reads CRLF
// lines with a hard limit, so a client that never sends a newline costs a
// server a fixed buffer. Throttle and ThrottleListener slow a connection
// down to a Link's bandwidth and latency, for streaming and pipelining
// experiments without root.
package sockets
