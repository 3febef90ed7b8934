//go:build linux && !race

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

// sysSend is send(2) on a non-blocking socket, made with RawSyscall.
func sysSend(fd uintptr, p []byte, flags int) (int, syscall.Errno) {
	r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), uintptr(flags), 0, 0)
	return int(r), errno
}

// sysWritev is writev(2) of a then b on a non-blocking socket, made with
// RawSyscall (Go ignores SIGPIPE on sockets, as for write).
func sysWritev(fd uintptr, a, b []byte) (int, syscall.Errno) {
	iov := [2]syscall.Iovec{{Base: &a[0]}, {}}
	iov[0].SetLen(len(a))
	n := 1
	if len(b) > 0 {
		iov[1].Base = &b[0]
		iov[1].SetLen(len(b))
		n = 2
	}
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
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
