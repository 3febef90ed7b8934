// Package netcinema plays the lecture's CDN case study on loopback: Bob
// requests the video http://netcinema.com/6Y7B23V, which is stored in
// KingCDN's network.
//
//  1. Bob gets the URL of the video from netcinema.com's web page: the page
//     links to http://video.netcinema.com/6Y7B23V/manifest.mpd.
//  2. Bob's host asks its local DNS server (a resolver.Resolver, package
//     appnet.dev/dns/resolver) to resolve video.netcinema.com.
//  3. The local DNS server walks down from the root: the root refers it
//     to the .com server, which refers it to netcinema.com's authoritative
//     DNS, which answers with a CNAME into KingCDN:
//     netc6y-b23v.kingcdn.com.
//  4. The local DNS server follows the CNAME (back to the .com server,
//     then to KingCDN's authoritative DNS, a cdn.DNSRouter), which answers
//     with the addresses of the edges nearest the local DNS server, best
//     first: KingCDN places Bob by his ISP's resolver, the slide's simple
//     case (a resolver may send Bob's subnet as EDNS Client Subnet instead;
//     appnet's does when given a resolver.SubnetPolicy, off by default).
//  5. Bob's DASH player (dash.Player) streams the video from that edge (a
//     cdn.Edge), which fetches each chunk once from netcinema.com's origin.
//  6. The edge fails in mid-stream (or, with Congest, the path to it is
//     congested); Bob's client (cdn.Failover) goes on from the other copy
//     the DNS answer named — "may choose different copy if network path
//     congested" — and KingCDN's health monitor takes a failed edge out of
//     its answers.
//
// Every host has an address of its own in 127.0.0.0/8 (127.0.0.11 is the
// Boston edge bos1, 127.0.0.5 KingCDN's DNS server, and so on); each
// listens on a port the system picks, and a dialer maps the addresses the
// protocols carry to those listeners, so the scene runs without root and
// on systems where only 127.0.0.1 exists.
package netcinema

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"appnet.dev/cdn"
	"appnet.dev/dash"
	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
	"appnet.dev/sockets"
	"appnet.dev/sockets/web"
	"golang.org/x/net/html"
)

// The scene's hosts, at the addresses the protocols carry.
const (
	WebAddr       = "127.0.0.2:80"   // www.netcinema.com
	NetcinemaDNS  = "127.0.0.3:53"   // netcinema.com's authoritative DNS
	OriginAddr    = "127.0.0.4:80"   // origin.netcinema.com, where KingCDN fetches from
	KingCDNDNS    = "127.0.0.5:53"   // KingCDN's authoritative DNS (request routing)
	LocalDNS      = "127.0.0.53:53"  // Bob's local DNS server, in his ISP in Boston
	RootDNS       = "127.0.0.100:53" // a.root-servers.net
	ComDNS        = "127.0.0.101:53" // a.gtld-servers.net, the .com TLD server
	VideoPath     = "/6Y7B23V/manifest.mpd"
	KingCDNName   = "netc6y-b23v.kingcdn.com."
	netcinemaZone = `$TTL 3600
@      IN SOA ns hostmaster 2026112501 3600 600 86400 60
@      IN NS  ns
ns     IN A   127.0.0.3
www    IN A   127.0.0.2
origin IN A   127.0.0.4
video  IN CNAME ` + KingCDNName + "\n"
	// The top of the hierarchy: the root delegates com. to the TLD server,
	// which delegates netcinema.com and kingcdn.com to their servers.
	rootZone = `$TTL 86400
@                  IN SOA a.root-servers.net. nstld.verisign-grs.com. 2026112501 1800 900 604800 86400
@                  IN NS  a.root-servers.net.
a.root-servers.net IN A   127.0.0.100
com                IN NS  a.gtld-servers.net.
a.gtld-servers.net IN A   127.0.0.101
`
	comZone = `$TTL 172800
@            IN SOA a.gtld-servers.net. nstld.verisign-grs.com. 2026112501 1800 900 604800 86400
@            IN NS  a.gtld-servers.net.
netcinema    IN NS  ns.netcinema.com.
ns.netcinema IN A   127.0.0.3
kingcdn      IN NS  ns.kingcdn.com.
ns.kingcdn   IN A   127.0.0.5
`
)

// bobSubnet is Bob's access network, in Boston. His local DNS server does
// not reveal it here; one with a resolver.SubnetPolicy would send it as
// EDNS Client Subnet.
var bobSubnet = netip.MustParsePrefix("10.1.2.0/24")

// kingcdnMap is KingCDN's map: a cluster deep in Bob's ISP in Boston, one
// in New York, and which client networks each covers.
const kingcdnMap = `cluster boston  42.36 -71.06
cluster newyork 40.71 -74.01
edge bos1.kingcdn.com boston  127.0.0.11:80
edge bos2.kingcdn.com boston  127.0.0.12:80
edge nyc1.kingcdn.com newyork 127.0.0.21:80
zone 10.1.0.0/16 boston
zone 10.2.0.0/16 newyork
zone 127.0.0.48/28 boston  # Bob's ISP's servers, his local DNS server among them
`

// A Scene is the whole case study, ready to Run.
type Scene struct {
	// Video is the trailer's length (6 s if zero).
	Video time.Duration
	// Content, if set, is the trailer already encoded (and Video is not
	// used).
	Content *dash.Encoded
	// FailAfter is how many chunks Bob plays before the edge serving him
	// fails (3 if zero; negative: it never fails).
	FailAfter int
	// Congest makes the path to that edge congested instead: the edge
	// stays up but crawls, and Bob's client gives up on it after
	// AttemptTimeout.
	Congest bool
	// AttemptTimeout is how long Bob's client waits for one copy
	// (1 s if zero).
	AttemptTimeout time.Duration
	// Trace gets every step as it happens; nil discards them.
	Trace io.Writer
}

// Result is what happened.
type Result struct {
	Page      string         // the web page Bob fetched
	VideoURL  string         // the link he found in it
	Chain     []string       // the DNS answers, CNAME then A records
	Failed    string         // the edge that failed, if one did
	Congested string         // the edge whose path was congested, if one was
	Served    map[string]int // edge name → chunks and manifests it served Bob
	Report    *dash.Report   // the player's report
	After     []string       // KingCDN's DNS answer for Bob once the failure was noticed
}

// network maps the scene's addresses to real listeners.
type network struct {
	mu        sync.Mutex
	real      map[string]string // "127.0.0.11:80" → "127.0.0.11:41234"
	congested map[string]bool   // paths to these addresses crawl
}

// congestedRate is the bandwidth of a congested path, bytes per second: a
// chunk would take over a minute.
const congestedRate = 2000

func (n *network) congest(addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.congested == nil {
		n.congested = map[string]bool{}
	}
	n.congested[addr] = true
}

// listen opens a TCP listener for addr: on addr's own IP if the system
// allows, else on 127.0.0.1; with a port the system picks.
func (n *network) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", hostOf(addr)+":0")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, err
	}
	n.set(addr, ln.Addr().String())
	return ln, nil
}

// listenDNS opens UDP and TCP for a name server at addr.
func (n *network) listenDNS(addr string) (net.PacketConn, net.Listener, error) {
	pc, ln, err := dns.Listen(hostOf(addr) + ":0")
	if err != nil {
		pc, ln, err = dns.Listen("127.0.0.1:0")
	}
	if err != nil {
		return nil, nil, err
	}
	n.set(addr, pc.LocalAddr().String())
	return pc, ln, nil
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

func (n *network) set(addr, real string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.real == nil {
		n.real = map[string]string{}
	}
	n.real[addr] = real
}

// dial connects to the listener standing for addr.
func (n *network) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return n.dialWith(ctx, &net.Dialer{}, network, addr)
}

// dialFrom returns a dial function whose connections leave from the
// address from when the system has it (any 127.0.0.0/8 address on Linux),
// so the servers asked see who asks; else from the default address.
func (n *network) dialFrom(from netip.Addr) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		if strings.HasPrefix(network, "udp") {
			d.LocalAddr = &net.UDPAddr{IP: from.AsSlice()}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
		}
		c, err := n.dialWith(ctx, d, network, addr)
		if err != nil && ctx.Err() == nil {
			c, err = n.dial(ctx, network, addr)
		}
		return c, err
	}
}

func (n *network) dialWith(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	n.mu.Lock()
	real, ok := n.real[addr]
	slow := n.congested[addr]
	n.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("netcinema: no host at %s", addr)
	}
	c, err := d.DialContext(ctx, network, real)
	if err != nil || !slow {
		return c, err
	}
	return sockets.Throttle(c, sockets.Link{Rate: congestedRate}), nil
}

// stepWriter prints the scene's lines one at a time.
type stepWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *stepWriter) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format+"\n", args...)
}

func (s *stepWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// Run plays the scene and shuts every server down before it returns.
func (s *Scene) Run(ctx context.Context) (*Result, error) {
	out := &stepWriter{w: io.Discard}
	if s.Trace != nil {
		out.w = s.Trace
	}
	length := s.Video
	if length <= 0 {
		length = 6 * time.Second
	}
	failAfter := s.FailAfter
	if failAfter == 0 {
		failAfter = 3
	}
	nw := &network{}
	var stops []func()
	defer func() {
		for _, stop := range slices.Backward(stops) {
			stop()
		}
	}()
	// Every web server of the scene runs on appnet's HTTP/1.1 server;
	// Close stops one at once, cutting its connections: an edge failing.
	serveHTTP := func(addr string, h http.Handler) (*web.Server, error) {
		ln, err := nw.listen(addr)
		if err != nil {
			return nil, err
		}
		srv := &web.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.Serve(ln)
		}()
		stops = append(stops, func() {
			srv.Close()
			<-done
		})
		return srv, nil
	}
	serveDNS := func(addr string, h dns.Handler) error {
		pc, ln, err := nw.listenDNS(addr)
		if err != nil {
			return err
		}
		srv := &dns.Server{Handler: h}
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ServeBoth(pc, ln)
		}()
		stops = append(stops, func() {
			srv.Close()
			<-done
		})
		return nil
	}

	// netcinema.com: the video, its origin, its web page, its DNS.
	enc := s.Content
	if enc == nil {
		var err error
		if enc, err = dash.DemoContent(length).Encode(); err != nil {
			return nil, err
		}
	}
	files := dash.MemFS{}
	for name, b := range enc.Files {
		files["6Y7B23V/"+name] = b
	}
	origin := &cdn.Origin{Content: files, CacheControl: func(string) string { return "public, max-age=60" }}
	if _, err := serveHTTP(OriginAddr, origin); err != nil {
		return nil, err
	}
	page := `<html><head><title>netcinema.com</title></head><body>
<h1>MadMen</h1>
<p><a href="/about">About us</a></p>
<p><a href="http://video.netcinema.com` + VideoPath + `">Watch the trailer</a></p>
</body></html>
`
	if _, err := serveHTTP(WebAddr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})); err != nil {
		return nil, err
	}
	for _, z := range []struct{ origin, text, addr string }{
		{".", rootZone, RootDNS}, {"com", comZone, ComDNS}, {"netcinema.com", netcinemaZone, NetcinemaDNS},
	} {
		zone, err := dns.ReadZone(dns.ZoneFile{Origin: dns.MustParseName(z.origin)}, strings.NewReader(z.text))
		if err != nil {
			return nil, err
		}
		zones, err := dns.NewZones(zone)
		if err != nil {
			return nil, err
		}
		if err := serveDNS(z.addr, zones); err != nil {
			return nil, err
		}
	}

	// KingCDN: its edges, its health monitor, its DNS.
	m, err := cdn.ParseMap(strings.NewReader(kingcdnMap))
	if err != nil {
		return nil, err
	}
	originURL := &url.URL{Scheme: "http", Host: OriginAddr}
	edgeTransport := &http.Transport{DialContext: nw.dial, DisableCompression: true}
	defer edgeTransport.CloseIdleConnections()
	servers := map[string]*web.Server{}
	var servedMu sync.Mutex
	served := map[string]int{}
	for _, n := range m.Nodes {
		e := &cdn.Edge{Origin: originURL, Transport: edgeTransport, Name: n.Name,
			Cache: cdn.NewCache(16<<20, cdn.NewLRU())}
		stops = append(stops, func() { e.Close() })
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/6Y7B23V/") {
				servedMu.Lock()
				served[n.Name]++
				servedMu.Unlock()
			}
			e.ServeHTTP(w, r)
		})
		srv, err := serveHTTP(n.Addr.String(), h)
		if err != nil {
			return nil, err
		}
		servers[n.Name] = srv
	}
	probeClient := &http.Client{Transport: &http.Transport{DialContext: nw.dial}}
	defer probeClient.CloseIdleConnections()
	mon := &cdn.Monitor{Nodes: m.Nodes, Interval: time.Second, Timeout: 5 * time.Second, Trace: out,
		Probe: cdn.HTTPProbe(probeClient, cdn.DefaultHealthPath)}
	mctx, mcancel := context.WithCancel(ctx)
	mdone := make(chan struct{})
	go func() {
		defer close(mdone)
		mon.Run(mctx)
	}()
	stops = append(stops, func() {
		mcancel()
		<-mdone
	})
	router := &cdn.DNSRouter{Router: &cdn.Router{Map: m, Monitor: mon}, Zone: dns.MustParseName("kingcdn.com"),
		NS: dns.MustParseName("ns.kingcdn.com"), TTL: 20, Answers: 2, Trace: out}
	if err := serveDNS(KingCDNDNS, router); err != nil {
		return nil, err
	}

	// Bob's local DNS server: a recursive resolver in his ISP, asking from
	// its own address, by which KingCDN places Bob.
	dnsClient := &dns.Client{Dial: nw.dial, Timeout: time.Second}
	local := &resolver.Resolver{
		Roots: []resolver.NameServer{{Host: dns.MustParseName("a.root-servers.net"), Addr: netip.MustParseAddrPort(RootDNS).Addr()}},
		Dial:  nw.dialFrom(netip.MustParseAddrPort(LocalDNS).Addr()),
		Cache: &resolver.Cache{}, Timeout: time.Second,
		Name: "local DNS", Trace: out,
	}
	if err := serveDNS(LocalDNS, local); err != nil {
		return nil, err
	}

	out.printf("netcinema.com: web page at www (%s), video origin (%s), DNS (%s)", hostOf(WebAddr), hostOf(OriginAddr), hostOf(NetcinemaDNS))
	out.printf("KingCDN: DNS (%s); edges bos1 (127.0.0.11), bos2 (127.0.0.12) in Boston, nyc1 (127.0.0.21) in New York", hostOf(KingCDNDNS))
	out.printf("DNS: root (%s), .com TLD (%s)", hostOf(RootDNS), hostOf(ComDNS))
	out.printf("Bob: in %s (Boston), local DNS server %s", bobSubnet, hostOf(LocalDNS))
	out.printf("")

	// Bob's client: every host name through his local DNS server.
	lookup := func(ctx context.Context, host string) ([]dns.RR, []string, error) {
		name, err := dns.ParseName(host)
		if err != nil {
			return nil, nil, err
		}
		reply, err := dnsClient.Exchange(ctx, LocalDNS, dns.NewQuery(name, dns.TypeA))
		if err != nil {
			return nil, nil, err
		}
		if reply.RCode != dns.RCodeSuccess {
			return nil, nil, reply.RCode
		}
		var addrs []string
		for _, rr := range reply.Answers {
			if a, ok := rr.Data.(*dns.A); ok {
				addrs = append(addrs, net.JoinHostPort(a.Addr.String(), "80"))
			}
		}
		return reply.Answers, addrs, nil
	}
	bobTransport := &http.Transport{DialContext: nw.dial, DisableCompression: true}
	defer bobTransport.CloseIdleConnections()
	attempt := s.AttemptTimeout
	if attempt <= 0 {
		attempt = time.Second
	}
	failover := &cdn.Failover{
		Transport: bobTransport, AttemptTimeout: attempt, Trace: out,
		Copies: func(ctx context.Context, req *http.Request) ([]string, error) {
			_, addrs, err := lookup(ctx, req.URL.Hostname())
			return addrs, err
		},
	}
	bob := &http.Client{Transport: failover, Timeout: 30 * time.Second}
	res := &Result{Served: served}

	// 1. The page and its link.
	out.printf("Bob: GET http://www.netcinema.com/")
	resp, err := bob.Get("http://www.netcinema.com/")
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Page = string(b)
	links := Links(strings.NewReader(res.Page))
	for _, l := range links {
		if u, err := url.Parse(l); err == nil && u.Host == "video.netcinema.com" {
			res.VideoURL = l
			break
		}
	}
	out.printf("Bob: the page links to %s", strings.Join(links, ", "))
	if res.VideoURL == "" {
		return nil, errors.New("netcinema: no video link on the page")
	}
	out.printf("Bob: the video is %s", res.VideoURL)

	// 2–4. Resolving the video's host: CNAME into KingCDN, then an edge.
	out.printf("Bob: resolve video.netcinema.com")
	answers, addrs, err := lookup(ctx, "video.netcinema.com")
	if err != nil {
		return nil, err
	}
	for _, rr := range answers {
		res.Chain = append(res.Chain, rr.String())
	}
	if len(addrs) == 0 {
		return nil, errors.New("netcinema: video.netcinema.com has no address")
	}
	first := ""
	for _, n := range m.Nodes {
		if n.Addr.String() == addrs[0] {
			first = n.Name
		}
	}
	out.printf("Bob: video.netcinema.com is %s at %s (another copy: %s)", KingCDNName, addrs[0], strings.Join(addrs[1:], ", "))
	out.printf("")

	// 5–6. Streaming, and the edge failing in mid-stream.
	chunks := 0
	player := &dash.Player{Client: bob, Decode: true, Trace: writerFunc(func(p []byte) (int, error) {
		out.printf("player: %s", strings.TrimRight(string(p), "\n"))
		chunks++
		if chunks == failAfter && first != "" {
			if s.Congest {
				out.printf("*** the path to edge %s (%s) is congested ***", first, hostOf(addrs[0]))
				nw.congest(addrs[0])
				bobTransport.CloseIdleConnections()
				res.Congested = first
			} else {
				out.printf("*** edge %s (%s) fails ***", first, hostOf(addrs[0]))
				servers[first].Close()
				res.Failed = first
			}
		}
		return len(p), nil
	})}
	report, err := player.Play(ctx, res.VideoURL)
	if err != nil {
		return nil, err
	}
	res.Report = report
	out.printf("")
	if res.Failed != "" {
		// KingCDN's next health check finds the failed edge; from then on
		// its DNS hands out only the others.
		mon.Check(ctx)
		q := dns.NewQuery(dns.MustParseName(KingCDNName), dns.TypeA)
		q.EDNS = &dns.EDNS{UDPSize: 1232, Options: []dns.Option{dns.ClientSubnet{Source: bobSubnet}.Option()}}
		if reply, err := dnsClient.Exchange(ctx, KingCDNDNS, q); err == nil {
			var as []string
			for _, rr := range reply.Answers {
				as = append(as, rr.Data.String())
			}
			res.After = as
			out.printf("KingCDN's DNS now answers %s for %s: %s", KingCDNName, bobSubnet, strings.Join(as, ", "))
		}
	}
	var names []string
	for name, k := range served {
		names = append(names, fmt.Sprintf("%s %d", name, k))
	}
	slices.Sort(names)
	out.printf("Bob played %d chunks, %d frames decoded, %d stalls; requests served by edge: %s",
		len(report.Chunks), report.Frames, report.Summary.Rebuffers, strings.Join(names, ", "))
	out.printf("origin.netcinema.com answered %d requests", origin.Requests())
	return res, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Links returns the targets of the a and video elements of an HTML page,
// in order.
func Links(r io.Reader) []string {
	var out []string
	z := html.NewTokenizer(io.LimitReader(r, 1<<20))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if (tag != "a" && tag != "video" && tag != "source") || !hasAttr {
				continue
			}
			for {
				k, v, more := z.TagAttr()
				if k := string(k); (tag == "a" && k == "href") || (tag != "a" && k == "src") {
					out = append(out, string(v))
				}
				if !more {
					break
				}
			}
		}
	}
}
