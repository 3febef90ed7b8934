package dash

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"appnet.dev/sockets"
)

// LimitedClient returns an HTTP client whose connections are throttled
// in process (sockets.Throttle) to the bandwidth rate returns, in bits per
// second, so a player on loopback sees a network of that speed. rate is
// asked before every request; when its answer changes, the client's idle
// connections are closed and the next one is dialled at the new rate, so a
// trace's changes take effect between chunks. latency is added to each
// round trip. dial, if not nil, makes the underlying connections (for
// instance to map the names in an MPD to listeners on 127.0.0.1).
func LimitedClient(rate func() float64, latency time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		dial = d.DialContext
	}
	lt := &limitedTransport{rate: rate}
	lt.tp = &http.Transport{
		MaxConnsPerHost:       1,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       time.Minute,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			lt.mu.Lock()
			bps := lt.current
			lt.mu.Unlock()
			return sockets.Throttle(c, sockets.Link{Rate: max(int64(bps/8), 1), Latency: latency}), nil
		},
	}
	return &http.Client{Transport: lt, Timeout: 2 * time.Minute}
}

// TraceRate returns a rate function for LimitedClient that follows a trace
// from the moment it is called, by clock (the wall clock if nil; give it
// the player's SkipClock so that skipped waits count as trace time too).
func TraceRate(tr *Trace, clock Clock) func() float64 {
	if clock == nil {
		clock = RealClock{}
	}
	began := clock.Now()
	return func() float64 { return tr.Bandwidth(clock.Now().Sub(began)) }
}

type limitedTransport struct {
	tp      *http.Transport
	rate    func() float64
	mu      sync.Mutex
	current float64
}

func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := t.rate()
	t.mu.Lock()
	changed := r != t.current
	t.current = r
	t.mu.Unlock()
	if changed {
		t.tp.CloseIdleConnections()
	}
	return t.tp.RoundTrip(req)
}

// ParseRate parses a bandwidth such as "1.5Mbps", "800kbps" or "2000000"
// (bits per second).
func ParseRate(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || v*mult > maxTraceBitrate {
		return 0, fmt.Errorf("dash: bad rate %q", s)
	}
	return v * mult, nil
}

// ConstantTrace is a trace that offers bps all the time.
func ConstantTrace(bps float64) *Trace {
	t, err := NewTrace(Mbps(bps), []TracePoint{{At: 0, Bandwidth: bps}}, time.Hour)
	if err != nil {
		panic(err)
	}
	return t
}
