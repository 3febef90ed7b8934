package imap

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMailboxCommands: CREATE, DELETE, RENAME, SELECT and COPY get the
// same answers, response codes included, over each Backend.
func TestMailboxCommands(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, nil)
		if err := bob.deliver(aliceMsg); err != nil {
			t.Fatal(err)
		}
		s := dialRaw(t, addr)
		s.do("l", "LOGIN bob hunter2")
		list := func() []string {
			t.Helper()
			var names []string
			for _, l := range s.do("ls", `LIST "" *`) {
				if name, ok := strings.CutPrefix(l, "* LIST "); ok {
					names = append(names, name)
				}
			}
			return names
		}
		for _, c := range []struct{ command, want string }{
			{"CREATE Archive.2026", "OK"}, // and Archive above it
			{"CREATE Archive", "NO [ALREADYEXISTS]"},
			{"CREATE inbox", "NO [ALREADYEXISTS]"},
			{"CREATE a..b", "NO [CANNOT]"},
			{"DELETE Archive", "NO [CANNOT]"}, // it has a child
			{"DELETE INBOX", "NO [CANNOT]"},
			{"DELETE Nowhere", "NO [NONEXISTENT]"},
			{"RENAME Nowhere Elsewhere", "NO [NONEXISTENT]"},
			{"RENAME Archive INBOX", "NO [CANNOT]"},
			{"SELECT Nowhere", "NO [NONEXISTENT]"},
			{"RENAME Archive Old", "OK"}, // with Archive.2026
		} {
			if got := s.do("c", c.command); !strings.HasPrefix(got[len(got)-1], "c "+c.want) {
				t.Errorf("%s: %q, want %s", c.command, got, c.want)
			}
		}
		want := []string{`(\HasNoChildren) "." INBOX`, `(\HasChildren) "." Old`, `(\HasNoChildren) "." Old.2026`}
		if diff := cmp.Diff(want, list()); diff != "" {
			t.Errorf("LIST (-want +got):\n%s", diff)
		}
		s.do("s", "SELECT INBOX")
		if got := s.do("c", "COPY 1 Nowhere"); !strings.HasPrefix(got[len(got)-1], "c NO [TRYCREATE]") {
			t.Errorf("COPY to a missing mailbox: %q", got)
		}
		// RENAME INBOX moves its messages to a new mailbox and leaves
		// INBOX, empty, in its place.
		if got := s.do("c", "RENAME INBOX Saved"); !strings.HasPrefix(got[len(got)-1], "c OK") {
			t.Errorf("RENAME INBOX: %q", got)
		}
		if got := s.do("st", "STATUS Saved (MESSAGES)"); !has(got, "* STATUS Saved (MESSAGES 1)") {
			t.Errorf("STATUS of the renamed INBOX: %q", got)
		}
		if got := s.do("st", "STATUS INBOX (MESSAGES UIDNEXT)"); !has(got, "* STATUS INBOX (MESSAGES 0 UIDNEXT 2)") {
			t.Errorf("STATUS of INBOX after RENAME: %q", got)
		}
	})
}

// TestMemoryUIDValidity: a mailbox deleted and made again in the same
// second gets a higher UIDVALIDITY, since its UIDs start over; a mailbox
// made for the first time takes the clock's.
func TestMemoryUIDValidity(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	bob := (&MemoryBackend{Now: func() time.Time { return now }}).Mailboxes("bob")
	validity := func() uint32 {
		t.Helper()
		box, err := bob.Mailbox("Archive")
		if err != nil {
			t.Fatal(err)
		}
		return box.UIDValidity()
	}
	if err := bob.Create("Archive"); err != nil {
		t.Fatal(err)
	}
	first := validity()
	if first != uint32(now.Unix()) {
		t.Errorf("UIDVALIDITY %d, want the clock's %d", first, now.Unix())
	}
	if err := bob.Delete("Archive"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Mailbox("Archive"); !errors.Is(err, ErrNoMailbox) {
		t.Errorf("Mailbox after Delete: %v, want ErrNoMailbox", err)
	}
	if err := bob.Create("Archive"); err != nil {
		t.Fatal(err)
	}
	if again := validity(); again <= first {
		t.Errorf("UIDVALIDITY %d after DELETE and CREATE, want more than %d", again, first)
	}
}
