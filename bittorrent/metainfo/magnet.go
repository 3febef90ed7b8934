package metainfo

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// A Magnet is a magnet link (BEP 9): enough to find a torrent's peers and
// fetch its info dictionary from them, without the .torrent file.
//
//	magnet:?xt=urn:btih:<info hash>&dn=<name>&tr=<tracker>&tr=<tracker>
type Magnet struct {
	InfoHash Hash
	Name     string   // dn: a display name while the metadata is fetched
	Trackers []string // tr: announce URLs
	WebSeeds []string // ws: web seeds (BEP 19)
	Peers    []string // x.pe: peer addresses, host:port
}

// maxMagnetLength bounds the links ParseMagnet reads.
const maxMagnetLength = 64 << 10

// ParseMagnet parses a magnet link. It needs an exact topic
// "urn:btih:" with the info hash in hexadecimal or base32.
func ParseMagnet(s string) (Magnet, error) {
	if len(s) > maxMagnetLength {
		return Magnet{}, fmt.Errorf("metainfo: magnet link longer than %d bytes", maxMagnetLength)
	}
	u, err := url.Parse(s)
	if err != nil {
		return Magnet{}, fmt.Errorf("metainfo: magnet: %w", err)
	}
	if u.Scheme != "magnet" {
		return Magnet{}, fmt.Errorf("metainfo: magnet: scheme %q, want magnet", u.Scheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Magnet{}, fmt.Errorf("metainfo: magnet: %w", err)
	}
	var m Magnet
	found, v2 := false, false
	for _, xt := range q["xt"] {
		switch {
		case strings.HasPrefix(xt, "urn:btih:"):
			h, err := ParseHash(strings.TrimPrefix(xt, "urn:btih:"))
			if err != nil {
				return Magnet{}, fmt.Errorf("metainfo: magnet: %w", err)
			}
			if found && h != m.InfoHash {
				return Magnet{}, errors.New("metainfo: magnet: two different btih topics")
			}
			m.InfoHash, found = h, true
		case strings.HasPrefix(xt, "urn:btmh:"):
			v2 = true
		}
	}
	if !found {
		if v2 {
			return Magnet{}, errors.New("metainfo: magnet: only a BitTorrent v2 (btmh) topic, which is not supported")
		}
		return Magnet{}, errors.New("metainfo: magnet: no xt=urn:btih: topic")
	}
	m.Name = q.Get("dn")
	// Trackers come as tr or, in some clients, as numbered tr.1, tr.2 …
	m.Trackers = append(m.Trackers, q["tr"]...)
	for i := 1; ; i++ {
		v, ok := q[fmt.Sprintf("tr.%d", i)]
		if !ok {
			break
		}
		m.Trackers = append(m.Trackers, v...)
	}
	m.WebSeeds = q["ws"]
	m.Peers = q["x.pe"]
	return m, nil
}

// String formats the magnet link, the info hash in hexadecimal.
func (m Magnet) String() string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(m.InfoHash.String())
	add := func(key, value string) {
		b.WriteString("&" + key + "=")
		b.WriteString(url.QueryEscape(value))
	}
	if m.Name != "" {
		add("dn", m.Name)
	}
	for _, t := range m.Trackers {
		add("tr", t)
	}
	for _, w := range m.WebSeeds {
		add("ws", w)
	}
	for _, p := range m.Peers {
		add("x.pe", p)
	}
	return b.String()
}

// Magnet returns the magnet link of the torrent: its info hash, name,
// trackers and web seeds.
func (m *MetaInfo) Magnet() Magnet {
	return Magnet{
		InfoHash: m.InfoHash(),
		Name:     m.Info.Name,
		Trackers: m.Trackers(),
		WebSeeds: m.URLList,
	}
}
