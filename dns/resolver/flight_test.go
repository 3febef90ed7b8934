package resolver

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
)

// TestConcurrentQuestionsShareOneResolution: while the first resolution
// of gaia.cs.umass.edu waits for the root, nineteen more callers ask the
// same; they join it, and the hierarchy sees the four queries of one.
func TestConcurrentQuestionsShareOneResolution(t *testing.T) {
	in, err := hierarchy.Start(hierarchy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	roots, err := ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	gate := make(chan struct{})
	var dials, joined atomic.Int32
	r := &Resolver{Roots: roots[:1]}
	r.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			<-gate // the first query waits until everyone has joined
		}
		return in.Dial(ctx, network, addr)
	}
	r.joined = func() {
		if joined.Add(1) == n-1 {
			close(gate)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := r.Resolve(ctx, dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
			if err == nil && (len(m.Answers) != 1 || m.Answers[0].Data.String() != "128.119.245.12") {
				err = context.Canceled
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := dials.Load(); got != 4 {
		t.Errorf("%d upstream queries for %d callers, want 4", got, n)
	}
}

// TestJoinedCallerOutlivesLeader: the caller who started the resolution
// gives up (its context is cancelled) while another caller waits on it.
// The waiter, whose context is still good, does not inherit the leader's
// SERVFAIL: it resolves the name itself.
func TestJoinedCallerOutlivesLeader(t *testing.T) {
	in, err := hierarchy.Start(hierarchy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	roots, err := ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		t.Fatal(err)
	}
	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	defer cancelLeader()
	joinedOne, started := make(chan struct{}), make(chan struct{})
	var dials atomic.Int32
	r := &Resolver{Roots: roots[:1]}
	r.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			close(started)
			<-joinedOne // the leader's first query waits for the waiter,
			cancelLeader()
			<-ctx.Done() // then its caller gives up
			return nil, ctx.Err()
		}
		return in.Dial(ctx, network, addr)
	}
	r.joined = func() { close(joinedOne) }
	gaia := dns.MustParseName("gaia.cs.umass.edu")
	leaderErr := make(chan error, 1)
	go func() {
		_, err := r.Resolve(leaderCtx, gaia, dns.TypeA)
		leaderErr <- err
	}()
	<-started // the leader's flight is under way
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := r.Resolve(ctx, gaia, dns.TypeA)
	if err != nil || len(m.Answers) != 1 || m.Answers[0].Data.String() != "128.119.245.12" {
		t.Fatalf("the waiter got %v, %v; want gaia's address", m, err)
	}
	if err := <-leaderErr; err == nil {
		t.Error("the cancelled leader succeeded")
	}
}
