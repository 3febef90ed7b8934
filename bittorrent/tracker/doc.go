// Package tracker implements BitTorrent trackers and their clients: the
// HTTP tracker protocol of BEP 3 (with compact peer lists, BEP 23, IPv6
// peers, BEP 7, and scrape, BEP 48) and the UDP tracker protocol of BEP 15.
//
// In the slides, a tracker is the one server of a P2P system: it does not
// hold the file, only the list of peers in the torrent. When Alice joins,
// she registers with the tracker and gets a list of peers to connect to,
// her neighbours; while she stays, she announces again every Interval so
// the tracker knows she is still there; when she leaves, she says so.
//
//	C: GET /announce?info_hash=…&peer_id=…&port=6881&left=1000&event=started
//	S: interval=30m0s complete=1 incomplete=1 peers=[127.0.0.2:6881]
//	… every interval …
//	C: GET /announce?…&left=0&event=completed
//	C: GET /announce?…&event=stopped
//
// Over UDP (BEP 15) the same exchange costs one datagram each way, after a
// connect exchange that proves the client really is at its address:
//
//	C: connect transaction=5a1f03c2
//	S: connect connection_id=8c0e4d2f9b7a6e51
//	C: announce info_hash=c12fe1c0… port=6881 left=1000 event=started
//	S: announce interval=30m0s complete=1 incomplete=1 peers=[127.0.0.2:6881]
//
// The types that play each part:
//
//   - [AnnounceRequest] and [AnnounceResponse]: what a peer says and what
//     the tracker answers; [Event] is why it announces (started,
//     completed, stopped, or a regular announce); [Peer] is one entry of
//     the peer list.
//   - [Client] announces to a tracker named by URL, http:// or udp://
//     ([Client.AnnounceTiers] walks a torrent's announce-list, BEP 12);
//     [UDPClient] speaks BEP 15 over one socket: a connect exchange first,
//     whose connection ID proves the client's address, then announces and
//     scrapes, each retried on the 15·2ⁿ-second schedule of
//     [RetryTimeout], bounded by a retry count and the context.
//   - [Server] is the tracker: an http.Handler for /announce and /scrape,
//     which [Server.Serve] runs on appnet's HTTP/1.1 server
//     ([appnet.dev/sockets/web]), and [Server.ServePacket] for UDP, with
//     the net/http shape (Serve, ListenAndServe, Shutdown, Close) and
//     appnet's lifecycle on both sides. Its connection IDs are keyed
//     hashes of the client's address and the minute, so they expire and
//     cannot be forged, with no state kept per client.
//   - [Backend] is the tracker's memory. Its calls take the request's
//     context, which ends when the peer's connection does, when a UDP
//     reply would come too late, or when the server closes, so a Backend
//     over a database never holds Close. [Registry] keeps the memory in
//     memory: the peers of each torrent, forgetting those silent for
//     longer than PeerTimeout (time is passed in), handing out at most
//     numwant peers chosen at random, never a peer to itself and never
//     seeds to a seed.
//
// A tracker serves strangers, so every input is bounded: query strings,
// datagrams, reply bodies, peer counts, swarms.
package tracker
