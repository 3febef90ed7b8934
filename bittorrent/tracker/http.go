package tracker

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"appnet.dev/bittorrent/bencode"
	"appnet.dev/bittorrent/metainfo"
)

// MaxHTTPReply bounds the body of an HTTP tracker reply the client reads.
// 200 IPv6 peers in the dictionary form fit in well under 64 KiB.
const MaxHTTPReply = 1 << 20

// announceURL adds the announce parameters to base (which may
// already carry a query, such as a private tracker's passkey).
func announceURL(base string, req *AnnounceRequest) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("tracker: announce URL: %w", err)
	}
	var q strings.Builder
	q.WriteString(u.RawQuery)
	add := func(k, v string) {
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(k)
		q.WriteByte('=')
		q.WriteString(v)
	}
	add("info_hash", escapeBytes(req.InfoHash[:]))
	add("peer_id", escapeBytes(req.PeerID[:]))
	add("port", strconv.Itoa(int(req.Port)))
	add("uploaded", strconv.FormatInt(req.Uploaded, 10))
	add("downloaded", strconv.FormatInt(req.Downloaded, 10))
	if req.Left >= 0 {
		add("left", strconv.FormatInt(req.Left, 10))
	}
	add("compact", "1")
	if req.Event != None {
		add("event", req.Event.String())
	}
	if req.NumWant > 0 {
		add("numwant", strconv.Itoa(req.NumWant))
	}
	if req.Key != 0 {
		add("key", fmt.Sprintf("%08x", req.Key))
	}
	if req.IP.IsValid() {
		add("ip", req.IP.String())
	}
	if req.TrackerID != "" {
		add("trackerid", url.QueryEscape(req.TrackerID))
	}
	u.RawQuery = q.String()
	return u.String(), nil
}

// escapeBytes percent-encodes every byte but the unreserved characters of
// RFC 3986, as BEP 3 asks for info_hash and peer_id.
func escapeBytes(b []byte) string {
	const hexDigits = "0123456789ABCDEF"
	var s strings.Builder
	for _, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			s.WriteByte(c)
		} else {
			s.WriteByte('%')
			s.WriteByte(hexDigits[c>>4])
			s.WriteByte(hexDigits[c&15])
		}
	}
	return s.String()
}

// httpReply is an HTTP announce reply as bencoded (BEP 3, 7, 23).
type httpReply struct {
	Complete    int                `bencode:"complete"`
	Failure     *string            `bencode:"failure reason"`
	Incomplete  int                `bencode:"incomplete"`
	Interval    *int64             `bencode:"interval"`
	MinInterval int64              `bencode:"min interval"`
	Peers       bencode.RawMessage `bencode:"peers"`
	Peers6      []byte             `bencode:"peers6"`
	TrackerID   string             `bencode:"tracker id"`
	Warning     string             `bencode:"warning message"`
}

type dictPeer struct {
	IP     string `bencode:"ip"`
	PeerID []byte `bencode:"peer id"`
	Port   int    `bencode:"port"`
}

// maxInterval bounds the intervals a client accepts from a tracker.
const maxInterval = 7 * 24 * 3600

// ParseHTTPAnnounce decodes the body of an HTTP tracker's announce reply.
// A failure reason is returned as an *Error.
func ParseHTTPAnnounce(body []byte) (*AnnounceResponse, error) {
	var r httpReply
	if err := bencode.Unmarshal(body, &r); err != nil {
		return nil, &ProtocolError{"announce", err}
	}
	if r.Failure != nil {
		return nil, &Error{*r.Failure}
	}
	if r.Interval == nil {
		return nil, &ProtocolError{"announce", errors.New("no interval")}
	}
	if *r.Interval < 0 || *r.Interval > maxInterval || r.MinInterval < 0 || r.MinInterval > maxInterval {
		return nil, &ProtocolError{"announce", fmt.Errorf("interval %d or min interval %d out of range", *r.Interval, r.MinInterval)}
	}
	if r.Complete < 0 || r.Incomplete < 0 {
		return nil, &ProtocolError{"announce", errors.New("negative peer count")}
	}
	resp := &AnnounceResponse{
		Interval:    time.Duration(*r.Interval) * time.Second,
		MinInterval: time.Duration(r.MinInterval) * time.Second,
		Complete:    r.Complete,
		Incomplete:  r.Incomplete,
		Warning:     r.Warning,
		TrackerID:   r.TrackerID,
	}
	if len(r.Peers) > 0 {
		if r.Peers[0] == 'l' { // the original dictionary model
			var list []dictPeer
			if err := bencode.Unmarshal(r.Peers, &list); err != nil {
				return nil, &ProtocolError{"announce", err}
			}
			for _, p := range list {
				a, err := netip.ParseAddr(p.IP)
				if err != nil || p.Port <= 0 || p.Port > 65535 {
					continue // a host name or a bad entry: nothing to dial
				}
				peer := Peer{Addr: netip.AddrPortFrom(a.Unmap(), uint16(p.Port))}
				if len(p.PeerID) == len(peer.ID) {
					copy(peer.ID[:], p.PeerID)
				}
				resp.Peers = append(resp.Peers, peer)
			}
		} else {
			var compact []byte
			if err := bencode.Unmarshal(r.Peers, &compact); err != nil {
				return nil, &ProtocolError{"announce", fmt.Errorf("peers: %w", err)}
			}
			peers, err := ParseCompact(compact, 6)
			if err != nil {
				return nil, &ProtocolError{"announce", fmt.Errorf("peers: %w", err)}
			}
			resp.Peers = append(resp.Peers, peers...)
		}
	}
	if len(r.Peers6) > 0 {
		peers, err := ParseCompact(r.Peers6, 18)
		if err != nil {
			return nil, &ProtocolError{"announce", fmt.Errorf("peers6: %w", err)}
		}
		resp.Peers = append(resp.Peers, peers...)
	}
	return resp, nil
}

// scrapeURL turns an announce URL into its scrape URL (BEP 48): the last
// path element's leading "announce" becomes "scrape".
func scrapeURL(announce string, hashes []metainfo.Hash) (string, error) {
	u, err := url.Parse(announce)
	if err != nil {
		return "", fmt.Errorf("tracker: announce URL: %w", err)
	}
	i := strings.LastIndexByte(u.Path, '/')
	last := u.Path[i+1:]
	if !strings.HasPrefix(last, "announce") {
		return "", ErrScrapeUnsupported
	}
	u.Path = u.Path[:i+1] + "scrape" + strings.TrimPrefix(last, "announce")
	u.RawPath = ""
	q := u.RawQuery
	for _, h := range hashes {
		if q != "" {
			q += "&"
		}
		q += "info_hash=" + escapeBytes(h[:])
	}
	u.RawQuery = q
	return u.String(), nil
}

type scrapeEntry struct {
	Complete   int `bencode:"complete"`
	Downloaded int `bencode:"downloaded"`
	Incomplete int `bencode:"incomplete"`
}

type scrapeReply struct {
	Failure *string                `bencode:"failure reason"`
	Files   map[string]scrapeEntry `bencode:"files"`
}

// ParseHTTPScrape decodes an HTTP scrape reply: the counts of each
// torrent, by info hash.
func ParseHTTPScrape(body []byte) (map[metainfo.Hash]Stats, error) {
	var r scrapeReply
	if err := bencode.Unmarshal(body, &r); err != nil {
		return nil, &ProtocolError{"scrape", err}
	}
	if r.Failure != nil {
		return nil, &Error{*r.Failure}
	}
	out := make(map[metainfo.Hash]Stats, len(r.Files))
	for k, e := range r.Files {
		if len(k) != 20 {
			return nil, &ProtocolError{"scrape", fmt.Errorf("file key of %d bytes, want a 20-byte info hash", len(k))}
		}
		if e.Complete < 0 || e.Incomplete < 0 || e.Downloaded < 0 {
			return nil, &ProtocolError{"scrape", errors.New("negative count")}
		}
		out[metainfo.Hash([]byte(k))] = Stats(e)
	}
	return out, nil
}

// parseAnnounceQuery reads an HTTP announce's parameters (server side).
func parseAnnounceQuery(q url.Values) (req *AnnounceRequest, compact, noPeerID bool, err error) {
	req = &AnnounceRequest{}
	ih, pid := q.Get("info_hash"), q.Get("peer_id")
	if len(ih) != 20 {
		return nil, false, false, fmt.Errorf("info_hash must be 20 bytes, not %d", len(ih))
	}
	if len(pid) != 20 {
		return nil, false, false, fmt.Errorf("peer_id must be 20 bytes, not %d", len(pid))
	}
	copy(req.InfoHash[:], ih)
	copy(req.PeerID[:], pid)
	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return nil, false, false, fmt.Errorf("invalid port %q", q.Get("port"))
	}
	req.Port = uint16(port)
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"uploaded", &req.Uploaded}, {"downloaded", &req.Downloaded}, {"left", &req.Left}} {
		v := q.Get(f.name)
		if v == "" {
			if f.name == "left" {
				req.Left = -1 // unknown: neither seed nor leecher for sure
			}
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, false, false, fmt.Errorf("invalid %s %q", f.name, v)
		}
		*f.dst = n
	}
	if req.Event, err = parseEvent(q.Get("event")); err != nil {
		return nil, false, false, err
	}
	if v := q.Get("numwant"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, false, false, fmt.Errorf("invalid numwant %q", v)
		}
		req.NumWant = max(n, 0)
	}
	if v := q.Get("ip"); v != "" {
		if a, err := netip.ParseAddr(v); err == nil {
			req.IP = a.Unmap()
		}
	}
	if v := q.Get("key"); v != "" {
		if k, err := strconv.ParseUint(v, 16, 32); err == nil {
			req.Key = uint32(k)
		}
	}
	req.TrackerID = q.Get("trackerid")
	return req, q.Get("compact") != "0", q.Get("no_peer_id") == "1", nil
}

// appendHTTPAnnounce encodes an announce reply without reflection, keys
// in their sorted order.
func appendHTTPAnnounce(b []byte, resp *AnnounceResponse, compact, noPeerID bool) []byte {
	b = append(b, 'd')
	b = bencode.AppendString(b, "complete")
	b = bencode.AppendInt(b, int64(resp.Complete))
	b = bencode.AppendString(b, "incomplete")
	b = bencode.AppendInt(b, int64(resp.Incomplete))
	b = bencode.AppendString(b, "interval")
	b = bencode.AppendInt(b, int64(resp.Interval/time.Second))
	if resp.MinInterval > 0 {
		b = bencode.AppendString(b, "min interval")
		b = bencode.AppendInt(b, int64(resp.MinInterval/time.Second))
	}
	b = bencode.AppendString(b, "peers")
	if compact {
		var v4, v6 []byte
		for _, p := range resp.Peers {
			if p.Addr.Addr().Is4() {
				v4 = AppendCompact(v4, p.Addr)
			} else {
				v6 = AppendCompact(v6, p.Addr)
			}
		}
		b = bencode.AppendBytes(b, v4)
		if len(v6) > 0 {
			b = bencode.AppendString(b, "peers6")
			b = bencode.AppendBytes(b, v6)
		}
	} else {
		b = append(b, 'l')
		for _, p := range resp.Peers {
			b = append(b, 'd')
			b = bencode.AppendString(b, "ip")
			b = bencode.AppendString(b, p.Addr.Addr().String())
			if !noPeerID {
				b = bencode.AppendString(b, "peer id")
				b = bencode.AppendBytes(b, p.ID[:])
			}
			b = bencode.AppendString(b, "port")
			b = bencode.AppendInt(b, int64(p.Addr.Port()))
			b = append(b, 'e')
		}
		b = append(b, 'e')
	}
	if resp.TrackerID != "" {
		b = bencode.AppendString(b, "tracker id")
		b = bencode.AppendString(b, resp.TrackerID)
	}
	if resp.Warning != "" {
		b = bencode.AppendString(b, "warning message")
		b = bencode.AppendString(b, resp.Warning)
	}
	return append(b, 'e')
}

// appendHTTPFailure encodes a failure reply.
func appendHTTPFailure(b []byte, reason string) []byte {
	b = append(b, 'd')
	b = bencode.AppendString(b, "failure reason")
	b = bencode.AppendString(b, reason)
	return append(b, 'e')
}
