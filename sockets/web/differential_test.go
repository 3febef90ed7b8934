package web

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// answer is what a client can tell of one response.
type answer struct {
	Status           int
	ContentType      string
	ContentLength    int64
	TransferEncoding []string
	Close            bool
	Fields           map[string]string // the test's fields
	Body             string
}

// exchangeRaw sends raw on a new connection to addr and reads the
// responses to the requests in it, whose methods are given (1xx responses
// count as responses of their own), until the server closes.
func exchangeRaw(t *testing.T, addr, raw string, methods []string) []answer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(c)
	var got []answer
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			break // the server closed
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			body = fmt.Appendf(body, "<%v>", err)
		}
		a := answer{
			Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), ContentLength: resp.ContentLength,
			TransferEncoding: resp.TransferEncoding, Close: resp.Close, Body: string(body),
			Fields: map[string]string{},
		}
		for _, k := range []string{"Etag", "Link", "X-Value", "Allow", "X-Content-Type-Options", "Content-Range"} {
			if v := resp.Header.Values(k); v != nil {
				a.Fields[k] = strings.Join(v, "|")
			}
		}
		got = append(got, a)
	}
	return got
}

// TestDifferentialNetHTTP sends the same bytes to this server and to
// net/http's, both running testHandler, and compares what a client sees:
// status, framing, selected fields and the body. The cases are those where
// the two must agree; where this server differs on purpose (a panicking
// handler gets a 500, not a dropped connection; HTTP/1.0 may carry
// Expect; stricter refusals) the transcripts show it.
func TestDifferentialNetHTTP(t *testing.T) {
	h := testHandler()
	ours := start(t, &Server{Handler: h, ErrorLog: testLog(t)})
	theirs := serveNetHTTP(t, h)
	get := func(path string, extra ...string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: www.example.org\r\n" + strings.Join(extra, "") + "\r\n"
	}
	tests := []struct {
		name    string
		raw     string
		methods []string
	}{
		{"get", get("/hello"), []string{"GET"}},
		{"head", "HEAD /hello HTTP/1.1\r\nHost: h\r\n\r\n", []string{"HEAD"}},
		{"http10", "GET /hello HTTP/1.0\r\n\r\n", []string{"GET"}},
		{"http10 keep-alive", "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/hello"), []string{"GET", "GET"}},
		{"close", get("/hello", "Connection: close\r\n") + get("/hello"), []string{"GET", "GET"}},
		{"pipelined", get("/hello") + get("/sniff") + get("/file") + get("/nowhere"), []string{"GET", "GET", "GET", "GET"}},
		{"info", get("/info?a=1&b=%20", "x-lower: one\r\nX-Lower: two\r\nAccept:  */* \r\n"), []string{"GET"}},
		{"info absolute", "GET http://example.org:81/info?q HTTP/1.1\r\nHost: other\r\n\r\n", []string{"GET"}},
		{"info escaped", get("/inf%6F?q=%41"), []string{"GET"}},
		{"info http10", "GET /info HTTP/1.0\r\nHost: h\r\n\r\n", []string{"GET"}},
		{"post", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + get("/hello"), []string{"POST", "GET"}},
		{"post chunked", "POST /info HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nA: b\r\n\r\n" + get("/hello"), []string{"POST", "GET"}},
		{"expect", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello", []string{"POST", "POST"}},
		{"unread body", "POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\nignored" + get("/hello"), []string{"POST", "GET"}},
		{"chunked response", get("/big?n=5000"), []string{"GET"}},
		{"long chunked response", get("/big?n=100000"), []string{"GET"}},
		{"close-delimited", "GET /big?n=5000 HTTP/1.0\r\n\r\n", []string{"GET"}},
		{"flush", get("/flush"), []string{"GET"}},
		{"flush with length", get("/length") + get("/hello"), []string{"GET", "GET"}},
		{"204", get("/no-content"), []string{"GET"}},
		{"304", get("/not-modified"), []string{"GET"}},
		{"103", get("/early-hints"), []string{"GET", "GET"}},
		{"superfluous WriteHeader", get("/twice"), []string{"GET"}},
		{"handler closes", get("/close") + get("/hello"), []string{"GET", "GET"}},
		{"response splitting", get("/split"), []string{"GET"}},
		{"no date", get("/no-date"), []string{"GET"}},
		{"file server", get("/www/hello.txt"), []string{"GET"}},
		{"file server range", get("/www/hello.txt", "Range: bytes=2-5\r\n"), []string{"GET"}},
		{"no host", "GET /hello HTTP/1.1\r\n\r\n", []string{"GET"}},
		{"two hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []string{"GET"}},
		{"version", "GET /hello HTTP/2.0\r\nHost: h\r\n\r\n", []string{"GET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := exchangeRaw(t, theirs, tt.raw, tt.methods)
			got := exchangeRaw(t, ours, tt.raw, tt.methods)
			if len(want) == 0 {
				t.Fatal("net/http answered nothing")
			}
			if want[0].Status >= 400 && tt.name != "file server range" && !strings.HasPrefix(tt.name, "info") {
				// Refusals: the server's own words differ.
				for i := range want {
					want[i].Body, want[i].ContentType, want[i].ContentLength, want[i].Fields = "", "", 0, nil
				}
				for i := range got {
					got[i].Body, got[i].ContentType, got[i].ContentLength, got[i].Fields = "", "", 0, nil
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("-net/http +ours:\n%s", diff)
			}
		})
	}
}

// TestDifferentialBodies: request bodies of many sizes, by Content-Length
// and chunked, echoed by both servers, byte for byte.
func TestDifferentialBodies(t *testing.T) {
	h := testHandler()
	ours := start(t, &Server{Handler: h, ErrorLog: testLog(t)})
	theirs := serveNetHTTP(t, h)
	for _, n := range []int{0, 1, 100, 4095, 4096, 4097, 70000} {
		body := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", n, body)
		if n == 0 {
			chunked = "0\r\n\r\n"
		}
		for _, raw := range []string{
			fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", n, body),
			"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
		} {
			want := exchangeRaw(t, theirs, raw, []string{"POST"})
			got := exchangeRaw(t, ours, raw, []string{"POST"})
			if len(got) != 1 || len(want) != 1 {
				t.Fatalf("%d bytes, %.40q: %d responses from net/http, %d from ours", n, raw, len(want), len(got))
			}
			if got[0].Status != want[0].Status || got[0].Body != want[0].Body || got[0].Body != string(body) {
				t.Errorf("%d bytes, %.40q: net/http %d with %d bytes, ours %d with %d bytes", n, raw, want[0].Status, len(want[0].Body), got[0].Status, len(got[0].Body))
			}
		}
	}
}
