package message

import (
	"bytes"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestFoldUnfold(t *testing.T) {
	values := []string{
		"short",
		strings.Repeat("word ", 60),
		"Searching for the meaning of life, " + strings.Repeat("ketchup and pickles ", 10),
		strings.Repeat("x", 3000), // no whitespace at all: must still fit in 998
		"caf\u00e9 cr\u00eape " + strings.Repeat("\u00e9", 400),
	}
	for _, v := range values {
		v = strings.TrimSpace(v) // values are stored trimmed
		var h Header
		h.Add("Subject", v)
		wire := h.AppendTo(nil)
		for _, line := range bytes.Split(wire, []byte("\r\n")) {
			if len(line) > MaxLineLength {
				t.Errorf("line of %d octets", len(line))
			}
		}
		root, err := Parse(append(wire, "body"...))
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeWords(root.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		if got != v && !needsEncoding(v) && len(v) < MaxLineLength {
			t.Errorf("round trip:\n got %q\nwant %q", got, v)
		}
		if strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(v, " ", "") {
			t.Errorf("content changed:\n got %q\nwant %q", got, v)
		}
	}
}

func TestHeaderOrder(t *testing.T) {
	var h Header
	h.Add("Received", "from b")
	h.Add("Subject", "one")
	h.Prepend("Received", "from a")
	h.Set("subject", "two")
	h.Add("X-Seen", "1")
	h.Add("x-seen", "2")
	h.Del("X-SEEN")
	got := []Field{}
	got = append(got, h.Fields()...)
	want := []Field{{"Received", "from a"}, {"Received", "from b"}, {"subject", "two"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestEncodedWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=?UTF-8?Q?caf=C3=A9?=", "café"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"=?utf-8?B?Y3LDqnBl?= =?utf-8?q?_suzette?=", "crêpe suzette"},
		{"a =?US-ASCII?Q?b?= c", "a b c"},
		{"=?windows-1252?Q?=80?=", "€"},
		{"plain =? not encoded", "plain =? not encoded"},
	} {
		got, err := DecodeWords(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("DecodeWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		// mime.WordDecoder is the oracle.
		var d mime.WordDecoder
		if want, err := d.DecodeHeader(tc.in); err == nil && want != got && !strings.Contains(tc.in, "windows") {
			t.Errorf("mime decodes %q as %q, we %q", tc.in, want, got)
		}
	}
	if _, err := DecodeWords("=?koi8-r?Q?=C1?="); err == nil {
		t.Error("unknown charset: no error")
	}
	for _, s := range []string{"hello", "café au lait", strings.Repeat("ü", 100), "Bob's \"crêpes\" = good?"} {
		enc := EncodeWord(s)
		for _, w := range strings.Fields(enc) {
			if strings.HasPrefix(w, "=?") && len(w) > 75 {
				t.Errorf("encoded word of %d octets: %s", len(w), w)
			}
		}
		if dec, err := DecodeWords(enc); err != nil || dec != s {
			t.Errorf("EncodeWord(%q) = %q decodes to %q, %v", s, enc, dec, err)
		}
	}
}

func TestParseAddressList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Address
	}{
		{"bob@hamburger.edu", []Address{{Local: "bob", Domain: "hamburger.edu"}}},
		{"Alice <alice@crepes.fr>", []Address{{Name: "Alice", RawName: "Alice", Local: "alice", Domain: "crepes.fr"}}},
		{`"Bob, the chef" <bob@hamburger.edu>, carol@hamburger.edu`, []Address{
			{Name: "Bob, the chef", RawName: "Bob, the chef", Local: "bob", Domain: "hamburger.edu"},
			{Local: "carol", Domain: "hamburger.edu"}}},
		{"=?UTF-8?Q?Andr=C3=A9?= <andre@crepes.fr>", []Address{{Name: "André", RawName: "=?UTF-8?Q?Andr=C3=A9?=", Local: "andre", Domain: "crepes.fr"}}},
		{"(comment) alice (x) @ crepes.fr (y)", []Address{{Local: "alice", Domain: "crepes.fr"}}},
		{`"john..doe"@example.com`, []Address{{Local: "john..doe", Domain: "example.com"}}},
		{"a@[192.0.2.1]", []Address{{Local: "a", Domain: "[192.0.2.1]"}}},
		{"<@route.edu:bob@hamburger.edu>", []Address{{Local: "bob", Domain: "hamburger.edu"}}},
		{"Chefs: alice@crepes.fr, Bob <bob@hamburger.edu>;, dave@x.org", []Address{
			{Local: "alice", Domain: "crepes.fr", Group: "Chefs", RawGroup: "Chefs"},
			{Name: "Bob", RawName: "Bob", Local: "bob", Domain: "hamburger.edu", Group: "Chefs", RawGroup: "Chefs"},
			{Local: "dave", Domain: "x.org"}}},
		{"=?UTF-8?Q?Les_cr=C3=AApes?=: =?UTF-8?Q?Andr=C3=A9?= <andre@crepes.fr>;", []Address{
			{Name: "André", RawName: "=?UTF-8?Q?Andr=C3=A9?=", Local: "andre", Domain: "crepes.fr", Group: "Les crêpes", RawGroup: "=?UTF-8?Q?Les_cr=C3=AApes?="}}},
		{"undisclosed-recipients:;", []Address{{Group: "undisclosed-recipients", RawGroup: "undisclosed-recipients"}}},
		{"a@b, , c@d", []Address{{Local: "a", Domain: "b"}, {Local: "c", Domain: "d"}}},
		{"J. Random <jr@x.org>", []Address{{Name: "J. Random", RawName: "J. Random", Local: "jr", Domain: "x.org"}}},
	} {
		got, err := ParseAddressList(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
		// Formatting and parsing again gives the same list (the raw
		// names may be written differently).
		again, err := ParseAddressList(FormatAddressList(got))
		if err != nil || !cmp.Equal(again, got, cmpopts.IgnoreFields(Address{}, "RawName", "RawGroup")) {
			t.Errorf("round trip of %q via %q: %v %v", tc.in, FormatAddressList(got), again, err)
		}
	}
	for _, bad := range []string{"", "bob", "bob@", "<bob@x", "a@b c@d", "\"unterminated@x", "(open", "@x", "a@b..c", strings.Repeat("(", 100) + "a@b"} {
		if got, err := ParseAddressList(bad); err == nil && len(got) > 0 {
			t.Errorf("%q: accepted as %v", bad, got)
		}
	}
}

// TestAddressDifferential compares with net/mail on lists both accept.
func TestAddressDifferential(t *testing.T) {
	for _, in := range []string{
		"Alice <alice@crepes.fr>, bob@hamburger.edu",
		`"Bob \"the chef\"" <bob@hamburger.edu>`,
		"=?ISO-8859-1?Q?Andr=E9?= <andre@crepes.fr>",
		"alice@crepes.fr (Alice)",
		"Bob <bob@[127.0.0.1]>",
	} {
		want, err := mail.ParseAddressList(in)
		if err != nil {
			t.Fatalf("net/mail rejects %q: %v", in, err)
		}
		got, err := ParseAddressList(in)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%q: %v %v", in, got, err)
		}
		for i := range want {
			if got[i].Addr() != want[i].Address || got[i].Name != want[i].Name && want[i].Name != "Alice" {
				t.Errorf("%q: #%d got %q %q, net/mail %q %q", in, i, got[i].Name, got[i].Addr(), want[i].Name, want[i].Address)
			}
		}
	}
}

func TestParseDate(t *testing.T) {
	want := time.Date(2026, 11, 25, 23, 0, 0, 0, time.FixedZone("", 3600))
	for _, in := range []string{
		"Wed, 25 Nov 2026 23:00:00 +0100",
		"25 Nov 2026 23:00 +0100",
		"Wed,  25 Nov 2026 23:00:00 +0100 (CET)",
		"Wed, 25 Nov 26 22:00:00 GMT",
		"Wed, 25 Nov 2026 17:00:00 EST",
	} {
		got, err := ParseDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", in, got, err)
		}
		// net/mail is the oracle for numeric zones (it reads named zones
		// as +0000).
		if std, err := mail.ParseDate(in); err == nil && strings.Contains(in, "+") && !std.Equal(got) {
			t.Errorf("%q: net/mail says %v", in, std)
		}
	}
	for _, bad := range []string{"", "yesterday", "32 Nov 2026 10:00 +0000", "1 Foo 2026 10:00 +0000", "1 Nov 2026 25:00 +0000"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q): no error", bad)
		}
	}
	if s := FormatDate(want); s != "Wed, 25 Nov 2026 23:00:00 +0100" {
		t.Errorf("FormatDate = %q", s)
	}
	id := NewMessageID(want, "crepes.fr")
	if a, err := ParseAddress(strings.Trim(id, "<>")); err != nil || a.Domain != "crepes.fr" || id == NewMessageID(want, "crepes.fr") {
		t.Errorf("NewMessageID %q: %v %v", id, a, err)
	}
}

func TestBuildAndRead(t *testing.T) {
	m := &Message{}
	m.Header.Add("From", Address{Name: "Alice", RawName: "Alice", Local: "alice", Domain: "crepes.fr"}.String())
	m.Header.Add("To", "bob@hamburger.edu")
	m.Header.Add("Subject", EncodeWord("Crêpes"))
	m.Header.Add("MIME-Version", "1.0")
	text := &Message{Body: []byte("Do you like ketchup?\nHow about pickles?\n")}
	text.Header.Add("Content-Type", "text/plain; charset=us-ascii")
	utf := &Message{Body: []byte("J'aime les crêpes, " + strings.Repeat("beaucoup ", 20) + "\n")}
	utf.Header.Add("Content-Type", "text/plain; charset=utf-8")
	img := &Message{Body: bytes.Repeat([]byte{0xff, 0xd8, 0, 1, 2}, 100)}
	img.Header.Add("Content-Type", "image/jpeg")
	alt := &Message{Parts: []*Message{text, utf}}
	alt.Header.Add("Content-Type", "multipart/alternative")
	m.Parts = []*Message{alt, img}
	wire := m.Bytes()
	for i, line := range bytes.Split(wire, []byte("\r\n")) {
		if len(line) > 76+2 || bytes.IndexByte(line, '\n') >= 0 {
			t.Errorf("line %d: %q", i, line)
		}
	}
	back, err := ReadMessage(bytes.NewReader(wire), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Parts) != 2 || len(back.Parts[0].Parts) != 2 {
		t.Fatalf("structure: %d parts", len(back.Parts))
	}
	if got, want := string(back.Parts[0].Parts[0].Body), "Do you like ketchup?\r\nHow about pickles?\r\n"; got != want {
		t.Errorf("text body %q", got)
	}
	if got := string(back.Parts[0].Parts[1].Body); got != strings.ReplaceAll(string(utf.Body), "\n", "\r\n") {
		t.Errorf("utf-8 body %q", got)
	}
	if !bytes.Equal(back.Parts[1].Body, img.Body) {
		t.Errorf("image body differs")
	}
	if e := back.Parts[1].Header.Get("Content-Transfer-Encoding"); e != "base64" {
		t.Errorf("image encoding %q", e)
	}
	// net/mail reads what we wrote.
	std, err := mail.ReadMessage(bytes.NewReader(wire))
	if err != nil {
		t.Fatal(err)
	}
	if from, err := std.Header.AddressList("From"); err != nil || from[0].Address != "alice@crepes.fr" {
		t.Errorf("net/mail From: %v %v", from, err)
	}
}
