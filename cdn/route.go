package cdn

import (
	"net/netip"
	"time"
)

// NodeState is what health checks know about an edge.
type NodeState struct {
	Healthy bool
	Load    int64     // requests in progress at the last check
	Checked time.Time // when; zero if never checked
	Err     string    // why the last check failed
}

// Route is the request-routing policy, a pure function: for a client (the
// address of its DNS resolver, or its subnet from EDNS Client Subnet, or its
// own address for an HTTP redirect) and a content key, the edges to try,
// best first, at most n of them.
//
// The client's coverage zone names its cluster; clusters follow nearest
// first from that one (all of them, in map order, for a client outside
// every zone). Inside a cluster, consistent hashing of the key orders the
// edges, so each object is asked of the same edge and cached once per
// cluster. Edges that failed their last health check are never chosen;
// edges whose load is maxLoad or more (when maxLoad > 0) come only after
// every edge that is not overloaded. An edge never checked counts as
// healthy.
//
// The clusters' rings are built on the first call for m and kept in it:
// change a Map's Nodes in place once it is in use and Route goes on with
// the old ones (replace the Nodes slice, or make a new Map, instead).
func Route(m *Map, states map[string]NodeState, client netip.Addr, key string, maxLoad int64, n int) []Node {
	home := ""
	if z, ok := m.ZoneFor(client); ok {
		home = z.Cluster
	}
	var good, busy []Node
	rings := m.rings()
	for _, c := range m.clusterOrder(home) {
		cr := rings[c.Name]
		if cr == nil {
			continue
		}
		for _, name := range cr.ring.GetN(key, len(cr.byName)) {
			st, checked := states[name]
			if checked && !st.Healthy {
				continue
			}
			if maxLoad > 0 && checked && st.Load >= maxLoad {
				busy = append(busy, cr.byName[name])
				continue
			}
			good = append(good, cr.byName[name])
		}
	}
	out := append(good, busy...)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// routeRings are a Map's clusters' consistent-hashing rings, built once.
type routeRings struct {
	nodes    []Node                  // the Nodes slice they were built from
	clusters map[string]*clusterRing // cluster name → its ring
}

type clusterRing struct {
	ring   *Ring
	byName map[string]Node
}

// rings returns m's clusters' rings, building them on the first call and
// again when m.Nodes has been replaced by another slice.
func (m *Map) rings() map[string]*clusterRing {
	if r := m.ringCache.Load(); r != nil && sameSlice(r.nodes, m.Nodes) {
		return r.clusters
	}
	r := &routeRings{nodes: m.Nodes, clusters: map[string]*clusterRing{}}
	names := map[string][]string{}
	for _, node := range m.Nodes {
		cr := r.clusters[node.Cluster]
		if cr == nil {
			cr = &clusterRing{byName: map[string]Node{}}
			r.clusters[node.Cluster] = cr
		}
		cr.byName[node.Name] = node
		names[node.Cluster] = append(names[node.Cluster], node.Name)
	}
	for c, cr := range r.clusters {
		cr.ring = NewRing(routeReplicas, names[c]...)
	}
	m.ringCache.Store(r)
	return r.clusters
}

// routeReplicas is the virtual nodes per edge of a cluster's ring.
const routeReplicas = 64

func sameSlice(a, b []Node) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
