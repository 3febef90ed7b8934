package dash

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for CachedDir.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func readAll(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

// replace writes a new file under name the way encoders do: a temporary
// file renamed over the old one (a new inode).
func replace(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, name+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestCachedDirRevalidates(t *testing.T) {
	dir := t.TempDir()
	replace(t, dir, "manifest.mpd", "first")
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	d := &CachedDir{Root: dir, Revalidate: time.Second, Now: clock.Now}
	defer d.Close()
	if got := readAll(t, d, "manifest.mpd"); got != "first" {
		t.Fatalf("got %q", got)
	}
	replace(t, dir, "manifest.mpd", "second")
	// Within the revalidation time the open file is trusted, as nginx's
	// open_file_cache trusts it for open_file_cache_valid.
	if got := readAll(t, d, "manifest.mpd"); got != "first" {
		t.Fatalf("within a second: got %q, want the cached %q", got, "first")
	}
	clock.Add(time.Second)
	if got := readAll(t, d, "manifest.mpd"); got != "second" {
		t.Fatalf("after a second: got %q, want the new file", got)
	}
	if err := os.Remove(filepath.Join(dir, "manifest.mpd")); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if _, err := d.Open("manifest.mpd"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removed file: %v, want not found", err)
	}
	if _, err := d.Open("../etc/passwd"); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("path out of the directory: %v", err)
	}
}

// TestCachedDirBound: no more than Max files stay open, and a file taken
// out of the cache while a request reads it stays readable until that
// request closes it.
func TestCachedDirBound(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		replace(t, dir, fmt.Sprintf("%05d.toy", i), fmt.Sprintf("chunk %d", i))
	}
	d := &CachedDir{Root: dir, Max: 2}
	defer d.Close()
	held, err := d.Open("00000.toy")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		if got, want := readAll(t, d, fmt.Sprintf("%05d.toy", i)), fmt.Sprintf("chunk %d", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		d.mu.Lock()
		n := len(d.files)
		d.mu.Unlock()
		if n > 2 {
			t.Fatalf("%d files cached, Max is 2", n)
		}
	}
	b, err := io.ReadAll(held)
	if err != nil || string(b) != "chunk 0" {
		t.Fatalf("held file: %q, %v", b, err)
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	if err := held.Close(); err == nil {
		t.Error("second Close of a handle succeeded")
	}
	d.Close()
	d.mu.Lock()
	n := len(d.files)
	d.mu.Unlock()
	if n != 0 {
		t.Errorf("%d files cached after Close", n)
	}
}

// TestCachedDirServer: many requests at once for whole chunks and ranges
// of one shared open file each get their own bytes.
func TestCachedDirServer(t *testing.T) {
	dir := t.TempDir()
	e := encodeDemo(t, 2*time.Second)
	if err := e.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	d := NewCachedDir(dir)
	defer d.Close()
	base := serve(t, &Server{FS: d})
	name := "mid/00001.toy"
	want := e.Files[name]
	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	wantLastMod := st.ModTime().UTC().Format(http.TimeFormat)
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", base+"/"+name, nil)
			lo := i * 97 % len(want)
			if i%2 == 1 {
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-", lo))
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- err
				return
			}
			exp := want
			if i%2 == 1 {
				exp = want[lo:]
			}
			if !bytes.Equal(got, exp) {
				errs <- fmt.Errorf("request %d: %d bytes, want %d (%s)", i, len(got), len(exp), resp.Status)
			}
			if lm := resp.Header.Get("Last-Modified"); lm != wantLastMod {
				errs <- fmt.Errorf("request %d: Last-Modified %q, want %q", i, lm, wantLastMod)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
