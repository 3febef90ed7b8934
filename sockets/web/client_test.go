package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bigFile writes a file of n bytes, no two 4 KiB blocks alike, and
// returns its path and contents.
func bigFile(t testing.TB, n int) (string, []byte) {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %d of the segment\n", i)
	}
	data := b.Bytes()[:n]
	path := filepath.Join(t.TempDir(), "segment.m4s")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// contentHandler serves the file at path with http.ServeContent: ranges,
// conditional requests, HEAD, and the body by io.CopyN from the *os.File.
func contentHandler(path string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, r, filepath.Base(path), fi.ModTime(), f)
	})
}

// TestNetHTTPClient: net/http's client, the fetcher of the DASH player and
// the CDN edge, against the server: GET, HEAD, POST with Content-Length and
// chunked, Expect: 100-continue, byte ranges and a conditional GET from
// http.ServeContent (with sendfile), all on one reused connection.
func TestNetHTTPClient(t *testing.T) {
	path, data := bigFile(t, 300_000)
	mux := http.NewServeMux()
	mux.Handle("/segment.m4s", contentHandler(path))
	mux.Handle("/", testHandler())
	base := "http://" + start(t, &Server{Handler: mux, ErrorLog: testLog(t)})
	client := &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1, ExpectContinueTimeout: 10 * time.Second},
	}
	defer client.CloseIdleConnections()
	reused := 0
	do := func(method, path string, body io.Reader, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused++
				} else {
					t.Logf("new connection for %s %s", method, path)
				}
			},
		}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: body: %v", method, path, err)
		}
		return resp, b
	}

	resp, body := do("GET", "/segment.m4s", nil)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) || !bytes.Equal(body, data) {
		t.Fatalf("GET: %s, %d bytes (Content-Length %d), same %v", resp.Status, len(body), resp.ContentLength, bytes.Equal(body, data))
	}
	lastModified := resp.Header.Get("Last-Modified")

	resp, body = do("HEAD", "/segment.m4s", nil)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) || len(body) != 0 {
		t.Errorf("HEAD: %s, Content-Length %d, %d bytes of body", resp.Status, resp.ContentLength, len(body))
	}

	resp, body = do("GET", "/segment.m4s", nil, "Range", "bytes=1000-1999")
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(data)) || !bytes.Equal(body, data[1000:2000]) {
		t.Errorf("range: %s %q, %d bytes", resp.Status, resp.Header.Get("Content-Range"), len(body))
	}
	resp, body = do("GET", "/segment.m4s", nil, "Range", "bytes=-100")
	if resp.StatusCode != 206 || !bytes.Equal(body, data[len(data)-100:]) {
		t.Errorf("suffix range: %s, %d bytes", resp.Status, len(body))
	}
	resp, body = do("GET", "/segment.m4s", nil, "Range", "bytes=0-9,20-29")
	if resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(body, data[0:10]) || !bytes.Contains(body, data[20:30]) {
		t.Errorf("two ranges: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	resp, _ = do("GET", "/segment.m4s", nil, "If-Modified-Since", lastModified)
	if resp.StatusCode != 304 {
		t.Errorf("conditional GET: %s", resp.Status)
	}

	payload := strings.Repeat("upload ", 1000)
	resp, body = do("POST", "/echo", strings.NewReader(payload))
	if resp.StatusCode != 200 || string(body) != payload {
		t.Errorf("POST with Content-Length: %s, %d bytes back", resp.Status, len(body))
	}
	// A reader of unknown length: the client sends it chunked.
	resp, body = do("POST", "/info", io.MultiReader(strings.NewReader("chunk"), strings.NewReader("ed")))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `TransferEncoding ["chunked"]`) || !strings.Contains(string(body), `Body "chunked" <nil>`) {
		t.Errorf("chunked POST: %s\n%s", resp.Status, body)
	}
	resp, body = do("PUT", "/echo", strings.NewReader(payload), "Expect", "100-continue")
	if resp.StatusCode != 200 || string(body) != payload {
		t.Errorf("PUT with Expect: 100-continue: %s, %d bytes back", resp.Status, len(body))
	}
	resp, body = do("GET", "/big?n=100000", nil)
	if resp.StatusCode != 200 || len(body) != 100000 || len(resp.TransferEncoding) != 1 {
		t.Errorf("chunked response: %s, %d bytes, TransferEncoding %q", resp.Status, len(body), resp.TransferEncoding)
	}
	if want := 9; reused != want {
		t.Errorf("%d requests reused the connection, want %d (all but the first)", reused, want)
	}
}

// TestSendfileLargeFile: a file much larger than the socket's buffer goes
// out whole with sendfile, through many waits for the client to read,
// and its bytes are the file's.
func TestSendfileLargeFile(t *testing.T) {
	path, data := bigFile(t, 8<<20)
	base := "http://" + start(t, &Server{Handler: contentHandler(path), ErrorLog: testLog(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/segment.m4s", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("%d bytes, %v", n, err)
	}
	if got, want := h.Sum(nil), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
		t.Error("the bytes are not the file's")
	}
}

// TestSharedFileSections: a handler that keeps one *os.File open and
// serves it to every request through its own io.SectionReader (with
// http.ServeContent, ranges included) gets sendfile at each section's
// offset: concurrent requests do not disturb each other's position.
func TestSharedFileSections(t *testing.T) {
	path, data := bigFile(t, 200_000)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/iso.segment")
		http.ServeContent(w, r, "", fi.ModTime(), io.NewSectionReader(f, 0, fi.Size()))
	})
	base := "http://" + start(t, &Server{Handler: h, ErrorLog: testLog(t)})
	client := &http.Client{Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	type result struct {
		lo, hi int
		body   []byte
		err    error
	}
	results := make(chan result, 40)
	for i := range cap(results) {
		lo := (i * 4999) % len(data)
		hi := min(lo+20000+i*1000, len(data)) - 1
		go func() {
			req, _ := http.NewRequest("GET", base+"/segment", nil)
			if i%4 != 0 {
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", lo, hi))
			} else {
				lo, hi = 0, len(data)-1
			}
			resp, err := client.Do(req)
			if err != nil {
				results <- result{lo, hi, nil, err}
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results <- result{lo, hi, b, err}
		}()
	}
	for range cap(results) {
		r := <-results
		if r.err != nil || !bytes.Equal(r.body, data[r.lo:r.hi+1]) {
			t.Errorf("bytes %d-%d: %d bytes, %v", r.lo, r.hi, len(r.body), r.err)
		}
	}
}
