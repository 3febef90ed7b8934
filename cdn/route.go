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
func Route(m *Map, states map[string]NodeState, client netip.Addr, key string, maxLoad int64, n int) []Node {
	home := ""
	if z, ok := m.ZoneFor(client); ok {
		home = z.Cluster
	}
	var good, busy []Node
	for _, c := range m.clusterOrder(home) {
		byName := map[string]Node{}
		var names []string
		for _, node := range m.Nodes {
			if node.Cluster == c.Name {
				byName[node.Name] = node
				names = append(names, node.Name)
			}
		}
		if len(names) == 0 {
			continue
		}
		for _, name := range NewRing(64, names...).GetN(key, len(names)) {
			st, checked := states[name]
			if checked && !st.Healthy {
				continue
			}
			if maxLoad > 0 && checked && st.Load >= maxLoad {
				busy = append(busy, byName[name])
				continue
			}
			good = append(good, byName[name])
		}
	}
	out := append(good, busy...)
	if len(out) > n {
		out = out[:n]
	}
	return out
}
