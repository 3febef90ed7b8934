package main

import (
	"os"
	"path/filepath"
	"testing"

	"appnet.dev/bittorrent/metainfo"
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
