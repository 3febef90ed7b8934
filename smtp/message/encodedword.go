package message

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrCharset is returned for an encoded word or a text part in a charset
// this package cannot convert to UTF-8.
var ErrCharset = errors.New("message: unsupported charset")

// maxEncodedWord is the longest encoded word RFC 2047 §2 allows.
const maxEncodedWord = 75

// DecodeWords decodes the RFC 2047 encoded words in a header value
// ("=?UTF-8?Q?caf=C3=A9?=") into UTF-8. Whitespace between two adjacent
// encoded words is dropped (§6.2). Words that are malformed, or in a charset
// other than UTF-8, US-ASCII, ISO-8859-1 and Windows-1252, are left as they
// are; err reports the first such word, and s is still the best decoding.
func DecodeWords(v string) (s string, err error) {
	if !strings.Contains(v, "=?") {
		return v, nil
	}
	var b strings.Builder
	lastEncoded := false
	for len(v) > 0 {
		// Copy whitespace.
		i := 0
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		ws := v[:i]
		v = v[i:]
		if len(v) == 0 {
			b.WriteString(ws)
			break
		}
		j := 0
		for j < len(v) && v[j] != ' ' && v[j] != '\t' {
			j++
		}
		word := v[:j]
		v = v[j:]
		dec, ok, werr := decodeWord(word)
		if ok {
			if !lastEncoded {
				b.WriteString(ws)
			}
			b.WriteString(dec)
			lastEncoded = true
			continue
		}
		if werr != nil && err == nil {
			err = werr
		}
		b.WriteString(ws)
		b.WriteString(word)
		lastEncoded = false
	}
	return b.String(), err
}

// decodeWord decodes one "=?charset?enc?text?=" token.
func decodeWord(w string) (string, bool, error) {
	if len(w) < 8 || !strings.HasPrefix(w, "=?") || !strings.HasSuffix(w, "?=") || strings.Count(w, "?") != 4 {
		return "", false, nil
	}
	parts := strings.SplitN(w[2:len(w)-2], "?", 3)
	charset, enc, text := parts[0], parts[1], parts[2]
	if k := strings.IndexByte(charset, '*'); k >= 0 { // RFC 2231 §5 language
		charset = charset[:k]
	}
	var raw []byte
	switch strings.ToUpper(enc) {
	case "B":
		var err error
		raw, err = base64.StdEncoding.DecodeString(text)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
			if err != nil {
				return "", false, fmt.Errorf("message: encoded word %q: %v", w, err)
			}
		}
	case "Q":
		raw = make([]byte, 0, len(text))
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				raw = append(raw, ' ')
			case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
				raw = append(raw, unhex(text[i+1])<<4|unhex(text[i+2]))
				i += 2
			case c == '=':
				return "", false, fmt.Errorf("message: encoded word %q: bad escape", w)
			default:
				raw = append(raw, c)
			}
		}
	default:
		return "", false, fmt.Errorf("message: encoded word %q: unknown encoding", w)
	}
	s, err := toUTF8(charset, raw)
	if err != nil {
		return "", false, err
	}
	return s, true, nil
}

// toUTF8 converts raw from charset to UTF-8.
func toUTF8(charset string, raw []byte) (string, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		if !utf8.Valid(raw) {
			return strings.ToValidUTF8(string(raw), "\uFFFD"), nil
		}
		return string(raw), nil
	case "iso-8859-1", "latin1", "iso8859-1", "windows-1252", "cp1252":
		win := strings.EqualFold(charset, "windows-1252") || strings.EqualFold(charset, "cp1252")
		r := make([]rune, 0, len(raw))
		for _, c := range raw {
			if win && c >= 0x80 && c < 0xA0 {
				r = append(r, cp1252[c-0x80])
				continue
			}
			r = append(r, rune(c))
		}
		return string(r), nil
	}
	return "", fmt.Errorf("%w %q", ErrCharset, charset)
}

// cp1252 maps Windows-1252's 0x80–0x9F to Unicode.
var cp1252 = [32]rune{
	'€', '\uFFFD', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\uFFFD', 'Ž', '\uFFFD',
	'\uFFFD', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\uFFFD', 'ž', 'Ÿ',
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// needsEncoding reports whether s has anything but printable ASCII and
// whitespace, or something that looks like an encoded word already.
func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t') || c > '~' {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// EncodeWord returns s as it may appear in an unstructured header field
// (RFC 2047): unchanged if it is printable ASCII, otherwise as UTF-8
// encoded words of at most 75 octets separated by spaces, using Q encoding
// when most of s is ASCII and B encoding otherwise.
func EncodeWord(s string) string {
	if !needsEncoding(s) && len(s) <= MaxLineLength-2 {
		return s
	}
	ascii := 0
	for i := 0; i < len(s); i++ {
		if s[i] < 0x80 {
			ascii++
		}
	}
	useQ := ascii*10 >= len(s)*7 // at least 70 % ASCII
	const prefix, suffix = "=?UTF-8?", "?="
	var words []string
	var cur []byte
	curLen := func() int {
		if useQ {
			return len(prefix) + 2 + len(cur) + len(suffix)
		}
		return len(prefix) + 2 + base64.StdEncoding.EncodedLen(len(cur)) + len(suffix)
	}
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if useQ {
			words = append(words, prefix+"Q?"+string(cur)+suffix)
		} else {
			words = append(words, prefix+"B?"+base64.StdEncoding.EncodeToString(cur)+suffix)
		}
		cur = cur[:0]
	}
	for _, r := range s {
		var enc []byte
		var buf [utf8.UTFMax]byte
		n := utf8.EncodeRune(buf[:], r)
		if useQ {
			for _, c := range buf[:n] {
				switch {
				case c == ' ':
					enc = append(enc, '_')
				case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
					c == '!' || c == '*' || c == '+' || c == '-' || c == '/':
					// The characters RFC 2047 §5(3) allows in a phrase, so
					// the word is safe in display names too.
					enc = append(enc, c)
				default:
					enc = append(enc, '=', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
				}
			}
		} else {
			enc = buf[:n]
		}
		old := len(cur)
		cur = append(cur, enc...)
		if curLen() > maxEncodedWord {
			cur = cur[:old]
			flush()
			cur = append(cur, enc...)
		}
	}
	flush()
	return strings.Join(words, " ")
}
