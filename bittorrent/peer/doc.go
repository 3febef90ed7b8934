// Package peer implements the BitTorrent peer wire protocol of BEP 3: the
// handshake, the messages peers exchange over TCP, and a connection that
// reads and writes them.
//
// Two peers that learned of each other from the tracker open a TCP
// connection and each sends a [Handshake]: the protocol string, reserved
// extension bits, the torrent's info hash and its peer ID. Then messages
// flow both ways, each a 4-byte length and a type ([Type]): the sender's
// [Bitfield] of pieces once, [Have] for every piece it completes later,
// [Interested] and [NotInterested] to say whether it wants the other's
// pieces, [Choke] and [Unchoke] to refuse or grant uploads (tit-for-tat,
// decided by appnet.dev/bittorrent's Choker), [Request] for a 16 KiB block,
// [Piece] carrying it, [Cancel] to take a request back, and an empty
// keep-alive every two minutes of silence.
//
// A trace of the start of a download, as [Config.Trace] prints it:
//
//	alice: handshake BitTorrent protocol reserved 0000000000000000 info_hash … peer_id "-AN0001-…"
//	bob: handshake BitTorrent protocol reserved 0000000000100005 info_hash … peer_id "-AR1360-…"
//	bob: bitfield 128 bytes
//	alice: interested
//	bob: unchoke
//	alice: request 417 0 16384
//	bob: piece 417 0 (16384 bytes)
//
// [AppendMessage] and [ParseMessage] are the wire codec; [ReadMessage]
// bounds the length prefix before it allocates. [Conn] runs a connection:
// a read loop that hands messages to a handler, and a write loop with a
// queue, deadlines and keep-alives.
//
// Two extensions matter to real clients. BEP 10's extension handshake
// ([ExtensionHandshake], message type [Extended]) carries reqq, how many
// requests a peer may keep queued with us: libtorrent assumes 500 without
// it, too few to keep a fast link busy. And libtorrent first connects with
// message stream encryption (MSE), a Diffie-Hellman handshake with RC4;
// with [Config.Encrypted] set, AcceptHandshake answers it and selects
// plaintext for the rest, instead of making the peer wait a second and
// try again in the clear.
package peer
