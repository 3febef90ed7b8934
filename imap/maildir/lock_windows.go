package maildir

import (
	"os"
	"syscall"
	"unsafe"
)

// lockFile waits for an exclusive lock on f, shared with every process
// that locks the same file: LockFileEx on its first byte, which closing f
// releases.
func lockFile(f *os.File) error {
	const exclusive = 2 // LOCKFILE_EXCLUSIVE_LOCK
	lockFileEx := syscall.NewLazyDLL("kernel32.dll").NewProc("LockFileEx")
	var ol syscall.Overlapped
	if r, _, err := lockFileEx.Call(f.Fd(), exclusive, 0, 1, 0, uintptr(unsafe.Pointer(&ol))); r == 0 {
		return err
	}
	return nil
}
