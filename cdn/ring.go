package cdn

import (
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DefaultReplicas is how many points (virtual nodes) a Ring gives each node
// when its Replicas is zero: enough that each node's share of the keys is
// within a few percent of 1/N.
const DefaultReplicas = 1000

// A Ring places keys on nodes by consistent hashing (Karger et al., 1997):
// each node owns many points on a circle of 64-bit hashes, and a key
// belongs to the node of the first point at or after the key's hash. When
// a node leaves, only the keys it owned move, each to the next point's
// node; the others stay where they were, so the other edges' caches stay
// warm. A Ring is a value: Add and Remove return a new one, and it is safe
// to share between goroutines.
type Ring struct {
	points []point
	nodes  []string
}

type point struct {
	hash uint64
	node string
}

// NewRing returns a ring of nodes, each with replicas virtual nodes
// (DefaultReplicas if replicas <= 0).
func NewRing(replicas int, nodes ...string) *Ring {
	if replicas <= 0 {
		replicas = DefaultReplicas
	}
	r := &Ring{nodes: slices.Clone(nodes)}
	slices.Sort(r.nodes)
	r.nodes = slices.Compact(r.nodes)
	r.points = make([]point, 0, len(r.nodes)*replicas)
	for _, n := range r.nodes {
		for i := range replicas {
			r.points = append(r.points, point{hashKey(n + "#" + strconv.Itoa(i)), n})
		}
	}
	slices.SortFunc(r.points, func(a, b point) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return strings.Compare(a.node, b.node)
	})
	return r
}

// Nodes lists the ring's nodes, sorted.
func (r *Ring) Nodes() []string { return slices.Clone(r.nodes) }

// hashKey is FNV-1a followed by a 64-bit finaliser (from SplitMix64), so
// that similar names ("edge1#7", "edge1#8") land far apart.
func hashKey(s string) uint64 {
	x := uint64(14695981039346656037) // FNV-1a, 64 bits
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
	}
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Get returns the node that owns key, or "" if the ring is empty.
func (r *Ring) Get(key string) string {
	if len(r.points) == 0 {
		return ""
	}
	return r.points[r.search(hashKey(key))].node
}

func (r *Ring) search(h uint64) int {
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i].hash >= h })
	if i == len(r.points) {
		i = 0
	}
	return i
}

// GetN returns up to n distinct nodes for key in ring order: the owner
// first, then the nodes that would take the key over if the ones before
// them left. These are where a client looks for other copies.
func (r *Ring) GetN(key string, n int) []string {
	if len(r.points) == 0 || n <= 0 {
		return nil
	}
	n = min(n, len(r.nodes))
	out := make([]string, 0, n)
	for i, start := 0, r.search(hashKey(key)); i < len(r.points) && len(out) < n; i++ {
		node := r.points[(start+i)%len(r.points)].node
		if !slices.Contains(out, node) {
			out = append(out, node)
		}
	}
	return out
}
