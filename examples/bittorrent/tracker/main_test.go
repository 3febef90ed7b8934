package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/tracker"
)

func TestReadAllowList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow")
	os.WriteFile(path, []byte("# private torrents of Network Utopia\nc12fe1c06bba254a9dc9f519b335aa7c1367a88a\n\n  65398F4776AF9C3EA235E2DA5CAA16ACFBE4C632  \n"), 0o644)
	set, err := readAllowList(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := metainfo.ParseHash("c12fe1c06bba254a9dc9f519b335aa7c1367a88a")
	b, _ := metainfo.ParseHash("65398f4776af9c3ea235e2da5caa16acfbe4c632")
	if len(set) != 2 || !set[a] || !set[b] {
		t.Errorf("set = %v", set)
	}
	os.WriteFile(path, []byte("not-a-hash\n"), 0o644)
	if _, err := readAllowList(path); err == nil {
		t.Errorf("a bad line was accepted")
	}
}

// The program serves both trackers on one port until its context ends.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-interval", "1m", "-trace"}, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatal("no banner")
	}
	var httpURL, udpURL string
	if _, err := fmt.Sscanf(lines.Text(), "tracker: %s and %s", &httpURL, &udpURL); err != nil {
		t.Fatalf("banner %q: %v", lines.Text(), err)
	}
	go io.Copy(io.Discard, pr) // the transcript

	var c tracker.Client
	h := metainfo.Hash{1}
	for i, u := range []string{httpURL, udpURL} {
		resp, err := c.Announce(ctx, u, &tracker.AnnounceRequest{InfoHash: h, PeerID: tracker.PeerID{byte(i)}, Port: uint16(6881 + i), Left: 1})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if resp.Interval != time.Minute || len(resp.Peers) != i {
			t.Errorf("%s: %+v", u, resp)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
