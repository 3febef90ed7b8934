package dash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
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
//
// An MPD of several Periods (a programme spliced from pieces, say an
// advertisement between two parts of a film) is played as one session:
// the chunks of the first Period, then those of the next, with one buffer
// and one rule deciding every chunk. Each Period has its own
// Representations, so the rule's ladder is joined across Periods by rank:
// quality q is the q-th lowest bandwidth of whichever Period the chunk is
// in, and every Period must have as many video Representations as the
// first (see SelectTracks).
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
	// NoAudio plays the video alone. Otherwise, if the MPD has an audio
	// AdaptationSet, the player fetches its sound too (see SelectAudio):
	// after each video chunk, the audio segments that start before that
	// chunk ends.
	NoAudio bool
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
	Bitrates []float64 // the ladder played from, ascending (the first Period's)
	IDs      []string  // the Representations' ids, in the same order
	// Periods are the MPD's Periods played from, in order: where each
	// begins, its ladder and which of the session's chunks are in it.
	Periods []PeriodLog
	// Starts holds every chunk's start on the presentation timeline:
	// chunk i (ChunkLog.Index) begins at Starts[i].
	Starts  []time.Duration
	Chunks  []ChunkLog
	Servers []ServerStat
	Summary Summary
	Frames  int // decoded frames, when Player.Decode is set
	// The audio Representation played beside the video ("" if none; the
	// first Period's), and how many audio segments and bytes were fetched
	// in all.
	AudioID       string
	AudioSegments int
	AudioBytes    int64
}

// A PeriodLog is one Period of the MPD as the session played it.
type PeriodLog struct {
	ID       string        // the Period's id attribute ("" if none)
	Index    int           // its place among the MPD's Periods
	Start    time.Duration // on the presentation timeline
	First    int           // the index of its first chunk in the session
	Chunks   int           // how many chunks it has
	Bitrates []float64     // its ladder, ascending: quality q is Bitrates[q] in this Period
	IDs      []string      // its video Representations, in the same order
	AudioID  string        // its audio Representation ("" if none)
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

// Seek jumps to a position in the video: a time on the presentation
// timeline, which runs through the MPD's Periods one after another, so the
// player goes on from the chunk playing then, in whichever Period it is.
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

// Tracks fetches and expands an MPD, returning the video Representations
// the player chooses among (see SelectTracks): Period by Period, each
// Period's lowest bandwidth first.
func (p *Player) Tracks(ctx context.Context, mpdURL string) ([]mpd.Track, error) {
	periods, err := p.load(ctx, mpdURL)
	if err != nil {
		return nil, err
	}
	var video []mpd.Track
	for _, per := range periods {
		video = append(video, per.video...)
	}
	return video, nil
}

// A period is one Period of the MPD as the player plays it: its ladder of
// video tracks, one for each quality, and the audio track beside them.
type period struct {
	PeriodLog
	video []mpd.Track
	audio *mpd.Track
}

// load fetches and expands an MPD into the Periods to play, in order (see
// selectPeriods), each SegmentBase track cut by its segment index. A
// Period without a segment to play is left out.
func (p *Player) load(ctx context.Context, mpdURL string) ([]period, error) {
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
	periods, err := selectPeriods(all, !p.NoAudio)
	if err != nil {
		return nil, err
	}
	var out []period
	first := 0
	for _, per := range periods {
		for i := range per.video {
			if err := p.readIndex(ctx, &per.video[i]); err != nil {
				return nil, err
			}
		}
		if per.audio != nil {
			if err := p.readIndex(ctx, per.audio); err != nil {
				return nil, err
			}
		}
		// The chunks are those every rate has.
		per.Chunks = len(per.video[0].Segments)
		for _, t := range per.video {
			per.Chunks = min(per.Chunks, len(t.Segments))
		}
		if per.Chunks == 0 {
			continue
		}
		per.First = first
		first += per.Chunks
		out = append(out, per)
	}
	return out, nil
}

// selectPeriods splits the tracks of an MPD (as MPD.Tracks lists them,
// Period by Period) into the Periods to play: in each, the video tracks
// SelectTracks keeps and, if audio is wanted, the audio track SelectAudio
// chooses. The ladder is joined across Periods by rank, so every Period
// must have as many video Representations as the first; an MPD whose
// Periods differ is refused, since no rule of matching rates across them
// would be right for every MPD.
func selectPeriods(all []mpd.Track, audio bool) ([]period, error) {
	var out []period
	for len(all) > 0 {
		n := 1
		for n < len(all) && all[n].Period == all[0].Period {
			n++
		}
		one := all[:n]
		all = all[n:]
		per := period{video: SelectTracks(one)}
		if audio {
			per.audio = SelectAudio(one, per.video)
		}
		t := per.video[0]
		per.ID, per.Index, per.Start = t.PeriodID, t.Period, t.PeriodStart
		for _, v := range per.video {
			per.Bitrates = append(per.Bitrates, float64(v.Bandwidth))
			per.IDs = append(per.IDs, v.Representation.ID)
		}
		if per.audio != nil {
			per.AudioID = per.audio.Representation.ID
		}
		if len(out) > 0 && len(per.video) != len(out[0].video) {
			return nil, fmt.Errorf("dash: the Periods' ladders differ (%d video Representations in Period %d (id %q), %d in Period %d (id %q)): the player joins Periods into one ladder rank by rank",
				len(per.video), per.Index, per.ID, len(out[0].video), out[0].Index, out[0].ID)
		}
		out = append(out, per)
	}
	return out, nil
}

// SelectAudio returns the audio track to play beside the video tracks:
// the lowest-bandwidth Representation of the first audio AdaptationSet in
// the video tracks' Period (or, without video, in all's first Period),
// unless the video tracks are that set; nil if there is none. Sound is a
// small part of the bytes, so the player keeps it at one rate and adapts
// the video.
func SelectAudio(all, video []mpd.Track) *mpd.Track {
	if len(all) == 0 {
		return nil
	}
	period := all[0].Period
	if len(video) > 0 {
		period = video[0].Period
	}
	var best *mpd.Track
	for i := range all {
		t := &all[i]
		isAudio := t.ContentType == "audio" || strings.HasPrefix(t.MimeType, "audio/")
		if t.Period != period || !isAudio || (len(video) > 0 && t.AdaptationSet == video[0].AdaptationSet) {
			continue
		}
		if best != nil && t.AdaptationSet != best.AdaptationSet {
			break
		}
		if best == nil || t.Bandwidth < best.Bandwidth {
			best = t
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}

// maxIndexBytes bounds a segment index's byte range: 12 bytes a
// subsegment, so room for tens of thousands.
const maxIndexBytes = 1 << 20

// readIndex cuts a SegmentBase track (one file, see mpd.Track.Index) into
// the subsegments its segment index lists, fetching the index's byte
// range; other tracks are left as they are.
func (p *Player) readIndex(ctx context.Context, t *mpd.Track) error {
	if t.Index == nil {
		return nil
	}
	first, last, ok := mpd.ByteRange(t.Index.Range)
	n := int64(last - first + 1)
	if !ok || n > maxIndexBytes {
		return fmt.Errorf("dash: %s: index range %q: want first-last, at most %d bytes", t.Index.URL, t.Index.Range, maxIndexBytes)
	}
	b, err := p.fetch(ctx, t.Index.URL, t.Index.Range)
	if err != nil {
		return err
	}
	if int64(len(b)) != n {
		return fmt.Errorf("dash: %s: asked for the %d bytes %s of the segment index, got %d", t.Index.URL, n, t.Index.Range, len(b))
	}
	idx, err := ParseSegmentIndex(b, first)
	if err != nil {
		return fmt.Errorf("%w (%s, bytes %s)", err, t.Index.URL, t.Index.Range)
	}
	if err := t.SetSubsegments(idx.Timescale, idx.Earliest, idx.First, idx.Subsegments); err != nil {
		return fmt.Errorf("%w (%s)", err, t.Index.URL)
	}
	return nil
}

// SelectTracks keeps the tracks of the first video AdaptationSet (or the
// first AdaptationSet) of all's first Period, sorted by bandwidth: the
// ladder the player adapts over in that Period. ffmpeg puts each rate in
// an AdaptationSet of its own unless told otherwise, so if the first video
// set has one Representation, every video set of the Period with the same
// number of segments is taken. The player calls it for each Period.
func SelectTracks(all []mpd.Track) []mpd.Track {
	if len(all) == 0 {
		return nil
	}
	var out []mpd.Track
	period, set := all[0].Period, -1
	for _, t := range all {
		if t.Period == period && set < 0 && (t.ContentType == "video" || t.ContentType == "") {
			set = t.AdaptationSet
		}
	}
	if set < 0 {
		set = all[0].AdaptationSet
	}
	for _, t := range all {
		if t.Period == period && t.AdaptationSet == set {
			out = append(out, t)
		}
	}
	if len(out) == 1 {
		for _, t := range all {
			if t.Period == period && t.AdaptationSet != set && t.ContentType == out[0].ContentType && len(t.Segments) == len(out[0].Segments) {
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
	n := &playerNet{p: p, clock: clock, began: clock.Now(), cmds: cmds, inits: map[string][]byte{}, audioPeriod: -1, current: -1}
	periods, err := p.load(ctx, mpdURL)
	if err != nil {
		return nil, err
	}
	if len(periods) == 0 {
		return nil, errors.New("dash: the MPD has no segments to play")
	}
	// The session's chunks: every Period's, one after another.
	n.periods = periods
	var sizes [][]int64
	for pi, per := range periods {
		for k := range per.Chunks {
			n.chunks = append(n.chunks, chunkRef{period: pi, seg: k})
		}
		sizes = append(sizes, segmentSizes(per.video, per.audio, per.Chunks)...)
	}
	first := &periods[0]
	rep := &Report{Bitrates: first.Bitrates, IDs: first.IDs, AudioID: first.AudioID}
	for _, per := range periods {
		rep.Periods = append(rep.Periods, per.PeriodLog)
	}
	for i := range n.chunks {
		rep.Starts = append(rep.Starts, n.segment(i).Start)
	}
	l := newChunkLoop(n, rule, est, bufCap)
	n.loop = l
	l.count, l.sizes, l.abandon, l.trace = len(n.chunks), sizes, p.Abandon, p.Trace
	l.play = Playout{StartAfter: p.StartAfter} // the MPD's fetch counts as start-up delay
	// Where: either the given servers or the MPD's BaseURL alternatives.
	if len(p.Servers) > 0 {
		for _, s := range p.Servers {
			l.servers = append(l.servers, ServerStat{URL: s})
		}
	} else {
		for _, b := range first.video[0].BaseURLs {
			l.servers = append(l.servers, ServerStat{URL: b})
		}
	}
	l.where = p.Where
	if l.where == nil {
		l.where = ChooseServer
	}
	defer func() {
		rep.Chunks, rep.Servers, rep.Frames = l.chunks, l.servers, n.frames
		rep.AudioSegments, rep.AudioBytes = n.audioSegments, n.audioBytes
	}()
	for n.next = 0; n.next < len(n.chunks); {
		// Apply the viewer's commands that came in.
	drain:
		for {
			select {
			case c := <-cmds:
				n.apply(c)
			default:
				break drain
			}
		}
		n.jumped = false
		n.enter(n.chunks[n.next].period)
		if _, err := l.step(ctx, n.next); err != nil {
			return rep, err
		}
		if !n.jumped {
			n.next++
		}
	}
	rep.Summary = l.finish()
	return rep, nil
}

// segmentSizes returns each chunk's size at each quality for the Rule to
// look ahead with: the byte range's length when the MPD gives one, else the
// Representation's bandwidth times the segment's duration. With audio
// (nil for none), the sound fetched beside each chunk is added at every
// quality, as its bandwidth times the chunk's duration: the download a
// rule plans for brings both, as do the throughputs it measures.
func segmentSizes(tracks []mpd.Track, audio *mpd.Track, count int) [][]int64 {
	sizes := make([][]int64, count)
	for i := range sizes {
		sizes[i] = make([]int64, len(tracks))
		for q, t := range tracks {
			s := t.Segments[i]
			if n, ok := rangeLength(s.Range); ok {
				sizes[i][q] = n
			} else {
				sizes[i][q] = int64(float64(t.Bandwidth) / 8 * s.Duration.Seconds())
			}
			if audio != nil {
				sizes[i][q] += int64(float64(audio.Bandwidth) / 8 * s.Duration.Seconds())
			}
		}
	}
	return sizes
}

// rangeLength is the length of a byte range "first-last".
func rangeLength(r string) (int64, bool) {
	first, last, ok := mpd.ByteRange(r)
	if !ok {
		return 0, false
	}
	return int64(last - first + 1), true
}

// playerNet is the Player's network: HTTP downloads timed by a Clock, and
// the viewer's commands.
type playerNet struct {
	p        *Player
	clock    Clock
	began    time.Time
	excluded time.Duration // spent decoding: not session time
	periods  []period
	chunks   []chunkRef // the session's chunks, in presentation order
	// inits holds the initialization segments fetched, by URL and range.
	inits map[string][]byte
	// The audio played beside the video: the Period and the segment of
	// its audio track to fetch next, and what was fetched.
	audioPeriod   int
	audioNext     int
	audioSegments int
	audioBytes    int64
	frames        int
	loop          *chunkLoop
	cmds          <-chan command
	next          int  // the chunk to fetch next
	jumped        bool // a seek set next
	current       int  // the Period the chunk loop is set for
}

// A chunkRef places one of the session's chunks: its Period (an index
// into playerNet.periods) and its segment in that Period's tracks.
type chunkRef struct{ period, seg int }

// segment returns chunk i's segment in the lowest rate, for its timing.
func (n *playerNet) segment(i int) *mpd.Segment {
	c := n.chunks[i]
	return &n.periods[c.period].video[0].Segments[c.seg]
}

// enter sets the chunk loop for a chunk of Period pi: the rule sees that
// Period's ladder, and the trace says where the Period begins when the MPD
// has several.
func (n *playerNet) enter(pi int) {
	if pi == n.current {
		return
	}
	n.current = pi
	per := &n.periods[pi]
	n.loop.bitrates, n.loop.segDur = per.Bitrates, per.video[0].Segments[0].Duration
	if n.p.Trace != nil && len(n.periods) > 1 {
		var rates []string
		for _, b := range per.Bitrates {
			rates = append(rates, Mbps(b))
		}
		fmt.Fprintf(n.p.Trace, "period %d (id %q) at %v: chunks %d to %d, rates %s\n",
			per.Index, per.ID, per.Start, per.First, per.First+per.Chunks-1, strings.Join(rates, ", "))
	}
}

func (n *playerNet) now() time.Duration { return n.clock.Now().Sub(n.began) - n.excluded }

func (n *playerNet) sleep(ctx context.Context, d time.Duration) error { return n.clock.Sleep(ctx, d) }

func (n *playerNet) paused(ctx context.Context) error {
	select {
	case c := <-n.cmds:
		n.apply(c)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apply carries out one of the viewer's commands.
func (n *playerNet) apply(c command) {
	l := n.loop
	l.tick()
	switch {
	case c.pause:
		l.play.Pause()
	case c.resume:
		l.play.Resume()
	case c.isSeek:
		// The chunk playing at the new position, in whichever Period:
		// times are on the presentation timeline, which runs through the
		// Periods in order.
		i := sort.Search(len(n.chunks), func(i int) bool { s := n.segment(i); return s.Start+s.Duration > c.seek })
		if i == len(n.chunks) {
			break // past the end: ignored
		}
		at := n.segment(i).Start
		n.next, n.jumped = i, true
		l.play.Seek(at)
		// The audio follows, from its segment playing at the chunk's start.
		pi := n.chunks[i].period
		n.audioPeriod, n.audioNext = pi, 0
		if a := n.periods[pi].audio; a != nil {
			n.audioNext = sort.Search(len(a.Segments), func(k int) bool { return a.Segments[k].Start+a.Segments[k].Duration > at })
		}
		if n.p.Trace != nil {
			fmt.Fprintf(n.p.Trace, "viewer: %s (%s): chunk %d at %v\n", describe(c), l.play.State(), i, at)
		}
		return
	}
	if n.p.Trace != nil {
		fmt.Fprintf(n.p.Trace, "viewer: %s (%s)\n", describe(c), l.play.State())
	}
}

// locate returns the URL of a segment of t at server.
func (n *playerNet) locate(server int, t *mpd.Track, s *mpd.Segment) (string, error) {
	if len(n.p.Servers) > 0 {
		return withHost(s.URL, n.p.Servers[server])
	}
	if len(t.BaseURLs) == 0 {
		return s.URL, nil
	}
	return mpd.Resolve(t.BaseURLs[min(max(server, 0), len(t.BaseURLs)-1)], s.Ref)
}

func (n *playerNet) get(ctx context.Context, server, i, q int, watch func(received, total int64, elapsed time.Duration) bool) (int64, float64, error) {
	c := n.chunks[i]
	per := &n.periods[c.period]
	t := &per.video[q]
	seg := &t.Segments[c.seg]
	var w func(received, total int64) bool
	if watch != nil {
		start := n.now()
		w = func(received, total int64) bool { return watch(received, total, n.now()-start) }
	}
	init, size, err := n.init(ctx, server, t)
	if err != nil {
		return size, 0, err
	}
	u, err := n.locate(server, t, seg)
	if err != nil {
		return size, 0, err
	}
	body, err := n.p.fetchWatched(ctx, u, seg.Range, w)
	size += int64(len(body))
	if err != nil {
		return size, 0, err
	}
	audio, err := n.fetchAudio(ctx, server, c.period, seg, c.seg == per.Chunks-1)
	size += audio
	if err != nil {
		return size, 0, err
	}
	if n.p.Decode && t.MimeType == ToyMIME {
		// A real player decodes beside its downloads; the time the
		// decoder takes here is not counted against the buffer.
		began := n.clock.Now()
		f, err := decodeToy(init, body)
		if err != nil {
			return size, 0, fatalError{fmt.Errorf("dash: chunk %d of %s: %w", i, t.Representation.ID, err)}
		}
		n.frames += f
		n.excluded += n.clock.Now().Sub(began)
	}
	return size, 0, nil
}

// init returns track t's initialization segment (nil if it has none),
// fetching it from server the first time a segment of t needs it, and how
// many bytes that fetched. Initialization segments are kept by URL and
// byte range: each Period's Representations have their own, so the first
// chunk of a new Period brings its rate's, and one that several tracks
// share is fetched once.
func (n *playerNet) init(ctx context.Context, server int, t *mpd.Track) ([]byte, int64, error) {
	if t.Init == nil {
		return nil, 0, nil
	}
	key := t.Init.URL + " " + t.Init.Range
	if b, ok := n.inits[key]; ok {
		return b, 0, nil
	}
	b, err := n.fetchFrom(ctx, server, t, t.Init)
	if err != nil {
		return nil, 0, err
	}
	n.inits[key] = b
	return b, int64(len(b)), nil
}

// fetchAudio fetches the audio that goes with a video chunk of Period pi:
// the segments of the Period's audio track not fetched yet that start
// before the chunk ends (all the rest after the Period's last chunk), with
// the track's initialization segment the first time. Audio and video
// segments need not line up: ffmpeg cuts AAC audio at whole frames of 1024
// samples, so its segments are a little longer or shorter than the
// video's. It returns the bytes fetched.
func (n *playerNet) fetchAudio(ctx context.Context, server, pi int, chunk *mpd.Segment, last bool) (int64, error) {
	if pi != n.audioPeriod {
		n.audioPeriod, n.audioNext = pi, 0 // a new Period: its audio from the start
	}
	a := n.periods[pi].audio
	if a == nil {
		return 0, nil
	}
	var size int64
	end := chunk.Start + chunk.Duration
	for ; n.audioNext < len(a.Segments) && (last || a.Segments[n.audioNext].Start < end); n.audioNext++ {
		_, fetched, err := n.init(ctx, server, a)
		size += fetched
		if err != nil {
			return size, err
		}
		b, err := n.fetchFrom(ctx, server, a, &a.Segments[n.audioNext])
		size += int64(len(b))
		if err != nil {
			return size, err
		}
		n.audioSegments++
		n.audioBytes += int64(len(b))
	}
	return size, nil
}

// fetchFrom fetches one segment of track t from a server.
func (n *playerNet) fetchFrom(ctx context.Context, server int, t *mpd.Track, s *mpd.Segment) ([]byte, error) {
	u, err := n.locate(server, t, s)
	if err != nil {
		return nil, err
	}
	return n.p.fetch(ctx, u, s.Range)
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
