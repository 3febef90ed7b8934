package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns/hierarchy"
)

// TestDigTrace walks the local hierarchy (on 127.0.0.x) from the root
// hints file, printing each referral.
func TestDigTrace(t *testing.T) {
	dir := t.TempDir()
	in, err := hierarchy.Start(hierarchy.Config{Loopback: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out strings.Builder
	err = run(ctx, &out, []string{"-roots", filepath.Join(dir, "named.root"), "-p", strconv.Itoa(in.Port), "gaia.cs.umass.edu", "+trace"})
	if err != nil {
		t.Fatal(err)
	}
	edu := in.Host("a.edu-servers.net").Public
	for _, want := range []string{
		"I don't know gaia.cs.umass.edu., but ask this server: a.edu-servers.net (" + edu.String() + ") (for edu.)",
		"but ask this server: dns.cs.umass.edu",
		";; ANSWER SECTION:",
		"gaia.cs.umass.edu.\t3600\tIN\tA\t128.119.245.12",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if err := run(ctx, &out, []string{"gaia.cs.umass.edu", "+trace"}); err == nil || !strings.Contains(err.Error(), "-roots") {
		t.Errorf("+trace without -roots: %v", err)
	}
}
