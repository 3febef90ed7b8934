//go:build !linux

package web

// sendfileCall is Linux's; elsewhere the net package's sendfile is used.
type sendfileCall struct{}

// initSocket leaves c reading and writing through net.Conn.
func (c *conn) initSocket() {}

// sendFile sends the file range fr after what the write buffer holds,
// with the net package's TCPConn.ReadFrom, which uses the system's
// sendfile where it can.
func (c *conn) sendFile(fr *fileRange) (int64, error) {
	return c.copyFile(fr.reader(), -1)
}
