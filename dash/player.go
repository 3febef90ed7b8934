package dash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"appnet.dev/dash/mpd"
)

// A Clock tells the player the time and lets it wait. Downloads are timed
// with it; waiting while the buffer is full uses Sleep.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SkipClock is the wall clock with sleeping skipped: each Sleep returns at
// once and moves Now forward by its duration. Downloads still take real
// time, so a demo or test plays a long video quickly with the same
// decisions about what and where to fetch. A SkipClock must not be copied
// after first use.
//
// With Speed s above 1 the clock also runs s times faster than the wall
// clock from its first use: a demo then plays s seconds of video per
// second. The link must be s times faster too for the player to measure
// the bandwidth it is meant to see (multiply the rate given to
// LimitedClient by s and divide its latency by s).
type SkipClock struct {
	Speed   float64 // virtual seconds per wall-clock second; 1 if zero
	mu      sync.Mutex
	origin  time.Time
	skipped time.Duration
}

// Now implements Clock.
func (c *SkipClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.Speed > 1 {
		if c.origin.IsZero() {
			c.origin = now
		}
		now = c.origin.Add(time.Duration(float64(now.Sub(c.origin)) * c.Speed))
	}
	return now.Add(c.skipped)
}

// Sleep implements Clock.
func (c *SkipClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.skipped += max(d, 0)
	c.mu.Unlock()
	return nil
}

// A Player streams one video over HTTP: it fetches the MPD, then one chunk
// at a time, choosing the rate of each with Rule and the server it comes
// from among the MPD's BaseURLs or Servers, while modelling the playout
// buffer. The zero value uses the Throughput rule, a 30 s buffer cap and a
// client with a one-minute timeout.
type Player struct {
	Client *http.Client // nil: a client with a one-minute timeout
	// Servers, if set, are the places to fetch chunks from instead of the
	// MPD's BaseURLs: "http://host:port" roots that replace the scheme and
	// host of each chunk's URL.
	Servers []string
	// Where chooses the server for each chunk (ChooseServer if nil;
	// FirstHealthy keeps to the first that works, in order).
	Where        func(servers []ServerStat) (int, string)
	Rule         Rule             // Throughput if nil
	NewEstimator func() Estimator // EWMA if nil
	BufferCap    time.Duration    // 30 s if zero
	StartAfter   time.Duration    // video buffered before playout starts; one chunk if zero
	Clock        Clock            // RealClock if nil
	Trace        io.Writer        // if set, one line per chunk
	// MaxSegmentSize bounds each download (64 MiB if zero).
	MaxSegmentSize int64
	// Abandon lets the player give up on a chunk that arrives too slowly
	// and fetch it at a lower rate instead (see the Abandon policy).
	Abandon bool
	// Decode makes the player decode toy-codec chunks and fail on corrupt
	// ones, as a real player's decoder would.
	Decode bool
}

// ServerStat is what the player knows about one place it can fetch from.
type ServerStat struct {
	URL      string
	Estimate float64 // bits per second measured from it; 0 if never used
	Failures int
	Down     bool // failed; not used again unless every server is down
}

// ChooseServer returns the server to fetch the next chunk from: "where to
// request chunk" — of the servers that have not failed, one not tried yet
// (to measure it), or else the one with the highest measured throughput.
func ChooseServer(servers []ServerStat) (int, string) {
	best := -1
	for i, s := range servers {
		if s.Down {
			continue
		}
		if s.Estimate == 0 {
			return i, "not measured yet"
		}
		if best < 0 || s.Estimate > servers[best].Estimate {
			best = i
		}
	}
	if best < 0 {
		return 0, "every server failed: starting over"
	}
	return best, fmt.Sprintf("highest measured throughput (%s)", Mbps(servers[best].Estimate))
}

// FirstHealthy returns the first server, in the order given, that has not
// failed: a player that stays with its server (say the nearest CDN node)
// and moves to the next copy only when it fails.
func FirstHealthy(servers []ServerStat) (int, string) {
	for i, s := range servers {
		if !s.Down {
			return i, "first that works"
		}
	}
	return 0, "every server failed: starting over"
}

// Report is the outcome of a session.
type Report struct {
	Bitrates []float64 // the ladder played from, ascending
	IDs      []string  // the Representations' ids, in the same order
	Chunks   []ChunkLog
	Servers  []ServerStat
	Summary  Summary
	Frames   int // decoded frames, when Player.Decode is set
}

// Command kinds for a Session.
type command struct {
	pause, resume bool
	seek          time.Duration
	isSeek        bool
}

// A Session is a Player playing one video; Pause, Resume and Seek are the
// viewer's controls (the slides' client interactivity) and take effect
// between chunks.
type Session struct {
	cmds   chan command
	done   chan struct{}
	cancel context.CancelFunc
	report *Report
	err    error
}

// Pause pauses playout.
func (s *Session) Pause() { s.send(command{pause: true}) }

// Resume resumes playout.
func (s *Session) Resume() { s.send(command{resume: true}) }

// Seek jumps to a position in the video.
func (s *Session) Seek(pos time.Duration) { s.send(command{isSeek: true, seek: pos}) }

func (s *Session) send(c command) {
	select {
	case s.cmds <- c:
	case <-s.done:
	}
}

// Wait waits for the session to end and returns its report.
func (s *Session) Wait() (*Report, error) {
	<-s.done
	return s.report, s.err
}

// Stop ends the session early and waits for it.
func (s *Session) Stop() (*Report, error) {
	s.cancel()
	return s.Wait()
}

// Play streams the video at mpdURL to the end.
func (p *Player) Play(ctx context.Context, mpdURL string) (*Report, error) {
	return p.Start(ctx, mpdURL).Wait()
}

// Start begins streaming in a goroutine that the Session owns; Wait or
// Stop ends it.
func (p *Player) Start(ctx context.Context, mpdURL string) *Session {
	ctx, cancel := context.WithCancel(ctx)
	s := &Session{cmds: make(chan command, 16), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		defer cancel()
		s.report, s.err = p.run(ctx, mpdURL, s.cmds)
	}()
	return s
}

func (p *Player) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return &http.Client{Timeout: time.Minute}
}

func (p *Player) maxSize() int64 {
	if p.MaxSegmentSize > 0 {
		return p.MaxSegmentSize
	}
	return 64 << 20
}

// fetch GETs one resource (or a byte range of it) with a size limit.
func (p *Player) fetch(ctx context.Context, u, rng string) ([]byte, error) {
	return p.fetchWatched(ctx, u, rng, nil)
}

// errAbandoned is returned by fetchWatched when its watcher gives up.
var errAbandoned = errors.New("dash: download abandoned")

// abandonedError carries how much had arrived.
type abandonedError struct{ received int64 }

func (e abandonedError) Error() string { return errAbandoned.Error() }
func (e abandonedError) Unwrap() error { return errAbandoned }

// fetchWatched is fetch with a watcher, asked every 100 ms while the body
// arrives (bytes so far, and the size if the server said it) whether to
// give up; if it says so, the request is cancelled.
func (p *Player) fetchWatched(ctx context.Context, u, rng string, watch func(received, total int64) bool) ([]byte, error) {
	if watch != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("dash: %w", err)
	}
	if rng != "" {
		req.Header.Set("Range", "bytes="+rng)
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("dash: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("dash: GET %s: %s", u, resp.Status)
	}
	max := p.maxSize()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("dash: GET %s: %d bytes, more than %d", u, resp.ContentLength, max)
	}
	body := io.Reader(io.LimitReader(resp.Body, max+1))
	var received atomic.Int64
	var gaveUp atomic.Bool
	if watch != nil {
		// The watcher runs in a goroutine of its own, stopped before
		// fetchWatched returns.
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if watch(received.Load(), resp.ContentLength) {
						gaveUp.Store(true)
						resp.Body.Close() // unblocks the read below
						return
					}
				}
			}
		}()
		defer func() { close(stop); <-stopped }()
		body = &countingReader{r: body, n: &received}
	}
	b, err := io.ReadAll(body)
	if gaveUp.Load() {
		return nil, abandonedError{received: received.Load()}
	}
	if err != nil {
		return nil, fmt.Errorf("dash: GET %s: %w", u, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("dash: GET %s: more than %d bytes", u, max)
	}
	return b, nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Tracks fetches and expands an MPD, returning the Representations of its
// first video AdaptationSet (or its first AdaptationSet), lowest bandwidth
// first.
func (p *Player) Tracks(ctx context.Context, mpdURL string) ([]mpd.Track, error) {
	b, err := p.fetch(ctx, mpdURL, "")
	if err != nil {
		return nil, err
	}
	m, err := mpd.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	all, err := m.Tracks(mpdURL)
	if err != nil {
		return nil, err
	}
	return SelectTracks(all), nil
}

// SelectTracks keeps the tracks of the first Period's first video
// AdaptationSet (or its first AdaptationSet), sorted by bandwidth. ffmpeg
// puts each rate in an AdaptationSet of its own unless told otherwise, so
// if the first video set has one Representation, every video set of the
// period with the same number of segments is taken.
func SelectTracks(all []mpd.Track) []mpd.Track {
	var out []mpd.Track
	set := -1
	for _, t := range all {
		if t.Period != 0 {
			continue
		}
		if set < 0 && (t.ContentType == "video" || t.ContentType == "") {
			set = t.AdaptationSet
		}
	}
	if set < 0 && len(all) > 0 {
		set = all[0].AdaptationSet
	}
	for _, t := range all {
		if t.Period == 0 && t.AdaptationSet == set {
			out = append(out, t)
		}
	}
	if len(out) == 1 {
		for _, t := range all {
			if t.Period == 0 && t.AdaptationSet != set && t.ContentType == out[0].ContentType && len(t.Segments) == len(out[0].Segments) {
				out = append(out, t)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Bandwidth < out[j].Bandwidth })
	return out
}

// withHost returns u with the scheme and host of server.
func withHost(u, server string) (string, error) {
	a, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	s, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	a.Scheme, a.Host = s.Scheme, s.Host
	return a.String(), nil
}

func (p *Player) run(ctx context.Context, mpdURL string, cmds <-chan command) (*Report, error) {
	clock := p.Clock
	if clock == nil {
		clock = RealClock{}
	}
	rule := p.Rule
	if rule == nil {
		rule = Throughput{}
	}
	var est Estimator = &EWMA{}
	if p.NewEstimator != nil {
		est = p.NewEstimator()
	}
	bufCap := p.BufferCap
	if bufCap <= 0 {
		bufCap = 30 * time.Second
	}
	began := clock.Now()
	tracks, err := p.Tracks(ctx, mpdURL)
	if err != nil {
		return nil, err
	}
	if len(tracks) == 0 || len(tracks[0].Segments) == 0 {
		return nil, errors.New("dash: the MPD has no segments to play")
	}
	rep := &Report{}
	for _, t := range tracks {
		rep.Bitrates = append(rep.Bitrates, float64(t.Bandwidth))
		rep.IDs = append(rep.IDs, t.Representation.ID)
	}
	count := len(tracks[0].Segments)
	for _, t := range tracks {
		count = min(count, len(t.Segments))
	}
	// Where: either the given servers or the MPD's BaseURL alternatives.
	var locate func(server int, t *mpd.Track, s *mpd.Segment) (string, error)
	if len(p.Servers) > 0 {
		for _, s := range p.Servers {
			rep.Servers = append(rep.Servers, ServerStat{URL: s})
		}
		locate = func(i int, _ *mpd.Track, s *mpd.Segment) (string, error) { return withHost(s.URL, p.Servers[i]) }
	} else {
		for _, b := range tracks[0].BaseURLs {
			rep.Servers = append(rep.Servers, ServerStat{URL: b})
		}
		locate = func(i int, t *mpd.Track, s *mpd.Segment) (string, error) {
			return mpd.Resolve(t.BaseURLs[min(i, len(t.BaseURLs)-1)], s.Ref)
		}
	}
	segDur := tracks[0].Segments[0].Duration
	play := Playout{StartAfter: p.StartAfter}
	lastTick := clock.Now()
	play.Advance(lastTick.Sub(began)) // the MPD's fetch is start-up delay too
	tick := func() time.Duration {
		now := clock.Now()
		w := play.Advance(now.Sub(lastTick))
		lastTick = now
		return w
	}
	paused, jumped := false, false
	apply := func(c command, next *int) {
		tick()
		switch {
		case c.pause:
			play.Pause()
			paused = true
		case c.resume:
			play.Resume()
			paused = false
		case c.isSeek:
			i := sort.Search(count, func(i int) bool {
				s := tracks[0].Segments[i]
				return s.Start+s.Duration > c.seek
			})
			if i < count {
				*next = i
				jumped = true
				play.Seek(tracks[0].Segments[i].Start)
			}
		}
		if p.Trace != nil {
			fmt.Fprintf(p.Trace, "viewer: %s (%s)\n", describe(c), play.State())
		}
	}
	where := p.Where
	if where == nil {
		where = ChooseServer
	}
	inits := map[int][]byte{}
	var hist, errs []float64
	last, prevRule := -1, ""
	for next := 0; next < count; {
		// Apply the viewer's commands that came in.
	drain:
		for {
			select {
			case c := <-cmds:
				apply(c, &next)
			default:
				break drain
			}
		}
		jumped = false
		tick()
		st := State{
			Index: next, Count: count, Bitrates: rep.Bitrates, SegmentDuration: segDur,
			Buffer: play.Buffer(), BufferCap: bufCap, Last: last,
			Throughputs: hist[:len(hist):len(hist)], Estimate: est.Estimate(),
			PrevRule: prevRule, PredictionErrors: errs,
		}
		d := rule.Choose(st)
		t := &tracks[d.Quality]
		seg := t.Segments[next]
		start := lastTick
		var body []byte
		var server int
		var size, wasted int64
		var why string
		// The watcher for abandonment: chunk sizes at the other qualities
		// are guessed from their bandwidth.
		var watch func(received, total int64) bool
		abandonTo := -1
		if p.Abandon && d.Quality > 0 {
			bufAtStart := play.Buffer()
			sizes := make([]int64, len(rep.Bitrates))
			for i, b := range rep.Bitrates {
				sizes[i] = int64(b / 8 * seg.Duration.Seconds())
			}
			watch = func(received, total int64) bool {
				if total > 0 {
					sizes[d.Quality] = total
				}
				to, ok := Abandon(d.Quality, sizes, received, clock.Now().Sub(start), bufAtStart)
				if ok {
					abandonTo = to
				}
				return ok
			}
		}
		for attempt := 0; ; attempt++ {
			server, why = where(rep.Servers)
			if attempt > len(rep.Servers)+1 {
				return rep, fmt.Errorf("dash: chunk %d: every server failed", next)
			}
			var err error
			body, size, err = p.download(ctx, locate, server, t, &seg, inits, d.Quality, watch)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			var ab abandonedError
			if errors.As(err, &ab) {
				wasted += size + ab.received
				d.Reason += fmt.Sprintf("; abandoned after %.1fs for %s", clock.Now().Sub(start).Seconds(), Mbps(rep.Bitrates[abandonTo]))
				d.Quality, d.Bitrate = abandonTo, rep.Bitrates[abandonTo]
				t = &tracks[d.Quality]
				seg = t.Segments[next]
				watch = nil
				continue
			}
			rep.Servers[server].Failures++
			rep.Servers[server].Down = true
			if all := allDown(rep.Servers); all {
				for i := range rep.Servers {
					rep.Servers[i].Down = false
				}
			}
			if p.Trace != nil {
				fmt.Fprintf(p.Trace, "chunk %2d: %v: trying another server\n", next, err)
			}
		}
		waited := tick()
		download := lastTick.Sub(start)
		if p.Decode && t.MimeType == ToyMIME {
			// A real player decodes beside its downloads; the time the
			// decoder takes here is not counted against the buffer.
			began := clock.Now()
			n, err := decodeToy(inits[d.Quality], body)
			if err != nil {
				return rep, fmt.Errorf("dash: chunk %d of %s: %w", next, t.Representation.ID, err)
			}
			rep.Frames += n
			lastTick = lastTick.Add(clock.Now().Sub(began))
		}
		play.Push(seg.Duration)
		tput := float64(size+wasted) * 8 / math.Max(download.Seconds(), 1e-6)
		est.Add(tput, download)
		srv := &rep.Servers[server]
		if srv.Estimate == 0 {
			srv.Estimate = tput
		} else {
			srv.Estimate = 0.7*srv.Estimate + 0.3*tput
		}
		if d.Prediction > 0 {
			errs = append(errs, math.Abs(d.Prediction-tput)/tput)
		}
		hist = append(hist, tput)
		c := ChunkLog{
			Index: next, Quality: d.Quality, Bitrate: rep.Bitrates[d.Quality], Size: size,
			Start: start.Sub(began), Download: download, Throughput: tput, Rebuffer: waited,
			Buffer: play.Buffer(), Server: srv.URL, ServerReason: why, Decision: d, State: st,
		}
		// When to request the next chunk: not while the buffer is full.
		for over := play.Buffer() - bufCap; over > 0 || (paused && play.Buffer() >= bufCap); over = play.Buffer() - bufCap {
			if paused {
				select {
				case cmd := <-cmds:
					apply(cmd, &next)
					continue
				case <-ctx.Done():
					return rep, ctx.Err()
				}
			}
			if err := clock.Sleep(ctx, over); err != nil {
				return rep, err
			}
			tick()
			c.Sleep += over
		}
		if p.Trace != nil {
			fmt.Fprintf(p.Trace, "%s\n", c)
		}
		rep.Chunks = append(rep.Chunks, c)
		last, prevRule = d.Quality, d.Rule
		if !jumped {
			next++
		}
	}
	startup := play.StartupDelay()
	play.Finish()
	n, _ := play.Stalls()
	rep.Summary = Summarize(rep.Chunks, startup, n)
	return rep, nil
}

func describe(c command) string {
	switch {
	case c.pause:
		return "pause"
	case c.resume:
		return "resume"
	}
	return fmt.Sprintf("seek to %v", c.seek)
}

func allDown(s []ServerStat) bool {
	for _, x := range s {
		if !x.Down {
			return false
		}
	}
	return true
}

// download fetches a chunk from one server, with its Representation's
// initialization segment the first time.
func (p *Player) download(ctx context.Context, locate func(int, *mpd.Track, *mpd.Segment) (string, error), server int, t *mpd.Track, seg *mpd.Segment, inits map[int][]byte, q int, watch func(received, total int64) bool) ([]byte, int64, error) {
	var size int64
	if _, ok := inits[q]; !ok && t.Init != nil {
		u, err := locate(server, t, t.Init)
		if err != nil {
			return nil, 0, err
		}
		b, err := p.fetch(ctx, u, t.Init.Range)
		if err != nil {
			return nil, 0, err
		}
		inits[q] = b
		size += int64(len(b))
	}
	u, err := locate(server, t, seg)
	if err != nil {
		return nil, 0, err
	}
	b, err := p.fetchWatched(ctx, u, seg.Range, watch)
	if err != nil {
		return nil, size, err
	}
	return b, size + int64(len(b)), nil
}

// decodeToy decodes a toy-codec chunk with its Representation's header and
// returns the number of frames.
func decodeToy(init, body []byte) (int, error) {
	var h Header
	if err := h.UnmarshalBinary(init); err != nil {
		return 0, err
	}
	frames, err := DecodeGroup(bytes.Clone(body), h.Width, h.Height)
	return len(frames), err
}
