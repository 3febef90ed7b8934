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
