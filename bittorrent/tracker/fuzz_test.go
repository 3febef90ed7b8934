package tracker

import (
	"encoding/binary"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"appnet.dev/bittorrent/metainfo"
)

// FuzzParseHTTPAnnounce: any reply body is rejected cleanly or yields a
// sane response.
func FuzzParseHTTPAnnounce(f *testing.F) {
	f.Add([]byte("d8:intervali1800e5:peers6:\x7f\x00\x00\x01\x1a\xe1e"))
	f.Add([]byte("d8:completei1e10:incompletei2e8:intervali1800e12:min intervali60e5:peers0:6:peers618:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1e"))
	f.Add([]byte("d8:intervali1800e5:peersld2:ip9:127.0.0.27:peer id20:-AP0001-abcdefghijkl4:porti6881eeee"))
	f.Add([]byte("d14:failure reason17:torrent not founde"))
	f.Add([]byte("d8:intervali1800e5:peers5:abcdee"))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := ParseHTTPAnnounce(body)
		if err != nil {
			return
		}
		if resp.Interval < 0 || resp.Complete < 0 || resp.Incomplete < 0 {
			t.Fatalf("insane reply %+v", resp)
		}
		for _, p := range resp.Peers {
			if !p.Addr.IsValid() {
				t.Fatalf("invalid peer address in %+v", resp)
			}
		}
	})
}

func FuzzParseHTTPScrape(f *testing.F) {
	f.Add([]byte("d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:completei5e10:downloadedi50e10:incompletei10eeee"))
	f.Add([]byte("d5:filesdee"))
	f.Fuzz(func(t *testing.T, body []byte) {
		stats, err := ParseHTTPScrape(body)
		if err != nil {
			return
		}
		for _, s := range stats {
			if s.Complete < 0 || s.Incomplete < 0 || s.Downloaded < 0 {
				t.Fatalf("negative counts %+v", s)
			}
		}
	})
}

// FuzzParseUDPReplies: UDP announce and scrape replies of any shape.
func FuzzParseUDPReplies(f *testing.F) {
	resp := &AnnounceResponse{Interval: time.Minute, Complete: 1, Peers: []Peer{{Addr: netip.MustParseAddrPort("127.0.0.2:6881")}}}
	f.Add(appendAnnounceReply(nil, 1, resp, false), false)
	f.Add(appendAnnounceReply(nil, 1, resp, true), true)
	f.Add(appendScrapeReply(nil, 1, []Stats{{1, 2, 3}}), false)
	f.Fuzz(func(t *testing.T, p []byte, ipv6 bool) {
		if r, err := ParseUDPAnnounceReply(p, ipv6); err == nil {
			for _, peer := range r.Peers {
				if peer.Addr.Addr().Is4() == ipv6 {
					t.Fatalf("wrong family %v", peer)
				}
			}
		}
		if len(p) >= 8 {
			n := (len(p) - 8) / 12
			if s, err := ParseUDPScrapeReply(p, n); err == nil && len(s) != n {
				t.Fatalf("scrape of %d gave %d", n, len(s))
			}
		}
	})
}

// FuzzHandlePacket: the UDP tracker answers any datagram without
// crashing, and a reply always echoes the request's transaction ID.
func FuzzHandlePacket(f *testing.F) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	srv := &Server{Now: func() time.Time { return now }}
	from := netip.MustParseAddrPort("127.0.0.2:5000")
	connect := appendConnectRequest(nil, 42)
	id := be64(srv.HandlePacket(f.Context(), from, connect)[8:])
	f.Add(connect, false)
	f.Add(appendAnnounceRequest(nil, id, 7, &AnnounceRequest{InfoHash: metainfo.Hash{5}, PeerID: PeerID{1}, Port: 9, Left: 1, Event: Started}), true)
	f.Add(appendScrapeRequest(nil, id, 8, []metainfo.Hash{{5}, {6}}), true)
	f.Add([]byte("short"), false)
	f.Fuzz(func(t *testing.T, p []byte, useID bool) {
		if useID && len(p) >= 8 { // get past the connection ID check
			p = append([]byte(nil), p...)
			binary.BigEndian.PutUint64(p, id)
		}
		reply := srv.HandlePacket(t.Context(), from, p)
		if reply == nil {
			return
		}
		if len(p) < 16 || len(reply) < 8 || be32(reply[4:]) != be32(p[12:]) {
			t.Fatalf("reply %x to %x", reply, p)
		}
		if len(reply) > maxUDPReply {
			t.Fatalf("reply of %d bytes", len(reply))
		}
	})
}

// FuzzAnnounceQuery: HTTP announce parameters of any shape are parsed or
// refused; what is accepted encodes back to a parseable query.
func FuzzAnnounceQuery(f *testing.F) {
	u, _ := announceURL("http://127.0.0.1/announce", &AnnounceRequest{InfoHash: metainfo.Hash{1}, PeerID: PeerID{2}, Port: 3, Left: 4, Event: Started, NumWant: 5, Key: 6})
	pu, _ := url.Parse(u)
	f.Add(pu.RawQuery)
	f.Add("info_hash=aaaaaaaaaaaaaaaaaaaa&peer_id=bbbbbbbbbbbbbbbbbbbb&port=1&event=stopped&ip=::1")
	f.Fuzz(func(t *testing.T, q string) {
		values, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		req, _, _, err := parseAnnounceQuery(values)
		if err != nil {
			return
		}
		u, err := announceURL("http://127.0.0.1/announce", req)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		back, _, _, err := parseAnnounceQuery(pu.Query())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", u, err)
		}
		if back.InfoHash != req.InfoHash || back.PeerID != req.PeerID || back.Port != req.Port || back.Event != req.Event {
			t.Fatalf("round trip %+v -> %+v", req, back)
		}
	})
}
