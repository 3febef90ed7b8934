package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects output and closes ready when it first contains
// signal.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	signal string
	ready  chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.ready != nil && strings.Contains(s.b.String(), s.signal) {
		close(s.ready)
		s.ready = nil
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCreateInfoSeedGet(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	content := bytes.Repeat([]byte("crepes.fr hamburger.edu "), 50000)
	if err := os.WriteFile(filepath.Join(src, "lecture.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	tf := filepath.Join(t.TempDir(), "t.torrent")
	var w bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"create", "-tracker", "http://127.0.0.1:1/announce", "-piece", "65536", "-o", tf, filepath.Join(src, "lecture.bin")}, &w); err != nil {
		t.Fatal(err)
	}
	w.Reset()
	if err := run(ctx, []string{"info", tf}, &w); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name:       lecture.bin", "pieces:     19 of 65536 bytes", "length:     1200000 bytes"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("info lacks %q:\n%s", want, w.String())
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seedAddr := ln.Addr().String()
	ln.Close()
	seedCtx, stopSeed := context.WithCancel(ctx)
	listening := make(chan struct{})
	seedOut := syncBuffer{signal: "listening on", ready: listening}
	seedErr := make(chan error, 1)
	go func() { seedErr <- run(seedCtx, []string{"seed", "-addr", seedAddr, "-dir", src, tf}, &seedOut) }()
	defer func() {
		stopSeed()
		if err := <-seedErr; err != nil {
			t.Errorf("seed: %v\n%s", err, seedOut.String())
		}
	}()

	getCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var getOut syncBuffer
	// The download dials -peers only once: wait for the seed to listen.
	select {
	case <-listening:
	case err := <-seedErr:
		seedErr <- err // for the deferred check
		t.Fatalf("seed ended: %v\n%s", err, seedOut.String())
	case <-getCtx.Done():
		t.Fatal("seed never started")
	}
	if err := run(getCtx, []string{"get", "-addr", "127.0.0.1:0", "-dir", out, "-peers", seedAddr, tf}, &getOut); err != nil {
		t.Fatalf("get: %v\n%s", err, getOut.String())
	}
	if !strings.Contains(getOut.String(), "verified all 19 pieces") {
		t.Errorf("get output:\n%s", getOut.String())
	}
	got, err := os.ReadFile(filepath.Join(out, "lecture.bin"))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("downloaded file differs (%v)", err)
	}
}
