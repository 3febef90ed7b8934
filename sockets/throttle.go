package sockets

import (
	"net"
	"os"
	"sync"
	"time"
)

// A Link describes the network path a throttled connection pretends to
// cross: how fast it is and how far away the other end is. The slides'
// streaming chapter needs both (bandwidth that varies, delay that adds up
// per round trip); tests and demos get them without root or tc.
type Link struct {
	// Rate is the bandwidth in bytes per second, applied separately to
	// what this side reads and what it writes. Zero means unlimited.
	Rate int64
	// Latency is the one-way delay added to everything this side writes.
	// Wrapping one end of a connection adds Latency to each round trip;
	// wrapping both ends adds twice that.
	Latency time.Duration
}

// A throttled conn passes data to the real one in pieces of about 10 ms
// of the link's rate, between one Ethernet frame and 16 KiB, so a large
// write flows at the link's rate instead of in one burst, and a slow link
// stays slow even for small transfers.
const (
	minPiece = 1500
	chunk    = 16 << 10 // the largest piece
)

// pieceSize returns the piece for a link of rate bytes per second.
func pieceSize(rate int64) int {
	return int(min(max(rate/100, minPiece), chunk))
}

// minInFlight is how many bytes a conn with Latency may hold between its
// Write and the real connection, when the bandwidth-delay product is
// smaller. Writes block (and time out) beyond it.
const minInFlight = 4 << 20

// Throttle returns conn slowed down to the link's rate and latency. The
// returned conn honours deadlines; Close closes conn and stops the
// goroutine that delays writes.
func Throttle(conn net.Conn, l Link) net.Conn {
	if l.Rate <= 0 && l.Latency <= 0 {
		return conn
	}
	c := &throttledConn{
		Conn:   conn,
		link:   l,
		closed: make(chan struct{}),
		rdl:    newDeadline(),
		wdl:    newDeadline(),
		piece:  chunk,
	}
	if l.Rate > 0 {
		c.piece = pieceSize(l.Rate)
		now := time.Now()
		c.rbucket = newBucket(l.Rate, now)
		c.wbucket = newBucket(l.Rate, now)
	}
	if l.Latency > 0 {
		c.maxInFlight = max(minInFlight, 2*l.Rate*int64(l.Latency)/int64(time.Second))
		c.ready = make(chan struct{}, 1)
		c.space = make(chan struct{}, 1)
		c.done = make(chan struct{})
		go c.deliver()
	}
	return c
}

// ThrottleListener returns a listener whose accepted connections are
// throttled to the link.
func ThrottleListener(ln net.Listener, l Link) net.Listener {
	return &throttledListener{Listener: ln, link: l}
}

type throttledListener struct {
	net.Listener
	link Link
}

func (l *throttledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Throttle(c, l.link), nil
}

type throttledConn struct {
	net.Conn
	link      Link
	piece     int // bytes passed at a time
	closeOnce sync.Once
	closed    chan struct{}
	rdl, wdl  *deadline

	rmu, wmu         sync.Mutex // guard the buckets
	rbucket, wbucket *bucket    // nil when Rate is 0

	// The delay line, used when Latency > 0: Write appends, deliver
	// writes each piece to Conn once its time has come.
	qmu         sync.Mutex
	queue       []delayed
	inFlight    int64
	maxInFlight int64
	werr        error         // the delay line's first write error
	ready       chan struct{} // a piece was queued
	space       chan struct{} // a piece left the queue
	done        chan struct{} // deliver has returned
}

type delayed struct {
	due  time.Time
	data []byte
}

func (c *throttledConn) Read(p []byte) (int, error) {
	if c.rbucket != nil {
		if err := c.waitTokens(&c.rmu, c.rbucket, c.rdl); err != nil {
			return 0, err
		}
		if len(p) > c.piece {
			p = p[:c.piece]
		}
	}
	n, err := c.Conn.Read(p)
	if c.rbucket != nil {
		c.rmu.Lock()
		c.rbucket.charge(n)
		c.rmu.Unlock()
	}
	if err != nil && c.isClosed() {
		err = net.ErrClosed
	}
	return n, err
}

func (c *throttledConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *throttledConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if c.wbucket != nil {
			if err := c.waitTokens(&c.wmu, c.wbucket, c.wdl); err != nil {
				return written, err
			}
		}
		piece := p[:min(len(p), c.piece)]
		var n int
		var err error
		if c.link.Latency > 0 {
			n, err = c.enqueue(piece)
		} else {
			n, err = c.Conn.Write(piece)
		}
		if c.wbucket != nil {
			c.wmu.Lock()
			c.wbucket.charge(n)
			c.wmu.Unlock()
		}
		written += n
		p = p[n:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// waitTokens blocks until the bucket is out of debt, the deadline passes
// or the conn is closed.
func (c *throttledConn) waitTokens(mu *sync.Mutex, b *bucket, dl *deadline) error {
	for {
		if err := c.stopped(dl); err != nil {
			return err
		}
		mu.Lock()
		wait := b.wait(time.Now())
		mu.Unlock()
		if wait <= 0 {
			return nil
		}
		if err := c.pause(wait, dl); err != nil {
			return err
		}
	}
}

// stopped reports whether the conn is closed or the deadline has passed.
func (c *throttledConn) stopped(dl *deadline) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	case <-dl.expired():
		return os.ErrDeadlineExceeded
	default:
		return nil
	}
}

// pause sleeps for d unless the deadline passes or the conn is closed.
func (c *throttledConn) pause(d time.Duration, dl *deadline) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.closed:
		return net.ErrClosed
	case <-dl.expired():
		return os.ErrDeadlineExceeded
	}
}

// enqueue puts a copy of p on the delay line, waiting for room.
func (c *throttledConn) enqueue(p []byte) (int, error) {
	for {
		if err := c.stopped(c.wdl); err != nil {
			return 0, err
		}
		c.qmu.Lock()
		if c.werr != nil {
			err := c.werr
			c.qmu.Unlock()
			return 0, err
		}
		if c.inFlight == 0 || c.inFlight+int64(len(p)) <= c.maxInFlight {
			c.queue = append(c.queue, delayed{
				due:  time.Now().Add(c.link.Latency),
				data: append([]byte(nil), p...),
			})
			c.inFlight += int64(len(p))
			c.qmu.Unlock()
			signal(c.ready)
			return len(p), nil
		}
		c.qmu.Unlock()
		select {
		case <-c.space:
		case <-c.closed:
			return 0, net.ErrClosed
		case <-c.wdl.expired():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// deliver runs the delay line: each piece goes to the real conn when its
// due time comes. It returns when a write fails, or when the conn is
// closed and everything queued before has been delivered.
func (c *throttledConn) deliver() {
	defer close(c.done)
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 {
			c.qmu.Unlock()
			select {
			case <-c.ready:
				continue
			case <-c.closed:
				c.qmu.Lock()
				empty := len(c.queue) == 0
				c.qmu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		next := c.queue[0]
		c.qmu.Unlock()

		// Sleep out the piece's delay, closed or not: the data was
		// written, and a closing host still sends what it has.
		time.Sleep(time.Until(next.due))
		_, err := c.Conn.Write(next.data)

		c.qmu.Lock()
		c.queue[0] = delayed{}
		c.queue = c.queue[1:]
		c.inFlight -= int64(len(next.data))
		if err != nil {
			c.werr = err
			c.queue, c.inFlight = nil, 0
		}
		c.qmu.Unlock()
		signal(c.space)
		if err != nil {
			return
		}
	}
}

// signal wakes one waiter on a 1-buffered channel without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// lingerTimeout bounds how long Close waits for the delay line to drain
// into a peer that does not read.
const lingerTimeout = time.Second

// Close closes the connection as TCP does: reads stop at once, and what
// is still on the delay line is delivered before the real conn closes,
// within the link's latency plus lingerTimeout.
func (c *throttledConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		close(c.closed)
		if c.done != nil {
			c.Conn.SetReadDeadline(time.Now())
			c.Conn.SetWriteDeadline(time.Now().Add(c.link.Latency + lingerTimeout))
			<-c.done
		}
		err = c.Conn.Close()
	})
	return err
}

func (c *throttledConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

func (c *throttledConn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return c.Conn.SetReadDeadline(t)
}

// SetWriteDeadline bounds how long Write may wait for the link. With
// Latency, a write is done once it is on the delay line, so the real
// conn's deadline is left alone.
func (c *throttledConn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	if c.link.Latency > 0 {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// A bucket is a token bucket that may go into debt: a transfer waits until
// the bucket is out of debt, then passes and is charged. Over time the
// bytes passed approach rate × time, with bursts of at most two pieces.
type bucket struct {
	rate   float64 // tokens (bytes) per second
	depth  float64 // the most tokens it holds
	tokens float64
	last   time.Time
}

func newBucket(rate int64, now time.Time) *bucket {
	depth := float64(pieceSize(rate)) // about 10 ms of the link's rate
	return &bucket{rate: float64(rate), depth: depth, tokens: depth, last: now}
}

// refill adds the tokens earned since the last call.
func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(b.depth, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// wait returns how long until the bucket is out of debt (zero if it is).
func (b *bucket) wait(now time.Time) time.Duration {
	b.refill(now)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}

// charge takes n tokens, possibly into debt.
func (b *bucket) charge(n int) {
	b.tokens -= float64(n)
}

// A deadline is a time after which waits fail; setting it again re-arms it.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{} // closed when the deadline has passed
}

func newDeadline() *deadline { return &deadline{ch: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.ch // the timer fired; its close has happened or is happening
	}
	d.timer = nil
	select {
	case <-d.ch:
		d.ch = make(chan struct{})
	default:
	}
	if t.IsZero() {
		return
	}
	if wait := time.Until(t); wait > 0 {
		ch := d.ch
		d.timer = time.AfterFunc(wait, func() { close(ch) })
		return
	}
	close(d.ch)
}

func (d *deadline) expired() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}
