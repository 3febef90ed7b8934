package tracker

import (
	"bufio"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestHTTPTranscripts replays testdata/http-*.txt against the HTTP
// tracker in virtual time and compares its transcript with the file.
func TestHTTPTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/http-*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	request := regexp.MustCompile(`^C: GET (\S+) \(from ([0-9.]+)\)$`)
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			now := t0
			var trace strings.Builder
			srv := &Server{Trace: &trace, Now: func() time.Time { return now }}
			var want strings.Builder
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				line := sc.Text()
				if rest, ok := strings.CutPrefix(line, "# +"); ok {
					d, err := time.ParseDuration(strings.TrimSuffix(strings.Fields(rest)[0], ":"))
					if err != nil {
						t.Fatalf("%q: %v", line, err)
					}
					now = now.Add(d)
					continue
				}
				if strings.HasPrefix(line, "#") || line == "" {
					continue
				}
				want.WriteString(line + "\n")
				if m := request.FindStringSubmatch(line); m != nil {
					r := httptest.NewRequest("GET", m[1], nil)
					r.RemoteAddr = m[2] + ":40000"
					srv.ServeHTTP(httptest.NewRecorder(), r)
				}
			}
			if diff := cmp.Diff(want.String(), trace.String()); diff != "" {
				t.Errorf("transcript (-want +got):\n%s", diff)
			}
		})
	}
}
