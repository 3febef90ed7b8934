package web

import (
	"io"
	"syscall"
)

// A sendfileCall is one sendfile(2) in progress: what the conn's
// sendfileStep and sendMoreStep, which the socket's RawConn.Write calls,
// work on. They live in the conn so that no closure is made per request.
type sendfileCall struct {
	raw     syscall.RawConn // the socket
	step    func(fd uintptr) bool
	more    func(fd uintptr) bool
	src     int   // the file's descriptor
	remain  int64 // bytes left to send, or -1: up to the end of the file
	written int64
	err     error
}

// initSendfile readies c for sendFile.
func (c *conn) initSendfile() {
	if c.tcp == nil {
		return
	}
	raw, err := c.tcp.SyscallConn()
	if err != nil {
		return
	}
	c.sf.raw = raw
	c.sf.step = c.sendfileStep
	c.sf.more = c.sendMoreStep
}

// sendFile sends limit bytes of r (all that is left if limit < 0) after
// what the write buffer holds. The buffer goes with MSG_MORE, which tells
// Linux that more is coming, so the header and the start of the file
// leave in full segments together, as nginx's "tcp_nopush" does with
// TCP_CORK (measured: MSG_MORE costs the server less than TCP_CORK's two
// extra system calls, and the client less than a header in a segment of
// its own). Then sendfile(2) copies the file to the socket in the kernel:
// its bytes never pass through the server.
func (c *conn) sendFile(r io.Reader, limit int64) (int64, error) {
	f, ok := r.(interface{ Fd() uintptr })
	if !ok || c.sf.raw == nil {
		return c.copyFile(r, limit)
	}
	if err := c.flushMore(); err != nil {
		return 0, err
	}
	c.sf.src, c.sf.remain, c.sf.written, c.sf.err = int(f.Fd()), limit, 0, nil
	err := c.sf.raw.Write(c.sf.step)
	if err == nil {
		err = c.sf.err
	}
	n := c.sf.written
	if n == 0 && (err == syscall.EINVAL || err == syscall.ENOSYS) {
		return c.copyFile(r, limit) // not a file sendfile can read
	}
	if err != nil {
		c.out.err = err
	}
	return n, err
}

// sendfileStep calls sendfile until the file is sent, or the socket's
// buffer is full (false: RawConn.Write waits until it has room, or the
// write deadline passes).
func (c *conn) sendfileStep(fd uintptr) bool {
	sf := &c.sf
	for sf.remain != 0 {
		n := 1 << 30
		if sf.remain > 0 && sf.remain < int64(n) {
			n = int(sf.remain)
		}
		m, err := syscall.Sendfile(int(fd), sf.src, nil, n)
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
	c.sf.err = nil
	err := c.sf.raw.Write(c.sf.more)
	if err == nil {
		err = c.sf.err
	}
	o.buf = o.buf[:0]
	o.err = err
	return err
}

func (c *conn) sendMoreStep(fd uintptr) bool {
	o := &c.out
	for len(o.buf) > 0 {
		n, err := syscall.SendmsgN(int(fd), o.buf, nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
		switch err {
		case nil:
			o.buf = o.buf[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.sf.err = err
			return true
		}
	}
	return true
}
