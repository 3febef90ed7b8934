package dash

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"appnet.dev/dash/mpd"
	"github.com/google/go-cmp/cmp"
)

// twoPeriods is a programme spliced from two pieces of toy-codec video:
// 3 s of the demo ("main", from 0 s), then 2 s of another source at
// smaller pictures ("ad", from 3 s), so a chunk of either decodes only
// with its own Period's header. Each Period's files are in a folder named
// by its BaseURL; the MPD is periods.mpd.
func twoPeriods(t testing.TB) MemFS {
	t.Helper()
	main := smallContent(t, 3*time.Second)
	c := DemoContent(2 * time.Second)
	c.Source.Seed = 99
	c.Rates = []Rate{{ID: "low", Width: 48, Height: 27, Step: 16}, {ID: "mid", Width: 96, Height: 54, Step: 4}, {ID: "high", Width: 160, Height: 90, Step: 1}}
	ad, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	files := MemFS{}
	m := *main.MPD
	m.MediaPresentationDuration = mpd.NewDuration(5 * time.Second)
	m.Periods = nil
	for _, piece := range []struct {
		id    string
		e     *Encoded
		start time.Duration
	}{{"main", main, 0}, {"ad", ad, 3 * time.Second}} {
		for name, b := range piece.e.Files {
			if name != ManifestName {
				files[piece.id+"/"+name] = b
			}
		}
		p := piece.e.MPD.Periods[0]
		p.ID, p.Start, p.BaseURLs = piece.id, mpd.NewDuration(piece.start), []mpd.BaseURL{{URL: piece.id + "/"}}
		m.Periods = append(m.Periods, p)
	}
	doc, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	files["periods.mpd"] = doc
	return files
}

// requests lists the paths the server was asked for, in order.
func requests(serverLog string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`C: GET /(\S+)`).FindAllStringSubmatch(serverLog, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPlayerPeriods: the player plays both Periods as one session: every
// chunk of each once and in order, with the second Period's initialization
// segments, its own ladder shown to the rule, and the rule's history
// running on across the boundary.
func TestPlayerPeriods(t *testing.T) {
	base, serverLog := serveLogged(t, twoPeriods(t))
	trace := newLog()
	p := &Player{Client: stepClient(0), Clock: &SkipClock{}, BufferCap: time.Second, Decode: true, Trace: trace}
	rep, err := p.Play(context.Background(), base+"/periods.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 5 || rep.Frames != 5*24 {
		t.Fatalf("%d chunks, %d frames decoded; want 5 and 120\n%s", len(rep.Chunks), rep.Frames, trace.String())
	}
	type period struct {
		ID            string
		Index         int
		Start         time.Duration
		First, Chunks int
	}
	var periods []period
	for _, pl := range rep.Periods {
		periods = append(periods, period{pl.ID, pl.Index, pl.Start, pl.First, pl.Chunks})
	}
	want := []period{{"main", 0, 0, 0, 3}, {"ad", 1, 3 * time.Second, 3, 2}}
	if d := cmp.Diff(want, periods); d != "" {
		t.Fatalf("periods (-want +got):\n%s", d)
	}
	main, ad := rep.Periods[0], rep.Periods[1]
	if cmp.Equal(main.Bitrates, ad.Bitrates) {
		t.Fatalf("the test needs Periods with different ladders: both %v", main.Bitrates)
	}
	if d := cmp.Diff([]time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 4 * time.Second}, rep.Starts); d != "" {
		t.Errorf("chunk starts on the presentation timeline (-want +got):\n%s", d)
	}

	// The server saw each chunk once, in order, each after its Period's
	// initialization segment for the rate it was fetched at, and that
	// initialization segment once.
	var media []string
	seen := map[string]int{} // request → position
	for k, r := range requests(serverLog.String()) {
		if _, again := seen[r]; again {
			t.Errorf("%s requested twice", r)
		}
		seen[r] = k
		if !strings.HasSuffix(r, "/init.toy") && strings.HasSuffix(r, ".toy") {
			media = append(media, r[:strings.Index(r, "/")]+"/"+r[strings.LastIndex(r, "/")+1:])
		}
	}
	if got, want := strings.Join(media, " "), "main/00001.toy main/00002.toy main/00003.toy ad/00001.toy ad/00002.toy"; got != want {
		t.Errorf("chunks requested: %s, want %s", got, want)
	}
	for _, c := range rep.Chunks {
		pl := main
		if c.Index >= ad.First {
			pl = ad
		}
		id := pl.IDs[c.Quality]
		chunk := fmt.Sprintf("%s/%s/%05d.toy", pl.ID, id, c.Index-pl.First+1)
		initName := pl.ID + "/" + id + "/init.toy"
		at, ok := seen[chunk]
		if in, ok2 := seen[initName]; !ok || !ok2 || in > at {
			t.Errorf("chunk %d: %s (requested: %v) without %s before it (requested: %v)", c.Index, chunk, ok, initName, ok2)
		}
		// One rule's session: the index runs on, each chunk is decided on
		// its own Period's ladder and sizes, and the history carries over.
		st := c.State
		if st.Index != c.Index || st.Count != 5 || len(st.Throughputs) != c.Index || !cmp.Equal(st.Bitrates, pl.Bitrates) || c.Bitrate != pl.Bitrates[c.Quality] {
			t.Errorf("chunk %d in %q at %s: state index %d of %d, %d throughputs, ladder %v; want the Period's %v",
				c.Index, pl.ID, Mbps(c.Bitrate), st.Index, st.Count, len(st.Throughputs), st.Bitrates, pl.Bitrates)
		}
		if len(st.Sizes) != 5 {
			t.Fatalf("State.Sizes has %d chunks, want 5", len(st.Sizes))
		}
		for q, b := range pl.Bitrates {
			if want := int64(b / 8); st.Sizes[c.Index][q] != want {
				t.Errorf("chunk %d at %s: size %d bytes, want %d (the Period's bandwidth × 1 s)", c.Index, Mbps(b), st.Sizes[c.Index][q], want)
			}
		}
	}
	if c := rep.Chunks[3]; c.State.Last != rep.Chunks[2].Quality || c.State.Estimate == 0 {
		t.Errorf("the first chunk of the second Period was chosen as if the session began: last %d, estimate %v", c.State.Last, c.State.Estimate)
	}
	if !strings.Contains(trace.String(), `period 1 (id "ad") at 3s: chunks 3 to 4, rates `) {
		t.Errorf("the trace does not say where the second Period begins:\n%s", trace.String())
	}
}

// TestPlayerPeriodsSeek: a seek to 3.5 s lands in the second Period, at
// its first chunk, whose initialization segment is fetched though the
// first Period was not played to its end.
func TestPlayerPeriodsSeek(t *testing.T) {
	base, serverLog := serveLogged(t, twoPeriods(t))
	trace := newLog()
	rule := &seekAt{Rule: Throughput{}, at: 1, to: 3500 * time.Millisecond, session: make(chan *Session, 1)}
	p := &Player{Client: stepClient(0), Clock: &SkipClock{}, Rule: rule, Decode: true, Trace: trace}
	rep, idx := playSeeking(t, context.Background(), p, rule, base+"/periods.mpd")
	if fmt.Sprint(idx) != "[0 1 3 4]" {
		t.Fatalf("chunks %v, want [0 1 3 4]\n%s", idx, trace.String())
	}
	if rep.Frames != 4*24 {
		t.Errorf("%d frames decoded, want 96", rep.Frames)
	}
	if !strings.Contains(trace.String(), "viewer: seek to 3.5s (starting): chunk 3 at 3s") {
		t.Errorf("trace:\n%s", trace.String())
	}
	// The first request in "ad" is the initialization segment of the rate
	// its first chunk comes at, and the third chunk of "main" is skipped.
	reqs := requests(serverLog.String())
	first := -1
	for k, r := range reqs {
		if strings.HasPrefix(r, "main/") && strings.HasSuffix(r, "/00003.toy") {
			t.Errorf("%s fetched, though the seek skipped it", r)
		}
		if first < 0 && strings.HasPrefix(r, "ad/") {
			first = k
		}
	}
	if first < 0 || first+1 >= len(reqs) || !strings.HasSuffix(reqs[first], "/init.toy") || strings.TrimSuffix(reqs[first], "init.toy")+"00001.toy" != reqs[first+1] {
		t.Errorf("requests %v: want the second Period's initialization segment, then its first chunk", reqs)
	}
}

// avPeriods is a presentation of two Periods of 4 s, each with two video
// rates (chunks of 2 s) and one audio rate whose segments do not line up
// with the video's: "a" (v1, v2 and audio a1) from 0 s, "b" (w1, w2 and
// audio b1) from 4 s. The sound of "a" runs 40 ms past its video, as
// whole AAC frames may make it: its last segment starts as "b" begins.
func avPeriods() MemFS {
	files := MemFS{}
	for _, id := range []string{"v1", "v2", "a1", "w1", "w2", "b1"} {
		files["init-"+id] = []byte("init " + id)
		for n := 1; n <= 3; n++ {
			files[fmt.Sprintf("%s-%d", id, n)] = []byte(strings.Repeat(id, 100*n))
		}
	}
	period := func(id, start, v1, v2, audio, timeline string) string {
		return `<Period id="` + id + `" start="` + start + `">
  <AdaptationSet contentType="video"><SegmentTemplate timescale="1000" duration="2000" initialization="init-$RepresentationID$" media="$RepresentationID$-$Number$"/>
    <Representation id="` + v1 + `" bandwidth="100000"/><Representation id="` + v2 + `" bandwidth="400000"/></AdaptationSet>
  <AdaptationSet contentType="audio"><SegmentTemplate timescale="1000" initialization="init-$RepresentationID$" media="$RepresentationID$-$Number$">
      <SegmentTimeline>` + timeline + `</SegmentTimeline></SegmentTemplate>
    <Representation id="` + audio + `" bandwidth="64000"/></AdaptationSet>
</Period>`
	}
	files["av.mpd"] = []byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S">` +
		period("a", "PT0S", "v1", "v2", "a1", `<S t="0" d="1900"/><S d="2100"/><S d="40"/>`) +
		period("b", "PT4S", "w1", "w2", "b1", `<S t="0" d="1900"/><S d="2100"/>`) + `</MPD>`)
	return files
}

// videoOrAudio reduces the requests for avPeriods to the audio and the
// video chunks, named without their rate ("v-1": the first chunk of "a";
// "w-2": the second of "b").
func videoOrAudio(serverLog string) string {
	audioName := regexp.MustCompile(`^(init-)?[ab]1(-\d)?$`)
	var out []string
	for _, r := range requests(serverLog) {
		switch {
		case strings.HasPrefix(r, "v") || strings.HasPrefix(r, "w"):
			out = append(out, r[:1]+"-"+r[len(r)-1:])
		case audioName.MatchString(r):
			out = append(out, r)
		}
	}
	return strings.Join(out, " ")
}

// TestPlayerPeriodsAudio: each Period's sound is fetched beside its video,
// each audio segment once, the second Period's audio with its own
// initialization segment, so the sound keeps up across the boundary.
func TestPlayerPeriodsAudio(t *testing.T) {
	base, serverLog := serveLogged(t, avPeriods())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := (&Player{Clock: &SkipClock{}, Rule: BBA{}}).Play(ctx, base+"/av.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if rep.AudioID != "a1" || rep.Periods[1].AudioID != "b1" || rep.AudioSegments != 5 || len(rep.Chunks) != 4 {
		t.Fatalf("audio %q then %q, %d audio segments, %d chunks; want a1, b1, 5, 4", rep.AudioID, rep.Periods[1].AudioID, rep.AudioSegments, len(rep.Chunks))
	}
	// After each video chunk, the audio of its Period that starts before
	// the chunk ends, and all the rest after a Period's last chunk: 0 and
	// 1.9 s by 2 s, 4 s at the end of "a"; in "b", 4 and 5.9 s by 6 s.
	if got, want := videoOrAudio(serverLog.String()), "v-1 init-a1 a1-1 a1-2 v-2 a1-3 w-1 init-b1 b1-1 b1-2 w-2"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
}

// TestPlayerPeriodsAudioSeek: a seek from the first Period to 7 s, in the
// second, moves the sound there too: to the second Period's audio segment
// playing at the start of the chunk (6 s), the one from 5.9 s.
func TestPlayerPeriodsAudioSeek(t *testing.T) {
	base, serverLog := serveLogged(t, avPeriods())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rule := &seekAt{Rule: Throughput{}, at: 0, to: 7 * time.Second, session: make(chan *Session, 1)}
	rep, idx := playSeeking(t, ctx, &Player{Clock: &SkipClock{}, Rule: rule}, rule, base+"/av.mpd")
	if fmt.Sprint(idx) != "[0 3]" {
		t.Fatalf("chunks %v, want [0 3]", idx)
	}
	if got, want := videoOrAudio(serverLog.String()), "v-1 init-a1 a1-1 a1-2 w-2 init-b1 b1-2"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	if rep.AudioSegments != 3 {
		t.Errorf("%d audio segments, want 3", rep.AudioSegments)
	}
}

// TestPlayerPeriodsLadderMismatch: a Period with another number of video
// Representations than the first cannot be joined to its ladder by rank,
// so the player refuses the MPD, saying which Periods differ, before
// fetching any chunk.
func TestPlayerPeriodsLadderMismatch(t *testing.T) {
	files := avPeriods()
	doc := strings.Replace(string(files["av.mpd"]), `<Representation id="w2" bandwidth="400000"/>`, "", 1)
	files["av.mpd"] = []byte(doc)
	base, serverLog := serveLogged(t, files)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := (&Player{Clock: &SkipClock{}}).Play(ctx, base+"/av.mpd")
	if err == nil || !strings.Contains(err.Error(), `(1 video Representations in Period 1 (id "b"), 2 in Period 0 (id "a"))`) {
		t.Fatalf("error %v, want one naming the Periods whose ladders differ", err)
	}
	if r := requests(serverLog.String()); len(r) != 1 {
		t.Errorf("requests %v, want the MPD alone", r)
	}
}
