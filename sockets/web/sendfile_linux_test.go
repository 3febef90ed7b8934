//go:build linux && (amd64 || arm64)

package web

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestInPageCache: cachestat(2) tells a file whose pages the kernel has
// dropped from one that was just read, so that sendfile is made without
// the scheduler's precautions only when it cannot wait for the disk.
func TestInPageCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chunk")
	const size = 5*4096 + 100
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	if in, errno := inPageCache(fd, 0, size); errno == syscall.ENOSYS {
		// No cachestat(2) before Linux 6.5: the answer must be "no", and
		// sendfile is an ordinary system call.
		if in {
			t.Error("without cachestat the file is said to be in memory")
		}
		return
	}
	// Write the pages back and ask the kernel to drop them.
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	const fadvDontNeed = 4
	if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, uintptr(fd), 0, 0, fadvDontNeed, 0, 0); errno != 0 {
		t.Fatal(errno)
	}
	if in, errno := inPageCache(fd, 0, size); errno != 0 || in {
		t.Errorf("after the pages were dropped: in page cache %v, errno %v", in, errno)
	}
	// Read the last pages (read-ahead goes forward, never back to the
	// first page): that range is in, the whole file is not.
	if _, err := f.ReadAt(make([]byte, 4096), 4*4096); err != nil {
		t.Fatal(err)
	}
	if in, _ := inPageCache(fd, 4*4096, 4096); !in {
		t.Error("the page just read is not in the page cache")
	}
	if in, _ := inPageCache(fd, 0, size); in {
		t.Error("the whole file is in the page cache after one page was read")
	}
	if _, err := f.ReadAt(make([]byte, size), 0); err != nil {
		t.Fatal(err)
	}
	if in, _ := inPageCache(fd, 100, size-100); !in {
		t.Error("the file just read whole is not in the page cache")
	}
}
