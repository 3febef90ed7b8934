package imap

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestExpungeSeenByOtherSession checks the per-session sequence view: an
// expunge by one session reaches another only when the protocol allows
// (not during FETCH, STORE or SEARCH; at NOOP), and new mail comes as
// EXISTS.
func TestExpungeSeenByOtherSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, nil)
		for i := 0; i < 3; i++ {
			if err := bob.deliver(aliceMsg); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		login := func() *Client {
			c, err := Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			if err := c.Login(ctx, "bob", "hunter2"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Select(ctx, "INBOX", false); err != nil {
				t.Fatal(err)
			}
			return c
		}
		a, b := login(), login()
		var bUpdates []Update
		b.Updates = func(u Update) { bUpdates = append(bUpdates, u) }

		// A deletes message 2.
		if _, err := a.Store(ctx, SeqSetOf(2), false, "+FLAGS.SILENT", []string{`\Deleted`}); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Expunge(ctx); err != nil || !cmp.Equal(got, []uint32{2}) {
			t.Fatalf("A's EXPUNGE = %v, %v", got, err)
		}
		// B's FETCH still sees three messages and no EXPUNGE.
		n := 0
		if err := b.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: []string{"UID"}}, func(*FetchMessage) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		for _, u := range bUpdates {
			if u.Kind == "EXPUNGE" {
				t.Errorf("EXPUNGE reported during FETCH: %v", bUpdates)
			}
		}
		if n != 2 && n != 3 {
			t.Errorf("B fetched %d messages", n)
		}
		// NOOP may report it, and the new delivery too, \Recent to B, the
		// first session to hear of it.
		if err := bob.deliver(aliceMsg); err != nil {
			t.Fatal(err)
		}
		bUpdates = nil
		if err := b.Noop(ctx); err != nil {
			t.Fatal(err)
		}
		want := []Update{{Kind: "EXPUNGE", Num: 2}, {Kind: "EXISTS", Num: 3}, {Kind: "RECENT", Num: 1}}
		if diff := cmp.Diff(want, bUpdates); diff != "" {
			t.Errorf("B's updates at NOOP (-want +got):\n%s", diff)
		}
		// Both agree on the UIDs now.
		uidsOf := func(c *Client) []uint32 {
			var out []uint32
			c.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: []string{"UID"}}, func(m *FetchMessage) error {
				out = append(out, m.UID)
				return nil
			})
			return out
		}
		a.Noop(ctx)
		if ua, ub := uidsOf(a), uidsOf(b); !cmp.Equal(ua, ub) || !cmp.Equal(ub, []uint32{1, 3, 4}) {
			t.Errorf("A sees %v, B sees %v, want [1 3 4]", ua, ub)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	addr, _, _ := startServer(t, func(s *Server) { s.IdleTimeout = 100 * time.Millisecond })
	s := dialRaw(t, addr)
	s.send("a1 LOGIN bob hunter2\r\na2 SELECT INBOX\r\n")
	s.until("a2")
	s.send("a3 IDLE\r\n")
	if got := s.line(); !strings.HasPrefix(got, "+") {
		t.Fatalf("IDLE: %q", got)
	}
	if got := s.line(); !strings.HasPrefix(got, "* BYE") {
		t.Errorf("after the IDLE timeout: %q, want * BYE", got)
	}
}
