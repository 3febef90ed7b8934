package imap

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// corpus returns n varied messages for comparing our ENVELOPE,
// BODYSTRUCTURE and RFC822.SIZE with Dovecot's: single parts in the
// transfer encodings, multiparts nested in each other, enclosed messages,
// encoded words, groups, parameters in RFC 2231 form, and odd but legal
// structure (preambles, epilogues, empty parts, missing headers, folded
// fields). The same seed gives the same corpus.
func corpus(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, corpusMessage(rng, i))
	}
	return out
}

var (
	corpusNames = []string{
		"Alice <alice@crepes.fr>",
		`"Bob, the builder" <bob@hamburger.edu>`,
		"=?UTF-8?Q?Andr=C3=A9?= <andre@crepes.fr>",
		"=?ISO-8859-1?B?SvxyZ2Vu?= <juergen@gaia.cs.umass.edu>",
		"carol@netcinema.com",
		"Friends: dave@kingcdn.com, \"Eve\" <eve@kingcdn.com>;",
		"undisclosed-recipients:;",
		"<root@network-utopia.org>",
		"Dr. Who (the doctor) <who@gallifrey.example>",
		"\"quoted@local\"@hamburger.edu",
	}
	corpusSubjects = []string{
		"Searching for the meaning of life",
		"=?UTF-8?B?Q3LDqnBlcyBmb3IgZXZlcnlvbmU=?=",
		"=?UTF-8?Q?caf=C3=A9?= and =?UTF-8?Q?cr=C3=AApe?=",
		"Re: [course] lecture 2:\r\n the application layer",
		"",
		"Subject with \"quotes\" and \\backslash",
	}
	corpusLeaves = []string{
		"Content-Type: text/plain; charset=us-ascii\r\n",
		"Content-Type: text/plain; charset=\"utf-8\"; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n",
		"Content-Type: text/html; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n",
		"Content-Type: image/png; name=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <logo@crepes.fr>\r\nContent-Disposition: inline; filename=\"logo.png\"\r\n",
		"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\nContent-Description: my CV\r\n",
		"Content-Type: text/plain\r\nContent-Language: en, fr\r\nContent-Location: http://gaia.cs.umass.edu/kurose_ross/interactive/index.php\r\n",
		"Content-Type: application/octet-stream; name=data.bin\r\nContent-Transfer-Encoding: base64\r\n",
		"",
		"Content-Type: TEXT/Plain; CHARSET=UTF-8\r\n",
		"Content-Type: text/calendar; method=REQUEST; charset=UTF-8\r\nContent-Disposition: attachment\r\n",
	}
)

func corpusBody(rng *rand.Rand, header string) string {
	lines := rng.IntN(6)
	var b strings.Builder
	switch {
	case strings.Contains(header, "base64"):
		for i := 0; i <= lines; i++ {
			b.WriteString("aGFtYnVyZ2VyLmVkdSBjcmVwZXMuZnIgbmV0Y2luZW1hLmNvbSBLaW5nQ0RO\r\n")
		}
	case strings.Contains(header, "quoted-printable"):
		for i := 0; i <= lines; i++ {
			b.WriteString("Cr=C3=AApes for Bob, line " + fmt.Sprint(i) + "=\r\n continued\r\n")
		}
	default:
		for i := 0; i <= lines; i++ {
			b.WriteString(fmt.Sprintf("Line %d of the message to Bob.\r\n", i))
		}
		if rng.IntN(4) == 0 {
			b.WriteString("no final line break")
		}
	}
	return b.String()
}

func corpusEntity(rng *rand.Rand, depth int, digest bool) string {
	kind := rng.IntN(10)
	if depth >= 3 {
		kind = 9
	}
	switch {
	case kind < 3: // multipart
		subs := []string{"mixed", "alternative", "related", "digest", "signed"}
		sub := subs[rng.IntN(len(subs))]
		boundary := fmt.Sprintf("=_b%d_%d", depth, rng.IntN(1000))
		var b strings.Builder
		fmt.Fprintf(&b, "Content-Type: multipart/%s; boundary=\"%s\"", sub, boundary)
		if rng.IntN(3) == 0 {
			b.WriteString("; charset=us-ascii")
		}
		b.WriteString("\r\n")
		if rng.IntN(4) == 0 {
			b.WriteString("Content-Disposition: inline\r\n")
		}
		b.WriteString("\r\n")
		if rng.IntN(2) == 0 {
			b.WriteString("This is a preamble.\r\n")
		}
		parts := 1 + rng.IntN(3)
		for i := 0; i < parts; i++ {
			b.WriteString("--" + boundary + "\r\n")
			b.WriteString(corpusEntity(rng, depth+1, sub == "digest"))
			b.WriteString("\r\n")
		}
		b.WriteString("--" + boundary + "--\r\n")
		if rng.IntN(2) == 0 {
			b.WriteString("An epilogue.\r\n")
		}
		return b.String()
	case kind < 5 || digest && kind < 7: // an enclosed message
		var b strings.Builder
		if !digest || rng.IntN(2) == 0 {
			b.WriteString("Content-Type: message/rfc822\r\n")
		}
		if rng.IntN(3) == 0 {
			b.WriteString("Content-Description: forwarded message\r\n")
		}
		b.WriteString("\r\n")
		b.WriteString(corpusHeader(rng))
		b.WriteString(corpusEntity(rng, depth+1, false))
		return b.String()
	}
	header := corpusLeaves[rng.IntN(len(corpusLeaves))]
	if digest && header == "" {
		// In a digest a part without a header is a message/rfc822, whose
		// text would have to start with a header of its own.
		header = corpusLeaves[0]
	}
	body := corpusBody(rng, header)
	if rng.IntN(8) == 0 {
		body = ""
	}
	return header + "\r\n" + body
}

func corpusHeader(rng *rand.Rand) string {
	var b strings.Builder
	pick := func(list []string) string { return list[rng.IntN(len(list))] }
	if rng.IntN(8) != 0 {
		fmt.Fprintf(&b, "Date: Wed, %d Nov 2026 1%d:00:00 +0100\r\n", 1+rng.IntN(28), rng.IntN(10))
	}
	if rng.IntN(10) != 0 {
		fmt.Fprintf(&b, "From: %s\r\n", pick(corpusNames))
	}
	if rng.IntN(5) == 0 {
		fmt.Fprintf(&b, "Sender: %s\r\n", pick(corpusNames))
	}
	if rng.IntN(5) == 0 {
		fmt.Fprintf(&b, "Reply-To: %s\r\n", pick(corpusNames))
	}
	fmt.Fprintf(&b, "To: %s", pick(corpusNames))
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, ",\r\n %s", pick(corpusNames))
	}
	b.WriteString("\r\n")
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, "Cc: %s\r\n", pick(corpusNames))
	}
	if rng.IntN(6) == 0 {
		fmt.Fprintf(&b, "Bcc: %s\r\n", pick(corpusNames))
	}
	if s := pick(corpusSubjects); s != "" {
		fmt.Fprintf(&b, "Subject: %s\r\n", s)
	}
	if rng.IntN(4) == 0 {
		b.WriteString("In-Reply-To: <0@crepes.fr>\r\n")
	}
	if rng.IntN(6) != 0 {
		fmt.Fprintf(&b, "Message-ID: <%d@hamburger.edu>\r\n", rng.IntN(1_000_000))
	}
	if rng.IntN(2) == 0 {
		b.WriteString("MIME-Version: 1.0\r\n")
	}
	return b.String()
}

func corpusMessage(rng *rand.Rand, i int) string {
	return corpusHeader(rng) + corpusEntity(rng, 0, false)
}
