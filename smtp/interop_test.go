package smtp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	netsmtp "net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"appnet.dev/sockets"
	"appnet.dev/sockets/sockettest"
)

func splitAddr(t testing.TB, addr string) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

func run(t testing.TB, ctx context.Context, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSwaks: swaks, the Swiss army knife for SMTP, against our server.
func TestSwaks(t *testing.T) {
	swaks := sockettest.Need(t, "swaks", "swaks")
	scfg, _ := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	mb := &MemoryBackend{}
	srv := &Server{Domain: "hamburger.edu", Backend: mb, TLSConfig: scfg,
		Authenticate: func(ctx context.Context, u, p string) error {
			if u == "alice" && p == "ketchup" {
				return nil
			}
			return fmt.Errorf("bad password")
		}}
	addr := startServer(t, srv)
	base := []string{"--server", addr, "--from", "alice@crepes.fr", "--helo", "crepes.fr", "--hide-informational"}
	for i, tc := range []struct {
		name  string
		args  []string
		check func(StoredMessage) bool
	}{
		{"plain", []string{"--to", "bob@hamburger.edu", "--body", "Do you like ketchup?"}, func(m StoredMessage) bool {
			return bytes.Contains(m.Data, []byte("Do you like ketchup?"))
		}},
		{"pipelining", []string{"--pipeline", "--to", "bob@hamburger.edu,carol@hamburger.edu"}, func(m StoredMessage) bool {
			return len(m.Envelope.To) == 2
		}},
		{"8bit body", []string{"--to", "bob@hamburger.edu", "--body", "J'aime les crêpes"}, func(m StoredMessage) bool {
			return bytes.Contains(m.Data, []byte("crêpes"))
		}},
		{"starttls auth plain", []string{"-tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "ketchup", "--to", "bob@example.com"}, func(m StoredMessage) bool {
			return m.Envelope.TLS && m.Envelope.AuthUser == "alice"
		}},
		{"starttls auth login", []string{"-tls", "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "ketchup", "--to", "bob@hamburger.edu"}, func(m StoredMessage) bool {
			return m.Envelope.TLS && m.Envelope.AuthUser == "alice"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, testCtx(t), swaks, append(base, tc.args...)...)
			msgs, err := mb.Wait(testCtx(t), i+1)
			if err != nil {
				t.Fatal(err)
			}
			if m := msgs[i]; !tc.check(m) {
				t.Errorf("stored %+v\n%s", m.Envelope, m.Data)
			}
		})
	}
	t.Run("relay refused", func(t *testing.T) {
		cmd := exec.CommandContext(testCtx(t), swaks, append(base, "--to", "victim@example.com")...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "554 5.7.1") {
			t.Errorf("swaks relayed through us: %v\n%s", err, out)
		}
	})
}

const pythonClient = `
import smtplib, ssl, sys
from email.message import EmailMessage
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = smtplib.SMTP(host, port, local_hostname="crepes.fr", timeout=30)
if mode == "tls":
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.login("alice", "ketchup")
    m = EmailMessage()
    m["From"] = "Alice <alice@crepes.fr>"
    m["To"] = "Bob <bob@hamburger.edu>"
    m["Bcc"] = "carol@hamburger.edu"
    m["Subject"] = "Searching for the meaning of life"
    m.set_content("Do you like ketchup?\nHow about pickles?\n")
    s.send_message(m)
else:
    body = "Subject: 8bit\r\n\r\nJ'aime les cr\u00eapes\r\n.leading dot\r\n".encode("utf-8")
    s.ehlo()
    refused = s.sendmail("alice@crepes.fr", ["bob@hamburger.edu", "x@example.com"], body, mail_options=["BODY=8BITMIME"])
    print("refused:", sorted(refused))
s.quit()
`

// TestPythonSmtplib: Python's smtplib (Debian's /usr/bin/python3).
func TestPythonSmtplib(t *testing.T) {
	py := sockettest.Python(t)
	scfg, _ := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	mb := &MemoryBackend{}
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: mb, TLSConfig: scfg,
		Authenticate: func(ctx context.Context, u, p string) error { return nil }})
	host, port := splitAddr(t, addr)
	script := filepath.Join(t.TempDir(), "client.py")
	os.WriteFile(script, []byte(pythonClient), 0o600)

	out := run(t, testCtx(t), py, script, host, port, "8bit")
	if !strings.Contains(out, "refused: ['x@example.com']") {
		t.Errorf("python: %s", out)
	}
	msgs, _ := mb.Wait(testCtx(t), 1)
	if !msgs[0].Envelope.Body8Bit || !strings.Contains(string(msgs[0].Data), "crêpes\r\n.leading dot\r\n") {
		t.Errorf("8bit message: %+v %q", msgs[0].Envelope, msgs[0].Data)
	}

	run(t, testCtx(t), py, script, host, port, "tls")
	msgs, _ = mb.Wait(testCtx(t), 2)
	m := msgs[1]
	if len(m.Envelope.To) != 2 || m.Envelope.To[1].String() != "carol@hamburger.edu" || !m.Envelope.TLS {
		t.Errorf("envelope %+v", m.Envelope)
	}
	if bytes.Contains(m.Data, []byte("carol")) {
		t.Errorf("Bcc leaked into the message:\n%s", m.Data)
	}
}

// TestNetSMTP: Go's net/smtp as an independent client.
func TestNetSMTP(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	mb := &MemoryBackend{}
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: mb, TLSConfig: scfg,
		Authenticate: func(ctx context.Context, u, p string) error {
			if u != "alice" || p != "ketchup" {
				return fmt.Errorf("no")
			}
			return nil
		}})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := netsmtp.NewClient(conn, "hamburger.edu")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []func() error{
		func() error { return c.Hello("crepes.fr") },
		func() error { return c.StartTLS(ccfg) },
		func() error { return c.Auth(netsmtp.PlainAuth("", "alice", "ketchup", "hamburger.edu")) },
		func() error { return c.Mail("alice@crepes.fr") },
		func() error { return c.Rcpt("bob@hamburger.edu") },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := c.Verify("bob@hamburger.edu"); err == nil || !strings.Contains(err.Error(), "252") {
		// net/smtp treats 252 as an error; it proves VRFY answered 252.
		t.Logf("VRFY: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "Subject: from net/smtp\n\n.dot line\nDo you like ketchup?\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mb.Wait(testCtx(t), 1)
	if !strings.HasSuffix(string(msgs[0].Data), "Subject: from net/smtp\r\n\r\n.dot line\r\nDo you like ketchup?\r\n") {
		t.Errorf("stored %q", msgs[0].Data)
	}
}

// postfix is a private Postfix instance with its own configuration
// directory, started in the foreground and stopped by its master's PID.
type postfix struct {
	dir  string
	port int
}

func startPostfix(t testing.TB, mainCF string) *postfix {
	t.Helper()
	bin := sockettest.Need(t, "/usr/sbin/postfix", "postfix")
	if os.Geteuid() != 0 {
		t.Skip("a private Postfix instance needs root here")
	}
	dir, err := os.MkdirTemp("", "appnet-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // Postfix's daemons run as the postfix user
	p := &postfix{dir: dir, port: sockettest.FreePort(t)}
	for _, d := range []string{"conf", "queue", "data"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.Chown(filepath.Join(dir, "data"), postfixUID(t), -1)
	mainCF = strings.ReplaceAll(mainCF, "$DIR", dir)
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Skipf("no /etc/postfix/master.cf: %v", err)
	}
	var mcf []string
	for _, line := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(line, "smtp ") && strings.Contains(line, " inet ") {
			line = fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", p.port)
		}
		mcf = append(mcf, line)
	}
	os.WriteFile(filepath.Join(dir, "conf", "master.cf"), []byte(strings.Join(mcf, "\n")), 0o644)
	cf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = /dev/stdout
smtp_tls_security_level = none
smtpd_tls_security_level = none
alias_maps =
alias_database =
biff = no
smtp_dns_support_level = disabled
`, dir) + mainCF
	os.WriteFile(filepath.Join(dir, "conf", "main.cf"), []byte(cf), 0o644)
	pf := sockettest.StartProcess(t, context.Background(), exec.Command(bin, "-c", filepath.Join(dir, "conf"), "start-fg"))
	// Cleanups run last first: this one, before StartProcess's kill, asks
	// the master to stop its daemons (smtpd, qmgr, cleanup...) too.
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "queue", "pid", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				if p, err := os.FindProcess(pid); err == nil {
					p.Signal(syscall.SIGTERM)
				}
			}
		}
	})
	// Wait for its smtpd: a connection that gets a 220 greeting.
	ctx := testCtx(t)
	addr := fmt.Sprintf("127.0.0.1:%d", p.port)
	if err := pf.WaitDial(ctx, "tcp", addr); err != nil {
		t.Fatalf("postfix did not start: %v", err)
	}
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Greeting(ctx); err != nil {
		t.Fatalf("postfix's greeting: %v", err)
	}
	return p
}

func postfixUID(t testing.TB) int {
	out, err := exec.Command("id", "-u", "postfix").Output()
	if err != nil {
		t.Skipf("no postfix user: %v", err)
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return uid
}

// TestPostfixRelay: our queue delivers Alice's message to a real Postfix,
// which relays it to our hamburger.edu server: our client and queue
// talking to Postfix's smtpd, Postfix's smtp client talking to our server.
func TestPostfixRelay(t *testing.T) {
	bob := &MemoryBackend{}
	bobAddr := startServer(t, &Server{Domain: "hamburger.edu", Backend: bob})
	_, bobPort := splitAddr(t, bobAddr)
	pf := startPostfix(t, fmt.Sprintf("myhostname = relay.crepes.fr\nmydomain = crepes.fr\nmydestination =\nrelayhost = [127.0.0.1]:%s\n", bobPort))
	q := &Queue{
		Dir: t.TempDir(), Hostname: "crepes.fr", Port: pf.port,
		Resolver: &StaticResolver{
			MX:    map[string][]MX{"hamburger.edu": {{"relay.crepes.fr", 10}}},
			Hosts: map[string][]netip.Addr{"relay.crepes.fr": {netip.MustParseAddr("127.0.0.1")}},
		},
	}
	ctx := testCtx(t)
	if _, err := q.Submit(ctx, Path{"alice", "crepes.fr"}, []Path{{"bob", "hamburger.edu"}, {"carol", "hamburger.edu"}}, strings.NewReader(aliceMsg)); err != nil {
		t.Fatal(err)
	}
	if _, err := q.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if left, _ := q.Messages(); len(left) != 0 {
		t.Fatalf("Postfix did not accept: %+v", left[0].Recipients)
	}
	msgs, err := bob.Wait(ctx, 1)
	if err != nil {
		t.Fatalf("nothing relayed by Postfix: %v", err)
	}
	m := msgs[0]
	if len(m.Envelope.To) != 2 || !strings.Contains(string(m.Data), "Do you like ketchup?") || strings.Count(string(m.Data), "Received:") < 1 {
		t.Errorf("relayed %+v\n%s", m.Envelope, m.Data)
	}
}

// TestClientToSmtpSink: our client against Postfix's smtp-sink, three
// messages on one pipelined connection.
func TestClientToSmtpSink(t *testing.T) {
	sink := sockettest.Need(t, "/usr/sbin/smtp-sink", "postfix")
	addr := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(t))
	p := sockettest.StartProcess(t, context.Background(), exec.Command(sink, "-u", "nobody", "-c", addr, "10"))
	ctx := testCtx(t)
	if err := p.WaitDial(ctx, "tcp", addr); err != nil {
		t.Fatalf("smtp-sink did not start: %v", err)
	}
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.LocalName = "crepes.fr"
	for i := 0; i < 3; i++ {
		before := c.RoundTrips
		res, err := c.Send(ctx, Path{"alice", "crepes.fr"}, []Path{{"bob", "hamburger.edu"}, {"carol", "hamburger.edu"}},
			strings.NewReader("Subject: sink\n\n.dot\nhi\n"))
		if err != nil {
			t.Fatal(err)
		}
		if !res.Accepted(0) || !res.Accepted(1) {
			t.Errorf("result %+v", res)
		}
		if i > 0 && c.RoundTrips-before != 2 {
			t.Errorf("message %d took %d round trips, want 2 (pipelined)", i, c.RoundTrips-before)
		}
	}
	if ok, _ := c.Extension("PIPELINING"); !ok {
		t.Error("smtp-sink offers PIPELINING; the client did not see it")
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMuttReadsMaildir: mutt opens the Maildir our server wrote and pipes
// the message out, unchanged.
func TestMuttReadsMaildir(t *testing.T) {
	mutt := sockettest.Need(t, "mutt", "mutt")
	script := sockettest.Need(t, "script", "bsdutils")
	dir := t.TempDir()
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: &Maildir{Root: dir}})
	c := dialClient(t, addr, sockets.Link{})
	ctx := testCtx(t)
	if _, err := c.Send(ctx, Path{"alice", "crepes.fr"}, []Path{{"bob", "hamburger.edu"}},
		strings.NewReader("From: Alice <alice@crepes.fr>\nTo: bob@hamburger.edu\nSubject: Searching for the meaning of life\n\nDo you like ketchup?\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	out := filepath.Join(dir, "piped")
	muttCmd := fmt.Sprintf(`%s -n -F /dev/null -R -f %s -e 'set folder=%s' -e 'push "<pipe-message>cat > %s<enter><exit>"'`,
		mutt, filepath.Join(dir, "bob"), dir, out)
	cmd := exec.CommandContext(ctx, script, "-q", "-c", muttCmd, "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm", "HOME="+dir)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mutt: %v\n%q", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("mutt piped nothing: %v", err)
	}
	if !strings.Contains(string(got), "Subject: Searching for the meaning of life") || !strings.Contains(string(got), "Do you like ketchup?") {
		t.Errorf("mutt read %q", got)
	}
}
