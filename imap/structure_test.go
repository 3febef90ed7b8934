package imap

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"appnet.dev/smtp/message"
)

// TestStructureAsWritten checks that ENVELOPE and BODYSTRUCTURE report
// what the header writes (RFC 3501 §7.4.2): encoded display names left
// encoded, types and parameters in their own case and order, RFC 2231
// values undecoded, and the default charset last.
func TestStructureAsWritten(t *testing.T) {
	raw := "From: =?UTF-8?Q?Andr=C3=A9?= <andre@crepes.fr>\r\n" +
		"To: \"Bob \\\"B\\\"\" <bob@hamburger.edu>, Network Utopia: carol@hamburger.edu;\r\n" +
		"Subject: =?UTF-8?Q?cr=C3=AApe?=\r\n" +
		"Content-Type: Multipart/Mixed; Boundary=b; X=1\r\n\r\n" +
		"--b\r\nContent-Type: TEXT/Plain; Format=flowed\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: application/pdf; name=cv.pdf\r\n" +
		"Content-Disposition: Attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n%PDF\r\n" +
		"--b--\r\n"
	p, err := message.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	env := string(AppendEnvelope(nil, &p.Header))
	wantEnv := `(NIL "=?UTF-8?Q?cr=C3=AApe?=" (("=?UTF-8?Q?Andr=C3=A9?=" NIL "andre" "crepes.fr")) ` +
		`(("=?UTF-8?Q?Andr=C3=A9?=" NIL "andre" "crepes.fr")) (("=?UTF-8?Q?Andr=C3=A9?=" NIL "andre" "crepes.fr")) ` +
		`(("Bob \"B\"" NIL "bob" "hamburger.edu")(NIL NIL "Network Utopia" NIL)(NIL NIL "carol" "hamburger.edu")(NIL NIL NIL NIL)) ` +
		`NIL NIL NIL NIL)`
	if env != wantEnv {
		t.Errorf("ENVELOPE\n got %s\nwant %s", env, wantEnv)
	}
	bs := string(AppendBodyStructure(nil, p, true))
	wantBS := `(("TEXT" "Plain" ("Format" "flowed" "charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)` +
		`("application" "pdf" ("name" "cv.pdf") NIL NIL "7bit" 4 NIL ("Attachment" ("filename*" "UTF-8''r%C3%A9sum%C3%A9.pdf")) NIL NIL) ` +
		`"Mixed" ("Boundary" "b" "X" "1") NIL NIL NIL)`
	if bs != wantBS {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", bs, wantBS)
	}
}

// TestJoinContinuations checks how RFC 2231 parameters are reported: plain
// ones first, then the starred ones by name, continuations joined.
func TestJoinContinuations(t *testing.T) {
	// params makes a parameter list of name, value pairs.
	params := func(kv ...string) []message.Param {
		var out []message.Param
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, message.Param{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct{ in, want []message.Param }{
		{nil, nil},
		{params("Name", "a", "x", "y"), params("Name", "a", "x", "y")},
		{params("filename*", "UTF-8''r%C3%A9sum%C3%A9.pdf", "Size", "4"), params("Size", "4", "filename*", "UTF-8''r%C3%A9sum%C3%A9.pdf")},
		{params("title*1", " suzette", "title*0", "crepe", "name*0*", "UTF-8''cr%C3%AApe%20", "x", "y", "name*1*", "suzette.txt"),
			params("x", "y", "name*", "UTF-8''cr%C3%AApe%20suzette.txt", "title", "crepe suzette")},
		{params("t*0*", "us-ascii'en'a%20", "t*1", "b c"), params("t*", "us-ascii'en'a%20b%20c")},
		{params("odd*x", "1"), params("odd*x", "1")},
	} {
		if diff := cmp.Diff(tc.want, joinContinuations(tc.in)); diff != "" {
			t.Errorf("joinContinuations(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}
