package imap_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"appnet.dev/imap"
	"appnet.dev/imap/maildir"
)

// Bob's user agent reads the message Alice sent him: the slide's mail
// access step, with the dialogue printed as the slides print it.
func Example() {
	dir, _ := os.MkdirTemp("", "imap-example-")
	defer os.RemoveAll(dir)
	store, _ := maildir.Open(dir)
	store.Now = func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) }
	inbox, _ := store.Mailbox("INBOX")
	inbox.Deliver(strings.NewReader("From: alice@crepes.fr\r\nTo: bob@hamburger.edu\r\n" +
		"Subject: Searching for the meaning of life\r\n\r\nDo you like ketchup?\r\n"))
	bob := imap.Maildir(store) // Bob's mailboxes, as the server sees them

	srv := &imap.Server{
		Hostname: "hamburger.edu",
		Backend: imap.BackendFunc(func(ctx context.Context, user, pass string) (imap.Mailboxes, error) {
			if user != "bob" || pass != "hunter2" {
				return nil, imap.ErrAuthFailed
			}
			return bob, nil
		}),
		AllowInsecureAuth: true,
	}
	serverEnd, clientEnd := net.Pipe()
	go srv.ServeConn(serverEnd)

	ctx := context.Background()
	c := imap.NewClient(clientEnd)
	c.Trace = os.Stdout
	c.Login(ctx, "bob", "hunter2")
	c.Select(ctx, "INBOX", false)
	c.Fetch(ctx, imap.SeqSetOf(1), imap.FetchOptions{Items: []string{"BODY[TEXT]"}}, func(m *imap.FetchMessage) error {
		fmt.Printf("-- Bob reads: %q\n", m.Body["BODY[TEXT]"])
		return nil
	})
	c.Logout(ctx)
	// Output:
	// S: * OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR UIDPLUS MULTIAPPEND MOVE IDLE ENABLE ID UNSELECT CHILDREN NAMESPACE BINARY APPENDLIMIT=33554432 AUTH=PLAIN] hamburger.edu IMAP4rev1 service ready
	// C: a1 LOGIN bob <redacted>
	// S: a1 OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR UIDPLUS MULTIAPPEND MOVE IDLE ENABLE ID UNSELECT CHILDREN NAMESPACE BINARY APPENDLIMIT=33554432] Logged in
	// C: a2 SELECT INBOX
	// S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
	// S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted
	// S: * 1 EXISTS
	// S: * 1 RECENT
	// S: * OK [UNSEEN 1] First unseen
	// S: * OK [UIDVALIDITY 1795600800] UIDs valid
	// S: * OK [UIDNEXT 2] Predicted next UID
	// S: a2 OK [READ-WRITE] SELECT completed
	// C: a3 FETCH 1 (BODY[TEXT])
	// S: * 1 FETCH (BODY[TEXT] {22}
	// S: Do you like ketchup?
	// S:  FLAGS (\Seen \Recent))
	// S: a3 OK FETCH completed
	// -- Bob reads: "Do you like ketchup?\r\n"
	// C: a4 LOGOUT
	// S: * BYE hamburger.edu logging out
	// S: a4 OK LOGOUT completed
}

func ExampleParseSeqSet() {
	set, _ := imap.ParseSeqSet("1:3,7,10:*")
	for _, n := range []uint32{2, 5, 7, 12} {
		fmt.Println(n, set.Contains(n, 12))
	}
	// Output:
	// 2 true
	// 5 false
	// 7 true
	// 12 true
}

func ExampleEncodeMailboxName() {
	fmt.Println(imap.EncodeMailboxName("Entwürfe"))
	name, _ := imap.DecodeMailboxName("Entw&APw-rfe")
	fmt.Println(name)
	// Output:
	// Entw&APw-rfe
	// Entwürfe
}
