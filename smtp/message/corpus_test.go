package message

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// TestCorpus parses the real-shaped messages in testdata/corpus (written
// for this package in the shapes Thunderbird, Outlook, Postfix and
// mailing lists produce, some malformed) and compares every level of the
// tree with net/mail and mime/multipart.
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.eml")
	if len(files) < 8 {
		t.Fatalf("corpus has %d messages", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			root, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
				for k, v := range m.Header {
					if got := root.Header.Values(k); !cmp.Equal(squash(got), squash(v)) {
						t.Errorf("header %s: %q, net/mail %q", k, got, v)
					}
				}
			} else if !strings.HasPrefix(filepath.Base(f), "malformed") {
				t.Errorf("net/mail: %v", err)
			}
			compareTree(t, raw, root, "")
			// Streaming one byte at a time gives the same tree.
			small, err := (&Parser{}).Parse(iotest.OneByteReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			var a, b []int64
			root.Walk(func(p *Part) { a = append(a, p.HeaderOffset, p.BodyOffset, p.BodySize, p.Lines) })
			small.Walk(func(p *Part) { b = append(b, p.HeaderOffset, p.BodyOffset, p.BodySize, p.Lines) })
			if !cmp.Equal(a, b) {
				t.Errorf("streamed parse differs:\n%v\n%v", a, b)
			}
		})
	}
}

// compareTree checks a multipart's parts against mime/multipart, level by
// level.
func compareTree(t *testing.T, raw []byte, p *Part, path string) {
	t.Helper()
	if p.Message != nil {
		compareTree(t, raw, p.Message, path+".msg")
		return
	}
	if !p.IsMultipart() {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(p.BodyBytes(raw)), p.Params["boundary"])
	for i := 0; ; i++ {
		mp, err := mr.NextRawPart()
		if err != nil {
			if i != len(p.Parts) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s: mime/multipart found %d parts, we %d (%v)", path, i, len(p.Parts), err)
			}
			return
		}
		if i >= len(p.Parts) {
			t.Fatalf("%s: mime/multipart found more than our %d parts", path, len(p.Parts))
		}
		want, rerr := io.ReadAll(mp)
		ours := p.Parts[i]
		got := ours.BodyBytes(raw)
		if rerr != nil {
			// A part without its closing boundary: mime/multipart drops
			// the last line break, we keep the body to the end.
			got = bytes.TrimSuffix(got, []byte("\r\n"))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s.%d body %q, mime/multipart %q", path, i+1, got, want)
		}
		for k, v := range mp.Header {
			if g := ours.Header.Values(k); !cmp.Equal(squash(g), squash(v)) {
				t.Errorf("%s.%d header %s: %q vs %q", path, i+1, k, g, v)
			}
		}
		compareTree(t, raw, ours, path+"."+string(rune('0'+i+1)))
	}
}

// TestCorpusStructure checks what IMAP's BODYSTRUCTURE will report.
func TestCorpusStructure(t *testing.T) {
	parse := func(name string) (*Part, []byte) {
		raw, err := os.ReadFile(filepath.Join("testdata/corpus", name))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return p, raw
	}
	tb, raw := parse("thunderbird-related.eml")
	img := tb.Lookup(2, 2)
	if img == nil || img.ID != "<part1.crepe@crepes.fr>" || img.Disposition != "inline" || img.Params["name"] != "crepe.png" {
		t.Errorf("related image: %+v", img)
	}
	if d, err := img.Decode(raw); err != nil || !bytes.HasPrefix(d, []byte("\x89PNG")) {
		t.Errorf("png %q %v", d, err)
	}
	if html, _ := tb.Lookup(2, 1).Decode(raw); !strings.Contains(string(html), "crêpe") || !strings.Contains(string(html), "cid:part1.crepe@crepes.fr") {
		t.Errorf("html %q", html)
	}
	if subj, _ := DecodeWords(tb.Header.Get("Subject")); subj != "Une crêpe pour toi" || tb.Lookup(1).Params["format"] != "flowed" {
		t.Errorf("subject %q", subj)
	}
	from, _ := ParseAddressList(tb.Header.Get("From"))
	if from[0].Name != "Alice Crêpe" {
		t.Errorf("from %+v", from)
	}

	ol, _ := parse("outlook-attachment.eml")
	cc, err := ParseAddressList(ol.Header.Get("Cc"))
	if err != nil || len(cc) != 1 || cc[0].Group != "undisclosed-recipients" {
		t.Errorf("cc %+v %v", cc, err)
	}
	pdf := ol.Lookup(2)
	if pdf.DispositionParams["filename"] != "schedule 2026.pdf" || pdf.Description != "schedule 2026.pdf" || pdf.DispositionParams["size"] != "12" {
		t.Errorf("pdf %+v", pdf)
	}
	if d, _ := ParseDate(ol.Header.Get("Date")); d.IsZero() {
		t.Error("date")
	}

	r2231, _ := parse("rfc2231-filename.eml")
	att := r2231.Lookup(2)
	if att.Params["name"] != "crêpe suzette.txt" || att.DispositionParams["filename"] != "crêpe suzette.txt" {
		t.Errorf("rfc 2231: %v %v", att.Params, att.DispositionParams)
	}

	dg, _ := parse("digest.eml")
	if len(dg.Parts) != 2 || dg.Parts[1].MediaType() != "message/rfc822" || dg.Parts[1].Message.Header.Get("Subject") != "second" {
		t.Errorf("digest %+v", dg.Parts)
	}

	bo, _ := parse("bounce-report.eml")
	inner := bo.Lookup(3)
	if inner == nil || inner.Message == nil || len(inner.Message.Parts) != 1 || bo.Lookup(3, 1).MediaType() != "text/plain" {
		t.Errorf("bounce's returned message: %+v", inner)
	}
	if bo.Lookup(2).Description != "Delivery report" {
		t.Errorf("description %q", bo.Lookup(2).Description)
	}
}
