package main

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"appnet.dev/smtp/message"
)

func TestReadLetter(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want letter
	}{{
		name: "plain ASCII",
		raw:  "From: Alice <alice@crepes.fr>\r\nTo: bob@hamburger.edu\r\nSubject: Searching for the meaning of life\r\nDate: Thu, 26 Nov 2026 09:00:00 +0100\r\n\r\nDo you like ketchup?\r\nHow about pickles?\r\n",
		want: letter{From: "Alice <alice@crepes.fr>", To: "bob@hamburger.edu", Subject: "Searching for the meaning of life",
			Date: "26 Nov 2026 09:00", Text: "Do you like ketchup?\nHow about pickles?\n"},
	}, {
		name: "encoded words, quoted-printable UTF-8",
		raw: "From: =?UTF-8?Q?Andr=C3=A9?= <andre@crepes.fr>\r\nSubject: =?UTF-8?B?Q2Fmw6k=?=\r\n" +
			"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nun caf=C3=A9, s'il vous pla=\r\n=C3=AEt\r\n",
		want: letter{From: "André <andre@crepes.fr>", Subject: "Café", Text: "un café, s'il vous plaît\n"},
	}, {
		name: "ISO-8859-1",
		raw:  "Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe\r\n",
		want: letter{Subject: "x", Text: "Grüße\n"},
	}, {
		name: "Windows-1252",
		raw:  "Subject: x\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\x93\x805\x94\r\n",
		want: letter{Subject: "x", Text: "“€5”\n"},
	}, {
		name: "alternative: the plain text, not the HTML",
		raw: "Subject: alt\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n" +
			"--b\r\nContent-Type: text/html\r\n\r\n<p>rich</p>\r\n--b--\r\n",
		want: letter{Subject: "alt", Text: "plain"},
	}, {
		name: "HTML only",
		raw:  "Subject: h\r\nContent-Type: text/html\r\n\r\n<p>rich</p>\r\n",
		want: letter{Subject: "h", Note: "This message has no plain-text part; its parts are listed below.",
			Attachments: []attachment{{Name: "(unnamed)", Type: "text/html", Size: "13 B"}}},
	}, {
		name: "attachments by name only",
		raw: "Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nsee attached\r\n" +
			"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename*=UTF-8''gr%C3%BC%C3%9Fe.png\r\n\r\niVBORw0KGgo=\r\n" +
			"--b\r\nContent-Type: text/plain; name=\"notes.txt\"\r\n\r\nnot the body\r\n" +
			"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: =?UTF-8?Q?fw=C3=A9?=\r\n\r\ninner\r\n--b--\r\n",
		want: letter{Subject: "a", Text: "see attached", Attachments: []attachment{
			{Name: "grüße.png", Type: "image/png", Size: "8 B"},
			{Name: "notes.txt", Type: "text/plain", Size: "12 B"},
			{Name: "forwarded message: fwé", Type: "message/rfc822", Size: "38 B"},
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readLetter([]byte(tt.raw))
			if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(letter{}), cmpopts.IgnoreFields(letter{}, "hasText")); diff != "" {
				t.Errorf("readLetter (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDraftBuild reads what the compose form builds back with package
// message: the header fields a user agent must write, and the text.
func TestDraftBuild(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	d := draft{To: "Alice <alice@hamburger.edu>, carol@hamburger.edu", Subject: "Grüße\r\nBcc: everyone@crepes.fr", Body: "line one\r\nline twö"}
	to, err := d.recipients()
	if err != nil {
		t.Fatal(err)
	}
	raw := d.build(message.Address{Local: "bob", Domain: "hamburger.edu"}, to, now)
	m, err := message.ReadMessage(strings.NewReader(string(raw)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := message.DecodeWords(m.Header.Get("Subject"))
	got := map[string]string{"Subject": subject, "Body": string(m.Body)}
	for _, k := range []string{"From", "To", "Date", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Bcc"} {
		got[k] = m.Header.Get(k)
	}
	want := map[string]string{
		"From": "bob@hamburger.edu", "To": "Alice <alice@hamburger.edu>, carol@hamburger.edu",
		"Subject": "Grüße  Bcc: everyone@crepes.fr", "Date": "Thu, 26 Nov 2026 09:00:00 +0000",
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
		"Bcc": "", "Body": "line one\r\nline twö\r\n",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("built message (-want +got):\n%s", diff)
	}
	if id := m.Header.Get("Message-ID"); !strings.HasSuffix(id, "@hamburger.edu>") {
		t.Errorf("Message-ID %q", id)
	}
	for _, bad := range []string{"", "   ", "undisclosed-recipients:;", "not an address", strings.Repeat("a@b.c,", maxRecipients+1)} {
		if _, err := (draft{To: bad}).recipients(); err == nil {
			t.Errorf("recipients(%q) accepted", bad)
		}
	}
}

// FuzzReadLetter: whatever a message holds, reading it gives valid UTF-8
// and never panics.
func FuzzReadLetter(f *testing.F) {
	f.Add([]byte("Subject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\nhi\r\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\nx\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\ny\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n8sXT1A==\r\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=b\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l := readLetter(raw)
		for _, s := range []string{l.From, l.To, l.Cc, l.Subject, l.Text} {
			if !utf8.ValidString(s) && utf8.Valid(raw) {
				t.Errorf("invalid UTF-8 %q from valid input", s)
			}
		}
		if !utf8.ValidString(l.Text) {
			t.Errorf("text is not UTF-8: %q", l.Text)
		}
	})
}
