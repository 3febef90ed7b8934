package web

import (
	"io"
	"syscall"
)

// sendFile sends limit bytes of r (all that is left if limit < 0) after
// what the write buffer holds: the buffer goes with MSG_MORE, which tells
// Linux more is coming, so the header and the start of the file leave in
// full segments together, as nginx's "tcp_nopush" does with TCP_CORK;
// then sendfile(2) copies the file to the socket without it passing
// through the server.
func (c *conn) sendFile(r io.Reader, limit int64) (int64, error) {
	if err := c.out.flushMore(c); err != nil {
		return 0, err
	}
	src := r
	if limit >= 0 {
		c.lr = io.LimitedReader{R: r, N: limit}
		src = &c.lr
	}
	n, err := c.tcp.ReadFrom(src)
	c.lr.R = nil
	if err != nil {
		c.out.err = err
	}
	return n, err
}

// flushMore is flush with MSG_MORE.
func (o *outBuffer) flushMore(c *conn) error {
	if o.err != nil || len(o.buf) == 0 {
		return o.err
	}
	rc, err := c.tcp.SyscallConn()
	if err != nil {
		return o.flush()
	}
	p := o.buf
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(p) > 0 {
			n, err := syscall.SendmsgN(int(fd), p, nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
			switch err {
			case nil:
				p = p[n:]
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait until the socket can take more
			default:
				werr = err
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	o.buf = o.buf[:0]
	o.err = err
	return err
}
