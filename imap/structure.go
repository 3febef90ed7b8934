package imap

import (
	"sort"
	"strconv"
	"strings"

	"appnet.dev/smtp/message"
)

// This file turns smtp/message's part tree into the two descriptions IMAP
// clients ask for instead of downloading a message: ENVELOPE (who wrote to
// whom, when, about what; RFC 3501 §7.4.2) and BODYSTRUCTURE (the MIME tree
// with types, sizes and line counts).

// AppendEnvelope appends the ENVELOPE of a message with header h.
// Strings are given as they stand in the header, display names included
// (Address.RawName): RFC 2047 encoded words are not decoded; the client
// does that.
func AppendEnvelope(b []byte, h *message.Header) []byte {
	b = append(b, '(')
	b = appendNString(b, h.Get("Date"))
	b = append(b, ' ')
	b = appendNString(b, h.Get("Subject"))
	from := h.Get("From")
	for _, key := range []string{"From", "Sender", "Reply-To", "To", "Cc", "Bcc"} {
		b = append(b, ' ')
		v := h.Get(key)
		if (key == "Sender" || key == "Reply-To") && strings.TrimSpace(v) == "" {
			v = from
		}
		b = appendAddressList(b, v)
	}
	b = append(b, ' ')
	b = appendNString(b, h.Get("In-Reply-To"))
	b = append(b, ' ')
	b = appendNString(b, h.Get("Message-ID"))
	return append(b, ')')
}

func appendAddressList(b []byte, v string) []byte {
	if strings.TrimSpace(v) == "" {
		return append(b, "NIL"...)
	}
	list, err := message.ParseAddressList(v)
	if err != nil || len(list) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	group := ""
	for _, a := range list {
		if a.Group != group {
			if group != "" {
				b = append(b, "(NIL NIL NIL NIL)"...)
			}
			if a.Group != "" {
				b = append(b, "(NIL NIL "...)
				b = appendString(b, a.RawGroup)
				b = append(b, " NIL)"...)
			}
			group = a.Group
		}
		if a.Local == "" && a.Domain == "" {
			continue // an empty group
		}
		b = append(b, '(')
		b = appendNString(b, a.RawName)
		b = append(b, " NIL "...)
		b = appendNString(b, a.Local)
		b = append(b, ' ')
		b = appendNString(b, a.Domain)
		b = append(b, ')')
	}
	if group != "" {
		b = append(b, "(NIL NIL NIL NIL)"...)
	}
	return append(b, ')')
}

// AppendBodyStructure appends the BODYSTRUCTURE of part p (extended is
// true) or its BODY (the same without extension data).
func AppendBodyStructure(b []byte, p *message.Part, extended bool) []byte {
	return appendStructure(b, p, extended, 0)
}

func appendStructure(b []byte, p *message.Part, ext bool, depth int) []byte {
	b = append(b, '(')
	if p.IsMultipart() && len(p.Parts) > 0 && depth < maxDepth {
		for _, c := range p.Parts {
			b = appendStructure(b, c, ext, depth+1)
		}
		b = append(b, ' ')
		b = appendString(b, p.RawSubtype)
		if ext {
			b = append(b, ' ')
			b = appendParams(b, p.ParamList, false)
			b = appendExtension(b, p)
		}
		return append(b, ')')
	}
	typ, wtyp, wsub := p.Type, p.RawType, p.RawSubtype
	if typ == "multipart" {
		// A multipart without parts is described as a leaf.
		typ, wtyp, wsub = "text", "text", "plain"
	}
	b = appendString(b, wtyp)
	b = append(b, ' ')
	b = appendString(b, wsub)
	b = append(b, ' ')
	// A text part without a charset is US-ASCII (RFC 2045 §5.2); Dovecot
	// says so explicitly, and so do we.
	b = appendParams(b, p.ParamList, typ == "text")
	b = append(b, ' ')
	b = appendNString(b, p.ID)
	b = append(b, ' ')
	b = appendNString(b, p.Header.Get("Content-Description"))
	b = append(b, ' ')
	enc := p.Encoding
	if enc == "" {
		enc = "7bit"
	}
	b = appendString(b, enc)
	b = append(b, ' ')
	b = strconv.AppendInt(b, p.BodySize, 10)
	switch {
	case p.Message != nil && depth < maxDepth:
		b = append(b, ' ')
		b = AppendEnvelope(b, &p.Message.Header)
		b = append(b, ' ')
		b = appendStructure(b, p.Message, ext, depth+1)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.Lines, 10)
	case typ == "text":
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.Lines, 10)
	}
	if ext {
		b = append(b, ' ')
		b = appendNString(b, p.MD5)
		b = appendExtension(b, p)
	}
	return append(b, ')')
}

// appendExtension appends disposition, language and location.
func appendExtension(b []byte, p *message.Part) []byte {
	b = append(b, ' ')
	if p.Disposition == "" {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '(')
		b = appendString(b, p.RawDisposition)
		b = append(b, ' ')
		b = appendParams(b, p.DispositionParamList, false)
		b = append(b, ')')
	}
	b = append(b, ' ')
	switch len(p.Language) {
	case 0:
		b = append(b, "NIL"...)
	case 1:
		b = appendString(b, p.Language[0])
	default:
		b = append(b, '(')
		for i, l := range p.Language {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendString(b, l)
		}
		b = append(b, ')')
	}
	b = append(b, ' ')
	return appendNString(b, p.Location)
}

// appendParams appends a parameter list as written (RFC 3501 §7.4.2:
// "body parameter parenthesized list"), or NIL; with defaultCharset, a
// charset us-ascii goes last if no charset is written. RFC 2231
// parameters are arranged by joinContinuations.
func appendParams(b []byte, params []message.Param, defaultCharset bool) []byte {
	params = joinContinuations(params)
	charset := false
	for _, p := range params {
		if strings.EqualFold(p.Name, "charset") {
			charset = true
		}
	}
	addCharset := defaultCharset && !charset
	if len(params) == 0 && !addCharset {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, p := range params {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, p.Name)
		b = append(b, ' ')
		b = appendString(b, p.Value)
	}
	if addCharset {
		if len(params) > 0 {
			b = append(b, ' ')
		}
		b = append(b, `"charset" "us-ascii"`...)
	}
	return append(b, ')')
}

// joinContinuations arranges parameters the way Dovecot reports them:
// the plain ones first, in order; then the RFC 2231 ones (with a star in
// the name) sorted by name, the pieces of a continuation (title*0,
// title*1*, …) joined in index order into one parameter, still encoded.
// The joined name has a star if its first piece is extended ("name*",
// "UTF-8”cr%C3%AApe%20suzette.txt"); then plain pieces after it are
// %-escaped so the value stays one extended value (RFC 2231 §4.1).
func joinContinuations(params []message.Param) []message.Param {
	type piece struct {
		base string
		n    int
		ext  bool
		val  string
	}
	var out []message.Param
	var pieces []piece
	for _, p := range params {
		base, rest, star := strings.Cut(p.Name, "*")
		if !star {
			out = append(out, p)
			continue
		}
		ext := rest == "" || strings.HasSuffix(rest, "*")
		n := 0
		if idx := strings.TrimSuffix(rest, "*"); idx != "" {
			var err error
			if n, err = strconv.Atoi(idx); err != nil || n < 0 || strings.Contains(idx, "*") {
				out = append(out, p) // not RFC 2231 after all
				continue
			}
		}
		pieces = append(pieces, piece{base, n, ext, p.Value})
	}
	if len(pieces) == 0 {
		return params
	}
	sort.SliceStable(pieces, func(i, j int) bool {
		bi, bj := strings.ToLower(pieces[i].base), strings.ToLower(pieces[j].base)
		if bi != bj {
			return bi < bj
		}
		return pieces[i].n < pieces[j].n
	})
	for i := 0; i < len(pieces); {
		first := pieces[i]
		var v strings.Builder
		j := i
		for ; j < len(pieces) && strings.EqualFold(pieces[j].base, first.base); j++ {
			if first.ext && !pieces[j].ext {
				v.WriteString(percentEscape(pieces[j].val))
			} else {
				v.WriteString(pieces[j].val)
			}
		}
		name := first.base
		if first.ext {
			name += "*"
		}
		out = append(out, message.Param{Name: name, Value: v.String()})
		i = j
	}
	return out
}

// percentEscape writes s as RFC 2231 attribute-chars and %XX escapes.
func percentEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && !strings.ContainsRune(`*'%()<>@,;:\"/[]?=`, rune(c)) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
