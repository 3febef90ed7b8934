package cdn

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// A Router answers "which edge should this client use for this object?"
// from a Map and the states its Monitor found. It is the request-routing
// brain that both the HTTP Redirector and KingCDN's DNS server ask.
type Router struct {
	Map     *Map
	Monitor *Monitor // nil: every edge counts as healthy
	// MaxLoad is the load from which an edge counts as overloaded; 0 means
	// no limit.
	MaxLoad int64
}

// Choose returns up to n edges for client and key, best first (see Route).
func (r *Router) Choose(client netip.Addr, key string, n int) []Node {
	var states map[string]NodeState
	if r.Monitor != nil {
		states = r.Monitor.States()
	}
	return Route(r.Map, states, client, key, r.MaxLoad, n)
}

// A Redirector is HTTP-based request routing: it answers every request
// with a 302 to the same path on the edge its Router chooses for the
// client's address, the content's path being the key.
type Redirector struct {
	Router *Router
	// MaxAge is how long a client may reuse a redirect (Cache-Control);
	// zero means never.
	MaxAge int
	Trace  io.Writer

	mu sync.Mutex
}

func (d *Redirector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	client, _ := netip.ParseAddr(host)
	if !safePath(r.URL.Path) {
		http.Error(w, "cdn: bad request path", http.StatusBadRequest)
		return
	}
	nodes := d.Router.Choose(client, r.URL.Path, 1)
	if len(nodes) == 0 {
		http.Error(w, "cdn: no edge available", http.StatusServiceUnavailable)
		return
	}
	loc := "http://" + nodes[0].Addr.String() + r.URL.RequestURI()
	if d.MaxAge > 0 {
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", d.MaxAge))
	} else {
		w.Header().Set("Cache-Control", "no-store")
	}
	if d.Trace != nil {
		d.mu.Lock()
		fmt.Fprintf(d.Trace, "router: %s %s from %s -> %s (%s)\n", r.Method, r.URL.Path, client, nodes[0].Name, loc)
		d.mu.Unlock()
	}
	http.Redirect(w, r, loc, http.StatusFound)
}
