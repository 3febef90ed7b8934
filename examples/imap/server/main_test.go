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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/imap"
)

// selfSigned writes a fresh certificate for hamburger.edu and 127.0.0.1,
// and its key, as PEM files in dir, and returns the paths and a pool that
// trusts it.
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
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
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

// TestStartTLS runs the server with -cert and -key: LOGIN is refused in
// the clear (LOGINDISABLED), STARTTLS brings up TLS with the certificate
// made here, and LOGIN then works.
func TestStartTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	cfg := config{
		Addr: "127.0.0.1:0", Maildir: filepath.Join(dir, "mail"), Hostname: "hamburger.edu",
		Passwords: map[string]string{"bob": "hunter2"},
		CertFile:  certFile, KeyFile: keyFile, InsecureAuth: true, // ignored with a certificate
		Ready: func(a net.Addr) { ready <- a.String() },
	}
	go func() { done <- run(runCtx, cfg) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	c, err := imap.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Capability(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.Has("STARTTLS") || !c.Has("LOGINDISABLED") || c.Has("AUTH=PLAIN") {
		caps, _ := c.Capability(ctx)
		t.Errorf("capabilities in the clear: %v; want STARTTLS and LOGINDISABLED, no AUTH=PLAIN", caps)
	}
	if err := c.Login(ctx, "bob", "hunter2"); err == nil {
		t.Fatal("LOGIN in the clear succeeded")
	}
	if err := c.StartTLS(ctx, &tls.Config{RootCAs: pool, ServerName: "hamburger.edu"}); err != nil {
		t.Fatal(err)
	}
	if c.Has("STARTTLS") || c.Has("LOGINDISABLED") || !c.Has("AUTH=PLAIN") {
		caps, _ := c.Capability(ctx)
		t.Errorf("capabilities over TLS: %v", caps)
	}
	if err := c.Login(ctx, "bob", "hunter2"); err != nil {
		t.Fatalf("LOGIN over TLS: %v", err)
	}
	if _, err := c.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil && !strings.Contains(err.Error(), "closed") {
		t.Fatal(err)
	}
}
