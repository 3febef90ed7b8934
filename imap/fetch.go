package imap

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"appnet.dev/smtp/message"
)

// A Section names part of a message in BODY[...] and BINARY[...]:
// a part path (1.2) and what of it (HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT,
// TEXT, MIME; empty for the whole part).
type Section struct {
	Path   []int
	Spec   string
	Fields []string
}

// String formats the section as it goes between the brackets.
func (sec Section) String() string {
	var b strings.Builder
	for i, n := range sec.Path {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
	if sec.Spec != "" {
		if len(sec.Path) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(sec.Spec)
	}
	if len(sec.Fields) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(sec.Fields, " "))
		b.WriteByte(')')
	}
	return b.String()
}

// fetchItem is one data item of a FETCH command.
type fetchItem struct {
	name    string // FLAGS, UID, BODY[], BINARY[], BINARY.SIZE[], ENVELOPE...
	peek    bool
	section Section
	partial bool
	start   int64
	count   int64
}

func (s *session) fetchItems() ([]fetchItem, error) {
	c, err := s.r.peek()
	if err != nil {
		return nil, err
	}
	if c == '(' {
		var items []fetchItem
		err := s.r.list(func() error {
			it, err := s.fetchItem()
			items = append(items, it...)
			return err
		})
		return items, err
	}
	return s.fetchItem()
}

func (s *session) fetchItem() ([]fetchItem, error) {
	var name []byte
	for {
		c, err := s.r.peek()
		if err != nil {
			return nil, err
		}
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.') {
			break
		}
		s.r.readByte()
		name = append(name, c)
		if len(name) > 20 {
			return nil, syntaxErr("unknown FETCH item")
		}
	}
	n := strings.ToUpper(string(name))
	simple := func(names ...string) []fetchItem {
		var out []fetchItem
		for _, n := range names {
			out = append(out, fetchItem{name: n})
		}
		return out
	}
	switch n {
	case "ALL":
		return simple("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"), nil
	case "FAST":
		return simple("FLAGS", "INTERNALDATE", "RFC822.SIZE"), nil
	case "FULL":
		return simple("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"), nil
	case "FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE":
		return simple(n), nil
	case "RFC822":
		return []fetchItem{{name: "RFC822", section: Section{}}}, nil
	case "RFC822.HEADER":
		return []fetchItem{{name: "RFC822.HEADER", peek: true, section: Section{Spec: "HEADER"}}}, nil
	case "RFC822.TEXT":
		return []fetchItem{{name: "RFC822.TEXT", section: Section{Spec: "TEXT"}}}, nil
	case "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
	default:
		return nil, syntaxErr("unknown FETCH item %q", n)
	}
	if c, _ := s.r.peek(); c != '[' {
		if n == "BODY" {
			return simple("BODY"), nil
		}
		return nil, syntaxErr("%s needs a section", n)
	}
	s.r.readByte()
	it := fetchItem{name: strings.TrimSuffix(n, ".PEEK") + "[]", peek: strings.HasSuffix(n, ".PEEK")}
	sec, err := s.section(strings.HasPrefix(n, "BINARY"))
	if err != nil {
		return nil, err
	}
	it.section = sec
	if c, _ := s.r.peek(); c == '<' && n != "BINARY.SIZE" {
		s.r.readByte()
		if it.start, err = s.r.digits64(); err != nil {
			return nil, err
		}
		if err := s.r.expect('.'); err != nil {
			return nil, err
		}
		if it.count, err = s.r.digits64(); err != nil {
			return nil, err
		}
		if it.count == 0 {
			return nil, syntaxErr("partial of zero octets")
		}
		if err := s.r.expect('>'); err != nil {
			return nil, err
		}
		it.partial = true
	}
	return []fetchItem{it}, nil
}

// section reads what stands between the brackets, and the "]".
func (s *session) section(binary bool) (Section, error) {
	var sec Section
	for {
		c, err := s.r.peek()
		if err != nil {
			return sec, err
		}
		if c < '1' || c > '9' {
			break
		}
		n, err := s.r.numberDigits()
		if err != nil {
			return sec, err
		}
		if len(sec.Path) >= maxDepth {
			return sec, syntaxErr("section path too deep")
		}
		sec.Path = append(sec.Path, n)
		if c, _ := s.r.peek(); c != '.' {
			break
		}
		s.r.readByte()
	}
	if c, _ := s.r.peek(); c != ']' {
		if binary {
			return sec, syntaxErr("BINARY takes only a part number")
		}
		word, err := s.r.atom("")
		if err != nil {
			return sec, err
		}
		sec.Spec = strings.ToUpper(word)
		switch sec.Spec {
		case "HEADER", "TEXT":
		case "MIME":
			if len(sec.Path) == 0 {
				return sec, syntaxErr("MIME needs a part number")
			}
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			if err := s.r.sp(); err != nil {
				return sec, err
			}
			if err := s.r.list(func() error {
				f, err := s.r.astring()
				sec.Fields = append(sec.Fields, strings.ToUpper(f))
				return err
			}); err != nil {
				return sec, err
			}
			if len(sec.Fields) == 0 {
				return sec, syntaxErr("empty header list")
			}
		default:
			return sec, syntaxErr("unknown section %q", word)
		}
	}
	return sec, s.r.expect(']')
}

// numberDigits reads a number made only of digits (a section part).
func (r *reader) numberDigits() (int, error) {
	n := 0
	for i := 0; ; i++ {
		c, err := r.peek()
		if err != nil {
			return 0, err
		}
		if c < '0' || c > '9' {
			if i == 0 {
				return 0, syntaxErr("expected a number")
			}
			return n, nil
		}
		if i >= 9 {
			return 0, syntaxErr("number too long")
		}
		r.readByte()
		n = n*10 + int(c-'0')
	}
}

// digits64 reads a number of at most 18 digits.
func (r *reader) digits64() (int64, error) {
	var n int64
	for i := 0; ; i++ {
		c, err := r.peek()
		if err != nil {
			return 0, err
		}
		if c < '0' || c > '9' {
			if i == 0 {
				return 0, syntaxErr("expected a number")
			}
			return n, nil
		}
		if i >= 18 {
			return 0, syntaxErr("number too long")
		}
		r.readByte()
		n = n*10 + int64(c-'0')
	}
}

// metaCache keeps each message's ENVELOPE and BODYSTRUCTURE (Maildir files
// never change their content) so that FETCH 1:* does not parse every
// message again, as Dovecot keeps them in its cache file.
type metaCache struct {
	mu sync.Mutex
	m  map[string]*meta
}

type meta struct {
	envelope, structure, body string
}

const maxMetaCache = 50000 // about 1 KB each

func (c *metaCache) get(key string) *meta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *metaCache) put(key string, m *meta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxMetaCache {
		c.m = make(map[string]*meta)
	}
	c.m[key] = m
}

// fetchMsg holds what FETCH has loaded of one message.
type fetchMsg struct {
	s    *session
	msg  Message
	raw  []byte
	part *message.Part
}

func (f *fetchMsg) load() error {
	if f.raw != nil {
		return nil
	}
	file, err := f.s.box.Open(f.msg.UID)
	if err != nil {
		return err
	}
	defer file.Close()
	var buf bytes.Buffer
	// Room for the size the Mailbox gave, but no more than 1 MiB on its
	// word: a bigger message grows the buffer as it is read.
	buf.Grow(int(min(max(f.msg.Size, 0), 1<<20)) + 1)
	if _, err := io.Copy(&buf, io.LimitReader(file, 1<<30)); err != nil {
		return err
	}
	f.raw = buf.Bytes()
	return nil
}

func (f *fetchMsg) parse() error {
	if f.part != nil {
		return nil
	}
	if err := f.load(); err != nil {
		return err
	}
	p, err := message.Parse(f.raw)
	if err != nil {
		return err
	}
	f.part = p
	return nil
}

func (f *fetchMsg) meta() (*meta, error) {
	// What the Mailbox says stands for the message's bytes, in this
	// user's mailbox of this name (see Message.ID).
	key := f.msg.ID
	if key != "" {
		key = f.s.user + "\x00" + f.s.boxName + "\x00" + key
	}
	if m := f.s.srv.meta.get(key); m != nil {
		return m, nil
	}
	if err := f.parse(); err != nil {
		return nil, err
	}
	m := &meta{
		envelope:  string(AppendEnvelope(nil, &f.part.Header)),
		structure: string(AppendBodyStructure(nil, f.part, true)),
		body:      string(AppendBodyStructure(nil, f.part, false)),
	}
	if key != "" {
		f.s.srv.meta.put(key, m)
	}
	return m, nil
}

// sectionBytes returns the bytes a BODY[section] names, or nil if the part
// does not exist (which IMAP answers with an empty string).
func (f *fetchMsg) sectionBytes(sec Section, binary bool) ([]byte, error) {
	if len(sec.Path) == 0 && sec.Spec == "" {
		if err := f.load(); err != nil {
			return nil, err
		}
		return f.raw, nil
	}
	if err := f.parse(); err != nil {
		return nil, err
	}
	p := f.part.Lookup(sec.Path...)
	if p == nil {
		return nil, nil
	}
	switch sec.Spec {
	case "":
		if len(sec.Path) == 0 {
			return f.raw, nil
		}
		if binary {
			return p.Decode(f.raw)
		}
		return p.BodyBytes(f.raw), nil
	case "MIME":
		return p.HeaderBytes(f.raw), nil
	}
	// HEADER and TEXT of a part path name the enclosed message.
	if len(sec.Path) > 0 {
		if p.Message == nil {
			return nil, nil
		}
		p = p.Message
	}
	switch sec.Spec {
	case "HEADER":
		return p.HeaderBytes(f.raw), nil
	case "TEXT":
		return p.BodyBytes(f.raw), nil
	}
	return filterHeader(p.HeaderBytes(f.raw), sec.Fields, sec.Spec == "HEADER.FIELDS.NOT"), nil
}

// filterHeader keeps (or, with not, drops) the fields named in names from a
// raw header, ending with the blank line.
func filterHeader(h []byte, names []string, not bool) []byte {
	var out []byte
	keep := false
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		line := h
		if i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			name = bytes.TrimSpace(name)
			match := false
			for _, n := range names {
				if strings.EqualFold(n, string(name)) {
					match = true
				}
			}
			keep = match != not
		}
		if keep {
			out = append(out, line...)
		}
	}
	return append(out, "\r\n"...)
}

func (s *session) cmdFetch(tag string, uid bool) error {
	a := s.args()
	set := a.seqSet()
	items := a.fetchItems()
	if err := a.end(); err != nil {
		return err
	}
	if uid {
		items = append([]fetchItem{{name: "UID"}}, items...)
	}
	pos, err := s.resolve(set, uid)
	if err != nil {
		return err
	}
	msgs, err := s.messages()
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	var setSeen []uint32
	var b []byte
	for _, p := range pos {
		v := s.v()[p]
		f := &fetchMsg{s: s, msg: Message{UID: v.uid, Flags: v.flags, Size: -1}}
		if i := findUID(msgs, v.uid); i >= 0 {
			f.msg = msgs[i]
		} else {
			continue // expunged by another session; nothing left to show
		}
		b = b[:0]
		b = strconv.AppendInt(append(b, "* "...), int64(p+1), 10)
		b = append(b, " FETCH ("...)
		seenUID := false
		flagsSent := false
		for i, it := range items {
			if it.name == "UID" {
				if seenUID {
					continue
				}
				seenUID = true
			}
			if i > 0 && len(b) > 0 && b[len(b)-1] != '(' {
				b = append(b, ' ')
			}
			b, err = s.fetchOne(b, f, it, &flagsSent)
			if err != nil {
				break
			}
			if (it.name == "BODY[]" || it.name == "BINARY[]") && !it.peek && !s.readOnly && !f.msg.HasFlag(flagSeen) ||
				(it.name == "RFC822" || it.name == "RFC822.TEXT") && !s.readOnly && !f.msg.HasFlag(flagSeen) {
				setSeen = append(setSeen, v.uid)
				f.msg.Flags = append(append([]string(nil), f.msg.Flags...), flagSeen)
				s.v()[p].flags = f.msg.Flags
				if !flagsSent {
					b = append(b, " FLAGS "...)
					b = append(b, s.flagList(f.msg.UID, f.msg.Flags)...)
					flagsSent = true
				}
			}
		}
		if err != nil {
			s.storeError(tag, err)
			return nil
		}
		b = append(b, ")\r\n"...)
		if _, err := s.w.Write(b); err != nil {
			return err
		}
	}
	if len(setSeen) > 0 {
		if changed, err := s.box.SetFlags(setSeen, FlagsAdd, []string{flagSeen}); err == nil {
			for _, m := range changed {
				for i := range s.v() {
					if s.v()[i].uid == m.UID {
						s.v()[i].flags = m.Flags
					}
				}
			}
		}
	}
	s.update(uid)
	s.ok(tag, "FETCH completed")
	return nil
}

func findUID(msgs []Message, uid uint32) int {
	lo, hi := 0, len(msgs)
	for lo < hi {
		m := (lo + hi) / 2
		if msgs[m].UID < uid {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(msgs) && msgs[lo].UID == uid {
		return lo
	}
	return -1
}

func (s *session) fetchOne(b []byte, f *fetchMsg, it fetchItem, flagsSent *bool) ([]byte, error) {
	switch it.name {
	case "UID":
		return strconv.AppendUint(append(b, "UID "...), uint64(f.msg.UID), 10), nil
	case "FLAGS":
		*flagsSent = true
		return append(append(b, "FLAGS "...), s.flagList(f.msg.UID, f.msg.Flags)...), nil
	case "INTERNALDATE":
		d, err := s.box.Date(f.msg.UID)
		if err != nil {
			return b, err
		}
		b = append(b, `INTERNALDATE "`...)
		b = d.AppendFormat(b, dateTimeLayout)
		return append(b, '"'), nil
	case "RFC822.SIZE":
		size := f.msg.Size
		if size < 0 {
			if err := f.load(); err != nil {
				return b, err
			}
			size = int64(len(f.raw))
		}
		return strconv.AppendInt(append(b, "RFC822.SIZE "...), size, 10), nil
	case "ENVELOPE", "BODYSTRUCTURE", "BODY":
		m, err := f.meta()
		if err != nil {
			return b, err
		}
		switch it.name {
		case "ENVELOPE":
			return append(append(b, "ENVELOPE "...), m.envelope...), nil
		case "BODYSTRUCTURE":
			return append(append(b, "BODYSTRUCTURE "...), m.structure...), nil
		}
		return append(append(b, "BODY "...), m.body...), nil
	case "RFC822", "RFC822.HEADER", "RFC822.TEXT":
		data, err := f.sectionBytes(it.section, false)
		if err != nil {
			return b, err
		}
		b = append(b, it.name...)
		b = append(b, ' ')
		return appendLiteral(b, data), nil
	case "BINARY.SIZE[]":
		data, err := f.sectionBytes(it.section, true)
		if err != nil {
			return b, err
		}
		b = append(b, "BINARY.SIZE["...)
		b = append(b, it.section.String()...)
		b = append(b, "] "...)
		return strconv.AppendInt(b, int64(len(data)), 10), nil
	}
	binary := it.name == "BINARY[]"
	data, err := f.sectionBytes(it.section, binary)
	if err != nil {
		return b, err
	}
	b = append(b, strings.TrimSuffix(it.name, "[]")...)
	b = append(b, '[')
	b = append(b, it.section.String()...)
	b = append(b, ']')
	if it.partial {
		b = strconv.AppendInt(append(b, '<'), it.start, 10)
		b = append(b, '>')
		if it.start >= int64(len(data)) {
			data = nil
		} else {
			data = data[it.start:min(int64(len(data)), it.start+it.count)]
		}
	}
	b = append(b, ' ')
	if binary && bytes.IndexByte(data, 0) >= 0 {
		b = append(b, '~') // literal8 (RFC 3516)
	}
	return appendLiteral(b, data), nil
}

func appendLiteral(b, data []byte) []byte {
	b = append(b, '{')
	b = strconv.AppendInt(b, int64(len(data)), 10)
	b = append(b, "}\r\n"...)
	return append(b, data...)
}

// internalDate parses IMAP's date-time for tests and clients.
func internalDate(s string) (time.Time, error) { return time.Parse(dateTimeLayout, s) }
