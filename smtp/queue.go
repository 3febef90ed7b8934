package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"appnet.dev/smtp/message"
)

// RetrySchedule is the default backoff between delivery attempts, a pure
// function of how many attempts have failed: 5 minutes after the first,
// doubling, at most an hour (Postfix's minimal_backoff_time and
// maximal_backoff_time are of this shape).
func RetrySchedule(failures int) time.Duration {
	d := 5 * time.Minute
	for i := 1; i < failures && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// A Queue is a mail server's message queue of outgoing mail (crepes.fr's
// queue in the lecture): Submit puts a message on disk, and Run (or
// RunOnce, in virtual time) delivers it to each recipient's mail server
// found by MX lookup, retrying temporary failures on a backoff schedule,
// and bouncing to the sender (an RFC 3464 delivery status notification)
// what fails permanently or for too long.
//
// Each message is two files in Dir: the message itself (msg/ID), written
// once and fsynced before Submit returns, and its state (state/ID: the
// envelope and each recipient's progress), replaced atomically after each
// attempt. A queue opened again on the same Dir carries on where it
// stopped: nothing accepted is lost, and a message is delivered twice at
// most if the process dies between a server's 250 and the state update
// (at-least-once, as every MTA).
type Queue struct {
	Dir      string   // the spool directory
	Hostname string   // this server's name: EHLO, Reporting-MTA, bounces' From
	Resolver Resolver // MX lookup; required to deliver
	// Port is the SMTP port of mail exchangers; default 25.
	Port int
	// Dial opens connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSConfig, if set, is used for STARTTLS when a server offers it.
	TLSConfig *tls.Config
	// UseHELO makes deliveries say HELO instead of EHLO, as the
	// lecture's sample interaction does (no pipelining, no STARTTLS).
	UseHELO bool

	// Backoff gives the wait after the n-th failed attempt; nil means
	// RetrySchedule.
	Backoff func(failures int) time.Duration
	// Lifetime is how long a message may stay queued before it bounces;
	// default 5 days. WarnAfter, if positive, sends the sender a "delayed"
	// notice once a message has waited that long (default 4 hours; a
	// negative value turns warnings off).
	Lifetime  time.Duration
	WarnAfter time.Duration
	// Now is the clock; nil means time.Now. Tests pass a virtual clock.
	Now func() time.Time

	// Trace prints every delivery's dialogue; ErrorLog receives delivery
	// errors. Both may be nil.
	Trace    io.Writer
	ErrorLog *log.Logger

	mu     sync.Mutex // serialises RunOnce and Submit's state writes
	kick   chan struct{}
	opened bool
}

// Recipient states.
const (
	RcptPending   = "pending"
	RcptDelivered = "delivered"
	RcptFailed    = "failed"
)

// A QueuedRecipient is one recipient's progress.
type QueuedRecipient struct {
	Path       Path
	Status     string // RcptPending, RcptDelivered or RcptFailed
	LastReply  string `json:",omitempty"` // the last server reply or error
	RemoteMTA  string `json:",omitempty"`
	Attempts   int
	Notified   bool      // a bounce has been sent for this failure
	LastChange time.Time // when Status last changed
}

// A QueuedMessage is the state of one queued message.
type QueuedMessage struct {
	ID          string
	From        Path
	Recipients  []QueuedRecipient
	Arrival     time.Time
	NextAttempt time.Time
	Failures    int  // attempts that left recipients pending
	Warned      bool // the "delayed" notice went out
}

func (q *Queue) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

func (q *Queue) lifetime() time.Duration { return orDur(q.Lifetime, 5*24*time.Hour) }

func (q *Queue) warnAfter() time.Duration {
	if q.WarnAfter < 0 {
		return 0
	}
	return orDur(q.WarnAfter, 4*time.Hour)
}

func (q *Queue) backoff(n int) time.Duration {
	if q.Backoff != nil {
		return q.Backoff(n)
	}
	return RetrySchedule(n)
}

func (q *Queue) logf(format string, args ...any) {
	if q.ErrorLog != nil {
		q.ErrorLog.Printf(format, args...)
	}
}

// open creates the directories and removes what a crash left half done:
// message files without a state file were never acknowledged.
func (q *Queue) open() error {
	if q.opened {
		return nil
	}
	for _, d := range []string{"msg", "state", "tmp"} {
		if err := os.MkdirAll(filepath.Join(q.Dir, d), 0o700); err != nil {
			return err
		}
	}
	tmps, _ := os.ReadDir(filepath.Join(q.Dir, "tmp"))
	for _, e := range tmps {
		os.Remove(filepath.Join(q.Dir, "tmp", e.Name()))
	}
	msgs, _ := os.ReadDir(filepath.Join(q.Dir, "msg"))
	for _, e := range msgs {
		if _, err := os.Stat(filepath.Join(q.Dir, "state", e.Name())); errors.Is(err, os.ErrNotExist) {
			os.Remove(filepath.Join(q.Dir, "msg", e.Name()))
		}
	}
	if q.kick == nil {
		q.kick = make(chan struct{}, 1)
	}
	q.opened = true
	return nil
}

// writeFileSync writes data to dir/name through tmp/, with fsyncs, so the
// file appears whole or not at all.
func (q *Queue) writeFileSync(dir, name string, data []byte) error {
	tmp := filepath.Join(q.Dir, "tmp", name+"."+dir)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(q.Dir, dir, name))
	}
	if err == nil {
		err = syncDir(filepath.Join(q.Dir, dir))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func newQueueID(now time.Time) string {
	var r [6]byte
	rand.Read(r[:])
	return strconv.FormatInt(now.UnixNano(), 36) + hex.EncodeToString(r[:])
}

// Submit queues a message for delivery and returns its id once it is
// durably on disk. The message is read whole from msg.
func (q *Queue) Submit(ctx context.Context, from Path, to []Path, msg io.Reader) (string, error) {
	data, err := io.ReadAll(msg)
	if err != nil {
		return "", fmt.Errorf("smtp: queue: reading message: %w", err)
	}
	return q.submit(from, to, data)
}

func (q *Queue) submit(from Path, to []Path, data []byte) (string, error) {
	if len(to) == 0 {
		return "", errors.New("smtp: queue: no recipients")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.open(); err != nil {
		return "", err
	}
	now := q.now()
	m := &QueuedMessage{ID: newQueueID(now), From: from, Arrival: now, NextAttempt: now}
	for _, t := range to {
		m.Recipients = append(m.Recipients, QueuedRecipient{Path: t, Status: RcptPending, LastChange: now})
	}
	if err := q.writeFileSync("msg", m.ID, data); err != nil {
		return "", fmt.Errorf("smtp: queue: %w", err)
	}
	if err := q.saveState(m); err != nil {
		os.Remove(filepath.Join(q.Dir, "msg", m.ID))
		return "", fmt.Errorf("smtp: queue: %w", err)
	}
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return m.ID, nil
}

func (q *Queue) saveState(m *QueuedMessage) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return q.writeFileSync("state", m.ID, b)
}

// Deliver makes the queue a Backend: a server for crepes.fr that accepts
// Alice's submission (AUTH, relaying) puts it in the queue, and answers
// 250 once it is on disk.
func (q *Queue) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	_, err := q.Submit(ctx, env.From, env.To, msg)
	return err
}

// Messages lists the queued messages (like mailq), oldest first.
func (q *Queue) Messages() ([]*QueuedMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.open(); err != nil {
		return nil, err
	}
	return q.load()
}

func (q *Queue) load() ([]*QueuedMessage, error) {
	entries, err := os.ReadDir(filepath.Join(q.Dir, "state"))
	if err != nil {
		return nil, err
	}
	var out []*QueuedMessage
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(q.Dir, "state", e.Name()))
		if err != nil {
			return nil, err
		}
		m := &QueuedMessage{}
		if err := json.Unmarshal(b, m); err != nil {
			q.logf("smtp: queue: corrupt state %s: %v", e.Name(), err)
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Arrival.Before(out[j].Arrival) })
	return out, nil
}

// Run delivers queued messages as they fall due, until ctx is done. It
// waits on the real clock; tests in virtual time call RunOnce instead.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	err := q.open()
	kick := q.kick
	q.mu.Unlock()
	if err != nil {
		return err
	}
	for {
		next, err := q.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			q.logf("smtp: queue: %v", err)
		}
		wait := time.Minute
		if !next.IsZero() {
			wait = max(next.Sub(q.now()), 10*time.Millisecond)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce makes one attempt at every message due now and returns when the
// next one falls due (zero if the queue is empty).
func (q *Queue) RunOnce(ctx context.Context) (next time.Time, err error) {
	q.mu.Lock()
	if err := q.open(); err != nil {
		q.mu.Unlock()
		return time.Time{}, err
	}
	msgs, err := q.load()
	q.mu.Unlock()
	if err != nil {
		return time.Time{}, err
	}
	for _, m := range msgs {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		if !m.NextAttempt.After(q.now()) {
			if err := q.attempt(ctx, m); err != nil {
				return time.Time{}, err
			}
		}
	}
	// Look again: attempts may have queued notices.
	q.mu.Lock()
	msgs, err = q.load()
	q.mu.Unlock()
	for _, m := range msgs {
		if next.IsZero() || m.NextAttempt.Before(next) {
			next = m.NextAttempt
		}
	}
	return next, err
}

func (q *Queue) finished(m *QueuedMessage) bool {
	for _, r := range m.Recipients {
		if r.Status == RcptPending {
			return false
		}
	}
	return true
}

// attempt tries every pending recipient of m once, grouped by domain,
// then records the outcome, sends notices, and removes m when done.
func (q *Queue) attempt(ctx context.Context, m *QueuedMessage) error {
	data, err := os.ReadFile(filepath.Join(q.Dir, "msg", m.ID))
	if err != nil {
		return fmt.Errorf("smtp: queue: message %s: %w", m.ID, err)
	}
	now := q.now()
	byDomain := map[string][]int{}
	var domains []string
	for i, r := range m.Recipients {
		if r.Status != RcptPending {
			continue
		}
		d := strings.ToLower(r.Path.Domain)
		if _, ok := byDomain[d]; !ok {
			domains = append(domains, d)
		}
		byDomain[d] = append(byDomain[d], i)
	}
	for _, d := range domains {
		q.deliverDomain(ctx, m, d, byDomain[d], data)
	}
	pending := !q.finished(m)
	if pending {
		m.Failures++
		m.NextAttempt = now.Add(q.backoff(m.Failures))
		if now.Sub(m.Arrival) >= q.lifetime() {
			for i := range m.Recipients {
				r := &m.Recipients[i]
				if r.Status == RcptPending {
					r.Status = RcptFailed
					r.LastChange = now
					r.LastReply = "4.4.7 delivery time expired; last error: " + r.LastReply
				}
			}
		} else if w := q.warnAfter(); w > 0 && !m.Warned && now.Sub(m.Arrival) >= w && !m.From.IsNull() {
			if err := q.notify(m, data, "delayed"); err != nil {
				return err
			}
			m.Warned = true
		}
	}
	// Bounce the failures not yet reported.
	var newFail bool
	for _, r := range m.Recipients {
		if r.Status == RcptFailed && !r.Notified {
			newFail = true
		}
	}
	if newFail {
		if !m.From.IsNull() {
			if err := q.notify(m, data, "failed"); err != nil {
				return err
			}
		}
		for i := range m.Recipients {
			if m.Recipients[i].Status == RcptFailed {
				m.Recipients[i].Notified = true
			}
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.finished(m) {
		if err := os.Remove(filepath.Join(q.Dir, "state", m.ID)); err != nil {
			return err
		}
		os.Remove(filepath.Join(q.Dir, "msg", m.ID))
		return syncDir(filepath.Join(q.Dir, "state"))
	}
	return q.saveState(m)
}

// deliverDomain tries domain's mail hosts in order for the recipients
// idx of m.
func (q *Queue) deliverDomain(ctx context.Context, m *QueuedMessage, domain string, idx []int, data []byte) {
	now := q.now()
	setAll := func(status, reply, mta string) {
		for _, i := range idx {
			r := &m.Recipients[i]
			if r.Status != RcptPending {
				continue
			}
			r.Attempts++
			r.LastReply, r.RemoteMTA = reply, mta
			if status != RcptPending {
				r.Status, r.LastChange = status, now
			}
		}
	}
	if q.Resolver == nil {
		setAll(RcptPending, "4.4.3 no resolver configured", "")
		return
	}
	mxs, err := q.Resolver.LookupMX(ctx, domain)
	if err != nil {
		if errors.Is(err, ErrNoSuchDomain) {
			setAll(RcptFailed, "5.1.2 "+err.Error(), "")
		} else {
			setAll(RcptPending, "4.4.3 "+err.Error(), "")
		}
		return
	}
	hosts, ok := MailHosts(domain, mxs)
	if !ok {
		setAll(RcptFailed, "556 5.1.10 "+domain+" accepts no mail (null MX)", "")
		return
	}
	to := make([]Path, len(idx))
	for k, i := range idx {
		to[k] = m.Recipients[i].Path
	}
	lastErr := "4.4.1 no mail host answered"
	for _, host := range hosts {
		res, err := q.sendTo(ctx, host, m.From, to, data)
		if res == nil && err != nil {
			// Connection-level failure: try the next host.
			lastErr = "4.4.1 " + host + ": " + err.Error()
			continue
		}
		var rep *Reply
		if err != nil && !errors.As(err, &rep) {
			lastErr = "4.4.2 " + host + ": " + err.Error()
			continue
		}
		if res.Reply == nil && rep != nil && rep.Temporary() && len(res.Recipients) == 0 {
			lastErr = rep.String()
			continue
		}
		// The server answered: record each recipient's verdict.
		for k, i := range idx {
			r := &m.Recipients[i]
			r.Attempts++
			r.RemoteMTA = host
			var verdict *Reply
			switch {
			case k < len(res.Recipients) && res.Recipients[k].Code/100 != 2:
				verdict = res.Recipients[k]
			case res.Reply != nil:
				verdict = res.Reply
			case rep != nil:
				verdict = rep
			default:
				verdict = &Reply{Code: 451, Text: []string{"no reply"}}
			}
			r.LastReply = verdict.String()
			switch {
			case verdict.Code/100 == 2:
				r.Status, r.LastChange = RcptDelivered, now
			case verdict.Permanent():
				r.Status, r.LastChange = RcptFailed, now
			}
		}
		return
	}
	setAll(RcptPending, lastErr, "")
}

// sendTo delivers to one host. A nil Result with an error means the host
// could not be reached or the session failed before MAIL.
func (q *Queue) sendTo(ctx context.Context, host string, from Path, to []Path, data []byte) (*Result, error) {
	addrs, err := q.Resolver.LookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no address for %s", host)
	}
	port := q.Port
	if port == 0 {
		port = 25
	}
	dial := q.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	var conn net.Conn
	for _, a := range addrs {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, err = dial(dctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		cancel()
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	c := NewClient(conn)
	c.LocalName = q.Hostname
	c.Trace = q.Trace
	c.UseHELO = q.UseHELO
	defer c.Close()
	if err := c.Hello(ctx); err != nil {
		return nil, err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && q.TLSConfig != nil {
		if err := c.StartTLS(ctx, q.TLSConfig); err != nil {
			return nil, err
		}
	}
	res, err := c.Send(ctx, from, to, bytes.NewReader(data))
	if err == nil || res != nil {
		c.Quit(ctx)
	}
	if res == nil && err != nil {
		var rep *Reply
		if errors.As(err, &rep) {
			// MAIL refused: a reply about the whole message.
			return &Result{}, err
		}
	}
	return res, err
}

// notify queues a delivery status notification (RFC 3464) about m to its
// sender: action "failed" for the recipients that failed and were not yet
// reported, or "delayed" for those still pending.
func (q *Queue) notify(m *QueuedMessage, original []byte, action string) error {
	now := q.now()
	host := q.Hostname
	if host == "" {
		host = "localhost"
	}
	var human, status strings.Builder
	fmt.Fprintf(&status, "Reporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", host, message.FormatDate(m.Arrival))
	if action == "failed" {
		fmt.Fprintf(&human, "This is the mail system at host %s.\r\n\r\nI'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n", host)
	} else {
		fmt.Fprintf(&human, "This is the mail system at host %s.\r\n\r\nYour message could not be delivered for %s.\r\nIt will be retried until it is %s old.\r\n\r\n", host, now.Sub(m.Arrival).Round(time.Minute), q.lifetime())
	}
	for _, r := range m.Recipients {
		if action == "failed" && (r.Status != RcptFailed || r.Notified) || action == "delayed" && r.Status != RcptPending {
			continue
		}
		fmt.Fprintf(&human, "<%s>: %s\r\n", r.Path, r.LastReply)
		code := dsnStatus(r.LastReply, action)
		fmt.Fprintf(&status, "\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n", r.Path, action, code)
		if r.RemoteMTA != "" {
			fmt.Fprintf(&status, "Remote-MTA: dns; %s\r\n", r.RemoteMTA)
		}
		if r.LastReply != "" {
			fmt.Fprintf(&status, "Diagnostic-Code: smtp; %s\r\n", oneLine(r.LastReply))
		}
		fmt.Fprintf(&status, "Last-Attempt-Date: %s\r\n", message.FormatDate(now))
		if action == "delayed" {
			fmt.Fprintf(&status, "Will-Retry-Until: %s\r\n", message.FormatDate(m.Arrival.Add(q.lifetime())))
		}
	}
	report := &message.Message{}
	report.Header.Add("From", "Mail Delivery System <MAILER-DAEMON@"+host+">")
	report.Header.Add("To", m.From.Bracketed())
	subject := "Undelivered Mail Returned to Sender"
	if action == "delayed" {
		subject = "Delayed Mail (still being retried)"
	}
	report.Header.Add("Subject", subject)
	report.Header.Add("Date", message.FormatDate(now))
	report.Header.Add("Message-ID", message.NewMessageID(now, host))
	report.Header.Add("Auto-Submitted", "auto-replied")
	report.Header.Add("MIME-Version", "1.0")
	report.Header.Add("Content-Type", "multipart/report; report-type=delivery-status")
	text := &message.Message{Body: []byte(human.String())}
	text.Header.Add("Content-Type", "text/plain; charset=us-ascii")
	ds := &message.Message{Body: []byte(status.String())}
	ds.Header.Add("Content-Type", "message/delivery-status")
	ds.Header.Add("Content-Transfer-Encoding", "7bit")
	hdr := original
	if root, err := message.Parse(original); err == nil {
		hdr = root.HeaderBytes(original)
	}
	orig := &message.Message{Body: hdr}
	orig.Header.Add("Content-Type", "text/rfc822-headers")
	orig.Header.Add("Content-Transfer-Encoding", "8bit")
	report.Parts = []*message.Message{text, ds, orig}
	// The notice itself comes from the null path, so it never bounces.
	_, err := q.submitLocked(Path{}, []Path{m.From}, report.Bytes())
	return err
}

// submitLocked is submit for use from attempt (which does not hold q.mu).
func (q *Queue) submitLocked(from Path, to []Path, data []byte) (string, error) {
	return q.submit(from, to, data)
}

// dsnStatus picks the RFC 3463 status for a report from the last reply.
func dsnStatus(reply, action string) string {
	for _, f := range strings.Fields(reply) {
		parts := strings.Split(f, ".")
		if len(parts) == 3 && len(f) >= 5 && (f[0] == '4' || f[0] == '5') {
			if action == "failed" && f[0] == '4' {
				return "5" + f[1:] // a temporary error that expired
			}
			return f
		}
	}
	if action == "delayed" {
		return "4.0.0"
	}
	return "5.0.0"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
