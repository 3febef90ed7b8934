package imap

import (
	"maps"
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
// Strings are given as they stand in the header (RFC 2047 encoded words
// are not decoded; the client does that), display names excepted: the
// message package hands them over decoded, so they are encoded again.
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
				b = appendString(b, a.Group)
				b = append(b, " NIL)"...)
			}
			group = a.Group
		}
		if a.Local == "" && a.Domain == "" {
			continue // an empty group
		}
		b = append(b, '(')
		name := rawName(v, a.Name)
		b = appendNString(b, name)
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

// rawName finds the display name as written in the field v, given the
// decoded name: ENVELOPE carries names undecoded. smtp/message decodes
// RFC 2047 words in names, so runs of encoded words in the raw field are
// decoded in turn until one gives the name back.
func rawName(v, name string) string {
	if name == "" || !strings.Contains(v, "=?") {
		return name
	}
	fields := strings.Fields(v)
	for i := range fields {
		if !strings.Contains(fields[i], "=?") {
			continue
		}
		for j := i + 1; j <= len(fields) && j <= i+40; j++ {
			run := strings.Trim(strings.Join(fields[i:j], " "), `"<,;`)
			if d, err := message.DecodeWords(run); err == nil && d == name {
				return run
			}
		}
	}
	return message.EncodeWord(name)
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
		_, wsub := asWritten(p.Header.Get("Content-Type"), p.Type, p.Subtype)
		b = appendString(b, wsub)
		if ext {
			b = append(b, ' ')
			b = appendParams(b, p.Params, p.Header.Get("Content-Type"))
			b = appendExtension(b, p)
		}
		return append(b, ')')
	}
	typ, sub := p.Type, p.Subtype
	if typ == "multipart" {
		// A multipart without parts is described as a leaf.
		typ, sub = "text", "plain"
	}
	ctype := p.Header.Get("Content-Type")
	wtyp, wsub := asWritten(ctype, typ, sub)
	b = appendString(b, wtyp)
	b = append(b, ' ')
	b = appendString(b, wsub)
	b = append(b, ' ')
	params := p.Params
	if typ == "text" && params["charset"] == "" {
		// A text part without a charset is US-ASCII (RFC 2045 §5.2);
		// Dovecot says so explicitly, and so do we.
		params = maps.Clone(params)
		if params == nil {
			params = map[string]string{}
		}
		params["charset"] = "us-ascii"
	}
	b = appendParams(b, params, ctype)
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
		b = appendString(b, p.Disposition)
		b = append(b, ' ')
		b = appendParams(b, p.DispositionParams, p.Header.Get("Content-Disposition"))
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

// appendParams appends a parameter list in the order and the case the
// parameters have in raw, the header field they came from, or NIL.
//
// smtp/message hands parameters over as a map with lowercased names and
// RFC 2231 values decoded; IMAP servers (Dovecot among them) report them
// as written. So the order and the names' case are recovered from where
// each name first appears in the field, and an RFC 2231 parameter
// ("name*=UTF-8”...") is reported with its raw name and value. Names not
// found (such as a charset added by default) go last, in name order.
func appendParams(b []byte, params map[string]string, raw string) []byte {
	if len(params) == 0 {
		return append(b, "NIL"...)
	}
	type param struct {
		pos       int
		name, val string
	}
	lower := strings.ToLower(raw)
	find := func(k string) param {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], k)
			if i < 0 {
				break
			}
			i += from
			end := i + len(k)
			before := i == 0 || lower[i-1] == ';' || lower[i-1] == ' ' || lower[i-1] == '\t' || lower[i-1] == '\n'
			if before && end < len(lower) && (lower[end] == '=' || lower[end] == ' ') {
				return param{i, raw[i:end], params[k]}
			}
			if before && end+1 < len(lower) && lower[end] == '*' && lower[end+1] == '=' {
				v := raw[end+2:]
				if j := strings.IndexByte(v, ';'); j >= 0 {
					v = v[:j]
				}
				return param{i, raw[i : end+1], strings.TrimSpace(v)}
			}
			from = i + 1
		}
		return param{len(lower) + 1, k, params[k]}
	}
	list := make([]param, 0, len(params))
	for k := range params {
		list = append(list, find(k))
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].pos != list[j].pos {
			return list[i].pos < list[j].pos
		}
		return list[i].name < list[j].name
	})
	b = append(b, '(')
	for i, p := range list {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendString(b, p.name)
		b = append(b, ' ')
		b = appendString(b, p.val)
	}
	return append(b, ')')
}

// asWritten returns the media type and subtype as the Content-Type field
// raw writes them (IMAP reports them so), if they match typ and sub.
func asWritten(raw, typ, sub string) (string, string) {
	v := raw
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	t, st, ok := strings.Cut(strings.TrimSpace(v), "/")
	t, st = strings.TrimSpace(t), strings.TrimSpace(st)
	if ok && strings.EqualFold(t, typ) && strings.EqualFold(st, sub) {
		return t, st
	}
	return typ, sub
}
