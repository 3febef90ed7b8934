package message_test

import (
	"fmt"
	"strings"

	"appnet.dev/smtp/message"
)

// Alice's message with a photo: a multipart, parsed into its part tree,
// each part with the numbers IMAP uses to name it.
func ExampleParse() {
	raw := []byte(strings.ReplaceAll(`From: Alice <alice@crepes.fr>
To: Bob <bob@hamburger.edu>
Subject: =?UTF-8?Q?Une_cr=C3=AApe?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=frontier

--frontier
Content-Type: text/plain

Do you like ketchup?
How about pickles?
--frontier
Content-Type: image/jpeg; name=crepe.jpg
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRg==
--frontier--
`, "\n", "\r\n"))
	root, _ := message.Parse(raw)
	from, _ := message.ParseAddress(root.Header.Get("From"))
	subject, _ := message.DecodeWords(root.Header.Get("Subject"))
	fmt.Printf("from %s <%s>, subject %q\n", from.Name, from.Addr(), subject)
	for i := range root.Parts {
		p := root.Lookup(i + 1)
		fmt.Printf("part %d: %s %v, %s, %d bytes, %d lines\n", i+1, p.MediaType(), p.Params, p.Encoding, p.BodySize, p.Lines)
	}
	fmt.Printf("BODY[1]: %q\n", root.Lookup(1).BodyBytes(raw))
	// Output:
	// from Alice <alice@crepes.fr>, subject "Une crêpe"
	// part 1: text/plain map[], 7bit, 40 bytes, 1 lines
	// part 2: image/jpeg map[name:crepe.jpg], base64, 16 bytes, 0 lines
	// BODY[1]: "Do you like ketchup?\r\nHow about pickles?"
}
