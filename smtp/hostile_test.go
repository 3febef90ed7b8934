package smtp

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// hostile starts a hamburger.edu server with a memory backend.
func hostile(t *testing.T, mod func(*Server)) (*rawClient, *MemoryBackend, *Server) {
	t.Helper()
	mb := &MemoryBackend{}
	srv := &Server{Domain: "hamburger.edu", Backend: mb}
	if mod != nil {
		mod(srv)
	}
	addr := startServer(t, srv)
	rc := dialRaw(t, addr)
	return rc, mb, srv
}

// transaction opens a transaction up to 354.
func (rc *rawClient) transaction() {
	rc.t.Helper()
	rc.cmd("EHLO crepes.fr", 250)
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	rc.cmd("DATA", 354)
}

// TestSmuggling sends the SMTP smuggling variants: an end-of-data marker
// that is not CRLF.CRLF followed by a smuggled second message. Our server
// must see one message, reject it (550 5.5.2) and never run the smuggled
// commands.
func TestSmuggling(t *testing.T) {
	for name, fake := range map[string]string{
		"LF.LF":     "\n.\n",
		"CR.CR":     "\r.\r",
		"LF.CRLF":   "\n.\r\n",
		"CRLF.LF":   "\r\n.\n",
		"CR.CRLF":   "\r.\r\n",
		"CRLF.CR":   "\r\n.\r",
		"bare LF":   "\nsecond line\r\n",
		"bare CR":   "\rsecond line\r\n",
		"dot-LF-in": "\r\n.\nmore\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			rc, mb, _ := hostile(t, nil)
			rc.transaction()
			rc.send("Subject: first\r\n\r\nhello" + fake +
				"MAIL FROM:<mallory@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n")
			if code, text := rc.reply(); code != 550 || !strings.HasPrefix(text, "5.5.2") {
				t.Fatalf("got %d %s, want 550 5.5.2", code, text)
			}
			rc.cmd("NOOP", 250) // no smuggled replies are pending
			if n := len(mb.Messages()); n != 0 {
				t.Errorf("%d messages stored", n)
			}
		})
	}
}

func TestBadCommands(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup []string // lines sent first, each expected to succeed
		send  string   // raw bytes
		code  int
		enh   string
	}{
		{"bare LF in command", nil, "NOOP\n", 550, "5.5.2"},
		{"bare CR in command", nil, "NO\rOP\r\n", 550, "5.5.2"},
		{"NUL in command", nil, "NOOP\x00\r\n", 550, "5.5.2"},
		{"command line over 512", nil, "NOOP " + strings.Repeat("x", 600) + "\r\n", 500, "5.5.2"},
		{"unknown command", nil, "FOO\r\n", 500, "5.5.2"},
		{"MAIL before HELO", nil, "MAIL FROM:<alice@crepes.fr>\r\n", 503, "5.5.1"},
		{"RCPT before MAIL", []string{"EHLO crepes.fr"}, "RCPT TO:<bob@hamburger.edu>\r\n", 503, "5.5.1"},
		{"DATA before MAIL", []string{"EHLO crepes.fr"}, "DATA\r\n", 503, "5.5.1"},
		{"DATA without a recipient", []string{"EHLO crepes.fr", "MAIL FROM:<a@crepes.fr>"}, "DATA\r\n", 554, "5.5.1"},
		{"nested MAIL", []string{"EHLO crepes.fr", "MAIL FROM:<a@crepes.fr>"}, "MAIL FROM:<b@crepes.fr>\r\n", 503, "5.5.1"},
		{"HELO without name", nil, "HELO\r\n", 501, "5.5.4"},
		{"open relay", []string{"EHLO crepes.fr", "MAIL FROM:<a@crepes.fr>"}, "RCPT TO:<victim@example.com>\r\n", 554, "5.7.1"},
		{"relay by source route", []string{"EHLO crepes.fr", "MAIL FROM:<a@crepes.fr>"}, "RCPT TO:<@hamburger.edu:victim@example.com>\r\n", 554, "5.7.1"},
		{"relay to subdomain", []string{"EHLO crepes.fr", "MAIL FROM:<a@crepes.fr>"}, "RCPT TO:<victim@evil.hamburger.edu>\r\n", 554, "5.7.1"},
		{"path over 256", []string{"EHLO crepes.fr"}, "MAIL FROM:<" + strings.Repeat("a", 200) + "@" + strings.Repeat("b", 60) + ".fr>\r\n", 501, "5.1.7"},
		{"local part over 64", []string{"EHLO crepes.fr"}, "MAIL FROM:<" + strings.Repeat("a", 65) + "@crepes.fr>\r\n", 501, "5.1.7"},
		{"label over 63", []string{"EHLO crepes.fr"}, "MAIL FROM:<a@" + strings.Repeat("b", 64) + ".fr>\r\n", 501, "5.1.7"},
		{"no angle brackets", []string{"EHLO crepes.fr"}, "MAIL FROM:alice@crepes.fr\r\n", 501, "5.1.7"},
		{"unknown MAIL parameter", []string{"EHLO crepes.fr"}, "MAIL FROM:<a@crepes.fr> FOO=BAR\r\n", 555, "5.5.4"},
		{"SIZE over the limit", []string{"EHLO crepes.fr"}, "MAIL FROM:<a@crepes.fr> SIZE=999999999999\r\n", 552, "5.3.4"},
		{"non-ASCII without SMTPUTF8", []string{"EHLO crepes.fr"}, "MAIL FROM:<andré@crepes.fr>\r\n", 501, "5.1.7"},
		{"AUTH before TLS", []string{"EHLO crepes.fr"}, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", 538, "5.7.11"},
		{"STARTTLS when not offered", []string{"EHLO crepes.fr"}, "STARTTLS\r\n", 502, "5.5.1"},
		{"RSET with argument", nil, "RSET now\r\n", 501, "5.5.4"},
		{"EXPN", nil, "EXPN staff\r\n", 502, "5.5.1"},
		{"parameters after HELO", []string{"HELO crepes.fr"}, "MAIL FROM:<a@crepes.fr> SIZE=10\r\n", 555, "5.5.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, _ := hostile(t, func(s *Server) {
				s.Authenticate = func(ctx context.Context, u, p string) error { return nil }
			})
			for _, l := range tc.setup {
				rc.cmd(l, 250)
			}
			rc.send(tc.send)
			code, text := rc.reply()
			if code != tc.code || !strings.HasPrefix(text, tc.enh) {
				t.Fatalf("got %d %s, want %d %s", code, text, tc.code, tc.enh)
			}
			// The connection survives a bad command.
			rc.cmd("NOOP", 250)
		})
	}
}

// TestHugeLine sends a line of 8 MB with no newline: the server answers
// 500 5.5.2 without holding it, and the session goes on.
func TestHugeLine(t *testing.T) {
	rc, _, _ := hostile(t, nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	chunk := []byte(strings.Repeat("A", 64<<10))
	for i := 0; i < 128; i++ {
		if _, err := rc.conn.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	rc.send("\r\n")
	rc.expect(500)
	rc.cmd("NOOP", 250)
	runtime.ReadMemStats(&after)
	// Everything allocated meanwhile, by client and server: far less than
	// the line.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 2<<20 {
		t.Errorf("%d bytes allocated for an 8 MB line", grew)
	}
}

// TestTooManyRecipients sends 1000 RCPTs in one pipelined write: the first
// 100 are accepted, the rest get 452 4.5.3.
func TestTooManyRecipients(t *testing.T) {
	rc, mb, _ := hostile(t, nil)
	rc.cmd("EHLO crepes.fr", 250)
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, "RCPT TO:<user%d@hamburger.edu>\r\n", i)
	}
	go rc.conn.Write([]byte(b.String()))
	for i := 0; i < 1000; i++ {
		code, text := rc.reply()
		want := 250
		if i >= 100 {
			want = 452
		}
		if code != want || (want == 452 && !strings.HasPrefix(text, "4.5.3")) {
			t.Fatalf("RCPT %d: %d %s", i, code, text)
		}
	}
	rc.cmd("DATA", 354)
	rc.cmd("Subject: many\r\n\r\nhi\r\n.", 250)
	msgs, _ := mb.Wait(context.Background(), 1)
	if n := len(msgs[0].Envelope.To); n != 100 {
		t.Errorf("%d recipients delivered", n)
	}
}

// TestPipelinedGarbage: a flood of garbage ends the session after
// MaxErrors with 421.
func TestPipelinedGarbage(t *testing.T) {
	rc, _, _ := hostile(t, nil)
	rc.send(strings.Repeat("GARBAGE\r\n", 50))
	for i := 0; i < 9; i++ {
		rc.expect(500)
	}
	rc.expect(500)
	rc.expect(421)
	rc.closed()
}

// TestSlowloris: a client that sends half a command and waits is
// disconnected by the command timeout.
func TestSlowloris(t *testing.T) {
	rc, _, _ := hostile(t, func(s *Server) { s.CommandTimeout = 100 * time.Millisecond })
	rc.send("NO")
	code, text := rc.reply()
	if code != 421 || !strings.HasPrefix(text, "4.4.2") {
		t.Fatalf("got %d %s", code, text)
	}
	rc.closed()
}

// TestSlowData: a client that stops in the middle of DATA is disconnected
// by the data timeout and nothing is stored.
func TestSlowData(t *testing.T) {
	rc, mb, _ := hostile(t, func(s *Server) { s.DataTimeout = 100 * time.Millisecond })
	rc.transaction()
	rc.send("Subject: slow\r\n\r\nhalf a mess")
	rc.closed()
	if n := len(mb.Messages()); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// TestVanishMidData: the client closes during DATA; the Maildir backend
// keeps nothing, not even in tmp/.
func TestVanishMidData(t *testing.T) {
	dir := t.TempDir()
	md := &Maildir{Root: dir}
	srv := &Server{Domain: "hamburger.edu", Backend: md}
	addr := startServer(t, srv)
	rc := dialRaw(t, addr)
	rc.transaction()
	rc.send("Subject: gone\r\n\r\n" + strings.Repeat("half a message\r\n", 1000))
	rc.conn.Close()
	// A second, complete message on another connection is delivered; once
	// it is there, the first session has long been reading.
	rc2 := dialRaw(t, addr)
	rc2.transaction()
	rc2.cmd("Subject: whole\r\n\r\nhi\r\n.", 250)
	rc2.cmd("QUIT", 221)
	srv.Shutdown(context.Background()) // waits for the first session
	newFiles, _ := filepath.Glob(filepath.Join(dir, "bob", "new", "*"))
	tmpFiles, _ := filepath.Glob(filepath.Join(dir, "bob", "tmp", "*"))
	if len(newFiles) != 1 || len(tmpFiles) != 0 {
		t.Fatalf("new %v tmp %v", newFiles, tmpFiles)
	}
	data, _ := os.ReadFile(newFiles[0])
	if !strings.Contains(string(data), "Subject: whole") {
		t.Errorf("stored %q", data)
	}
}

// TestSizeWhileStreaming: a message over MaxMessageBytes without SIZE=
// is refused at its end with 552 and the session goes on.
func TestSizeWhileStreaming(t *testing.T) {
	rc, mb, _ := hostile(t, func(s *Server) { s.MaxMessageBytes = 10000 })
	rc.transaction()
	rc.send(strings.Repeat("0123456789012345678901234567890123456789\r\n", 1000) + ".\r\n")
	if code, text := rc.reply(); code != 552 || !strings.HasPrefix(text, "5.3.4") {
		t.Fatalf("got %d %s", code, text)
	}
	rc.cmd("NOOP", 250)
	if len(mb.Messages()) != 0 {
		t.Error("oversized message stored")
	}
}

// TestLongDataLine: a data line beyond the reader's limit is refused.
func TestLongDataLine(t *testing.T) {
	rc, mb, _ := hostile(t, nil)
	rc.transaction()
	rc.send("Subject: long\r\n\r\n" + strings.Repeat("x", 100<<10) + "\r\n.\r\n")
	if code, text := rc.reply(); code != 500 || !strings.HasPrefix(text, "5.5.2") {
		t.Fatalf("got %d %s", code, text)
	}
	rc.cmd("NOOP", 250)
	if len(mb.Messages()) != 0 {
		t.Error("message stored")
	}
}

// TestSTARTTLSInjection: commands pipelined after STARTTLS in the clear
// are discarded, not run inside the TLS session (CVE-2011-0411).
func TestSTARTTLSInjection(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	rc, _, _ := hostile(t, func(s *Server) { s.TLSConfig = scfg })
	rc.cmd("EHLO crepes.fr", 250)
	rc.send("STARTTLS\r\nMAIL FROM:<mallory@crepes.fr>\r\n")
	rc.expect(220)
	tc := tls.Client(rc.conn, ccfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc.conn = tc
	rc.r.Reset(tc)
	// The injected MAIL was dropped: MAIL now fails for want of EHLO.
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 503)
	ehlo := rc.cmd("EHLO crepes.fr", 250)
	if strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("STARTTLS offered again: %s", ehlo)
	}
}

// TestAuthAfterTLS: AUTH is offered only under TLS, and PLAIN and LOGIN
// both work there; a relay is allowed only after it.
func TestAuthAfterTLS(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	rc, mb, _ := hostile(t, func(s *Server) {
		s.TLSConfig = scfg
		s.Authenticate = func(ctx context.Context, u, p string) error {
			if u == "alice" && p == "ketchup" {
				return nil
			}
			return fmt.Errorf("no")
		}
	})
	if ehlo := rc.cmd("EHLO crepes.fr", 250); strings.Contains(ehlo, "AUTH") {
		t.Errorf("AUTH offered in the clear: %s", ehlo)
	}
	rc.cmd("STARTTLS", 220)
	tc := tls.Client(rc.conn, ccfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc.conn = tc
	rc.r.Reset(tc)
	if ehlo := rc.cmd("EHLO crepes.fr", 250); !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Errorf("AUTH not offered under TLS: %s", ehlo)
	}
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@example.com>", 554) // not yet authenticated
	rc.cmd("RSET", 250)
	b64 := base64.StdEncoding.EncodeToString
	rc.cmd("AUTH PLAIN "+b64([]byte("\x00alice\x00mustard")), 535)
	rc.cmd("AUTH LOGIN", 334)
	rc.cmd(b64([]byte("alice")), 334)
	rc.cmd(b64([]byte("ketchup")), 235)
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@example.com>", 250) // submission may relay
	rc.cmd("DATA", 354)
	rc.cmd("Subject: relayed\r\n\r\nhi\r\n.", 250)
	msgs, _ := mb.Wait(context.Background(), 1)
	if msgs[0].Envelope.AuthUser != "alice" || !msgs[0].Envelope.TLS || !strings.Contains(string(msgs[0].Data), "with ESMTPSA") {
		t.Errorf("envelope %+v data %q", msgs[0].Envelope, msgs[0].Data)
	}
}

// TestShutdownIdle: Shutdown closes an idle session with 421 4.3.2.
func TestShutdownIdle(t *testing.T) {
	rc, _, srv := hostile(t, nil)
	rc.cmd("EHLO crepes.fr", 250)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := rc.reply(); code != 421 {
		t.Fatalf("got %d", code)
	}
	rc.closed()
	if _, err := net.Dial("tcp", rc.conn.RemoteAddr().String()); err == nil {
		t.Error("still accepting after Shutdown")
	}
}

// TestBDAT: CHUNKING (RFC 3030). Chunks are counted, not dot-terminated;
// a refused BDAT still has its octets read, so they are never commands.
func TestBDAT(t *testing.T) {
	rc, mb, _ := hostile(t, nil)
	if ehlo := rc.cmd("EHLO crepes.fr", 250); !strings.Contains(ehlo, "CHUNKING") {
		t.Fatalf("no CHUNKING: %s", ehlo)
	}
	chunk1 := "Subject: chunks\r\n\r\n.a line with a dot\r\n"
	chunk2 := "no dot-stuffing, bare LF\nends here\r\n"
	rc.send("MAIL FROM:<alice@crepes.fr>\r\nRCPT TO:<bob@hamburger.edu>\r\n")
	rc.expect(250)
	rc.expect(250)
	rc.send(fmt.Sprintf("BDAT %d\r\n%s", len(chunk1), chunk1))
	rc.expect(250)
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk2), chunk2))
	rc.expect(250)
	msgs, _ := mb.Wait(context.Background(), 1)
	if !strings.HasSuffix(string(msgs[0].Data), chunk1+chunk2) {
		t.Errorf("stored %q", msgs[0].Data)
	}
	// A BDAT without a transaction: its octets, which look like commands,
	// are read and dropped.
	evil := "MAIL FROM:<m@crepes.fr>\r\n"
	rc.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(evil), evil))
	rc.expect(503)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 503) // no MAIL was run
	// Over the size limit.
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	rc.send("BDAT 20000000 LAST\r\n")
	go rc.conn.Write(make([]byte, 20000000))
	if code, text := rc.reply(); code != 552 {
		t.Fatalf("got %d %s", code, text)
	}
	rc.cmd("NOOP", 250)
	rc.cmd("BDAT x", 501)
	rc.closed()
	if n := len(mb.Messages()); n != 1 {
		t.Errorf("%d messages stored", n)
	}
}

// TestBDATVanish: a client that disconnects mid-chunk leaves nothing in
// the Maildir.
func TestBDATVanish(t *testing.T) {
	dir := t.TempDir()
	srv := &Server{Domain: "hamburger.edu", Backend: &Maildir{Root: dir}}
	addr := startServer(t, srv)
	rc := dialRaw(t, addr)
	rc.cmd("EHLO crepes.fr", 250)
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	rc.send("BDAT 10\r\n0123456789")
	rc.expect(250)
	rc.send("BDAT 1000 LAST\r\nonly part of it")
	rc.conn.Close()
	srv.Shutdown(context.Background())
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"))
	if len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// TestNoRelayIntoLocalMailboxes: a server whose Backend stores mail
// locally (Maildir) has nowhere to send mail for other domains, so even
// an authenticated user's RCPT to one is refused (it would have landed in
// the local bob's mailbox), while local recipients are still taken. With
// a Backend that relays (MemoryBackend here, a Queue in examples/mail),
// the same session may relay.
func TestNoRelayIntoLocalMailboxes(t *testing.T) {
	auth := func(ctx context.Context, user, pass string) error {
		if user == "bob" && pass == "hunter2" {
			return nil
		}
		return errors.New("bad credentials")
	}
	session := func(backend Backend) *rawClient {
		srv := &Server{Domain: "hamburger.edu", Backend: backend, Authenticate: auth, AllowInsecureAuth: true}
		rc := dialRaw(t, startServer(t, srv))
		rc.cmd("EHLO hamburger.edu", 250)
		rc.cmd("AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00bob\x00hunter2")), 235)
		rc.cmd("MAIL FROM:<bob@hamburger.edu>", 250)
		return rc
	}

	dir := t.TempDir()
	rc := session(&Maildir{Root: dir})
	rc.cmd("RCPT TO:<bob@crepes.fr>", 554)
	rc.cmd("RCPT TO:<alice@hamburger.edu>", 250)
	rc.cmd("DATA", 354)
	rc.cmd("Subject: local only\r\n\r\nhi\r\n.", 250)
	if got, _ := filepath.Glob(filepath.Join(dir, "*", "new", "*")); len(got) != 1 || !strings.Contains(got[0], filepath.Join("alice", "new")) {
		t.Errorf("delivered files %v, want one, in alice's mailbox", got)
	}

	rc = session(&MemoryBackend{})
	rc.cmd("RCPT TO:<bob@crepes.fr>", 250)
}
