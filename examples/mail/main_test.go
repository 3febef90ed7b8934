package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/imap"
	"appnet.dev/smtp"
)

// server runs one mail server in the background for the test.
type server struct {
	smtp, imap string
}

func startMail(t *testing.T, domain string, passwords map[string]string, resolver smtp.Resolver, relayPort int) server {
	t.Helper()
	return startConfig(t, config{
		Domain:    domain,
		SMTPAddr:  "127.0.0.1:0",
		IMAPAddr:  "127.0.0.1:0",
		Maildir:   filepath.Join(t.TempDir(), "mail"),
		Passwords: passwords,
		Resolver:  resolver,
		RelayPort: relayPort,
	})
}

// startConfig runs a mail server with cfg, whose Ready it sets.
func startConfig(t *testing.T, cfg config) server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan server, 1)
	done := make(chan error, 1)
	cfg.Ready = func(s, i net.Addr) { ready <- server{s.String(), i.String()} }
	go func() { done <- run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case s := <-ready:
		return s
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return server{}
}

// idleSignal closes idling when the server's "+" for IDLE arrives.
type idleSignal struct {
	net.Conn
	once   sync.Once
	idling chan struct{}
}

func (c *idleSignal) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if strings.Contains(string(p[:n]), "+ idling") {
		c.once.Do(func() { close(c.idling) })
	}
	return n, err
}

// TestAliceToBob is the lecture's six steps: Alice's user agent submits to
// her mail server (crepes.fr), whose queue finds hamburger.edu's mail
// exchanger and delivers over SMTP; Bob's user agent, idling over IMAP,
// hears of the message at once and reads it.
func TestAliceToBob(t *testing.T) {
	bob := startMail(t, "hamburger.edu", map[string]string{"bob": "hunter2"}, &smtp.StaticResolver{}, 25)
	_, port, _ := net.SplitHostPort(bob.smtp)
	var relayPort int
	for _, c := range port {
		relayPort = relayPort*10 + int(c-'0')
	}
	resolver := &smtp.StaticResolver{
		MX:    map[string][]smtp.MX{"hamburger.edu": {{Host: "mail.hamburger.edu", Preference: 10}}},
		Hosts: map[string][]netip.Addr{"mail.hamburger.edu": {netip.MustParseAddr("127.0.0.1")}},
	}
	alice := startMail(t, "crepes.fr", map[string]string{"alice": "secret"}, resolver, relayPort)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Bob's user agent logs in and idles on INBOX.
	conn, err := net.Dial("tcp", bob.imap)
	if err != nil {
		t.Fatal(err)
	}
	sig := &idleSignal{Conn: conn, idling: make(chan struct{})}
	ua := imap.NewClient(sig)
	defer ua.Close()
	if err := ua.Login(ctx, "bob", "hunter2"); err != nil {
		t.Fatal(err)
	}
	if _, err := ua.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}

	// Alice's user agent submits once Bob idles.
	sent := make(chan error, 1)
	go func() {
		select {
		case <-sig.idling:
		case <-ctx.Done():
			sent <- ctx.Err()
			return
		}
		c, err := smtp.Dial(ctx, alice.smtp)
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		if err := c.Auth(ctx, "alice", "secret"); err != nil {
			sent <- err
			return
		}
		msg := "From: Alice <alice@crepes.fr>\r\nTo: Bob <bob@hamburger.edu>\r\nSubject: Searching for the meaning of life\r\n\r\nDo you like ketchup?\r\n"
		_, err = c.Send(ctx, smtp.Path{Local: "alice", Domain: "crepes.fr"}, []smtp.Path{{Local: "bob", Domain: "hamburger.edu"}}, strings.NewReader(msg))
		if err == nil {
			err = c.Quit(ctx)
		}
		sent <- err
	}()
	var got []imap.Update
	if err := ua.Idle(ctx, func(u imap.Update) bool {
		got = append(got, u)
		return u.Kind != "EXISTS"
	}); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1].Kind != "EXISTS" || got[len(got)-1].Num != 1 {
		t.Fatalf("IDLE updates %v, want * 1 EXISTS", got)
	}
	var subject, text string
	err = ua.Fetch(ctx, imap.SeqSetOf(1), imap.FetchOptions{Items: []string{"ENVELOPE", "BODY[TEXT]"}}, func(m *imap.FetchMessage) error {
		subject = m.Envelope.Subject
		text = string(m.Body["BODY[TEXT]"])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Searching for the meaning of life" || text != "Do you like ketchup?\r\n" {
		t.Errorf("Bob read subject %q, text %q", subject, text)
	}
	if err := ua.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestNoOpenRelay checks that mail for other domains needs AUTH, and that
// unknown local users are refused during the dialogue.
func TestNoOpenRelay(t *testing.T) {
	bob := startMail(t, "hamburger.edu", map[string]string{"bob": "hunter2"}, &smtp.StaticResolver{}, 25)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := smtp.Dial(ctx, bob.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.Send(ctx, smtp.Path{Local: "spam", Domain: "netcinema.com"},
		[]smtp.Path{{Local: "victim", Domain: "kingcdn.com"}, {Local: "nobody", Domain: "hamburger.edu"}},
		strings.NewReader("Subject: hi\r\n\r\nhi\r\n"))
	if err == nil && (res.Accepted(0) || res.Accepted(1)) {
		t.Fatalf("relay or unknown user accepted: %+v", res)
	}
	if res != nil && len(res.Recipients) == 2 {
		if res.Recipients[0].Code != 554 || res.Recipients[1].Code != 550 {
			t.Errorf("replies %v %v, want 554 and 550", res.Recipients[0], res.Recipients[1])
		}
	}
}

// selfSigned writes a fresh certificate for hamburger.edu and its key as
// PEM files in dir, and returns the paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "hamburger.edu"},
		DNSNames:     []string{"hamburger.edu"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestStartTLS runs the mail server with -cert and -key: SMTP offers no
// AUTH and IMAP no LOGIN in the clear; after STARTTLS, with the
// certificate made here, both let Bob in.
func TestStartTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	srv := startConfig(t, config{
		Domain: "hamburger.edu", SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0",
		Maildir:   filepath.Join(dir, "mail"),
		Passwords: map[string]string{"bob": "hunter2"},
		Resolver:  &smtp.StaticResolver{}, RelayPort: 25,
		CertFile: certFile, KeyFile: keyFile,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tc := &tls.Config{RootCAs: pool, ServerName: "hamburger.edu"}

	sc, err := smtp.Dial(ctx, srv.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Hello(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := sc.Extension("STARTTLS"); !ok {
		t.Error("SMTP does not offer STARTTLS")
	}
	if err := sc.Auth(ctx, "bob", "hunter2"); err == nil {
		t.Error("SMTP AUTH in the clear succeeded")
	}
	if err := sc.StartTLS(ctx, tc); err != nil {
		t.Fatal(err)
	}
	if err := sc.Auth(ctx, "bob", "hunter2"); err != nil {
		t.Errorf("SMTP AUTH over TLS: %v", err)
	}
	sc.Quit(ctx)

	ic, err := imap.Dial(ctx, srv.imap)
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if _, err := ic.Capability(ctx); err != nil {
		t.Fatal(err)
	}
	if !ic.Has("STARTTLS") || !ic.Has("LOGINDISABLED") {
		t.Error("IMAP in the clear: want STARTTLS and LOGINDISABLED")
	}
	if err := ic.Login(ctx, "bob", "hunter2"); err == nil {
		t.Error("IMAP LOGIN in the clear succeeded")
	}
	if err := ic.StartTLS(ctx, tc); err != nil {
		t.Fatal(err)
	}
	if err := ic.Login(ctx, "bob", "hunter2"); err != nil {
		t.Errorf("IMAP LOGIN over TLS: %v", err)
	}
	ic.Logout(ctx)
}
