//go:build !(linux || darwin)

package sockets

import "testing"

// benchBerkeleyBulk needs the Berkeley socket calls of berkeley.go, which
// are Linux's and macOS's.
func benchBerkeleyBulk(b *testing.B) {
	b.Skip("the Berkeley socket calls (berkeley.go) are built on Linux and macOS only")
}
