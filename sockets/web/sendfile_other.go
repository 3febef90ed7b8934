//go:build !linux

package web

import "io"

// sendFile sends limit bytes of r (all that is left if limit < 0) after
// what the write buffer holds, with sendfile(2) where the system has it.
func (c *conn) sendFile(r io.Reader, limit int64) (int64, error) {
	if err := c.out.flush(); err != nil {
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
