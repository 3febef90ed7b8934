package message

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// crlf turns the LF line endings of a test literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const nested = `From: Alice <alice@crepes.fr>
To: Bob <bob@hamburger.edu>
Subject: photos
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8

Do you like ketchup?
How about pickles?
--inner
Content-Type: text/html

<p>Do you like ketchup?</p>
--inner--
--outer
Content-Type: image/jpeg
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="crepe.jpg"
Content-ID: <crepe@crepes.fr>
Content-Description: a =?UTF-8?Q?cr=C3=AApe?=

/9j/4AAQ
SkZJRg==
--outer
Content-Type: message/rfc822

From: Carol <carol@hamburger.edu>
Subject: inner

hello
--outer--
epilogue
`

func TestParseNested(t *testing.T) {
	for _, ending := range []string{"LF", "CRLF"} {
		t.Run(ending, func(t *testing.T) {
			raw := nested
			if ending == "CRLF" {
				raw = crlf(raw)
			}
			b := []byte(raw)
			root, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			nl := "\n"
			if ending == "CRLF" {
				nl = "\r\n"
			}
			type want struct {
				path   []int
				mt     string
				header string // a substring the raw header must end with
				body   string
				lines  int64
			}
			for _, w := range []want{
				{[]int{1, 1}, "text/plain", "Content-Type: text/plain; charset=utf-8" + nl + nl, "Do you like ketchup?" + nl + "How about pickles?", 1},
				{[]int{1, 2}, "text/html", "Content-Type: text/html" + nl + nl, "<p>Do you like ketchup?</p>", 0},
				{[]int{2}, "image/jpeg", "Content-Description: a =?UTF-8?Q?cr=C3=AApe?=" + nl + nl, "/9j/4AAQ" + nl + "SkZJRg==", 1},
				{[]int{3}, "message/rfc822", "Content-Type: message/rfc822" + nl + nl, "From: Carol <carol@hamburger.edu>" + nl + "Subject: inner" + nl + nl + "hello", 3},
			} {
				p := root.Lookup(w.path...)
				if p == nil {
					t.Fatalf("part %v missing", w.path)
				}
				if p.MediaType() != w.mt {
					t.Errorf("part %v type %q, want %q", w.path, p.MediaType(), w.mt)
				}
				if h := string(p.HeaderBytes(b)); !strings.HasSuffix(h, w.header) {
					t.Errorf("part %v header %q, want suffix %q", w.path, h, w.header)
				}
				if got := string(p.BodyBytes(b)); got != w.body {
					t.Errorf("part %v body %q, want %q", w.path, got, w.body)
				}
				if p.Lines != w.lines {
					t.Errorf("part %v lines %d, want %d", w.path, p.Lines, w.lines)
				}
			}
			img := root.Lookup(2)
			if img.Disposition != "attachment" || img.DispositionParams["filename"] != "crepe.jpg" ||
				img.ID != "<crepe@crepes.fr>" || img.Description != "a crêpe" || img.Encoding != "base64" {
				t.Errorf("image part: %+v", img)
			}
			if d, err := img.Decode(b); err != nil || !bytes.HasPrefix(d, []byte{0xff, 0xd8, 0xff}) {
				t.Errorf("decoded image %x, %v", d, err)
			}
			// BODY[3.HEADER] is the header of the enclosed message.
			inner := root.Lookup(3).Message
			if got := string(inner.HeaderBytes(b)); got != "From: Carol <carol@hamburger.edu>"+nl+"Subject: inner"+nl+nl {
				t.Errorf("3.HEADER = %q", got)
			}
			if got := root.Lookup(3, 1); got != inner {
				t.Errorf("3.1 should be the enclosed message's body part")
			}
			if root.Header.Get("subject") != "photos" || len(root.Parts) != 3 {
				t.Errorf("root: %q, %d parts", root.Header.Get("subject"), len(root.Parts))
			}
			// The root's body runs to the end of the input.
			if root.BodyOffset+root.BodySize != int64(len(b)) || root.HeaderOffset != 0 || root.HeaderSize != root.BodyOffset {
				t.Errorf("root offsets %+v", root)
			}
			if root.Lines != int64(strings.Count(string(root.BodyBytes(b)), "\n")) {
				t.Errorf("root lines %d", root.Lines)
			}
		})
	}
}

// TestParseDifferential compares the part tree with mime/multipart and
// net/mail on real-shaped messages, including malformed ones.
func TestParseDifferential(t *testing.T) {
	corpus := map[string]string{
		"nested":      crlf(nested),
		"plain":       crlf("From: alice@crepes.fr\nTo: bob@hamburger.edu\nSubject: hi\n\nDo you like ketchup?\n"),
		"folded":      crlf("Subject: a very\n long\n\tsubject\nFrom: a@b\n\nbody\n"),
		"no-close":    crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n"),
		"empty-parts": crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n\n--b\nX: y\n\n--b--\n"),
		"padding":     crlf("Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--b--  \n"),
		"lf-only":     "Content-Type: multipart/mixed; boundary=\"x y\"\n\n--x y\nContent-Type: text/plain\n\nhi\n--x y--\n",
	}
	for name, raw := range corpus {
		t.Run(name, func(t *testing.T) {
			root, err := Parse([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			m, err := mail.ReadMessage(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range m.Header {
				// net/textproto turns a fold into one space; RFC 5322
				// unfolding removes only the CRLF. Compare modulo that.
				if got := root.Header.Values(k); !cmp.Equal(squash(got), squash(v)) {
					t.Errorf("header %s: got %q, net/mail %q", k, got, v)
				}
			}
			body, _ := io.ReadAll(m.Body)
			if got := root.BodyBytes([]byte(raw)); !bytes.Equal(got, body) {
				t.Errorf("body differs from net/mail:\n%q\n%q", got, body)
			}
			if !root.IsMultipart() {
				return
			}
			// Compare every part with mime/multipart, one level down.
			mr := multipart.NewReader(bytes.NewReader(body), root.Params["boundary"])
			for i := 0; ; i++ {
				p, err := mr.NextRawPart()
				if err != nil {
					if i != len(root.Parts) {
						t.Errorf("mime/multipart found %d parts, we %d (%v)", i, len(root.Parts), err)
					}
					break
				}
				if i >= len(root.Parts) {
					t.Fatalf("mime/multipart found more than our %d parts", len(root.Parts))
				}
				want, _ := io.ReadAll(p)
				ours := root.Parts[i]
				got := ours.BodyBytes([]byte(raw))
				if name == "no-close" && i == len(root.Parts)-1 {
					// Malformed: no closing boundary. We keep the body to the
					// end of input, as IMAP servers do; mime/multipart drops
					// the last line break.
					got = bytes.TrimSuffix(got, []byte("\r\n"))
				}
				if !bytes.Equal(got, want) {
					t.Errorf("part %d body %q, mime/multipart %q", i+1, got, want)
				}
				for k, v := range p.Header {
					if got := ours.Header.Values(k); !cmp.Equal(got, v) {
						t.Errorf("part %d header %s: %q vs %q", i+1, k, got, v)
					}
				}
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	raw := []byte(crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: x@y\n\nhi\n--d--\n"))
	root, _ := Parse(raw)
	if len(root.Parts) != 1 || root.Parts[0].MediaType() != "message/rfc822" || root.Parts[0].Message == nil {
		t.Fatalf("digest part: %+v", root.Parts)
	}
	plain, _ := Parse([]byte("Subject: x\r\n\r\nhi\r\n"))
	if plain.MediaType() != "text/plain" || plain.Params["charset"] != "us-ascii" || plain.Encoding != "7bit" {
		t.Errorf("defaults: %s %v %s", plain.MediaType(), plain.Params, plain.Encoding)
	}
	// A line that is not a field ends the header.
	odd, _ := Parse([]byte("Subject: x\r\nnot a header\r\nmore\r\n"))
	if got := string(odd.BodyBytes([]byte("Subject: x\r\nnot a header\r\nmore\r\n"))); got != "not a header\r\nmore\r\n" || odd.HeaderSize != 12 {
		t.Errorf("body %q header size %d", got, odd.HeaderSize)
	}
}

// TestParseBounded checks that a huge header is truncated, not kept,
// and that a long line is parsed without holding it.
func TestParseBounded(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	raw := "Subject: " + long + "\r\nFrom: a@b\r\n\r\n" + long + "\r\n"
	p := Parser{MaxHeaderBytes: 1024}
	root, err := p.Parse(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !root.HeaderTruncated || root.Header.Has("Subject") || root.BodySize != int64(len(long)+2) {
		t.Errorf("truncated=%v subject=%v body=%d", root.HeaderTruncated, root.Header.Has("Subject"), root.BodySize)
	}
	// Many nested multiparts stop at MaxDepth.
	var b strings.Builder
	for i := 0; i < 100; i++ {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i) + "\r\n\r\n--b" + strings.Repeat("x", i) + "\r\n")
	}
	deep, err := (&Parser{MaxDepth: 10}).Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for p := deep; len(p.Parts) > 0; p = p.Parts[0] {
		depth++
	}
	if depth != 10 {
		t.Errorf("depth %d, want 10", depth)
	}
}

func TestParseMediaType(t *testing.T) {
	for _, v := range []string{
		`text/plain; charset=us-ascii`,
		`Text/HTML; Charset="UTF-8"`,
		`multipart/mixed; boundary="----=_Part_1"`,
		`attachment; filename="crepe.jpg"; size=12`,
		`application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A`,
		`message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"`,
		`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`,
		`text/plain; name*=utf-8''cr%C3%AApe.txt`,
	} {
		gotT, gotP, err := ParseMediaType(v)
		wantT, wantP, werr := mime.ParseMediaType(v)
		if err != nil || werr != nil {
			t.Errorf("%s: %v / mime: %v", v, err, werr)
			continue
		}
		if gotT != wantT || !cmp.Equal(gotP, wantP) {
			t.Errorf("%s:\n got %s %v\nmime %s %v", v, gotT, gotP, wantT, wantP)
		}
		// And back: formatting then parsing is the identity.
		t2, p2, err := ParseMediaType(FormatMediaType(gotT, gotP))
		if err != nil || t2 != gotT || !cmp.Equal(p2, gotP) {
			t.Errorf("round trip of %s: %s %v %v", v, t2, p2, err)
		}
	}
}

func squash(vs []string) []string {
	var out []string
	for _, v := range vs {
		out = append(out, strings.Join(strings.Fields(v), " "))
	}
	return out
}

// TestAsWritten checks the raw forms IMAP's BODYSTRUCTURE reports: type,
// subtype and parameters as the fields write them, in order, undecoded.
func TestAsWritten(t *testing.T) {
	raw := "Content-Type: Application/PDF; Name=\"r\\\"e.pdf\"; x-mac-type=\"=?utf-8?q?caf=C3=A9?=\";\r\n" +
		" title*0*=UTF-8''cr%C3%AApe%20; title*1*=suzette\r\n" +
		"Content-Disposition: ATTACHMENT; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; Size=42\r\n\r\nbody"
	p, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != "application" || p.Subtype != "pdf" || p.RawType != "Application" || p.RawSubtype != "PDF" {
		t.Errorf("type %q/%q, raw %q/%q", p.Type, p.Subtype, p.RawType, p.RawSubtype)
	}
	want := []Param{{"Name", `r"e.pdf`}, {"x-mac-type", "=?utf-8?q?caf=C3=A9?="},
		{"title*0*", "UTF-8''cr%C3%AApe%20"}, {"title*1*", "suzette"}}
	if diff := cmp.Diff(want, p.ParamList); diff != "" {
		t.Errorf("ParamList (-want +got):\n%s", diff)
	}
	// The map keeps its decoded, lowercased view.
	if p.Params["name"] != `r"e.pdf` || p.Params["x-mac-type"] != "café" || p.Params["title"] != "crêpe suzette" {
		t.Errorf("Params %q", p.Params)
	}
	if diff := cmp.Diff([]Param{{"filename*", "UTF-8''r%C3%A9sum%C3%A9.pdf"}, {"Size", "42"}}, p.DispositionParamList); diff != "" {
		t.Errorf("DispositionParamList (-want +got):\n%s", diff)
	}
	if p.Disposition != "attachment" || p.DispositionParams["filename"] != "résumé.pdf" {
		t.Errorf("disposition %q %q", p.Disposition, p.DispositionParams)
	}

	// Without a Content-Type the defaults are the raw forms too, and the
	// default charset is in Params only.
	p, _ = Parse([]byte("Subject: x\r\n\r\nbody"))
	if p.RawType != "text" || p.RawSubtype != "plain" || len(p.ParamList) != 0 || p.Params["charset"] != "us-ascii" {
		t.Errorf("defaults: %q/%q %q %q", p.RawType, p.RawSubtype, p.ParamList, p.Params)
	}
	mt, list, err := ParseParams("Text/Plain; Format=Flowed; charset=\"UTF-8\"")
	if err != nil || mt != "Text/Plain" || !cmp.Equal(list, []Param{{"Format", "Flowed"}, {"charset", "UTF-8"}}) {
		t.Errorf("ParseParams = %q %q %v", mt, list, err)
	}
}

// TestLookupIMAPNumbering checks Lookup against RFC 3501 §6.4.5's
// numbering, including the two cases where it is easy to go wrong.
func TestLookupIMAPNumbering(t *testing.T) {
	parse := func(s string) *Part {
		p, err := Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	single := parse("Subject: one part\n\nhello\n")
	if single.Lookup() != single || single.Lookup(1) != single {
		t.Error("a single-part message is its own part 1")
	}
	if single.Lookup(1, 1) != nil || single.Lookup(2) != nil || single.Lookup(0) != nil {
		t.Error("a single-part message has no part 1.1, 2 or 0")
	}

	wrapped := parse("Content-Type: message/rfc822\n\nSubject: inner\n\nhello\n")
	if got := wrapped.Lookup(1); got != wrapped || string(got.BodyBytes([]byte("Content-Type: message/rfc822\n\nSubject: inner\n\nhello\n"))) != "Subject: inner\n\nhello\n" {
		t.Error("BODY[1] of a message/rfc822 message is the enclosed message, header and all")
	}
	if wrapped.Lookup(1, 1) != wrapped.Message {
		t.Error("1.1 of a message/rfc822 message is the enclosed message's body")
	}

	root := parse(nested)
	inner := root.Lookup(3).Message
	for _, tc := range []struct {
		path []int
		want *Part
	}{
		{[]int{1}, root.Parts[0]},
		{[]int{1, 2}, root.Parts[0].Parts[1]},
		{[]int{1, 3}, nil},
		{[]int{2, 1}, root.Parts[1]}, // a leaf is its own part 1
		{[]int{2, 2}, nil},
		{[]int{3, 1}, inner},
		{[]int{3, 2}, nil},
		{[]int{4}, nil},
	} {
		if got := root.Lookup(tc.path...); got != tc.want {
			t.Errorf("Lookup(%v) = %p, want %p", tc.path, got, tc.want)
		}
	}
}

// TestBlankLineBeforeOuterBoundary: a part whose only line is blank, just
// before an outer boundary, has an empty header and body; the line break
// belongs to the boundary, so the part stays inside its parent.
func TestBlankLineBeforeOuterBoundary(t *testing.T) {
	raw := []byte("Content-Type: multipart/mixed; boundary=\"outer\"\n--outer\n" +
		"Content-Type: multipart/mixed; boundary=inner\n--inner\n\n--outer")
	root, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The second outer part is the empty one the last "--outer" opens.
	if len(root.Parts) != 2 || len(root.Parts[0].Parts) != 1 {
		t.Fatalf("structure: %d parts", len(root.Parts))
	}
	inner, child := root.Parts[0], root.Parts[0].Parts[0]
	end := inner.BodyOffset + inner.BodySize
	if got := string(inner.BodyBytes(raw)); got != "--inner\n" {
		t.Errorf("inner body %q, want %q", got, "--inner\n")
	}
	if child.HeaderOffset != end || child.HeaderSize != 0 || child.BodyOffset != end || child.BodySize != 0 {
		t.Errorf("child header %d+%d body %d+%d, want all at %d and empty",
			child.HeaderOffset, child.HeaderSize, child.BodyOffset, child.BodySize, end)
	}
}

// TestText: a text part's body comes out as UTF-8 whatever its transfer
// encoding and charset, and a charset the package does not know is said.
func TestText(t *testing.T) {
	for _, tc := range []struct {
		name, header, body, want string
		unknown                  bool
	}{
		{"no charset: US-ASCII", "Content-Type: text/plain", "Do you like ketchup?", "Do you like ketchup?", false},
		{"UTF-8, 8bit", "Content-Type: text/plain; charset=utf-8", "un café", "un café", false},
		{"Latin-1, quoted-printable", "Content-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable", "un caf=E9, s'il vous pla=EEt", "un café, s'il vous plaît", false},
		{"Windows-1252, base64", "Content-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: base64", "gCA1", "€ 5", false},
		{"invalid UTF-8", "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable", "caf=E9", "caf\uFFFD", false},
		{"unknown charset", "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: quoted-printable", "ok =C4=C1", "ok \uFFFD", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(crlf("From: alice@crepes.fr\n" + tc.header + "\n\n" + tc.body))
			p, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Text(raw)
			if got != tc.want {
				t.Errorf("Text = %q, want %q", got, tc.want)
			}
			if tc.unknown != errors.Is(err, ErrCharset) || (!tc.unknown && err != nil) {
				t.Errorf("error %v, want ErrCharset: %v", err, tc.unknown)
			}
		})
	}
}
