package dash

import (
	"net"
	"syscall"
)

// cork holds back (on) or lets go (off) a TCP connection's partial
// segments: Linux's TCP_CORK, which nginx sets for "tcp_nopush on". With
// the connection corked, the response header and the body leave as full
// segments instead of a small header segment and then the body, so the
// client wakes once per chunk rather than twice.
func cork(c net.Conn, on bool) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	v := 0
	if on {
		v = 1
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, v)
	})
}
