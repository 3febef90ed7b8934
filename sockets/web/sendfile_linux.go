package web

import (
	"os"
	"syscall"
	"unsafe"
)

// A sendfileCall is one sendfile(2) in progress: what the conn's
// sendfileStep, which the socket's RawConn.Write calls, works on. It lives
// in the conn, and the callbacks are made once per connection, so that a
// response costs no closure.
type sendfileCall struct {
	raw     syscall.RawConn       // the socket
	sock    *rawSocket            // the same socket, for sending the header
	step    func(fd uintptr) bool // c.sendfileStep
	withSrc func(fd uintptr) bool // c.sendfileFrom
	control func(fd uintptr)      // the same, for RawConn.Control
	src     int                   // the file's descriptor
	off     int64                 // where to read it, or -1: at its own position
	remain  int64                 // bytes left to send, or -1: up to the end of the file
	written int64
	err     error

	// Whether the whole range is in the page cache, so that sendfile
	// cannot wait for the disk and is made like the socket's own calls
	// (socket_linux.go); and whether this kernel cannot tell (no
	// cachestat(2) before Linux 6.5).
	inMemory, noCachestat bool
}

// initSocket readies c for reading and sending with RawSyscall (see
// socket_linux.go) and for sendFile, when c is on a TCP socket.
func (c *conn) initSocket() {
	if c.tcp == nil {
		return
	}
	raw, err := c.tcp.SyscallConn()
	if err != nil {
		return
	}
	c.sf.raw = raw
	c.sf.sock = newRawSocket(raw)
	c.sf.step = c.sendfileStep
	c.sf.withSrc = c.sendfileFrom
	c.sf.control = func(fd uintptr) { c.sendfileFrom(fd) }
	c.sock = c.sf.sock
	c.out.w = c.sf.sock
}

// sendFile sends the file range fr after what the write buffer holds.
// The buffer goes with MSG_MORE, which tells Linux that more is coming,
// so the header and the start of the file leave in full segments
// together, as nginx's "tcp_nopush" does with TCP_CORK (measured:
// MSG_MORE costs the server less than TCP_CORK's two extra system calls,
// and the client less than a header in a segment of its own). Then
// sendfile(2) copies the file to the socket in the kernel: its bytes never
// pass through the server. The file is held through its RawConn while
// sendfile reads it, so that a handler closing it at the same time cannot
// make the descriptor another file's.
func (c *conn) sendFile(fr *fileRange) (int64, error) {
	if c.sf.raw == nil {
		return c.copyFile(fr.reader(), -1)
	}
	frc, err := fr.file.SyscallConn()
	if err != nil {
		return c.copyFile(fr.reader(), -1)
	}
	if err := c.flushMore(); err != nil {
		return 0, err
	}
	c.sf.off, c.sf.remain, c.sf.written, c.sf.err = fr.off, fr.n, 0, nil
	c.sf.inMemory = false
	if fr.off >= 0 {
		// From an offset of this request's own: a reference on the
		// descriptor is enough, and requests sharing one open file
		// (a server's cache of open files) send from it side by side.
		err = frc.Control(c.sf.control)
	} else {
		// From the file's position, which moves: one sendfile at a time.
		err = frc.Read(c.sf.withSrc)
	}
	if err == nil {
		err = c.sf.err
	}
	n := c.sf.written
	if n == 0 && (err == syscall.EINVAL || err == syscall.ENOSYS) {
		return c.copyFile(fr.reader(), -1) // no file that sendfile can read
	}
	fr.advance(n)
	if err != nil {
		c.out.err = err
	}
	return n, err
}

// sendfileFrom runs the sendfile calls with the file's descriptor.
func (c *conn) sendfileFrom(fd uintptr) bool {
	c.sf.src = int(fd)
	if c.sf.off >= 0 && c.sf.remain > 0 && !c.sf.noCachestat {
		var err syscall.Errno
		c.sf.inMemory, err = inPageCache(c.sf.src, c.sf.off, c.sf.remain)
		c.sf.noCachestat = err == syscall.ENOSYS // an older kernel: ask no more
	}
	if err := c.sf.raw.Write(c.sf.step); err != nil && c.sf.err == nil {
		c.sf.err = err
	}
	return true
}

// sendfileStep calls sendfile until the range is sent, or the socket's
// buffer is full (false: RawConn.Write waits until it has room, or the
// write deadline passes).
func (c *conn) sendfileStep(fd uintptr) bool {
	sf := &c.sf
	for sf.remain != 0 {
		n := 1 << 30
		if sf.remain > 0 && sf.remain < int64(n) {
			n = int(sf.remain)
		}
		var off *int64
		if sf.off >= 0 {
			off = &sf.off // sendfile moves it on
		}
		m, err := sendfile(int(fd), sf.src, off, n, sf.inMemory)
		if m > 0 {
			sf.written += int64(m)
			if sf.remain > 0 {
				sf.remain -= int64(m)
			}
		}
		switch {
		case err == syscall.EAGAIN:
			return false
		case err == syscall.EINTR:
		case err != nil:
			sf.err = err
			return true
		case m == 0:
			return true // the end of the file
		}
	}
	return true
}

// flushMore is outBuffer.flush with MSG_MORE.
func (c *conn) flushMore() error {
	o := &c.out
	if o.err != nil || len(o.buf) == 0 {
		return o.err
	}
	_, o.err = c.sf.sock.send(o.buf, nil, syscall.MSG_MORE)
	o.buf = o.buf[:0]
	return o.err
}

// sysCachestat is cachestat(2)'s number, the same on every architecture.
const sysCachestat = 451

// inPageCache reports whether all n bytes of the file fd from off are in
// the page cache, by cachestat(2): then sendfile reads them from memory,
// never from the disk. The call itself only looks, and cannot block.
func inPageCache(fd int, off, n int64) (bool, syscall.Errno) {
	rng := [2]uint64{uint64(off), uint64(n)} // struct cachestat_range
	var st [5]uint64                         // struct cachestat: nr_cache first
	_, _, errno := syscall.RawSyscall6(sysCachestat, uintptr(fd), uintptr(unsafe.Pointer(&rng)), uintptr(unsafe.Pointer(&st)), 0, 0, 0)
	if errno != 0 {
		return false, errno
	}
	page := int64(os.Getpagesize())
	pages := (off+n+page-1)/page - off/page
	return st[0] >= uint64(pages), 0
}
