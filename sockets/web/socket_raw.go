//go:build linux && !race && !386

package web

import (
	"syscall"
	"unsafe"
)

// sysRead is read(2) on a non-blocking socket, made with RawSyscall: the
// scheduler is not told, because the call cannot block (socket_linux.go).
func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), errno
}

// sysSend sends a and then b (which may be empty) on a non-blocking
// socket, made with RawSyscall: send(2) with its flags for one buffer,
// writev(2) for two (which the server only asks without flags other than
// MSG_NOSIGNAL; Go ignores SIGPIPE on sockets anyway).
func sysSend(fd uintptr, a, b []byte, flags int) (int, syscall.Errno) {
	if len(b) == 0 {
		r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&a[0])), uintptr(len(a)), uintptr(flags), 0, 0)
		return int(r), errno
	}
	var iov [2]syscall.Iovec
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	return int(r), errno
}

// sendfile is sendfile(2) to a non-blocking socket: made with RawSyscall
// when the file's range is all in the page cache, where it cannot wait
// for the disk, and as an ordinary system call otherwise.
func sendfile(out, in int, off *int64, n int, inMemory bool) (int, error) {
	if !inMemory {
		return syscall.Sendfile(out, in, off, n)
	}
	r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDFILE, uintptr(out), uintptr(in), uintptr(unsafe.Pointer(off)), uintptr(n), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
