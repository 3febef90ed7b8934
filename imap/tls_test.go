package imap

import (
	"context"
	"errors"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

func TestStartTLSBeforeLogin(t *testing.T) {
	serverTLS, clientTLS := sockettest.TestCert(t, "hamburger.edu", "127.0.0.1")
	addr, _, _ := startServer(t, func(s *Server) {
		s.AllowInsecureAuth = false
		s.TLSConfig = serverTLS
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
	if err := c.StartTLS(ctx, clientTLS); err != nil {
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
