package cdn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultCheckInterval is how often a Monitor checks each edge when its
// Interval is zero. It is below DefaultTTL, so a failed edge leaves the
// answers within one TTL.
const DefaultCheckInterval = 2 * time.Second

// A Probe checks one edge and returns its load (requests in progress), or
// an error if the edge is not fit to serve.
type Probe func(ctx context.Context, n Node) (load int64, err error)

// A Monitor checks the health and load of a map's edges, so that routing
// stops choosing an edge that failed or is overloaded. Run checks every
// edge each Interval until its context ends; Check runs one round, which is
// what tests drive in virtual time.
type Monitor struct {
	Nodes    []Node
	Interval time.Duration // DefaultCheckInterval if zero
	Timeout  time.Duration // per check; Interval/2 if zero
	// Probe checks one edge; nil means HTTPProbe(nil, DefaultHealthPath).
	Probe Probe
	Now   func() time.Time // time.Now if nil
	// Trace, if set, gets a line whenever an edge changes state.
	Trace io.Writer

	mu     sync.Mutex
	states map[string]NodeState
}

// HTTPProbe returns a Probe that GETs path from each edge with client (a
// client with no redirects if nil) and reads the load from the X-Load field
// of a 200 answer; any other answer is a failure.
func HTTPProbe(client *http.Client, path string) Probe {
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return func(ctx context.Context, n Node) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+n.Addr.String()+path, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, errors.New(resp.Status)
		}
		load, _ := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-Load")), 10, 64)
		return max(load, 0), nil
	}
}

func (m *Monitor) interval() time.Duration {
	if m.Interval > 0 {
		return m.Interval
	}
	return DefaultCheckInterval
}

// Check probes every edge once, all at the same time, and records what it
// found.
func (m *Monitor) Check(ctx context.Context) {
	probe := m.Probe
	if probe == nil {
		probe = HTTPProbe(nil, DefaultHealthPath)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = m.interval() / 2
	}
	results := make([]NodeState, len(m.Nodes))
	var wg sync.WaitGroup
	for i, n := range m.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			load, err := probe(cctx, n)
			results[i] = NodeState{Healthy: err == nil, Load: load}
			if err != nil {
				results[i].Err = err.Error()
			}
		}()
	}
	wg.Wait()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.states == nil {
		m.states = map[string]NodeState{}
	}
	for i, n := range m.Nodes {
		st := results[i]
		st.Checked = now
		if old, ok := m.states[n.Name]; m.Trace != nil && (!ok || old.Healthy != st.Healthy) {
			if st.Healthy {
				fmt.Fprintf(m.Trace, "monitor: %s (%s) is up, load %d\n", n.Name, n.Addr, st.Load)
			} else {
				fmt.Fprintf(m.Trace, "monitor: %s (%s) is down: %s\n", n.Name, n.Addr, st.Err)
			}
		}
		m.states[n.Name] = st
	}
}

// States returns a copy of what the last checks found, by edge name.
func (m *Monitor) States() map[string]NodeState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.states)
}

// Run checks the edges now and every Interval until ctx ends, and returns
// ctx's error.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval())
	defer t.Stop()
	for {
		m.Check(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
