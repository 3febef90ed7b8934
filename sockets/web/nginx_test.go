//go:build unix

package web

import (
	"fmt"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// startNginx runs nginx (as sockettest.StartNginx runs it: two workers,
// stopped by the master's PID when the test ends) listening on a free
// loopback port with the server block's directives inside, and returns
// its address. The test is skipped when nginx is not installed.
func startNginx(tb testing.TB, serverBlock string) string {
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
