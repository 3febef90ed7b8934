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

// asWrittenCases are messages whose ENVELOPE and BODYSTRUCTURE depend on
// reporting the header as written rather than as smtp/message decodes it:
// encoded display and group names, types and parameters in odd case,
// RFC 2231 values and continuations, encoded words in quoted parameters,
// repeated parameters, a disposition in odd case, and a whole message of
// type message/rfc822.
var asWrittenCases = []string{
	"From: =?UTF-8?Q?Andr=C3=A9?= Pirard <andre@crepes.fr>\r\n" +
		"To: =?UTF-8?Q?Les_cr=C3=AApes?=: alice@crepes.fr, \"Bob \\\"B\\\"\" <bob@hamburger.edu>;\r\n" +
		"Subject: names\r\n\r\nhello\r\n",
	"From: alice@crepes.fr\r\nSubject: parameters\r\n" +
		"Content-Type: Multipart/Mixed; Boundary=\"b\"; X-Extra=1\r\n\r\n" +
		"--b\r\nContent-Type: TEXT/Plain; Format=flowed; DelSp=yes\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: application/pdf; name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?=\"; name=second\r\n" +
		"Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; Size=4\r\n\r\n%PDF\r\n" +
		"--b--\r\n",
	"From: alice@crepes.fr\r\nSubject: rfc822\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: bob@hamburger.edu\r\nSubject: inner\r\n\r\nhello\r\n",
	"From: alice@crepes.fr\r\nSubject: continuations\r\n" +
		"Content-Type: application/octet-stream; title*1=\" suzette\"; title*0=crepe;\r\n" +
		" name*0*=UTF-8''cr%C3%AApe%20; x=y; name*1*=suzette.txt\r\n" +
		"Content-Disposition: Attachment; filename*0=\"a b\"; filename*1=c\r\n\r\nbody\r\n",
}

// TestAsWrittenSameAsDovecot compares ENVELOPE, BODYSTRUCTURE and the
// sections that depend on part numbering with Dovecot's for asWrittenCases.
func TestAsWrittenSameAsDovecot(t *testing.T) {
	root := t.TempDir()
	store, err := maildir.Open(filepath.Join(root, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	date := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, m := range asWrittenCases {
		if _, err := inbox.Append(strings.NewReader(m), nil, date, 0); err != nil {
			t.Fatal(err)
		}
	}
	dc := newDovecot(t, store.Root())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Sections that depend on part numbering (Part.Lookup), above all for
	// the whole message of type message/rfc822 and for 1.1 of a message
	// that is not a multipart.
	items := []string{"BODY.PEEK[1]", "BODY.PEEK[1.1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[1.HEADER]",
		"BODY.PEEK[1.TEXT]", "BODY.PEEK[2]", "BODY.PEEK[2.1]", "BODY.PEEK[1.2]"}
	sections := func(c *Client) map[uint32]map[string]string {
		out := map[uint32]map[string]string{}
		err := c.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: items}, func(m *FetchMessage) error {
			out[m.Seq] = map[string]string{}
			for k, v := range m.Body {
				out[m.Seq][k] = string(v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ref := dc.client(t)
	want := fetchAll(ctx, t, ref)
	wantSections := sections(ref)

	srv := &Server{Backend: BackendFunc(func(context.Context, string, string) (Mailboxes, error) { return Maildir(store), nil }), AllowInsecureAuth: true}
	a, b := net.Pipe()
	go srv.ServeConn(a)
	ours := NewClient(b)
	defer ours.Close()
	if err := ours.Login(ctx, "bob", "x"); err != nil {
		t.Fatal(err)
	}
	got := fetchAll(ctx, t, ours)
	gotSections := sections(ours)
	for seq := uint32(1); seq <= uint32(len(asWrittenCases)); seq++ {
		g, w := got[seq], want[seq]
		if g == nil || w == nil {
			t.Fatalf("message %d missing: ours %v, Dovecot's %v", seq, g != nil, w != nil)
		}
		for _, item := range []string{"ENVELOPE", "BODYSTRUCTURE"} {
			if diff := cmp.Diff(w.Raw[item], g.Raw[item]); diff != "" {
				t.Errorf("message %d: %s differs from Dovecot's (-dovecot +ours):\n%s", seq, item, diff)
			}
		}
		if len(wantSections[seq]) == 0 {
			t.Errorf("message %d: Dovecot gave no sections", seq)
		}
		if diff := cmp.Diff(wantSections[seq], gotSections[seq]); diff != "" {
			t.Errorf("message %d: sections differ from Dovecot's (-dovecot +ours):\n%s", seq, diff)
		}
	}
}
