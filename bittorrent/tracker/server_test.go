package tracker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/sockets/sockettest"
	"github.com/google/go-cmp/cmp"
)

// startServer runs srv's HTTP and UDP sides on 127.0.0.1 with a free
// port and returns the http:// and udp:// announce URLs.
func startServer(t *testing.T, srv *Server) (httpURL, udpURL string) {
	t.Helper()
	l, pc, err := ListenBoth("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.Serve(l) }()
	go func() { defer wg.Done(); srv.ServePacket(pc) }()
	t.Cleanup(func() {
		srv.Close()
		wg.Wait()
	})
	return "http://" + l.Addr().String() + "/announce", "udp://" + pc.LocalAddr().String() + "/announce"
}

func addrs(peers []Peer) []string {
	var out []string
	for _, p := range peers {
		out = append(out, p.Addr.String())
	}
	return out
}

// Both transports, one swarm: peers that announce over HTTP and over UDP
// meet in the same registry.
func TestServerHTTPAndUDP(t *testing.T) {
	srv := &Server{Interval: 90 * time.Second, MinInterval: 30 * time.Second}
	httpURL, udpURL := startServer(t, srv)
	ctx := context.Background()
	var c Client
	h := metainfo.Hash{1, 2, 3}

	resp, err := c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("alice"), Port: 6881, Left: 100, Event: Started})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Interval != 90*time.Second || resp.MinInterval != 30*time.Second || len(resp.Peers) != 0 || resp.Incomplete != 1 {
		t.Errorf("alice: %+v", resp)
	}
	resp, err = c.Announce(ctx, udpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("bob"), Port: 6882, Left: 0, Event: Started})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:6881"}, addrs(resp.Peers)); diff != "" || resp.Interval != 90*time.Second || resp.Complete != 1 || resp.Incomplete != 1 {
		t.Errorf("bob over UDP: %+v (-want +got):\n%s", resp, diff)
	}
	resp, err = c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("alice"), Port: 6881, Left: 0, Event: Completed, NumWant: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Peers) != 0 || resp.Complete != 2 {
		t.Errorf("a seed was sent a seed: %+v", resp)
	}
	for _, u := range []string{httpURL, udpURL} {
		stats, err := c.Scrape(ctx, u, h, metainfo.Hash{9})
		if err != nil {
			t.Fatal(err)
		}
		want := map[metainfo.Hash]Stats{h: {Complete: 2, Downloaded: 1}, {9}: {}}
		if diff := cmp.Diff(want, stats); diff != "" {
			t.Errorf("scrape over %s (-want +got):\n%s", u, diff)
		}
	}
	if _, err := c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("alice"), Port: 6881, Event: Stopped}); err != nil {
		t.Fatal(err)
	}
	stats, _ := c.Scrape(ctx, udpURL, h)
	if stats[h] != (Stats{Complete: 1, Downloaded: 1}) {
		t.Errorf("after alice stopped: %+v", stats[h])
	}
}

func TestServerHTTPFailures(t *testing.T) {
	srv := &Server{Backend: &Registry{Allow: func(h metainfo.Hash) bool { return h == metainfo.Hash{1} }}}
	httpURL, udpURL := startServer(t, srv)
	ctx := context.Background()
	var c Client
	for _, u := range []string{httpURL, udpURL} {
		_, err := c.Announce(ctx, u, &AnnounceRequest{InfoHash: metainfo.Hash{2}, PeerID: pid("x"), Port: 1})
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Reason, "not registered") {
			t.Errorf("%s: unlisted torrent gave %v", u, err)
		}
	}
	base := strings.TrimSuffix(httpURL, "/announce")
	h20 := "%01%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00%00"
	p20 := "-AP0001-abcdefghijkl"
	tests := []struct{ path, reason string }{
		{"/announce?info_hash=abc&peer_id=" + p20 + "&port=1", "info_hash"},
		{"/announce?info_hash=" + h20 + "&peer_id=short&port=1", "peer_id"},
		{"/announce?info_hash=" + h20 + "&peer_id=" + p20 + "&port=0", "port"},
		{"/announce?info_hash=" + h20 + "&peer_id=" + p20 + "&port=70000", "port"},
		{"/announce?info_hash=" + h20 + "&peer_id=" + p20 + "&port=1&left=-5", "left"},
		{"/announce?info_hash=" + h20 + "&peer_id=" + p20 + "&port=1&event=paused", "event"},
		{"/announce?info_hash=" + h20 + "&peer_id=" + p20 + "&port=1&numwant=x", "numwant"},
		{"/announce?x=" + strings.Repeat("a", maxQuery), "too long"},
		{"/scrape", "info_hash"},
		{"/scrape?info_hash=abc", "20 bytes"},
	}
	for _, tt := range tests {
		hresp, err := http.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 4096)
		n, _ := hresp.Body.Read(body)
		hresp.Body.Close()
		_, err = ParseHTTPAnnounce(body[:n])
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Reason, tt.reason) {
			t.Errorf("GET %.60s: %q, want a failure about %q", tt.path, body[:n], tt.reason)
		}
	}
	hresp, err := http.Get(base + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /index.html: %s", hresp.Status)
	}
	if _, err := c.Scrape(ctx, base+"/tracker.php", metainfo.Hash{1}); !errors.Is(err, ErrScrapeUnsupported) {
		t.Errorf("scrape of a non-announce URL: %v", err)
	}
}

// Non-compact replies (the original dictionary model) and IPv6 peers
// (BEP 7 peers6) come out of the same swarm.
func TestServerHTTPDictionaryModelAndIPv6(t *testing.T) {
	srv := &Server{TrustIP: true}
	httpURL, _ := startServer(t, srv)
	ctx := context.Background()
	var c Client
	h := metainfo.Hash{7}
	c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("v6"), Port: 6881, IP: netip.MustParseAddr("::1"), Left: 1})
	c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("v4"), Port: 6882, IP: netip.MustParseAddr("127.0.0.7"), Left: 1})
	resp, err := c.Announce(ctx, httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("me"), Port: 6883, Left: 1})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.7:6882", "[::1]:6881"}, addrs(resp.Peers)); diff != "" {
		t.Errorf("compact v4 + peers6 (-want +got):\n%s", diff)
	}

	u, _ := announceURL(httpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("me"), Port: 6883, Left: 1})
	u = strings.Replace(u, "compact=1", "compact=0", 1)
	hresp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer hresp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(hresp.Body)
	if !bytes.Contains(body.Bytes(), []byte("7:peer id20:-AP0001-v4")) {
		t.Errorf("dictionary model without peer ids: %q", body.Bytes())
	}
	resp, err = ParseHTTPAnnounce(body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range resp.Peers {
		got[p.Addr.String()] = strings.TrimRight(string(p.ID[:]), "\x00")
	}
	if diff := cmp.Diff(map[string]string{"127.0.0.7:6882": "-AP0001-v4", "[::1]:6881": "-AP0001-v6"}, got); diff != "" {
		t.Errorf("dictionary model (-want +got):\n%s", diff)
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// A connection ID is good for one to two minutes of the server's clock,
// and only for the address it was issued to.
func TestUDPConnectionIDExpiry(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := &Server{Now: clock.Now}
	_, udpURL := startServer(t, srv)
	ctx := context.Background()
	uc, err := DialUDP(ctx, strings.TrimSuffix(strings.TrimPrefix(udpURL, "udp://"), "/announce"))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	var trace strings.Builder
	uc.Trace = &trace
	uc.Now = clock.Now
	req := &AnnounceRequest{InfoHash: metainfo.Hash{3}, PeerID: pid("a"), Port: 1, Left: 1}
	if _, err := uc.Announce(ctx, req); err != nil {
		t.Fatal(err)
	}
	// The client believes its ID is fresh (its own clock says so) but the
	// server's minute has moved on twice: the server refuses it, and the
	// client connects again and repeats the announce.
	uc.Now = func() time.Time { return t0 }
	clock.Add(2*time.Minute + time.Second)
	if _, err := uc.Announce(ctx, req); err != nil {
		t.Fatalf("after reconnect: %v\n%s", err, trace.String())
	}
	if n := strings.Count(trace.String(), "C: connect"); n != 2 {
		t.Errorf("%d connects, want 2:\n%s", n, trace.String())
	}
	if !strings.Contains(trace.String(), `S: error "invalid or expired connection ID"`) {
		t.Errorf("no refusal in the transcript:\n%s", trace.String())
	}
	// A tracker that refuses every ID: one reconnection, then the error.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			tid := be32(buf[12:n])
			if be32(buf[8:n]) == uint32(actionConnect) {
				pc.WriteTo(binary.BigEndian.AppendUint64(appendHeader(nil, actionConnect, tid), 99), addr)
			} else {
				pc.WriteTo(appendErrorReply(nil, tid, "connection ID unknown"), addr)
			}
		}
	}()
	stubborn, err := DialUDP(ctx, pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stubborn.Close()
	var strace strings.Builder
	stubborn.Trace = &strace
	_, err = stubborn.Announce(ctx, req)
	var e *Error
	if !errors.As(err, &e) || e.Reason != "connection ID unknown" {
		t.Errorf("stubborn tracker: %v", err)
	}
	if c, r := strings.Count(strace.String(), "C: connect"), strings.Count(strace.String(), "S: error"); c != 2 || r != 2 {
		t.Errorf("%d connects and %d refusals, want 2 and 2:\n%s", c, r, strace.String())
	}
	pc.Close()
	// An ID issued to one address is worthless from another.
	id := srv.connectionID(ap("127.0.0.1:4000"), window(clock.Now()))
	if !srv.validConnectionID(id, ap("127.0.0.1:4000"), clock.Now()) ||
		!srv.validConnectionID(id, ap("127.0.0.1:4000"), clock.Now().Add(time.Minute)) ||
		srv.validConnectionID(id, ap("127.0.0.1:4001"), clock.Now()) ||
		srv.validConnectionID(id, ap("127.0.0.1:4000"), clock.Now().Add(2*time.Minute)) {
		t.Errorf("connection ID validity wrong")
	}
}

// lossyConn drops the first n datagrams it reads.
type lossyConn struct {
	net.PacketConn
	mu   sync.Mutex
	drop int
}

func (c *lossyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		c.mu.Lock()
		drop := c.drop > 0
		c.drop--
		c.mu.Unlock()
		if err != nil || !drop {
			return n, addr, err
		}
	}
}

func TestUDPRetransmits(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(&lossyConn{PacketConn: pc, drop: 2}) }()
	defer func() { srv.Close(); <-done }()

	uc, err := DialUDP(context.Background(), pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	var trace strings.Builder
	uc.Trace = &trace
	uc.Timeout, uc.Retries = 20*time.Millisecond, 8
	_, err = uc.Announce(context.Background(), &AnnounceRequest{InfoHash: metainfo.Hash{4}, PeerID: pid("a"), Port: 1, Left: 1})
	if err != nil {
		t.Fatalf("%v\n%s", err, trace.String())
	}
	// Two datagrams were lost, so at least two waits ran out, the first
	// two on the doubling schedule. (A busy machine may need more: a reply
	// that comes after its wait is a stray and is ignored.)
	waits := regexp.MustCompile(`\(no reply in (\w+)\)`).FindAllStringSubmatch(trace.String(), -1)
	if len(waits) < 2 || waits[0][1] != "20ms" || waits[1][1] != "40ms" {
		t.Errorf("retransmissions not on the doubling schedule:\n%s", trace.String())
	}
}

func TestUDPGivesUp(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	uc, err := DialUDP(context.Background(), silent.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.Timeout, uc.Retries = 5*time.Millisecond, 2
	if err := uc.Connect(context.Background()); !errors.Is(err, ErrTimeout) {
		t.Errorf("silent tracker: %v", err)
	}
	// Retries bounded: three datagrams were sent.
	silent.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 100)
	got := 0
	for {
		if _, _, err := silent.ReadFrom(buf); err != nil {
			break
		}
		got++
		silent.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	}
	if got != 3 {
		t.Errorf("%d datagrams sent, want 3 (1 + 2 retries)", got)
	}

	// A cancelled context ends a wait that would last an hour.
	uc.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		silent.SetReadDeadline(time.Time{})
		silent.ReadFrom(buf) // the connect request has gone out
		cancel()
	}()
	if err := uc.Connect(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestHandlePacket(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := &Server{Now: clock.Now}
	from := ap("127.0.0.2:5000")
	connect := appendConnectRequest(nil, 0x1234)
	reply := srv.HandlePacket(t.Context(), from, connect)
	if len(reply) != 16 || action(be32(reply)) != actionConnect || be32(reply[4:]) != 0x1234 {
		t.Fatalf("connect reply %x", reply)
	}
	id := be64(reply[8:])
	good := appendAnnounceRequest(nil, id, 7, &AnnounceRequest{InfoHash: metainfo.Hash{5}, PeerID: pid("a"), Port: 9, Left: 1})

	errorOf := func(p []byte) string {
		r := srv.HandlePacket(t.Context(), from, p)
		if r == nil {
			return "<nil>"
		}
		if action(be32(r)) != actionError {
			return "not an error"
		}
		return string(r[8:])
	}
	tests := []struct {
		name string
		pkt  []byte
		want string
	}{
		{"empty", nil, "<nil>"},
		{"short", connect[:15], "<nil>"},
		{"connect without magic", append([]byte{0, 0, 0, 0, 0, 0, 0, 1}, connect[8:]...), "connect without the protocol ID"},
		{"bad connection id", appendAnnounceRequest(nil, id+1, 7, &AnnounceRequest{Port: 1}), "invalid or expired connection ID"},
		{"short announce", good[:97], "announce of 97 bytes, want 98"},
		{"bad event", patch(good, 80, 0, 0, 0, 9), "unknown event 9"},
		{"port 0", patch(good, 96, 0, 0), "port 0"},
		{"negative left", patch(good, 64, 0x80), "negative byte count"},
		{"scrape nothing", appendScrapeRequest(nil, id, 1, nil), "scrape of 0 bytes"},
		{"scrape ragged", append(appendScrapeRequest(nil, id, 1, []metainfo.Hash{{1}}), 1), "scrape of 21 bytes"},
		{"scrape too many", appendScrapeRequest(nil, id, 1, make([]metainfo.Hash, 75)), "scrape of 1500 bytes"},
		{"unknown action", patch(good, 8, 0, 0, 0, 9), "unknown action 9"},
	}
	for _, tt := range tests {
		if got := errorOf(tt.pkt); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	r := srv.HandlePacket(t.Context(), from, good)
	resp, err := ParseUDPAnnounceReply(r, false)
	if err != nil || be32(r[4:]) != 7 || resp.Incomplete != 1 || resp.Interval != DefaultInterval {
		t.Errorf("announce: %+v %v", resp, err)
	}
	// BEP 41 options after the 98 bytes are ignored.
	if r := srv.HandlePacket(t.Context(), from, append(good, 2, 9, '/', 'a', 'n', 'n', 'o', 'u', 'n', 'c', 'e', 1, 0)); action(be32(r)) != actionAnnounce {
		t.Errorf("announce with BEP 41 options: %x", r)
	}
	// An IPv6 sender gets 18-byte entries, and only IPv6 peers.
	srv.HandlePacket(t.Context(), from, good)
	from6 := ap("[::1]:5000")
	id6 := be64(srv.HandlePacket(t.Context(), from6, connect)[8:])
	r = srv.HandlePacket(t.Context(), from6, appendAnnounceRequest(nil, id6, 8, &AnnounceRequest{InfoHash: metainfo.Hash{5}, PeerID: pid("b"), Port: 9, Left: 1}))
	if resp, err := ParseUDPAnnounceReply(r, true); err != nil || len(resp.Peers) != 0 || resp.Incomplete != 2 {
		t.Errorf("IPv6 announce: %+v %v", resp, err)
	}
	r = srv.HandlePacket(t.Context(), from, appendAnnounceRequest(nil, id, 9, &AnnounceRequest{InfoHash: metainfo.Hash{5}, PeerID: pid("c"), Port: 10, Left: 1}))
	if resp, err := ParseUDPAnnounceReply(r, false); err != nil || len(resp.Peers) != 1 {
		t.Errorf("IPv4 asker must not get the IPv6 peer: %+v %v", resp, err)
	}
}

// A UDP reply fits one datagram: 200 IPv4 peers do, IPv6 peers are cut
// to what fits.
func TestUDPReplyFitsADatagram(t *testing.T) {
	reg := &Registry{}
	srv := &Server{Backend: reg, Now: func() time.Time { return t0 }}
	h := metainfo.Hash{8}
	for i := range 300 {
		reg.Announce(t.Context(), t0, &AnnounceRequest{InfoHash: h, PeerID: pid(fmt.Sprint("v4-", i)), Left: 1}, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)}), 6881), 0)
		reg.Announce(t.Context(), t0, &AnnounceRequest{InfoHash: h, PeerID: pid(fmt.Sprint("v6-", i)), Left: 1}, netip.AddrPortFrom(netip.AddrFrom16([16]byte{15: 1, 14: byte(i), 13: byte(i >> 8), 0: 0xfd}), 6881), 0)
	}
	for _, tt := range []struct {
		from string
		want int
	}{{"127.0.0.2:5000", 200}, {"[::1]:5000", (maxUDPReply - 20) / 18}} {
		from := ap(tt.from)
		id := be64(srv.HandlePacket(t.Context(), from, appendConnectRequest(nil, 1))[8:])
		r := srv.HandlePacket(t.Context(), from, appendAnnounceRequest(nil, id, 2, &AnnounceRequest{InfoHash: h, PeerID: pid("asker"), Port: 1, Left: 1, NumWant: 500}))
		resp, err := ParseUDPAnnounceReply(r, from.Addr().Is6())
		if err != nil || len(resp.Peers) != tt.want || len(r) > maxUDPReply {
			t.Errorf("from %s: %d peers in %d bytes (%v), want %d", tt.from, len(resp.Peers), len(r), err, tt.want)
		}
	}
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be64(b []byte) uint64 { return uint64(be32(b))<<32 | uint64(be32(b[4:])) }

func patch(b []byte, at int, bytes ...byte) []byte {
	c := append([]byte(nil), b...)
	copy(c[at:], bytes)
	return c
}

func TestServerShutdown(t *testing.T) {
	srv := &Server{}
	l, pc, err := ListenBoth("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- srv.Serve(l) }()
	go func() { errs <- srv.ServePacket(pc) }()
	// Wait until both serve: one announce over each.
	var c Client
	c.Announce(context.Background(), "http://"+l.Addr().String()+"/announce", &AnnounceRequest{PeerID: pid("a"), Port: 1})
	c.Announce(context.Background(), "udp://"+pc.LocalAddr().String(), &AnnounceRequest{PeerID: pid("a"), Port: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrServerClosed) {
			t.Errorf("serve returned %v", err)
		}
	}
	if err := srv.ServePacket(pc); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServePacket after Shutdown: %v", err)
	}
}

// normalise hides what changes from run to run in a transcript: ports,
// transaction and connection IDs.
func normalise(s string) string {
	s = regexp.MustCompile(`transaction=[0-9a-f]{8}`).ReplaceAllString(s, "transaction=T")
	s = regexp.MustCompile(`connection_id=[0-9a-f]{16}`).ReplaceAllString(s, "connection_id=ID")
	s = regexp.MustCompile(`127\.0\.0\.1:\d+\)`).ReplaceAllString(s, "127.0.0.1:PORT)")
	return s
}

// The UDP exchange, as both sides print it.
func TestUDPTranscript(t *testing.T) {
	var serverTrace, clientTrace sockettest.SyncBuffer
	srv := &Server{Trace: &serverTrace, Interval: 2 * time.Minute}
	_, udpURL := startServer(t, srv)
	c := &Client{Trace: &clientTrace}
	h := metainfo.Hash{0xc1, 0x2f, 0xe1, 0xc0}
	ctx := context.Background()
	if _, err := c.Announce(ctx, udpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("bob"), Port: 6882, Left: 0, Event: Started}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Announce(ctx, udpURL, &AnnounceRequest{InfoHash: h, PeerID: pid("alice"), Port: 6881, Left: 1000, Event: Started}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Scrape(ctx, udpURL, h); err != nil {
		t.Fatal(err)
	}
	wantClient := `C: connect transaction=T
S: connect connection_id=ID
C: announce info_hash=c12fe1c0… port=6882 left=0 event=started
S: announce interval=2m0s complete=1 incomplete=0 peers=[]
C: connect transaction=T
S: connect connection_id=ID
C: announce info_hash=c12fe1c0… port=6881 left=1000 event=started
S: announce interval=2m0s complete=1 incomplete=1 peers=[127.0.0.1:6882]
C: connect transaction=T
S: connect connection_id=ID
C: scrape 1 torrents
S: scrape c12fe1c0… complete=1 downloaded=0 incomplete=1
`
	if diff := cmp.Diff(wantClient, normalise(clientTrace.String())); diff != "" {
		t.Errorf("client transcript (-want +got):\n%s", diff)
	}
	wantServer := `C: connect transaction=T (from 127.0.0.1:PORT)
S: connect connection_id=ID
C: announce info_hash=c12fe1c0… port=6882 left=0 event=started (from 127.0.0.1)
S: announce interval=2m0s complete=1 incomplete=0 peers=[]
C: connect transaction=T (from 127.0.0.1:PORT)
S: connect connection_id=ID
C: announce info_hash=c12fe1c0… port=6881 left=1000 event=started (from 127.0.0.1)
S: announce interval=2m0s complete=1 incomplete=1 peers=[127.0.0.1:6882]
C: connect transaction=T (from 127.0.0.1:PORT)
S: connect connection_id=ID
C: scrape 1 torrents (from 127.0.0.1:PORT)
S: scrape c12fe1c0… complete=1 downloaded=0 incomplete=1
`
	if diff := cmp.Diff(wantServer, normalise(serverTrace.String())); diff != "" {
		t.Errorf("server transcript (-want +got):\n%s", diff)
	}
}

func TestAppendURLData(t *testing.T) {
	long := strings.Repeat("p", 300)
	tests := []struct{ in, want string }{
		{"", ""},
		{"/announce", "\x02\x09/announce\x00"},
		{"/a" + long, "\x02\xff/a" + long[:253] + "\x02\x2f" + long[253:] + "\x00"},
	}
	for _, tt := range tests {
		if got := string(appendURLData(nil, tt.in)); got != tt.want {
			t.Errorf("appendURLData(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestAnnounceTiers(t *testing.T) {
	httpURL, _ := startServer(t, &Server{})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String() + "/announce"
	dead.Close() // connections to it are refused
	var c Client
	req := &AnnounceRequest{InfoHash: metainfo.Hash{1}, PeerID: pid("a"), Port: 1, Left: 1}
	tiers := [][]string{{deadURL}, {"ftp://kingcdn.com/announce", deadURL, httpURL}}
	resp, used, err := c.AnnounceTiers(context.Background(), tiers, req)
	if err != nil || used != httpURL || resp.Incomplete != 1 {
		t.Fatalf("AnnounceTiers = %+v, %q, %v", resp, used, err)
	}
	want := [][]string{{deadURL}, {httpURL, "ftp://kingcdn.com/announce", deadURL}}
	if diff := cmp.Diff(want, tiers); diff != "" {
		t.Errorf("tiers after (-want +got):\n%s", diff)
	}
	if _, _, err := c.AnnounceTiers(context.Background(), [][]string{{deadURL}}, req); err == nil {
		t.Errorf("all trackers dead, no error")
	}
	if _, _, err := c.AnnounceTiers(context.Background(), nil, req); err == nil {
		t.Errorf("no trackers, no error")
	}
}

// A tracker that answers connect but drops the announce (as one does
// with an ID it no longer knows): after the timeout the client forgets
// its ID and its next request connects first.
func TestUDPTimeoutForgetsConnectionID(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 16 && be32(buf[8:]) == uint32(actionConnect) {
				pc.WriteTo(binary.BigEndian.AppendUint64(appendHeader(nil, actionConnect, be32(buf[12:])), 7), addr)
			}
		}
	}()
	defer func() { pc.Close(); <-done }()
	uc, err := DialUDP(context.Background(), pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	var trace strings.Builder
	uc.Trace = &trace
	uc.Timeout, uc.Retries = 5*time.Millisecond, 1
	req := &AnnounceRequest{InfoHash: metainfo.Hash{1}, PeerID: pid("a"), Port: 1, Left: 1}
	for range 2 {
		if _, err := uc.Announce(context.Background(), req); !errors.Is(err, ErrTimeout) {
			t.Fatalf("announce to a tracker that drops it: %v", err)
		}
	}
	if n := strings.Count(trace.String(), "C: connect"); n != 2 {
		t.Errorf("%d connects, want one per announce:\n%s", n, trace.String())
	}
}
