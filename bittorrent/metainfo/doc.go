// Package metainfo reads and writes .torrent files, the metainfo of BEP 3,
// and magnet links (BEP 9).
//
// In the slides, a file to be shared is cut into chunks of 256 KB, and the
// peers exchanging those chunks form a torrent, found through a tracker. A
// .torrent file is what a peer needs before it joins: the tracker's URL
// (announce, or tiers of them in announce-list, BEP 12) and an info
// dictionary naming the file or files, the chunk size ("piece length") and
// the SHA-1 hash of every piece, so each chunk received from an untrusted
// peer can be checked.
//
//	MetaInfo                 the whole file: trackers, comment, dates …
//	  Info                   the info dictionary: Name, PieceLength, Pieces
//	    Length               one file, or
//	    Files []File         several, each a Length and a Path under Name
//	  InfoBytes              the info dictionary's bytes, exactly as read
//	  InfoHash()             SHA-1 of InfoBytes: the torrent's identity
//
// The info hash names the torrent everywhere: in tracker announces, in the
// peer handshake, in magnet links. It is computed from the info dictionary's
// bytes as they appear in the file, never from a dictionary encoded again
// from Go values: a key this package does not know (a "source" tag, a
// creator's extension) would otherwise be dropped and the hash would name a
// different torrent. [Parse] keeps those bytes in [MetaInfo.InfoBytes].
//
// [Create] builds a torrent from a file or a directory, hashing pieces on
// every core while one goroutine reads; [HashPieces] is that engine on any
// io.Reader. [ParseMagnet] and [Magnet.String] read and write magnet links.
//
// A torrent comes from strangers, so [Parse] checks it: file paths may not
// be absolute, contain "..", "." or empty parts, or separators; lengths are
// non-negative and their sum bounded; the piece hashes match the total
// length.
package metainfo
