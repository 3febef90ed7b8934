package smtp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowResolver answers from a StaticResolver, except for the domains in
// slow: there LookupMX reports on entered and waits until release is
// closed (or its context ends), then fails temporarily. It is a
// destination that hangs, without a sleep.
type slowResolver struct {
	*StaticResolver
	slow    map[string]bool
	entered chan string
	release chan struct{}

	mu        sync.Mutex
	now, peak int // concurrent slow lookups
}

func (r *slowResolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	if !r.slow[domain] {
		return r.StaticResolver.LookupMX(ctx, domain)
	}
	r.mu.Lock()
	r.now++
	r.peak = max(r.peak, r.now)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.now--
		r.mu.Unlock()
	}()
	r.entered <- domain
	select {
	case <-r.release:
	case <-ctx.Done():
	}
	return nil, errors.New("name server timed out")
}

func (r *slowResolver) LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return r.StaticResolver.LookupHost(ctx, host)
}

func slowWorld(t *testing.T, slow ...string) (*world, *slowResolver) {
	w := newWorld(t, nil)
	sr := &slowResolver{
		StaticResolver: w.queue.Resolver.(*StaticResolver),
		slow:           map[string]bool{},
		entered:        make(chan string, len(slow)),
		release:        make(chan struct{}),
	}
	for _, d := range slow {
		sr.slow[d] = true
	}
	w.queue.Resolver = sr
	return w, sr
}

// TestQueueSlowDomain: a destination that hangs does not delay the mail
// for another one, in the same message or in another.
func TestQueueSlowDomain(t *testing.T) {
	w, sr := slowWorld(t, "slow.example")
	w.submit(t, "carol@slow.example", "bob@hamburger.edu")
	w.submit(t, "bob@hamburger.edu")
	done := make(chan time.Time, 1)
	go func() { done <- w.run(t) }()
	<-sr.entered
	// slow.example is stuck; both messages still reach Bob.
	if _, err := w.bob.Wait(testCtx(t), 2); err != nil {
		t.Fatalf("Bob got %d messages while slow.example hung: %v", len(w.bob.Messages()), err)
	}
	close(sr.release)
	if next := <-done; next.IsZero() {
		t.Error("queue empty: carol's delivery was not kept for a retry")
	}
	left, err := w.queue.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || len(left[0].Recipients) != 2 {
		t.Fatalf("left in the queue: %+v", left)
	}
	for _, r := range left[0].Recipients {
		want := RcptDelivered
		if r.Path.Domain == "slow.example" {
			want = RcptPending
		}
		if r.Status != want {
			t.Errorf("%s: %s (%s), want %s", r.Path, r.Status, r.LastReply, want)
		}
	}
}

// TestQueueSlowDomainFlood: mail piling up for one slow domain takes at
// most half the workers, so the other domains' mail still goes out.
func TestQueueSlowDomainFlood(t *testing.T) {
	w, sr := slowWorld(t, "slow.example")
	sr.entered = make(chan string, 4)
	w.queue.Workers = 4
	for range 4 {
		w.submit(t, "carol@slow.example")
	}
	w.submit(t, "bob@hamburger.edu")
	done := make(chan time.Time, 1)
	go func() { done <- w.run(t) }()
	<-sr.entered
	<-sr.entered
	if _, err := w.bob.Wait(testCtx(t), 1); err != nil {
		t.Fatalf("Bob's mail waited behind slow.example's: %v", err)
	}
	close(sr.release)
	for range 2 {
		<-sr.entered
	}
	<-done
	if sr.peak > 2 {
		t.Errorf("%d deliveries at once to slow.example with Workers = 4", sr.peak)
	}
	if left, _ := w.queue.Messages(); len(left) != 4 {
		t.Errorf("%d messages left, want slow.example's 4", len(left))
	}
}

// TestQueueWorkers: no more than Workers deliveries run at once.
func TestQueueWorkers(t *testing.T) {
	domains := []string{"a.example", "b.example", "c.example", "d.example"}
	w, sr := slowWorld(t, domains...)
	w.queue.Workers = 2
	var to []string
	for _, d := range domains {
		to = append(to, "carol@"+d)
	}
	w.submit(t, to...)
	done := make(chan time.Time, 1)
	go func() { done <- w.run(t) }()
	seen := map[string]bool{}
	for range 2 {
		seen[<-sr.entered] = true
	}
	close(sr.release) // the other two now enter and return at once
	for range 2 {
		seen[<-sr.entered] = true
	}
	<-done
	if len(seen) != len(domains) {
		t.Errorf("looked up %v", seen)
	}
	if sr.peak > 2 {
		t.Errorf("%d deliveries at once with Workers = 2", sr.peak)
	}
	left, _ := w.queue.Messages()
	if len(left) != 1 {
		t.Fatalf("%d messages left", len(left))
	}
	for _, r := range left[0].Recipients {
		if r.Status != RcptPending || !strings.Contains(r.LastReply, "timed out") {
			t.Errorf("%s: %s %s", r.Path, r.Status, r.LastReply)
		}
	}
}

// TestQueueStep: the state machine after an attempt, a pure function of
// the message, the time and the policy.
func TestQueueStep(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	q := &Queue{WarnAfter: 4 * time.Hour}
	alice := Path{Local: "alice", Domain: "crepes.fr"}
	rcpt := func(status RcptStatus, notified bool) QueuedRecipient {
		return QueuedRecipient{Path: Path{Local: "bob", Domain: "hamburger.edu"}, Status: status, Notified: notified, LastReply: "451 4.3.0 try later"}
	}
	tests := []struct {
		name         string
		from         Path
		age          time.Duration
		failures     int
		warned       bool
		rcpts        []QueuedRecipient
		warn, bounce int // how many recipients each notice names
		next         time.Duration
		status       []RcptStatus
	}{
		{"young, pending", alice, time.Minute, 0, false, []QueuedRecipient{rcpt(RcptPending, false)}, 0, 0, 5 * time.Minute, []RcptStatus{RcptPending}},
		{"third failure", alice, time.Hour, 2, false, []QueuedRecipient{rcpt(RcptPending, false)}, 0, 0, 20 * time.Minute, []RcptStatus{RcptPending}},
		{"delayed", alice, 5 * time.Hour, 5, false, []QueuedRecipient{rcpt(RcptPending, false), rcpt(RcptDelivered, false)}, 1, 0, time.Hour, []RcptStatus{RcptPending, RcptDelivered}},
		{"delayed, warned before", alice, 6 * time.Hour, 6, true, []QueuedRecipient{rcpt(RcptPending, false)}, 0, 0, time.Hour, []RcptStatus{RcptPending}},
		{"delayed, null sender", Path{}, 5 * time.Hour, 5, false, []QueuedRecipient{rcpt(RcptPending, false)}, 0, 0, time.Hour, []RcptStatus{RcptPending}},
		{"expired", alice, 5 * 24 * time.Hour, 100, true, []QueuedRecipient{rcpt(RcptPending, false), rcpt(RcptPending, false)}, 0, 2, time.Hour, []RcptStatus{RcptFailed, RcptFailed}},
		{"failed now", alice, time.Minute, 0, false, []QueuedRecipient{rcpt(RcptFailed, false), rcpt(RcptDelivered, false)}, 0, 1, 0, []RcptStatus{RcptFailed, RcptDelivered}},
		{"failed, reported", alice, time.Minute, 0, false, []QueuedRecipient{rcpt(RcptFailed, true), rcpt(RcptPending, false)}, 0, 0, 5 * time.Minute, []RcptStatus{RcptFailed, RcptPending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.age)
			m := &QueuedMessage{From: tt.from, Arrival: t0, NextAttempt: now, Failures: tt.failures, Warned: tt.warned, Recipients: tt.rcpts}
			warn, bounce := q.step(m, now)
			if len(warn) != tt.warn || len(bounce) != tt.bounce {
				t.Errorf("warn %v bounce %v, want %d and %d recipients", warn, bounce, tt.warn, tt.bounce)
			}
			if tt.next > 0 && m.NextAttempt != now.Add(tt.next) {
				t.Errorf("next attempt in %v, want %v", m.NextAttempt.Sub(now), tt.next)
			}
			for i, r := range m.Recipients {
				if r.Status != tt.status[i] {
					t.Errorf("recipient %d: %s, want %s", i, r.Status, tt.status[i])
				}
				if r.Status == RcptFailed && !r.Notified {
					t.Errorf("recipient %d failed and not marked as reported", i)
				}
			}
			if tt.warn > 0 && !m.Warned {
				t.Error("warned but not marked")
			}
		})
	}
}
