package cdn

import (
	"appnet.dev/sockets/sockettest"
	"fmt"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time so far (zero where
// sockettest cannot measure it).
func cpuTime() time.Duration {
	d, _ := sockettest.SelfCPU()
	return d
}

func TestZipf(t *testing.T) {
	z := NewZipf(100, 1)
	counts := make([]int, 100)
	for i := range 100000 {
		counts[z.Rank(float64(i)/100000)]++
	}
	// With s = 1, rank 1 is about twice as popular as rank 2, ten times
	// rank 10.
	if r := float64(counts[0]) / float64(counts[1]); r < 1.9 || r > 2.1 {
		t.Errorf("rank1/rank2 = %.2f, want about 2", r)
	}
	if r := float64(counts[0]) / float64(counts[9]); r < 9 || r > 11 {
		t.Errorf("rank1/rank10 = %.2f, want about 10", r)
	}
	if z.Rank(0) != 0 || z.Rank(0.999999999) != 99 {
		t.Error("extremes out of place")
	}
}

func equalSizeTrace(requests int) []SimRequest {
	return Workload{Objects: 2000, Zipf: 0.8, MinSize: 1, MaxSize: 1, Requests: requests,
		Weights: []float64{1}, Seed: 7}.Trace()
}

func TestBeladyIsTheOptimum(t *testing.T) {
	trace := equalSizeTrace(50000)
	for _, capacity := range []int64{10, 100, 500} {
		best := ReplayCache(trace, capacity, NewBelady(TraceKeys(trace)))
		for _, p := range []struct {
			name string
			p    Policy
		}{{"LRU", NewLRU()}, {"LFU", NewLFU()}, {"GDSF", NewGDSF()}, {"ARC", NewARC()}} {
			r := ReplayCache(trace, capacity, p.p)
			if r.Hits > best.Hits {
				t.Errorf("capacity %d: %s hits %d > Belady's %d", capacity, p.name, r.Hits, best.Hits)
			}
			if r.Hits == 0 {
				t.Errorf("capacity %d: %s never hit", capacity, p.name)
			}
			t.Logf("capacity %4d: %-4s %.3f  Belady %.3f", capacity, p.name, r.HitRatio(), best.HitRatio())
		}
	}
}

func TestGDSFFavoursSmallObjects(t *testing.T) {
	trace := Workload{Objects: 2000, Zipf: 0.8, MinSize: 1, MaxSize: 1000, Requests: 50000,
		Weights: []float64{1}, Seed: 3}.Trace()
	lru := ReplayCache(trace, 50000, NewLRU())
	gdsf := ReplayCache(trace, 50000, NewGDSF())
	if gdsf.HitRatio() <= lru.HitRatio() {
		t.Errorf("GDSF hit ratio %.3f <= LRU's %.3f on objects of mixed sizes", gdsf.HitRatio(), lru.HitRatio())
	}
}

// TestEnterDeepVersusBringHome shows the slide's trade-off in numbers: with
// the same storage, many small clusters inside the access networks are
// closer to the users (the typical request, a hit, is faster) and keep
// traffic off the backbone, while a few large clusters hit more often and
// fetch less from the origin.
func TestEnterDeepVersusBringHome(t *testing.T) {
	const networks = 20
	w := Workload{Objects: 5000, Zipf: 0.9, MinSize: 100e3, MaxSize: 2e6, Requests: 100000,
		Duration: time.Hour, Seed: 1}
	for range networks {
		w.Weights = append(w.Weights, 1)
	}
	trace := w.Trace()
	storage := int64(20e9)
	deep := Simulate(EnterDeep(networks, storage), trace, w.Duration, func() Policy { return NewLRU() })
	home := Simulate(BringHome(networks, 2, storage), trace, w.Duration, func() Policy { return NewLRU() })
	t.Log(deep)
	t.Log(home)
	if deep.P50Latency >= home.P50Latency {
		t.Errorf("enter deep median latency %v >= bring home's %v", deep.P50Latency, home.P50Latency)
	}
	if deep.BackboneBytes >= home.BackboneBytes {
		t.Errorf("enter deep backbone %d >= bring home's %d", deep.BackboneBytes, home.BackboneBytes)
	}
	if deep.HitRatio >= home.HitRatio {
		t.Errorf("enter deep hit ratio %.3f >= bring home's %.3f", deep.HitRatio, home.HitRatio)
	}
	if deep.OriginBytes <= home.OriginBytes {
		t.Errorf("enter deep origin bytes %d <= bring home's %d", deep.OriginBytes, home.OriginBytes)
	}
}

func TestWorkloadIsDeterministic(t *testing.T) {
	w := Workload{Objects: 100, Zipf: 1, MinSize: 1, MaxSize: 10, Requests: 1000, Weights: []float64{1, 3}, Seed: 9}
	a, b := w.Trace(), w.Trace()
	pops := [2]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d differs: %+v, %+v", i, a[i], b[i])
		}
		pops[a[i].Population]++
	}
	if pops[1] < 2*pops[0] {
		t.Errorf("populations %v: want about 1:3", pops)
	}
}

// BenchmarkPolicies replays one million requests through each policy
// (one op = the whole million).
func BenchmarkPolicies(b *testing.B) {
	trace := Workload{Objects: 100000, Zipf: 0.8, MinSize: 1, MaxSize: 1, Requests: 1_000_000,
		Weights: []float64{1}, Seed: 5}.Trace()
	keys := TraceKeys(trace)
	for _, p := range []struct {
		name string
		new  func() Policy
	}{
		{"LRU", func() Policy { return NewLRU() }},
		{"LFU", func() Policy { return NewLFU() }},
		{"GDSF", func() Policy { return NewGDSF() }},
		{"ARC", func() Policy { return NewARC() }},
		{"Belady", func() Policy { return NewBelady(keys) }},
	} {
		b.Run(p.name, func(b *testing.B) {
			var r CacheResult
			cpu0 := cpuTime()
			for b.Loop() {
				r = ReplayCache(trace, 10000, p.new())
			}
			// The CPU time, beside the wall time, for a machine shared
			// with other work.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(r.HitRatio(), "hit-ratio")
			b.ReportMetric(float64(len(trace)), "requests/op")
		})
	}
}

func ExampleSimulate() {
	w := Workload{Objects: 1000, Zipf: 0.8, MinSize: 1e6, MaxSize: 1e6, Requests: 20000,
		Weights: []float64{1, 1, 1, 1}, Duration: time.Hour, Seed: 1}
	trace := w.Trace()
	for _, topo := range []Topology{EnterDeep(4, 400e6), BringHome(4, 1, 400e6)} {
		r := Simulate(topo, trace, w.Duration, func() Policy { return NewLRU() })
		fmt.Printf("%s: hit ratio %.0f%%, origin %.0f GB, backbone %.0f GB\n",
			r.Topology, 100*r.HitRatio, float64(r.OriginBytes)/1e9, float64(r.BackboneBytes)/1e9)
	}
	// Output:
	// enter deep: hit ratio 37%, origin 13 GB, backbone 13 GB
	// bring home: hit ratio 70%, origin 6 GB, backbone 26 GB
}
