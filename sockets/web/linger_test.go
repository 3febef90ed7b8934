package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRefusalReachesAClientStillSending: a client uploading a body far
// larger than the server takes reads nothing until it has sent it all,
// yet it gets the refusal — the server's 413 for a Content-Length over
// MaxBodyBytes, or a handler's answer that never read the body — and not
// a reset: after answering, the server reads and throws away what keeps
// coming (lingering close, as nginx does), so that closing does not
// destroy the answer before the client reads it. It failed, with "broken
// pipe", when the server lingered for 64 KiB only.
func TestRefusalReachesAClientStillSending(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no uploads here", http.StatusForbidden) // the body unread
	})
	addr := start(t, &Server{Handler: h, ErrorLog: testLog(t), MaxBodyBytes: 1 << 20})
	client := &http.Client{Timeout: 20 * time.Second}
	for _, tc := range []struct {
		name string
		size int
		want int
		text string
	}{
		{"over MaxBodyBytes", 8 << 20, http.StatusRequestEntityTooLarge, "413"},
		{"refused by the handler", 1 << 20, http.StatusForbidden, "no uploads here"},
	} {
		body := bytes.Repeat([]byte("x"), tc.size)
		for i := range 5 {
			resp, err := client.Post("http://"+addr+"/upload", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s, try %d: POST of %d bytes: %v, want the refusal", tc.name, i, len(body), err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(got), tc.text) {
				t.Errorf("%s, try %d: %s %q, want %d with %q", tc.name, i, resp.Status, got, tc.want, tc.text)
			}
		}
	}
}
