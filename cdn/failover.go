package cdn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Defaults of a Failover's zero fields.
const (
	DefaultAttemptTimeout = 5 * time.Second
	DefaultMaxBody        = 64 << 20
)

// ErrNoCopy is returned by Failover when every copy failed.
var ErrNoCopy = errors.New("cdn: no copy answered")

// Failover is an http.RoundTripper for a client of the CDN: it tries the
// copies of an object one after the other, going on to the next when a
// copy fails (a connection error or a 5xx) or is slow (no complete answer
// within AttemptTimeout) — the slide's "may choose different copy if
// network path congested". The request keeps its Host, so every copy looks
// it up under the same cache key. Bodies are read whole (up to MaxBody)
// before the answer is returned, so a copy that dies in mid-body is
// retried too, and requests should be idempotent (GET, HEAD).
type Failover struct {
	// Transport does each attempt (http.DefaultTransport if nil).
	Transport http.RoundTripper
	// Copies lists the "host:port" places to try for a request, best
	// first; nil means the request's own URL host only.
	Copies func(ctx context.Context, req *http.Request) ([]string, error)
	// AttemptTimeout bounds each attempt, body included.
	AttemptTimeout time.Duration
	// MaxBody bounds each answer's body.
	MaxBody int64
	// Cooldown is how long a copy that failed goes to the back of the
	// list, so that the next requests do not wait for it again (zero: 10 s).
	Cooldown time.Duration
	// Now is the clock for Cooldown (time.Now if nil).
	Now func() time.Time
	// Trace, if set, gets a line for every attempt that fails.
	Trace io.Writer

	mu     sync.Mutex
	failed map[string]time.Time // host → when it last failed
}

// order puts the copies that failed within Cooldown after the others,
// keeping the order within each group.
func (f *Failover) order(copies []string) []string {
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	cool := f.Cooldown
	if cool <= 0 {
		cool = 10 * time.Second
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var fresh, recent []string
	for _, c := range copies {
		if t, ok := f.failed[c]; ok && now.Sub(t) < cool {
			recent = append(recent, c)
		} else {
			fresh = append(fresh, c)
		}
	}
	return append(fresh, recent...)
}

func (f *Failover) markFailed(host string) {
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		f.failed = map[string]time.Time{}
	}
	f.failed[host] = now
}

func (f *Failover) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := f.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	timeout := f.AttemptTimeout
	if timeout <= 0 {
		timeout = DefaultAttemptTimeout
	}
	maxBody := f.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	copies := []string{req.URL.Host}
	if f.Copies != nil {
		var err error
		if copies, err = f.Copies(req.Context(), req); err != nil {
			return nil, err
		}
	}
	if req.Body != nil && req.Body != http.NoBody {
		return nil, errors.New("cdn: failover: requests with bodies cannot be retried")
	}
	var errs []error
	for _, host := range f.order(copies) {
		resp, err := f.attempt(rt, req, host, timeout, maxBody)
		if err == nil {
			return resp, nil
		}
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		f.markFailed(host)
		f.tracef("failover: %s %s from %s: %v; trying another copy", req.Method, req.URL.Path, host, err)
		errs = append(errs, fmt.Errorf("%s: %w", host, err))
	}
	return nil, fmt.Errorf("%w for %s: %w", ErrNoCopy, req.URL, errors.Join(errs...))
}

func (f *Failover) attempt(rt http.RoundTripper, req *http.Request, host string, timeout time.Duration, maxBody int64) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	out := req.Clone(ctx)
	out.URL.Host = host
	if out.Host == "" {
		out.Host = req.URL.Host
	}
	resp, err := rt.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		return nil, errors.New(resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > maxBody {
		return nil, fmt.Errorf("body over %d bytes", maxBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Request = req
	return resp, nil
}

func (f *Failover) tracef(format string, args ...any) {
	if f.Trace == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(f.Trace, format+"\n", args...)
}
