package imap

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// do sends one command and returns every line of the answer, the tagged
// one last.
func (s *rawSession) do(tag, command string) []string {
	s.t.Helper()
	s.send(tag + " " + command + "\r\n")
	var out []string
	for i := 0; i < 1000; i++ {
		l := s.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
	s.t.Fatalf("no tagged answer for %s", tag)
	return nil
}

// has reports whether one of lines is exactly want.
func has(lines []string, want string) bool { return slices.Contains(lines, want) }

// TestRecentOneSession: a new message is \Recent to one session only, the
// first to SELECT the mailbox after it arrived; EXAMINE and STATUS show it
// as recent without taking it; a delivery during a session is recent there.
func TestRecentOneSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, nil)
		for i := 0; i < 2; i++ {
			if err := bob.deliver(aliceMsg); err != nil {
				t.Fatal(err)
			}
		}
		login := func() *rawSession {
			s := dialRaw(t, addr)
			if got := s.do("l", "LOGIN bob hunter2"); !strings.HasPrefix(got[len(got)-1], "l OK") {
				t.Fatalf("LOGIN: %q", got)
			}
			return s
		}
		c := login()
		if got := c.do("s1", "STATUS INBOX (MESSAGES RECENT)"); !has(got, "* STATUS INBOX (MESSAGES 2 RECENT 2)") {
			t.Errorf("STATUS before any SELECT: %q", got)
		}
		if got := c.do("e1", "EXAMINE INBOX"); !has(got, "* 2 RECENT") {
			t.Errorf("EXAMINE: %q, want 2 RECENT", got)
		}
		if got := c.do("e2", "FETCH 1 FLAGS"); !has(got, `* 1 FETCH (FLAGS (\Recent))`) {
			t.Errorf("FETCH after EXAMINE: %q", got)
		}

		a := login()
		if got := a.do("a1", "SELECT INBOX"); !has(got, "* 2 RECENT") {
			t.Errorf("A's SELECT: %q, want 2 RECENT", got)
		}
		if got := a.do("a2", "STORE 1 +FLAGS (\\Seen)"); !has(got, `* 1 FETCH (FLAGS (\Seen \Recent))`) {
			t.Errorf("A's STORE: %q", got)
		}
		if got := a.do("a3", "SEARCH NEW"); !has(got, "* SEARCH 2") {
			t.Errorf("A's SEARCH NEW: %q, want 2", got)
		}

		b := login()
		if got := b.do("b1", "SELECT INBOX"); !has(got, "* 0 RECENT") {
			t.Errorf("B's SELECT after A's: %q, want 0 RECENT", got)
		}
		if got := b.do("b2", "FETCH 1:* FLAGS"); !has(got, `* 1 FETCH (FLAGS (\Seen))`) || !has(got, `* 2 FETCH (FLAGS ())`) {
			t.Errorf("B's FETCH: %q, want no \\Recent", got)
		}
		if got := b.do("b3", "SEARCH RECENT"); !has(got, "* SEARCH") {
			t.Errorf("B's SEARCH RECENT: %q, want none", got)
		}
		if got := c.do("s2", "STATUS INBOX (RECENT)"); !has(got, "* STATUS INBOX (RECENT 0)") {
			t.Errorf("STATUS after the SELECTs: %q", got)
		}

		// Mail delivered now is recent to whichever session hears of it first.
		if err := bob.deliver(aliceMsg); err != nil {
			t.Fatal(err)
		}
		if got := b.do("b4", "NOOP"); !has(got, "* 3 EXISTS") || !has(got, "* 1 RECENT") {
			t.Errorf("B's NOOP after a delivery: %q", got)
		}
		if got := a.do("a4", "NOOP"); !has(got, "* 3 EXISTS") || !has(got, "* 2 RECENT") {
			t.Errorf("A's NOOP after B took the delivery: %q, want 2 RECENT still", got)
		}
		if got := a.do("a5", "FETCH 3 FLAGS"); !has(got, `* 3 FETCH (FLAGS ())`) {
			t.Errorf("A's FETCH of B's recent message: %q", got)
		}
		// APPEND by B to its selected mailbox is recent there.
		if got := b.do("b5", "APPEND INBOX {5+}\r\nHi!\r\n"); !has(got, "* 4 EXISTS") || !has(got, "* 2 RECENT") {
			t.Errorf("B's APPEND: %q", got)
		}
	})
}

// TestEnableIMAP4rev2: after ENABLE IMAP4rev2 the session drops \Recent,
// names the mailbox in SELECT, answers SEARCH with ESEARCH and speaks
// UTF-8 mailbox names; ENABLE says what it enabled and is refused once a
// mailbox is selected.
func TestEnableIMAP4rev2(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, nil)
		for i := 0; i < 3; i++ {
			if err := bob.deliver(aliceMsg); err != nil {
				t.Fatal(err)
			}
		}
		s := dialRaw(t, addr)
		if got := s.do("c", "CAPABILITY"); len(got) < 2 || !strings.Contains(got[0], " IMAP4rev1 IMAP4rev2 ") {
			t.Errorf("CAPABILITY: %q", got)
		}
		s.do("l", "LOGIN bob hunter2")
		if got := s.do("e1", "ENABLE FOO"); !has(got, "* ENABLED") {
			t.Errorf("ENABLE of an unknown extension: %q, want an empty ENABLED", got)
		}
		if got := s.do("e2", "ENABLE imap4rev2"); !has(got, "* ENABLED IMAP4rev2") || !strings.HasPrefix(got[len(got)-1], "e2 OK") {
			t.Errorf("ENABLE IMAP4rev2: %q", got)
		}
		if got := s.do("e3", "ENABLE IMAP4rev2"); !has(got, "* ENABLED") {
			t.Errorf("ENABLE again: %q, want nothing newly enabled", got)
		}
		if got := s.do("m1", `CREATE "Crêpes"`); !strings.HasPrefix(got[len(got)-1], "m1 OK") {
			t.Errorf("CREATE in UTF-8: %q", got)
		}
		if _, err := bob.mailboxes.Mailbox(EncodeMailboxName("Crêpes")); err != nil {
			t.Errorf("the folder is not stored in modified UTF-7: %v", err)
		}
		if got := s.do("m2", `LIST "" Cr*`); !has(got, `* LIST (\HasNoChildren) "." "Crêpes"`) {
			t.Errorf("LIST: %q", got)
		}
		got := s.do("s1", "SELECT INBOX")
		if !has(got, `* LIST () "." INBOX`) || slices.ContainsFunc(got, func(l string) bool { return strings.HasSuffix(l, " RECENT") }) {
			t.Errorf("SELECT: %q, want LIST and no RECENT", got)
		}
		if got := s.do("f1", "FETCH 1 FLAGS"); !has(got, `* 1 FETCH (FLAGS ())`) {
			t.Errorf("FETCH: %q, want no \\Recent", got)
		}
		if got := s.do("q1", "SEARCH ALL"); !has(got, `* ESEARCH (TAG "q1") ALL 1:3`) {
			t.Errorf("SEARCH: %q", got)
		}
		if got := s.do("q2", "UID SEARCH RETURN (MIN MAX COUNT) 2:3"); !has(got, `* ESEARCH (TAG "q2") UID MIN 2 MAX 3 COUNT 2`) {
			t.Errorf("UID SEARCH RETURN: %q", got)
		}
		if got := s.do("q3", "SEARCH RETURN (COUNT ALL) DELETED"); !has(got, `* ESEARCH (TAG "q3") COUNT 0`) {
			t.Errorf("SEARCH with no match: %q", got)
		}
		if got := s.do("q4", "SEARCH RETURN (SAVE) ALL"); !strings.HasPrefix(got[len(got)-1], "q4 BAD") {
			t.Errorf("SEARCH RETURN (SAVE): %q, want BAD (SEARCHRES is not here)", got)
		}
		if got := s.do("e4", "ENABLE IMAP4rev2"); !strings.HasPrefix(got[len(got)-1], "e4 BAD") {
			t.Errorf("ENABLE when selected: %q, want BAD", got)
		}
	})
}

// TestMultiAppend: one APPEND with several messages (RFC 3502) stores them
// all, in order, with their flags and dates; a failure at any message, or
// a client that vanishes, stores none.
func TestMultiAppend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, srv := startBob(t, kind, func(s *Server) { s.AppendLimit = 100 })
		inbox := bob.inbox(t)
		s := dialRaw(t, addr)
		s.do("l", "LOGIN bob hunter2")
		count := func() int {
			t.Helper()
			snap, err := inbox.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if bob.store != nil {
				tmp, _ := os.ReadDir(filepath.Join(bob.store.Root(), "tmp"))
				if len(tmp) != 0 {
					t.Errorf("%d files left in tmp/", len(tmp))
				}
			}
			return len(snap.Messages)
		}

		got := s.do("a1", "APPEND INBOX (\\Seen) {4+}\r\nOne\n"+
			` "25-Nov-2026 10:00:00 +0000" {4+}`+"\r\nTwo\n"+
			" (\\Flagged) {6+}\r\nThree\n")
		if last := got[len(got)-1]; !strings.HasPrefix(last, "a1 OK [APPENDUID ") || !strings.HasSuffix(last, " 1:3] APPEND completed") {
			t.Fatalf("MULTIAPPEND: %q", got)
		}
		snap, _ := inbox.Snapshot()
		msgs := snap.Messages
		if len(msgs) != 3 || !msgs[0].HasFlag(`\Seen`) || len(msgs[1].Flags) != 0 || !msgs[2].HasFlag(`\Flagged`) {
			t.Fatalf("stored %+v", msgs)
		}
		if d, err := inbox.Date(msgs[1].UID); err != nil || d.Unix() != 1795600800 {
			t.Errorf("date of the second message: %v, %v", d, err)
		}

		// The second message is over APPENDLIMIT: refused before its "+",
		// and the first is not kept either.
		s.send("a2 APPEND INBOX {4}\r\n")
		if l := s.line(); !strings.HasPrefix(l, "+") {
			t.Fatalf("want a continuation, got %q", l)
		}
		s.send("Four {500}\r\n")
		if got := s.until("a2"); !strings.HasPrefix(got, "a2 NO [TOOBIG]") {
			t.Errorf("oversized second message: %q", got)
		}
		if n := count(); n != 3 {
			t.Errorf("after a refused MULTIAPPEND the mailbox holds %d messages, want 3", n)
		}
		// Each message fits APPENDLIMIT, but one APPEND stores at most four
		// APPENDLIMITs in all.
		m90 := strings.Repeat("x", 88) + "\r\n"
		if got := s.do("a5", "APPEND INBOX"+strings.Repeat(" {90+}\r\n"+m90, 5)); !strings.HasPrefix(got[len(got)-1], "a5 NO [TOOBIG]") {
			t.Errorf("MULTIAPPEND over 4 APPENDLIMITs: %q", got)
		}
		if n := count(); n != 3 {
			t.Errorf("after an oversized MULTIAPPEND the mailbox holds %d messages, want 3", n)
		}
		if got := s.do("a6", "APPEND INBOX"+strings.Repeat(" {90+}\r\n"+m90, 4)); !strings.HasPrefix(got[len(got)-1], "a6 OK [APPENDUID ") {
			t.Errorf("MULTIAPPEND of 4 APPENDLIMITs: %q", got)
		}
		if n := count(); n != 7 {
			t.Errorf("after a MULTIAPPEND of 4 the mailbox holds %d messages, want 7", n)
		}
		// A syntax error after the first message.
		if got := s.do("a3", "APPEND INBOX {5+}\r\nFive\n \"32-Nov-2026 99:00:00 +0000\" {4+}\r\nSix\n"); !strings.HasPrefix(got[len(got)-1], "a3 BAD") {
			t.Errorf("bad flag in the second message: %q", got)
		}
		if n := count(); n != 7 {
			t.Errorf("after a bad MULTIAPPEND the mailbox holds %d messages, want 7", n)
		}
		// The client vanishes in the middle of the second message.
		s.send("a4 APPEND INBOX {6+}\r\nSeven\n {100+}\r\nEight")
		s.conn.Close()
		// Shutdown returns once every session has ended, this one included.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 7 {
			t.Errorf("after a vanished client the mailbox holds %d messages, want 7", n)
		}
	})
}
