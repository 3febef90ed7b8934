package imap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"
)

// testCert returns a self-signed certificate for hamburger.edu and a pool
// that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "hamburger.edu"},
		DNSNames:     []string{"hamburger.edu"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestStartTLSBeforeLogin(t *testing.T) {
	cert, pool := testCert(t)
	addr, _, _ := startServer(t, func(s *Server) {
		s.AllowInsecureAuth = false
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Capability(ctx); err != nil {
		t.Fatal(err)
	}
	if !c.Has("STARTTLS") || !c.Has("LOGINDISABLED") || c.Has("AUTH=PLAIN") {
		t.Errorf("capabilities before TLS: %v", c.caps)
	}
	err = c.Login(ctx, "bob", "hunter2")
	var st *StatusResponse
	if !errors.As(err, &st) || st.Code != "PRIVACYREQUIRED" {
		t.Fatalf("LOGIN in the clear: %v, want NO [PRIVACYREQUIRED]", err)
	}
	if err := c.StartTLS(ctx, &tls.Config{RootCAs: pool, ServerName: "hamburger.edu"}); err != nil {
		t.Fatal(err)
	}
	if c.Has("STARTTLS") || !c.Has("AUTH=PLAIN") {
		t.Errorf("capabilities after TLS: %v", c.caps)
	}
	if err := c.Login(ctx, "bob", "hunter2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(ctx, "INBOX", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownSaysBye(t *testing.T) {
	addr, _, srv := startServer(t, nil)
	s := dialRaw(t, addr)
	s.send("a1 LOGIN bob hunter2\r\n")
	s.until("a1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.line(); got != "* BYE hamburger.edu shutting down" {
		t.Errorf("on shutdown the idle client got %q", got)
	}
}
