package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"appnet.dev/sockets"
)

// A Client is the sending side of SMTP: Alice's user agent submitting to
// her mail server, or her mail server's queue delivering to Bob's (the
// slides' "client side of SMTP"). It speaks over one connection, which
// may carry several transactions.
//
// Set the exported fields before the first call. Methods are not safe for
// concurrent use.
type Client struct {
	// LocalName is the name sent with EHLO/HELO; default "localhost".
	LocalName string
	// UseHELO makes the client say HELO, as the lecture's sample
	// interaction does, instead of EHLO: no extensions then.
	UseHELO bool
	// CommandTimeout bounds each command's reply (default 5 minutes),
	// DataTimeout the final reply after the message (default 10 minutes),
	// as RFC 5321 §4.5.3.2 suggests.
	CommandTimeout time.Duration
	DataTimeout    time.Duration
	// Trace, if set, prints the dialogue: "C: MAIL FROM:<…>", "S: 250 …",
	// with AUTH credentials shown as "<redacted>" ("C: AUTH PLAIN
	// <redacted>"). Clients running at the same time that share a Trace
	// need one safe for concurrent use (os.Stdout, a sockets.SyncWriter).
	Trace io.Writer

	raw      net.Conn
	conn     net.Conn
	lr       *sockets.LineReader
	w        *bufio.Writer
	started  bool
	greeting *Reply
	ext      map[string]string // EHLO keywords, uppercased
	helloed  bool
	isTLS    bool
	// RoundTrips counts the times the client waited for the server after
	// sending: what pipelining saves.
	RoundTrips int

	// redact keeps credentials out of the transcript; one for the whole
	// dialogue, before and after STARTTLS.
	redact authRedactor
}

// NewClient returns a client on conn. It does no I/O: the server's
// greeting is read by the first command.
func NewClient(conn net.Conn) *Client {
	return &Client{raw: conn}
}

// Dial connects to addr ("hamburger.edu:25") and returns a client.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: dial %s: %w", addr, err)
	}
	return NewClient(conn), nil
}

// start wraps the connection for tracing and reads the greeting.
func (c *Client) start(ctx context.Context) error {
	if c.started {
		return nil
	}
	c.started = true
	c.conn = c.traced(c.raw)
	c.lr = sockets.NewLineReader(c.conn, 2048)
	c.w = bufio.NewWriterSize(c.conn, 4096)
	r, err := c.reply(ctx)
	if err != nil {
		return err
	}
	c.greeting = r
	if r.Code != 220 {
		return r
	}
	return nil
}

// traced returns conn printing the dialogue on Trace, credentials
// redacted, or conn itself if Trace is nil.
func (c *Client) traced(conn net.Conn) net.Conn {
	if c.Trace == nil {
		return conn
	}
	return sockets.TraceRedacted(conn, c.Trace, "C", "S", func(fromServer bool, line []byte) []byte {
		return c.redact.line(!fromServer, line)
	})
}

// Greeting returns the server's 220 greeting, reading it if needed.
func (c *Client) Greeting(ctx context.Context) (*Reply, error) {
	err := c.start(ctx)
	return c.greeting, err
}

// deadline sets the connection's deadline from the timeout and ctx, and
// makes ctx's cancellation interrupt the I/O (sockets.WatchContext). The
// returned func ends the watch; if ctx ended, it leaves no deadline in
// the past for the next command. (The I/O error says why: ioError.)
func (c *Client) deadline(ctx context.Context, timeout, def time.Duration) func() {
	d := time.Now().Add(orDur(timeout, def))
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	c.raw.SetDeadline(d)
	done := sockets.WatchContext(ctx, c.raw)
	return func() { done() }
}

// reply reads the reply to a command.
func (c *Client) reply(ctx context.Context) (*Reply, error) {
	return c.readReply(ctx, c.CommandTimeout, 5*time.Minute)
}

// dataReply reads the reply to a whole message.
func (c *Client) dataReply(ctx context.Context) (*Reply, error) {
	return c.readReply(ctx, c.DataTimeout, 10*time.Minute)
}

// readReply reads one (possibly multi-line) reply.
func (c *Client) readReply(ctx context.Context, timeout, def time.Duration) (*Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	defer c.deadline(ctx, timeout, def)()
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return nil, c.ioError(ctx, err)
		}
		c.RoundTrips++
	}
	r := &Reply{}
	for i := 0; ; i++ {
		if i >= 100 {
			return nil, &ProtocolError{"reply longer than 100 lines"}
		}
		line, err := c.lr.ReadLine()
		if err != nil {
			return nil, c.ioError(ctx, err)
		}
		code, more, text, err := parseReplyLine(string(line))
		if err != nil {
			return nil, err
		}
		if i > 0 && code != r.Code {
			return nil, &ProtocolError{"reply code changed within a multi-line reply"}
		}
		r.Code = code
		r.Text = append(r.Text, text)
		if !more {
			break
		}
	}
	if len(r.Text) > 0 && c.ext != nil {
		if _, ok := c.ext["ENHANCEDSTATUSCODES"]; ok {
			r.Enhanced, r.Text[0] = splitEnhanced(r.Code, r.Text[0])
			for i := 1; i < len(r.Text); i++ {
				_, r.Text[i] = splitEnhanced(r.Code, r.Text[i])
			}
		}
	}
	return r, nil
}

func (c *Client) ioError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("smtp: %w", err)
}

// cmd sends one command line and reads its reply.
func (c *Client) cmd(ctx context.Context, format string, args ...any) (*Reply, error) {
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	c.queue(format, args...)
	return c.reply(ctx)
}

// queue writes a command line into the buffer without sending it.
func (c *Client) queue(format string, args ...any) {
	fmt.Fprintf(c.w, format, args...)
	c.w.WriteString("\r\n")
}

// expect sends a command and turns a reply other than want into an error.
func (c *Client) expect(ctx context.Context, want int, format string, args ...any) error {
	r, err := c.cmd(ctx, format, args...)
	return expect(r, err, want)
}

// expect turns a reply whose code is not want into an error.
func expect(r *Reply, err error, want int) error {
	if err != nil {
		return err
	}
	if r.Code != want {
		return r
	}
	return nil
}

// Hello introduces the client with EHLO, or HELO if the server does not
// know EHLO (RFC 5321 §3.2), and learns the server's extensions.
func (c *Client) Hello(ctx context.Context) error {
	name := c.LocalName
	if name == "" {
		name = "localhost"
	}
	verb := "EHLO"
	if c.UseHELO {
		verb = "HELO"
	}
	r, err := c.cmd(ctx, "%s %s", verb, name)
	if err == nil && verb == "EHLO" && (500 <= r.Code && r.Code <= 504 || r.Code == 550) {
		// A server that does not know EHLO gets HELO.
		verb = "HELO"
		r, err = c.cmd(ctx, "HELO %s", name)
	}
	if err := expect(r, err, 250); err != nil {
		return err
	}
	c.ext = map[string]string{}
	if verb == "EHLO" {
		for _, line := range r.Text[1:] {
			k, v, _ := strings.Cut(line, " ")
			c.ext[strings.ToUpper(k)] = v
		}
	}
	c.helloed = true
	return nil
}

func (c *Client) hello(ctx context.Context) error {
	if c.helloed {
		return nil
	}
	return c.Hello(ctx)
}

// Extension reports whether the server offered an EHLO keyword, and its
// parameters ("SIZE" → "10485760").
func (c *Client) Extension(name string) (bool, string) {
	v, ok := c.ext[strings.ToUpper(name)]
	return ok, v
}

// StartTLS upgrades the connection with STARTTLS (RFC 3207) and says EHLO
// again, as the server has forgotten everything.
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	if err := c.hello(ctx); err != nil {
		return err
	}
	if err := c.expect(ctx, 220, "STARTTLS"); err != nil {
		return err
	}
	return c.upgrade(ctx, config)
}

func (c *Client) upgrade(ctx context.Context, config *tls.Config) error {
	if c.lr.Buffered() > 0 {
		return &ProtocolError{"server sent data after 220 to STARTTLS"}
	}
	tc := tls.Client(c.raw, config)
	defer c.deadline(ctx, c.CommandTimeout, 5*time.Minute)()
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("smtp: TLS handshake: %w", err)
	}
	c.conn = c.traced(tc)
	c.lr.Reset(c.conn)
	c.w.Reset(c.conn)
	c.raw = tc
	c.isTLS = true
	c.helloed = false
	c.ext = nil
	return c.Hello(ctx)
}

// Auth authenticates (RFC 4954) with PLAIN, or LOGIN if that is all the
// server offers.
func (c *Client) Auth(ctx context.Context, user, password string) error {
	if err := c.hello(ctx); err != nil {
		return err
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return errors.New("smtp: server does not offer AUTH")
	}
	mechs = " " + strings.ToUpper(mechs) + " "
	enc := base64.StdEncoding.EncodeToString
	switch {
	case strings.Contains(mechs, " PLAIN "):
		return c.expect(ctx, 235, "AUTH PLAIN %s", enc([]byte("\x00"+user+"\x00"+password)))
	case strings.Contains(mechs, " LOGIN "):
		if err := c.expect(ctx, 334, "AUTH LOGIN"); err != nil {
			return err
		}
		if err := c.expect(ctx, 334, "%s", enc([]byte(user))); err != nil {
			return err
		}
		return c.expect(ctx, 235, "%s", enc([]byte(password)))
	}
	return fmt.Errorf("smtp: no supported AUTH mechanism in %q", strings.TrimSpace(mechs))
}

// MailOptions are MAIL FROM parameters.
type MailOptions struct {
	Size     int64 // SIZE=, if the server offers SIZE and Size > 0
	Body8Bit bool  // BODY=8BITMIME
	UTF8     bool  // SMTPUTF8
}

func (c *Client) mailLine(from Path, opts *MailOptions) string {
	line := "MAIL FROM:" + from.Bracketed()
	if opts != nil {
		if ok, _ := c.Extension("SIZE"); ok && opts.Size > 0 {
			line += " SIZE=" + strconv.FormatInt(opts.Size, 10)
		}
		if ok, _ := c.Extension("8BITMIME"); ok && opts.Body8Bit {
			line += " BODY=8BITMIME"
		}
		if ok, _ := c.Extension("SMTPUTF8"); ok && opts.UTF8 {
			line += " SMTPUTF8"
		}
	}
	return line
}

// Mail starts a transaction with MAIL FROM.
func (c *Client) Mail(ctx context.Context, from Path, opts *MailOptions) error {
	if err := c.hello(ctx); err != nil {
		return err
	}
	return c.expect(ctx, 250, "%s", c.mailLine(from, opts))
}

// Rcpt names one recipient with RCPT TO.
func (c *Client) Rcpt(ctx context.Context, to Path) error {
	r, err := c.cmd(ctx, "RCPT TO:%s", to.Bracketed())
	if err != nil {
		return err
	}
	if r.Code != 250 && r.Code != 251 {
		return r
	}
	return nil
}

// Data sends DATA and returns a writer for the message: it normalises line
// endings to CRLF and dot-stuffs. Close ends the message with "." and
// returns the server's verdict.
func (c *Client) Data(ctx context.Context) (io.WriteCloser, error) {
	if err := c.expect(ctx, 354, "DATA"); err != nil {
		return nil, err
	}
	return c.newDataWriter(ctx), nil
}

// dataWriter dot-stuffs and turns bare CR and LF into CRLF.
type dataWriter struct {
	c     *Client
	ctx   context.Context
	bol   bool // at the beginning of a line
	cr    bool // the last byte was a CR
	reply *Reply
	undo  func() // ends the deadline set for sending the message
}

func (c *Client) newDataWriter(ctx context.Context) *dataWriter {
	return &dataWriter{c: c, ctx: ctx, bol: true, undo: c.deadline(ctx, c.DataTimeout, 10*time.Minute)}
}

func (d *dataWriter) Write(p []byte) (int, error) {
	w := d.c.w
	for _, b := range p {
		switch {
		case b == '\n':
			if !d.cr {
				w.WriteByte('\r')
			}
			w.WriteByte('\n')
			d.cr, d.bol = false, true
			continue
		case d.cr:
			w.WriteByte('\n') // a bare CR becomes CRLF
			d.cr, d.bol = false, true
		}
		if b == '\r' {
			w.WriteByte('\r')
			d.cr = true
			continue
		}
		if d.bol && b == '.' {
			w.WriteByte('.')
		}
		d.bol = false
		if err := w.WriteByte(b); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Close ends the message and reads the server's reply.
func (d *dataWriter) Close() error {
	r, err := d.finish()
	return expect(r, err, 250)
}

func (d *dataWriter) finish() (*Reply, error) {
	if d.undo != nil {
		d.undo()
	}
	w := d.c.w
	if d.cr {
		w.WriteByte('\n')
	} else if !d.bol {
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
	r, err := d.c.dataReply(d.ctx)
	d.reply = r
	return r, err
}

// A Result is what happened to one message sent with Send.
type Result struct {
	// Recipients holds the reply to each RCPT, in order.
	Recipients []*Reply
	// Reply is the final reply to the message (after "."), or nil if the
	// message was never sent because every recipient was refused.
	Reply *Reply
}

// Accepted reports whether the server took responsibility for the
// message for recipient i.
func (r *Result) Accepted(i int) bool {
	return r.Reply != nil && r.Reply.Code == 250 && i < len(r.Recipients) && r.Recipients[i].Code/100 == 2
}

// Send sends one message to several recipients: MAIL, RCPT for each, DATA
// and the message. If the server offers PIPELINING (RFC 2920) the
// commands go in one write and their replies come back in one round trip.
// An error is returned if the whole transaction failed (MAIL or DATA
// refused, every recipient refused, the connection broken); refusals of
// single recipients are in the Result.
func (c *Client) Send(ctx context.Context, from Path, to []Path, msg io.Reader) (*Result, error) {
	if len(to) == 0 {
		return nil, errors.New("smtp: send: no recipients")
	}
	if err := c.hello(ctx); err != nil {
		return nil, err
	}
	opts := &MailOptions{Size: sizeOf(msg)}
	res := &Result{}
	if ok, _ := c.Extension("PIPELINING"); ok {
		c.queue("%s", c.mailLine(from, opts))
		for _, t := range to {
			c.queue("RCPT TO:%s", t.Bracketed())
		}
		c.queue("DATA")
		mr, err := c.reply(ctx)
		if err != nil {
			return nil, err
		}
		for range to {
			r, err := c.reply(ctx)
			if err != nil {
				return nil, err
			}
			res.Recipients = append(res.Recipients, r)
		}
		dr, err := c.reply(ctx)
		if err != nil {
			return nil, err
		}
		if mr.Code != 250 {
			if dr.Code == 354 {
				c.abortData(ctx)
			}
			return res, mr
		}
		if dr.Code != 354 {
			c.Reset(ctx) // close the transaction the MAIL opened
			if anyAccepted(res) {
				return res, dr
			}
			return res, res.Recipients[0]
		}
		if !anyAccepted(res) {
			// RFC 2920 §3.1: the server said 354 although every
			// recipient failed; send an empty message it will refuse.
			c.abortData(ctx)
			return res, res.Recipients[0]
		}
	} else {
		if err := c.Mail(ctx, from, opts); err != nil {
			return nil, err
		}
		for _, t := range to {
			r, err := c.cmd(ctx, "RCPT TO:%s", t.Bracketed())
			if err != nil {
				return nil, err
			}
			res.Recipients = append(res.Recipients, r)
		}
		if !anyAccepted(res) {
			c.Reset(ctx)
			return res, res.Recipients[0]
		}
		if err := c.expect(ctx, 354, "DATA"); err != nil {
			return res, err
		}
	}
	dw := c.newDataWriter(ctx)
	if _, err := io.Copy(dw, msg); err != nil {
		return res, err
	}
	r, err := dw.finish()
	if err != nil {
		return res, err
	}
	res.Reply = r
	if r.Code != 250 {
		return res, r
	}
	return res, nil
}

func anyAccepted(res *Result) bool {
	for _, r := range res.Recipients {
		if r.Code/100 == 2 {
			return true
		}
	}
	return false
}

// abortData ends a DATA the client does not want to send.
func (c *Client) abortData(ctx context.Context) {
	c.queue(".")
	c.dataReply(ctx)
}

// sizeOf guesses a message's size for SIZE=, or 0.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case *bytes.Reader:
		return int64(v.Len())
	case *strings.Reader:
		return int64(v.Len())
	case *bytes.Buffer:
		return int64(v.Len())
	case *os.File:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return 0
}

// Reset aborts the current transaction (RSET).
func (c *Client) Reset(ctx context.Context) error {
	return c.expect(ctx, 250, "RSET")
}

// Noop checks the connection (NOOP).
func (c *Client) Noop(ctx context.Context) error {
	return c.expect(ctx, 250, "NOOP")
}

// Quit says QUIT, reads the 221 and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	err := c.expect(ctx, 221, "QUIT")
	c.Close()
	return err
}

// Close closes the connection without QUIT.
func (c *Client) Close() error { return c.raw.Close() }
