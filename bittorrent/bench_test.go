package bittorrent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/sockets/sockettest"
)

// The interop benchmarks measure the figures against the real
// clients, in the same run: a torrent of BT_BENCH_MIB MiB (default 256)
// in 256 KiB pieces, over loopback, each peer on its own 127.0.0.x.
//
//	go test -run XXX -bench Interop -benchtime 1x ./bittorrent/
//
// BenchmarkInteropLeechFromAria2     our leecher pulls from aria2
// BenchmarkInteropLibtorrentFromAria2  libtorrent pulls from the same aria2
// BenchmarkInteropLibtorrentFromUs   libtorrent pulls from our seeder
// BenchmarkInteropLibtorrentFromLibtorrent  libtorrent pulls from libtorrent
//
// Each reports MiB/s; ours also the time to first byte after the
// handshake, the wire overhead of the download (bytes received beyond the
// content, as a percentage of it) and the bytes of requests sent back.

type benchContent struct {
	mi  *metainfo.MetaInfo
	src string
	tf  string
}

func benchSize() int {
	if n, err := strconv.Atoi(os.Getenv("BT_BENCH_MIB")); err == nil && n > 0 {
		return n << 20
	}
	return 256 << 20
}

func newBenchContent(b *testing.B, announce string) benchContent {
	b.Helper()
	src := b.TempDir()
	mi := makeContent(b, src, "netcinema.mp4", benchSize(), 256<<10, announce)
	tf := filepath.Join(b.TempDir(), "t.torrent")
	writeTorrent(b, mi, tf)
	return benchContent{mi, src, tf}
}

// aria2Seed starts aria2 seeding c and returns its address, once it
// accepts connections.
func aria2Seed(b *testing.B, c benchContent, ip string) string {
	aria2 := sockettest.Need(b, "aria2c", "aria2")
	port := sockettest.FreePort(b)
	p := run(b, aria2, append(aria2Args(ip, port, c.src), c.tf)...)
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	waitListening(b, addr, p)
	return addr
}

// waitListening waits, at most 10 s, until the peer p accepts on addr.
func waitListening(b *testing.B, addr string, p *sockettest.Process) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitDial(ctx, "tcp", addr); err != nil {
		b.Fatal(err)
	}
}

// ltGet runs libtorrent downloading c from addr and returns the time it
// reports from adding the torrent to seeding.
func ltGet(b *testing.B, c benchContent, ip, addr string) time.Duration {
	py := libtorrent(b)
	dst := b.TempDir()
	p := run(b, py, "testdata/ltpeer.py", "get", c.tf, dst, fmt.Sprintf("%s:%d", ip, sockettest.FreePort(b)), "300", addr)
	if err := waitExit(p, 320*time.Second); err != nil {
		b.Fatalf("libtorrent: %v", err)
	}
	out := p.Output()
	i := strings.Index(out, "done ")
	if i < 0 {
		b.Fatalf("libtorrent said:\n%s", out)
	}
	secs, err := strconv.ParseFloat(strings.Fields(out[i+5:])[0], 64)
	if err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(dst)
	return time.Duration(secs * float64(time.Second))
}

func reportRate(b *testing.B, n int64, d time.Duration) {
	b.ReportMetric(float64(n)/(1<<20)/d.Seconds(), "MiB/s")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkInteropLeechFromAria2(b *testing.B) {
	c := newBenchContent(b, "http://127.0.0.1:1/announce")
	addr := aria2Seed(b, c, "127.0.0.3")
	var total time.Duration
	var first time.Duration
	var overhead, reqs float64
	for b.Loop() {
		dst := b.TempDir()
		tor, err := Open(context.Background(), c.mi, Config{Dir: dst})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		tor.Start(listenOn(b, "127.0.0.2"))
		tor.AddPeer(addr)
		select {
		case <-tor.Complete():
		case <-time.After(300 * time.Second):
			b.Fatalf("incomplete: %+v", tor.Stats())
		}
		total += time.Since(start)
		s := tor.Stats()
		first += s.FirstByte
		overhead += float64(s.WireRead-s.Downloaded) / float64(s.Downloaded)
		reqs += float64(s.WireWritten) / float64(s.Downloaded)
		tor.Close()
		os.RemoveAll(dst)
	}
	reportRate(b, int64(b.N)*c.mi.Info.TotalLength(), total)
	b.ReportMetric(first.Seconds()*1000/float64(b.N), "ms-first-byte")
	b.ReportMetric(100*overhead/float64(b.N), "%-overhead-in")
	b.ReportMetric(100*reqs/float64(b.N), "%-requests-out")
}

func BenchmarkInteropLibtorrentFromAria2(b *testing.B) {
	c := newBenchContent(b, "http://127.0.0.1:1/announce")
	addr := aria2Seed(b, c, "127.0.0.3")
	var total time.Duration
	for b.Loop() {
		total += ltGet(b, c, "127.0.0.4", addr)
	}
	reportRate(b, int64(b.N)*c.mi.Info.TotalLength(), total)
}

func BenchmarkInteropLibtorrentFromUs(b *testing.B) {
	c := newBenchContent(b, "http://127.0.0.1:1/announce")
	tor, err := Open(context.Background(), c.mi, Config{Dir: c.src})
	if err != nil {
		b.Fatal(err)
	}
	defer tor.Close()
	tor.Start(listenOn(b, "127.0.0.2"))
	var total time.Duration
	for b.Loop() {
		total += ltGet(b, c, "127.0.0.4", tor.Addr().String())
	}
	reportRate(b, int64(b.N)*c.mi.Info.TotalLength(), total)
}

func BenchmarkInteropLibtorrentFromLibtorrent(b *testing.B) {
	py := libtorrent(b)
	c := newBenchContent(b, "http://127.0.0.1:1/announce")
	addr := fmt.Sprintf("127.0.0.5:%d", sockettest.FreePort(b))
	p := run(b, py, "testdata/ltpeer.py", "seed", c.tf, c.src, addr, "600")
	waitListening(b, addr, p)
	var total time.Duration
	for b.Loop() {
		total += ltGet(b, c, "127.0.0.4", addr)
	}
	reportRate(b, int64(b.N)*c.mi.Info.TotalLength(), total)
}

// BenchmarkLoopback: our leecher pulls a BT_BENCH_MIB torrent from our
// seeder over loopback, both in this process.
func BenchmarkLoopback(b *testing.B) {
	c := newBenchContent(b, "http://127.0.0.1:1/announce")
	seed, err := Open(context.Background(), c.mi, Config{Dir: c.src})
	if err != nil {
		b.Fatal(err)
	}
	defer seed.Close()
	seed.Start(listenOn(b, "127.0.0.2"))
	var total time.Duration
	for b.Loop() {
		dst := b.TempDir()
		tor, err := Open(context.Background(), c.mi, Config{Dir: dst})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		tor.Start(listenOn(b, "127.0.0.3"))
		tor.AddPeer(seed.Addr().String())
		<-tor.Complete()
		total += time.Since(start)
		tor.Close()
		os.RemoveAll(dst)
	}
	reportRate(b, int64(b.N)*c.mi.Info.TotalLength(), total)
}
