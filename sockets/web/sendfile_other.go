//go:build !linux

package web

import "io"

// sendfileCall is Linux's; elsewhere the net package's sendfile is used.
type sendfileCall struct{}

func (c *conn) initSendfile() {}

// sendFile sends limit bytes of r (all that is left if limit < 0) after
// what the write buffer holds, with the system's sendfile where the net
// package has it.
func (c *conn) sendFile(r io.Reader, limit int64) (int64, error) {
	if err := c.out.flush(); err != nil {
		return 0, err
	}
	return c.copyFile(r, limit)
}
