package bittorrent

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/tracker"
	"appnet.dev/sockets/sockettest"
)

// The interop tests swap files with the real clients people run: aria2
// (Debian package aria2) and libtorrent (python3-libtorrent). Every peer
// has its own 127.0.0.x address, as many clients allow one connection per
// IP.

// libtorrent returns a Python that has Debian's libtorrent module, or
// skips the test naming python3-libtorrent.
func libtorrent(t testing.TB) string {
	t.Helper()
	return sockettest.PythonModule(t, "libtorrent", "python3-libtorrent")
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

// run starts a real peer, which sockettest stops by its PID when the test
// ends (and whose output it shows if the test failed).
func run(t testing.TB, name string, args ...string) *sockettest.Process {
	t.Helper()
	return sockettest.StartProcess(t, context.Background(), exec.Command(name, args...))
}

// waitExit waits up to d for a peer to finish and returns its exit error.
func waitExit(p *sockettest.Process, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return p.Wait(ctx)
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

// waitFor waits up to d for tor to complete. (A real peer's output is
// shown by sockettest when the test fails.)
func waitFor(t *testing.T, tor *Torrent, d time.Duration, what string) {
	t.Helper()
	select {
	case <-tor.Complete():
	case <-time.After(d):
		t.Fatalf("%s: not complete after %v: %+v", what, d, tor.Stats())
	}
}

func TestInteropLeechFromAria2(t *testing.T) {
	aria2 := sockettest.Need(t, "aria2c", "aria2")
	announce := startTracker(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	run(t, aria2, append(aria2Args("127.0.0.3", sockettest.FreePort(t), src), tf)...)
	tor := leech(t, mi, "127.0.0.2", dst)
	waitFor(t, tor, 60*time.Second, "our leecher from aria2")
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}

func TestInteropAria2FromOurSeed(t *testing.T) {
	aria2 := sockettest.Need(t, "aria2c", "aria2")
	announce := startTracker(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	leech(t, mi, "127.0.0.2", src) // complete: it seeds
	get := run(t, aria2, append(aria2Args("127.0.0.4", sockettest.FreePort(t), dst), "--seed-time=0", tf)...)
	if err := waitExit(get, 60*time.Second); err != nil {
		t.Fatalf("aria2c: %v", err)
	}
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}

func TestInteropLibtorrentFromOurSeed(t *testing.T) {
	py := libtorrent(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, "http://127.0.0.1:1/announce")
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	seed := leech(t, mi, "127.0.0.2", src)
	lt := run(t, py, "testdata/ltpeer.py", "get", tf, dst, fmt.Sprintf("127.0.0.5:%d", sockettest.FreePort(t)), "60", seed.Addr().String())
	if err := waitExit(lt, 90*time.Second); err != nil {
		t.Fatalf("libtorrent: %v", err)
	}
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}

// TestInteropMixedSwarm: our seed, two of our leechers and a libtorrent
// leecher find each other through our tracker and all finish.
func TestInteropMixedSwarm(t *testing.T) {
	py := libtorrent(t)
	announce := startTracker(t)
	src := t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 4<<20+1, 128<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	leech(t, mi, "127.0.0.2", src)
	ltDir := t.TempDir()
	lt := run(t, py, "testdata/ltpeer.py", "get", tf, ltDir, fmt.Sprintf("127.0.0.6:%d", sockettest.FreePort(t)), "60")
	var ours []*Torrent
	var dirs []string
	for _, ip := range []string{"127.0.0.7", "127.0.0.8"} {
		d := t.TempDir()
		dirs = append(dirs, d)
		ours = append(ours, leech(t, mi, ip, d))
	}
	for i, tor := range ours {
		waitFor(t, tor, 60*time.Second, fmt.Sprintf("our leecher %d", i))
		sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dirs[i], "netcinema.mp4"))
	}
	if err := waitExit(lt, 60*time.Second); err != nil {
		t.Fatalf("libtorrent: %v", err)
	}
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(ltDir, "netcinema.mp4"))
}

func TestInteropLeechFromLibtorrent(t *testing.T) {
	py := libtorrent(t)
	announce := startTracker(t)
	src, dst := t.TempDir(), t.TempDir()
	mi := makeContent(t, src, "netcinema.mp4", 6<<20+777, 256<<10, announce)
	tf := filepath.Join(t.TempDir(), "t.torrent")
	writeTorrent(t, mi, tf)
	run(t, py, "testdata/ltpeer.py", "seed", tf, src, fmt.Sprintf("127.0.0.9:%d", sockettest.FreePort(t)), "120")
	tor := leech(t, mi, "127.0.0.10", dst) // finds libtorrent through the tracker
	waitFor(t, tor, 60*time.Second, "our leecher from libtorrent")
	sameFile(t, filepath.Join(src, "netcinema.mp4"), filepath.Join(dst, "netcinema.mp4"))
}
