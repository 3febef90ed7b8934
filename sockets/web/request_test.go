package web

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parse reads and parses one request head from text, as the server does.
func parse(text string, limit int) (*exchange, error) {
	br := bufio.NewReaderSize(strings.NewReader(text), readBufferSize)
	head, err := readHead(br, nil, limit)
	if err != nil {
		return nil, err
	}
	e := new(exchange)
	return e, parseRequest(string(head), e)
}

// code is the status a parse error asks for, 0 for none, -1 for an error
// that is not a refusal.
func code(err error) int {
	var re *requestError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &re):
		return re.code
	}
	return -1
}

func TestParseRequest(t *testing.T) {
	type want struct {
		Method, RequestURI, Host, Proto string
		Path, RawQuery                  string
		URLHost                         string
		ContentLength                   int64
		TransferEncoding                []string
		Close                           bool
		Header                          http.Header
	}
	tests := []struct {
		name, in string
		want     want
	}{
		{"get", "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
			want{Method: "GET", RequestURI: "/a/b?x=1", Host: "h", Proto: "HTTP/1.1", Path: "/a/b", RawQuery: "x=1", Header: http.Header{}}},
		{"http10 closes", "GET / HTTP/1.0\r\n\r\n",
			want{Method: "GET", RequestURI: "/", Proto: "HTTP/1.0", Path: "/", Close: true, Header: http.Header{}}},
		{"http10 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			want{Method: "GET", RequestURI: "/", Proto: "HTTP/1.0", Path: "/", Header: http.Header{"Connection": {"Keep-Alive"}}}},
		{"http11 close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n",
			want{Method: "GET", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", Close: true, Header: http.Header{"Connection": {"foo, close"}}}},
		{"canonical keys and order", "GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\nX-A: 2\r\nACCEPT:  */* \r\n\r\n",
			want{Method: "GET", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", Header: http.Header{"X-A": {"1", "2"}, "Accept": {"*/*"}}}},
		{"empty value", "GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n\r\n",
			want{Method: "GET", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", Header: http.Header{"X-Empty": {""}}}},
		{"force query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
			want{Method: "GET", RequestURI: "/a?", Host: "h", Proto: "HTTP/1.1", Path: "/a", Header: http.Header{}}},
		{"absolute form", "GET http://example.org:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
			want{Method: "GET", RequestURI: "http://example.org:81/p?q", Host: "example.org:81", URLHost: "example.org:81", Proto: "HTTP/1.1", Path: "/p", RawQuery: "q", Header: http.Header{}}},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
			want{Method: "OPTIONS", RequestURI: "*", Host: "h", Proto: "HTTP/1.1", Path: "*", Header: http.Header{}}},
		{"content length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n",
			want{Method: "POST", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", ContentLength: 42, Header: http.Header{"Content-Length": {"42"}}}},
		{"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n",
			want{Method: "POST", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", ContentLength: -1, TransferEncoding: []string{"chunked"}, Header: http.Header{}}},
		{"pragma", "GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
			want{Method: "GET", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", Header: http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}}}},
		{"bare LF", "GET / HTTP/1.1\nHost: h\n\n",
			want{Method: "GET", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", Header: http.Header{}}},
		{"expect taken out", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
			want{Method: "PUT", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", ContentLength: 1, Header: http.Header{"Content-Length": {"1"}}}},
		{"obs-text in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n",
			want{Method: "GET", RequestURI: "/", Host: "h", Proto: "HTTP/1.1", Path: "/", Header: http.Header{"X-Name": {"caf\xc3\xa9"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parse(tt.in, DefaultMaxHeaderBytes)
			if err != nil {
				t.Fatal(err)
			}
			r := &e.req
			got := want{r.Method, r.RequestURI, r.Host, r.Proto, r.URL.Path, r.URL.RawQuery, r.URL.Host,
				r.ContentLength, r.TransferEncoding, r.Close, r.Header}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParseRequestRefusals(t *testing.T) {
	many := "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X-A: 1\r\n", MaxHeaderFields) + "\r\n"
	tests := []struct {
		name, in string
		code     int
	}{
		{"no version", "GET /\r\n\r\n", 400},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
		{"HTTP/2", "PRI * HTTP/2.0\r\n\r\n", 505},
		{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505},
		{"HTTP/0.9 line", "GET /\r\n\r\n", 400},
		{"bad method", "GE(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"empty method", " / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"control in target", "GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"DEL in target", "GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"asterisk with GET", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 501},
		{"bad escape", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"two hosts in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n", 400},
		{"bad name", "GET / HTTP/1.1\r\nHost: h\r\nX(Y): x\r\n\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400},
		{"too many fields", many, 431},
		{"CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"unknown TE", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 501},
		{"chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400},
		{"empty TE", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\nContent-Length: 1\r\n\r\n", 400},
		{"TE of commas", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , ,\r\n\r\n", 400},
		{"CL differs", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"CL list differs", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", 400},
		{"CL sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400},
		{"CL empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400},
		{"CL hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400},
		{"CL too long", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456789\r\n\r\n", 400},
		{"expectation", "POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.in, DefaultMaxHeaderBytes)
			if got := code(err); got != tt.code {
				t.Errorf("status %d (%v), want %d", got, err, tt.code)
			}
		})
	}
}

func TestReadHeadLimits(t *testing.T) {
	tests := []struct {
		name, in string
		limit    int
		code     int
	}{
		{"fits", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, 0},
		{"one byte over", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 26, 431},
		{"request line over", "GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\n\r\n", 64, 414},
		{"request line without end", strings.Repeat("a", 10000), 64, 414},
		{"field over", "GET / HTTP/1.1\r\nCookie: " + strings.Repeat("c", 100) + "\r\n\r\n", 64, 431},
		{"long line across the read buffer", "GET / HTTP/1.1\r\nCookie: " + strings.Repeat("c", 3*readBufferSize) + "\r\nHost: h\r\n\r\n", DefaultMaxHeaderBytes, 0},
		{"empty lines count", strings.Repeat("\r\n", 40) + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 64, 414},
		{"empty lines skipped", "\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 64, 0},
		{"cut short", "GET / HTTP/1.1\r\nHost: h\r\n", 64, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.in, tt.limit)
			if got := code(err); got != tt.code {
				t.Errorf("status %d (%v), want %d", got, err, tt.code)
			}
		})
	}
	// A head cut short is the connection's error, not a refusal.
	br := bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\n"))
	if _, err := readHead(br, nil, 100); err != io.ErrUnexpectedEOF {
		t.Errorf("cut short: %v, want io.ErrUnexpectedEOF", err)
	}
	br = bufio.NewReader(strings.NewReader(""))
	if _, err := readHead(br, nil, 100); err != io.EOF {
		t.Errorf("nothing: %v, want io.EOF", err)
	}
}

// TestParseOriginForm: the allocation-free path gives the URL that
// url.ParseRequestURI gives.
func TestParseOriginForm(t *testing.T) {
	for _, target := range []string{"/", "/a/b", "/a?", "/a??", "/a?b=1&c", "/a?b#c", "/a?%zz", "//host/path", "/a;b=1,c", "/:colon@x", "/-._~$&+"} {
		var got url.URL
		if !parseOriginForm(target, &got) {
			t.Errorf("%q: not taken", target)
			continue
		}
		want, err := url.ParseRequestURI(target)
		if err != nil {
			t.Errorf("%q: %v", target, err)
			continue
		}
		if diff := cmp.Diff(*want, got); diff != "" {
			t.Errorf("%q: -ParseRequestURI +ours:\n%s", target, diff)
		}
	}
	for _, target := range []string{"/a%20b", "/a#frag", "/a(b)", "/caf\xc3\xa9", "/a!"} {
		if parseOriginForm(target, new(url.URL)) {
			t.Errorf("%q was taken", target)
		}
	}
}

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		line string
		size int64
		ok   bool
	}{
		{"0", 0, true},
		{"a", 10, true},
		{"FF", 255, true},
		{"1f;name=value", 31, true},
		{"5 ;ext", 5, true},
		{"000000000000001", 1, true},
		{"fffffffffffffff", 1<<60 - 1, true},
		{"1000000000000000", 0, false}, // 16 digits
		{"", 0, false},
		{"x", 0, false},
		{"5x", 0, false},
		{"-5", 0, false},
		{" 5", 0, false},
		{"5 x", 0, false},
	}
	for _, tt := range tests {
		size, err := parseChunkSize([]byte(tt.line))
		if (err == nil) != tt.ok || size != tt.size {
			t.Errorf("parseChunkSize(%q) = %d, %v; want %d, ok %v", tt.line, size, err, tt.size, tt.ok)
		}
	}
}

func TestParseContentLength(t *testing.T) {
	tests := []struct {
		value string
		prev  int64
		want  int64
		ok    bool
	}{
		{"0", -1, 0, true},
		{"42", -1, 42, true},
		{"42, 42", -1, 42, true},
		{" 42 ,42", -1, 42, true},
		{"42", 42, 42, true},
		{"42", 41, 0, false},
		{"42,", -1, 0, false},
		{"+42", -1, 0, false},
		{"4 2", -1, 0, false},
		{"999999999999999999", -1, 999999999999999999, true},
		{"9999999999999999999", -1, 0, false},
	}
	for _, tt := range tests {
		got, err := parseContentLength(tt.value, tt.prev)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseContentLength(%q, %d) = %d, %v; want %d, ok %v", tt.value, tt.prev, got, err, tt.want, tt.ok)
		}
	}
}

// TestParseAllocations: a plain GET costs the exchange, the head's string
// and the header map, and nothing per field beyond one shared slice.
func TestParseAllocations(t *testing.T) {
	head := []byte("GET /index.html?q=1 HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		e := new(exchange)
		if err := parseRequest(string(head), e); err != nil {
			t.Fatal(err)
		}
	})
	// exchange, head string, header map (and its table), values
	if allocs > 5 {
		t.Errorf("%v allocations per request head, want at most 5", allocs)
	}
}

func TestHeadBuffered(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
		{"GET / HTTP/1.1\nHost: h\n\n", true},
		{"GET / HTTP/1.1\r\nHost: h\r\n", false},
		{"\r\n\r\nGET / HTTP/1.1\r\n", false},
		{"\r\n\r\n", false},
		{"", false},
	} {
		br := bufio.NewReader(strings.NewReader(tt.in))
		br.Peek(len(tt.in))
		if got := headBuffered(br); got != tt.want {
			t.Errorf("headBuffered(%q) = %v", tt.in, got)
		}
	}
}
