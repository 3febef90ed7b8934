// Package web is an HTTP/1.1 server (RFC 9112 for the messages, RFC 9110
// for their meaning) written on TCP sockets, for the handlers of Go's
// net/http.
//
// # The Web server of the socket assignment
//
// The socket programming chapter ends with an assignment: write a Web
// server. Create a TCP welcoming socket, bind it to a port, listen, and
// loop forever: accept a connection, which gives a new socket for that
// one client; read the HTTP request message from it; find the file the
// request names; write the HTTP response message (a status line, header
// lines, an empty line, and the file) or "404 Not Found"; close the
// connection socket, but not the welcoming socket. This package is that
// program, grown up until real clients can lean on it.
//
// The request message a client sends is a request line, header lines, and
// an empty line, each ending in CR LF, then perhaps a body:
//
//	GET /index.html HTTP/1.1        request line: method, target, version
//	Host: www.example.org           header lines: "name: value"
//	Connection: close
//	                                empty line: the end of the head
//
// and the response message the server writes back has the same shape:
//
//	HTTP/1.1 200 OK                 status line: version, status code, phrase
//	Content-Length: 6               header lines, sorted by name here
//	Content-Type: text/plain
//	Date: Sun, 06 Nov 1994 08:49:37 GMT
//	                                empty line
//	hello                           the body: exactly Content-Length bytes
//
// Server.Serve is the loop: it accepts connections on a net.Listener and
// serves each one in its own goroutine, so that a slow client does not
// hold up the others. What to answer is the Handler's business, any
// net/http http.Handler (a file server, a DASH server, a CDN edge): the
// server parses the request into an *http.Request, hands the handler an
// http.ResponseWriter, and turns what the handler writes into a response
// message.
//
// # Persistent connections
//
// The assignment's server closes the connection after each response: a
// non-persistent connection, one TCP handshake per object. HTTP/1.1
// connections are persistent instead: after a response the server keeps
// the connection open and reads the next request from it, until the client
// says "Connection: close", the connection sits idle for IdleTimeout, or
// the server shuts down. HTTP/1.0 clients get a persistent connection only
// when they ask with "Connection: keep-alive". A client may also send
// several requests without waiting for the answers (pipelining); they are
// answered in order, and the answers to requests that arrived together
// leave together, in one write.
//
// For the client to find where one response ends and the next begins,
// every body needs a known end. If the handler's whole body fits in the
// server's 4 KiB buffer, the server counts it and sends Content-Length;
// if the handler set Content-Length itself, that is used; otherwise an
// HTTP/1.1 body is sent in chunks (Transfer-Encoding: chunked), each with
// its size, and an HTTP/1.0 body ends when the server closes the
// connection. Request bodies come the same two ways, and the server reads
// them only as the handler asks: a client that sent "Expect: 100-continue"
// hears "HTTP/1.1 100 Continue" when the handler first reads the body. What
// the handler leaves unread is read and thrown away (up to 256 KiB) so
// that the next request can be found; beyond that, the connection closes.
//
// # What the server refuses, and why
//
// A server on the Internet reads bytes from strangers, so it says no, with
// a status code and a reason in the body, and then closes the connection:
//
//   - 400 Bad Request for a message it cannot read without guessing: a
//     malformed request line or field line, whitespace before a field's
//     colon or at the start of a line (obsolete line folding, which proxies
//     have read in different ways), control characters in a value, a
//     missing or repeated Host in HTTP/1.1, Content-Length values that
//     differ, and a request with both Content-Length and Transfer-Encoding:
//     a proxy in front may have used the other length, so the end of this
//     body would be read as a request of its own (request smuggling).
//   - 414 and 431 when the request line or the whole head is longer than
//     MaxHeaderBytes, or has more than MaxHeaderFields fields: without a
//     bound, a client could make the server hold any amount of memory.
//   - 413 when a Content-Length is more than MaxBodyBytes; a chunked body
//     that grows past it makes the handler's Read fail with
//     *http.MaxBytesError.
//   - 501 for transfer codings other than chunked, and for CONNECT, since
//     the server opens no tunnels; 505 for versions other than HTTP/1.0
//     and HTTP/1.1; 417 for an Expect other than 100-continue.
//
// Lines may end in a bare LF instead of CR LF: RFC 9112 allows it, and
// nginx and net/http take it too. Every read has a deadline:
// ReadHeaderTimeout for the request line and fields, IdleTimeout between
// requests, and WriteTimeout for the handler's reads of the body and its
// writes of the response; a client that stalls is dropped.
//
// # How it differs from net/http's server
//
// The handler runs in the connection's goroutine: there is no extra
// goroutine per request reading ahead, so the server does not notice a
// client that disconnects while the handler runs, and the request's
// context is the connection's (it starts from ConnContext): it is
// cancelled when the connection ends or the server closes, not when the
// handler returns. There is no HTTP/2, no TLS, no Hijacker and no
// response trailers. Handler panics are logged, and answered with 500 if
// nothing of the response had been sent yet (net/http only closes). The
// handler may go on reading the request's body after its response has
// begun (net/http's HTTP/1 server cuts the body off then), from the same
// goroutine: the Body and the ResponseWriter belong to the handler's
// goroutine and are dead once it returns. http.ServerContextKey is not in
// the context.
//
// # Sending files
//
// A handler that copies a file into the response with io.Copy, as
// http.ServeContent and http.FileServer do, has it sent by sendfile(2):
// the bytes go from the page cache to the socket without passing through
// the program, right after the header, which (on Linux) leaves with
// MSG_MORE so that header and file share full TCP segments (nginx's
// "sendfile on; tcp_nopush on;"). The source may be an *os.File, an io.LimitedReader of
// one, or an io.SectionReader of one: a server that keeps its files open
// gives each request its own section of the shared *os.File, and each is
// sent from its own offset. The length must be known (Content-Length, or
// a body that fits the buffer); otherwise the file goes through the
// buffer in chunks.
//
// On Linux the connection's own reads and sends are made without telling
// Go's scheduler that a system call is under way (RawSyscall through the
// socket's RawConn): on a non-blocking socket they cannot block, and the
// scheduler's precautions for calls that might block cost thread
// hand-offs on a busy server. sendfile is made the same way when the
// file's bytes are all in the page cache (cachestat(2) tells), and as an
// ordinary system call when it may have to wait for the disk.
// socket_linux.go says more.
//
// # Stopping
//
// The lifecycle is appnet's (see sockets.Lifecycle): Shutdown closes the
// welcoming socket and the idle connections, lets requests being served
// finish (their responses say "Connection: close"), and waits; Close
// closes everything at once. Serve returns ErrServerClosed afterwards.
package web
