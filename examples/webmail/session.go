package main

import (
	"crypto/rand"
	"crypto/subtle"
	"sync"
	"time"
)

// A session is one logged-in browser. The web mail server keeps the
// user's mail password for the session's life, because every page opens
// an IMAP connection (and every message sent an SMTP one) that logs in
// with it; the browser holds only the session's random ID, in a cookie.
type session struct {
	ID       string // the cookie's value
	User     string // the mail server's login name ("bob")
	Password string
	CSRF     string // the token every POST form of this session carries
	Expires  time.Time
}

// Address is the user's e-mail address on the domain.
func (s *session) Address(domain string) string { return s.User + "@" + domain }

// validCSRF reports whether token is this session's, in constant time.
func (s *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// expired is the session policy: a session ends TTL after its last use.
func expired(s *session, now time.Time) bool { return !now.Before(s.Expires) }

// sessions is the server's table of sessions, in memory: a restart logs
// everyone out. It holds at most max sessions; expired ones are dropped
// when a new one is made, so no goroutine is needed to sweep.
type sessions struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]*session
}

func newSessions(ttl time.Duration, max int) *sessions {
	return &sessions{ttl: ttl, max: max, m: make(map[string]*session)}
}

// create starts a session for user, or returns nil if the table is full
// of live sessions.
func (t *sessions) create(user, password string, now time.Time) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= t.max {
		for id, s := range t.m {
			if expired(s, now) {
				delete(t.m, id)
			}
		}
		if len(t.m) >= t.max {
			return nil
		}
	}
	s := &session{ID: rand.Text(), User: user, Password: password, CSRF: rand.Text(), Expires: now.Add(t.ttl)}
	t.m[s.ID] = s
	return s
}

// get returns a copy of the live session with id and extends its life,
// or nil.
func (t *sessions) get(id string, now time.Time) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[id]
	if s == nil {
		return nil
	}
	if expired(s, now) {
		delete(t.m, id)
		return nil
	}
	s.Expires = now.Add(t.ttl)
	c := *s
	return &c
}

// remove ends a session (log out).
func (t *sessions) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, id)
}
