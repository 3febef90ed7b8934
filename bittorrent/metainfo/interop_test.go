package metainfo

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"appnet.dev/sockets/sockettest"
	"github.com/google/go-cmp/cmp"
)

// libtorrentView is what python3-libtorrent sees in a .torrent file.
type libtorrentView struct {
	Hash        string          `json:"hash"`
	Name        string          `json:"name"`
	Pieces      int             `json:"pieces"`
	PieceLength int64           `json:"piece_length"`
	Total       int64           `json:"total"`
	Private     bool            `json:"private"`
	Files       [][]interface{} `json:"files"`
}

const libtorrentScript = `
import json, sys
import libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
print(json.dumps({"hash": str(ti.info_hash()), "name": ti.name(), "pieces": ti.num_pieces(),
  "piece_length": ti.piece_length(), "total": ti.total_size(), "private": ti.priv(),
  "files": [[fs.file_path(i), fs.file_size(i)] for i in range(fs.num_files())]}))
`

// needLibtorrent returns a Python that has Debian's libtorrent module,
// or skips the test.
func needLibtorrent(t *testing.T) string {
	t.Helper()
	return sockettest.PythonModule(t, "libtorrent", "python3-libtorrent")
}

// libtorrentInfo runs libtorrentScript with py on the torrent at path.
func libtorrentInfo(t *testing.T, py, path string) libtorrentView {
	t.Helper()
	out, err := exec.Command(py, "-c", libtorrentScript, path).Output()
	if err != nil {
		t.Fatalf("libtorrent on %s: %v", path, err)
	}
	var v libtorrentView
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("libtorrent output %q: %v", out, err)
	}
	return v
}

// ourView describes a torrent the way libtorrentView does.
func ourView(m *MetaInfo) libtorrentView {
	v := libtorrentView{
		Hash:        m.InfoHash().String(),
		Name:        m.Info.Name,
		Pieces:      m.Info.NumPieces(),
		PieceLength: m.Info.PieceLength,
		Total:       m.Info.TotalLength(),
		Private:     m.Info.Private,
	}
	for _, f := range m.Info.FileRanges() {
		v.Files = append(v.Files, []interface{}{strings.Join(f.Path, "/"), float64(f.Length)})
	}
	return v
}

func mktorrent(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "made.torrent")
	cmd := exec.Command("mktorrent", append([]string{"-o", out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mktorrent %v: %v\n%s", args, err, b)
	}
	return out
}

func writeTree(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A private torrent made by mktorrent: our info hash (from the file's own
// info bytes) is libtorrent's, and so is everything else we read.
func TestInteropMktorrentLibtorrent(t *testing.T) {
	sockettest.Need(t, "mktorrent", "mktorrent")
	py := needLibtorrent(t)
	dir := writeTree(t, map[string]string{
		"hamburger/menu.txt":         strings.Repeat("cheeseburger\n", 30000),
		"hamburger/kitchen/fries.md": strings.Repeat("salt ", 12345),
		"hamburger/kitchen/empty":    "",
		"crepes.bin":                 strings.Repeat("crepes.fr ", 54321),
	})
	cases := []struct {
		name string
		args []string
	}{
		{"private single", []string{"-p", "-d", "-l", "16", "-a", "http://127.0.0.1:6969/announce", filepath.Join(dir, "crepes.bin")}},
		{"private multi with source", []string{"-p", "-s", "NetworkUtopia", "-l", "15", "-a", "http://127.0.0.1:6969/announce", filepath.Join(dir, "hamburger")}},
		{"public multi", []string{"-l", "18", "-a", "udp://127.0.0.1:6969/announce", "-w", "http://netcinema.com/", filepath.Join(dir, "hamburger")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := mktorrent(t, c.args...)
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			want := libtorrentInfo(t, py, path)
			if diff := cmp.Diff(want, ourView(m)); diff != "" {
				t.Errorf("libtorrent's view (-) vs ours (+):\n%s", diff)
			}
		})
	}
}

// Create gives the same info dictionary, byte for byte, as mktorrent for
// the same content and options, and libtorrent reads what we write.
func TestInteropCreateMatchesMktorrent(t *testing.T) {
	sockettest.Need(t, "mktorrent", "mktorrent")
	dir := writeTree(t, map[string]string{
		"kingcdn/index.html":     strings.Repeat("<p>KingCDN</p>\n", 9000),
		"kingcdn/video/seg1.m4s": strings.Repeat("\x00\x01frame", 40000),
		"kingcdn/video/seg2.m4s": strings.Repeat("\x02\x03frame", 30001),
	})
	root := filepath.Join(dir, "kingcdn")
	theirs, err := Load(mktorrent(t, "-p", "-l", "15", "-a", "http://127.0.0.1:6969/announce", root))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := Create(context.Background(), root, CreateOptions{
		Announce: "http://127.0.0.1:6969/announce", PieceLength: 1 << 15, Private: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ours.InfoHash() != theirs.InfoHash() {
		t.Errorf("info hash %v, mktorrent %v\nours   %q\ntheirs %q", ours.InfoHash(), theirs.InfoHash(), ours.InfoBytes[:200], theirs.InfoBytes[:200])
	}

	t.Run("libtorrent reads it", func(t *testing.T) {
		py := needLibtorrent(t)
		out := filepath.Join(t.TempDir(), "ours.torrent")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := ours.Write(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if diff := cmp.Diff(libtorrentInfo(t, py, out), ourView(ours)); diff != "" {
			t.Errorf("libtorrent's view of our torrent (-) vs ours (+):\n%s", diff)
		}
	})
}
