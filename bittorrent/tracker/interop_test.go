package tracker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
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

// startPeer runs a real program, its output going to stdout too, and
// stops it by its PID when the test ends.
func startPeer(t *testing.T, stdout *sockettest.SyncBuffer, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	return sockettest.StartProcess(t, context.Background(), cmd).Cmd
}

// waitLine waits up to 30 s for a line of out that starts like want (its
// first word), or an error line, and returns it.
func waitLine(t *testing.T, out *sockettest.SyncBuffer, want string) string {
	t.Helper()
	prefix := strings.Fields(want)[0]
	var found string
	match := func(text string) bool {
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, prefix) || strings.HasPrefix(line, "error") {
				found = line
				return true
			}
		}
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := out.WaitFor(ctx, match); err != nil {
		t.Fatalf("no %q line: %v\n%s", prefix, err, out.String())
	}
	return found
}

// waitListening dials addr until something accepts, for at most 10 s: a
// real peer gives no other sign that it is ready.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sockettest.WaitDial(ctx, "tcp", addr); err != nil {
		t.Fatal(err)
	}
}

// Our client announces to opentracker over HTTP and UDP, and scrapes it.
func TestInteropOpentracker(t *testing.T) {
	sockettest.Need(t, "opentracker", "opentracker")
	listed, _ := metainfo.ParseHash("c12fe1c06bba254a9dc9f519b335aa7c1367a88a")
	dir := t.TempDir()
	// Debian's opentracker chroots into -d when it can (as root) and
	// changes into it otherwise: a relative whitelist path works both ways.
	if err := os.WriteFile(filepath.Join(dir, "whitelist"), []byte(listed.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	port := sockettest.FreePort(t)
	var out sockettest.SyncBuffer
	startPeer(t, &out, "opentracker", "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-P", strconv.Itoa(port), "-d", dir, "-w", "whitelist")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitListening(t, addr)

	var trace sockettest.SyncBuffer
	c := &Client{Trace: &trace, UDPTimeout: 200 * time.Millisecond, UDPRetries: 4}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpURL, udpURL := "http://"+addr+"/announce", "udp://"+addr+"/announce"

	alice := &AnnounceRequest{InfoHash: listed, PeerID: pid("alice"), Port: 6881, Left: 1000, Event: Started}
	resp, err := announceWhenListed(ctx, c, httpURL, alice)
	if err != nil {
		t.Fatalf("HTTP announce: %v\n%s", err, trace.String())
	}
	if resp.Interval <= 0 || resp.Incomplete != 1 {
		t.Errorf("alice over HTTP: %+v", resp)
	}
	bob := &AnnounceRequest{InfoHash: listed, PeerID: pid("bob"), Port: 6882, Left: 0, Event: Started, NumWant: 10}
	resp, err = c.Announce(ctx, udpURL, bob)
	if err != nil {
		t.Fatalf("UDP announce: %v\n%s", err, trace.String())
	}
	if resp.Complete != 1 || resp.Incomplete != 1 || !containsAddr(resp.Peers, "127.0.0.1:6881") {
		t.Errorf("bob over UDP: %+v", resp)
	}
	for _, u := range []string{httpURL, udpURL} {
		stats, err := c.Scrape(ctx, u, listed)
		if err != nil {
			t.Fatalf("scrape %s: %v", u, err)
		}
		if stats[listed].Complete != 1 || stats[listed].Incomplete != 1 {
			t.Errorf("scrape %s: %+v", u, stats)
		}
	}
	// A torrent not on the whitelist is refused with a failure reason.
	_, err = c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: metainfo.Hash{1}, PeerID: pid("eve"), Port: 6883, Left: 1})
	var e *Error
	if !errors.As(err, &e) || e.Reason == "" {
		t.Errorf("unlisted torrent: %v", err)
	}
	alice.Event, alice.Left = Stopped, 0
	if _, err := c.Announce(ctx, httpURL, alice); err != nil {
		t.Errorf("stopped: %v", err)
	}
	if stats, err := c.Scrape(ctx, udpURL, listed); err != nil || stats[listed].Incomplete != 0 {
		t.Errorf("after stopped: %+v %v", stats, err)
	}
}

// announceWhenListed announces once opentracker has read its whitelist,
// which it does in the background after it starts listening: until then
// it refuses every torrent. It tries for at most 10 s.
func announceWhenListed(ctx context.Context, c *Client, url string, req *AnnounceRequest) (*AnnounceResponse, error) {
	for i := 0; ; i++ {
		resp, err := c.Announce(ctx, url, req)
		var e *Error
		if !errors.As(err, &e) || i == 500 {
			return resp, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func containsAddr(peers []Peer, addr string) bool {
	for _, p := range peers {
		if p.Addr.String() == addr {
			return true
		}
	}
	return false
}

// recorder is a Backend that reports each announce it sees.
type recorder struct {
	Backend
	seen chan AnnounceRequest
}

func (r *recorder) Announce(ctx context.Context, now time.Time, req *AnnounceRequest, addr netip.AddrPort, numWant int) ([]Peer, Stats, error) {
	select {
	case r.seen <- *req:
	default:
	}
	return r.Backend.Announce(ctx, now, req, addr, numWant)
}

// realClientSetup makes a torrent announcing to our tracker, and a fake
// peer in its swarm: a listener that a real client which read our peer
// list will connect to and greet with a BitTorrent handshake.
type realClientSetup struct {
	rec      *recorder
	httpURL  string
	udpURL   string
	fakePeer net.Listener
	dir      string
}

func newRealClientSetup(t *testing.T) *realClientSetup {
	t.Helper()
	reg := &Registry{}
	rec := &recorder{Backend: reg, seen: make(chan AnnounceRequest, 64)}
	srv := &Server{Backend: rec}
	httpURL, udpURL := startServer(t, srv)
	fake, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	return &realClientSetup{rec: rec, httpURL: httpURL, udpURL: udpURL, fakePeer: fake, dir: t.TempDir()}
}

// torrent creates a file and its torrent naming trackerURL, and registers
// the fake peer in its swarm as a leecher.
func (s *realClientSetup) torrent(t *testing.T, trackerURL string) (string, *metainfo.MetaInfo) {
	t.Helper()
	data := filepath.Join(s.dir, "src", "crepes.txt")
	os.MkdirAll(filepath.Dir(data), 0o755)
	if err := os.WriteFile(data, bytes.Repeat([]byte("crepes.fr recipe\n"), 20000), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := metainfo.Create(context.Background(), data, metainfo.CreateOptions{Announce: trackerURL, PieceLength: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.dir, "crepes.torrent")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Write(f)
	f.Close()
	fakeAddr := s.fakePeer.Addr().(*net.TCPAddr).AddrPort()
	reg := s.rec.Backend.(*Registry)
	reg.Announce(t.Context(), time.Now(), &AnnounceRequest{InfoHash: m.InfoHash(), PeerID: pid("fake"), Port: fakeAddr.Port(), Left: 1, Event: Started}, fakeAddr, 0)
	return path, m
}

// waitAnnounce waits for the real client's announce (not the fake peer's).
func (s *realClientSetup) waitAnnounce(t *testing.T, out fmt.Stringer) AnnounceRequest {
	t.Helper()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		select {
		case req := <-s.rec.seen:
			if req.PeerID != pid("fake") {
				return req
			}
		case <-timer.C:
			t.Fatalf("no announce from the real client in 30 s; its output:\n%s", out.String())
		}
	}
}

// waitHandshake accepts the real client's connection to the fake peer and
// checks its BitTorrent handshake names the torrent: proof that it read
// the peer list of our reply.
func (s *realClientSetup) waitHandshake(t *testing.T, h metainfo.Hash, out fmt.Stringer) {
	t.Helper()
	type result struct {
		hs  []byte
		err error
	}
	res := make(chan result, 1)
	go func() {
		// aria2 tries an obfuscated (MSE) handshake first and falls back to
		// the plain one: skip connections that do not start plainly.
		for range 5 {
			c, err := s.fakePeer.Accept()
			if err != nil {
				res <- result{nil, err}
				return
			}
			c.SetDeadline(time.Now().Add(30 * time.Second))
			hs := make([]byte, 68)
			_, err = readFull(c, hs[:20])
			if err == nil && hs[0] == 19 && string(hs[1:20]) == "BitTorrent protocol" {
				_, err = readFull(c, hs[20:])
				c.Close()
				res <- result{hs, err}
				return
			}
			c.Close()
		}
		res <- result{nil, errors.New("no plain handshake in 5 connections")}
	}()
	timer := time.NewTimer(40 * time.Second)
	defer timer.Stop()
	select {
	case r := <-res:
		if r.err != nil {
			t.Fatalf("fake peer: %v", r.err)
		}
		if r.hs[0] != 19 || string(r.hs[1:20]) != "BitTorrent protocol" || !bytes.Equal(r.hs[28:48], h[:]) {
			t.Errorf("handshake %q does not name torrent %v", r.hs, h)
		}
	case <-timer.C:
		s.fakePeer.Close()
		t.Fatalf("the real client never connected to the peer our tracker gave it; output:\n%s", out.String())
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// aria2 announces to our tracker, over HTTP and over UDP (which aria2
// uses only while its DHT is on), and connects to the peer we list.
func TestInteropAria2Announces(t *testing.T) {
	sockettest.Need(t, "aria2c", "aria2")
	for _, transport := range []string{"http", "udp"} {
		t.Run(transport, func(t *testing.T) {
			s := newRealClientSetup(t)
			url := s.httpURL
			if transport == "udp" {
				url = s.udpURL
			}
			path, m := s.torrent(t, url)
			port := sockettest.FreePort(t)
			args := []string{"--no-conf", "--enable-dht=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
				"--seed-ratio=0.0", "--listen-port=" + strconv.Itoa(port), "--summary-interval=0",
				"--dir=" + filepath.Join(s.dir, "out"), "--bt-stop-timeout=60", path}
			if transport == "udp" {
				args[1] = "--enable-dht=true"
				args = append(args, "--dht-listen-port="+strconv.Itoa(sockettest.FreePort(t)), "--dht-file-path="+filepath.Join(s.dir, "dht.dat"))
			}
			var out sockettest.SyncBuffer
			startPeer(t, &out, "aria2c", args...)
			req := s.waitAnnounce(t, &out)
			if req.InfoHash != m.InfoHash() || req.Event != Started || int(req.Port) != port || req.Left != m.Info.TotalLength() {
				t.Errorf("aria2's announce: %+v", req)
			}
			s.waitHandshake(t, m.InfoHash(), &out)
		})
	}
}

const libtorrentAnnounce = `
import sys, time
import libtorrent as lt
path, save, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ses = lt.session({
    "listen_interfaces": "127.0.0.1:%d" % port,
    "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
    "allow_multiple_connections_per_ip": True,
    # Its SSRF mitigation refuses loopback tracker URLs whose path is not
    # /announce, which blocks the HTTP scrape at /scrape.
    "ssrf_mitigation": False,
    "enable_outgoing_utp": False, "enable_incoming_utp": False,
    "alert_mask": lt.alert.category_t.tracker_notification | lt.alert.category_t.error_notification,
})
h = ses.add_torrent({"ti": lt.torrent_info(path), "save_path": save})
deadline = time.time() + 60
scraped = False
while time.time() < deadline:
    ses.wait_for_alert(500)
    for a in ses.pop_alerts():
        if isinstance(a, lt.tracker_reply_alert):
            print("reply peers=%d" % a.num_peers, flush=True)
            if not scraped:
                h.scrape_tracker()
                scraped = True
        elif isinstance(a, lt.scrape_reply_alert):
            print("scrape complete=%d incomplete=%d" % (a.complete, a.incomplete), flush=True)
        elif isinstance(a, lt.scrape_failed_alert):
            print("error scrape %s" % a.error_message(), flush=True)
        elif isinstance(a, lt.tracker_error_alert):
            print("error %s" % a.message(), flush=True)
`

// python3-libtorrent announces to our tracker over HTTP and UDP, reads
// our reply and connects to the peer we list.
func TestInteropLibtorrentAnnounces(t *testing.T) {
	py := sockettest.PythonModule(t, "libtorrent", "python3-libtorrent")
	for _, transport := range []string{"http", "udp"} {
		t.Run(transport, func(t *testing.T) {
			s := newRealClientSetup(t)
			url := s.httpURL
			if transport == "udp" {
				url = s.udpURL
			}
			path, m := s.torrent(t, url)
			port := sockettest.FreePort(t)
			var out sockettest.SyncBuffer
			startPeer(t, &out, py, "-c", libtorrentAnnounce, path, filepath.Join(s.dir, "out"), strconv.Itoa(port))
			req := s.waitAnnounce(t, &out)
			if req.InfoHash != m.InfoHash() || req.Event != Started || int(req.Port) != port || req.Left != m.Info.TotalLength() {
				t.Errorf("libtorrent's announce: %+v", req)
			}
			s.waitHandshake(t, m.InfoHash(), &out)
			// libtorrent read our reply (one peer: the fake one), then
			// scraped us: two leechers, libtorrent and the fake peer.
			for _, want := range []string{"reply peers=1", "scrape complete=0 incomplete=2"} {
				if line := waitLine(t, &out, want); line != want {
					t.Errorf("libtorrent said %q, want %q\n%s", line, want, out.String())
				}
			}
		})
	}
}
