package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// A requestError is a request the server refuses before any handler sees
// it: the status it answers with (always closing the connection) and why.
type requestError struct {
	code   int
	reason string
}

func (e *requestError) Error() string {
	return fmt.Sprintf("web: %d %s: %s", e.code, http.StatusText(e.code), e.reason)
}

func refusal(code int, reason string) *requestError {
	return &requestError{code: code, reason: reason}
}

// An exchange is one request and its response. It is allocated once per
// request, with the URL, the response writer and the body reader inside.
type exchange struct {
	req  http.Request
	url  url.URL
	resp response
	body body
}

// readRequest reads the next request head from the connection and makes
// the exchange for it.
func (c *conn) readRequest() (*exchange, error) {
	var err error
	c.head, err = readHead(c.br, c.head, c.srv.maxHeaderBytes())
	if err != nil {
		return nil, err
	}
	e := new(exchange)
	if err := parseRequest(string(c.head), e); err != nil {
		return nil, err
	}
	if e.req.ContentLength > c.srv.maxBodyBytes() {
		return nil, refusal(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("Content-Length %d is more than the %d bytes this server accepts", e.req.ContentLength, c.srv.maxBodyBytes()))
	}
	// Request.WithContext is the only way to set a request's context; on a
	// request on the stack it costs no allocation.
	e.req = *e.req.WithContext(c.ctx)
	e.req.RemoteAddr = c.remoteAddr
	e.resp.init(c, &e.req, &e.body)
	e.body.init(c, &e.resp, e.req.ContentLength, c.srv.maxBodyBytes())
	if e.req.ContentLength == 0 {
		e.req.Body = http.NoBody
	} else {
		e.req.Body = &e.body
	}
	return e, nil
}

// readHead reads a request head: the request line, the field lines, and
// the empty line that ends them, each line ending in CRLF or a bare LF
// (RFC 9112 §2.2 lets a server take LF alone for the end of a line, as
// nginx and net/http do). It appends the head to buf[:0] and returns it.
// Empty lines before the request line are skipped, as §2.2 asks. At most
// limit bytes are read, empty lines included: a request line that does not
// fit is refused with 414 (URI Too Long), a head that does not fit with
// 431 (Request Header Fields Too Large). Other errors are the connection's
// (a timeout, the client closing): nothing can be answered then.
func readHead(br *bufio.Reader, buf []byte, limit int) ([]byte, error) {
	buf = buf[:0]
	lineStart := 0   // where the line being read starts in buf
	skipped := 0     // bytes of empty lines before the request line
	gotLine := false // the request line is complete
	for {
		frag, err := br.ReadSlice('\n')
		if skipped+len(buf)+len(frag) > limit {
			if !gotLine {
				return buf, refusal(http.StatusRequestURITooLong,
					fmt.Sprintf("the request line is longer than %d bytes", limit))
			}
			return buf, refusal(http.StatusRequestHeaderFieldsTooLarge,
				fmt.Sprintf("the request head is longer than %d bytes", limit))
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue // the line goes on
		}
		if err != nil {
			if err == io.EOF && len(buf)+skipped > 0 {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
		line := buf[lineStart:]
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			if gotLine {
				return buf, nil
			}
			skipped += len(line)
			buf = buf[:0]
			continue
		}
		gotLine = true
		lineStart = len(buf)
	}
}

// nextLine splits the first line off s, without its LF and the CR
// before it.
func nextLine(s string) (line, rest string) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		return s, ""
	}
	line, rest = s[:i], s[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// parseRequest parses a request head read by readHead into e: the request
// line (RFC 9112 §3), the field lines (§5), and what they say about the
// message body (§6). What the server cannot accept is a *requestError.
func parseRequest(head string, e *exchange) error {
	r := &e.req
	line, rest := nextLine(head)
	method, rest1, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 {
		return refusal(http.StatusBadRequest, "the request line is not method, target and version separated by single spaces")
	}
	major, minor, ok := parseVersion(proto)
	if !ok {
		return refusal(http.StatusBadRequest, fmt.Sprintf("malformed HTTP version %q", proto))
	}
	if major != 1 || minor > 1 {
		return refusal(http.StatusHTTPVersionNotSupported, fmt.Sprintf("this server speaks HTTP/1.0 and HTTP/1.1, not %s", proto))
	}
	if !isToken(method) {
		return refusal(http.StatusBadRequest, fmt.Sprintf("malformed method %q", method))
	}
	if target == "" {
		return refusal(http.StatusBadRequest, "empty request target")
	}
	for i := 0; i < len(target); i++ {
		if b := target[i]; b <= ' ' || b == 0x7f {
			return refusal(http.StatusBadRequest, "control character in the request target")
		}
	}
	r.Method, r.RequestURI, r.Proto, r.ProtoMajor, r.ProtoMinor = method, target, proto, major, minor
	r.URL = &e.url
	absolute := false
	switch {
	case target[0] == '/': // origin-form: "/index.html?q=1"
		if !parseOriginForm(target, &e.url) {
			u, err := url.ParseRequestURI(target)
			if err != nil {
				return refusal(http.StatusBadRequest, fmt.Sprintf("malformed request target %q", target))
			}
			e.url = *u
		}
	case target == "*": // asterisk-form, for the server as a whole
		if method != http.MethodOptions {
			return refusal(http.StatusBadRequest, "the target * is for OPTIONS only")
		}
		e.url.Path = "*"
	case method == http.MethodConnect: // authority-form
		return refusal(http.StatusNotImplemented, "this server opens no CONNECT tunnels")
	default: // absolute-form: "http://www.example.org/index.html", sent to proxies
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return refusal(http.StatusBadRequest, fmt.Sprintf("malformed request target %q", target))
		}
		e.url = *u
		absolute = true
	}

	// The field lines. Every value is a substring of head: one string
	// holds them all.
	n := strings.Count(rest, "\n") // the field lines and the empty line
	if n-1 > MaxHeaderFields {
		return refusal(http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("more than %d header fields", MaxHeaderFields))
	}
	h := make(http.Header, n)
	var values []string // every field's first value, made when needed
	var (
		hosts, host   = 0, ""
		contentLength = int64(-1)
		teFields      = 0 // Transfer-Encoding field lines
		codings       = 0 // transfer codings named
		chunked       = 0 // of which "chunked"
		connClose     = false
		keepAlive     = false
		expect        = ""
	)
	for {
		line, rest = nextLine(rest)
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return refusal(http.StatusBadRequest, "obsolete line folding (a field line starting with whitespace)")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return refusal(http.StatusBadRequest, fmt.Sprintf("field line without a colon: %.40q", line))
		}
		if name == "" {
			return refusal(http.StatusBadRequest, "a field line with no name")
		}
		if !isToken(name) {
			if last := name[len(name)-1]; last == ' ' || last == '\t' {
				return refusal(http.StatusBadRequest, fmt.Sprintf("whitespace between the field name %.40q and the colon", strings.TrimRight(name, " \t")))
			}
			return refusal(http.StatusBadRequest, fmt.Sprintf("malformed field name %.40q", name))
		}
		value = strings.Trim(value, " \t")
		if !validFieldValue(value) {
			return refusal(http.StatusBadRequest, fmt.Sprintf("control character in the value of %s", name))
		}
		key := http.CanonicalHeaderKey(name)
		switch key {
		// The fields that are about the message, not its content, are
		// taken out (as net/http does): Host goes to Request.Host,
		// Transfer-Encoding to Request.TransferEncoding, and Expect is
		// the server's to answer.
		case "Host":
			hosts++
			host = value
			continue
		case "Transfer-Encoding":
			teFields++
			for coding := range strings.SplitSeq(value, ",") {
				coding = strings.Trim(coding, " \t")
				if coding == "" {
					continue
				}
				codings++
				if strings.EqualFold(coding, "chunked") {
					chunked++
				} else {
					return refusal(http.StatusNotImplemented, fmt.Sprintf("unknown transfer coding %.40q", coding))
				}
			}
			continue
		case "Expect":
			expect = value
			continue
		case "Content-Length":
			var err *requestError
			if contentLength, err = parseContentLength(value, contentLength); err != nil {
				return err
			}
		case "Connection":
			for opt := range strings.SplitSeq(value, ",") {
				opt = strings.Trim(opt, " \t")
				connClose = connClose || strings.EqualFold(opt, "close")
				keepAlive = keepAlive || strings.EqualFold(opt, "keep-alive")
			}
		}
		if vv := h[key]; vv != nil {
			h[key] = append(vv, value)
			continue
		}
		if len(values) == 0 {
			values = make([]string, strings.Count(rest, "\n")+1)
		}
		values[0] = value
		h[key] = values[:1:1]
		values = values[1:]
	}

	// Host: every HTTP/1.1 request names it exactly once (RFC 9112 §3.2).
	if hosts > 1 {
		return refusal(http.StatusBadRequest, "more than one Host field")
	}
	if hosts == 0 && minor == 1 {
		return refusal(http.StatusBadRequest, "an HTTP/1.1 request without a Host field")
	}
	if !validHost(host) {
		return refusal(http.StatusBadRequest, fmt.Sprintf("malformed Host %.40q", host))
	}
	r.Host = host
	if absolute {
		r.Host = e.url.Host // the target's authority wins (RFC 9112 §3.2.2)
	}

	// The body's length (RFC 9112 §6.3): chunked, Content-Length, or none.
	switch {
	case teFields > 0 && codings == 0:
		return refusal(http.StatusBadRequest, "a Transfer-Encoding that names no coding")
	case codings > 0 && minor == 0:
		return refusal(http.StatusBadRequest, "Transfer-Encoding in an HTTP/1.0 request")
	case codings > 0 && contentLength >= 0:
		// Two framings: a proxy before us may have read the other one,
		// and the rest of this body would be taken for a request
		// (request smuggling).
		return refusal(http.StatusBadRequest, "both Content-Length and Transfer-Encoding")
	case codings > 0 && chunked != 1:
		return refusal(http.StatusBadRequest, "chunked is named more than once in Transfer-Encoding")
	case codings > 0:
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
	case contentLength >= 0:
		r.ContentLength = contentLength
	}

	// Persistent connections (RFC 9112 §9.3): HTTP/1.1 keeps the
	// connection unless "close" is said; HTTP/1.0 closes it unless
	// "keep-alive" is.
	r.Close = connClose || (minor == 0 && !keepAlive)

	if expect != "" {
		switch {
		case minor == 0:
			// RFC 9110 §10.1.1: ignored in HTTP/1.0.
		case strings.EqualFold(expect, "100-continue"):
			e.body.expectContinue = r.ContentLength != 0
		default:
			return refusal(http.StatusExpectationFailed, fmt.Sprintf("unknown expectation %.40q", expect))
		}
	}
	// As net/http does for HTTP/1.0 caches: "Pragma: no-cache" stands for
	// "Cache-Control: no-cache" when that is not said.
	if hp := h["Pragma"]; len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	r.Header = h
	return nil
}

// parseVersion parses "HTTP/1.1" into 1 and 1.
func parseVersion(s string) (major, minor int, ok bool) {
	if len(s) != len("HTTP/x.y") || s[:5] != "HTTP/" || s[6] != '.' || !isDigit(s[5]) || !isDigit(s[7]) {
		return 0, 0, false
	}
	return int(s[5] - '0'), int(s[7] - '0'), true
}

// parseOriginForm fills u from an origin-form target whose path needs no
// escaping ("/a/b?x=1"), as url.ParseRequestURI would, without the
// allocation. It reports false for targets it leaves to
// url.ParseRequestURI: those with escapes or characters a path escapes.
func parseOriginForm(target string, u *url.URL) bool {
	path, query, hasQuery := strings.Cut(target, "?")
	for i := 0; i < len(path); i++ {
		if !isPathChar(path[i]) {
			return false
		}
	}
	u.Path = path
	if hasQuery {
		if query == "" {
			u.ForceQuery = true
		}
		u.RawQuery = query
	}
	return true
}

// isPathChar reports whether b stands for itself in a URL path (RFC 3986
// section 3.3, as net/url escapes paths).
func isPathChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', isDigit(b):
		return true
	}
	return strings.IndexByte("-._~$&+,/:;=@", b) >= 0
}

// parseContentLength parses a Content-Length value: a decimal number, or a
// list of the same number ("42, 42", as several proxies may make of one
// field). prev is the value of an earlier Content-Length field (-1 if
// none), which this one must repeat.
func parseContentLength(value string, prev int64) (int64, *requestError) {
	n := prev
	for part := range strings.SplitSeq(value, ",") {
		part = strings.Trim(part, " \t")
		if part == "" || len(part) > 18 {
			return 0, refusal(http.StatusBadRequest, fmt.Sprintf("malformed Content-Length %.40q", value))
		}
		var v int64
		for i := 0; i < len(part); i++ {
			if !isDigit(part[i]) {
				return 0, refusal(http.StatusBadRequest, fmt.Sprintf("malformed Content-Length %.40q", value))
			}
			v = v*10 + int64(part[i]-'0')
		}
		if n >= 0 && v != n {
			return 0, refusal(http.StatusBadRequest, "Content-Length fields that differ")
		}
		n = v
	}
	return n, nil
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// isTokenChar reports whether b may appear in a token (RFC 9110 §5.6.2):
// a method or a field name.
func isTokenChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', isDigit(b):
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// validFieldValue reports whether a field value has no control character
// but HTAB (RFC 9110 §5.5): no CR, LF or NUL to split or cut it.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// validHost reports whether h can be a Host value: a host name, an IPv4
// address or a bracketed IPv6 address, and an optional port (RFC 3986
// §3.2.2), or empty. It checks the characters, not the syntax.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		b := h[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', isDigit(b):
		case strings.IndexByte("-._~!$&'()*+,;=:[]%", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// errAfterHandler is what a request body or a response writer returns
// once its handler has returned.
var errAfterHandler = errors.New("web: use of a request or response after its handler returned")
