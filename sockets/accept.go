package sockets

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// AcceptRetry is the policy a server's accept loop applies to an error
// from Accept. Some errors pass: the process ran out of file descriptors
// (EMFILE, ENFILE) or memory for a moment, or a client gave up before its
// connection was accepted (ECONNABORTED). A server that returned on those
// would stop serving for good after one burst of clients. For such an
// error AcceptRetry returns how long to wait before the next Accept,
// doubling the last wait from 5 ms up to 1 s, and true; for any other
// error (the listener was closed, say) it returns false and the loop
// should end. Pass last = 0 after a successful Accept.
func AcceptRetry(err error, last time.Duration) (wait time.Duration, retry bool) {
	var ne net.Error
	temporary := errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) ||
		(errors.As(err, &ne) && ne.Timeout())
	if !temporary || errors.Is(err, net.ErrClosed) {
		return 0, false
	}
	const first, most = 5 * time.Millisecond, time.Second
	return min(max(2*last, first), most), true
}
