package bittorrent

import (
	"os"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// TestMain fails the run if a goroutine of appnet outlives the tests: every
// Torrent, tracker and connection a test starts, it stops. (TestSwarm
// checks the stronger promise that Close itself waits for them.)
func TestMain(m *testing.M) { os.Exit(sockettest.VerifyNoLeaks(m)) }
