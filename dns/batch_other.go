//go:build !(linux && (amd64 || arm64))

package dns

import (
	"context"
	"net"
)

func (s *Server) udpBatchLoop(ctx context.Context, uc *net.UDPConn) error {
	return s.udpSimpleLoop(ctx, uc)
}
