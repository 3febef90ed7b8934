//go:build unix

package maildir

import (
	"os"
	"syscall"
)

// lockFile waits for an exclusive lock on f, shared with every process
// that locks the same file: flock(2), which closing f releases.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}
