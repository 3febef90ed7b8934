package swarm

import (
	"testing"
	"time"
)

// The slide's example: F/u = 1 hour, u_s = 10u, d_min ≥ u_s.
const (
	slideF  = 3600.0 // bytes, so that F/u is one hour with u = 1 byte/s
	slideU  = 1.0
	slideUs = 10 * slideU
	slideD  = slideUs
)

func TestClientServerBound(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		f, us, d float64
		want     time.Duration
	}{
		{"no clients", 0, slideF, slideUs, slideD, 0},
		{"one client: the client's download limits", 1, slideF, slideUs, slideD, 6 * time.Minute},
		{"slide N=10: one hour", 10, slideF, slideUs, slideD, time.Hour},
		{"slide N=35: 3.5 hours", 35, slideF, slideUs, slideD, 3*time.Hour + 30*time.Minute},
		{"slow client dominates", 2, 100, 100, 1, 100 * time.Second},
		{"unlimited download", 3, 100, 10, 0, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClientServerBound(tt.n, tt.f, tt.us, tt.d); got != tt.want {
				t.Errorf("ClientServerBound(%d, %v, %v, %v) = %v, want %v", tt.n, tt.f, tt.us, tt.d, got, tt.want)
			}
		})
	}
}

func TestP2PBound(t *testing.T) {
	tests := []struct {
		name     string
		f, us, d float64
		u        []float64
		want     time.Duration
	}{
		{"no peers", slideF, slideUs, slideD, nil, 0},
		{"one peer: the seed's one copy", slideF, slideUs, slideD, []float64{1}, 6 * time.Minute},
		{"slide N=10: half an hour", slideF, slideUs, slideD, uniform(10, slideU), 30 * time.Minute},
		{"slide N=30: 45 minutes", slideF, slideUs, slideD, uniform(30, slideU), 45 * time.Minute},
		{"slow seed dominates", 100, 1, 0, []float64{100, 100}, 100 * time.Second},
		{"slow download dominates", 100, 100, 2, []float64{100}, 50 * time.Second},
		{"free riders add demand, not capacity", 100, 10, 0, []float64{10, 0, 0, 0}, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := P2PBound(tt.f, tt.us, tt.d, tt.u); got != tt.want {
				t.Errorf("P2PBound(%v, %v, %v, %v) = %v, want %v", tt.f, tt.us, tt.d, tt.u, got, tt.want)
			}
		})
	}
}

// P2P never needs longer than client-server: the slide's point.
func TestP2PBoundNeverAboveClientServer(t *testing.T) {
	for n := 0; n <= 35; n++ {
		cs := ClientServerBound(n, slideF, slideUs, slideD)
		p2p := UniformP2PBound(n, slideF, slideUs, slideU, slideD)
		if p2p > cs {
			t.Errorf("N=%d: P2P bound %v above client-server bound %v", n, p2p, cs)
		}
	}
}

func uniform(n int, u float64) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = u
	}
	return r
}
