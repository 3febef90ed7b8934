package web

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzReadRequest reads and parses arbitrary bytes as a request head. It
// must not panic; what it accepts must be well formed, and where
// net/http's parser accepts the same head, both must agree on the method,
// the target and, above all, how long the body is: a disagreement there is
// what request smuggling is made of.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /p?q HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET http://h/x HTTP/1.0\n\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), readBufferSize)
		head, err := readHead(br, nil, 1024)
		if err != nil {
			return
		}
		if len(head) > 1024 {
			t.Fatalf("head of %d bytes, over the limit", len(head))
		}
		e := new(exchange)
		if err := parseRequest(string(head), e); err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.code < 400 || re.code > 599 {
				t.Fatalf("error %v is no refusal", err)
			}
			return
		}
		r := &e.req
		if !isToken(r.Method) || r.ProtoMajor != 1 || r.ProtoMinor > 1 || r.ContentLength < -1 {
			t.Fatalf("accepted a malformed request: %+v", r)
		}
		if (r.ContentLength == -1) != (len(r.TransferEncoding) == 1 && r.TransferEncoding[0] == "chunked") {
			t.Fatalf("ContentLength %d with TransferEncoding %q", r.ContentLength, r.TransferEncoding)
		}
		for k, vv := range r.Header {
			if k != http.CanonicalHeaderKey(k) || k == "Host" || k == "Transfer-Encoding" || k == "Expect" {
				t.Fatalf("header key %q", k)
			}
			for _, v := range vv {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header value %q", v)
				}
			}
		}
		if r.RequestURI != "*" {
			u, err := url.ParseRequestURI(r.RequestURI)
			if err != nil || !reflect.DeepEqual(*u, e.url) {
				t.Fatalf("URL %#v for %q; url.ParseRequestURI gives %#v, %v", e.url, r.RequestURI, u, err)
			}
		}
		// The same head through net/http's parser.
		theirs, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			return
		}
		if theirs.Method != r.Method || theirs.RequestURI != r.RequestURI {
			t.Fatalf("net/http reads %s %s, we read %s %s", theirs.Method, theirs.RequestURI, r.Method, r.RequestURI)
		}
		if theirs.ContentLength != r.ContentLength && !(r.ContentLength == 0 && theirs.ContentLength == -1) {
			t.Fatalf("net/http's body length %d, ours %d, for %q", theirs.ContentLength, r.ContentLength, head)
		}
	})
}

// FuzzServeConn serves one connection that sends arbitrary bytes. The
// server must not panic, must not hang (the connection's reads end at the
// end of the bytes), and must answer with a bounded amount.
func FuzzServeConn(f *testing.F) {
	for _, s := range []string{
		"GET /hello HTTP/1.1\r\nHost: h\r\n\r\nGET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n",
		"POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /flush HTTP/1.0\r\n\r\n",
		"GET /panic HTTP/1.1\r\nHost: h\r\n\r\n",
		"HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	s := &Server{Handler: fuzzHandler(), MaxBodyBytes: 1 << 12, MaxHeaderBytes: 1 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &memConn{in: bytes.NewReader(data), limit: outBound(len(data))}
		s.serveConn(c)
		if c.out.Len() > c.limit {
			t.Fatalf("%d bytes answered to %d", c.out.Len(), len(data))
		}
	})
}

// outBound is how much the fuzz handler may answer to n bytes: every
// request takes at least 16 of them, and each answer is at most a status
// line, a few fields, and 4 KiB or the body the request carried.
func outBound(n int) int { return (n/16+1)*(8<<10) + 2*n }

// fuzzHandler answers with at most 4 KiB plus the request's body.
func fuzzHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) })
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("a"), 3000))
		w.(http.Flusher).Flush()
		w.Write(bytes.Repeat([]byte("b"), 1000))
	})
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("fuzz") })
	return mux
}

// memConn is a connection whose client sent in, all of it, and then
// closed its side; the server's answer goes to out, up to limit bytes.
type memConn struct {
	in     *bytes.Reader
	out    bytes.Buffer
	limit  int
	writes int // calls of Write
}

func (c *memConn) Read(p []byte) (int, error) { return c.in.Read(p) }

func (c *memConn) Write(p []byte) (int, error) {
	c.writes++
	if c.out.Len()+len(p) > c.limit {
		return 0, errors.New("memConn: the answer is over its bound")
	}
	return c.out.Write(p)
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50000} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }
