//go:build !unix && !windows

package maildir

import "os"

// lockFile does nothing where the system has no file locks (js, wasip1,
// plan9): a store there must be used by one process only.
func lockFile(*os.File) error { return nil }
