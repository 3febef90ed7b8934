package smtp

import (
	"appnet.dev/sockets"
	"bytes"
	"container/heap"
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
// Deliveries run concurrently, at most Workers at a time, and at most
// half of them to any one domain. A message's recipients are grouped by
// destination domain and each domain is a delivery of its own, so a slow
// or dead mail server holds up only the mail for its domain, however
// much of it is queued.
//
// Each message is two files in Dir: the message itself (msg/ID), written
// once and fsynced before Submit returns, and its state (state/ID: the
// envelope and each recipient's progress), replaced atomically after each
// attempt. The state files are read once, when the queue opens, into an
// index in memory ordered by next attempt (a heap), kept current as they
// are written: a wake-up (each Submit, each finished attempt) looks at the
// messages falling due, not at the disk. A queue opened again on the same Dir carries on where it
// stopped: nothing accepted is lost, and a message is delivered twice at
// most if the process dies between a server's 250 and the state update
// (at-least-once, as every MTA).
//
// Set the fields before the first call; they must not change after.
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
	// Workers bounds the deliveries in progress at once, each one
	// connection to a mail server; default 16. One destination domain
	// gets at most half of them (at least one), as Postfix's
	// destination concurrency limit does.
	Workers int

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
	// errors. Both may be nil. Deliveries run at once, so their lines
	// are written under one lock (Trace need not be safe for concurrent
	// use), and AUTH credentials show as <redacted>.
	Trace    io.Writer
	ErrorLog *log.Logger

	traceOnce sync.Once
	trace     *sockets.SyncWriter // Trace, shared by every delivery (traceWriter)

	mu       sync.Mutex              // guards the fields below and the state files
	opened   bool                    // open has run
	kick     chan struct{}           // wakes Run: a message was queued or finished
	conns    chan struct{}           // a token per delivery in progress
	domains  map[string]*destination // the domains being delivered to
	inflight map[string]bool         // the ids of the messages being attempted
	// states is the queue's index: each queued message's state as last
	// saved to disk, read from the state files once, when the queue
	// opens, and kept current by saveState and forget. due orders the
	// messages not being attempted by their next attempt, earliest
	// first, so a wake-up looks only at what falls due, not at the disk.
	states map[string]*QueuedMessage
	due    dueHeap
	// stateReads counts the state files read (tests check that the
	// queue reads each one once, at open, however often it wakes).
	stateReads int
}

// A dueEntry is a message waiting for its next attempt.
type dueEntry struct {
	id   string
	next time.Time
}

// A dueHeap is a min-heap of messages by next attempt (container/heap).
type dueHeap []dueEntry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueEntry)) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// clone returns a copy of m that shares nothing mutable with it.
func (m *QueuedMessage) clone() *QueuedMessage {
	c := *m
	c.Recipients = append([]QueuedRecipient(nil), m.Recipients...)
	return &c
}

// A destination is a domain deliveries are waiting for or running to.
type destination struct {
	slots chan struct{} // a token per delivery in progress to the domain
	users int           // deliveries holding or waiting for a slot
}

// A RcptStatus is where a queued recipient is: pending until a server
// takes the message (delivered) or refuses it for good, or it has waited
// past the queue's lifetime (failed). Only step and record change it.
type RcptStatus string

// Recipient states.
const (
	RcptPending   RcptStatus = "pending"
	RcptDelivered RcptStatus = "delivered"
	RcptFailed    RcptStatus = "failed"
)

func (s RcptStatus) String() string { return string(s) }

// A QueuedRecipient is one recipient's progress.
type QueuedRecipient struct {
	Path       Path
	Status     RcptStatus
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

// open creates the directories, removes what a crash left half done
// (message files without a state file were never acknowledged), and
// builds the index from the state files, the only time it reads them.
// q.mu is held.
// traceWriter is Trace wrapped once, so that concurrent deliveries take
// turns line by line instead of each holding a lock of its own.
func (q *Queue) traceWriter() *sockets.SyncWriter {
	q.traceOnce.Do(func() { q.trace = sockets.NewSyncWriter(q.Trace) })
	return q.trace
}

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
	states, err := os.ReadDir(filepath.Join(q.Dir, "state"))
	if err != nil {
		return err
	}
	q.states = map[string]*QueuedMessage{}
	q.due = nil
	for _, e := range states {
		m, ok, err := q.loadOne(e.Name())
		if err != nil {
			return err
		}
		if ok {
			q.states[m.ID] = m
			q.due = append(q.due, dueEntry{m.ID, m.NextAttempt})
		}
	}
	heap.Init(&q.due)
	q.kick = make(chan struct{}, 1)
	q.conns = make(chan struct{}, orInt(q.Workers, 16))
	q.domains = map[string]*destination{}
	q.inflight = map[string]bool{}
	q.opened = true
	return nil
}

// wake tells Run to look at the queue again.
func (q *Queue) wake() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// writeFileSync copies r to dir/name through tmp/, with fsyncs, so the
// file appears whole or not at all.
func (q *Queue) writeFileSync(dir, name string, r io.Reader) error {
	tmp := filepath.Join(q.Dir, "tmp", name+"."+dir)
	err := writeSynced(tmp, r, os.O_TRUNC)
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
// durably on disk. The message is streamed from msg to the spool file,
// never held in memory.
func (q *Queue) Submit(ctx context.Context, from Path, to []Path, msg io.Reader) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(to) == 0 {
		return "", errors.New("smtp: queue: no recipients")
	}
	q.mu.Lock()
	err := q.open()
	q.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("smtp: queue: %w", err)
	}
	now := q.now()
	m := &QueuedMessage{ID: newQueueID(now), From: from, Arrival: now, NextAttempt: now}
	for _, t := range to {
		m.Recipients = append(m.Recipients, QueuedRecipient{Path: t, Status: RcptPending, LastChange: now})
	}
	// The message file needs no lock: its name is new, and open (the
	// only other writer of msg/) removes it only if it has no state.
	if err := q.writeFileSync("msg", m.ID, msg); err != nil {
		return "", fmt.Errorf("smtp: queue: writing message: %w", err)
	}
	q.mu.Lock()
	err = q.saveState(m)
	if err == nil {
		heap.Push(&q.due, dueEntry{m.ID, m.NextAttempt})
	}
	q.mu.Unlock()
	if err != nil {
		os.Remove(filepath.Join(q.Dir, "msg", m.ID))
		return "", fmt.Errorf("smtp: queue: %w", err)
	}
	q.wake()
	return m.ID, nil
}

// saveState writes m's state file and, once it is on disk, the index's
// copy of it; q.mu is held.
func (q *Queue) saveState(m *QueuedMessage) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := q.writeFileSync("state", m.ID, bytes.NewReader(b)); err != nil {
		return err
	}
	q.states[m.ID] = m.clone()
	return nil
}

// Deliver makes the queue a Backend: a server for crepes.fr that accepts
// Alice's submission (AUTH, relaying) puts it in the queue, and answers
// 250 once it is on disk.
func (q *Queue) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	_, err := q.Submit(ctx, env.From, env.To, msg)
	return err
}

// Relays implements Relayer: the queue delivers to any domain's mail
// exchanger.
func (q *Queue) Relays(string) bool { return true }

// Messages lists the queued messages (like mailq), oldest first, as
// their state files last recorded them.
func (q *Queue) Messages() ([]*QueuedMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.open(); err != nil {
		return nil, err
	}
	out := make([]*QueuedMessage, 0, len(q.states))
	for _, m := range q.states {
		out = append(out, m.clone())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Arrival.Equal(out[j].Arrival) {
			return out[i].Arrival.Before(out[j].Arrival)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// loadOne reads the state of message id; ok is false if the message is
// no longer queued, or its state is corrupt (that is logged). Only open
// calls it; q.mu is held.
func (q *Queue) loadOne(id string) (m *QueuedMessage, ok bool, err error) {
	q.stateReads++
	b, err := os.ReadFile(filepath.Join(q.Dir, "state", id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	m = &QueuedMessage{}
	if err := json.Unmarshal(b, m); err != nil {
		q.logf("smtp: queue: corrupt state %s: %v", id, err)
		return nil, false, nil
	}
	return m, true, nil
}

// Run delivers queued messages as they fall due, until ctx is done; then
// it waits for the deliveries in progress to stop. It waits on the real
// clock; tests in virtual time call RunOnce instead.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	err := q.open()
	q.mu.Unlock()
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	report := func(err error) {
		if ctx.Err() == nil {
			q.logf("smtp: queue: %v", err)
		}
	}
	for {
		next, err := q.dispatch(ctx, &wg, report, true)
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
		case <-q.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunOnce makes one attempt at every message due now, concurrently, and
// returns when they are done and when the next one falls due (zero if
// the queue is empty).
func (q *Queue) RunOnce(ctx context.Context) (next time.Time, err error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	report := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	_, err = q.dispatch(ctx, &wg, report, false)
	wg.Wait()
	if err == nil {
		err = first
	}
	if err != nil {
		return time.Time{}, err
	}
	// The earliest message now, which may be a notice an attempt queued.
	q.mu.Lock()
	if len(q.due) > 0 {
		next = q.due[0].next
	}
	q.mu.Unlock()
	return next, nil
}

// dispatch starts an attempt at messages due now, earliest first, each in
// a goroutine counted in wg; errors of the attempts go to report. With
// bounded set it claims no more messages than there are free Workers
// (the attempts that finish wake Run for the rest); RunOnce claims every
// message due. (Each attempt waits for its workers in enter.) It returns
// when the earliest message not due yet falls due, or zero if there is
// none or the workers are all busy.
func (q *Queue) dispatch(ctx context.Context, wg *sync.WaitGroup, report func(error), bounded bool) (next time.Time, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.open(); err != nil {
		return time.Time{}, err
	}
	now := q.now()
	for len(q.due) > 0 {
		if err := ctx.Err(); err != nil {
			return time.Time{}, err
		}
		if q.due[0].next.After(now) {
			return q.due[0].next, nil
		}
		if bounded && len(q.inflight) >= cap(q.conns) {
			return time.Time{}, nil
		}
		e := heap.Pop(&q.due).(dueEntry)
		s, ok := q.states[e.id]
		if !ok || q.inflight[e.id] {
			continue // removed or being attempted: a stale entry
		}
		q.inflight[e.id] = true
		m := s.clone()
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := q.attempt(ctx, m)
			q.mu.Lock()
			delete(q.inflight, m.ID)
			if s, ok := q.states[m.ID]; ok {
				heap.Push(&q.due, dueEntry{m.ID, s.NextAttempt})
			}
			q.mu.Unlock()
			q.wake()
			if err != nil {
				report(err)
			}
		}()
	}
	return time.Time{}, nil
}

// enter waits for a worker free to deliver to domain: one of Workers,
// and one of the domain's half of them. It returns the func that frees
// them, or false if ctx ended first.
func (q *Queue) enter(ctx context.Context, domain string) (leave func(), ok bool) {
	q.mu.Lock()
	d := q.domains[domain]
	if d == nil {
		d = &destination{slots: make(chan struct{}, max(1, cap(q.conns)/2))}
		q.domains[domain] = d
	}
	d.users++
	q.mu.Unlock()
	forget := func() {
		q.mu.Lock()
		if d.users--; d.users == 0 {
			delete(q.domains, domain)
		}
		q.mu.Unlock()
	}
	// The domain's slot first: deliveries waiting for a busy domain
	// hold none of the workers others could use.
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		forget()
		return nil, false
	}
	select {
	case q.conns <- struct{}{}:
	case <-ctx.Done():
		<-d.slots
		forget()
		return nil, false
	}
	return func() {
		<-q.conns
		<-d.slots
		forget()
	}, true
}

// A domainGroup is the pending recipients of a message at one domain,
// delivered together in one SMTP transaction.
type domainGroup struct {
	domain string
	idx    []int // indexes into QueuedMessage.Recipients
}

// pendingByDomain groups m's pending recipients by domain, in the order
// the domains first appear.
func pendingByDomain(m *QueuedMessage) []domainGroup {
	var groups []domainGroup
	at := map[string]int{}
	for i, r := range m.Recipients {
		if r.Status != RcptPending {
			continue
		}
		d := strings.ToLower(r.Path.Domain)
		k, ok := at[d]
		if !ok {
			k = len(groups)
			at[d] = k
			groups = append(groups, domainGroup{domain: d})
		}
		groups[k].idx = append(groups[k].idx, i)
	}
	return groups
}

// An outcome is what one delivery attempt says about one recipient.
type outcome struct {
	status RcptStatus // RcptPending (try again), RcptDelivered or RcptFailed
	reply  string     // the server's reply, or why there was none
	mta    string     // the host that answered, if one did
}

// record applies an attempt's outcome to a recipient.
func (r *QueuedRecipient) record(o outcome, now time.Time) {
	r.Attempts++
	r.LastReply, r.RemoteMTA = o.reply, o.mta
	if o.status != RcptPending {
		r.Status, r.LastChange = o.status, now
	}
}

func finished(m *QueuedMessage) bool {
	for _, r := range m.Recipients {
		if r.Status == RcptPending {
			return false
		}
	}
	return true
}

// step is the queue's state machine for a message after an attempt has
// been recorded in it: a pure function of the message, the time and the
// queue's policy (Backoff, Lifetime, WarnAfter). It schedules the next
// attempt, expires recipients pending past the lifetime, and returns the
// recipients to name in a "delayed" notice (at most once per message, never
// for the null sender) and in a bounce (each failure once), marking them
// as reported.
func (q *Queue) step(m *QueuedMessage, now time.Time) (warn, bounce []int) {
	if !finished(m) {
		m.Failures++
		m.NextAttempt = now.Add(q.backoff(m.Failures))
		age := now.Sub(m.Arrival)
		switch w := q.warnAfter(); {
		case age >= q.lifetime():
			for i := range m.Recipients {
				r := &m.Recipients[i]
				if r.Status == RcptPending {
					r.Status, r.LastChange = RcptFailed, now
					r.LastReply = "4.4.7 delivery time expired; last error: " + r.LastReply
				}
			}
		case w > 0 && !m.Warned && age >= w && !m.From.IsNull():
			for i, r := range m.Recipients {
				if r.Status == RcptPending {
					warn = append(warn, i)
				}
			}
			m.Warned = true
		}
	}
	for i := range m.Recipients {
		if r := &m.Recipients[i]; r.Status == RcptFailed && !r.Notified {
			bounce = append(bounce, i)
			r.Notified = true
		}
	}
	return warn, bounce
}

// attempt tries every pending recipient of m once, one delivery per
// domain, concurrently; then it records the outcome, sends notices, and
// removes m when done. If ctx ends during the attempt, only what is final
// (delivered, failed) is recorded.
func (q *Queue) attempt(ctx context.Context, m *QueuedMessage) error {
	file := filepath.Join(q.Dir, "msg", m.ID)
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("smtp: queue: message %s: %w", m.ID, err)
	}
	groups := pendingByDomain(m)
	outcomes := make([][]outcome, len(groups))
	var wg sync.WaitGroup
	for k, g := range groups {
		to := make([]Path, len(g.idx))
		for j, i := range g.idx {
			to[j] = m.Recipients[i].Path
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[k] = q.deliverDomain(ctx, m.From, g.domain, to, file)
		}()
	}
	wg.Wait()
	now := q.now()
	cancelled := ctx.Err() != nil
	for k, g := range groups {
		for j, i := range g.idx {
			if o := outcomes[k][j]; !cancelled || o.status != RcptPending {
				m.Recipients[i].record(o, now)
			}
		}
	}
	if cancelled {
		q.mu.Lock()
		defer q.mu.Unlock()
		if err := q.saveState(m); err != nil {
			return err
		}
		return ctx.Err()
	}
	warn, bounce := q.step(m, now)
	if len(warn) > 0 {
		if err := q.notify(ctx, m, file, "delayed", warn); err != nil {
			return err
		}
	}
	if len(bounce) > 0 && !m.From.IsNull() {
		if err := q.notify(ctx, m, file, "failed", bounce); err != nil {
			return err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if finished(m) {
		if err := os.Remove(filepath.Join(q.Dir, "state", m.ID)); err != nil {
			return err
		}
		delete(q.states, m.ID)
		os.Remove(file)
		return syncDir(filepath.Join(q.Dir, "state"))
	}
	return q.saveState(m)
}

// deliverDomain delivers the message in file to the recipients to, all
// at domain, trying domain's mail hosts in order, and returns each
// recipient's outcome. It holds one of the Workers while it runs.
func (q *Queue) deliverDomain(ctx context.Context, from Path, domain string, to []Path, file string) []outcome {
	all := func(o outcome) []outcome {
		out := make([]outcome, len(to))
		for i := range out {
			out[i] = o
		}
		return out
	}
	leave, ok := q.enter(ctx, domain)
	if !ok {
		return all(outcome{RcptPending, "4.4.1 " + ctx.Err().Error(), ""})
	}
	defer leave()
	if q.Resolver == nil {
		return all(outcome{RcptPending, "4.4.3 no resolver configured", ""})
	}
	mxs, err := q.Resolver.LookupMX(ctx, domain)
	if err != nil {
		if errors.Is(err, ErrNoSuchDomain) {
			return all(outcome{RcptFailed, "5.1.2 " + err.Error(), ""})
		}
		return all(outcome{RcptPending, "4.4.3 " + err.Error(), ""})
	}
	hosts, ok := MailHosts(domain, mxs)
	if !ok {
		return all(outcome{RcptFailed, "556 5.1.10 " + domain + " accepts no mail (null MX)", ""})
	}
	lastErr := "4.4.1 no mail host answered"
	for _, host := range hosts {
		res, err := q.sendTo(ctx, host, from, to, file)
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
		// The server answered: each recipient's verdict is its RCPT
		// reply if that refused it, else the reply to the message.
		out := make([]outcome, len(to))
		for k := range to {
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
			out[k] = outcome{RcptPending, verdict.String(), host}
			switch {
			case verdict.Code/100 == 2:
				out[k].status = RcptDelivered
			case verdict.Permanent():
				out[k].status = RcptFailed
			}
		}
		return out
	}
	return all(outcome{RcptPending, lastErr, ""})
}

// sendTo delivers the message in file to one host. A nil Result with an
// error means the host could not be reached or the session failed before
// MAIL.
func (q *Queue) sendTo(ctx context.Context, host string, from Path, to []Path, file string) (*Result, error) {
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
	if q.Trace != nil {
		c.Trace = q.traceWriter()
	}
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
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := c.Send(ctx, from, to, f)
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

// notify queues a delivery status notification (RFC 3464) about the
// recipients idx of m, to its sender: action "failed" or "delayed". The
// report quotes the header of the original message, in file.
func (q *Queue) notify(ctx context.Context, m *QueuedMessage, file, action string, idx []int) error {
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
	for _, i := range idx {
		r := m.Recipients[i]
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
	hdr, err := originalHeader(file)
	if err != nil {
		return fmt.Errorf("smtp: queue: reading %s: %w", m.ID, err)
	}
	orig := &message.Message{Body: hdr}
	orig.Header.Add("Content-Type", "text/rfc822-headers")
	orig.Header.Add("Content-Transfer-Encoding", "8bit")
	report.Parts = []*message.Message{text, ds, orig}
	// The notice itself comes from the null path, so it never bounces.
	_, err = q.Submit(ctx, Path{}, []Path{m.From}, bytes.NewReader(report.Bytes()))
	return err
}

// originalHeader reads the header of the message in file. The parser
// bounds the header it holds (64 KiB), so it is given no more than that
// and a little of the body.
func originalHeader(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	root, err := (&message.Parser{}).Parse(io.LimitReader(f, 80<<10))
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, root.HeaderSize)
	_, err = f.ReadAt(hdr, root.HeaderOffset)
	return hdr, err
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
