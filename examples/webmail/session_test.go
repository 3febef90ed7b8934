package main

import (
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tab := newSessions(10*time.Minute, 2)
	a := tab.create("bob", "hunter2", t0)
	b := tab.create("alice", "ketchup", t0.Add(time.Minute))
	if a == nil || b == nil || a.ID == b.ID || a.CSRF == b.CSRF || a.ID == a.CSRF {
		t.Fatalf("sessions %+v %+v: want two, with distinct IDs and tokens", a, b)
	}
	if tab.create("carol", "x", t0.Add(2*time.Minute)) != nil {
		t.Errorf("a third session in a table of two live ones")
	}
	// Use keeps a session alive: bob at 9:09 lives until 9:19.
	if s := tab.get(a.ID, t0.Add(9*time.Minute)); s == nil || s.User != "bob" || s.Password != "hunter2" {
		t.Fatalf("get bob at 9:09: %+v", s)
	}
	if s := tab.get(a.ID, t0.Add(18*time.Minute)); s == nil {
		t.Errorf("bob expired at 9:18, 9 minutes after his last use")
	}
	// Alice, unused since 9:01, is gone at 9:11.
	if s := tab.get(b.ID, t0.Add(11*time.Minute)); s != nil {
		t.Errorf("alice still there at 9:11: %+v", s)
	}
	if tab.create("carol", "x", t0.Add(12*time.Minute)) == nil {
		t.Errorf("no room for carol once alice expired")
	}
	if tab.get("", t0) != nil || tab.get(a.CSRF, t0) != nil {
		t.Errorf("a session found by an empty ID or by its CSRF token")
	}
	s := tab.get(a.ID, t0.Add(12*time.Minute))
	if !s.validCSRF(a.CSRF) || s.validCSRF("") || s.validCSRF(b.CSRF) {
		t.Errorf("validCSRF")
	}
	tab.remove(a.ID)
	if tab.get(a.ID, t0.Add(12*time.Minute)) != nil {
		t.Errorf("bob still there after logout")
	}
}
