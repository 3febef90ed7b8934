// Package bittorrent implements the BitTorrent protocol for peer-to-peer
// file distribution (BEP 3): the piece picker and the choker as pure
// policies, piece storage with SHA-1 verification, and a Torrent client that
// seeds and downloads with real clients such as aria2 and libtorrent.
//
// # The slides' story
//
// A file is divided into pieces (256 KiB is typical; see [Layout]); peers in
// a torrent send and receive pieces. A tracker (package
// appnet.dev/bittorrent/tracker) tracks the peers participating in the
// torrent. A peer joining the torrent has no pieces yet: it registers with
// the tracker, gets a list of peers and connects to a subset of them, its
// neighbours. While downloading it uploads pieces to other peers; peers come
// and go (churn); once it has the entire file it may leave, or stay and
// seed.
//
// Requesting pieces. At any given time different peers hold different
// subsets of the pieces; every neighbour tells which it has (a bitfield,
// then a have message per new piece; see [Bitfield] and package
// appnet.dev/bittorrent/peer). Alice requests the pieces she is missing,
// rarest first: [Picker] chooses blocks of 16 KiB — a few random pieces
// first, then strict priority for pieces already started, then the pieces
// fewest neighbours hold, and in the endgame the last blocks from
// everyone. [QueueDepth] keeps enough requests in flight for a fast link.
//
// Sending pieces: tit-for-tat. Alice sends pieces to the four peers
// currently sending her pieces at the highest rate; the others are choked
// (they get nothing from her). She re-evaluates the top four every 10 s,
// and every 30 s she picks another peer at random and starts sending to it:
// she "optimistically unchokes" it, and it may join the top four. [Choker]
// is that policy, with the presets [ChokerSlides], [ChokerBEP3] and
// [ChokerMainline]:
//
//  1. Alice optimistically unchokes Bob;
//  2. Alice becomes one of Bob's top-four providers; Bob reciprocates;
//  3. Bob becomes one of Alice's top-four providers.
//
// Both policies are pure functions: the inputs, the time and a seeded
// random source go in, the decision comes out. They run for every request
// and every round of every peer (the swarm simulator calls the picker half
// a million times for a thousand peers), so they allocate nothing but
// their answer: [Picker.AppendPick] fills a caller's buffer. The client applies them to
// real connections, and the swarm simulator (appnet.dev/bittorrent/swarm)
// to virtual peers in virtual time.
//
// # The client
//
// [Torrent] is a peer: [Open] verifies what is already on disk (a seed
// proves it has every piece; a download resumes), [Torrent.Start] accepts
// peers and announces to the tracker through an [Announcer] ([Trackers]
// uses the tracker package), and [Torrent.Close] stops every goroutine it
// started. Each connection (package peer) runs a read loop that hands
// messages to the torrent, and a write loop. [Storage] maps pieces onto
// the files of the torrent and checks every piece's SHA-1 before it is
// written: a bad piece is thrown away and its senders are counted, and a
// peer that sends [Config.MaxHashFails] of them is banned. [Torrent.Stats]
// reports rates, peers, pieces and availability; [Config.OnEvent] tells
// of choking rounds, piece choices and finished downloads, as the tour
// prints them (go run ./examples/tour -chapter bittorrent).
//
// Peers come and go (churn): when one leaves, its requests go back to the
// pool and its unchoke slot is given to someone else at once. Bad peers are
// handled without harm to the download: a giant length prefix or a request
// beyond a piece ends the connection, a silent peer's requests time out and
// go elsewhere, and a connection silent for three minutes is closed.
package bittorrent
