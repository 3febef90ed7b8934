package cdn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
)

// Limits of a map file, checked before anything is kept.
const (
	MaxMapLine    = 512     // bytes in one line
	MaxMapEntries = 1 << 16 // clusters, edges and zones together
)

// ErrMap is the error every map-file problem wraps.
var ErrMap = errors.New("cdn: bad map file")

// A Cluster is a CDN site: a group of edges in one place.
type Cluster struct {
	Name     string
	Lat, Lon float64 // where it is, in degrees, for "fallback by distance"
}

// A Node is one edge server of a cluster, as routing sees it.
type Node struct {
	Name    string
	Cluster string
	Addr    netip.AddrPort // where it serves HTTP; DNS answers carry its address
}

// A Zone is a coverage zone: the client networks a cluster serves first.
type Zone struct {
	Prefix  netip.Prefix
	Cluster string
}

// A Map is what a CDN's request routing knows: its clusters and where they
// are, their edges, and which client networks each cluster covers. It is
// read from a text file of one entry per line, # starting a comment:
//
//	cluster east   40.7  -74.0           # name, latitude, longitude
//	edge    e1     east  127.0.0.2:8080  # name, cluster, address
//	zone    10.1.0.0/16  east            # client prefix, cluster
//
// Names are unique among clusters and among edges; edges and zones name
// clusters defined in the file.
type Map struct {
	Clusters []Cluster
	Nodes    []Node
	Zones    []Zone

	ringCache atomic.Pointer[routeRings] // Route's rings, built once
}

// ParseMap reads a map file.
func ParseMap(r io.Reader) (*Map, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, MaxMapLine), MaxMapLine)
	m := &Map{}
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(m.Clusters)+len(m.Nodes)+len(m.Zones) >= MaxMapEntries {
			return nil, fmt.Errorf("%w: line %d: more than %d entries", ErrMap, n, MaxMapEntries)
		}
		bad := func(why string, args ...any) error {
			return fmt.Errorf("%w: line %d: %s", ErrMap, n, fmt.Sprintf(why, args...))
		}
		switch f[0] {
		case "cluster":
			if len(f) != 4 {
				return nil, bad("want: cluster NAME LAT LON")
			}
			lat, err1 := strconv.ParseFloat(f[2], 64)
			lon, err2 := strconv.ParseFloat(f[3], 64)
			if err1 != nil || err2 != nil || !(math.Abs(lat) <= 90) || !(math.Abs(lon) <= 180) {
				return nil, bad("bad position %s %s", f[2], f[3])
			}
			m.Clusters = append(m.Clusters, Cluster{f[1], lat, lon})
		case "edge":
			if len(f) != 4 {
				return nil, bad("want: edge NAME CLUSTER ADDR:PORT")
			}
			ap, err := netip.ParseAddrPort(f[3])
			if err != nil {
				return nil, bad("bad address %q", f[3])
			}
			m.Nodes = append(m.Nodes, Node{f[1], f[2], ap})
		case "zone":
			if len(f) != 3 {
				return nil, bad("want: zone PREFIX CLUSTER")
			}
			p, err := netip.ParsePrefix(f[1])
			if err != nil {
				return nil, bad("bad prefix %q", f[1])
			}
			m.Zones = append(m.Zones, Zone{p.Masked(), f[2]})
		default:
			return nil, bad("unknown entry %q", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrMap, MaxMapLine)
		}
		return nil, fmt.Errorf("cdn: reading map: %w", err)
	}
	return m, m.Check()
}

// Check reports the first inconsistency in m: duplicate names, or edges
// and zones naming unknown clusters.
func (m *Map) Check() error {
	clusters := map[string]bool{}
	for _, c := range m.Clusters {
		if !validName(c.Name) || clusters[c.Name] {
			return fmt.Errorf("%w: cluster %q: bad or duplicate name", ErrMap, c.Name)
		}
		clusters[c.Name] = true
	}
	nodes := map[string]bool{}
	for _, n := range m.Nodes {
		if !validName(n.Name) || nodes[n.Name] {
			return fmt.Errorf("%w: edge %q: bad or duplicate name", ErrMap, n.Name)
		}
		nodes[n.Name] = true
		if !clusters[n.Cluster] {
			return fmt.Errorf("%w: edge %s: unknown cluster %q", ErrMap, n.Name, n.Cluster)
		}
		if !n.Addr.IsValid() {
			return fmt.Errorf("%w: edge %s: no address", ErrMap, n.Name)
		}
	}
	for _, z := range m.Zones {
		if !clusters[z.Cluster] {
			return fmt.Errorf("%w: zone %s: unknown cluster %q", ErrMap, z.Prefix, z.Cluster)
		}
	}
	return nil
}

func validName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "# \t\r\n")
}

// WriteTo writes m in the map-file format; ParseMap reads it back.
func (m *Map) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, c := range m.Clusters {
		fmt.Fprintf(&b, "cluster %s %s %s\n", c.Name,
			strconv.FormatFloat(c.Lat, 'g', -1, 64), strconv.FormatFloat(c.Lon, 'g', -1, 64))
	}
	for _, n := range m.Nodes {
		fmt.Fprintf(&b, "edge %s %s %s\n", n.Name, n.Cluster, n.Addr)
	}
	for _, z := range m.Zones {
		fmt.Fprintf(&b, "zone %s %s\n", z.Prefix, z.Cluster)
	}
	k, err := io.WriteString(w, b.String())
	return int64(k), err
}

// ZoneFor returns the coverage zone of a client address: the longest
// prefix that contains it.
func (m *Map) ZoneFor(client netip.Addr) (Zone, bool) {
	client = client.Unmap()
	best, found := Zone{}, false
	for _, z := range m.Zones {
		if z.Prefix.Contains(client) && (!found || z.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = z, true
		}
	}
	return best, found
}

// Scope returns the prefix length of client's network over which every
// address falls in the same zone as client (or in none, like client): an
// answer chosen for client holds for all of it, so it is the scope a DNS
// answer may give with EDNS Client Subnet, and resolvers may cache the
// answer for that whole network (RFC 7871 §7.2.1). It is the length of
// client's zone, made longer where a more specific zone lies inside that
// zone: just long enough to leave it out (Bob's ISP, 10.1.0.0/16, has a
// corner served from elsewhere, 10.1.99.0/24, so an answer for 10.1.2.0
// holds for 10.1.0.0/18, not for the whole /16).
func (m *Map) Scope(client netip.Addr) int {
	client = client.Unmap()
	zoneBits := 0
	if z, ok := m.ZoneFor(client); ok {
		zoneBits = z.Prefix.Bits()
	}
	within := netip.PrefixFrom(client, zoneBits).Masked()
	scope := zoneBits
	for _, z := range m.Zones {
		p := z.Prefix.Masked()
		if p.Addr().Is4() != client.Is4() || p.Bits() <= zoneBits || !within.Overlaps(p) {
			continue
		}
		// client is outside p (else p would be its zone): its network
		// must stop at the first bit where they differ.
		scope = max(scope, commonBits(client, p.Addr())+1)
	}
	return scope
}

// commonBits returns how many leading bits a and b, of one family, share.
func commonBits(a, b netip.Addr) int {
	x, y := a.AsSlice(), b.AsSlice()
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			return i*8 + bits.LeadingZeros8(d)
		}
	}
	return len(x) * 8
}

func (m *Map) cluster(name string) (Cluster, bool) {
	for _, c := range m.Clusters {
		if c.Name == name {
			return c, true
		}
	}
	return Cluster{}, false
}

// Distance is the great-circle distance between two clusters in
// kilometres.
func Distance(a, b Cluster) float64 {
	const earth = 6371.0
	rad := math.Pi / 180
	dlat := (b.Lat - a.Lat) * rad
	dlon := (b.Lon - a.Lon) * rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * earth * math.Asin(math.Sqrt(min(1, h)))
}

// clusterOrder lists the clusters nearest first from home; with no home,
// in the map's order.
func (m *Map) clusterOrder(home string) []Cluster {
	out := slices.Clone(m.Clusters)
	h, ok := m.cluster(home)
	if !ok {
		return out
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		if a.Name == home || b.Name == home {
			if a.Name == home && b.Name != home {
				return -1
			}
			if b.Name == home && a.Name != home {
				return 1
			}
			return 0
		}
		da, db := Distance(h, a), Distance(h, b)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
