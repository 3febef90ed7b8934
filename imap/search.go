package imap

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"appnet.dev/smtp/message"
)

// A searchKey decides whether one message matches.
type searchKey func(c *searchMsg) bool

// searchMsg is a message being tested, loaded lazily.
type searchMsg struct {
	f    *fetchMsg
	seq  uint32
	max  uint32 // highest sequence number
	maxU uint32 // highest UID
}

func (c *searchMsg) header() *message.Header {
	if err := c.f.parse(); err != nil {
		return &message.Header{}
	}
	return &c.f.part.Header
}

func (c *searchMsg) date() time.Time {
	d, _ := c.f.s.box.Date(c.f.msg.UID)
	return d
}

func (c *searchMsg) sentDate() time.Time {
	d, _ := message.ParseDate(c.header().Get("Date"))
	return d
}

func (c *searchMsg) size() int64 {
	if c.f.msg.Size >= 0 {
		return c.f.msg.Size
	}
	if c.f.load() != nil {
		return 0
	}
	return int64(len(c.f.raw))
}

func containsFold(hay, needle string) bool {
	return strings.Contains(strings.ToLower(hay), strings.ToLower(needle))
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// searchKeys reads keys up to the end of the line (or a ")" of a
// parenthesised group) and ANDs them.
func (s *session) searchKeys(depth int) (searchKey, error) {
	var keys []searchKey
	for {
		k, err := s.searchKey(depth)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		if c, err := s.r.peek(); err != nil || c != ' ' {
			break
		}
		s.r.readByte()
	}
	return func(c *searchMsg) bool {
		for _, k := range keys {
			if !k(c) {
				return false
			}
		}
		return true
	}, nil
}

func (s *session) searchDate() (time.Time, error) {
	var v string
	var err error
	if c, _ := s.r.peek(); c == '"' {
		v, err = s.r.quoted()
	} else {
		v, err = s.r.atom("")
	}
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse("2-Jan-2006", v)
	if err != nil {
		return time.Time{}, syntaxErr("bad date %q", v)
	}
	return t, nil
}

func (s *session) searchKey(depth int) (searchKey, error) {
	if depth > maxDepth {
		return nil, syntaxErr("search keys nested too deep")
	}
	word := s.searchWord
	s.searchWord = ""
	c, err := s.r.peek()
	if err != nil && word == "" {
		return nil, err
	}
	if c == '(' && word == "" {
		s.r.readByte()
		s.r.depth++
		k, err := s.searchKeys(depth + 1)
		s.r.depth--
		if err != nil {
			return nil, err
		}
		return k, s.r.expect(')')
	}
	if word == "" {
		if word, err = s.r.atom("*"); err != nil {
			return nil, err
		}
	}
	if c := word[0]; c >= '0' && c <= '9' || c == '*' {
		set, err := ParseSeqSet(word)
		if err != nil {
			return nil, syntaxErr("invalid sequence set %q", word)
		}
		var ranges []SeqRange
		return func(c *searchMsg) bool {
			if ranges == nil {
				ranges = set.Ranges(c.max)
			}
			return InRanges(ranges, c.seq)
		}, nil
	}
	word = strings.ToUpper(word)
	a := s.args() // the key's arguments; a key returned with an error is not used
	flag := func(f string, want bool) searchKey {
		return func(c *searchMsg) bool { return c.f.msg.HasFlag(f) == want }
	}
	switch word {
	case "ALL":
		return func(*searchMsg) bool { return true }, nil
	case "ANSWERED", "UNANSWERED":
		return flag(flagAnswered, word == "ANSWERED"), nil
	case "DELETED", "UNDELETED":
		return flag(flagDeleted, word == "DELETED"), nil
	case "DRAFT", "UNDRAFT":
		return flag(flagDraft, word == "DRAFT"), nil
	case "FLAGGED", "UNFLAGGED":
		return flag(flagFlagged, word == "FLAGGED"), nil
	case "SEEN", "UNSEEN":
		return flag(flagSeen, word == "SEEN"), nil
	case "RECENT", "OLD":
		return func(c *searchMsg) bool { return s.isRecent(c.f.msg.UID) == (word == "RECENT") }, nil
	case "NEW":
		return func(c *searchMsg) bool { return s.isRecent(c.f.msg.UID) && !c.f.msg.HasFlag(flagSeen) }, nil
	case "KEYWORD", "UNKEYWORD":
		f := readArg(a, s.r.flag)
		return flag(f, word == "KEYWORD"), a.err
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		v := a.astring()
		name := strings.ToUpper(word[:1]) + strings.ToLower(word[1:])
		return func(c *searchMsg) bool {
			for _, hv := range c.header().Values(name) {
				if containsFold(hv, v) {
					return true
				}
				if d, err := message.DecodeWords(hv); err == nil && containsFold(d, v) {
					return true
				}
			}
			return false
		}, a.err
	case "HEADER":
		name := a.astring()
		v := a.astring()
		return func(c *searchMsg) bool {
			for _, hv := range c.header().Values(name) {
				if containsFold(hv, v) {
					return true
				}
			}
			return false
		}, a.err
	case "BODY", "TEXT":
		v := a.astring()
		needle := []byte(strings.ToLower(v))
		return func(c *searchMsg) bool {
			if c.f.parse() != nil {
				return false
			}
			hay := c.f.raw
			if word == "BODY" {
				hay = c.f.part.BodyBytes(c.f.raw)
			}
			return bytes.Contains(bytes.ToLower(hay), needle)
		}, a.err
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		t := readArg(a, s.searchDate)
		sent := strings.HasPrefix(word, "SENT")
		cmp := strings.TrimPrefix(word, "SENT")
		return func(c *searchMsg) bool {
			d := c.date()
			if sent {
				d = c.sentDate()
			}
			d = day(d)
			switch cmp {
			case "BEFORE":
				return d.Before(t)
			case "ON":
				return sameDay(d, t)
			}
			return !d.Before(t)
		}, a.err
	case "LARGER", "SMALLER":
		n := readArg(a, s.r.number64)
		return func(c *searchMsg) bool {
			if word == "LARGER" {
				return c.size() > n
			}
			return c.size() < n
		}, a.err
	case "NOT", "OR":
		key := func() (searchKey, error) { return s.searchKey(depth + 1) }
		k := readArg(a, key)
		if word == "NOT" {
			return func(c *searchMsg) bool { return !k(c) }, a.err
		}
		or := readArg(a, key)
		return func(c *searchMsg) bool { return k(c) || or(c) }, a.err
	case "UID":
		set := a.seqSet()
		var ranges []SeqRange
		return func(c *searchMsg) bool {
			if ranges == nil {
				ranges = set.Ranges(c.maxU)
			}
			return InRanges(ranges, c.f.msg.UID)
		}, a.err
	}
	return nil, syntaxErr("unknown search key %s", word)
}

func (s *session) cmdSearch(tag string, uid bool) error {
	s.searchReturn = nil
	a := s.args()
	key := readArg(a, s.searchCharsetAndKeys)
	if a.err == errBadCharset {
		if !s.r.skipLine() {
			return io.ErrUnexpectedEOF
		}
		s.no(tag, "[BADCHARSET (US-ASCII UTF-8)] Unsupported charset")
		return nil
	}
	if err := a.end(); err != nil {
		return err
	}
	msgs, err := s.messages()
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	b := []byte("* SEARCH")
	var found []uint32
	var maxU uint32
	if len(s.v()) > 0 {
		maxU = s.v()[len(s.v())-1].uid
	}
	for i, v := range s.v() {
		j := findUID(msgs, v.uid)
		if j < 0 {
			continue
		}
		c := &searchMsg{f: &fetchMsg{s: s, msg: msgs[j]}, seq: uint32(i + 1), max: uint32(len(s.v())), maxU: maxU}
		if key(c) {
			n := uint64(i + 1)
			if uid {
				n = uint64(v.uid)
			}
			if s.rev2 {
				found = append(found, uint32(n))
			} else {
				b = strconv.AppendUint(append(b, ' '), n, 10)
			}
		}
	}
	if s.rev2 {
		b = appendESearch(nil, tag, uid, s.searchReturn, found)
	}
	s.w.Write(append(b, "\r\n"...))
	s.update(uid)
	s.ok(tag, "SEARCH completed")
	return nil
}

// appendESearch writes the answer to SEARCH after ENABLE IMAP4rev2: an
// ESEARCH response (RFC 9051 §7.3.4) with what the RETURN options asked
// for (ALL if none): "* ESEARCH (TAG "a5") UID COUNT 3 ALL 4:5,9". found
// is sorted.
func appendESearch(b []byte, tag string, uid bool, opts []string, found []uint32) []byte {
	b = append(b, `* ESEARCH (TAG `...)
	b = appendString(b, tag)
	b = append(b, ')')
	if uid {
		b = append(b, " UID"...)
	}
	if len(opts) == 0 {
		opts = []string{"ALL"}
	}
	for _, o := range []string{"MIN", "MAX", "COUNT", "ALL"} {
		if !slices.Contains(opts, o) || o != "COUNT" && len(found) == 0 {
			continue
		}
		b = append(append(b, ' '), o...)
		b = append(b, ' ')
		switch o {
		case "MIN":
			b = strconv.AppendUint(b, uint64(found[0]), 10)
		case "MAX":
			b = strconv.AppendUint(b, uint64(found[len(found)-1]), 10)
		case "COUNT":
			b = strconv.AppendInt(b, int64(len(found)), 10)
		case "ALL":
			b = append(b, SeqSetOf(found...).String()...)
		}
	}
	return b
}

// errBadCharset is a SEARCH in a charset other than US-ASCII and UTF-8.
var errBadCharset = errors.New("imap: unsupported search charset")

// searchCharsetAndKeys reads an optional "CHARSET name" and the keys.
func (s *session) searchCharsetAndKeys() (searchKey, error) {
	c, err := s.r.peek()
	if err != nil {
		return nil, err
	}
	if (c == 'r' || c == 'R') && s.rev2 {
		word, err := s.r.atom("*")
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(word, "RETURN") {
			s.searchWord = word
			return s.searchKeys(0)
		}
		s.searchReturn = []string{}
		a := s.args()
		a.list(func() error {
			opt, err := s.r.atom("")
			if err != nil {
				return err
			}
			opt = strings.ToUpper(opt)
			switch opt {
			case "MIN", "MAX", "ALL", "COUNT":
			default:
				return syntaxErr("search return option %s is not supported", opt)
			}
			if len(s.searchReturn) < 4 {
				s.searchReturn = append(s.searchReturn, opt)
			}
			return nil
		})
		key := readArg(a, s.searchCharsetAndKeys)
		return key, a.err
	}
	if c == 'c' || c == 'C' {
		word, err := s.r.atom("*")
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(word, "CHARSET") {
			s.searchWord = word // the first key, already read
			return s.searchKeys(0)
		}
		a := s.args()
		cs := a.astring()
		if a.err == nil && !strings.EqualFold(cs, "US-ASCII") && !strings.EqualFold(cs, "UTF-8") {
			return nil, errBadCharset
		}
		key := readArg(a, func() (searchKey, error) { return s.searchKeys(0) })
		return key, a.err
	}
	return s.searchKeys(0)
}
