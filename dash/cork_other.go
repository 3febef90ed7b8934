//go:build !linux

package dash

import "net"

// cork does nothing here: TCP_CORK is Linux's; elsewhere the header and
// body may leave as separate segments.
func cork(net.Conn, bool) {}
