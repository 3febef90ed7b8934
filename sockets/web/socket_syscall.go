//go:build linux && (race || 386)

package web

import "syscall"

// Under the race detector, the socket's reads and sends go through package
// syscall, whose Read, Write and Sendfile tell the detector that what one
// goroutine sends through a socket another may receive: RawSyscall says
// nothing to it, and tests that pass a value to the client through the
// connection would be reported as races. On 386, where socket calls go
// through socketcall(2), they take this way too. The calls made, and the
// code around them, are otherwise the same as socket_raw.go's.

func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errnoOf(err)
}

func sysSend(fd uintptr, a, _ []byte, flags int) (int, syscall.Errno) {
	// One buffer a call: writeStep sends the second after the first.
	if flags&^syscall.MSG_NOSIGNAL == 0 {
		n, err := syscall.Write(int(fd), a) // Go ignores SIGPIPE on sockets
		return n, errnoOf(err)
	}
	// MSG_MORE: the sendfile that follows tells the detector.
	n, err := syscall.SendmsgN(int(fd), a, nil, nil, flags)
	return n, errnoOf(err)
}

// sendfile tells the detector, whether the file is in memory or not.
func sendfile(out, in int, off *int64, n int, _ bool) (int, error) {
	return syscall.Sendfile(out, in, off, n)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return err.(syscall.Errno)
}
