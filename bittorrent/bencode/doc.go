// Package bencode implements bencoding, the serialisation format of
// BitTorrent's .torrent files and tracker replies (BEP 3).
//
// Bencoding has four kinds of value, each self-delimiting so a reader never
// needs a length in advance:
//
//	integer      i42e  i-7e  i0e           (no leading zeros, no "-0")
//	byte string  4:spam                    (length in decimal, a colon, the bytes)
//	list         l4:spami42ee              (values, then "e")
//	dictionary   d3:cow3:moo4:spam4:eggse  (string keys in sorted order, then "e")
//
// Because a dictionary's keys must be sorted and a number has exactly one
// spelling, every value has exactly one encoding. That is what lets a
// torrent's identity, the info hash, be the SHA-1 of the bytes of its info
// dictionary: anyone who encodes the same dictionary gets the same bytes.
// This package therefore decodes strictly. It rejects the encodings that
// would break that promise (i03e, i-0e, 03:abc, unsorted or repeated keys)
// and data left over after the value, with a [*SyntaxError] that gives the
// offset.
//
// [Marshal] and [Unmarshal] work like encoding/json's: struct fields are
// matched by a `bencode:"name,omitempty"` tag (or the field's own name),
// maps with string keys become dictionaries, slices become lists, and
// []byte, string and [N]byte are byte strings. [RawMessage] keeps a value's
// bytes exactly as they were received; package metainfo uses it to hash the
// info dictionary without ever encoding it again. A [Decoder] reads values
// one after another from a buffer and reports where each one starts and
// ends.
//
// Input is never trusted: a length is checked against the bytes that remain
// before anything is allocated, and nesting deeper than [Decoder.MaxDepth]
// (default [DefaultMaxDepth]) is an error rather than a stack overflow.
//
// For hand-written encoders on a hot path (a tracker building its replies),
// [AppendInt], [AppendString] and friends append encodings to a buffer
// without reflection.
package bencode
