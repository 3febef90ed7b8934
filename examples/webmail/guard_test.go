package main

import (
	"testing"
	"time"
)

func TestLoginGuard(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	g := newLoginGuard(3, time.Minute, 100)

	// Three failures, 10 s apart, are allowed; then the address waits until
	// the first of them is a minute old.
	for i := range 3 {
		if w := g.wait("192.0.2.1", at(10*i)); w != 0 {
			t.Fatalf("attempt %d: wait %v", i+1, w)
		}
		g.failed("192.0.2.1", at(10*i))
	}
	if w := g.wait("192.0.2.1", at(25)); w != 35*time.Second {
		t.Errorf("after 3 failures: wait %v, want 35s", w)
	}
	if w := g.wait("192.0.2.2", at(25)); w != 0 {
		t.Errorf("another address: wait %v", w)
	}
	// At 60 s the first failure has left the window: one more try, and a
	// failure then waits for the second one (at 10 s) to leave.
	if w := g.wait("192.0.2.1", at(60)); w != 0 {
		t.Errorf("a minute after the first failure: wait %v", w)
	}
	g.failed("192.0.2.1", at(60))
	if w := g.wait("192.0.2.1", at(61)); w != 9*time.Second {
		t.Errorf("after a fourth failure: wait %v, want 9s", w)
	}
	// A success clears the address.
	g.succeeded("192.0.2.1")
	if w := g.wait("192.0.2.1", at(61)); w != 0 {
		t.Errorf("after a success: wait %v", w)
	}
}

// TestLoginGuardBounded: a flood of addresses keeps at most tracked of
// them, forgetting the one whose last failure is oldest.
func TestLoginGuardBounded(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	g := newLoginGuard(1, time.Hour, 2)
	g.failed("a", t0)
	g.failed("b", t0.Add(time.Second))
	g.failed("c", t0.Add(2*time.Second))
	if len(g.failures) != 2 {
		t.Fatalf("%d addresses tracked, want 2", len(g.failures))
	}
	if g.wait("a", t0.Add(3*time.Second)) != 0 || g.wait("b", t0.Add(3*time.Second)) == 0 || g.wait("c", t0.Add(3*time.Second)) == 0 {
		t.Errorf("want a forgotten, b and c waiting: %v", g.failures)
	}
	// Failures past the window are dropped first, whatever their order.
	g = newLoginGuard(1, time.Minute, 2)
	g.failed("old", t0)
	g.failed("new", t0.Add(45*time.Second))
	g.failed("newer", t0.Add(90*time.Second))
	if _, ok := g.failures["old"]; ok || len(g.failures) != 2 {
		t.Errorf("tracked %v, want new and newer", g.failures)
	}
}
