package cdn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// Zipf draws object ranks 0..n-1 with probability proportional to
// 1/(rank+1)^s: a few videos are watched by everyone, most by few. Unlike
// math/rand's, any s > 0 works (video popularity is often near s = 0.8).
type Zipf struct{ cdf []float64 }

// NewZipf returns the distribution over n objects with exponent s.
func NewZipf(n int, s float64) *Zipf {
	cdf := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += 1 / math.Pow(float64(i+1), s)
		cdf[i] = sum
	}
	for i := range cdf {
		cdf[i] /= sum
	}
	return &Zipf{cdf}
}

// Rank maps u, uniform in [0,1), to a rank.
func (z *Zipf) Rank(u float64) int {
	i := sort.SearchFloat64s(z.cdf, u)
	return min(i, len(z.cdf)-1)
}

// A SimRequest is one request of a trace: which population asked for which
// object, and the object's size.
type SimRequest struct {
	Population int
	Object     int
	Size       int64
}

// A Workload describes the requests a simulation replays.
type Workload struct {
	Objects  int     // catalogue size
	Zipf     float64 // popularity exponent
	MinSize  int64   // object sizes are uniform in [MinSize, MaxSize]
	MaxSize  int64
	Requests int
	Weights  []float64     // share of requests from each population
	Duration time.Duration // time the requests are spread over, for link loads
	Seed     uint64
}

// Trace draws the workload's requests, the same ones for the same Seed.
func (w Workload) Trace() []SimRequest {
	rng := rand.New(rand.NewPCG(w.Seed, 0x6b696e6763646e)) // "kingcdn"
	sizes := make([]int64, w.Objects)
	for i := range sizes {
		sizes[i] = w.MinSize
		if w.MaxSize > w.MinSize {
			sizes[i] += rng.Int64N(w.MaxSize - w.MinSize + 1)
		}
	}
	// Ranks map to objects through a permutation, so popularity and size
	// are independent.
	perm := rng.Perm(w.Objects)
	z := NewZipf(w.Objects, w.Zipf)
	var wsum float64
	for _, x := range w.Weights {
		wsum += x
	}
	out := make([]SimRequest, w.Requests)
	for i := range out {
		pop, u := 0, rng.Float64()*wsum
		for pop < len(w.Weights)-1 && u >= w.Weights[pop] {
			u -= w.Weights[pop]
			pop++
		}
		obj := perm[z.Rank(rng.Float64())]
		out[i] = SimRequest{Population: pop, Object: obj, Size: sizes[obj]}
	}
	return out
}

// CacheResult counts what a cache did with a trace.
type CacheResult struct {
	Requests, Hits  int
	Bytes, HitBytes int64
}

// HitRatio is the share of requests served from the cache.
func (r CacheResult) HitRatio() float64 { return float64(r.Hits) / float64(max(r.Requests, 1)) }

// ByteHitRatio is the share of bytes served from the cache.
func (r CacheResult) ByteHitRatio() float64 {
	return float64(r.HitBytes) / float64(max(r.Bytes, 1))
}

// objectKeys names objects 0..n-1 once, so replaying does not allocate.
func objectKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("/v/%d", i)
	}
	return keys
}

// simCache is the bookkeeping of one cache in a simulation: what it holds
// and how many bytes, with the Policy deciding evictions. Objects are
// numbered 0..n-1.
type simCache struct {
	policy   Policy
	capacity int64
	used     int64
	held     []int64 // object → size while held, -1 when not
	keyObj   map[string]int
}

func newSimCache(p Policy, capacity int64, keys []string, keyObj map[string]int) *simCache {
	held := make([]int64, len(keys))
	for i := range held {
		held[i] = -1
	}
	return &simCache{policy: p, capacity: capacity, held: held, keyObj: keyObj}
}

func keyIndex(keys []string) map[string]int {
	m := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = i
	}
	return m
}

// request plays one request and reports a hit.
func (c *simCache) request(obj int, key string, size int64) bool {
	if c.held[obj] >= 0 {
		c.policy.Access(key)
		return true
	}
	if size > c.capacity {
		return false
	}
	for c.used+size > c.capacity {
		victim, ok := c.policy.Evict()
		if !ok {
			break
		}
		v := c.keyObj[victim]
		c.used -= c.held[v]
		c.held[v] = -1
	}
	c.held[obj] = size
	c.used += size
	c.policy.Insert(key, size)
	return false
}

// ReplayCache runs trace through one cache of capacity bytes evicting with
// policy. For Belady, build the policy with NewBelady(TraceKeys(trace)).
func ReplayCache(trace []SimRequest, capacity int64, policy Policy) CacheResult {
	n := 0
	for _, r := range trace {
		n = max(n, r.Object+1)
	}
	keys := objectKeys(n)
	c := newSimCache(policy, capacity, keys, keyIndex(keys))
	var res CacheResult
	for _, r := range trace {
		res.Requests++
		res.Bytes += r.Size
		if c.request(r.Object, keys[r.Object], r.Size) {
			res.Hits++
			res.HitBytes += r.Size
		}
	}
	return res
}

// TraceKeys lists the trace's objects as the keys ReplayCache gives them.
func TraceKeys(trace []SimRequest) []string {
	n := 0
	for _, r := range trace {
		n = max(n, r.Object+1)
	}
	keys := objectKeys(n)
	out := make([]string, len(trace))
	for i, r := range trace {
		out[i] = keys[r.Object]
	}
	return out
}

// A SimCluster is a CDN cluster in a topology: its cache and its path to
// the origin.
type SimCluster struct {
	Name          string
	CacheBytes    int64
	OriginLatency time.Duration // round trip to the origin
	OriginRate    float64       // bytes/s of its path to the origin
}

// A Population is a group of clients (an access network) and the path to
// the cluster that serves it.
type Population struct {
	Name    string
	Cluster int           // index into Topology.Clusters
	Latency time.Duration // round trip to that cluster
	Rate    float64       // bytes/s of the path to that cluster
	// Inside: the cluster sits inside this access network ("enter deep"),
	// so what it sends the clients never crosses the backbone.
	Inside bool
}

// A Topology is a CDN deployment to simulate.
type Topology struct {
	Name        string
	Clusters    []SimCluster
	Populations []Population
}

// SimResult is what a simulation measured.
type SimResult struct {
	Topology      string
	Requests      int
	HitRatio      float64
	MeanLatency   time.Duration
	P50Latency    time.Duration // the median request
	P95Latency    time.Duration
	OriginBytes   int64 // fetched from the origin by the clusters
	BackboneBytes int64 // crossing between networks: origin fetches, and edge-to-client bytes from clusters outside the client's network
}

func (r SimResult) String() string {
	return fmt.Sprintf("%-10s  hit ratio %5.1f%%  latency median %5.1f ms, mean %5.1f ms, p95 %5.1f ms  origin %6.0f MB  backbone %6.0f MB",
		r.Topology, 100*r.HitRatio, ms(r.P50Latency), ms(r.MeanLatency), ms(r.P95Latency), mb(r.OriginBytes), mb(r.BackboneBytes))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mb(n int64) float64         { return float64(n) / 1e6 }

// Simulate replays trace (spread over duration) through the topology, each
// cluster caching with a policy from newPolicy. A request's latency is the
// round trip to its cluster plus the transfer over that path, and, on a
// miss, the round trip and transfer from the origin; a path loaded to a
// fraction ρ of its rate transfers at (1-ρ) of it, as a queue would (ρ
// capped at 0.95). It is deterministic.
func Simulate(topo Topology, trace []SimRequest, duration time.Duration, newPolicy func() Policy) SimResult {
	n := 0
	for _, r := range trace {
		n = max(n, r.Object+1)
	}
	keys := objectKeys(n)
	index := keyIndex(keys)
	caches := make([]*simCache, len(topo.Clusters))
	for i, c := range topo.Clusters {
		caches[i] = newSimCache(newPolicy(), c.CacheBytes, keys, index)
	}
	// First pass: hits and misses, and the bytes on every path.
	hit := make([]bool, len(trace))
	popBytes := make([]float64, len(topo.Populations))
	originBytes := make([]float64, len(topo.Clusters))
	res := SimResult{Topology: topo.Name, Requests: len(trace)}
	hits := 0
	for i, r := range trace {
		p := topo.Populations[r.Population]
		hit[i] = caches[p.Cluster].request(r.Object, keys[r.Object], r.Size)
		popBytes[r.Population] += float64(r.Size)
		if hit[i] {
			hits++
		} else {
			originBytes[p.Cluster] += float64(r.Size)
			res.OriginBytes += r.Size
			res.BackboneBytes += r.Size
		}
		if !p.Inside {
			res.BackboneBytes += r.Size
		}
	}
	res.HitRatio = float64(hits) / float64(max(len(trace), 1))
	// Second pass: latencies, with each path's rate reduced by its load.
	secs := max(duration.Seconds(), 1e-9)
	eff := func(rate, bytes float64) float64 {
		rho := min(bytes/secs/rate, 0.95)
		return rate * (1 - rho)
	}
	popRate := make([]float64, len(topo.Populations))
	for i, p := range topo.Populations {
		popRate[i] = eff(p.Rate, popBytes[i])
	}
	originRate := make([]float64, len(topo.Clusters))
	for i, c := range topo.Clusters {
		originRate[i] = eff(c.OriginRate, originBytes[i])
	}
	lat := make([]time.Duration, len(trace))
	var sum time.Duration
	for i, r := range trace {
		p := topo.Populations[r.Population]
		d := p.Latency + time.Duration(float64(r.Size)/popRate[r.Population]*float64(time.Second))
		if !hit[i] {
			c := topo.Clusters[p.Cluster]
			d += c.OriginLatency + time.Duration(float64(r.Size)/originRate[p.Cluster]*float64(time.Second))
		}
		lat[i] = d
		sum += d
	}
	if len(lat) > 0 {
		res.MeanLatency = sum / time.Duration(len(lat))
		slices.Sort(lat)
		res.P50Latency = lat[len(lat)/2]
		res.P95Latency = lat[len(lat)*95/100]
	}
	return res
}

// EnterDeep is the slide's first option: a small cluster inside each of
// the access networks, close to the users (Akamai's way), with totalCache
// bytes of storage split evenly between them.
func EnterDeep(networks int, totalCache int64) Topology {
	t := Topology{Name: "enter deep"}
	for i := range networks {
		t.Clusters = append(t.Clusters, SimCluster{
			Name: fmt.Sprintf("isp%d", i), CacheBytes: totalCache / int64(networks),
			OriginLatency: 80 * time.Millisecond, OriginRate: 12.5e6, // 100 Mb/s each
		})
		t.Populations = append(t.Populations, Population{
			Name: fmt.Sprintf("isp%d", i), Cluster: i, Latency: 5 * time.Millisecond, Rate: 125e6, Inside: true,
		})
	}
	return t
}

// BringHome is the slide's second option: a few large clusters at
// exchange points near, but not inside, the access networks (Limelight's
// way), with the same totalCache bytes of storage in all.
func BringHome(networks, clusters int, totalCache int64) Topology {
	t := Topology{Name: "bring home"}
	for i := range clusters {
		t.Clusters = append(t.Clusters, SimCluster{
			Name: fmt.Sprintf("ixp%d", i), CacheBytes: totalCache / int64(clusters),
			OriginLatency: 60 * time.Millisecond, OriginRate: 125e6, // 1 Gb/s each
		})
	}
	for i := range networks {
		t.Populations = append(t.Populations, Population{
			Name: fmt.Sprintf("isp%d", i), Cluster: i % clusters,
			Latency: 25 * time.Millisecond, Rate: 125e6 / 2, Inside: false,
		})
	}
	return t
}
