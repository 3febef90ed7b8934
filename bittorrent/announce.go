package bittorrent

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"appnet.dev/bittorrent/metainfo"
	"appnet.dev/bittorrent/tracker"
)

// Trackers announces to a torrent's trackers, tier by tier (BEP 12), with
// a tracker.Client: the Announcer a Torrent uses with real trackers.
type Trackers struct {
	Client *tracker.Client
	Tiers  [][]string
}

// NewTrackers returns the Announcer for the trackers a torrent names. If
// localIP is not nil, HTTP and UDP announces leave from that address, so a
// tracker on loopback sees each peer of a 127.0.0.x swarm at its own
// address.
func NewTrackers(mi *metainfo.MetaInfo, localIP net.IP) *Trackers {
	tiers := mi.AnnounceList
	if len(tiers) == 0 && mi.Announce != "" {
		tiers = [][]string{{mi.Announce}}
	}
	// AnnounceTiers reorders tiers in place: keep the torrent's own intact.
	own := make([][]string, len(tiers))
	for i, tier := range tiers {
		own[i] = append([]string(nil), tier...)
	}
	c := &tracker.Client{}
	if localIP != nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		udp := &net.Dialer{Timeout: 10 * time.Second}
		d.LocalAddr = &net.TCPAddr{IP: localIP}
		udp.LocalAddr = &net.UDPAddr{IP: localIP}
		c.HTTP = &http.Client{
			Timeout:   tracker.DefaultHTTPTimeout,
			Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		}
		c.Dial = udp.DialContext
	}
	return &Trackers{Client: c, Tiers: own}
}

func trackerEvent(e string) tracker.Event {
	switch e {
	case "started":
		return tracker.Started
	case "completed":
		return tracker.Completed
	case "stopped":
		return tracker.Stopped
	}
	return tracker.None
}

// Announce implements Announcer.
func (tr *Trackers) Announce(ctx context.Context, a Announce) (AnnounceResult, error) {
	req := &tracker.AnnounceRequest{
		InfoHash:   a.InfoHash,
		PeerID:     tracker.PeerID(a.PeerID),
		Port:       uint16(a.Port),
		Uploaded:   a.Uploaded,
		Downloaded: a.Downloaded,
		Left:       a.Left,
		Event:      trackerEvent(a.Event),
	}
	if ip, ok := netip.AddrFromSlice(a.IP); ok {
		req.IP = ip.Unmap()
	}
	resp, _, err := tr.Client.AnnounceTiers(ctx, tr.Tiers, req)
	if err != nil {
		return AnnounceResult{}, err
	}
	res := AnnounceResult{Interval: resp.Interval}
	for _, p := range resp.Peers {
		res.Peers = append(res.Peers, p.Addr.String())
	}
	return res, nil
}
