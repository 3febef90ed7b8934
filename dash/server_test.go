package dash

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"appnet.dev/dash/mpd"
	"github.com/google/go-cmp/cmp"
)

// encodeDemo encodes a short demo video once per test.
func encodeDemo(t testing.TB, d time.Duration) *Encoded {
	t.Helper()
	e, err := DemoContent(d).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSegmenter(t *testing.T) {
	e := encodeDemo(t, 2*time.Second)
	m, err := mpd.Unmarshal(e.Files[ManifestName])
	if err != nil {
		t.Fatalf("our MPD does not parse: %v", err)
	}
	tracks, err := m.Tracks("")
	if err != nil {
		t.Fatal(err)
	}
	// The MPD names exactly the files written, and nothing else.
	var named []string
	for _, tr := range tracks {
		named = append(named, tr.Init.URL)
		for _, s := range tr.Segments {
			named = append(named, s.URL)
		}
	}
	var files []string
	for name := range e.Files {
		if name != ManifestName {
			files = append(files, name)
		}
	}
	less := func(a, b string) bool { return a < b }
	if d := cmp.Diff(files, named, cmpSort(less)); d != "" {
		t.Errorf("files vs MPD (-files +MPD):\n%s", d)
	}
	// Bitrates rise with quality and every chunk decodes.
	prev := 0.0
	for _, tr := range tracks {
		rate := e.Bitrate(tr.Representation.ID, time.Second)
		if rate <= prev {
			t.Errorf("%s: %.0f bit/s, not above %.0f", tr.Representation.ID, rate, prev)
		}
		if float64(tr.Bandwidth) < rate {
			t.Errorf("%s: declared %d bit/s below the mean %.0f", tr.Representation.ID, tr.Bandwidth, rate)
		}
		prev = rate
		for _, s := range tr.Segments {
			n, err := decodeToy(e.Files[tr.Init.URL], e.Files[s.URL])
			if err != nil || n != 24 {
				t.Errorf("%s: %d frames, %v", s.URL, n, err)
			}
		}
	}
}

func TestSegmenterCBR(t *testing.T) {
	c := DemoContent(3 * time.Second)
	c.Rates = []Rate{{ID: "cbr", Width: 96, Height: 54, Bitrate: 64000}, {ID: "vbr", Width: 96, Height: 54, Step: 8}}
	e, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range e.Sizes["cbr"] {
		if s != 8000 {
			t.Errorf("CBR segment %d: %d bytes, want 8000 (64 kbit/s × 1 s)", i, s)
		}
	}
	sizes := e.Sizes["vbr"]
	if sizes[0] == sizes[1] && sizes[1] == sizes[2] {
		t.Errorf("VBR segments all %d bytes", sizes[0])
	}
}

func cmpSort(less func(a, b string) bool) cmp.Option {
	return cmp.Transformer("sort", func(in []string) []string {
		out := append([]string(nil), in...)
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				if less(out[j], out[i]) {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		return out
	})
}

// serve starts a Server on 127.0.0.1 and stops it when the test ends.
func serve(t testing.TB, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

func TestServer(t *testing.T) {
	e := smallContent(t, 2*time.Second)
	var trace strings.Builder
	s := &Server{FS: e.Files, Trace: &syncWriter{w: &trace}}
	base := serve(t, s)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := do("GET", "/manifest.mpd")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/dash+xml" || string(body) != string(e.Files[ManifestName]) {
		t.Errorf("manifest: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	seg := e.Files["mid/00001.toy"]
	resp, body = do("GET", "/mid/00001.toy", "Range", "bytes=10-19")
	if resp.StatusCode != 206 || string(body) != string(seg[10:20]) || resp.Header.Get("Content-Type") != ToyMIME {
		t.Errorf("range: %s %q %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(body))
	}
	resp, _ = do("GET", "/mid/00001.toy", "Range", "bytes=999999-")
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %s", resp.Status)
	}
	resp, body = do("HEAD", "/low/init.toy")
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(e.Files["low/init.toy"])) {
		t.Errorf("HEAD: %s, %d bytes, length %d", resp.Status, len(body), resp.ContentLength)
	}
	for _, p := range []string{"/../etc/passwd", "/low/../../x", "/low/./init.toy", "//manifest.mpd", "/low%2f..%2f..%2fx"} {
		if resp, _ := do("GET", p); resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
	}
	if resp, _ := do("GET", "/low"); resp.StatusCode != 404 {
		t.Errorf("directory: %s", resp.Status)
	}
	if resp, _ := do("POST", "/manifest.mpd"); resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
		t.Errorf("POST: %s", resp.Status)
	}
	if !strings.Contains(s.Trace.(*syncWriter).String(), "C: GET /mid/00001.toy Range: bytes=10-19\nS: 206 Partial Content (10 bytes)\n") {
		t.Errorf("trace:\n%s", s.Trace.(*syncWriter).String())
	}
}

func TestMIMEType(t *testing.T) {
	for name, want := range map[string]string{
		"manifest.mpd": "application/dash+xml", "chunk-stream0-00001.m4s": "video/iso.segment",
		"init.mp4": "video/mp4", "a.M4A": "audio/mp4", "x.toy": ToyMIME, "README": "application/octet-stream",
	} {
		if got := MIMEType(name); got != want {
			t.Errorf("MIMEType(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestServerReadHeaderTimeout: a client that never finishes its request
// header is disconnected.
func TestServerReadHeaderTimeout(t *testing.T) {
	base := serve(t, &Server{FS: MemFS{"a.toy": []byte("x")}, ReadHeaderTimeout: 100 * time.Millisecond})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /a.toy HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a bound, not a measurement
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept a half-sent request open for 30 s")
			}
			return // closed by the server
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"1.5Mbps": 1.5e6, "800kbps": 800e3, "2000000": 2e6, "3M": 3e6, " 10 mbps ": 10e6} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %g, %v; want %g", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fast", "-1Mbps", "0", "1e30"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) succeeded", in)
		}
	}
}

func TestDir(t *testing.T) {
	e := smallContent(t, time.Second)
	dir := t.TempDir()
	if err := e.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	d := Dir(dir)
	f, err := d.Open("low/init.toy")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	f.Close()
	if err != nil || st.Size() != int64(len(e.Files["low/init.toy"])) {
		t.Errorf("stat: %v, %v", st, err)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "low/../low/init.toy", "nothing"} {
		if f, err := d.Open(bad); err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), dir) {
			t.Errorf("Open(%q): error %q shows the directory", bad, err)
		}
	}
	base := serve(t, &Server{FS: d})
	resp, err := http.Get(base + "/mid/00001.toy")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != string(e.Files["mid/00001.toy"]) {
		t.Errorf("served %d bytes, want %d", len(body), len(e.Files["mid/00001.toy"]))
	}
}
