package imap

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Mailbox names travel in modified UTF-7 (RFC 3501 §5.1.3): printable
// ASCII stands for itself ("&" as "&-"), and anything else is UTF-16 in a
// variant of base64 (with "," for "/") between "&" and "-". "Entwürfe"
// becomes "Entw&APw-rfe".

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// ErrBadMailboxName is returned by DecodeMailboxName for invalid modified
// UTF-7.
var ErrBadMailboxName = errors.New("imap: invalid modified UTF-7 mailbox name")

// EncodeMailboxName encodes a UTF-8 mailbox name in modified UTF-7.
func EncodeMailboxName(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		raw := make([]byte, 2*len(u))
		for i, c := range u {
			raw[2*i], raw[2*i+1] = byte(c>>8), byte(c)
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(r)
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return b.String()
}

// DecodeMailboxName decodes a modified UTF-7 mailbox name into UTF-8.
func DecodeMailboxName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrBadMailboxName
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], '-')
		if end < 0 {
			return "", ErrBadMailboxName
		}
		enc := s[i+1 : i+end]
		i += end
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 {
			return "", ErrBadMailboxName
		}
		u := make([]uint16, len(raw)/2)
		for j := range u {
			u[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		for _, r := range utf16.Decode(u) {
			if r == utf8.RuneError || r >= 0x20 && r <= 0x7e {
				return "", ErrBadMailboxName // printable ASCII must not be encoded
			}
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func validMUTF7(s string) bool {
	_, err := DecodeMailboxName(s)
	return err == nil
}
