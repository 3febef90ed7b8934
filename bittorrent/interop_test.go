package bittorrent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/tracker"
)

// The interop tests swap files with the real clients people run: aria2
// (Debian package aria2) and libtorrent (python3-libtorrent). Every peer
// has its own 127.0.0.x address, as many clients allow one connection per
// IP.

func needAria2(t testing.TB) string {
	p, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed (Debian package aria2)")
	}
	return p
}

func needLibtorrent(t testing.TB) {
	if err := exec.Command("/usr/bin/python3", "-c", "import libtorrent").Run(); err != nil {
		t.Skip("python3 libtorrent not installed (Debian package python3-libtorrent)")
	}
}

// freePort returns a port free on ip, for a real client's listen option.
func freePort(t testing.TB, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startTracker runs our HTTP tracker on 127.0.0.1 and returns its
// announce URL. TrustIP lets each peer give its own 127.0.0.x address.
func startTracker(t testing.TB) string {
	t.Helper()
	s := &tracker.Server{TrustIP: true, Interval: time.Second, MinInterval: time.Second}
	ln := listenOn(t, "127.0.0.1")
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return "http://" + ln.Addr().String() + "/announce"
}

func listenOn(t testing.TB, ip string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	return ln
}

// makeContent writes n random bytes to dir/name and makes a torrent of it.
func makeContent(t testing.TB, dir, name string, n int, pieceLength int64, announce string) *metainfo.MetaInfo {
	t.Helper()
	root := writeFiles(t, dir, map[string]int{name: n}, 42)
	mi, err := metainfo.Create(context.Background(), filepath.Join(root, name), metainfo.CreateOptions{PieceLength: pieceLength, Announce: announce})
	if err != nil {
		t.Fatal(err)
	}
	// The file goes straight into dir, as a single-file torrent names it.
	if err := os.Rename(filepath.Join(root, name), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return mi
}

func writeTorrent(t testing.TB, mi *metainfo.MetaInfo, path string) {
	t.Helper()
	b, err := mi.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// process runs a real peer and stops it by PID at cleanup.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuf
	done chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t testing.TB, name string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(name, args...), out: &syncBuf{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit, for at most d.
func (p *process) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(d):
		return errors.New("timed out")
	}
}

func aria2Args(ip string, port int, dir string) []string {
	return []string{
		"--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--seed-ratio=0.0", "--bt-seed-unverified=true", "--listen-port=" + fmt.Sprint(port),
		"--interface=" + ip, "--dir=" + dir, "--summary-interval=0", "--console-log-level=warn",
		"--bt-tracker-interval=1", "--file-allocation=none", "--no-conf=true",
	}
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ (%v, %v)", a, b, err1, err2)
	}
}

// leech starts our client downloading into dir from ip.
func leech(t testing.TB, mi *metainfo.MetaInfo, ip, dir string) *Torrent {
	t.Helper()
	tor, err := Open(context.Background(), mi, Config{Dir: dir, Tracker: NewTrackers(mi, net.ParseIP(ip))})
	if err != nil {
		t.Fatal(err)
	}
	if err := tor.Start(listenOn(t, ip)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tor.Close() })
	return tor
}

func waitFor(t *testing.T, tor *Torrent, d time.Duration, what string, logs ...fmt.Stringer) {
	t.Helper()
	select {
	case <-tor.Complete():
	case <-time.After(d):
		var s []string
		for _, l := range logs {
			s = append(s, l.String())
		}
		t.Fatalf("%s: not complete after %v: %+v\n%s", what, d, tor.Stats(), strings.Join(s, "\n"))
	}
}

func TestInteropLeechFromAria2(t *testing.T) {
	aria2 := needAria2(t)
	announce := startTracker(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	seed := run(t, aria2, append(aria2Args("127.0.0.3", freePort(t, "127.0.0.3"), src), tf)...)
	tor := leech(t, mi, "127.0.0.2", dst)
	waitFor(t, tor, 60*time.Second, "our leecher from aria2", seed.out)
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}

func TestInteropAria2FromOurSeed(t *testing.T) {
	aria2 := needAria2(t)
	announce := startTracker(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	leech(t, mi, "127.0.0.2", src) // complete: it seeds
	get := run(t, aria2, append(aria2Args("127.0.0.4", freePort(t, "127.0.0.4"), dst), "--seed-time=0", tf)...)
	if err := get.wait(60 * time.Second); err != nil {
		t.Fatalf("aria2c: %v\n%s", err, get.out)
	}
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}

func TestInteropLibtorrentFromOurSeed(t *testing.T) {
	needLibtorrent(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, "http://127.0.0.1:1/announce")
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	seed := leech(t, mi, "127.0.0.2", src)
	lt := run(t, "/usr/bin/python3", "testdata/ltpeer.py", "get", tf, dst, fmt.Sprintf("127.0.0.5:%d", freePort(t, "127.0.0.5")), "60", seed.Addr().String())
	if err := lt.wait(90 * time.Second); err != nil {
		t.Fatalf("libtorrent: %v\n%s", err, lt.out)
	}
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}

// TestInteropMixedSwarm: our seed, two of our leechers and a libtorrent
// leecher find each other through our tracker and all finish.
func TestInteropMixedSwarm(t *testing.T) {
	needLibtorrent(t)
	announce := startTracker(t)
	src := t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 4<<20+1, 128<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	leech(t, mi, "127.0.0.2", src)
	ltDir := t.TempDir()
	lt := run(t, "/usr/bin/python3", "testdata/ltpeer.py", "get", tf, ltDir, fmt.Sprintf("127.0.0.6:%d", freePort(t, "127.0.0.6")), "60")
	var ours []*Torrent
	var dirs []string
	for _, ip := range []string{"127.0.0.7", "127.0.0.8"} {
		d := t.TempDir()
		dirs = append(dirs, d)
		ours = append(ours, leech(t, mi, ip, d))
	}
	for i, tor := range ours {
		waitFor(t, tor, 60*time.Second, fmt.Sprintf("our leecher %d", i), lt.out)
		sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dirs[i], "netcinema.mp4"))
	}
	if err := lt.wait(60 * time.Second); err != nil {
		t.Fatalf("libtorrent: %v\n%s", err, lt.out)
	}
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(ltDir, "netcinema.mp4"))
}

func TestInteropLeechFromLibtorrent(t *testing.T) {
	needLibtorrent(t)
	announce := startTracker(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	lt := run(t, "/usr/bin/python3", "testdata/ltpeer.py", "seed", tf, src, fmt.Sprintf("127.0.0.9:%d", freePort(t, "127.0.0.9")), "120")
	tor := leech(t, mi, "127.0.0.10", dst) // finds libtorrent through the tracker
	waitFor(t, tor, 60*time.Second, "our leecher from libtorrent", lt.out)
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}
