package message

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that the part tree of any input is consistent: every
// range lies inside the input, parts follow each other, and the same
// input parsed with CRLF or streamed gives the same tree.
func FuzzParse(f *testing.F) {
	f.Add([]byte(nested))
	f.Add([]byte(crlf(nested)))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\n\nContent-Type: multipart/x; boundary=q\n\n--q\n--q--"))
	f.Add([]byte("Subject: =?utf-8?q?=FF?=\r\n folded\r\n\r\n"))
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		root, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		n := int64(len(raw))
		root.Walk(func(p *Part) {
			if p.HeaderOffset < 0 || p.HeaderSize < 0 || p.HeaderOffset+p.HeaderSize > n ||
				p.BodyOffset < p.HeaderOffset || p.BodySize < 0 || p.BodyOffset+p.BodySize > n {
				t.Fatalf("part out of range: %+v (input %d)", p, n)
			}
			if p.Lines > p.BodySize || p.Lines != int64(bytes.Count(p.BodyBytes(raw), []byte("\n"))) {
				t.Fatalf("lines %d for body %q", p.Lines, p.BodyBytes(raw))
			}
			if strings.ToLower(p.RawType) != p.Type || strings.ToLower(p.RawSubtype) != p.Subtype {
				t.Fatalf("raw type %q/%q, type %q/%q", p.RawType, p.RawSubtype, p.Type, p.Subtype)
			}
			var prev int64
			for _, c := range p.Parts {
				if c.HeaderOffset < prev || c.HeaderOffset < p.BodyOffset || c.BodyOffset+c.BodySize > p.BodyOffset+p.BodySize {
					t.Fatalf("child %+v outside parent %+v", c, p)
				}
				prev = c.BodyOffset + c.BodySize
			}
		})
		if root.Lookup() != root || root.Lookup(0) != nil {
			t.Fatal("Lookup of the empty path or of part 0")
		}
		for i, c := range root.Parts {
			if root.Lookup(i+1) != c {
				t.Fatalf("Lookup(%d) is not part %d", i+1, i+1)
			}
		}
		small, err := (&Parser{MaxHeaderBytes: 64}).Parse(bytes.NewReader(raw))
		if err != nil || small.BodyOffset != root.BodyOffset && !small.HeaderTruncated {
			t.Fatalf("bounded parse differs: %+v %v", small, err)
		}
	})
}

// FuzzParseAddressList checks that what parses formats and parses again to
// the same list.
func FuzzParseAddressList(f *testing.F) {
	for _, s := range []string{
		"Alice <alice@crepes.fr>", `"Bob, chef" <bob@hamburger.edu>, carol@x`,
		"g: a@b, c@d;", "undisclosed-recipients:;", "(c) a . b @ c . d", "<@r:x@y>",
		"=?utf-8?q?Andr=C3=A9?= <a@b>", "a@[1.2.3.4]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := ParseAddressList(s)
		if err != nil {
			return
		}
		out := FormatAddressList(list)
		again, err := ParseAddressList(out)
		if err != nil {
			t.Fatalf("%q formatted as %q does not parse: %v", s, out, err)
		}
		if len(again) != len(list) {
			t.Fatalf("%q -> %q: %d then %d addresses", s, out, len(list), len(again))
		}
		for i := range list {
			if again[i].Addr() != list[i].Addr() {
				t.Fatalf("%q -> %q: %q became %q", s, out, list[i].Addr(), again[i].Addr())
			}
		}
	})
}

// FuzzDecodeWords checks that decoding never panics and that encoding any
// valid UTF-8 decodes back to it.
func FuzzDecodeWords(f *testing.F) {
	f.Add("=?UTF-8?Q?caf=C3=A9?= x")
	f.Add("crêpe")
	f.Fuzz(func(t *testing.T, s string) {
		DecodeWords(s)
		if !strings.ContainsAny(s, "\r\n") && strings.ToValidUTF8(s, "") == s {
			enc := EncodeWord(s)
			dec, err := DecodeWords(enc)
			if needsEncoding(s) && (err != nil || dec != s) {
				t.Fatalf("%q -> %q -> %q %v", s, enc, dec, err)
			}
		}
	})
}

// FuzzParseDate: ParseDate reads Date: fields of untrusted mail (IMAP
// SEARCH SENTBEFORE and friends compare them). On any input it either
// fails with an error or returns a date that FormatDate writes in the
// RFC 5322 form and ParseDate reads back as the same instant and offset.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"Thu, 26 Nov 2026 00:24:00 +0000",
		"Wed, 25 Nov 2026 12:00:00 -0500 (EST)",
		"25 Nov 2026 12:00 GMT",
		"Mon, 1 Jan 90 1:02:03 PDT",
		"Fri, 13 Feb 109 23:59:60 Z",
		"Sun , 31 Feb 2026 10:00:00 +9959",
		"(comment (nested)) 5 December 2025 08:15:00 A",
		"Tue, 02 Jan 2006 15:04:05 -0700 (MST)",
		"Sat, 31 Dec 9999 23:59:59 -9959",
		"1 Jan 0000 00:00:00 +0000",
		"Thu, 26 Nov 2026 24:00:00 +0000",
		"Thu, 26 Nov 2026 00:00 +01",
		"((((",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		out := FormatDate(d)
		back, err := ParseDate(out)
		if err != nil {
			t.Fatalf("ParseDate(%q) = %v, written %q, which does not parse: %v", s, d, out, err)
		}
		_, off := d.Zone()
		_, boff := back.Zone()
		if !back.Equal(d) || off != boff {
			t.Fatalf("ParseDate(%q) = %v, written %q, read back %v", s, d, out, back)
		}
	})
}

// FuzzParseMediaType checks that the raw and the decoded views of a
// Content-Type agree: same type, and every plain parameter written is in
// the map under its lowercased name.
func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{
		"text/plain; charset=us-ascii", `Multipart/Mixed; Boundary="a b"`,
		"attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
		"application/x; name*0*=utf-8''a%20; name*1=b", `a/b; x="=?utf-8?q?caf=C3=A9?="; (c) y=1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		mt, params, err := ParseMediaType(s)
		raw, list, rerr := ParseParams(s)
		if strings.ToLower(raw) != mt || (err == nil) != (rerr == nil) {
			t.Fatalf("%q: %q %v, raw %q %v", s, mt, err, raw, rerr)
		}
		if err != nil {
			return
		}
		for _, p := range list {
			if strings.Contains(p.Name, "*") {
				continue
			}
			if _, ok := params[strings.ToLower(p.Name)]; !ok {
				t.Fatalf("%q: %q written, not in %q", s, p.Name, params)
			}
		}
	})
}
