package imap

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"appnet.dev/imap/maildir"
)

const aliceMsg = "From: Alice <alice@crepes.fr>\r\nTo: Bob <bob@hamburger.edu>\r\n" +
	"Subject: Searching for the meaning of life\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <1@crepes.fr>\r\n\r\nHi Bob!\r\n"

func TestClientAgainstServer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := Dial(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login(ctx, "bob", "wrong"); err == nil {
			t.Fatal("login with a wrong password succeeded")
		} else {
			var st *StatusResponse
			if !errors.As(err, &st) || st.Type != "NO" || st.Code != "AUTHENTICATIONFAILED" {
				t.Fatalf("wrong password: %v", err)
			}
		}
		if err := c.Login(ctx, "bob", "hunter2"); err != nil {
			t.Fatal(err)
		}
		if err := bob.deliver(aliceMsg); err != nil {
			t.Fatal(err)
		}
		uid, err := c.Append(ctx, "INBOX", []string{`\Seen`}, time.Time{}, strings.NewReader(aliceMsg), int64(len(aliceMsg)))
		if err != nil || uid != 2 {
			t.Fatalf("Append = %d, %v; want UID 2", uid, err)
		}
		if err := c.Create(ctx, "Archive"); err != nil {
			t.Fatal(err)
		}
		boxes, err := c.List(ctx, "", "*")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range boxes {
			names = append(names, b.Name)
		}
		if diff := cmp.Diff([]string{"INBOX", "Archive"}, names); diff != "" {
			t.Errorf("List (-want +got):\n%s", diff)
		}
		st, err := c.Select(ctx, "INBOX", false)
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages != 2 || st.UIDNext != 3 || st.Unseen != 1 {
			t.Errorf("Select = %+v", st)
		}
		var got []*FetchMessage
		err = c.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: []string{"UID", "FLAGS", "ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE", "BODY.PEEK[TEXT]"}}, func(m *FetchMessage) error {
			got = append(got, m)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("fetched %d messages", len(got))
		}
		m := got[0]
		if m.Envelope.Subject != "Searching for the meaning of life" || m.Envelope.From[0].String() != "Alice <alice@crepes.fr>" {
			t.Errorf("envelope %+v", m.Envelope)
		}
		if m.BodyStructure.Type != "text" || m.BodyStructure.Lines != 1 || string(m.Body["BODY[TEXT]"]) != "Hi Bob!\r\n" {
			t.Errorf("structure %+v body %q", m.BodyStructure, m.Body)
		}
		if m.Size != int64(len(aliceMsg)) {
			t.Errorf("size %d, want %d", m.Size, len(aliceMsg))
		}
		// Streamed body.
		var streamed string
		err = c.Fetch(ctx, SeqSetOf(2), FetchOptions{UID: true, Items: []string{"BODY[]"}, Body: func(m *FetchMessage, sec string, r io.Reader) error {
			b, err := io.ReadAll(r)
			streamed = sec + ":" + string(b)
			return err
		}}, func(*FetchMessage) error { return nil })
		if err != nil || streamed != "BODY[]:"+aliceMsg {
			t.Errorf("streamed %q, %v", streamed, err)
		}
		found, err := c.Search(ctx, false, "UNSEEN FROM alice")
		if err != nil || !cmp.Equal(found, []uint32{1}) {
			t.Errorf("Search = %v, %v", found, err)
		}
		if _, err := c.Store(ctx, SeqSetOf(1), false, "+FLAGS", []string{`\Flagged`}); err != nil {
			t.Fatal(err)
		}
		var updates []Update
		c.Updates = func(u Update) { updates = append(updates, u) }
		if err := c.Move(ctx, SeqSetOf(1), false, "Archive"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Update{{Kind: "EXPUNGE", Num: 1}}, updates); diff != "" {
			t.Errorf("updates after MOVE (-want +got):\n%s", diff)
		}
		arch, err := c.Status(ctx, "Archive")
		if err != nil || arch.Messages != 1 {
			t.Errorf("Status(Archive) = %+v, %v", arch, err)
		}
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// idleSignal closes idling when the server's "+" for IDLE arrives.
type idleSignal struct {
	net.Conn
	once   sync.Once
	idling chan struct{}
}

func (c *idleSignal) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if strings.Contains(string(p[:n]), "+ idling") {
		c.once.Do(func() { close(c.idling) })
	}
	return n, err
}

func TestIdleSeesDelivery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, kind string) {
		addr, bob, _ := startBob(t, kind, func(s *Server) { s.PollInterval = time.Hour })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		sig := &idleSignal{Conn: conn, idling: make(chan struct{})}
		c := NewClient(sig)
		defer c.Close()
		if err := c.Login(ctx, "bob", "hunter2"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select(ctx, "INBOX", false); err != nil {
			t.Fatal(err)
		}
		delivered := make(chan error, 1)
		go func() {
			select {
			case <-sig.idling:
				delivered <- bob.deliver(aliceMsg)
			case <-ctx.Done():
				delivered <- ctx.Err()
			}
		}()
		var got []Update
		err = c.Idle(ctx, func(u Update) bool {
			got = append(got, u)
			return false // one update is enough
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := <-delivered; err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Update{{Kind: "EXISTS", Num: 1}}, got); diff != "" {
			t.Errorf("IDLE updates (-want +got):\n%s", diff)
		}
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestIdleSeesOtherProcess delivers through a second Store, as a mail
// server in another process would: the idling session finds the message
// by polling.
func TestIdleSeesOtherProcess(t *testing.T) {
	addr, store, _ := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	sig := &idleSignal{Conn: conn, idling: make(chan struct{})}
	c := NewClient(sig)
	defer c.Close()
	if err := c.Login(ctx, "bob", "hunter2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	other, err := maildir.Open(store.Root())
	if err != nil {
		t.Fatal(err)
	}
	otherInbox, _ := other.Mailbox("INBOX")
	delivered := make(chan error, 1)
	go func() {
		select {
		case <-sig.idling:
			_, err := otherInbox.Deliver(strings.NewReader(aliceMsg))
			delivered <- err
		case <-ctx.Done():
			delivered <- ctx.Err()
		}
	}()
	var got []Update
	if err := c.Idle(ctx, func(u Update) bool {
		got = append(got, u)
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-delivered; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Update{{Kind: "EXISTS", Num: 1}}, got); diff != "" {
		t.Errorf("IDLE updates (-want +got):\n%s", diff)
	}
}
