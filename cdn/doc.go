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
// sites instead, and directs each subscriber to a nearby copy.
//
// # The parts
//
//   - Origin is the content provider's own server (netcinema.com's): the
//     one place every copy comes from. It gives each object validators
//     (ETag, Last-Modified) and a Cache-Control lifetime.
//   - Edge is a CDN node (one of KingCDN's servers): a caching reverse
//     proxy and an http.Handler. A fresh copy is a HIT; a stale one is
//     revalidated with a conditional GET (REVALIDATED when the origin
//     answers 304), or served STALE while it is refreshed in the
//     background; a MISS is fetched once however many clients want it at
//     the same moment. Its Cache holds a bounded number of bytes and asks
//     a Policy (LRU, LFU, GDSF) what to give up when full.
//   - Ring spreads the objects over the edges of one cluster by consistent
//     hashing, so an edge that leaves moves only its own share of them.
//   - Map, read from a coverage-zone file, says which cluster serves which
//     client networks and where the clusters are; Router answers each
//     client with the best healthy, not overloaded edge, by HTTP redirect
//     (Redirector) or as KingCDN's authoritative DNS server.
//   - Monitor checks the edges' health and load, so a failed edge stops
//     being chosen within one DNS TTL; Failover lets a client "choose a
//     different copy if the network path is congested".
//   - Simulate runs a request trace through two topologies, many small
//     clusters deep in access networks ("enter deep", like Akamai) or a few
//     large ones at exchange points ("bring home", like Limelight), and
//     reports latency, hit ratio and origin and backbone traffic.
//
// # Bob and netcinema.com
//
// Bob requests the video http://netcinema.com/6Y7B23V. netcinema.com's web
// page links to video.netcinema.com, whose name netcinema.com's DNS
// delegates to KingCDN with a CNAME; KingCDN's authoritative DNS server
// answers with the address of an edge near Bob's resolver, and Bob's DASH
// player fetches the manifest and the segments from that edge. When the
// edge fails in mid-stream the player goes on from another copy. The
// program examples/cdn/netcinema plays the whole scene on loopback.
package cdn
