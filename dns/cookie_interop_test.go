package dns

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// traceBuf is a Trace the server writes from its goroutines while the
// test reads it.
type traceBuf struct {
	mu sync.Mutex
	sb strings.Builder
}

func (b *traceBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.Write(p)
}

func (b *traceBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sb.String()
}

// cookieLine finds the COOKIE that dig or kdig printed (client cookie and
// server cookie in hex).
var cookieLine = regexp.MustCompile(`(?m)^;;? COOKIE: ([0-9a-fA-F]{16})([0-9a-fA-F]*)(.*)$`)

func peerCookie(t *testing.T, who, out string) (client, server, note string) {
	t.Helper()
	m := cookieLine.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatalf("%s printed no COOKIE:\n%s", who, out)
	}
	last := m[len(m)-1]
	return strings.ToLower(last[1]), strings.ToLower(last[2]), strings.TrimSpace(last[3])
}

// TestInteropDigCookie: dig sends a client cookie and gets it back with a
// 16-octet server cookie (RFC 9018), which dig calls good; sent back with
// +cookie=, our server finds it valid and answers. A server requiring
// cookies answers dig's first query BADCOOKIE, and dig asks again with
// the cookie and gets the answer.
func TestInteropDigCookie(t *testing.T) {
	dig := sockettest.Need(t, "dig", "bind9-dnsutils")
	var tr traceBuf
	_, addr := startServer(t, func(s *Server) { s.Trace = &tr })
	host, port := hostPort(t, addr)
	base := []string{"@" + host, "-p", port, "+norec", "+tries=1", "+time=5"}
	out := runPeer(t, dig, append(base, "+cookie", "www.networkutopia.com", "A")...)
	client, server, note := peerCookie(t, "dig +cookie", out)
	t.Logf("dig +cookie: COOKIE: %s%s %s", client, server, note)
	if len(server) != 32 || note != "(good)" || !strings.Contains(out, "status: NOERROR") {
		t.Fatalf("dig +cookie: want a 16-octet server cookie, good:\n%s", out)
	}
	out = runPeer(t, dig, append(base, "+cookie="+client+server, "www.networkutopia.com", "A")...)
	c2, s2, note := peerCookie(t, "dig +cookie=", out)
	t.Logf("dig +cookie=%s%s: COOKIE: %s%s %s", client, server, c2, s2, note)
	if c2 != client || s2 != server || !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "ANSWER: 3,") {
		t.Errorf("dig +cookie=…: want the answer and the cookie echoed:\n%s", out)
	}
	if !strings.Contains(tr.String(), "C:   cookie valid\n") {
		t.Errorf("the server did not find dig's cookie valid:\n%s", tr.String())
	}

	_, addr = startServer(t, func(s *Server) { s.RequireCookies = true })
	host, port = hostPort(t, addr)
	base = []string{"@" + host, "-p", port, "+norec", "+tries=1", "+time=5"}
	out = runPeer(t, dig, append(base, "+cookie", "+nobadcookie", "www.networkutopia.com", "A")...)
	if !strings.Contains(out, "status: BADCOOKIE") || !strings.Contains(out, "ANSWER: 0,") {
		t.Errorf("dig +nobadcookie against RequireCookies: want BADCOOKIE:\n%s", out)
	}
	out = runPeer(t, dig, append(base, "+cookie", "+badcookie", "+showbadcookie", "www.networkutopia.com", "A")...)
	first, last := strings.Index(out, "status: BADCOOKIE"), strings.LastIndex(out, "status: NOERROR")
	if first < 0 || last < first || !strings.Contains(out[last:], "ANSWER: 3,") {
		t.Errorf("dig +badcookie: want BADCOOKIE, then the answer:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "status:") || strings.Contains(l, "COOKIE:") {
			t.Logf("dig +badcookie +showbadcookie: %s", strings.TrimSpace(l))
		}
	}
}

// TestInteropKdigCookie: kdig's cookie comes back with a server cookie;
// against a server requiring cookies, kdig's +badcookie asks again and
// gets the answer.
func TestInteropKdigCookie(t *testing.T) {
	kdig := sockettest.Need(t, "kdig", "knot-dnsutils")
	var tr traceBuf
	_, addr := startServer(t, func(s *Server) { s.Trace = &tr })
	host, port := hostPort(t, addr)
	base := []string{"@" + host, "-p", port, "+norec", "+retry=0", "+time=5"}
	out := runPeer(t, kdig, append(base, "+cookie", "www.networkutopia.com", "A")...)
	client, server, note := peerCookie(t, "kdig +cookie", out)
	t.Logf("kdig +cookie: COOKIE: %s%s %s", client, server, note)
	if len(server) != 32 || !strings.Contains(out, "status: NOERROR") {
		t.Fatalf("kdig +cookie: want a 16-octet server cookie:\n%s", out)
	}
	out = runPeer(t, kdig, append(base, "+cookie="+client+server, "www.networkutopia.com", "A")...)
	if c2, s2, _ := peerCookie(t, "kdig +cookie=", out); c2 != client || s2 != server || !strings.Contains(out, "status: NOERROR") {
		t.Errorf("kdig +cookie=…: want the cookie echoed and the answer:\n%s", out)
	}
	if !strings.Contains(tr.String(), "C:   cookie valid\n") {
		t.Errorf("the server did not find kdig's cookie valid:\n%s", tr.String())
	}

	_, addr = startServer(t, func(s *Server) { s.RequireCookies = true })
	host, port = hostPort(t, addr)
	base = []string{"@" + host, "-p", port, "+norec", "+retry=0", "+time=5"}
	out = runPeer(t, kdig, append(base, "+cookie", "+nobadcookie", "www.networkutopia.com", "A")...)
	if !strings.Contains(out, "status: BADCOOKIE") {
		t.Errorf("kdig +nobadcookie against RequireCookies: want BADCOOKIE:\n%s", out)
	}
	out = runPeer(t, kdig, append(base, "+cookie", "+badcookie", "www.networkutopia.com", "A")...)
	first, last := strings.Index(out, "status: BADCOOKIE"), strings.LastIndex(out, "status: NOERROR")
	if first < 0 || last < first || !strings.Contains(out[last:], "ANSWER: 3;") {
		t.Errorf("kdig +badcookie: want BADCOOKIE, then the answer:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "status:") || strings.Contains(l, "COOKIE:") {
			t.Logf("kdig +badcookie: %s", strings.TrimSpace(l))
		}
	}
}
