package imap

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// This file is the client's half of the grammar: responses.

// An Atom is an atom in a parsed response ("FLAGS", `\Seen`, "1234").
// Strings are Go strings, NIL is nil, and parenthesised lists are []any.
type Atom string

// A StatusResponse is OK, NO, BAD, PREAUTH or BYE with its optional
// response code ("TRYCREATE", "APPENDUID 1 5") and human-readable text. A
// command that ends in NO or BAD returns it as its error.
type StatusResponse struct {
	Tag  string
	Type string // OK, NO, BAD, PREAUTH, BYE
	Code string // the bracketed response code, without the brackets
	Text string
}

func (r *StatusResponse) Error() string {
	if r.Code != "" {
		return fmt.Sprintf("imap: %s [%s] %s", r.Type, r.Code, r.Text)
	}
	return fmt.Sprintf("imap: %s %s", r.Type, r.Text)
}

// response is one parsed server response.
type response struct {
	tag    string // "*", "+" or the command's tag
	status *StatusResponse
	num    uint32 // for "* n EXISTS" and the like
	name   string // EXISTS, FETCH, CAPABILITY, LIST, SEARCH...
	fields []any
	fetch  *FetchMessage
}

// readText reads the rest of the line as text.
func (r *reader) readText() (string, error) {
	var b []byte
	for {
		c, err := r.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		b = append(b, c)
	}
}

// value reads one value of a response: a list, a string, NIL, a number or
// an atom.
func (r *reader) value() (any, error) {
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case '(':
		list := []any{}
		err := r.list(func() error {
			v, err := r.value()
			list = append(list, v)
			return err
		})
		return list, err
	case '"':
		return r.quoted()
	case '{':
		b, err := r.literalBytes()
		return string(b), err
	case '~':
		r.readByte()
		b, err := r.literalBytes()
		return string(b), err
	case '\\':
		f, err := r.flag()
		return Atom(f), err
	}
	a, err := r.atom("[]")
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(a, "NIL") {
		return nil, nil
	}
	return Atom(a), nil
}

// readResponse reads one response; body, if set, receives the literal of
// each BODY[...] or BINARY[...] item of a FETCH instead of memory.
func (r *reader) readResponse(body func(m *FetchMessage, section string, rd io.Reader) error) (*response, error) {
	r.reset()
	tag, err := r.atom("")
	if err != nil {
		if c, _ := r.peek(); c == '*' {
			r.readByte()
			tag = "*"
		} else if c == '+' {
			r.readByte()
			tag = "+"
		} else {
			return nil, err
		}
	}
	resp := &response{tag: tag}
	if tag == "+" {
		text, err := r.readText()
		resp.status = &StatusResponse{Tag: "+", Text: strings.TrimSpace(text)}
		return resp, err
	}
	if err := r.sp(); err != nil {
		return nil, err
	}
	word, err := r.atom("")
	if err != nil {
		return nil, err
	}
	if n, err := strconv.ParseUint(word, 10, 32); err == nil && tag == "*" {
		resp.num = uint32(n)
		if err := r.sp(); err != nil {
			return nil, err
		}
		if word, err = r.atom(""); err != nil {
			return nil, err
		}
		resp.name = strings.ToUpper(word)
		if resp.name == "FETCH" {
			if err := r.sp(); err != nil {
				return nil, err
			}
			resp.fetch = &FetchMessage{Seq: resp.num, Body: map[string][]byte{}}
			if err := r.fetchData(resp.fetch, body); err != nil {
				return nil, err
			}
		}
		return resp, r.crlf()
	}
	resp.name = strings.ToUpper(word)
	switch resp.name {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		st := &StatusResponse{Tag: tag, Type: resp.name}
		if c, _ := r.peek(); c == ' ' {
			r.readByte()
			if c, _ := r.peek(); c == '[' {
				r.readByte()
				var code []byte
				for {
					c, err := r.readByte()
					if err != nil {
						return nil, err
					}
					if c == ']' {
						break
					}
					if c == '\n' {
						return nil, syntaxErr("unterminated response code")
					}
					code = append(code, c)
				}
				st.Code = string(code)
				if c, _ := r.peek(); c == ' ' {
					r.readByte()
				}
			}
		}
		text, err := r.readText()
		st.Text = text
		resp.status = st
		return resp, err
	}
	for !r.atEOL() {
		if err := r.sp(); err != nil {
			return nil, err
		}
		if r.atEOL() {
			break // a trailing space, as some servers send
		}
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		resp.fields = append(resp.fields, v)
	}
	return resp, r.crlf()
}

// fetchData reads the parenthesised data of a FETCH response.
func (r *reader) fetchData(m *FetchMessage, body func(m *FetchMessage, section string, rd io.Reader) error) error {
	return r.list(func() error {
		var name []byte
		for {
			c, err := r.peek()
			if err != nil {
				return err
			}
			if c == ' ' {
				break
			}
			r.readByte()
			name = append(name, c)
			if c == '[' {
				for c != ']' {
					if c, err = r.readByte(); err != nil {
						return err
					}
					name = append(name, c)
					if len(name) > 1024 {
						return syntaxErr("section too long")
					}
				}
			}
			if len(name) > 1100 {
				return syntaxErr("fetch item too long")
			}
		}
		if err := r.sp(); err != nil {
			return err
		}
		key := strings.ToUpper(string(name))
		if strings.Contains(key, "[") && !strings.HasPrefix(key, "BINARY.SIZE") {
			if c, _ := r.peek(); (c == '{' || c == '~') && body != nil {
				if c == '~' {
					r.readByte()
				}
				n, _, err := r.literalHeader()
				if err != nil {
					return err
				}
				lr := io.LimitReader(r.br, n)
				err = body(m, key, lr)
				io.Copy(io.Discard, lr)
				r.line = 0
				return err
			}
		}
		v, err := r.value()
		if err != nil {
			return err
		}
		return m.set(key, v)
	})
}

// A FetchMessage is the data a FETCH returned for one message.
type FetchMessage struct {
	Seq           uint32
	UID           uint32
	Flags         []string
	InternalDate  time.Time
	Size          int64
	Envelope      *Envelope
	BodyStructure *BodyStructure
	// Raw holds ENVELOPE, BODYSTRUCTURE and BODY as parsed values, for
	// comparing servers.
	Raw map[string]any
	// Body holds the sections fetched (key as the server named it, such
	// as "BODY[TEXT]" or "BODY[]<0>"), unless a streaming callback took
	// them.
	Body map[string][]byte
	// FlagsSeen is set when the response carried FLAGS.
	FlagsSeen bool
}

func (m *FetchMessage) set(key string, v any) error {
	if m.Raw == nil {
		m.Raw = map[string]any{}
	}
	switch key {
	case "UID":
		n, err := atomNumber(v)
		m.UID = uint32(n)
		return err
	case "FLAGS":
		list, _ := v.([]any)
		m.Flags = []string{}
		for _, f := range list {
			s, _ := f.(Atom)
			m.Flags = append(m.Flags, string(s))
		}
		m.FlagsSeen = true
	case "RFC822.SIZE":
		n, err := atomNumber(v)
		m.Size = n
		return err
	case "INTERNALDATE":
		s, _ := v.(string)
		t, err := internalDate(s)
		if err != nil {
			return syntaxErr("bad INTERNALDATE %q", s)
		}
		m.InternalDate = t
	case "ENVELOPE":
		m.Raw[key] = v
		m.Envelope = parseEnvelope(v)
	case "BODYSTRUCTURE", "BODY":
		m.Raw[key] = v
		m.BodyStructure = parseBodyStructure(v, 0)
	default:
		s, _ := v.(string)
		if a, ok := v.(Atom); ok {
			s = string(a)
		}
		m.Body[key] = []byte(s)
	}
	return nil
}

func atomNumber(v any) (int64, error) {
	a, _ := v.(Atom)
	n, err := strconv.ParseInt(string(a), 10, 64)
	if err != nil {
		return 0, syntaxErr("expected a number, got %v", v)
	}
	return n, nil
}

// An Envelope is a message's ENVELOPE: the main header fields, as the
// server sent them (encoded words are not decoded).
type Envelope struct {
	Date, Subject                      string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo, MessageID               string
}

// An Address is one address of an ENVELOPE.
type Address struct {
	Name, Mailbox, Host string
}

// String formats the address as "Name <mailbox@host>".
func (a Address) String() string {
	addr := a.Mailbox + "@" + a.Host
	if a.Name == "" {
		return addr
	}
	return a.Name + " <" + addr + ">"
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case Atom:
		return string(s)
	}
	return ""
}

func parseEnvelope(v any) *Envelope {
	l, _ := v.([]any)
	if len(l) < 10 {
		return nil
	}
	addrs := func(v any) []Address {
		var out []Address
		list, _ := v.([]any)
		for _, a := range list {
			f, _ := a.([]any)
			if len(f) == 4 && f[3] != nil {
				out = append(out, Address{Name: str(f[0]), Mailbox: str(f[2]), Host: str(f[3])})
			}
		}
		return out
	}
	return &Envelope{Date: str(l[0]), Subject: str(l[1]), From: addrs(l[2]), Sender: addrs(l[3]),
		ReplyTo: addrs(l[4]), To: addrs(l[5]), Cc: addrs(l[6]), Bcc: addrs(l[7]),
		InReplyTo: str(l[8]), MessageID: str(l[9])}
}

// A BodyStructure is a message's MIME structure as BODYSTRUCTURE gives it.
type BodyStructure struct {
	Type, Subtype string // lowercased
	Params        map[string]string
	ID            string
	Description   string
	Encoding      string
	Size          int64
	Lines         int64
	Parts         []*BodyStructure // of a multipart
	Envelope      *Envelope        // of a message/rfc822
	Message       *BodyStructure   // of a message/rfc822
	Disposition   string
}

func parseParams(v any) map[string]string {
	l, _ := v.([]any)
	if len(l) < 2 {
		return nil
	}
	m := map[string]string{}
	for i := 0; i+1 < len(l); i += 2 {
		m[strings.ToLower(str(l[i]))] = str(l[i+1])
	}
	return m
}

func parseBodyStructure(v any, depth int) *BodyStructure {
	l, _ := v.([]any)
	if len(l) == 0 || depth > maxDepth {
		return nil
	}
	bs := &BodyStructure{}
	if _, multi := l[0].([]any); multi {
		bs.Type = "multipart"
		i := 0
		for ; i < len(l); i++ {
			if _, ok := l[i].([]any); !ok {
				break
			}
			if p := parseBodyStructure(l[i], depth+1); p != nil {
				bs.Parts = append(bs.Parts, p)
			}
		}
		if i < len(l) {
			bs.Subtype = strings.ToLower(str(l[i]))
		}
		if i+1 < len(l) {
			bs.Params = parseParams(l[i+1])
		}
		if i+2 < len(l) {
			if d, ok := l[i+2].([]any); ok && len(d) > 0 {
				bs.Disposition = strings.ToLower(str(d[0]))
			}
		}
		return bs
	}
	if len(l) < 7 {
		return nil
	}
	bs.Type, bs.Subtype = strings.ToLower(str(l[0])), strings.ToLower(str(l[1]))
	bs.Params = parseParams(l[2])
	bs.ID, bs.Description, bs.Encoding = str(l[3]), str(l[4]), strings.ToLower(str(l[5]))
	bs.Size, _ = atomNumber(l[6])
	rest := l[7:]
	switch {
	case bs.Type == "message" && (bs.Subtype == "rfc822" || bs.Subtype == "global") && len(rest) >= 3:
		bs.Envelope = parseEnvelope(rest[0])
		bs.Message = parseBodyStructure(rest[1], depth+1)
		bs.Lines, _ = atomNumber(rest[2])
		rest = rest[3:]
	case bs.Type == "text" && len(rest) >= 1:
		bs.Lines, _ = atomNumber(rest[0])
		rest = rest[1:]
	}
	if len(rest) >= 2 {
		if d, ok := rest[1].([]any); ok && len(d) > 0 {
			bs.Disposition = strings.ToLower(str(d[0]))
		}
	}
	return bs
}
