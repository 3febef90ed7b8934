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
