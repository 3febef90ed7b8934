package dash

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"appnet.dev/dash/mpd"
	"github.com/google/go-cmp/cmp"
)

// stepClient throttles the n-th request to rates[n] bits per second (the
// last rate for the rest; 0: unlimited): a bandwidth drop that happens at
// a request, not at a time, so the test is deterministic.
func stepClient(rates ...float64) *http.Client {
	var n atomic.Int64
	if len(rates) == 1 && rates[0] == 0 {
		return &http.Client{Timeout: time.Minute}
	}
	return LimitedClient(func() float64 {
		i := min(int(n.Add(1))-1, len(rates)-1)
		return rates[i]
	}, 0, nil)
}

// smallContent is the demo video at small sizes (about 3, 17 and 33 kB a
// chunk), quick to encode, send and decode even under the race detector.
func smallContent(t testing.TB, d time.Duration) *Encoded {
	t.Helper()
	c := DemoContent(d)
	c.Rates = []Rate{{ID: "low", Width: 64, Height: 36, Step: 16}, {ID: "mid", Width: 128, Height: 72, Step: 4}, {ID: "high", Width: 192, Height: 108, Step: 1}}
	e, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPlayerPlaysAndDecodes(t *testing.T) {
	e := smallContent(t, 4*time.Second)
	base := serve(t, &Server{FS: e.Files})
	var log strings.Builder
	p := &Player{Client: stepClient(0), Clock: &SkipClock{}, BufferCap: time.Second, Decode: true, Trace: &log}
	rep, err := p.Play(context.Background(), base+"/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 4 || rep.Frames != 4*24 {
		t.Fatalf("%d chunks, %d frames; want 4 and 96\n%s", len(rep.Chunks), rep.Frames, log.String())
	}
	if rep.Chunks[0].Quality != 0 || rep.Chunks[3].Quality != 2 {
		t.Errorf("qualities %d … %d, want lowest first (nothing measured) and highest at the end on an unlimited link", rep.Chunks[0].Quality, rep.Chunks[3].Quality)
	}
	if rep.Summary.Rebuffers != 0 {
		t.Errorf("%d stalls on an unlimited link", rep.Summary.Rebuffers)
	}
	slept := false
	for _, c := range rep.Chunks {
		slept = slept || c.Sleep > 0
		if c.Buffer > time.Second+time.Second {
			t.Errorf("chunk %d: buffer %v above the cap plus one chunk", c.Index, c.Buffer)
		}
	}
	if !slept {
		t.Error("never waited with a full buffer")
	}
	if !strings.Contains(log.String(), "chunk  3: ") || !strings.Contains(log.String(), "throughput: estimate") {
		t.Errorf("trace:\n%s", log.String())
	}
	// The rule saw every chunk's size at every rate, as in the simulator.
	sizes := rep.Chunks[0].State.Sizes
	if len(sizes) != 4 || len(sizes[3]) != len(rep.Bitrates) {
		t.Fatalf("State.Sizes is %d×%d, want 4×%d", len(sizes), len(sizes[0]), len(rep.Bitrates))
	}
	for q, b := range rep.Bitrates {
		if want := int64(b / 8); sizes[1][q] != want {
			t.Errorf("size of chunk 1 at %s: %d bytes, want %d (bandwidth × 1 s)", Mbps(b), sizes[1][q], want)
		}
	}
}

// TestSegmentSizes: a byte range gives a chunk's exact size; without one,
// the size is the declared bandwidth times the duration. With sound, its
// bandwidth times the chunk's duration is added at every quality.
func TestSegmentSizes(t *testing.T) {
	tracks := []mpd.Track{
		{Bandwidth: 800_000, Segments: []mpd.Segment{{Range: "0-99", Duration: 2 * time.Second}, {Range: "100-1099", Duration: 2 * time.Second}, {Duration: time.Second}}},
		{Bandwidth: 1_600_000, Segments: []mpd.Segment{{Duration: 2 * time.Second}, {Range: "5-4", Duration: 2 * time.Second}, {Range: "x-9", Duration: time.Second}}},
	}
	got := segmentSizes(tracks, nil, 3)
	want := [][]int64{{100, 400_000}, {1000, 400_000}, {100_000, 200_000}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segmentSizes (-want +got):\n%s", diff)
	}
	audio := &mpd.Track{Bandwidth: 64_000}
	got = segmentSizes(tracks, audio, 3)
	want = [][]int64{{16_100, 416_000}, {17_000, 416_000}, {108_000, 208_000}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segmentSizes with 64 kb/s of audio (-want +got):\n%s", diff)
	}
}

// TestPlayerBandwidthDrop: fast for the first requests, then far below
// the middle rate. The throughput rule must go up, then come down.
func TestPlayerBandwidthDrop(t *testing.T) {
	t.Parallel() // mostly waiting on a slow link
	e := smallContent(t, 6*time.Second)
	base := serve(t, &Server{FS: e.Files})
	// Requests: MPD, low init, chunk 0, high init, chunks 1 and 2 at
	// 2 Mbit/s; the rest at 100 kbit/s, below the middle rate.
	p := &Player{
		Client:       stepClient(2e6, 2e6, 2e6, 2e6, 2e6, 2e6, 100e3),
		Clock:        &SkipClock{},
		BufferCap:    10 * time.Second,
		NewEstimator: func() Estimator { return &HarmonicMean{N: 1} },
	}
	rep, err := p.Play(context.Background(), base+"/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	var qs []int
	for _, c := range rep.Chunks {
		qs = append(qs, c.Quality)
	}
	// Up while the link is fast; down to the lowest rate once the drop has
	// been measured (chunk 3 is the first to meet it). The throttle passes
	// about 10 ms of the link's rate at a time, so even the small chunks
	// after the drop arrive at 100 kbit/s and keep the estimate low.
	if max(qs[1], qs[2]) == 0 || qs[4] != 0 || qs[5] != 0 {
		t.Errorf("qualities %v: want up before the drop and the lowest after it", qs)
	}
	if rep.Summary.Switches < 2 {
		t.Errorf("%d switches", rep.Summary.Switches)
	}
}

// TestPlayerFailover gives the player two servers, the first of them dead:
// it must fetch everything from the second.
func TestPlayerFailover(t *testing.T) {
	e := smallContent(t, 3*time.Second)
	good := serve(t, &Server{FS: e.Files})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	p := &Player{Client: stepClient(0), Clock: &SkipClock{}, Servers: []string{dead, good}, Decode: true}
	rep, err := p.Play(context.Background(), good+"/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 3 || rep.Servers[0].Failures == 0 || !rep.Servers[0].Down {
		t.Fatalf("%d chunks, servers %+v", len(rep.Chunks), rep.Servers)
	}
	for _, c := range rep.Chunks {
		if c.Server != good {
			t.Errorf("chunk %d from %s", c.Index, c.Server)
		}
	}
}

// seekAt is a rule that asks its session to seek while choosing chunk at
// (the first time).
type seekAt struct {
	Rule
	at      int
	to      time.Duration
	session chan *Session
	s       *Session
	sought  bool
}

func (r *seekAt) Choose(st State) Decision {
	if r.s == nil {
		r.s = <-r.session
	}
	if st.Index == r.at && !r.sought {
		r.sought = true
		r.s.Pause()
		r.s.Resume()
		r.s.Seek(r.to)
	}
	return r.Rule.Choose(st)
}

// playSeeking plays mpdURL with p, whose Rule is the seekAt rule, and
// returns the report and the indexes of the chunks played, in order.
func playSeeking(t *testing.T, ctx context.Context, p *Player, rule *seekAt, mpdURL string) (*Report, []int) {
	t.Helper()
	s := p.Start(ctx, mpdURL)
	rule.session <- s
	rep, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, c := range rep.Chunks {
		idx = append(idx, c.Index)
	}
	return rep, idx
}

func TestPlayerSeek(t *testing.T) {
	e := smallContent(t, 8*time.Second)
	base := serve(t, &Server{FS: e.Files})
	rule := &seekAt{Rule: Throughput{}, at: 1, to: 5500 * time.Millisecond, session: make(chan *Session, 1)}
	log := newLog()
	p := &Player{Client: stepClient(0), Clock: &SkipClock{}, Rule: rule, Trace: log}
	_, idx := playSeeking(t, context.Background(), p, rule, base+"/manifest.mpd")
	// Chunks 0 and 1, then the jump to the chunk holding 5.5 s (5), to the end.
	want := []int{0, 1, 5, 6, 7}
	if len(idx) != len(want) {
		t.Fatalf("chunks %v, want %v\n%s", idx, want, log.String())
	}
	for i := range want {
		if idx[i] != want[i] {
			t.Fatalf("chunks %v, want %v", idx, want)
		}
	}
	for _, line := range []string{"viewer: pause (paused)", "viewer: resume", "viewer: seek to 5.5s (starting)"} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("trace lacks %q:\n%s", line, log.String())
		}
	}
}

func TestChooseServer(t *testing.T) {
	tests := []struct {
		in   []ServerStat
		want int
	}{
		{[]ServerStat{{Estimate: 1e6}, {}}, 1},                          // measure the new one
		{[]ServerStat{{Estimate: 1e6}, {Estimate: 3e6}}, 1},             // the faster
		{[]ServerStat{{Estimate: 5e6, Down: true}, {Estimate: 3e6}}, 1}, // not the failed one
		{[]ServerStat{{Down: true}, {Down: true}}, 0},                   // start over
		{[]ServerStat{{Estimate: 2e6}, {Estimate: 1e6}, {Down: true}}, 0},
	}
	for i, tt := range tests {
		if got, why := ChooseServer(tt.in); got != tt.want {
			t.Errorf("%d: ChooseServer = %d (%s), want %d", i, got, why, tt.want)
		}
	}
}

// crashAfter serves n requests, then drops every connection it is given:
// a CDN node that dies mid-stream.
type crashAfter struct {
	h http.Handler
	n atomic.Int64
}

func (c *crashAfter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.n.Add(-1) < 0 {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	c.h.ServeHTTP(w, r)
}

// TestPlayerFailoverMidStream: the player stays with the first server
// (FirstHealthy) until it dies after a few chunks, then moves to the
// second copy and finishes the video.
func TestPlayerFailoverMidStream(t *testing.T) {
	e := smallContent(t, 6*time.Second)
	crash := &crashAfter{h: &Server{FS: e.Files}}
	crash.n.Store(4) // the MPD, an init segment and two chunks
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: crash, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { hs.Serve(l); close(done) }()
	t.Cleanup(func() { hs.Close(); <-done })
	first := "http://" + l.Addr().String()
	second := serve(t, &Server{FS: e.Files})
	var log strings.Builder
	p := &Player{Client: stepClient(0), Clock: &SkipClock{}, Servers: []string{first, second}, Where: FirstHealthy, Trace: &log}
	rep, err := p.Play(context.Background(), first+"/manifest.mpd")
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var where []string
	for _, c := range rep.Chunks {
		if c.Server == first {
			where = append(where, "first")
		} else {
			where = append(where, "second")
		}
	}
	if len(rep.Chunks) != 6 || where[0] != "first" || where[5] != "second" || rep.Servers[0].Failures != 1 {
		t.Errorf("chunks from %v, servers %+v\n%s", where, rep.Servers, log.String())
	}
	if !strings.Contains(log.String(), "trying another server") {
		t.Errorf("trace:\n%s", log.String())
	}
}

// TestPlayerAbandon: the link drops to 40 kbit/s while a top-rate chunk is
// on its way; rather than stall, the player abandons it for a lower rate.
func TestPlayerAbandon(t *testing.T) {
	t.Parallel() // mostly waiting on a slow link
	e := smallContent(t, 5*time.Second)
	base := serve(t, &Server{FS: e.Files})
	p := &Player{
		Client:       stepClient(2e6, 2e6, 2e6, 2e6, 2e6, 2e6, 40e3),
		Clock:        &SkipClock{},
		BufferCap:    10 * time.Second,
		NewEstimator: func() Estimator { return &HarmonicMean{N: 1} },
		Abandon:      true,
	}
	rep, err := p.Play(context.Background(), base+"/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	abandoned := -1
	for _, c := range rep.Chunks {
		if strings.Contains(c.Decision.Reason, "abandoned after") && abandoned < 0 {
			abandoned = c.Index
			if c.Quality == 2 {
				t.Errorf("chunk %d: abandoned, yet played at the top rate", c.Index)
			}
			if !strings.Contains(c.Decision.Reason, "buffered)") {
				t.Errorf("chunk %d: the log does not say why it was abandoned: %s", c.Index, c.Decision.Reason)
			}
		}
	}
	if abandoned < 3 {
		t.Errorf("first abandoned chunk %d, want one after the drop (3 or later)", abandoned)
	}
	if len(rep.Chunks) != 5 {
		t.Errorf("%d chunks", len(rep.Chunks))
	}
}
