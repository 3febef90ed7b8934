package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"

	"appnet.dev/imap"
)

// imapChapter completes Alice → Bob: the messages are in Bob's mailbox on
// his mail server (hamburger.edu); Bob's user agent logs in over IMAP,
// lists INBOX, reads Alice's message, files it into a folder and deletes
// the other one. The messages stay on the server: that is IMAP.
func imapChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	users := &imap.Users{Dir: filepath.Join(dir, "mail"), Passwords: map[string]string{"bob": "hunter2"}}
	store, err := users.Store("bob")
	if err != nil {
		return "", err
	}
	inbox, err := store.Mailbox("INBOX")
	if err != nil {
		return "", err
	}
	// What the SMTP chapter's server put in Bob's mailbox.
	for _, m := range []string{
		"From: Alice <alice@crepes.fr>\r\nTo: bob@hamburger.edu\r\nSubject: Searching for the meaning of life\r\n" +
			"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nDo you like ketchup?\r\nHow about pickles?\r\n",
		"From: offers@netcinema.com\r\nTo: bob@hamburger.edu\r\nSubject: New movies this week\r\n" +
			"Date: Wed, 25 Nov 2026 10:05:00 +0000\r\n\r\nStream them all from KingCDN.\r\n",
	} {
		if _, err := inbox.Deliver(strings.NewReader(m)); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(w, "Bob's mailbox on hamburger.edu holds 2 messages (Maildir %s).\n", store.Root())

	srv := &imap.Server{Hostname: "hamburger.edu", Backend: users, AllowInsecureAuth: true}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-done
	}()
	fmt.Fprintf(w, "Bob's user agent connects to the IMAP server at %v.\n\n", ln.Addr())

	c, err := imap.Dial(ctx, ln.Addr().String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.Trace = w
	if err := c.Login(ctx, "bob", "hunter2"); err != nil {
		return "", err
	}
	if _, err := c.List(ctx, "", "*"); err != nil {
		return "", err
	}
	if _, err := c.Select(ctx, "INBOX", false); err != nil {
		return "", err
	}
	var alice, other uint32
	err = c.Fetch(ctx, imap.SeqSet{{Start: 1, Stop: 0}}, imap.FetchOptions{Items: []string{"UID", "FLAGS", "ENVELOPE"}}, func(m *imap.FetchMessage) error {
		if m.Envelope != nil && len(m.Envelope.From) > 0 && m.Envelope.From[0].Host == "crepes.fr" {
			alice = m.UID
		} else {
			other = m.UID
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if alice == 0 || other == 0 {
		return "", fmt.Errorf("INBOX does not hold Alice's message and another")
	}
	var text string
	err = c.Fetch(ctx, imap.SeqSetOf(alice), imap.FetchOptions{UID: true, Items: []string{"BODY[TEXT]"}}, func(m *imap.FetchMessage) error {
		text = string(m.Body["BODY[TEXT]"])
		return nil
	})
	if err != nil {
		return "", err
	}
	if err := c.Create(ctx, "Crepes"); err != nil {
		return "", err
	}
	if err := c.Move(ctx, imap.SeqSetOf(alice), true, "Crepes"); err != nil {
		return "", err
	}
	if _, err := c.Store(ctx, imap.SeqSetOf(other), true, "+FLAGS", []string{`\Deleted`}); err != nil {
		return "", err
	}
	if _, err := c.Expunge(ctx); err != nil {
		return "", err
	}
	st, err := c.Status(ctx, "Crepes")
	if err != nil {
		return "", err
	}
	if err := c.Logout(ctx); err != nil {
		return "", err
	}
	msgs, err := inbox.Sync()
	if err != nil {
		return "", err
	}
	firstLine, _, _ := strings.Cut(text, "\r\n")
	return fmt.Sprintf("Bob read %q, filed it in Crepes (%d message), deleted the ad; INBOX now holds %d",
		firstLine, st.Messages, len(msgs)), nil
}
