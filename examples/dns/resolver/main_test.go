package main

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
)

// TestResolver starts the resolver over the loopback hierarchy, from its
// root hints file, and asks it as a stub does.
func TestResolver(t *testing.T) {
	dir := t.TempDir()
	in, err := hierarchy.Start(hierarchy.Config{Loopback: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, pw, "127.0.0.1:0", filepath.Join(dir, "named.root"), in.Port, true)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatal("no banner")
	}
	banner := lines.Text()
	go io.Copy(io.Discard, pr) // the trace
	f := strings.Fields(banner)
	if len(f) < 4 || f[0] != "recursive" {
		t.Fatalf("banner %q", banner)
	}
	addr := f[3]
	var c dns.Client
	q := dns.NewQuery(dns.MustParseName("www.cs.umass.edu"), dns.TypeA)
	q.RecursionDesired = true
	r, err := c.Exchange(ctx, strings.TrimSuffix(addr, ","), q)
	if err != nil {
		t.Fatal(err)
	}
	if !r.RecursionAvailable || len(r.Answers) != 2 || r.Answers[1].Data.String() != "128.119.245.12" {
		t.Errorf("reply %v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if err := run(context.Background(), io.Discard, "127.0.0.1:0", "", in.Port, false); err == nil {
		t.Error("no -roots accepted")
	}
}
