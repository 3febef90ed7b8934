// Package cdn implements a content distribution network as the lecture
// draws it: an origin, caching edge servers (HTTP caching, RFC 9111, with
// RFC 5861's stale-while-revalidate and stale-if-error), consistent hashing
// inside a cluster, request routing by DNS and by HTTP redirect, health
// checks, and a topology simulator for "enter deep" versus "bring home".
//
// # The challenge
//
// How to stream content, selected from millions of videos, to hundreds of
// thousands of simultaneous users? One large "mega-server" is a single
// point of failure and of congestion, a long path to distant clients, and
// sends many copies of one video over its outgoing link: it does not scale.
// A CDN stores copies of the content at many geographically distributed
// sites instead (Netflix stores copies of MadMen at its CDN nodes), and
// directs each subscriber to a nearby copy; the subscriber may choose a
// different copy if the network path is congested.
//
// # The parts
//
//   - Origin is the content provider's own server (netcinema.com's): the
//     one place every copy comes from. It gives each object validators
//     (ETag, Last-Modified) and a Cache-Control lifetime.
//   - Edge is a CDN node (one of KingCDN's servers): a caching reverse
//     proxy and an http.Handler that tells what it did in X-Cache and
//     Cache-Status (RFC 9211). A fresh copy is a HIT; a stale one is
//     revalidated with a conditional GET (REVALIDATED when the origin
//     answers 304), or served STALE while it is refreshed in the
//     background; a MISS is fetched once however many clients want it at
//     the same moment. Its Cache holds a bounded number of bytes and asks
//     a Policy (LRU, LFU, ARC, GDSF) what to give up when full.
//   - Ring spreads the objects over the edges of one cluster by consistent
//     hashing, so an edge that leaves moves only its own share of them.
//   - Map, read from a coverage-zone file, says which cluster serves which
//     client networks and where the clusters are; Router answers each
//     client with the best healthy, not overloaded edge, by HTTP redirect
//     (Redirector) or as KingCDN's authoritative DNS server (DNSRouter,
//     which places the client by its resolver's address, or by the EDNS
//     Client Subnet the resolver sends, RFC 7871, dns.ClientSubnet, and
//     answers with short TTLs). Route builds each cluster's ring once per
//     Map.
//   - Monitor checks the edges' health and load (the X-Load of each edge's
//     health path), so a failed or overloaded edge stops being chosen
//     within one DNS TTL; Failover, an http.RoundTripper, lets a client
//     "choose a different copy if the network path is congested": it moves
//     on to the next copy when one fails or is slow.
//   - Simulate runs a request trace through two topologies, many small
//     clusters deep in access networks ("enter deep", like Akamai) or a few
//     large ones at exchange points ("bring home", like Limelight), and
//     reports latency, hit ratio and origin and backbone traffic.
//
// An edge's dialogue, as ExampleEdge prints it in virtual time:
//
//	20:00:00  GET /6Y7B23V/manifest.mpd  200 MISS  Age: 0
//	20:00:30  GET /6Y7B23V/manifest.mpd  200 HIT  Age: 30
//	20:01:10  GET /6Y7B23V/manifest.mpd  200 REVALIDATED  Age: 0
//
// # Policies are pure
//
// Freshness (FreshnessLifetime, Timing.Age, Decide, StaleIfError,
// Storable), eviction (LRU, LFU, ARC, GDSF, and Belady's offline optimum for
// comparison), placement (Ring) and routing (Route) are functions of values
// and a time passed in, graded by table tests; the Edge, the Monitor and
// the servers are thin goroutines around them.
//
// # Bob and netcinema.com
//
// Bob requests the video http://netcinema.com/6Y7B23V. netcinema.com's web
// page links to video.netcinema.com, whose name netcinema.com's DNS
// delegates to KingCDN with a CNAME. Bob's local DNS server (a
// resolver.Resolver of package appnet.dev/dns/resolver) walks down from the
// root to netcinema.com's server, follows the CNAME to KingCDN's
// authoritative DNS server, which answers with the address of an edge near
// that resolver — or near Bob himself, when the resolver sends his subnet
// as EDNS Client Subnet (resolver.SubnetPolicy; off by default, as it
// reveals where Bob is): KingCDN's answer then says with its scope for how
// large a network it holds (Map.Scope), and resolvers cache it for that
// network only — and caches both for their TTLs; Bob's DASH
// player fetches the manifest and the segments from that edge. When the
// edge fails in mid-stream the player goes on from another copy. Package
// appnet.dev/cdn/netcinema plays the whole scene on loopback, and so do the
// program examples/cdn/netcinema and the tour's cdn chapter.
//
// # Enter deep or bring home?
//
// Simulate puts numbers on the slide's trade-off (TestEnterDeepVersusBringHome):
// with the same storage, 20 small clusters inside the access networks serve
// the median request in about 18 ms against 45 ms from 2 large clusters at
// exchange points, and send no edge-to-client bytes across the backbone, but
// they hit less often (60% against 90%) and fetch four times as much from
// the origin.
//
// # How fast
//
// Measured on a shared 2-core machine, loaded by other work, 26 November
// 2026:
//
//   - A HIT costs the edge about 1 µs and 4 allocations of 112 bytes
//     beyond net/http's own work (go test -bench EdgeHit -benchmem; it was
//     13 allocations, 232 bytes, before the fixed header values were made
//     once per edge and each object's Content-Length once per object).
//   - Cached 1 KiB objects under wrk (-t2 -c32, 3 s, median of three
//     rounds, go test -bench WrkEdgeVsNginx -benchtime 1x), November
//     2026, on appnet's own HTTP server (package appnet.dev/sockets/web):
//     the edge 89,900 requests/s, nginx's proxy_cache 90,000, a bare
//     handler writing the same 1 KiB 102,600. On net/http the edge had
//     been at 0.67 of nginx, most of the gap net/http's own.
//   - Route: 1.3 µs and 7 allocations a decision on the test map
//     (BenchmarkRoute), against 29 µs and 18 when it built the rings on
//     every call.
package cdn
