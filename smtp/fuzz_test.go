package smtp

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// FuzzParseCommand checks the command and path parsers: they never panic,
// respect the RFC 5321 limits, and a parsed path formats to text that
// parses to the same path.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"MAIL FROM:<alice@crepes.fr>", "MAIL FROM: <alice@crepes.fr> SIZE=100 BODY=8BITMIME",
		"RCPT TO:<bob@hamburger.edu>", "RCPT TO:<Postmaster>", "MAIL FROM:<>",
		`RCPT TO:<"john doe"@hamburger.edu>`, "RCPT TO:<@a,@b:bob@[127.0.0.1]>",
		"mail from:<andré@crêpes.fr> SMTPUTF8", "HELO crepes.fr", "DATA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c := parseCommand(line)
		if c.verb != strings.ToUpper(c.verb) {
			t.Fatalf("verb %q not uppercased", c.verb)
		}
		for _, prefix := range []string{"FROM", "TO"} {
			p, params, err := parsePathArg(c.arg, prefix, true)
			if err != nil {
				continue
			}
			if len(p.Local) > MaxLocalPart || len(p.Domain) > MaxDomain || len(params) > 16 {
				t.Fatalf("limits not enforced: %+v", p)
			}
			if got := string(p.appendTo([]byte("x"))); got != "x"+p.String() {
				t.Fatalf("appendTo wrote %q, String %q", got, p.String())
			}
			if p.IsNull() || p.Domain == "" {
				continue
			}
			again, err := ParsePath(p.String(), true)
			if err != nil || again != p {
				t.Fatalf("%q -> %+v -> %q -> %+v, %v", c.arg, p, p.String(), again, err)
			}
		}
	})
}

// FuzzParseReply checks the client's reply-line parser.
func FuzzParseReply(f *testing.F) {
	f.Add("250-hamburger.edu Hello crepes.fr")
	f.Add("550 5.1.1 no such user")
	f.Add("354")
	f.Fuzz(func(t *testing.T, line string) {
		code, _, text, err := parseReplyLine(line)
		if err != nil {
			return
		}
		if code < 200 || code > 599 {
			t.Fatalf("code %d accepted", code)
		}
		enh, rest := splitEnhanced(code, text)
		if enh != "" && !strings.HasSuffix(text, rest) {
			t.Fatalf("split %q into %q %q", text, enh, rest)
		}
	})
}

// FuzzSession feeds arbitrary bytes to a server session: it must neither
// panic nor hang, and must answer every complete line.
func FuzzSession(f *testing.F) {
	f.Add([]byte("EHLO crepes.fr\r\nMAIL FROM:<a@crepes.fr>\r\nRCPT TO:<b@hamburger.edu>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("HELO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<b@hamburger.edu>\r\nDATA\r\nx\n.\nRSET\r\n.\r\n"))
	f.Add([]byte("AUTH PLAIN\r\n*\r\nSTARTTLS\r\n\x00\xff\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<b@hamburger.edu>\r\nBDAT 5\r\nhelloBDAT 3 LAST\r\nbyeBDAT 2\r\nxx"))
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) > 1<<16 {
			return
		}
		srv := &Server{Domain: "hamburger.edu", Backend: &MemoryBackend{}, CommandTimeout: time.Second, DataTimeout: time.Second,
			Authenticate: func(_ context.Context, u, p string) error { return nil }, AllowInsecureAuth: true}
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(done)
		}()
		go func() {
			client.Write(input)
			client.Write([]byte("\r\n.\r\nQUIT\r\n"))
		}()
		var out bytes.Buffer
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(&out, client)
		client.Close()
		<-done
		if !bytes.HasPrefix(out.Bytes(), []byte("220 hamburger.edu\r\n")) {
			t.Fatalf("no greeting: %q", out.Bytes())
		}
		for _, line := range bytes.SplitAfter(out.Bytes(), []byte("\r\n")) {
			if len(line) > 0 && (len(line) < 5 || !bytes.HasSuffix(line, []byte("\r\n"))) {
				t.Fatalf("bad reply line %q", line)
			}
		}
	})
}
