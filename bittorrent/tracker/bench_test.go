package tracker

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/sockets/sockettest"
)

// benchTracker is a tracker under benchmark: its UDP and HTTP announce URLs.
type benchTracker struct {
	name     string
	udp      string // host:port
	httpURL  string
	infoHash metainfo.Hash
}

// benchTrackers starts ours and, when installed, opentracker, so the two
// are measured in the same run on the same machine.
func benchTrackers(b *testing.B) []benchTracker {
	h, _ := metainfo.ParseHash("c12fe1c06bba254a9dc9f519b335aa7c1367a88a")
	l, pc, err := ListenBoth("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &Server{}
	go srv.Serve(l)
	go srv.ServePacket(pc)
	b.Cleanup(func() { srv.Close() })
	out := []benchTracker{{"appnet", pc.LocalAddr().String(), "http://" + l.Addr().String() + "/announce", h}}

	if _, err := exec.LookPath("opentracker"); err != nil {
		b.Log("opentracker not installed (Debian package opentracker): measuring ours alone")
		return out
	}
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "whitelist"), []byte(h.String()+"\n"), 0o644)
	os.Chmod(dir, 0o755)
	port := sockettest.FreePort(b)
	sockettest.StartProcess(b, context.Background(), exec.Command("opentracker", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-P", strconv.Itoa(port), "-d", dir, "-w", "whitelist"))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sockettest.WaitDial(ctx, "tcp", addr); err != nil {
		b.Fatalf("opentracker did not start: %v", err)
	}
	req := &AnnounceRequest{InfoHash: h, PeerID: pid("ready"), Port: 1, Left: 1, Event: Stopped}
	if _, err := announceWhenListed(context.Background(), &Client{}, "http://"+addr+"/announce", req); err != nil {
		b.Fatal(err)
	}
	return append(out, benchTracker{"opentracker", addr, "http://" + addr + "/announce", h})
}

// fillSwarm puts n peers in the tracker's swarm over UDP.
func fillSwarm(b *testing.B, uc *UDPClient, h metainfo.Hash, n int) {
	for i := range n {
		req := &AnnounceRequest{InfoHash: h, PeerID: pid(fmt.Sprint("fill", i)), Port: uint16(10000 + i), Left: 1, Event: Started}
		if _, err := uc.Announce(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUDPAnnounce: one announce round trip over UDP (connection ID
// held), into a swarm of 1000 peers, asking for 50. Ours against
// opentracker in the same run; the figure is ns/op, one client at a time.
func BenchmarkUDPAnnounce(b *testing.B) {
	for _, tr := range benchTrackers(b) {
		b.Run(tr.name, func(b *testing.B) {
			uc, err := DialUDP(context.Background(), tr.udp)
			if err != nil {
				b.Fatal(err)
			}
			defer uc.Close()
			uc.Timeout = time.Second
			fillSwarm(b, uc, tr.infoHash, 1000)
			req := &AnnounceRequest{InfoHash: tr.infoHash, PeerID: pid("bench"), Port: 6881, Left: 1, NumWant: 50}
			b.ResetTimer()
			for b.Loop() {
				resp, err := uc.Announce(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Peers) != 50 {
					b.Fatalf("%d peers", len(resp.Peers))
				}
			}
		})
	}
}

// BenchmarkHTTPAnnounce: the same over HTTP (a new TCP connection per
// announce, as opentracker closes each one).
func BenchmarkHTTPAnnounce(b *testing.B) {
	for _, tr := range benchTrackers(b) {
		b.Run(tr.name, func(b *testing.B) {
			uc, err := DialUDP(context.Background(), tr.udp)
			if err != nil {
				b.Fatal(err)
			}
			fillSwarm(b, uc, tr.infoHash, 1000)
			uc.Close()
			var c Client
			req := &AnnounceRequest{InfoHash: tr.infoHash, PeerID: pid("bench"), Port: 6881, Left: 1, NumWant: 50}
			b.ResetTimer()
			for b.Loop() {
				resp, err := c.Announce(context.Background(), tr.httpURL, req)
				if err != nil {
					b.Fatal(err)
				}
				if len(resp.Peers) != 50 {
					b.Fatalf("%d peers", len(resp.Peers))
				}
			}
		})
	}
}

// BenchmarkHandlePacket: the UDP tracker's work for one announce, without
// the sockets.
func BenchmarkHandlePacket(b *testing.B) {
	srv := &Server{}
	h := metainfo.Hash{1}
	from := ap("127.0.0.2:5000")
	id := be64(srv.HandlePacket(b.Context(), from, appendConnectRequest(nil, 1))[8:])
	for i := range 1000 {
		srv.HandlePacket(b.Context(), ap(fmt.Sprintf("127.0.%d.%d:6881", i/250, i%250+1)), nil)
		srv.announce(b.Context(), &AnnounceRequest{InfoHash: h, PeerID: pid(fmt.Sprint(i)), Port: uint16(10000 + i), Left: 1}, ap(fmt.Sprintf("127.0.%d.%d:1", i/250, i%250+1)).Addr())
	}
	pkt := appendAnnounceRequest(nil, id, 2, &AnnounceRequest{InfoHash: h, PeerID: pid("bench"), Port: 6881, Left: 1, NumWant: 50})
	b.ReportAllocs()
	for b.Loop() {
		r := srv.HandlePacket(b.Context(), from, pkt)
		if len(r) != 20+50*6 || strings.HasPrefix(string(r), "\x00\x00\x00\x03") {
			b.Fatalf("reply %d bytes", len(r))
		}
	}
}
