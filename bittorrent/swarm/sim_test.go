package swarm

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestClientServerMatchesBound(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 10, 35, 100} {
		cfg := slideConfig(n)
		cfg.Mode = ClientServer
		r, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Completed() != n {
			t.Fatalf("N=%d: %d peers completed", n, r.Completed())
		}
		if math.Abs(r.Efficiency-1) > 0.01 {
			t.Errorf("N=%d: client-server took %v, bound %v: efficiency %.4f, want within 1%%", n, r.Time, r.Bound, r.Efficiency)
		}
	}
}

// A slow client makes F/d_min the bound; the others still get the
// server's share.
func TestClientServerSlowClient(t *testing.T) {
	cfg := slideConfig(4)
	cfg.Mode = ClientServer
	cfg.Download = cfg.Upload / 2 // every client slower than u_s/N
	r, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Efficiency-1) > 0.01 {
		t.Errorf("took %v, bound %v (F/d_min)", r.Time, r.Bound)
	}
}

func TestP2PSmallSwarm(t *testing.T) {
	r, err := Run(slideConfig(10))
	if err != nil {
		t.Fatal(err)
	}
	if r.Completed() != 10 {
		t.Fatalf("%d of 10 peers completed", r.Completed())
	}
	if r.Time < r.Bound {
		t.Errorf("simulated %v beats the lower bound %v", r.Time, r.Bound)
	}
	for _, p := range r.Peers {
		if p.Download < float64(r.Config.FileSize)*0.999 {
			t.Errorf("peer %d received %.0f bytes of %d", p.ID, p.Download, r.Config.FileSize)
		}
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := broadbandConfig(20)
	cfg.Seed = 7
	a, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a.Time != b.Time || a.Events != b.Events {
		t.Errorf("same seed, different runs: %v/%d events vs %v/%d", a.Time, a.Events, b.Time, b.Events)
	}
	cfg.Seed = 8
	c, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Time == a.Time && c.Events == a.Events {
		t.Errorf("seeds 7 and 8 gave the same run")
	}
}

func TestNoPeers(t *testing.T) {
	r, err := Run(slideConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	if r.Time != 0 || r.Bound != 0 {
		t.Errorf("N=0: time %v bound %v, want 0", r.Time, r.Bound)
	}
}

// Free riders alone, with a seed that uploads nothing useful to them
// forever, are not a hang: the run stops with ErrStalled at the limit.
func TestStallReported(t *testing.T) {
	cfg := slideConfig(3)
	cfg.NewChoker = func(int, *rand.Rand) Choker { return chokeAll{} }
	_, err := Run(cfg)
	if !errors.Is(err, ErrStalled) {
		t.Errorf("err = %v, want ErrStalled", err)
	}
}

type chokeAll struct{}

func (chokeAll) Rechoke(_ time.Time, _, _ bool, ns []Neighbour) []Choice {
	return make([]Choice, len(ns))
}

func TestConfigErrors(t *testing.T) {
	good := slideConfig(3)
	for name, mod := range map[string]func(*Config){
		"no file":         func(c *Config) { c.FileSize = 0 },
		"no seed upload":  func(c *Config) { c.SeedUpload = 0 },
		"negative peers":  func(c *Config) { c.Peers = -1 },
		"too many riders": func(c *Config) { c.FreeRiders = 4 },
		"unknown picker":  func(c *Config) { c.Selection = "fastest" },
		"unknown choker":  func(c *Config) { c.Choking = "greedy" },
		"negative upload": func(c *Config) { c.Upload = -1 },
		"too many pieces": func(c *Config) { c.PieceSize = 1; c.FileSize = 1 << 30 },
	} {
		c := good
		mod(&c)
		if _, err := Run(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"all free riders":        func(c *Config) { c.FreeRiders = c.Peers },
		"one peer":               func(c *Config) { c.Peers = 1 },
		"one piece":              func(c *Config) { c.FileSize = 1000 },
		"short last piece":       func(c *Config) { c.FileSize = 10*DefaultPieceSize + 12345 },
		"slow downloads":         func(c *Config) { c.Download = c.Upload / 3 },
		"unlimited downloads":    func(c *Config) { c.Download = 0 },
		"no choking":             func(c *Config) { c.Choking = NoChoking },
		"random":                 func(c *Config) { c.Selection = Random },
		"in order":               func(c *Config) { c.Selection = Sequential },
		"two neighbours":         func(c *Config) { c.Neighbours = 2 },
		"bep3":                   func(c *Config) { c.Choking = ChokeBEP3 },
		"slides":                 func(c *Config) { c.Choking = ChokeSlides },
		"arrivals, selfish":      func(c *Config) { c.Churn = Churn{Interarrival: 20 * time.Second, Selfish: true} },
		"client-server, riders":  func(c *Config) { c.Mode = ClientServer; c.FreeRiders = 3 },
		"client-server, arrival": func(c *Config) { c.Mode = ClientServer; c.Churn.Interarrival = time.Minute },
	} {
		t.Run(name, func(t *testing.T) {
			c := broadbandConfig(12)
			c.FileSize = 64 * DefaultPieceSize
			mod(&c)
			r, err := Run(c)
			if err != nil {
				t.Fatal(err)
			}
			if r.Completed() != c.Peers {
				t.Errorf("%d of %d peers completed", r.Completed(), c.Peers)
			}
			if r.Time < r.Bound && c.Churn.IsZero() {
				t.Errorf("time %v below the bound %v", r.Time, r.Bound)
			}
			for _, p := range r.Peers {
				if p.Download < float64(c.FileSize)*(1-1e-9) {
					t.Errorf("peer %d received %.0f of %d bytes", p.ID, p.Download, c.FileSize)
				}
			}
		})
	}
}
