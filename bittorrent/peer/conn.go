package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A BlockSource reads the data of a piece message when its turn to be sent
// comes, so a queue of requests holds no block data.
type BlockSource interface {
	// ReadBlock fills p with the bytes of piece index from offset begin.
	ReadBlock(index, begin uint32, p []byte) error
}

// Config sets the limits and timers of a Conn. The zero value is ready to
// use.
type Config struct {
	MaxLength    int           // largest message accepted; 0 means DefaultMaxLength
	IdleTimeout  time.Duration // close after reading nothing this long; 0 means 3 minutes
	WriteTimeout time.Duration // fail a write stuck this long; 0 means 1 minute
	KeepAlive    time.Duration // send a keep-alive after writing nothing this long; 0 means 2 minutes
	Blocks       BlockSource   // fills piece messages queued with a nil payload
	// Encrypted lists the info hashes for which AcceptHandshake answers
	// an incoming MSE (message stream encryption) handshake, selecting
	// plaintext for the rest of the connection; empty: only plain ones.
	Encrypted [][20]byte
	// Trace, if not nil, receives one line per message, "Self: message"
	// for those written and "Peer: message" for those read. Connections
	// that share a Trace writer each write whole lines with one Write
	// call; the writer must be safe for concurrent use.
	Trace      io.Writer
	Self, Peer string // names for Trace; "A" and "B" if empty
}

// ErrClosed is the error of a connection closed by Close.
var ErrClosed = errors.New("peer: connection closed")

// Stats counts a connection's traffic: every byte, and the bytes of blocks
// (the payload of piece messages), so that the protocol's overhead is
// their difference.
type Stats struct {
	Read, Written          int64 // bytes on the wire, handshake included
	BlocksRead, BlocksSent int64 // bytes of block data
	MessagesRead, Messages int64 // messages read and written
}

// A Conn is a peer wire connection: a read loop that hands every message to
// a handler, and a write loop that drains a queue, sends keep-alives when
// idle and reads block data from a BlockSource as piece messages go out.
// Every read and write has a deadline. Close stops both loops and waits for
// them.
type Conn struct {
	nc  net.Conn
	br  *bufio.Reader
	cfg Config

	mu     sync.Mutex
	queue  []Message
	pieces int // piece messages in queue
	wake   chan struct{}

	done     chan struct{}
	stopOnce sync.Once
	errMu    sync.Mutex
	err      error
	wg       sync.WaitGroup
	started  atomic.Bool

	read, written, blocksRead, blocksSent, msgsRead, msgsWritten atomic.Int64
}

// NewConn wraps an established connection. It does no I/O.
func NewConn(nc net.Conn, cfg Config) *Conn {
	if cfg.Self == "" {
		cfg.Self = "A"
	}
	if cfg.Peer == "" {
		cfg.Peer = "B"
	}
	c := &Conn{nc: nc, cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.br = bufio.NewReaderSize(countingReader{nc, &c.read}, 64<<10)
	return c
}

// Dial connects to a peer; the handshake is the caller's next step.
func Dial(ctx context.Context, addr string, cfg Config) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewConn(nc, cfg), nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

func (c *Conn) deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(20 * time.Second)
}

// Handshake is the initiator's side: it sends ours, then reads the peer's
// and checks that it is for the same torrent.
func (c *Conn) Handshake(ctx context.Context, ours Handshake) (Handshake, error) {
	c.nc.SetDeadline(c.deadline(ctx))
	defer c.nc.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop() // before the deadline is cleared
	if err := c.writeHandshake(ours); err != nil {
		return Handshake{}, err
	}
	theirs, err := c.readHandshake()
	if err != nil {
		return theirs, err
	}
	if theirs.InfoHash != ours.InfoHash {
		return theirs, &ProtocolError{"handshake for another torrent"}
	}
	return theirs, nil
}

// AcceptHandshake is the receiving side: it reads the peer's handshake,
// asks accept for ours (accept rejects an unknown torrent with an error),
// and sends it.
func (c *Conn) AcceptHandshake(ctx context.Context, accept func(theirs Handshake) (Handshake, error)) (Handshake, error) {
	c.nc.SetDeadline(c.deadline(ctx))
	defer c.nc.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop() // before the deadline is cleared
	if len(c.cfg.Encrypted) > 0 {
		b, err := c.br.Peek(1)
		if err != nil {
			return Handshake{}, err
		}
		if b[0] != byte(len(Protocol)) {
			first, _ := c.br.ReadByte()
			rd, err := acceptMSE(first, c.br, countingWriter{c.nc, &c.written}, c.cfg.Encrypted)
			if err != nil {
				return Handshake{}, err
			}
			c.br = bufio.NewReaderSize(rd, 64<<10)
			c.trace(c.cfg.Peer, "encrypted handshake, plaintext selected")
		}
	}
	theirs, err := c.readHandshake()
	if err != nil {
		return theirs, err
	}
	ours, err := accept(theirs)
	if err != nil {
		return theirs, err
	}
	return theirs, c.writeHandshake(ours)
}

func (c *Conn) writeHandshake(h Handshake) error {
	b := AppendHandshake(make([]byte, 0, HandshakeLen), h)
	n, err := c.nc.Write(b)
	c.written.Add(int64(n))
	c.trace(c.cfg.Self, h.String())
	return err
}

func (c *Conn) readHandshake() (Handshake, error) {
	h, err := ReadHandshake(c.br)
	if err == nil {
		c.trace(c.cfg.Peer, h.String())
	}
	return h, err
}

func (c *Conn) trace(who, what string) {
	if c.cfg.Trace != nil {
		io.WriteString(c.cfg.Trace, who+": "+what+"\n")
	}
}

// Run starts the read and write loops. The read loop calls handler with
// every message but keep-alives, in order; the message's payload is valid
// only during the call. An error from handler closes the connection with
// that error. Run returns at once; Done tells when the connection ends.
func (c *Conn) Run(handler func(Message) error) {
	if !c.started.CompareAndSwap(false, true) {
		panic("peer: Run called twice")
	}
	c.wg.Add(2)
	go c.readLoop(handler)
	go c.writeLoop()
}

func (c *Conn) readLoop(handler func(Message) error) {
	defer c.wg.Done()
	idle := c.cfg.IdleTimeout
	if idle <= 0 {
		idle = 3 * time.Minute
	}
	var buf []byte
	for {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		m, b, err := ReadMessage(c.br, buf, c.cfg.MaxLength)
		buf = b
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("peer: nothing received for %v: %w", idle, err)
			}
			c.stop(err)
			return
		}
		c.msgsRead.Add(1)
		if m.Type == Piece && !m.KeepAlive {
			c.blocksRead.Add(int64(len(m.Payload)))
		}
		if c.cfg.Trace != nil {
			c.trace(c.cfg.Peer, m.String())
		}
		if m.KeepAlive {
			continue
		}
		if err := handler(m); err != nil {
			c.stop(err)
			return
		}
	}
}

// writeBatch is about how many bytes the write loop takes from the queue
// for one write: a few blocks, so that each system call carries many
// messages, while a cancel or a choke can still take back the piece
// messages queued behind them.
const writeBatch = 256 << 10

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	ka := c.cfg.KeepAlive
	if ka <= 0 {
		ka = 2 * time.Minute
	}
	wt := c.cfg.WriteTimeout
	if wt <= 0 {
		wt = time.Minute
	}
	timer := time.NewTimer(ka)
	defer timer.Stop()
	var batch []Message
	var out []byte
	for {
		// Take what is queued, up to writeBatch bytes (at least one
		// message), and write it all with one call.
		c.mu.Lock()
		batch = batch[:0]
		size := 0
		for len(c.queue) > 0 && (len(batch) == 0 || size < writeBatch) {
			m := c.queue[0]
			if isPieceMsg(m) {
				c.pieces--
			}
			c.queue[0] = Message{}
			c.queue = c.queue[1:]
			batch = append(batch, m)
			size += wireSize(m)
		}
		if len(c.queue) == 0 {
			c.queue = c.queue[:0:0]
		}
		c.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-c.wake:
				continue
			case <-timer.C:
				batch = append(batch, Message{KeepAlive: true})
				size = 4
			case <-c.done:
				return
			}
		}
		if cap(out) < size {
			out = make([]byte, 0, size)
		}
		out = out[:0]
		var blocks int64
		for i, m := range batch {
			if isPieceMsg(m) && m.Payload == nil && c.cfg.Blocks != nil {
				// The header, then the block read from storage straight
				// into the output buffer behind it.
				out = AppendMessage(out, m)
				putLength(out[len(out)-13:], 9+int(m.Length))
				n := len(out)
				out = out[:n+int(m.Length)]
				if err := c.cfg.Blocks.ReadBlock(m.Index, m.Begin, out[n:]); err != nil {
					c.stop(fmt.Errorf("peer: reading %v: %w", m, err))
					return
				}
				batch[i].Payload = out[n:] // for the trace
				blocks += int64(m.Length)
				continue
			}
			out = AppendMessage(out, m)
			if isPieceMsg(m) {
				blocks += int64(len(m.Payload))
			}
		}
		if c.cfg.Trace != nil {
			// Before the write, so that the peer's answer comes after.
			for _, m := range batch {
				c.trace(c.cfg.Self, m.String())
			}
		}
		c.nc.SetWriteDeadline(time.Now().Add(wt))
		n, err := c.nc.Write(out)
		c.written.Add(int64(n))
		if err != nil {
			c.stop(err)
			return
		}
		c.blocksSent.Add(blocks)
		c.msgsWritten.Add(int64(len(batch)))
		clear(batch) // drop references to payloads
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(ka)
	}
}

// wireSize is the length of m on the wire, a piece message to be filled
// from a BlockSource included.
func wireSize(m Message) int {
	switch {
	case m.KeepAlive:
		return 4
	case isPieceMsg(m) && m.Payload == nil:
		return 13 + int(m.Length)
	}
	return 17 + len(m.Payload) // at most: a request has 12 bytes of fields
}

func putLength(b []byte, n int) {
	b[0], b[1], b[2], b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

// Send queues a message. A piece message with a nil payload is filled from
// Config.Blocks when it is written. Send never blocks; after the
// connection ends it does nothing.
func (c *Conn) Send(m Message) {
	select {
	case <-c.done:
		return
	default:
	}
	c.mu.Lock()
	c.queue = append(c.queue, m)
	if isPieceMsg(m) {
		c.pieces++
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// CancelPiece removes a queued, not yet written piece message for the
// block, as the peer's cancel asks; it reports whether one was removed.
func (c *Conn) CancelPiece(index, begin, length uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.queue {
		if isPieceMsg(m) && m.Index == index && m.Begin == begin && m.Length == length {
			c.queue = append(c.queue[:i], c.queue[i+1:]...)
			c.pieces--
			return true
		}
	}
	return false
}

// DropPieces removes every queued piece message, as a choke requires.
func (c *Conn) DropPieces() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	q := c.queue[:0]
	for _, m := range c.queue {
		if isPieceMsg(m) {
			n++
			continue
		}
		q = append(q, m)
	}
	clear(c.queue[len(q):])
	c.queue = q
	c.pieces = 0
	return n
}

func (c *Conn) stop(err error) {
	c.stopOnce.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// Stop ends the connection with err as its Err, without waiting for the
// loops; it may be called from the handler. Close still has to be called.
func (c *Conn) Stop(err error) { c.stop(err) }

// Queued is the number of messages waiting to be written.
func (c *Conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// QueuedPieces is the number of piece messages waiting to be written: the
// peer's requests we have yet to answer.
func (c *Conn) QueuedPieces() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pieces
}

func isPieceMsg(m Message) bool { return m.Type == Piece && !m.KeepAlive }

// Done is closed when the connection has ended, by Close or by an error.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended: ErrClosed after Close, io.EOF when the
// peer hung up, or the error that ended it. It is nil while it runs.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Close ends the connection and waits for its loops to return.
func (c *Conn) Close() error {
	c.stop(ErrClosed)
	c.wg.Wait()
	return nil
}

// Stats returns the traffic so far.
func (c *Conn) Stats() Stats {
	return Stats{
		Read: c.read.Load(), Written: c.written.Load(),
		BlocksRead: c.blocksRead.Load(), BlocksSent: c.blocksSent.Load(),
		MessagesRead: c.msgsRead.Load(), Messages: c.msgsWritten.Load(),
	}
}
