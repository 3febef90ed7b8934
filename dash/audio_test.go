package dash

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// avFiles is a presentation of 8 s with two video rates (chunks of 2 s)
// and two audio rates whose segments do not line up with the video's
// (1.9, 2.1, 2, 2 s), as ffmpeg's AAC segments do not.
func avFiles() MemFS {
	files := MemFS{}
	for _, id := range []string{"v1", "v2", "a1", "a2"} {
		files["init-"+id] = []byte("init " + id)
		for n := 1; n <= 4; n++ {
			files[fmt.Sprintf("%s-%d", id, n)] = []byte(strings.Repeat(id, 100*n))
		}
	}
	files["av.mpd"] = []byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S"><Period>
  <AdaptationSet contentType="video"><SegmentTemplate timescale="1000" duration="2000" initialization="init-$RepresentationID$" media="$RepresentationID$-$Number$"/>
    <Representation id="v1" bandwidth="100000"/><Representation id="v2" bandwidth="400000"/></AdaptationSet>
  <AdaptationSet contentType="audio"><SegmentTemplate timescale="1000" initialization="init-$RepresentationID$" media="$RepresentationID$-$Number$">
      <SegmentTimeline><S t="0" d="1900"/><S d="2100"/><S d="2000" r="1"/></SegmentTimeline></SegmentTemplate>
    <Representation id="a2" bandwidth="128000"/><Representation id="a1" bandwidth="64000"/></AdaptationSet>
</Period></MPD>`)
	return files
}

// TestPlayerAudio: beside the video, the player fetches the lower audio
// rate, each segment once, after the video chunk during which it starts.
func TestPlayerAudio(t *testing.T) {
	base, log := serveLogged(t, avFiles())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := (&Player{Clock: &SkipClock{}, Rule: BBA{}}).Play(ctx, base+"/av.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if rep.AudioID != "a1" || rep.AudioSegments != 4 || len(rep.Chunks) != 4 {
		t.Fatalf("audio %q, %d audio segments, %d chunks; want a1, 4, 4", rep.AudioID, rep.AudioSegments, len(rep.Chunks))
	}
	if want := int64(100 + 200 + 300 + 400); rep.AudioBytes != 2*want {
		t.Errorf("%d audio bytes, want %d", rep.AudioBytes, 2*want)
	}
	// The order of the requests: each video chunk, then the audio that
	// starts before it ends (0 and 1.9 s before 2 s, none before 4 s, 4 s
	// before 6 s, the rest after the last chunk).
	var order []string
	for _, m := range regexp.MustCompile(`C: GET /((v\d|a\d)-\d|init-a1)`).FindAllStringSubmatch(log.String(), -1) {
		name := m[1]
		if strings.HasPrefix(name, "v") {
			name = "v-" + name[3:]
		}
		order = append(order, name)
	}
	want := "v-1 init-a1 a1-1 a1-2 v-2 v-3 a1-3 v-4 a1-4"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	// The rule plans each download with the sound that comes with it:
	// 2 s of v1 (100 kb/s) and of a1 (64 kb/s).
	if got, want := rep.Chunks[0].State.Sizes[1][0], int64(25_000+16_000); got != want {
		t.Errorf("the rule sees chunk 1 at the lowest rate as %d bytes, want %d (with its audio)", got, want)
	}
	if strings.Contains(log.String(), "/a2-") {
		t.Errorf("the higher audio rate was fetched too:\n%s", log.String())
	}
	// NoAudio: the video alone.
	rep, err = (&Player{Clock: &SkipClock{}, NoAudio: true}).Play(ctx, base+"/av.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if rep.AudioID != "" || rep.AudioSegments != 0 || len(rep.Chunks) != 4 {
		t.Errorf("NoAudio: audio %q with %d segments, %d chunks", rep.AudioID, rep.AudioSegments, len(rep.Chunks))
	}
}

// TestPlayerAudioSeek: a seek moves the audio with the video, to the
// segment playing at the new position.
func TestPlayerAudioSeek(t *testing.T) {
	base, log := serveLogged(t, avFiles())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Back to 0.5 s once chunks 0 and 1 (0–4 s) are in.
	rule := &seekAt{Rule: BBA{}, at: 1, to: 500 * time.Millisecond, session: make(chan *Session, 1)}
	rep, idx := playSeeking(t, ctx, &Player{Clock: &SkipClock{}, Rule: rule}, rule, base+"/av.mpd")
	if fmt.Sprint(idx) != "[0 1 0 1 2 3]" {
		t.Fatalf("chunks %v, want [0 1 0 1 2 3]", idx)
	}
	// The audio of 0–4 s again, from its first segment (0–1.9 s).
	if n := strings.Count(log.String(), "C: GET /a1-1\n"); n != 2 {
		t.Errorf("the first audio segment fetched %d times, want twice (before and after the seek):\n%s", n, log.String())
	}
	if rep.AudioSegments != 6 {
		t.Errorf("%d audio segments fetched, want 6 (2, then all 4 after the seek)", rep.AudioSegments)
	}
}
