package message

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxParams bounds the parameters of one Content-Type or
// Content-Disposition field.
const maxParams = 64

// ParseMediaType parses a Content-Type or Content-Disposition value
// (RFC 2045 §5.1, RFC 2183): the lowercased type ("text/plain",
// "attachment") and its parameters, with lowercased names. RFC 2231
// continuations (name*0=, name*1=) are joined and extended values
// (name*=utf-8”caf%C3%A9) decoded into UTF-8; RFC 2047 encoded words in
// quoted values, as some mailers write them, are decoded too.
func ParseMediaType(v string) (mediatype string, params map[string]string, err error) {
	mediatype, params, _, err = parseMediaType(v)
	return strings.ToLower(mediatype), params, err
}

// A Param is one parameter of a Content-Type or Content-Disposition field
// as written: the name in its own case, the value without its quotes and
// backslashes but otherwise untouched. An RFC 2231 parameter keeps its
// star and its encoding ("filename*", "UTF-8”r%C3%A9sum%C3%A9.pdf"), and
// each piece of a continuation is a Param of its own ("title*0", "title*1").
// IMAP's BODYSTRUCTURE reports parameters this way, in order.
type Param struct {
	Name, Value string
}

// ParseParams parses a Content-Type or Content-Disposition value like
// ParseMediaType but gives the type and the parameters as written, in
// order: nothing lowercased, nothing decoded. On a syntax error it returns
// what it read before it.
func ParseParams(v string) (mediatype string, params []Param, err error) {
	mediatype, _, params, err = parseMediaType(v)
	return mediatype, params, err
}

// parseMediaType does the work of both: the type as written, the decoded
// parameters and the raw ones.
func parseMediaType(v string) (mediatype string, params map[string]string, list []Param, err error) {
	if len(v) > maxAddressInput {
		return "", nil, nil, fmt.Errorf("message: media type too long")
	}
	p := addrParser{s: v}
	p.skipCFWS()
	start := p.i
	for !p.eof() && isToken(p.peek()) || (!p.eof() && p.peek() == '/') {
		p.i++
	}
	mediatype = strings.TrimSpace(p.s[start:p.i])
	if mediatype == "" {
		return "", nil, nil, fmt.Errorf("message: media type %q: no type", v)
	}
	params = make(map[string]string)
	type piece struct {
		n   int
		ext bool
		val string
	}
	cont := map[string][]piece{}
	for count := 0; ; count++ {
		p.skipCFWS()
		if p.err != nil {
			return mediatype, params, list, p.err
		}
		if p.eof() {
			break
		}
		if p.peek() != ';' {
			return mediatype, params, list, fmt.Errorf("message: media type %q: expected ';'", v)
		}
		p.i++
		p.skipCFWS()
		if p.eof() {
			break // a trailing ';'
		}
		if count >= maxParams {
			return mediatype, params, list, fmt.Errorf("message: media type: more than %d parameters", maxParams)
		}
		start := p.i
		for !p.eof() && isToken(p.peek()) {
			p.i++
		}
		rawName := p.s[start:p.i]
		name := strings.ToLower(rawName)
		p.skipCFWS()
		if name == "" || p.eof() || p.peek() != '=' {
			return mediatype, params, list, fmt.Errorf("message: media type %q: bad parameter", v)
		}
		p.i++
		p.skipCFWS()
		var val string
		quoted := false
		if !p.eof() && p.peek() == '"' {
			q, err := p.quoted()
			if err != nil {
				return mediatype, params, list, err
			}
			val, quoted = q, true
		} else {
			start := p.i
			for !p.eof() && p.peek() != ';' && p.peek() != ' ' && p.peek() != '\t' && p.peek() != '(' {
				p.i++
			}
			val = p.s[start:p.i]
		}
		list = append(list, Param{rawName, val})
		// RFC 2231: name*, name*N, name*N*.
		base, ext := name, false
		if strings.HasSuffix(base, "*") {
			base, ext = strings.TrimSuffix(base, "*"), true
		}
		if k := strings.LastIndexByte(base, '*'); k >= 0 {
			if n, err := strconv.Atoi(base[k+1:]); err == nil && n >= 0 && n < maxParams {
				cont[base[:k]] = append(cont[base[:k]], piece{n, ext, val})
				continue
			}
		}
		if ext {
			if d, ok := decode2231(val, true); ok {
				params[base] = d
				continue
			}
		}
		if quoted && strings.Contains(val, "=?") {
			if d, err := DecodeWords(val); err == nil {
				val = d
			}
		}
		if _, dup := params[base]; !dup {
			params[base] = val
		}
	}
	for name, ps := range cont {
		sort.Slice(ps, func(i, j int) bool { return ps[i].n < ps[j].n })
		var b strings.Builder
		first := true
		for i, pc := range ps {
			if pc.n != i {
				break // a gap: keep what is contiguous
			}
			if pc.ext {
				d, ok := decode2231(pc.val, first)
				if !ok {
					d = pc.val
				}
				b.WriteString(d)
			} else {
				b.WriteString(pc.val)
			}
			first = false
		}
		params[name] = b.String()
	}
	return mediatype, params, list, nil
}

// decode2231 decodes an RFC 2231 extended value; withCharset says whether
// it starts with charset'language'.
func decode2231(v string, withCharset bool) (string, bool) {
	charset := "us-ascii"
	if withCharset {
		parts := strings.SplitN(v, "'", 3)
		if len(parts) != 3 {
			return "", false
		}
		charset, v = parts[0], parts[2]
	}
	raw, err := url.PathUnescape(v)
	if err != nil {
		return "", false
	}
	s, err := toUTF8(charset, []byte(raw))
	if err != nil {
		return raw, true
	}
	return s, true
}

// isToken reports whether c may appear in an RFC 2045 token.
func isToken(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// FormatMediaType writes a media type with its parameters, sorted by name,
// quoting values that need it and using RFC 2231 for non-ASCII values.
func FormatMediaType(mediatype string, params map[string]string) string {
	var b strings.Builder
	b.WriteString(mediatype)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := params[k]
		b.WriteString("; ")
		if needsEncoding(v) && !strings.Contains(v, "=?") {
			b.WriteString(k + "*=utf-8''" + escape2231(v))
			continue
		}
		b.WriteString(k)
		b.WriteByte('=')
		tok := v != ""
		for i := 0; i < len(v); i++ {
			if !isToken(v[i]) {
				tok = false
			}
		}
		if tok {
			b.WriteString(v)
		} else {
			b.WriteString(quoteString(v))
		}
	}
	return b.String()
}

func escape2231(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isToken(c) && c != '*' && c != '\'' && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
