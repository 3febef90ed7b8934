package cdn

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
)

func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", "public, max-age=60, s-maxage=600", "no-store", `private="Set-Cookie", no-cache`,
		"max-age=10, stale-while-revalidate=30, stale-if-error=86400", "max-stale", "max-age=\"5\"",
		"max-age=99999999999999999999", "MAX-AGE=3,,, ,immutable", `no-cache="a\"b", must-revalidate`,
		"min-fresh=5, only-if-cached", "max-age=-1", "=,=", "\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := ParseCacheControl([]string{s})
		for _, d := range []int64{int64(cc.MaxAge), int64(cc.SMaxAge), int64(cc.StaleIfError), int64(cc.StaleWhileRevalidate), int64(cc.MaxStale), int64(cc.MinFresh)} {
			if d < -1 || d > int64(maxDelta) {
				t.Fatalf("%q: duration %d out of range", s, d)
			}
		}
		// What String writes, ParseCacheControl reads back the same.
		if again := ParseCacheControl([]string{cc.String()}); again != cc {
			t.Fatalf("%q: parsed %+v, wrote %q, read back %+v", s, cc, cc.String(), again)
		}
	})
}

func FuzzRange(f *testing.F) {
	for _, s := range []string{
		"bytes=0-499", "bytes=500-", "bytes=-500", "bytes=0-0,-1", "bytes=5-1", "items=0-1",
		"bytes=0-1,2-3,4-5", "bytes= 1 - 2 ", "bytes=99999999999999999999-", "bytes=-0", "bytes=,",
	} {
		f.Add(s, int64(1000))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 || size > 1<<40 {
			return
		}
		rs, err := ParseRange(s, size)
		if err != nil {
			if rs != nil {
				t.Fatalf("%q: ranges %v with error %v", s, rs, err)
			}
			return
		}
		if len(rs) == 0 || len(rs) > MaxRanges {
			t.Fatalf("%q: %d ranges", s, len(rs))
		}
		for _, r := range rs {
			if r.Start < 0 || r.Length <= 0 || r.Start+r.Length > size {
				t.Fatalf("%q size %d: range %+v outside the object", s, size, r)
			}
		}
	})
}

func FuzzMap(f *testing.F) {
	f.Add("cluster east 40.7 -74.0\nedge e1 east 127.0.0.2:8080\nzone 10.1.0.0/16 east\n")
	f.Add("# nothing\n\n")
	f.Add("zone ::/0 x\n")
	f.Add("cluster a 1 1\nedge e a [::1]:80\nzone 2001:db8::/32 a # v6\n")
	f.Add("cluster a NaN 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMap(strings.NewReader(s))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		m.WriteTo(&buf)
		text := buf.String()
		again, err := ParseMap(strings.NewReader(text))
		if err != nil {
			t.Fatalf("map written from %q does not parse: %v\n%s", s, err, text)
		}
		var buf2 bytes.Buffer
		again.WriteTo(&buf2)
		if text != buf2.String() {
			t.Fatalf("not stable:\n%s\n---\n%s", text, buf2.String())
		}
		for _, z := range m.Zones {
			if zz, ok := m.ZoneFor(z.Prefix.Addr()); !ok || zz.Prefix.Bits() < z.Prefix.Bits() {
				t.Fatalf("zone %v does not cover its own address", z.Prefix)
			}
		}
	})
}

// roundTripperFunc lets a handler stand in for the network in fuzzing.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzEdgeRequest sends arbitrary request heads to an edge whose origin is
// an in-memory Origin: the edge must never panic, and whatever it answers
// 200 or 206 must be the object or a slice of it.
func FuzzEdgeRequest(f *testing.F) {
	for _, s := range []string{
		"GET /6Y7B23V/manifest.mpd HTTP/1.1\r\nHost: netcinema.com\r\n\r\n",
		"GET /6Y7B23V/manifest.mpd HTTP/1.1\r\nHost: netcinema.com\r\nRange: bytes=0-3,5-\r\n\r\n",
		"GET /6Y7B23V/manifest.mpd HTTP/1.1\r\nHost: netcinema.com\r\nRange: bytes=-2\r\nIf-Range: \"x\"\r\n\r\n",
		"HEAD /6Y7B23V/manifest.mpd HTTP/1.1\r\nHost: netcinema.com\r\nCache-Control: no-cache, max-stale\r\n\r\n",
		"GET /6Y7B23V/../manifest.mpd HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /6Y7B23V/manifest.mpd HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"GET /6Y7B23V/manifest.mpd HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\nVia: 1.1 appnet-edge\r\n\r\n",
		"GET /_cdn/health HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add(s)
	}
	body := []byte("<MPD>six seconds of MadMen</MPD>")
	origin := &Origin{Content: fstest.MapFS{"6Y7B23V/manifest.mpd": {Data: body}}}
	rt := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		origin.ServeHTTP(rec, r)
		return rec.Result(), nil
	})
	f.Fuzz(func(t *testing.T, raw string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		req.RemoteAddr = "10.1.2.3:5555"
		e := &Edge{Origin: &url.URL{Scheme: "http", Host: "origin.netcinema.com"}, Transport: rt}
		defer e.Close()
		for range 2 { // a miss, then what the cache holds
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got := rec.Body.Bytes()
			switch {
			case rec.Code < 100 || rec.Code > 599:
				t.Fatalf("status %d", rec.Code)
			case req.Method != "GET" || req.URL.Path != "/6Y7B23V/manifest.mpd":
			case rec.Code == 200 && !bytes.Equal(got, body):
				t.Fatalf("200 with %q", got)
			case rec.Code == 206 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "multipart/") && !bytes.Contains(body, got):
				t.Fatalf("206 with %q, not a slice of the object", got)
			}
		}
	})
}
