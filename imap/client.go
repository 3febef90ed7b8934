package imap

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"appnet.dev/sockets"
)

// An Update is an unsolicited change the server reported: a new message
// count (EXISTS), a message gone (EXPUNGE, with its sequence number), or
// new flags (FETCH).
type Update struct {
	Kind  string // "EXISTS", "EXPUNGE", "RECENT" or "FETCH"
	Num   uint32 // the count, or the message's sequence number
	Flags []string
}

// A Client is an IMAP client: the reading side of Bob's user agent. Its
// methods may be called from one goroutine at a time; each takes a context
// that bounds it.
type Client struct {
	// Trace, if set before the first call, receives the dialogue
	// ("C: a1 LOGIN bob <redacted>", "S: a1 OK ..."): the password is
	// never printed, whether it goes as an atom, a quoted string or a
	// literal. Clients running at the same time that share a Trace need
	// one safe for concurrent use (os.Stdout, a sockets.SyncWriter).
	Trace io.Writer
	// Updates, if set, receives the unsolicited updates of every command.
	Updates func(Update)
	// CommandTimeout bounds the wait for each response of a command, the
	// greeting and the TLS handshake (default 5 minutes), so that a server
	// gone silent cannot hang a call whose context has no deadline. A
	// context's deadline, if sooner, wins.
	CommandTimeout time.Duration

	raw     net.Conn
	conn    net.Conn
	r       *reader
	w       *bufio.Writer
	started bool
	tagNum  int
	caps    map[string]bool
	greet   *StatusResponse
	broken  error // set when the dialogue is out of step: every call fails
	mu      sync.Mutex
	redact  authRedactor // keeps the password out of Trace, before and after STARTTLS
}

// NewClient returns a client on an established connection; the greeting is
// read by the first call.
func NewClient(conn net.Conn) *Client {
	return &Client{raw: conn}
}

// Dial connects to an IMAP server at addr. The greeting is read by the
// first call, so Trace may still be set.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewClient(conn), nil
}

// Close closes the connection without LOGOUT.
func (c *Client) Close() error { return c.raw.Close() }

func (c *Client) start(ctx context.Context) error {
	if c.started {
		return nil
	}
	c.started = true
	c.setConn(c.raw)
	defer c.watch(ctx)()
	c.extend(ctx)
	resp, err := c.r.readResponse(nil)
	if err != nil {
		return fmt.Errorf("imap: greeting: %w", err)
	}
	if resp.status == nil || resp.status.Type == "BYE" {
		return fmt.Errorf("imap: greeting refused: %v", resp.status)
	}
	c.greet = resp.status
	c.noteCaps(resp.status.Code)
	return nil
}

// The client holds at most clientMaxLiteral bytes of one literal, and
// clientMaxResponse bytes of one response, in memory (bodies streamed to
// FetchOptions.Body do not count).
const (
	clientMaxLiteral  = 256 << 20
	clientMaxResponse = clientMaxLiteral + 1<<20
)

func (c *Client) setConn(raw net.Conn) {
	c.raw = raw
	c.conn = raw
	if c.Trace != nil {
		c.conn = sockets.TraceRedacted(raw, c.Trace, "C", "S", c.redactLine)
	}
	c.r = newReader(bufio.NewReaderSize(c.conn, 32<<10))
	c.r.maxLit = clientMaxLiteral
	c.r.maxTotal = clientMaxResponse
	c.w = bufio.NewWriterSize(c.conn, 16<<10)
}

func (c *Client) commandTimeout() time.Duration { return durationOr(c.CommandTimeout, 5*time.Minute) }

// watch binds ctx to the connection for one command: ctx's end interrupts
// it. The returned function ends the binding.
func (c *Client) watch(ctx context.Context) func() {
	done := sockets.WatchContext(ctx, c.conn)
	return func() { done() }
}

// extend gives the next response CommandTimeout to arrive, or less if
// ctx's deadline is sooner. If ctx has ended already, the deadline goes to
// the past again, so that a cancel racing with the move is not lost.
func (c *Client) extend(ctx context.Context) {
	d := time.Now().Add(c.commandTimeout())
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	c.conn.SetDeadline(d)
	if ctx.Err() != nil {
		c.conn.SetDeadline(time.Now())
	}
}

// ctxErr says why a command failed: the context's end if it ended, since
// the connection then reports only a timeout.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && err != nil {
		return fmt.Errorf("imap: %w (%v)", cerr, err)
	}
	return err
}

func (c *Client) noteCaps(code string) {
	if rest, ok := strings.CutPrefix(strings.ToUpper(code), "CAPABILITY "); ok {
		c.caps = map[string]bool{}
		for _, f := range strings.Fields(rest) {
			c.caps[f] = true
		}
	}
}

// Has reports whether the server announced a capability: in the greeting
// (read by the first command, not by Dial), at Login, or in answer to
// Capability.
func (c *Client) Has(capability string) bool { return c.caps[strings.ToUpper(capability)] }

// arg is a piece of a command: text, or a literal.
type arg struct {
	text    string
	literal io.Reader
	size    int64
}

// quote returns s as an IMAP astring argument.
func quote(s string) arg {
	if needsLiteral(s) {
		return arg{literal: strings.NewReader(s), size: int64(len(s))}
	}
	return arg{text: string(appendAString(nil, s))}
}

func raw(s string) arg { return arg{text: s} }

// handler sees every untagged response of a command; unhandled EXISTS,
// EXPUNGE and FETCH go to Updates.
type handler func(r *response) error

// do runs one command and returns its tagged status; NO and BAD are
// returned as *StatusResponse errors.
func (c *Client) do(ctx context.Context, name string, args []arg, h handler, body func(*FetchMessage, string, io.Reader) error) (*StatusResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, c.broken
	}
	if err := c.start(ctx); err != nil {
		c.breakOn(err)
		return nil, ctxErr(ctx, err)
	}
	defer c.watch(ctx)()
	c.extend(ctx)
	st, err := c.run(ctx, name, args, h, body)
	c.breakOn(err)
	return st, ctxErr(ctx, err)
}

// breakOn marks the connection unusable after an error that may have left
// a command half sent or a response half read (a timeout, a cancelled
// context, a broken or malformed stream): the next command would be out of
// step with the server. NO and BAD answers leave it usable.
func (c *Client) breakOn(err error) {
	var st *StatusResponse
	if err == nil || (errors.As(err, &st) && st.Type != "BYE") {
		return
	}
	c.broken = fmt.Errorf("imap: connection unusable after an earlier error: %w", err)
}

func (c *Client) run(ctx context.Context, name string, args []arg, h handler, body func(*FetchMessage, string, io.Reader) error) (*StatusResponse, error) {
	c.tagNum++
	tag := "a" + strconv.Itoa(c.tagNum)
	c.w.WriteString(tag)
	c.w.WriteString(" ")
	c.w.WriteString(name)
	for _, a := range args {
		c.w.WriteByte(' ')
		if a.literal == nil {
			c.w.WriteString(a.text)
			continue
		}
		nonSync := a.size <= maxNonSync && (c.Has("LITERAL-") || c.Has("LITERAL+"))
		if nonSync {
			fmt.Fprintf(c.w, "{%d+}\r\n", a.size)
		} else {
			fmt.Fprintf(c.w, "{%d}\r\n", a.size)
			if err := c.w.Flush(); err != nil {
				return nil, err
			}
			if st, err := c.waitContinuation(ctx, tag, h); err != nil || st.Tag != "+" {
				return st, err
			}
		}
		if _, err := io.CopyN(c.w, a.literal, a.size); err != nil {
			return nil, fmt.Errorf("imap: literal: %w", err)
		}
	}
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	for {
		c.extend(ctx)
		resp, err := c.r.readResponse(body)
		if err != nil {
			return nil, err
		}
		if resp.tag == tag {
			c.noteCaps(resp.status.Code)
			if resp.status.Type != "OK" {
				return resp.status, resp.status
			}
			return resp.status, nil
		}
		if err := c.untagged(resp, h); err != nil {
			return nil, err
		}
	}
}

// waitContinuation waits for "+" after a synchronising literal and
// returns it (Tag "+"): the command goes on. A tagged answer instead
// (NO [TOOBIG]) ends the command and is returned, with itself as the error
// unless it is OK.
func (c *Client) waitContinuation(ctx context.Context, tag string, h handler) (*StatusResponse, error) {
	for {
		c.extend(ctx)
		resp, err := c.r.readResponse(nil)
		if err != nil {
			return nil, err
		}
		switch resp.tag {
		case "+":
			return resp.status, nil
		case tag:
			if resp.status.Type == "OK" {
				return resp.status, nil
			}
			return resp.status, resp.status
		}
		if err := c.untagged(resp, h); err != nil {
			return nil, err
		}
	}
}

func (c *Client) untagged(resp *response, h handler) error {
	if resp.status != nil {
		if resp.status.Type == "BYE" {
			if h != nil && h(resp) == nil {
				return nil
			}
			return resp.status
		}
		c.noteCaps(resp.status.Code)
	}
	if resp.name == "CAPABILITY" {
		c.caps = map[string]bool{}
		for _, f := range resp.fields {
			c.caps[strings.ToUpper(str(f))] = true
		}
	}
	if h != nil {
		if err := h(resp); err != errUnhandled {
			return err
		}
	}
	if c.Updates != nil {
		switch resp.name {
		case "EXISTS", "EXPUNGE", "RECENT":
			c.Updates(Update{Kind: resp.name, Num: resp.num})
		case "FETCH":
			c.Updates(Update{Kind: "FETCH", Num: resp.num, Flags: resp.fetch.Flags})
		}
	}
	return nil
}

var errUnhandled = errors.New("unhandled")

// Capability asks for the server's capabilities.
func (c *Client) Capability(ctx context.Context) ([]string, error) {
	if _, err := c.do(ctx, "CAPABILITY", nil, nil, nil); err != nil {
		return nil, err
	}
	var out []string
	for k := range c.caps {
		out = append(out, k)
	}
	return out, nil
}

// StartTLS upgrades the connection to TLS (RFC 3501 §6.2.1); the
// capabilities are asked for again, since they may change.
func (c *Client) StartTLS(ctx context.Context, config *tls.Config) error {
	if _, err := c.do(ctx, "STARTTLS", nil, nil, nil); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r.br.Buffered() > 0 {
		return errors.New("imap: server sent data after STARTTLS")
	}
	tc := tls.Client(c.raw, config)
	c.raw.SetDeadline(time.Now().Add(c.commandTimeout()))
	err := tc.HandshakeContext(ctx)
	c.raw.SetDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("imap: STARTTLS: %w", err)
	}
	c.setConn(tc)
	c.caps = nil
	c.mu.Unlock()
	_, err = c.Capability(ctx)
	c.mu.Lock()
	return err
}

// Noop does nothing but collect updates.
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.do(ctx, "NOOP", nil, nil, nil)
	return err
}

// Login logs in with a name and password.
func (c *Client) Login(ctx context.Context, user, password string) error {
	_, err := c.do(ctx, "LOGIN", []arg{quote(user), quote(password)}, nil, nil)
	return err
}

// Logout ends the session and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, "LOGOUT", nil, func(r *response) error {
		if r.status != nil && r.status.Type == "BYE" {
			return nil
		}
		return errUnhandled
	}, nil)
	c.raw.Close()
	return err
}

// A MailboxInfo is one line of LIST: a mailbox's attributes, hierarchy
// delimiter and name (modified UTF-7 as on the wire; see
// DecodeMailboxName).
type MailboxInfo struct {
	Attrs []string
	Delim string
	Name  string
}

// List lists the mailboxes matching pattern ("*" for all).
func (c *Client) List(ctx context.Context, ref, pattern string) ([]MailboxInfo, error) {
	return c.list(ctx, "LIST", ref, pattern)
}

// Lsub lists the subscribed mailboxes matching pattern.
func (c *Client) Lsub(ctx context.Context, ref, pattern string) ([]MailboxInfo, error) {
	return c.list(ctx, "LSUB", ref, pattern)
}

func (c *Client) list(ctx context.Context, cmd, ref, pattern string) ([]MailboxInfo, error) {
	var out []MailboxInfo
	_, err := c.do(ctx, cmd, []arg{quote(ref), quote(pattern)}, func(r *response) error {
		if r.name != cmd || len(r.fields) < 3 {
			return errUnhandled
		}
		info := MailboxInfo{Delim: str(r.fields[1]), Name: str(r.fields[2])}
		attrs, _ := r.fields[0].([]any)
		for _, a := range attrs {
			info.Attrs = append(info.Attrs, str(a))
		}
		out = append(out, info)
		return nil
	}, nil)
	return out, err
}

// A MailboxStatus is what SELECT, EXAMINE or STATUS tell of a mailbox.
type MailboxStatus struct {
	Name        string
	ReadOnly    bool
	Flags       []string
	Messages    uint32
	Recent      uint32
	Unseen      uint32 // STATUS: how many; SELECT: the first unseen's number
	UIDValidity uint32
	UIDNext     uint32
}

// Select opens a mailbox (EXAMINE if readOnly).
func (c *Client) Select(ctx context.Context, name string, readOnly bool) (*MailboxStatus, error) {
	cmd := "SELECT"
	if readOnly {
		cmd = "EXAMINE"
	}
	st := &MailboxStatus{Name: name, ReadOnly: readOnly}
	code := func(code string) {
		f := strings.Fields(code)
		if len(f) < 2 {
			return
		}
		n, _ := strconv.ParseUint(f[1], 10, 32)
		switch strings.ToUpper(f[0]) {
		case "UIDVALIDITY":
			st.UIDValidity = uint32(n)
		case "UIDNEXT":
			st.UIDNext = uint32(n)
		case "UNSEEN":
			st.Unseen = uint32(n)
		}
	}
	done, err := c.do(ctx, cmd, []arg{quote(name)}, func(r *response) error {
		switch {
		case r.name == "EXISTS":
			st.Messages = r.num
		case r.name == "RECENT":
			st.Recent = r.num
		case r.name == "FLAGS" && len(r.fields) > 0:
			l, _ := r.fields[0].([]any)
			for _, f := range l {
				st.Flags = append(st.Flags, str(f))
			}
		case r.status != nil:
			code(r.status.Code)
		default:
			return errUnhandled
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(done.Code, "READ-ONLY") {
		st.ReadOnly = true
	}
	return st, nil
}

// Status asks for a mailbox's counters without selecting it.
func (c *Client) Status(ctx context.Context, name string) (*MailboxStatus, error) {
	st := &MailboxStatus{Name: name}
	_, err := c.do(ctx, "STATUS", []arg{quote(name), raw("(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)")}, func(r *response) error {
		if r.name != "STATUS" || len(r.fields) < 2 {
			return errUnhandled
		}
		l, _ := r.fields[1].([]any)
		for i := 0; i+1 < len(l); i += 2 {
			n, _ := atomNumber(l[i+1])
			switch strings.ToUpper(str(l[i])) {
			case "MESSAGES":
				st.Messages = uint32(n)
			case "RECENT":
				st.Recent = uint32(n)
			case "UIDNEXT":
				st.UIDNext = uint32(n)
			case "UIDVALIDITY":
				st.UIDValidity = uint32(n)
			case "UNSEEN":
				st.Unseen = uint32(n)
			}
		}
		return nil
	}, nil)
	return st, err
}

// Create, Delete, Rename, Subscribe and Unsubscribe manage mailboxes.
func (c *Client) Create(ctx context.Context, name string) error {
	_, err := c.do(ctx, "CREATE", []arg{quote(name)}, nil, nil)
	return err
}

// Delete deletes a mailbox.
func (c *Client) Delete(ctx context.Context, name string) error {
	_, err := c.do(ctx, "DELETE", []arg{quote(name)}, nil, nil)
	return err
}

// Rename renames a mailbox.
func (c *Client) Rename(ctx context.Context, from, to string) error {
	_, err := c.do(ctx, "RENAME", []arg{quote(from), quote(to)}, nil, nil)
	return err
}

// Subscribe adds a mailbox to the subscriptions.
func (c *Client) Subscribe(ctx context.Context, name string) error {
	_, err := c.do(ctx, "SUBSCRIBE", []arg{quote(name)}, nil, nil)
	return err
}

// Unsubscribe removes a mailbox from the subscriptions.
func (c *Client) Unsubscribe(ctx context.Context, name string) error {
	_, err := c.do(ctx, "UNSUBSCRIBE", []arg{quote(name)}, nil, nil)
	return err
}

func uidPrefix(uid bool, cmd string) string {
	if uid {
		return "UID " + cmd
	}
	return cmd
}

// FetchOptions says what Fetch asks for.
type FetchOptions struct {
	UID   bool     // set holds UIDs (UID FETCH)
	Items []string // data items: "FLAGS", "ENVELOPE", "BODY.PEEK[TEXT]"...
	// Body, if set, streams each BODY[...] or BINARY[...] section from
	// the connection instead of holding it in memory; it must not keep
	// r after it returns.
	Body func(m *FetchMessage, section string, r io.Reader) error
}

// Fetch fetches data about the messages in set and calls fn for each
// (with the data of one FETCH response; a server may send several for one
// message).
func (c *Client) Fetch(ctx context.Context, set SeqSet, opt FetchOptions, fn func(*FetchMessage) error) error {
	items := "(" + strings.Join(opt.Items, " ") + ")"
	var fnErr error
	_, err := c.do(ctx, uidPrefix(opt.UID, "FETCH"), []arg{raw(set.String()), raw(items)}, func(r *response) error {
		if r.name != "FETCH" {
			return errUnhandled
		}
		if opt.UID && r.fetch.UID == 0 {
			return errUnhandled // an unsolicited flag change
		}
		if fnErr == nil {
			fnErr = fn(r.fetch)
		}
		return nil
	}, opt.Body)
	if err != nil {
		return err
	}
	return fnErr
}

// Store changes flags: op is "FLAGS", "+FLAGS" or "-FLAGS" (".SILENT"
// may be added). It returns the new flags by sequence number.
func (c *Client) Store(ctx context.Context, set SeqSet, uid bool, op string, flags []string) (map[uint32][]string, error) {
	out := map[uint32][]string{}
	_, err := c.do(ctx, uidPrefix(uid, "STORE"), []arg{raw(set.String()), raw(op), raw("(" + strings.Join(flags, " ") + ")")}, func(r *response) error {
		if r.name != "FETCH" {
			return errUnhandled
		}
		out[r.num] = r.fetch.Flags
		return nil
	}, nil)
	return out, err
}

// Search returns the numbers (UIDs if uid) of the messages matching
// criteria, written in IMAP's syntax ("UNSEEN FROM alice").
func (c *Client) Search(ctx context.Context, uid bool, criteria string) ([]uint32, error) {
	var out []uint32
	_, err := c.do(ctx, uidPrefix(uid, "SEARCH"), []arg{raw(criteria)}, func(r *response) error {
		if r.name != "SEARCH" {
			return errUnhandled
		}
		for _, f := range r.fields {
			n, err := atomNumber(f)
			if err != nil {
				return err
			}
			out = append(out, uint32(n))
		}
		return nil
	}, nil)
	return out, err
}

// Append stores a message of size bytes read from r in mailbox, with flags
// and an internal date (zero: now), and returns its UID if the server
// tells it (UIDPLUS).
func (c *Client) Append(ctx context.Context, mailbox string, flags []string, date time.Time, r io.Reader, size int64) (uint32, error) {
	args := []arg{quote(mailbox)}
	if len(flags) > 0 {
		args = append(args, raw("("+strings.Join(flags, " ")+")"))
	}
	if !date.IsZero() {
		args = append(args, raw(`"`+date.Format(dateTimeLayout)+`"`))
	}
	args = append(args, arg{literal: r, size: size})
	st, err := c.do(ctx, "APPEND", args, nil, nil)
	if err != nil {
		return 0, err
	}
	return codeUID(st.Code, "APPENDUID", 2), nil
}

func codeUID(code, name string, field int) uint32 {
	f := strings.Fields(code)
	if len(f) <= field || !strings.EqualFold(f[0], name) {
		return 0
	}
	n, _ := strconv.ParseUint(f[field], 10, 32)
	return uint32(n)
}

// Copy copies messages to another mailbox.
func (c *Client) Copy(ctx context.Context, set SeqSet, uid bool, dest string) error {
	_, err := c.do(ctx, uidPrefix(uid, "COPY"), []arg{raw(set.String()), quote(dest)}, nil, nil)
	return err
}

// Move moves messages to another mailbox (RFC 6851); their EXPUNGE
// responses go to Updates.
func (c *Client) Move(ctx context.Context, set SeqSet, uid bool, dest string) error {
	_, err := c.do(ctx, uidPrefix(uid, "MOVE"), []arg{raw(set.String()), quote(dest)}, nil, nil)
	return err
}

// Expunge removes the messages marked \Deleted and returns the sequence
// numbers the server reported, in order.
func (c *Client) Expunge(ctx context.Context) ([]uint32, error) {
	var out []uint32
	_, err := c.do(ctx, "EXPUNGE", nil, func(r *response) error {
		if r.name != "EXPUNGE" {
			return errUnhandled
		}
		out = append(out, r.num)
		return nil
	}, nil)
	return out, err
}

// CloseMailbox closes the selected mailbox (CLOSE, which expunges).
func (c *Client) CloseMailbox(ctx context.Context) error {
	_, err := c.do(ctx, "CLOSE", nil, nil, nil)
	return err
}

// Unselect closes the selected mailbox without expunging.
func (c *Client) Unselect(ctx context.Context) error {
	_, err := c.do(ctx, "UNSELECT", nil, nil, nil)
	return err
}

// Idle waits for the server to report changes (RFC 2177) and passes each to
// fn, until ctx is done or fn returns false; it then ends the IDLE with
// DONE. It returns nil when it ended that way.
func (c *Client) Idle(ctx context.Context, fn func(Update) bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	err := c.idle(ctx, fn)
	c.breakOn(err)
	return err
}

func (c *Client) idle(ctx context.Context, fn func(Update) bool) error {
	if err := c.start(ctx); err != nil {
		return err
	}
	c.tagNum++
	tag := "a" + strconv.Itoa(c.tagNum)
	c.conn.SetDeadline(time.Now().Add(time.Minute))
	fmt.Fprintf(c.w, "%s IDLE\r\n", tag)
	if err := c.w.Flush(); err != nil {
		return err
	}
	if st, err := c.waitContinuation(ctx, tag, nil); err != nil || st.Tag != "+" {
		return err
	}
	sendDone := func() error {
		c.conn.SetDeadline(time.Now().Add(time.Minute))
		c.w.WriteString("DONE\r\n")
		return c.w.Flush()
	}
	running := true
	for {
		if running {
			// Wait for a response in short slices, so that ctx is noticed
			// without cutting a response in half.
			if err := ctx.Err(); err != nil {
				running = false
				if err := sendDone(); err != nil {
					return err
				}
				continue
			}
			c.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.r.br.Peek(1); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return err
			}
			c.conn.SetReadDeadline(time.Now().Add(time.Minute))
		}
		resp, err := c.r.readResponse(nil)
		if err != nil {
			return err
		}
		if resp.tag == tag {
			if resp.status.Type != "OK" {
				return resp.status
			}
			return nil
		}
		var u *Update
		switch resp.name {
		case "EXISTS", "EXPUNGE", "RECENT":
			u = &Update{Kind: resp.name, Num: resp.num}
		case "FETCH":
			u = &Update{Kind: "FETCH", Num: resp.num, Flags: resp.fetch.Flags}
		case "BYE":
			return resp.status
		}
		if u != nil && running && !fn(*u) {
			running = false
			if err := sendDone(); err != nil {
				return err
			}
		}
	}
}
