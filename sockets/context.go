package sockets

import (
	"context"
	"sync"
	"time"
)

// Deadliner is the part of net.Conn and net.PacketConn that WatchContext
// needs.
type Deadliner interface {
	SetDeadline(t time.Time) error
}

// WatchContext ties a blocking network call to a context, the way every
// client in appnet takes a context first: if ctx ends while the call is
// under way, the connection's deadline is moved to the past, which makes
// the call return at once with a timeout error.
//
// Call the returned function when the operation is over (calling it
// again returns the same result, so it may also be deferred). It disarms the
// watch; if the watch had already fired, it waits for it to finish and
// clears the deadline again, so the next operation does not start with a
// deadline in the past. It returns ctx.Err() if the context ended, so the
// caller can report why the call failed:
//
//	done := sockets.WatchContext(ctx, conn)
//	n, err := conn.Read(buf)
//	if cerr := done(); cerr != nil {
//		err = cerr // the context ended: say so rather than "i/o timeout"
//	}
func WatchContext(ctx context.Context, conn Deadliner) (done func() error) {
	var fired sync.WaitGroup
	fired.Add(1)
	stop := context.AfterFunc(ctx, func() {
		defer fired.Done()
		conn.SetDeadline(time.Now())
	})
	return sync.OnceValue(func() error {
		if stop() {
			return nil // disarmed before it fired
		}
		fired.Wait()
		conn.SetDeadline(time.Time{})
		return ctx.Err()
	})
}
