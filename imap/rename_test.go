package imap

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"appnet.dev/imap/maildir"
)

// renameInboxResult is what a client sees after RENAME INBOX Old.
type renameInboxResult struct {
	Inbox, Old, Unseen uint32
	Flags              [][]string
	Bodies             []string
	Folders            []string
}

// renameInbox renames INBOX to Old through c, logged in, and reports what
// is left.
func renameInbox(ctx context.Context, t *testing.T, c *Client) renameInboxResult {
	t.Helper()
	if err := c.Rename(ctx, "INBOX", "Old"); err != nil {
		t.Fatalf("RENAME INBOX Old: %v", err)
	}
	var r renameInboxResult
	in, err := c.Status(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	old, err := c.Status(ctx, "Old")
	if err != nil {
		t.Fatal(err)
	}
	r.Inbox, r.Old, r.Unseen = in.Messages, old.Messages, old.Unseen
	list, err := c.List(ctx, "", "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list {
		r.Folders = append(r.Folders, m.Name)
	}
	if _, err := c.Select(ctx, "Old", true); err != nil {
		t.Fatal(err)
	}
	err = c.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: []string{"FLAGS", "BODY.PEEK[]"}}, func(m *FetchMessage) error {
		r.Flags = append(r.Flags, m.Flags)
		r.Bodies = append(r.Bodies, string(m.Body["BODY[]"]))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// renameInboxStore makes a Maildir with three messages in INBOX, one
// seen, and a folder Archive holding one.
func renameInboxStore(t *testing.T) *maildir.Store {
	t.Helper()
	store, err := maildir.Open(filepath.Join(t.TempDir(), "bob"))
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	date := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for i, flags := range [][]string{{`\Seen`}, nil, {`\Flagged`}} {
		msg := strings.Replace(aliceMsg, "Hi Bob", "Message "+string(rune('1'+i)), 1)
		if _, err := inbox.Append(strings.NewReader(msg), flags, date, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Create("Archive"); err != nil {
		t.Fatal(err)
	}
	arch, _ := store.Mailbox("Archive")
	if _, err := arch.Append(strings.NewReader(aliceMsg), nil, date, 0); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestRenameInbox: RENAME INBOX moves every message to the new folder with
// its flags and leaves INBOX, empty, and the other folders alone (RFC 3501
// §6.3.5); Dovecot reads the result.
func TestRenameInbox(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := renameInboxStore(t)
	srv := &Server{Backend: BackendFunc(func(context.Context, string, string) (Mailboxes, error) { return Maildir(store), nil }), AllowInsecureAuth: true}
	a, b := net.Pipe()
	go srv.ServeConn(a)
	ours := NewClient(b)
	defer ours.Close()
	if err := ours.Login(ctx, "bob", "x"); err != nil {
		t.Fatal(err)
	}
	got := renameInbox(ctx, t, ours)
	want := renameInboxResult{
		Inbox: 0, Old: 3, Unseen: 2,
		Flags:   [][]string{{`\Seen`, `\Recent`}, {`\Recent`}, {`\Flagged`, `\Recent`}},
		Folders: []string{"INBOX", "Archive", "Old"},
	}
	for i := 0; i < 3; i++ {
		want.Bodies = append(want.Bodies, strings.Replace(aliceMsg, "Hi Bob", "Message "+string(rune('1'+i)), 1))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after RENAME INBOX Old (-want +got):\n%s", diff)
	}
	if err := ours.Rename(ctx, "Archive", "inbox"); err == nil {
		t.Errorf("RENAME to INBOX succeeded")
	}
	if err := ours.Rename(ctx, "INBOX", "Old"); err == nil {
		t.Errorf("RENAME INBOX onto an existing folder succeeded")
	}

	// Dovecot refuses RENAME INBOX on a Maildir ("NO [CANNOT] Renaming
	// INBOX isn't supported"), so it cannot be the reference; it reads the
	// folders we left instead.
	ours.Logout(ctx)
	dc := newDovecot(t, store.Root())
	c := dc.client(t)
	var seen renameInboxResult
	for _, n := range []string{"INBOX", "Old"} {
		st, err := c.Status(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if n == "INBOX" {
			seen.Inbox = st.Messages
		} else {
			seen.Old, seen.Unseen = st.Messages, st.Unseen
		}
	}
	if seen.Inbox != 0 || seen.Old != 3 || seen.Unseen != 2 {
		t.Errorf("Dovecot reads INBOX %d, Old %d (%d unseen); want 0, 3 (2 unseen)", seen.Inbox, seen.Old, seen.Unseen)
	}
}
