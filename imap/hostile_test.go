package imap

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rawSession is a hand-typed session: the test writes lines and reads the
// server's answers, like telnet.
type rawSession struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawSession {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	s := &rawSession{t: t, conn: conn, br: bufio.NewReader(conn)}
	if l := s.line(); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("greeting %q", l)
	}
	return s
}

func (s *rawSession) send(text string) {
	s.t.Helper()
	if _, err := s.conn.Write([]byte(text)); err != nil {
		s.t.Fatal(err)
	}
}

func (s *rawSession) line() string {
	s.t.Helper()
	l, err := s.br.ReadString('\n')
	if err != nil {
		s.t.Fatalf("reading: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

// until reads lines up to the tagged one and returns it.
func (s *rawSession) until(tag string) string {
	s.t.Helper()
	for i := 0; i < 1000; i++ {
		if l := s.line(); strings.HasPrefix(l, tag+" ") {
			return l
		}
	}
	s.t.Fatalf("no tagged answer for %s", tag)
	return ""
}

func TestHostileInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, _, _ := startBob(t, kind, func(s *Server) { s.AppendLimit = 1000 })
		s := dialRaw(t, addr)
		cases := []struct {
			send string
			tag  string
			want string // prefix of the tagged answer
		}{
			{"a1 SELECT INBOX\r\n", "a1", "a1 BAD"},                  // wrong state
			{"a2 FETCH 1 FLAGS\r\n", "a2", "a2 BAD"},                 // wrong state
			{"a3 LOGIN {99999999999}\r\n", "a3", "a3 NO [TOOBIG]"},   // refused before "+"
			{"a4 FROB\r\n", "a4", "a4 BAD"},                          // unknown command
			{"a5 LOGIN bob hunter2\r\n", "a5", "a5 OK"},              // the session goes on
			{"a6 SELECT INBOX\r\n", "a6", "a6 OK"},                   //
			{"a7 FETCH 1:* FLAGS\r\n", "a7", "a7 OK"},                // empty mailbox, "*" is 0
			{"a8 FETCH 0 FLAGS\r\n", "a8", "a8 BAD"},                 // invalid sequence set
			{"a9 FETCH 1:2:3 FLAGS\r\n", "a9", "a9 BAD"},             //
			{"a10 FETCH 5 FLAGS\r\n", "a10", "a10 BAD"},              // no such message
			{"a11 FETCH 1,,2 FLAGS\r\n", "a11", "a11 BAD"},           //
			{"a12 UID FETCH 4294967296 FLAGS\r\n", "a12", "a12 BAD"}, // over 32 bits
			{"a13 STORE 1 +FLAGS (\\Bogus)\r\n", "a13", "a13 BAD"},   //
			{"a14 SEARCH " + strings.Repeat("(", 100) + "ALL" + strings.Repeat(")", 100) + "\r\n", "a14", "a14 BAD"},
			{"a15 STATUS INBOX " + strings.Repeat("(", 1000) + "\r\n", "a15", "a15 BAD"},
			{"a16 APPEND INBOX {5000}\r\n", "a16", "a16 NO [TOOBIG]"}, // over APPENDLIMIT, no "+"
			{"a17 APPEND Nowhere {10}\r\n", "a17", "a17 NO [TRYCREATE]"},
			{"a18 FETCH 1 BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31.32.33.34]\r\n", "a18", "a18 BAD"},
			{"a19 LIST \"\" \"" + strings.Repeat("*%", 50) + "\"\r\n", "a19", "a19 OK"}, // no exponential matching
			{"a20 FETCH 1 (FLAGS {5+}\r\nHELLO)\r\n", "a20", "a20 BAD"},                 // literal skipped with the line
			{"a21 NOOP\r\n", "a21", "a21 OK"},
		}
		for _, c := range cases {
			s.send(c.send)
			if got := s.until(c.tag); !strings.HasPrefix(got, c.want) {
				t.Errorf("%q: got %q, want %q...", c.send, got, c.want)
			}
		}
		// A line longer than MaxLine is refused, and the session survives.
		s.send("b1 NOOP " + strings.Repeat("x", MaxLine+10) + "\r\n")
		if got := s.until("b1"); !strings.HasPrefix(got, "b1 BAD") {
			t.Errorf("long line: %q", got)
		}
		s.send("b2 NOOP\r\n")
		if got := s.until("b2"); !strings.HasPrefix(got, "b2 OK") {
			t.Errorf("after long line: %q", got)
		}
		// A non-synchronising literal beyond LITERAL-'s 4096 bytes ends the
		// session: its bytes cannot be told from commands.
		s.send("b3 APPEND INBOX {99999999999+}\r\n")
		if got := s.line(); !strings.HasPrefix(got, "* BYE") {
			t.Errorf("huge non-synchronising literal: %q", got)
		}
	})
}

func TestVanishingAppendStoresNothing(t *testing.T) {
	addr, store, srv := startServer(t, nil)
	s := dialRaw(t, addr)
	s.send("a1 LOGIN bob hunter2\r\n")
	s.until("a1")
	s.send("a2 APPEND INBOX {5000}\r\n")
	if got := s.line(); !strings.HasPrefix(got, "+") {
		t.Fatalf("APPEND: %q, want +", got)
	}
	s.send(strings.Repeat("x", 2000)) // then the client vanishes
	s.conn.Close()
	// Close waits for the session to end, so its clean-up is done.
	srv.Close()
	for _, sub := range []string{"tmp", "new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(store.Root(), sub))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Errorf("%s/ holds %d files after an interrupted APPEND", sub, len(entries))
		}
	}
}

func TestUnterminatedLiteralTimesOut(t *testing.T) {
	addr, _, _ := startServer(t, func(s *Server) { s.ReadTimeout = 200 * time.Millisecond })
	// ReadTimeout also bounds the wait for the command itself: on a loaded
	// machine the test may be slower than that and get "* BYE autologout"
	// instead of "+". Try again then, a few times.
	var s *rawSession
	for attempt := 1; ; attempt++ {
		s = dialRaw(t, addr)
		s.send("a1 LOGIN {5}\r\n")
		got := s.line()
		if strings.HasPrefix(got, "+") {
			break
		}
		if attempt == 5 || !strings.HasPrefix(got, "* BYE") {
			t.Fatalf("got %q, want +", got)
		}
	}
	s.send("bo") // and nothing more: the server must not wait forever
	s.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.br.ReadString('\n'); err == nil {
		// A BYE is fine too; what matters is that the connection ends.
		if _, err := s.br.ReadString('\n'); err == nil {
			t.Error("connection still open after the literal stalled")
		}
	}
}

// TestShortSearch checks a SEARCH whose keys are shorter than "CHARSET "
// (the server must not wait for more bytes than the line has).
func TestShortSearch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, _, _ := startBob(t, kind, nil)
		s := dialRaw(t, addr)
		s.send("a1 LOGIN bob hunter2\r\na2 SELECT INBOX\r\n")
		s.until("a2")
		for _, crit := range []string{"ALL", "NEW", "1", "CC x", "charset utf-8 ALL", "CHARSET KOI8-R ALL"} {
			s.send("a3 SEARCH " + crit + "\r\n")
			got := s.until("a3")
			want := "a3 OK"
			if strings.Contains(crit, "KOI8") {
				want = "a3 NO [BADCHARSET"
			}
			if !strings.HasPrefix(got, want) {
				t.Errorf("SEARCH %s: %q, want %s...", crit, got, want)
			}
		}
	})
}
