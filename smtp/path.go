package smtp

import (
	"fmt"
	"strings"

	"appnet.dev/smtp/message"
)

// RFC 5321 §4.5.3.1 size limits.
const (
	MaxLocalPart   = 64
	MaxDomain      = 255
	MaxPath        = 256
	MaxCommandLine = 512
	MaxTextLine    = 1000
	MaxRecipients  = 100
)

// A Path is an envelope address, the argument of MAIL FROM and RCPT TO
// (RFC 5321 §4.1.2): a mailbox local@domain. The zero Path is the null
// reverse-path "<>" that bounces are sent from, so they are never bounced
// in turn.
type Path struct {
	Local  string
	Domain string
}

// IsNull reports whether p is the null path <>.
func (p Path) IsNull() bool { return p.Local == "" && p.Domain == "" }

// String returns "local@domain", the local part quoted if it is not a
// Dot-string; "postmaster" for RCPT TO:<Postmaster> (RFC 5321 §4.1.1.3,
// the one path without a domain); "" for the null path.
func (p Path) String() string {
	if p.IsNull() {
		return ""
	}
	return message.Address{Local: p.Local, Domain: p.Domain}.Addr()
}

// appendTo appends what String returns to b, without an allocation for
// the usual local@domain with a dot-atom local part.
func (p Path) appendTo(b []byte) []byte {
	if p.Domain == "" || !message.IsDotAtom(p.Local) {
		return append(b, p.String()...)
	}
	b = append(b, p.Local...)
	b = append(b, '@')
	return append(b, p.Domain...)
}

// Bracketed returns the path as a command writes it: "<bob@hamburger.edu>".
func (p Path) Bracketed() string { return "<" + p.String() + ">" }

// ParsePath parses a mailbox "local@domain" (no angle brackets) with the
// limits of RFC 5321 §4.5.3.1: local part 64 octets, domain 255. SMTPUTF8
// addresses (octets ≥ 0x80, RFC 6531) are accepted when utf8 is true.
func ParsePath(s string, utf8 bool) (Path, error) {
	if len(s) > MaxPath {
		return Path{}, fmt.Errorf("smtp: path longer than %d octets", MaxPath)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Path{}, fmt.Errorf("smtp: path %q: want local@domain", s)
	}
	local, domain := s[:at], s[at+1:]
	if strings.HasPrefix(local, `"`) {
		u, ok := unquote(local)
		if !ok {
			return Path{}, fmt.Errorf("smtp: path %q: bad quoted local part", s)
		}
		local = u
	} else if !message.IsDotAtom(local) {
		return Path{}, fmt.Errorf("smtp: path %q: bad local part", s)
	}
	if len(local) > MaxLocalPart {
		return Path{}, fmt.Errorf("smtp: local part longer than %d octets", MaxLocalPart)
	}
	if len(domain) > MaxDomain {
		return Path{}, fmt.Errorf("smtp: domain longer than %d octets", MaxDomain)
	}
	if !validDomain(domain) {
		return Path{}, fmt.Errorf("smtp: path %q: bad domain", s)
	}
	if !utf8 {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return Path{}, fmt.Errorf("smtp: path %q: non-ASCII address without SMTPUTF8", s)
			}
		}
	}
	return Path{Local: local, Domain: domain}, nil
}

// unquote decodes an RFC 5321 Quoted-string.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if c < ' ' || c == 0x7f {
			return "", false
		}
		if c == '"' {
			return "", false
		}
		if c == '\\' {
			i++
			if i >= len(s)-1 {
				return "", false
			}
			c = s[i]
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// validDomain accepts a dotted domain name of letters, digits, hyphens and
// (for SMTPUTF8) UTF-8, or an address literal [192.0.2.1] / [IPv6:...].
func validDomain(d string) bool {
	if d == "" {
		return false
	}
	if d[0] == '[' {
		if d[len(d)-1] != ']' || len(d) < 3 {
			return false
		}
		for i := 1; i < len(d)-1; i++ {
			c := d[i]
			if c <= ' ' || c > '~' || c == '[' || c == ']' || c == '\\' {
				return false
			}
		}
		return true
	}
	for rest := d; ; {
		label, more, found := strings.Cut(rest, ".")
		rest = more
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c >= 0x80) {
				return false
			}
		}
		if !found {
			return true
		}
	}
}
