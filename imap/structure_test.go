package imap

import (
	"testing"

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
		`("application" "pdf" ("name" "cv.pdf") NIL NIL "7bit" 4 NIL ("attachment" ("filename*" "UTF-8''r%C3%A9sum%C3%A9.pdf")) NIL NIL) ` +
		`"Mixed" ("Boundary" "b" "X" "1") NIL NIL NIL)`
	if bs != wantBS {
		t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", bs, wantBS)
	}
}
