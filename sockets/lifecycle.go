package sockets

import (
	"context"
	"errors"
	"log"
	"net"
	"sync"
	"time"
)

// ErrServerClosed is returned by a server's Serve and ServePacket methods
// once its Shutdown or Close has begun. Every server in appnet returns this
// one value (smtp.ErrServerClosed, dns.ErrServerClosed and the others are
// the same error), so errors.Is works with any of the names.
var ErrServerClosed = errors.New("sockets: server closed")

// A Lifecycle is the part of a server that knows what is running: its
// welcoming sockets (listeners), its UDP sockets, and the connections it
// serves, each in its own goroutine. It carries the server through the
// three phases described in the package documentation: serving, shutting
// down, closed. Servers hold one as an unexported field and hand their
// Serve, ServePacket, Shutdown and Close methods to it, adding only what
// their protocol says at the end (SMTP's "421", IMAP's "* BYE").
//
// The zero value is a server in its serving phase. A Lifecycle must not be
// copied once used. After Shutdown or Close it stays closed: a server is
// not restarted, a new one is made.
type Lifecycle struct {
	mu        sync.Mutex
	closing   bool          // Shutdown or Close has begun
	done      chan struct{} // closed when closing becomes true
	ctx       context.Context
	cancel    context.CancelFunc
	listeners map[net.Listener]struct{}
	packets   map[net.PacketConn]struct{}
	conns     map[net.Conn]bool // true while the connection waits for a request
	wg        sync.WaitGroup    // serving loops and connection goroutines
}

// init makes the maps, channel and context on first use; lc.mu is held.
func (lc *Lifecycle) init() {
	if lc.done == nil {
		lc.done = make(chan struct{})
		lc.ctx, lc.cancel = context.WithCancel(context.Background())
		lc.listeners = make(map[net.Listener]struct{})
		lc.packets = make(map[net.PacketConn]struct{})
		lc.conns = make(map[net.Conn]bool)
	}
}

// Serve is a TCP server's accept loop. It accepts connections on l and
// calls serve for each in a new goroutine; when serve returns, the
// connection is closed and forgotten. Accept errors that pass (see
// AcceptRetry) are written to errorLog (nil means log.Default()) and
// waited out. Serve returns ErrServerClosed once Shutdown or Close has
// begun, or the error that ended the accept loop. Like net/http's Serve,
// it closes l when it returns.
func (lc *Lifecycle) Serve(l net.Listener, serve func(net.Conn), errorLog *log.Logger) error {
	lc.mu.Lock()
	lc.init()
	if lc.closing {
		lc.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	lc.listeners[l] = struct{}{}
	lc.wg.Add(1)
	lc.mu.Unlock()
	defer lc.wg.Done()
	defer func() {
		lc.mu.Lock()
		delete(lc.listeners, l)
		lc.mu.Unlock()
		l.Close()
	}()
	for {
		c, err := lc.Accept(l, errorLog)
		if err != nil {
			return err
		}
		if !lc.track(c) {
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer lc.forget(c)
			serve(c)
		}()
	}
}

// Accept returns the next connection from l. An error that AcceptRetry
// lets pass (the process is out of file descriptors for a moment, say) is
// written to errorLog (nil means log.Default()) and waited out, longer
// each time. Once Shutdown or Close has begun, Accept returns
// ErrServerClosed, even in the middle of a wait; any other error is
// returned as it is. Serve calls it; a server whose accept loop belongs
// to someone else (net/http's) calls it from its listener's Accept.
func (lc *Lifecycle) Accept(l net.Listener, errorLog *log.Logger) (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Accept()
		if err == nil {
			return c, nil
		}
		if lc.Closing() {
			return nil, ErrServerClosed
		}
		var retry bool
		if wait, retry = AcceptRetry(err, wait); !retry {
			return nil, err
		}
		if errorLog == nil {
			errorLog = log.Default()
		}
		errorLog.Printf("%v; retrying in %v", err, wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-lc.Done():
			t.Stop()
			return nil, ErrServerClosed
		}
	}
}

// ServeConn serves one connection that did not come from a listener (one
// end of net.Pipe, say) in the calling goroutine, tracked like the
// connections Serve accepts: Shutdown waits for it, Close closes it. It
// closes c when serve returns. After Shutdown or Close it closes c at
// once without calling serve.
func (lc *Lifecycle) ServeConn(c net.Conn, serve func(net.Conn)) {
	if !lc.track(c) {
		c.Close()
		return
	}
	defer lc.forget(c)
	serve(c)
}

// ServePacket runs a UDP server's loop, serve(pc), until it returns. There
// are no connections: Shutdown and Close stop the loop by closing pc.
// ServePacket returns ErrServerClosed if Shutdown or Close has begun, and
// otherwise the loop's error. It closes pc when it returns.
func (lc *Lifecycle) ServePacket(pc net.PacketConn, serve func(net.PacketConn) error) error {
	lc.mu.Lock()
	lc.init()
	if lc.closing {
		lc.mu.Unlock()
		pc.Close()
		return ErrServerClosed
	}
	lc.packets[pc] = struct{}{}
	lc.wg.Add(1)
	lc.mu.Unlock()
	defer lc.wg.Done()
	err := serve(pc)
	lc.mu.Lock()
	delete(lc.packets, pc)
	closing := lc.closing
	lc.mu.Unlock()
	pc.Close()
	if closing {
		return ErrServerClosed
	}
	return err
}

// track adds c to the connections Shutdown waits for and Close closes; it
// reports false, and tracks nothing, once Shutdown or Close has begun.
func (lc *Lifecycle) track(c net.Conn) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.init()
	if lc.closing {
		return false
	}
	lc.conns[c] = false
	lc.wg.Add(1)
	return true
}

// forget closes c and lets Shutdown and Close stop waiting for it.
func (lc *Lifecycle) forget(c net.Conn) {
	c.Close()
	lc.mu.Lock()
	delete(lc.conns, c)
	lc.mu.Unlock()
	lc.wg.Done()
}

// SetIdle tells the Lifecycle whether connection c is idle, waiting for
// its client's next request (true), or busy with one (false), and reports
// whether Shutdown or Close has begun. Shutdown wakes the idle connections
// by moving their read deadline to now, so that their read fails at once
// and the server can say goodbye; it leaves busy ones to finish their
// request. The usual pattern, before each read of a request:
//
//	c.SetReadDeadline(time.Now().Add(idleTimeout)) // first: Shutdown's "now" must win
//	if lc.SetIdle(c, true) {
//		return // shutting down: say goodbye and close
//	}
//	req, err := read(c)
//	closing := lc.SetIdle(c, false)
//	if err != nil && closing { ... } // woken by Shutdown
//
// SetIdle on a connection the Lifecycle does not track only reports.
func (lc *Lifecycle) SetIdle(c net.Conn, idle bool) (closing bool) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if _, ok := lc.conns[c]; ok {
		lc.conns[c] = idle
	}
	return lc.closing
}

// Closing reports whether Shutdown or Close has begun.
func (lc *Lifecycle) Closing() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.closing
}

// Done returns a channel that is closed when Shutdown or Close begins, to
// end a wait early (a pause before retrying, say).
func (lc *Lifecycle) Done() <-chan struct{} {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.init()
	return lc.done
}

// Context returns a context for work done on behalf of the server's
// connections, such as handing a message to a mail store. It is cancelled
// when the server stops for good: by Close, when Shutdown's context ends
// before the connections have finished, or when Shutdown has finished.
func (lc *Lifecycle) Context() context.Context {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.init()
	return lc.ctx
}

// Conns returns the number of connections being served.
func (lc *Lifecycle) Conns() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return len(lc.conns)
}

// beginClosing starts the end of the serving phase: no new listener,
// socket or connection is taken on; listeners and UDP sockets are closed,
// and idle connections are woken.
func (lc *Lifecycle) beginClosing() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.init()
	if !lc.closing {
		lc.closing = true
		close(lc.done)
	}
	for l := range lc.listeners {
		l.Close()
	}
	for pc := range lc.packets {
		pc.Close()
	}
	for c, idle := range lc.conns {
		if idle {
			c.SetReadDeadline(time.Now())
		}
	}
}

// closeAll cancels the Context and closes every connection.
func (lc *Lifecycle) closeAll() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.cancel()
	for c := range lc.conns {
		c.Close()
	}
}

// Shutdown stops the server gracefully. It closes the listeners and UDP
// sockets, so no new client gets in, wakes the connections waiting for a
// request (see SetIdle), and waits for every connection to end and every
// Serve and ServePacket to return. If ctx ends first, it closes the
// connections left, as Close does, waits for their goroutines, and returns
// ctx's error.
func (lc *Lifecycle) Shutdown(ctx context.Context) error {
	lc.beginClosing()
	finished := make(chan struct{})
	go func() {
		lc.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		lc.closeAll() // nothing left to close: this cancels the Context
		return nil
	case <-ctx.Done():
		lc.closeAll()
		<-finished
		return ctx.Err()
	}
}

// Close stops the server at once: it closes the listeners, UDP sockets
// and connections, cancels the Context, and waits for the goroutines
// serving them to return.
func (lc *Lifecycle) Close() error {
	lc.beginClosing()
	lc.closeAll()
	lc.wg.Wait()
	return nil
}
