package main

import (
	"sync"
	"time"
)

// A loginGuard slows down password guessing. Each client address may fail
// to log in at most max times in any window; past that, its logins are
// refused (429 Too Many Requests) until its oldest failure leaves the
// window, without asking the mail server. A successful login clears the
// address's failures.
//
// It counts by address, not by user name: counting by user would let
// anyone lock Bob out by guessing wrong on purpose. It forgets the oldest
// address when it tracks too many, so a flood of addresses costs bounded
// memory. (Mail servers do the same on their side: Dovecot delays each
// answer to a failed login, more so for an address that keeps failing.)
type loginGuard struct {
	max     int           // failures allowed in a window
	window  time.Duration // how long a failure counts
	tracked int           // addresses kept at most

	mu       sync.Mutex
	failures map[string][]time.Time // per address, oldest first
}

func newLoginGuard(max int, window time.Duration, tracked int) *loginGuard {
	return &loginGuard{max: max, window: window, tracked: tracked, failures: make(map[string][]time.Time)}
}

// recent returns addr's failures still inside the window at now (the
// caller holds the lock).
func (g *loginGuard) recent(addr string, now time.Time) []time.Time {
	fs := g.failures[addr]
	for len(fs) > 0 && !now.Before(fs[0].Add(g.window)) {
		fs = fs[1:]
	}
	if len(fs) == 0 {
		delete(g.failures, addr)
		return nil
	}
	g.failures[addr] = fs
	return fs
}

// wait returns how long addr must wait before it may try to log in: 0 if
// it may now.
func (g *loginGuard) wait(addr string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	fs := g.recent(addr, now)
	if len(fs) < g.max {
		return 0
	}
	return fs[len(fs)-g.max].Add(g.window).Sub(now)
}

// failed counts a failed login from addr at now.
func (g *loginGuard) failed(addr string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fs := g.recent(addr, now)
	if fs == nil && len(g.failures) >= g.tracked {
		g.forgetOldest(now)
	}
	fs = append(fs, now)
	if len(fs) > g.max {
		fs = fs[len(fs)-g.max:] // older ones no longer decide anything
	}
	g.failures[addr] = fs
}

// forgetOldest drops the addresses whose failures have all left the
// window and, if none has, the one whose last failure is oldest (the
// caller holds the lock).
func (g *loginGuard) forgetOldest(now time.Time) {
	oldest, at := "", now
	for a, fs := range g.failures {
		last := fs[len(fs)-1]
		if !now.Before(last.Add(g.window)) {
			delete(g.failures, a)
			continue
		}
		if oldest == "" || last.Before(at) {
			oldest, at = a, last
		}
	}
	if len(g.failures) >= g.tracked {
		delete(g.failures, oldest)
	}
}

// succeeded clears addr's failures.
func (g *loginGuard) succeeded(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.failures, addr)
}
