package dns

import (
	"crypto/rand"
	"net/netip"
	"time"
)

// A cookieState is what the server made of a query's COOKIE option (RFC
// 7873 §5.2).
type cookieState uint8

const (
	cookieNone      cookieState = iota // no COOKIE option: a client that does not know cookies
	cookieMalformed                    // FORMERR (§5.2.2)
	cookieUnproven                     // a client cookie alone, or with a server cookie not valid (§5.2.3, §5.2.4)
	cookieValid                        // a valid server cookie: the address is the client's (§5.2.5)
)

// checkCookie judges the COOKIE option of w's query from ip and, when it
// is well formed, puts the COOKIE option of the reply in w.cookieOut: the
// client cookie with the server cookie presented if that is valid and
// young, else with a fresh one. It allocates nothing.
func (s *Server) checkCookie(w *worker, ip netip.Addr) cookieState {
	c, ok, err := w.req.EDNS.Cookie()
	switch {
	case err != nil:
		if s.Trace != nil {
			s.traceLine("C:   cookie malformed: " + err.Error())
		}
		return cookieMalformed
	case !ok:
		return cookieNone
	}
	if !w.secretsOK {
		w.secrets[0], w.secrets[1] = s.cookieSecrets()
		w.secretsOK = true
	}
	now := s.now()
	var ck CookieCheck
	if w.secrets[1] == ([16]byte{}) {
		ck = CheckServerCookie(c, ip, now, &w.secrets[0])
	} else {
		ck = CheckServerCookie(c, ip, now, &w.secrets[0], &w.secrets[1])
	}
	out := append(w.cookieBuf[:0], c.Client[:]...)
	if ck.Renew {
		out = AppendServerCookie(out, &w.secrets[0], c.Client, ip, now)
	} else {
		out = append(out, c.Server...)
	}
	w.cookieOut = out
	if s.Trace != nil {
		s.traceLine("C:   cookie " + ck.Reason)
	}
	if ck.Valid {
		return cookieValid
	}
	return cookieUnproven
}

// cookieSecrets returns the secret that makes server cookies, drawing a
// random one at first use if CookieSecret is zero, and the previous one.
func (s *Server) cookieSecrets() (current, previous [16]byte) {
	s.cookieMu.Lock()
	defer s.cookieMu.Unlock()
	if !s.cookieReady {
		s.cookieSecret = s.CookieSecret
		if s.cookieSecret == ([16]byte{}) {
			rand.Read(s.cookieSecret[:])
		}
		s.cookieReady = true
	}
	return s.cookieSecret, s.PreviousCookieSecret
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
