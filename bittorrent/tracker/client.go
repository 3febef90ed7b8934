package tracker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"appnet.dev/bittorrent/metainfo"
)

// DefaultHTTPTimeout bounds an HTTP announce when the Client has no
// http.Client of its own and the context no deadline.
const DefaultHTTPTimeout = 30 * time.Second

// A Client announces to trackers named by URL: http:// and https://
// trackers (BEP 3) over HTTP, udp:// trackers over BEP 15. The zero value
// is ready to use.
type Client struct {
	// HTTP carries HTTP announces; nil means an http.Client with
	// DefaultHTTPTimeout.
	HTTP *http.Client
	// Dial opens UDP sockets to trackers; nil means a net.Dialer.
	// Interop tests use it to bind a source address.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// UDPTimeout and UDPRetries configure UDP retransmissions, as
	// UDPClient's Timeout and Retries.
	UDPTimeout time.Duration
	UDPRetries int
	// Trace, if set, receives each exchange as C:/S: lines.
	Trace io.Writer
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultHTTPTimeout}
}

func (c *Client) tracef(format string, args ...any) {
	if c.Trace != nil {
		fmt.Fprintf(c.Trace, format+"\n", args...)
	}
}

// Announce sends req to the tracker at trackerURL.
func (c *Client) Announce(ctx context.Context, trackerURL string, req *AnnounceRequest) (*AnnounceResponse, error) {
	u, err := url.Parse(trackerURL)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		return c.announceHTTP(ctx, trackerURL, req)
	case "udp":
		uc, err := c.dialUDP(ctx, u)
		if err != nil {
			return nil, err
		}
		defer uc.Close()
		return uc.Announce(ctx, req)
	}
	return nil, fmt.Errorf("tracker: unsupported tracker URL scheme %q", u.Scheme)
}

// AnnounceTiers announces to the first tracker that answers among the
// tiers of a torrent's announce-list (BEP 12): tier by tier, each URL of a
// tier in turn. The URL that answered moves to the front of its tier, in
// tiers itself, so the next announce tries it first. It returns the reply
// and the URL that gave it; if none answered, the last error.
func (c *Client) AnnounceTiers(ctx context.Context, tiers [][]string, req *AnnounceRequest) (*AnnounceResponse, string, error) {
	err := errors.New("tracker: no tracker URL")
	for _, tier := range tiers {
		for i, u := range tier {
			var resp *AnnounceResponse
			resp, err = c.Announce(ctx, u, req)
			if err == nil {
				copy(tier[1:i+1], tier[:i])
				tier[0] = u
				return resp, u, nil
			}
			if ctx.Err() != nil {
				return nil, "", err
			}
		}
	}
	return nil, "", err
}

// Scrape asks the tracker at trackerURL (an announce URL) for the counts
// of the given torrents.
func (c *Client) Scrape(ctx context.Context, trackerURL string, hashes ...metainfo.Hash) (map[metainfo.Hash]Stats, error) {
	u, err := url.Parse(trackerURL)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
		su, err := scrapeURL(trackerURL, hashes)
		if err != nil {
			return nil, err
		}
		body, err := c.get(ctx, "scrape", su)
		if err != nil {
			return nil, err
		}
		stats, err := ParseHTTPScrape(body)
		if err != nil {
			return nil, err
		}
		for h, s := range stats {
			c.tracef("S: scrape %s complete=%d downloaded=%d incomplete=%d", shortHash(h), s.Complete, s.Downloaded, s.Incomplete)
		}
		return stats, nil
	case "udp":
		uc, err := c.dialUDP(ctx, u)
		if err != nil {
			return nil, err
		}
		defer uc.Close()
		out := make(map[metainfo.Hash]Stats, len(hashes))
		for len(hashes) > 0 {
			n := min(len(hashes), maxScrapeHashes)
			stats, err := uc.Scrape(ctx, hashes[:n]...)
			if err != nil {
				return nil, err
			}
			for i, s := range stats {
				out[hashes[i]] = s
			}
			hashes = hashes[n:]
		}
		return out, nil
	}
	return nil, fmt.Errorf("tracker: unsupported tracker URL scheme %q", u.Scheme)
}

func (c *Client) dialUDP(ctx context.Context, u *url.URL) (*UDPClient, error) {
	dial := c.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, "udp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("tracker: %w", err)
	}
	uc := NewUDPClient(conn)
	uc.Timeout, uc.Retries, uc.Trace = c.UDPTimeout, c.UDPRetries, c.Trace
	uc.URLData = u.EscapedPath()
	if u.RawQuery != "" {
		uc.URLData += "?" + u.RawQuery
	}
	return uc, nil
}

func (c *Client) announceHTTP(ctx context.Context, base string, req *AnnounceRequest) (*AnnounceResponse, error) {
	u, err := announceURL(base, req)
	if err != nil {
		return nil, err
	}
	body, err := c.get(ctx, "announce", u)
	if err != nil {
		return nil, err
	}
	resp, err := ParseHTTPAnnounce(body)
	if err != nil {
		if e, ok := err.(*Error); ok {
			c.tracef("S: failure reason %q", e.Reason)
		}
		return nil, err
	}
	c.tracef("S: %s", describe(resp))
	return resp, nil
}

// get fetches u and returns the body, at most MaxHTTPReply bytes.
func (c *Client) get(ctx context.Context, op, u string) ([]byte, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("tracker: %s: %w", op, err)
	}
	c.tracef("C: GET %s", hreq.URL.RequestURI())
	hresp, err := c.httpClient().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("tracker: %s: %w", op, err)
	}
	defer hresp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hresp.Body, MaxHTTPReply+1))
	if err != nil {
		return nil, fmt.Errorf("tracker: %s: %w", op, err)
	}
	if len(body) > MaxHTTPReply {
		return nil, &ProtocolError{op, fmt.Errorf("reply longer than %d bytes", MaxHTTPReply)}
	}
	if hresp.StatusCode != http.StatusOK {
		// A failure reason may come with an error status; prefer it.
		if _, err := ParseHTTPAnnounce(body); err != nil {
			if e, ok := err.(*Error); ok {
				return nil, e
			}
		}
		return nil, &ProtocolError{op, fmt.Errorf("HTTP status %s", hresp.Status)}
	}
	return body, nil
}
