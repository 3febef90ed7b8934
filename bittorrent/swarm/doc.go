// Package swarm simulates peer-to-peer file distribution in virtual time
// and measures it against the slides' lower bounds: the time a server
// needs to give a file of F bytes to N clients (client-server) versus the
// time a BitTorrent swarm needs (BEP 3), running the real piece picker and
// choker of package [appnet.dev/bittorrent].
//
// # The slides' question
//
// "How much time to distribute a file (size F) from one server to N
// peers?" With client-server the server must upload N copies and the
// slowest client must download one:
//
//	D_c-s ≥ max{ NF/u_s, F/d_min }          (ClientServerBound)
//
// With P2P the server uploads at least one copy, the slowest peer
// downloads one, and together the peers must receive NF bits, no faster
// than the total upload capacity u_s + Σu_i:
//
//	D_P2P ≥ max{ F/u_s, F/d_min, NF/(u_s + Σu_i) }   (P2PBound)
//
// The first grows linearly in N; the second too, but so does the capacity,
// "as each peer brings service capacity": self-scalability. [Figure]
// reproduces the slides' example (F/u = 1 hour, u_s = 10u, d_min ≥ u_s,
// N = 0…35) with the bounds and simulated times side by side, and
// [WriteSVG] and [WriteCSV] draw and export it.
//
// # The simulator
//
// [Run] plays one distribution described by a [Config]: a seed (the
// server, peer 0) with upload rate u_s, N peers with upload u_i and
// download d_i, the file cut in pieces of 256 KiB. Peers arrive (all at
// once, or spread out by [Churn]), ask the tracker for neighbours, swap
// pieces, and stay as seeds or leave; free riders upload nothing. The
// [Result] holds the distribution time, each peer's completion time, the
// bound and the efficiency (bound / simulated time), samples of the swarm
// over time, and on request every choking round.
//
// Time is virtual and the run is deterministic for a Config.Seed: a
// discrete-event simulation whose events are piece completions, choking
// rounds, arrivals and departures.
//
// Bandwidth is shared as a fluid, not packet by packet: between two events
// every transfer moves at a constant rate, so an hour of swarm costs a few
// events per piece instead of a packet per 1460 bytes. A peer divides its
// upload rate equally among the transfers it is serving (the TCP
// connections of its unchoked neighbours); a peer offered more than its
// download rate in all gets each incoming transfer scaled down in
// proportion. The share an uploader cannot deliver to a saturated
// downloader is not handed to its other transfers, so when downloads are
// the bottleneck the simulated time is slightly pessimistic.
//
// Peers ask the tracker for Config.Neighbours random peers when they
// arrive and open a few more connections at each round while they leech,
// up to twice that many; two seeds hang up on each other, as real clients
// do, which leaves room for leechers. A flash crowd (no
// Churn.Interarrival) arrives at one instant: every peer is on the
// tracker's list before the first of them asks for neighbours, so each
// meets a random sample of the crowd. Handled one after the other instead,
// the first arrivals would fill their peer sets with the next ones, and the
// overlay would become a chain ordered by arrival time, six hops deep from
// the seed at N = 1000; peers that do arrive one by one
// (Churn.Interarrival) can build such a chain.
//
// A transfer carries one piece: BitTorrent asks for 16 KiB blocks, but
// keeps enough of them queued to each peer that a piece flows as one
// stream. A piece that is choked half way keeps the bytes that arrived
// (the blocks received), and is finished later from anyone. In endgame
// several neighbours send the same piece at once, and their rates add up,
// as their different blocks would.
//
// # Policies
//
// Each peer asks a [Picker] which piece to request from a neighbour and a
// [Choker] whom to upload to, every 10 s (the slides' "re-evaluate top 4
// every 10 secs") and whenever a neighbour's interest changes. By default
// these are the bittorrent package's: [bittorrent.Picker] (random first
// pieces, strict priority, rarest first, endgame) and the choker presets
// "bep3", "mainline" and "slides" of [bittorrent.ChokerPreset]. For the
// experiments the package adds the strawmen the slides argue against:
// [InOrder] and [RandomPiece] piece selection, and [Unchoked] (no choking).
//
// # Experiments
//
// [CompareSelection] runs rarest first against random and in-order piece
// selection and reports the peer availability in steady state (how often
// a leecher finds something it needs at a neighbouring leecher) and the
// copies of the rarest piece. [CompareChoking] runs the chokers with free
// riders and reports reciprocation (Spearman's correlation of bytes given
// and received per neighbour), the share of uploads that free riders get,
// and the seed's fairness (Jain's index of its service time per leecher).
// [CompareChurn] compares a flash crowd that stays with peers that come
// and go ([ParseChurn] reads a schedule such as "arrive=20s,selfish").
//
// # What the simulation shows
//
// Client-server distribution meets its bound exactly. A swarm comes close
// to the P2P bound, but not all the way: at the start only the seed has
// pieces and a peer can pass a piece on only once it has all of it (a
// piece takes 8 s through one of four upload slots on a 1 Mbit/s link),
// so upload capacity idles while the first pieces spread; and at the end
// the last leechers can use only part of the capacity of the peers around
// them. The larger the crowd, the longer the start: with 256 pieces on the
// broadband links of BenchmarkRun (u = 1 Mbit/s, u_s = d = 10u) the
// efficiency is about 0.98 for N = 10, 0.95 for N = 100 and 0.92 for
// N = 1000.
//
// Where the thousand lose their time, in seconds of the whole swarm's
// upload capacity (the bound is 531 s): about 40 in the first three
// minutes, and 5 at the end. It takes 50 s until every peer holds a piece,
// since a peer with nothing to give is served only by optimistic unchokes
// once its neighbours trade with each other; then for a while many peers
// hold only pieces every neighbour already has or has requested from
// someone else. The overlay matters most: in a chain of peers ordered by
// arrival (see above; the same thousand arriving a millisecond apart) the
// start takes twice as long, and the efficiency falls to about 0.81. Three changes that sound helpful are not: letting
// a peer ask a second neighbour for the blocks of a piece already in flight
// (which real clients' block requests allow) spreads common pieces faster
// and rare ones slower, and lowers the efficiency; interest only in pieces
// not yet requested from anyone (as BitTorrent 3.x signals it) moves the
// idle capacity from unchoked neighbours with nothing to ask to peers that
// nobody wants; and super-seeding by the initial seed (BEP 16) gains a
// little at N = 1000 but starves a swarm of ten, whose seed waits to see
// each piece passed on.
package swarm
