//go:build unix

package web

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// startNginx runs nginx (as sockettest.StartNginx runs it: two workers,
// stopped by the master's PID when the test ends) listening on a free
// loopback port with the server block's directives inside, and returns
// its address. The test is skipped when nginx is not installed.
//
// The second parameter, once the directory for nginx's files, is unused:
// StartNginx keeps them in a temporary directory of its own. It stays
// until the callers in interop_test.go and bench_test.go drop it.
func startNginx(tb testing.TB, _ string, serverBlock string) string {
	tb.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(tb))
	sockettest.StartNginx(tb, fmt.Sprintf(`  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  server {
    listen %s;
%s
  }`, addr, serverBlock), addr)
	return addr
}

// readableByWorkers lets other users read the files under dir: the
// test's temporary directories are private to their owner. nginx's
// workers no longer need it (when the test runs as root, StartNginx runs
// them as root too); it stays until the callers in interop_test.go and
// bench_test.go drop it.
func readableByWorkers(tb testing.TB, dir string) {
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if d == os.TempDir() {
			break
		}
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
}
