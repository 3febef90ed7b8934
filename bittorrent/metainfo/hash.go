package metainfo

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// A Hash is a SHA-1 digest: a torrent's info hash, or one piece's hash.
type Hash [20]byte

// String returns the hash in lowercase hexadecimal, as trackers' web pages
// and magnet links show it.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (unset).
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash reads a hash written in hexadecimal (40 digits, either case) or
// in base32 (32 characters, the older magnet-link form).
func ParseHash(s string) (Hash, error) {
	var h Hash
	switch len(s) {
	case 40:
		if _, err := hex.Decode(h[:], []byte(s)); err != nil {
			return Hash{}, fmt.Errorf("metainfo: hash %q: %w", s, err)
		}
	case 32:
		b, err := base32.StdEncoding.DecodeString(strings.ToUpper(s))
		if err != nil {
			return Hash{}, fmt.Errorf("metainfo: hash %q: %w", s, err)
		}
		copy(h[:], b)
	default:
		return Hash{}, fmt.Errorf("metainfo: hash %q: want 40 hex digits or 32 base32 characters", s)
	}
	return h, nil
}
