package web

import (
	"io"
	"syscall"
)

// Reading and sending on the socket without the scheduler's hand-off.
//
// Go's runtime treats every system call as one that might block: it marks
// the goroutine's processor as "in a system call", and if the call is
// still running when the runtime's monitor thread next looks (every 20 µs
// on a busy server), it hands the processor to another thread so that
// other goroutines can run meanwhile. That is right for a read from a disk
// file. It is wasted on a non-blocking socket, whose read(2) and send(2)
// never wait: with nothing to read, or no room to send, they return EAGAIN
// at once and the goroutine parks in the netpoller until the socket is
// ready. Yet on a busy machine the kernel often preempts the thread inside
// such a call (to run the client it has just woken), the monitor sees a
// "long" call, and the hand-off costs thread wake-ups for nothing.
// Measured with wrk against the DASH segment server on two cores, that was
// about a tenth of the server's time per request.
//
// So a connection on a TCP socket reads and sends with RawSyscall, through
// the socket's syscall.RawConn, which still waits in the netpoller, keeps
// the connection's deadlines and notices a close exactly as net.Conn's own
// Read and Write do. sendfile(2) goes this way too when the file's bytes
// are all in the page cache (cachestat(2) says so; sendfile_linux.go),
// and is an ordinary system call when it may have to wait for the disk.
// Under the race detector (and on 386) the same calls go through package
// syscall (socket_syscall.go).

// A rawSocket is a TCP connection's socket, read and written with
// RawSyscall. Its callbacks are made once per connection, so a read or a
// send allocates nothing.
type rawSocket struct {
	raw     syscall.RawConn
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool

	// The call in progress.
	p, p2 []byte // what to send: p, then p2
	flags int
	n     int
	err   error
}

func newRawSocket(raw syscall.RawConn) *rawSocket {
	s := &rawSocket{raw: raw}
	s.readFn, s.writeFn = s.readStep, s.writeStep
	return s
}

// Read reads what the socket holds into p, waiting until something comes
// (or the read deadline passes, or the connection is closed). At the end
// of the stream it returns io.EOF.
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.p, s.n, s.err = p, 0, nil
	err := s.raw.Read(s.readFn)
	s.p = nil
	if err != nil {
		return 0, err
	}
	return s.n, s.err
}

// readStep makes one read(2); false asks RawConn.Read to wait until the
// socket is readable and call it again.
func (s *rawSocket) readStep(fd uintptr) bool {
	for {
		n, errno := sysRead(fd, s.p)
		switch errno {
		case 0:
			s.n = n
			if n == 0 {
				s.err = io.EOF
			}
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.err = errno
			return true
		}
	}
}

// Write sends all of p, waiting for room in the socket's buffer as
// needed (or until the write deadline passes).
func (s *rawSocket) Write(p []byte) (int, error) {
	return s.send(p, nil, 0)
}

// writev sends a and then b, in one system call while both have bytes
// left to send.
func (s *rawSocket) writev(a, b []byte) error {
	_, err := s.send(a, b, 0)
	return err
}

// send sends all of a and then all of b with send(2)'s flags, waiting for
// room in the socket's buffer as needed; MSG_MORE tells Linux that more is
// coming at once, so that it does not push a short segment out alone.
func (s *rawSocket) send(a, b []byte, flags int) (int, error) {
	if len(a)+len(b) == 0 {
		return 0, nil
	}
	s.p, s.p2, s.flags, s.n, s.err = a, b, flags|syscall.MSG_NOSIGNAL, 0, nil
	err := s.raw.Write(s.writeFn)
	n := s.n
	s.p, s.p2 = nil, nil
	if err == nil {
		err = s.err
	}
	return n, err
}

// writeStep sends until all of p and p2 is sent (s.n counts what has gone
// of both); false asks RawConn.Write to wait until the socket has room and
// call it again.
func (s *rawSocket) writeStep(fd uintptr) bool {
	for s.n < len(s.p)+len(s.p2) {
		var a, b []byte
		if s.n < len(s.p) {
			a, b = s.p[s.n:], s.p2
		} else {
			a = s.p2[s.n-len(s.p):]
		}
		n, errno := sysSend(fd, a, b, s.flags)
		switch errno {
		case 0:
			s.n += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.err = errno
			return true
		}
	}
	return true
}
