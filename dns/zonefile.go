package dns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// A ZoneFile says how to read a master file (RFC 1035 §5): the text form
// of a zone that name server operators write and BIND, NSD and Knot read.
type ZoneFile struct {
	// Name is the file's name, used in error messages and to find
	// $INCLUDE files relative to it.
	Name string
	// Origin completes relative names until a $ORIGIN line changes it.
	Origin Name
	// Include is where $INCLUDE files are read from; nil forbids
	// $INCLUDE. An included file starts with the including file's origin
	// (or the one given on the $INCLUDE line) and its $ORIGIN and $TTL
	// lines do not leak back out.
	Include fs.FS
	// MaxRecords bounds how many records one read may produce; 0 means
	// 1,000,000.
	MaxRecords int
}

// A ZoneError is an error in a master file, with the file and line.
type ZoneError struct {
	File string
	Line int
	Err  error
}

func (e *ZoneError) Error() string {
	return fmt.Sprintf("dns: zone %s:%d: %v", e.File, e.Line, e.Err)
}
func (e *ZoneError) Unwrap() error { return e.Err }

// maxLineTokens bounds one entry's fields; maxEntryLen its characters.
const (
	maxEntryLen   = 64 << 10
	maxIncludes   = 8
	maxTokenCount = 4096
)

// zoneState is what a file's directives change.
type zoneState struct {
	origin   Name
	ttl      uint32 // from $TTL or the last explicit TTL
	haveTTL  bool
	owner    Name // the previous record's owner
	class    Class
	hasOwner bool
}

// Parse reads the records of a master file from r.
func (zf ZoneFile) Parse(r io.Reader) ([]RR, error) {
	st := zoneState{origin: zf.Origin, class: ClassINET}
	max := zf.MaxRecords
	if max <= 0 {
		max = 1_000_000
	}
	var rrs []RR
	if err := zf.parse(r, zf.Name, &st, &rrs, max, 0); err != nil {
		return nil, err
	}
	sameTTL(rrs)
	return rrs, nil
}

// sameTTL gives every record of an RRset the TTL of its first record, as
// RFC 2181 §5.2 requires and BIND does when it reads a master file.
func sameTTL(rrs []RR) {
	type key struct {
		name  Name
		t     Type
		class Class
	}
	first := make(map[key]uint32)
	for i, rr := range rrs {
		k := key{rr.Name.Canonical(), rr.Type(), rr.Class}
		if ttl, ok := first[k]; ok {
			rrs[i].TTL = ttl
		} else {
			first[k] = rr.TTL
		}
	}
}

func (zf ZoneFile) parse(r io.Reader, file string, st *zoneState, rrs *[]RR, max, depth int) error {
	lx := lexer{r: bufio.NewReader(r)}
	for {
		toks, line, blankStart, err := lx.entry()
		if err != nil {
			return &ZoneError{file, lx.line, err}
		}
		if toks == nil {
			return nil
		}
		zerr := func(err error) error { return &ZoneError{file, line, err} }
		first := toks[0]
		if !first.quoted && strings.HasPrefix(first.s, "$") && !blankStart {
			switch strings.ToUpper(first.s) {
			case "$ORIGIN":
				if len(toks) != 2 {
					return zerr(errors.New("$ORIGIN wants one name"))
				}
				o, err := parseNameRel(toks[1].s, st.origin)
				if err != nil {
					return zerr(err)
				}
				st.origin = o
			case "$TTL":
				if len(toks) != 2 {
					return zerr(errors.New("$TTL wants one value"))
				}
				t, err := parseTTL(toks[1].s)
				if err != nil {
					return zerr(err)
				}
				st.ttl, st.haveTTL = t, true
			case "$INCLUDE":
				if zf.Include == nil {
					return zerr(errors.New("$INCLUDE is not allowed here"))
				}
				if len(toks) < 2 || len(toks) > 3 {
					return zerr(errors.New("$INCLUDE wants a file and an optional origin"))
				}
				if depth >= maxIncludes {
					return zerr(errors.New("$INCLUDE nested too deeply"))
				}
				inner := *st // the included file's changes stay inside
				if len(toks) == 3 {
					o, err := parseNameRel(toks[2].s, st.origin)
					if err != nil {
						return zerr(err)
					}
					inner.origin = o
				}
				name := toks[1].s
				if !path.IsAbs(name) {
					name = path.Join(path.Dir(file), name)
				}
				name = strings.TrimPrefix(path.Clean(name), "/")
				f, err := zf.Include.Open(name)
				if err != nil {
					return zerr(err)
				}
				err = zf.parse(f, name, &inner, rrs, max, depth+1)
				f.Close()
				if err != nil {
					return err
				}
			default:
				return zerr(fmt.Errorf("unknown directive %s", first.s))
			}
			continue
		}
		rr, err := st.record(toks, blankStart)
		if err != nil {
			return zerr(err)
		}
		if len(*rrs) >= max {
			return zerr(errors.New("too many records"))
		}
		*rrs = append(*rrs, rr)
	}
}

// record reads one resource record entry.
func (st *zoneState) record(toks []token, blankStart bool) (RR, error) {
	var rr RR
	i := 0
	if blankStart {
		if !st.hasOwner {
			return rr, errors.New("no previous owner name")
		}
		rr.Name = st.owner
	} else {
		n, err := parseNameRel(toks[0].s, st.origin)
		if err != nil {
			return rr, fmt.Errorf("owner %q: %v", toks[0].s, err)
		}
		rr.Name, st.owner, st.hasOwner = n, n, true
		i = 1
	}
	// TTL and class, in either order, each optional.
	haveTTL, haveClass := false, false
	for ; i < len(toks) && !toks[i].quoted; i++ {
		s := toks[i].s
		if !haveTTL && s != "" && isDigit(s[0]) {
			t, err := parseTTL(s)
			if err != nil {
				return rr, err
			}
			rr.TTL, haveTTL = t, true
			continue
		}
		if c, ok := ParseClass(s); ok && !haveClass {
			if _, isType := ParseType(s); !isType {
				rr.Class, haveClass = c, true
				continue
			}
		}
		break
	}
	if i >= len(toks) {
		return rr, errors.New("missing type")
	}
	t, ok := ParseType(toks[i].s)
	if !ok || toks[i].quoted {
		return rr, fmt.Errorf("unknown type %q", toks[i].s)
	}
	if !haveClass {
		rr.Class = st.class
	} else {
		st.class = rr.Class
	}
	data, err := parseRDataText(t, unescapeText(t, toks[i+1:]), st.origin)
	if err != nil {
		return rr, fmt.Errorf("%s: %v", t, err)
	}
	rr.Data = data
	switch {
	case haveTTL:
		if !st.haveTTL {
			st.ttl = rr.TTL // RFC 1035: the last stated TTL
		}
	case st.haveTTL || st.ttl != 0:
		rr.TTL = st.ttl
	case t == TypeSOA:
		rr.TTL = data.(*SOA).Minimum
		st.ttl = rr.TTL
	default:
		return rr, errors.New("no TTL given and no $TTL")
	}
	return rr, nil
}

// unescapeText decodes escapes in the unquoted character strings of TXT
// and CAA data (names keep theirs: parseNameRel reads them).
func unescapeText(t Type, toks []token) []token {
	if t != TypeTXT && t != TypeCAA {
		return toks
	}
	out := make([]token, len(toks))
	for i, tk := range toks {
		if !tk.quoted && strings.IndexByte(tk.s, '\\') >= 0 && tk.s != `\#` {
			s, _ := unescape(tk.s)
			tk = token{s, true}
		}
		out[i] = tk
	}
	return out
}

// unescape decodes \X and \DDD.
func unescape(s string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", errBadEscape
		}
		if isDigit(s[i+1]) {
			if i+3 >= len(s) || !isDigit(s[i+2]) || !isDigit(s[i+3]) {
				return "", errBadEscape
			}
			v, _ := strconv.Atoi(s[i+1 : i+4])
			if v > 255 {
				return "", errBadEscape
			}
			sb.WriteByte(byte(v))
			i += 3
			continue
		}
		sb.WriteByte(s[i+1])
		i++
	}
	return sb.String(), nil
}

// A lexer splits a master file into entries: the tokens of one logical
// line, where parentheses join physical lines.
type lexer struct {
	r    *bufio.Reader
	line int // physical lines read
}

// entry returns the next non-empty entry, the line it starts on and
// whether that line started with white space (an omitted owner). Quoted
// tokens come back unescaped; others keep their backslashes.
func (lx *lexer) entry() (toks []token, line int, blankStart bool, err error) {
	for {
		toks, line, blankStart, err = lx.entryOrEmpty()
		if err != nil || toks == nil && lx.eof() {
			return toks, line, blankStart, err
		}
		if len(toks) > 0 {
			return toks, line, blankStart, nil
		}
	}
}

func (lx *lexer) eof() bool {
	_, err := lx.r.Peek(1)
	return err != nil
}

func (lx *lexer) entryOrEmpty() ([]token, int, bool, error) {
	toks := []token{}
	depth := 0
	start := lx.line + 1
	var cur strings.Builder
	inTok, quoted, inQuote := false, false, false
	blank := false
	first := true
	total := 0
	end := func() {
		if inTok {
			toks = append(toks, token{cur.String(), quoted})
			cur.Reset()
			inTok, quoted = false, false
		}
	}
	for {
		c, err := lx.r.ReadByte()
		if err == io.EOF {
			if inQuote {
				return nil, start, false, errors.New("unterminated quoted string")
			}
			if depth > 0 {
				return nil, start, false, errors.New("unbalanced parentheses")
			}
			end()
			if len(toks) == 0 {
				return nil, start, false, nil
			}
			lx.line++
			return toks, start, blank, nil
		}
		if err != nil {
			return nil, start, false, err
		}
		if total++; total > maxEntryLen || len(toks) > maxTokenCount {
			return nil, start, false, errors.New("entry too long")
		}
		if first {
			first = false
			blank = c == ' ' || c == '\t'
		}
		if inQuote {
			switch c {
			case '"':
				inQuote = false
			case '\\':
				n, err := lx.r.ReadByte()
				if err != nil {
					return nil, start, false, errors.New("unterminated quoted string")
				}
				if isDigit(n) {
					d := [3]byte{n}
					for k := 1; k < 3; k++ {
						if d[k], err = lx.r.ReadByte(); err != nil || !isDigit(d[k]) {
							return nil, start, false, errBadEscape
						}
					}
					v, _ := strconv.Atoi(string(d[:]))
					if v > 255 {
						return nil, start, false, errBadEscape
					}
					cur.WriteByte(byte(v))
				} else {
					if n == '\n' {
						lx.line++
					}
					cur.WriteByte(n)
				}
			case '\n':
				lx.line++
				cur.WriteByte(c)
			default:
				cur.WriteByte(c)
			}
			continue
		}
		switch c {
		case '"':
			end()
			inTok, quoted, inQuote = true, true, true
		case ';':
			for c != '\n' {
				if c, err = lx.r.ReadByte(); err != nil {
					break
				}
			}
			if err != nil {
				continue
			}
			fallthrough
		case '\n':
			lx.line++
			if depth == 0 {
				end()
				return toks, start, blank, nil
			}
			end()
		case ' ', '\t', '\r':
			end()
		case '(':
			end()
			depth++
		case ')':
			end()
			if depth == 0 {
				return nil, start, false, errors.New("unbalanced parentheses")
			}
			depth--
		case '\\':
			n, err := lx.r.ReadByte()
			if err != nil {
				return nil, start, false, errBadEscape
			}
			inTok = true
			cur.WriteByte('\\')
			cur.WriteByte(n)
		default:
			inTok = true
			cur.WriteByte(c)
		}
	}
}

// WriteZone writes rrs as a master file: a $ORIGIN line, then one record
// per line with absolute names, in presentation form.
func WriteZone(w io.Writer, origin Name, rrs []RR) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "$ORIGIN %s\n", origin)
	for _, rr := range rrs {
		if rr.Data == nil {
			return errors.New("dns: write zone: record without data")
		}
		if _, ok := rr.Data.(*Unknown); ok {
			fmt.Fprintf(bw, "%s\t%d\t%s\t%s\t%s\n", rr.Name, rr.TTL, rr.Class, rr.Type(), rr.Data)
			continue
		}
		bw.WriteString(rr.String())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
