package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
)

// TestHierarchy starts the program, reads who is where, and asks the root
// server it lists for the root's NS records.
func TestHierarchy(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, pw, 0, dir, false); pw.Close() }()
	lines := bufio.NewScanner(pr)
	var text []string
	for lines.Scan() {
		text = append(text, lines.Text())
		if strings.HasPrefix(lines.Text(), "zone files") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if len(text) < 3 || !strings.Contains(text[1], "a.root-servers.net") {
		t.Fatalf("output %q", text)
	}
	port := strings.TrimSuffix(strings.Fields(text[0])[7], ":")
	root := strings.Fields(text[1])[0]
	var c dns.Client
	rrs, err := c.Lookup(ctx, root+":"+port, dns.Name{}, dns.TypeNS)
	if err != nil || len(rrs) != 2 {
		t.Errorf("root NS: %v %v", rrs, err)
	}
	f, err := os.Open(filepath.Join(dir, "named.root"))
	if err != nil {
		t.Fatal(err)
	}
	hints, err := resolver.ReadHints(f)
	f.Close()
	if err != nil || len(hints) != 2 || hints[0].Addr.String() != root {
		t.Errorf("named.root: %v %v", hints, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
