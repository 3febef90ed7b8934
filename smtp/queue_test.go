package smtp

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/smtp/message"
	"appnet.dev/sockets"
	"appnet.dev/sockets/sockettest"
)

func TestRetrySchedule(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{1, 5 * time.Minute}, {2, 10 * time.Minute}, {3, 20 * time.Minute},
		{4, 40 * time.Minute}, {5, time.Hour}, {50, time.Hour},
	} {
		if got := RetrySchedule(tc.n); got != tc.want {
			t.Errorf("RetrySchedule(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestMailHosts(t *testing.T) {
	for _, tc := range []struct {
		mx   []MX
		want string
		ok   bool
	}{
		{nil, "hamburger.edu", true},
		{[]MX{{"b.hamburger.edu.", 20}, {"a.hamburger.edu.", 10}}, "a.hamburger.edu b.hamburger.edu", true},
		{[]MX{{"x", 10}, {"y", 10}, {"z", 5}}, "z x y", true},
		{[]MX{{".", 0}}, "", false},
	} {
		hosts, ok := MailHosts("hamburger.edu", tc.mx)
		if strings.Join(hosts, " ") != tc.want || ok != tc.ok {
			t.Errorf("MailHosts(%v) = %v %v", tc.mx, hosts, ok)
		}
	}
}

// clock is a virtual clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// world is crepes.fr's queue and hamburger.edu's server, with a DNS of
// maps: hamburger.edu's first MX is dead (127.0.0.2, nothing listens),
// the second is the server. crepes.fr's own server takes bounces.
type world struct {
	clock  *clock
	queue  *Queue
	bob    *MemoryBackend
	alice  *MemoryBackend
	bobSrv *Server
}

func newWorld(t *testing.T, bobBackend Backend, mods ...func(*Server)) *world {
	t.Helper()
	w := &world{clock: &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}, bob: &MemoryBackend{}, alice: &MemoryBackend{}}
	if bobBackend == nil {
		bobBackend = w.bob
	}
	// Both servers share one port number on different loopback
	// addresses? Not portable; instead both listen on 127.0.0.1 and the
	// Dial hook routes by the host the queue looked up.
	w.bobSrv = &Server{Domain: "hamburger.edu", Backend: bobBackend, Now: w.clock.Now}
	for _, m := range mods {
		m(w.bobSrv)
	}
	bobAddr := startServer(t, w.bobSrv)
	aliceAddr := startServer(t, &Server{Domain: "crepes.fr", Backend: w.alice})
	route := map[string]string{"127.0.0.10:25": bobAddr, "127.0.0.11:25": aliceAddr, "127.0.0.12:25": "127.0.0.1:1"}
	w.queue = &Queue{
		Dir:      t.TempDir(),
		Hostname: "crepes.fr",
		Now:      w.clock.Now,
		Resolver: &StaticResolver{
			MX: map[string][]MX{
				"hamburger.edu": {{"mx2.hamburger.edu.", 20}, {"mx1.hamburger.edu.", 10}},
				"crepes.fr":     {{"mail.crepes.fr.", 10}},
			},
			Hosts: map[string][]netip.Addr{
				"mx1.hamburger.edu": {netip.MustParseAddr("127.0.0.12")},
				"mx2.hamburger.edu": {netip.MustParseAddr("127.0.0.10")},
				"mail.crepes.fr":    {netip.MustParseAddr("127.0.0.11")},
			},
		},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, route[addr])
		},
	}
	return w
}

const aliceMsg = "From: alice@crepes.fr\r\nTo: bob@hamburger.edu\r\nSubject: ketchup\r\n\r\nDo you like ketchup?\r\n"

func (w *world) submit(t *testing.T, to ...string) string {
	t.Helper()
	var paths []Path
	for _, s := range to {
		paths = append(paths, mustPath(t, s))
	}
	id, err := w.queue.Submit(context.Background(), mustPath(t, "alice@crepes.fr"), paths, strings.NewReader(aliceMsg))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *world) run(t *testing.T) time.Time {
	t.Helper()
	next, err := w.queue.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return next
}

func TestQueueDelivers(t *testing.T) {
	w := newWorld(t, nil)
	w.submit(t, "bob@hamburger.edu", "carol@hamburger.edu")
	if next := w.run(t); !next.IsZero() {
		t.Errorf("queue not empty: next %v", next)
	}
	msgs := w.bob.Messages()
	if len(msgs) != 1 || len(msgs[0].Envelope.To) != 2 || !strings.HasSuffix(string(msgs[0].Data), aliceMsg) {
		t.Fatalf("bob got %+v", msgs)
	}
	if left, _ := w.queue.Messages(); len(left) != 0 {
		t.Errorf("%d messages left", len(left))
	}
}

// TestQueueRetries: temporary failures are retried on the schedule, in
// virtual time, and a warning goes out after WarnAfter.
func TestQueueRetries(t *testing.T) {
	var mu sync.Mutex
	fails := 3
	backend := BackendFunc(func(ctx context.Context, env *Envelope, msg io.Reader) error {
		io.Copy(io.Discard, msg)
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return &Reply{Code: 451, Enhanced: "4.3.0", Text: []string{"try later"}}
		}
		return nil
	})
	w := newWorld(t, backend)
	w.queue.WarnAfter = 10 * time.Minute
	w.submit(t, "bob@hamburger.edu")
	start := w.clock.Now()
	var waits []time.Duration
	for i := 0; i < 10; i++ {
		next := w.run(t)
		if next.IsZero() {
			break
		}
		if d := next.Sub(w.clock.Now()); d > 0 {
			waits = append(waits, d)
			w.clock.Advance(d)
		}
	}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute}
	// The delayed notice to alice is queued too, and delivered at once
	// on the run after it was queued; it adds no waits.
	if len(waits) != len(want) || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if w.clock.Now().Sub(start) != 35*time.Minute {
		t.Errorf("delivered after %v", w.clock.Now().Sub(start))
	}
	notices := w.alice.Messages()
	if len(notices) != 1 {
		t.Fatalf("%d notices to alice", len(notices))
	}
	checkDSN(t, notices[0], "delayed", "4.3.0")
}

// checkDSN parses an RFC 3464 report and checks its action and status.
func checkDSN(t *testing.T, m StoredMessage, action, status string) {
	t.Helper()
	if !m.Envelope.From.IsNull() {
		t.Errorf("notice from %v, want <>", m.Envelope.From)
	}
	root, err := message.Parse(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if root.MediaType() != "multipart/report" || root.Params["report-type"] != "delivery-status" || len(root.Parts) != 3 {
		t.Fatalf("report %s %v with %d parts", root.MediaType(), root.Params, len(root.Parts))
	}
	ds := root.Parts[1]
	if ds.MediaType() != "message/delivery-status" {
		t.Fatalf("part 2 is %s", ds.MediaType())
	}
	body := string(ds.BodyBytes(m.Data))
	if !strings.Contains(body, "Action: "+action) || !strings.Contains(body, "Status: "+status) ||
		!strings.Contains(body, "Final-Recipient: rfc822; bob@hamburger.edu") || !strings.Contains(body, "Reporting-MTA: dns; crepes.fr") {
		t.Errorf("delivery-status:\n%s", body)
	}
	if h := string(root.Parts[2].BodyBytes(m.Data)); !strings.Contains(h, "Subject: ketchup") || strings.Contains(h, "Do you like") {
		t.Errorf("returned headers %q", h)
	}
}

// TestQueueBounce: a permanent failure is not retried and bounces.
func TestQueueBounce(t *testing.T) {
	w := newWorld(t, &Maildir{Root: t.TempDir(), Users: map[string]bool{"bob": true}})
	w.submit(t, "nobody@hamburger.edu", "bob@hamburger.edu")
	w.run(t) // nobody fails, bob is delivered, the bounce is queued
	w.run(t) // the bounce goes to crepes.fr
	notices := w.alice.Messages()
	if len(notices) != 1 {
		t.Fatalf("%d notices", len(notices))
	}
	checkDSNFor(t, notices[0], "nobody@hamburger.edu", "failed", "5.1.1")
	if left, _ := w.queue.Messages(); len(left) != 0 {
		t.Errorf("%d messages left: %+v", len(left), left[0])
	}
}

func checkDSNFor(t *testing.T, m StoredMessage, rcpt, action, status string) {
	t.Helper()
	body := string(m.Data)
	if !strings.Contains(body, "Final-Recipient: rfc822; "+rcpt) || !strings.Contains(body, "Action: "+action) || !strings.Contains(body, "Status: "+status) {
		t.Errorf("report:\n%s", body)
	}
	if strings.Count(body, "Final-Recipient:") != 1 {
		t.Errorf("report names more than one recipient:\n%s", body)
	}
}

// TestQueueExpires: a message that fails temporarily for five days bounces
// with 5.4.7, and the bounce is not bounced when the sender's own domain
// does not exist either.
func TestQueueExpires(t *testing.T) {
	always := BackendFunc(func(ctx context.Context, env *Envelope, msg io.Reader) error {
		io.Copy(io.Discard, msg)
		return &Reply{Code: 452, Enhanced: "4.2.2", Text: []string{"mailbox full"}}
	})
	w := newWorld(t, always)
	w.queue.WarnAfter = -1
	w.submit(t, "bob@hamburger.edu")
	attempts := 0
	for i := 0; i < 1000; i++ {
		next := w.run(t)
		if next.IsZero() {
			break
		}
		attempts++
		w.clock.Advance(next.Sub(w.clock.Now()))
	}
	if attempts < 100 || attempts > 130 {
		t.Errorf("%d attempts in five days", attempts)
	}
	notices := w.alice.Messages()
	if len(notices) != 1 {
		t.Fatalf("%d notices", len(notices))
	}
	checkDSN(t, notices[0], "failed", "5.4.7")
	if !strings.Contains(string(notices[0].Data), "4.4.7 delivery time expired") {
		t.Errorf("no expiry diagnostic")
	}
}

// TestQueueNoSuchDomain: NXDOMAIN fails at once; a bounce whose own
// recipient fails is dropped, never bounced again.
func TestQueueNoSuchDomain(t *testing.T) {
	w := newWorld(t, nil)
	_, err := w.queue.Submit(context.Background(), mustPath(t, "mallory@nowhere.example"), []Path{mustPath(t, "bob@nowhere.example")}, strings.NewReader(aliceMsg))
	if err != nil {
		t.Fatal(err)
	}
	w.run(t) // fails; bounce to mallory@nowhere.example queued
	w.run(t) // the bounce fails; not bounced
	if next := w.run(t); !next.IsZero() {
		t.Errorf("queue not empty")
	}
}

// TestQueueRestart: a queue opened again on the same directory delivers
// what the first one accepted, once; a message file without state (a
// crash during Submit, never acknowledged) is removed.
func TestQueueRestart(t *testing.T) {
	w := newWorld(t, nil)
	w.submit(t, "bob@hamburger.edu")
	os.WriteFile(filepath.Join(w.queue.Dir, "msg", "half"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(w.queue.Dir, "tmp", "x.state"), []byte("{"), 0o600)
	old := w.queue
	q2 := &Queue{Dir: old.Dir, Hostname: old.Hostname, Now: old.Now, Resolver: old.Resolver, Dial: old.Dial}
	if _, err := q2.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(w.bob.Messages()); n != 1 {
		t.Fatalf("%d deliveries", n)
	}
	for _, d := range []string{"msg", "state", "tmp"} {
		if left, _ := os.ReadDir(filepath.Join(w.queue.Dir, d)); len(left) != 0 {
			t.Errorf("%s/ holds %d files", d, len(left))
		}
	}
}

// TestSubmissionThroughQueue: a server whose Backend is the queue is
// Alice's mail server: she submits with AUTH, the message is queued and
// then relayed to hamburger.edu.
func TestSubmissionThroughQueue(t *testing.T) {
	w := newWorld(t, nil)
	sub := &Server{Domain: "crepes.fr", Backend: w.queue, AllowInsecureAuth: true,
		Authenticate: func(ctx context.Context, u, p string) error { return nil }}
	addr := startServer(t, sub)
	c := dialClient(t, addr, sockets.Link{})
	ctx := context.Background()
	if err := c.Auth(ctx, "alice", "ketchup"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "bob@hamburger.edu")}, strings.NewReader(aliceMsg)); err != nil {
		t.Fatal(err)
	}
	w.run(t)
	msgs := w.bob.Messages()
	if len(msgs) != 1 || strings.Count(string(msgs[0].Data), "Received:") != 2 {
		t.Fatalf("bob got %+v", msgs)
	}
}

// TestQueueRun: Run delivers what Submit queues, on the real clock, and
// returns when its context ends.
func TestQueueRun(t *testing.T) {
	w := newWorld(t, nil)
	w.queue.Now = nil
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.queue.Run(ctx) }()
	w.submit(t, "bob@hamburger.edu")
	if _, err := w.bob.Wait(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	w.submit(t, "carol@hamburger.edu")
	if _, err := w.bob.Wait(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
}

// TestQueueStartTLS: the queue upgrades to TLS when the receiving server
// offers STARTTLS and the queue has a TLS configuration.
func TestQueueStartTLS(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	w := newWorld(t, nil, func(s *Server) { s.TLSConfig = scfg })
	w.queue.TLSConfig = ccfg
	w.submit(t, "bob@hamburger.edu")
	w.run(t)
	msgs := w.bob.Messages()
	if len(msgs) != 1 || !msgs[0].Envelope.TLS || !strings.Contains(string(msgs[0].Data), "with ESMTPS") {
		t.Fatalf("delivered %+v", msgs)
	}
}

// TestQueueReadsStateOnce: the queue reads each state file once, when it
// opens, not on every wake-up: N messages retried many times cost N
// reads in all, not N per Submit and per attempt.
func TestQueueReadsStateOnce(t *testing.T) {
	w := newWorld(t, nil)
	res := w.queue.Resolver.(*StaticResolver)
	res.MX["dead.example"] = []MX{{"mx1.hamburger.edu.", 10}} // refuses connections
	const n = 12
	for range n {
		w.submit(t, "carol@dead.example")
	}
	for range 3 {
		w.run(t)
		w.clock.Advance(time.Hour)
	}
	if w.queue.stateReads != 0 {
		t.Errorf("a queue that started empty read %d state files", w.queue.stateReads)
	}
	old := w.queue
	q2 := &Queue{Dir: old.Dir, Hostname: old.Hostname, Now: old.Now, Resolver: old.Resolver, Dial: old.Dial}
	for range 3 {
		if _, err := q2.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Hour)
	}
	msgs, err := q2.Messages()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != n {
		t.Fatalf("%d messages queued, want %d", len(msgs), n)
	}
	for _, m := range msgs {
		if r := m.Recipients[0]; r.Attempts != 6 || r.Status != RcptPending {
			t.Errorf("%s: %d attempts, %s; want 6, pending", m.ID, r.Attempts, r.Status)
		}
	}
	if q2.stateReads != n {
		t.Errorf("reopened queue read %d state files for %d messages", q2.stateReads, n)
	}
}

// gateBackend holds each delivery until the test lets it go.
type gateBackend struct {
	*MemoryBackend
	entered chan struct{} // a token per delivery waiting at the gate
	release chan struct{} // closed to let every delivery through
}

func (g *gateBackend) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.MemoryBackend.Deliver(ctx, env, msg)
}

// TestQueueRunClaimsFreeWorkers: Run claims no more messages than it has
// free workers, and each finished attempt wakes it for the next, so a
// backlog larger than Workers all goes out without waiting for a timer.
func TestQueueRunClaimsFreeWorkers(t *testing.T) {
	gate := &gateBackend{MemoryBackend: &MemoryBackend{}, entered: make(chan struct{}, 8), release: make(chan struct{})}
	w := newWorld(t, gate)
	w.queue.Now = nil
	w.queue.Workers = 2
	const n = 6
	for range n {
		w.submit(t, "bob@hamburger.edu")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.queue.Run(ctx) }()
	<-gate.entered // one delivery is at Bob's server, and holds it
	w.queue.mu.Lock()
	claimed := len(w.queue.inflight)
	w.queue.mu.Unlock()
	if claimed > w.queue.Workers {
		t.Errorf("%d messages claimed with Workers = %d", claimed, w.queue.Workers)
	}
	close(gate.release)
	if _, err := gate.Wait(testCtx(t), n); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
}
