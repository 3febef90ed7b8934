package dash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"appnet.dev/dash/mpd"
	"github.com/google/go-cmp/cmp"
)

func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s)", name, pkg)
	}
	return p
}

// ffmpegDASH makes a 6 s, three-rate DASH presentation in one
// AdaptationSet with 1 s segments. timeline selects SegmentTimeline with
// $Time$ in the media names instead of $Number$.
func ffmpegDASH(t testing.TB, timeline bool) string {
	t.Helper()
	if timeline {
		return ffmpegDASHWith(t, false, "-use_timeline", "1", "-media_seg_name", "chunk-$RepresentationID$-$Time$.m4s")
	}
	return ffmpegDASHWith(t, false, "-use_timeline", "0")
}

// ffmpegDASHWith is ffmpegDASH with the dash muxer's layout options, and
// with sound (a 440 Hz tone, AAC at 64 kbit/s, in an AdaptationSet of its
// own) if asked.
func ffmpegDASHWith(t testing.TB, sound bool, layout ...string) string {
	t.Helper()
	ffmpeg := needTool(t, "ffmpeg", "ffmpeg")
	dir := t.TempDir()
	args := []string{"-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=6"}
	if sound {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:duration=6")
	}
	args = append(args, "-filter_complex", "[0:v]split=3[a][b][c];[b]scale=256:144[b2];[c]scale=160:90[c2]",
		"-map", "[a]", "-map", "[b2]", "-map", "[c2]",
		"-c:v", "libx264", "-preset", "ultrafast", "-b:v:0", "400k", "-b:v:1", "200k", "-b:v:2", "100k",
		"-x264-params", "keyint=30:min-keyint=30:scenecut=0")
	sets := "id=0,streams=v"
	if sound {
		args = append(args, "-map", "1:a", "-c:a", "aac", "-b:a", "64k")
		sets += " id=1,streams=a"
	}
	args = append(args, "-adaptation_sets", sets, "-f", "dash", "-seg_duration", "1", "-use_template", "1")
	args = append(append(args, layout...), filepath.Join(dir, "manifest.mpd"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	return dir
}

// ffmpegMPD reads the MPD ffmpegDASH wrote into dir.
func ffmpegMPD(t testing.TB, dir string) *mpd.MPD {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(dir, "manifest.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.Unmarshal(doc)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return m
}

// TestFFmpegSegments: our parser lists exactly the segments ffmpeg wrote,
// with $Number$ and with SegmentTimeline and $Time$.
func TestFFmpegSegments(t *testing.T) {
	for _, timeline := range []bool{false, true} {
		dir := ffmpegDASH(t, timeline)
		m := ffmpegMPD(t, dir)
		tracks, err := m.Tracks("")
		if err != nil {
			t.Fatal(err)
		}
		if len(tracks) != 3 {
			t.Fatalf("timeline %v: %d tracks, want 3", timeline, len(tracks))
		}
		var listed []string
		var total time.Duration
		for _, tr := range tracks {
			listed = append(listed, tr.Init.URL)
			for _, s := range tr.Segments {
				listed = append(listed, s.URL)
			}
			total = 0
			for _, s := range tr.Segments {
				total += s.Duration
			}
			if total < 5900*time.Millisecond || total > 6100*time.Millisecond {
				t.Errorf("timeline %v: %s lasts %v, want 6 s", timeline, tr.Representation.ID, total)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var written []string
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".m4s") {
				written = append(written, e.Name())
			}
		}
		sort.Strings(listed)
		sort.Strings(written)
		if d := cmp.Diff(written, listed); d != "" {
			t.Errorf("timeline %v: written by ffmpeg (-) vs listed by us (+):\n%s", timeline, d)
		}
		if timeline && !strings.Contains(strings.Join(listed, " "), "-15360.m4s") && !strings.Contains(strings.Join(listed, " "), "-30720.m4s") {
			t.Errorf("no $Time$ names: %v", listed)
		}
	}
}

// TestFFmpegSegmentBase: ffmpeg writes each Representation as one MP4
// file with a segment index ('sidx') and lists the fragments' byte ranges
// in a SegmentList. From the files alone we find the index, describe them
// in the on-demand profile (SegmentBase with an indexRange, which lists no
// segments), and our player, reading the index, lists exactly ffmpeg's byte
// ranges and plays them.
func TestFFmpegSegmentBase(t *testing.T) {
	dir := ffmpegDASHWith(t, false, "-use_timeline", "0", "-single_file", "1", "-global_sidx", "1")
	m := ffmpegMPD(t, dir)
	theirs, err := m.Tracks("")
	if err != nil {
		t.Fatal(err)
	}
	ranges := func(tr mpd.Track) []string {
		var out []string
		for _, s := range tr.Segments {
			out = append(out, s.Range)
		}
		return out
	}
	want := map[string][]string{} // Representation ID → ffmpeg's byte ranges
	od := *m
	od.Profiles = "urn:mpeg:dash:profile:isoff-on-demand:2011"
	od.Periods = append([]mpd.Period(nil), m.Periods...)
	set := od.Periods[0].AdaptationSets[0]
	set.Representations = append([]mpd.Representation(nil), set.Representations...)
	for i, tr := range theirs {
		want[tr.Representation.ID] = ranges(tr)
		file, err := os.ReadFile(filepath.Join(dir, tr.Segments[0].URL))
		if err != nil {
			t.Fatal(err)
		}
		// The index is in the first KiB, after the ftyp and moov boxes.
		idx, err := ParseSegmentIndex(file[:min(len(file), 4096)], 0)
		if err != nil {
			t.Fatalf("%s: %v", tr.Segments[0].URL, err)
		}
		set.Representations[i].SegmentList = nil
		set.Representations[i].SegmentBase = &mpd.SegmentBase{IndexRange: fmt.Sprintf("%d-%d", idx.Start, idx.End-1),
			Initialization: &mpd.URLType{Range: fmt.Sprintf("0-%d", idx.Start-1)}}
	}
	od.Periods[0].AdaptationSets = []mpd.AdaptationSet{set}
	odDoc, err := od.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(odDoc, []byte("SegmentURL")) || !bytes.Contains(odDoc, []byte("indexRange")) {
		t.Fatalf("not an on-demand MPD:\n%s", odDoc)
	}
	if err := os.WriteFile(filepath.Join(dir, "od.mpd"), odDoc, 0o644); err != nil {
		t.Fatal(err)
	}

	base := serve(t, &Server{FS: Dir(dir)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := &Player{Clock: &SkipClock{}, Rule: BOLA{}}
	ours, err := p.Tracks(ctx, base+"/od.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(ours) != len(theirs) {
		t.Fatalf("%d tracks, ffmpeg wrote %d", len(ours), len(theirs))
	}
	for _, tr := range ours {
		if d := cmp.Diff(want[tr.Representation.ID], ranges(tr)); d != "" {
			t.Errorf("Representation %s: ffmpeg's byte ranges (-) vs the ones read from the index (+):\n%s", tr.Representation.ID, d)
		}
		var total time.Duration
		for _, s := range tr.Segments {
			total += s.Duration
		}
		if total < 5900*time.Millisecond || total > 6100*time.Millisecond {
			t.Errorf("Representation %s lasts %v, want 6 s", tr.Representation.ID, total)
		}
	}
	rep, err := p.Play(ctx, base+"/od.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 6 {
		t.Errorf("played %d chunks, want 6", len(rep.Chunks))
	}
	// And ffmpeg, as a DASH client, decodes our on-demand MPD's top
	// Representation: one framemd5 line per frame.
	ffmpeg := needTool(t, "ffmpeg", "ffmpeg")
	out, err := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "error", "-i", base+"/od.mpd", "-map", "0:v:0", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg -i od.mpd: %v", err)
	}
	frames := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			frames++
		}
	}
	if frames != 180 {
		t.Errorf("ffmpeg decoded %d frames of our on-demand MPD, want 180 (6 s at 30 fps)", frames)
	}
}

// TestFFmpegAudio: from ffmpeg's DASH with sound (video and audio in
// AdaptationSets of their own, audio segments cut at AAC frames, so not
// quite in line with the video's), our player plays the video and fetches
// every audio segment ffmpeg wrote, each once.
func TestFFmpegAudio(t *testing.T) {
	dir := ffmpegDASHWith(t, true, "-use_timeline", "1")
	m := ffmpegMPD(t, dir)
	all, err := m.Tracks("")
	if err != nil {
		t.Fatal(err)
	}
	audio := SelectAudio(all, SelectTracks(all))
	if audio == nil || len(audio.Segments) == 0 {
		t.Fatalf("no audio track in ffmpeg's MPD: %+v", all)
	}
	var wrote []string // the audio segment files, by name
	for _, s := range audio.Segments {
		wrote = append(wrote, "/"+s.URL)
		if _, err := os.Stat(filepath.Join(dir, s.URL)); err != nil {
			t.Fatalf("listed but not written: %v", err)
		}
	}
	base, log := serveLogged(t, Dir(dir))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := (&Player{Clock: &SkipClock{}, Rule: BOLA{}}).Play(ctx, base+"/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 6 || rep.AudioID != audio.Representation.ID || rep.AudioSegments != len(wrote) {
		t.Errorf("%d video chunks, audio %q with %d segments; want 6, %q with %d", len(rep.Chunks), rep.AudioID, rep.AudioSegments, audio.Representation.ID, len(wrote))
	}
	for _, name := range wrote {
		if n := strings.Count(log.String(), "C: GET "+name+"\n"); n != 1 {
			t.Errorf("%s fetched %d times, want once", name, n)
		}
	}
}

// TestFFmpegServed: our server serves ffmpeg's DASH; ffprobe and ffmpeg
// read it back over HTTP, our player plays it, and ffprobe accepts the MPD
// as our writer writes it, in SegmentTemplate and in SegmentList form.
func TestFFmpegServed(t *testing.T) {
	ffprobe := needTool(t, "ffprobe", "ffmpeg")
	ffmpeg := needTool(t, "ffmpeg", "ffmpeg")
	dir := ffmpegDASH(t, false)
	m := ffmpegMPD(t, dir)
	// Our writer, as it is.
	ours, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ours.mpd"), ours, 0o644); err != nil {
		t.Fatal(err)
	}
	// And every segment written out in a SegmentList.
	tracks, err := m.Tracks("")
	if err != nil {
		t.Fatal(err)
	}
	list := *m
	list.Periods = append([]mpd.Period(nil), m.Periods...)
	set := list.Periods[0].AdaptationSets[0]
	set.Representations = append([]mpd.Representation(nil), set.Representations...)
	for i := range set.Representations {
		tr := tracks[i]
		sl := &mpd.SegmentList{Timescale: 1000, Duration: 1000, Initialization: &mpd.URLType{SourceURL: tr.Init.URL}}
		for _, s := range tr.Segments {
			sl.SegmentURLs = append(sl.SegmentURLs, mpd.SegmentURL{Media: s.URL})
		}
		set.Representations[i].SegmentTemplate = nil
		set.Representations[i].SegmentList = sl
	}
	set.SegmentTemplate = nil
	list.Periods[0].AdaptationSets = []mpd.AdaptationSet{set}
	listDoc, err := list.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "list.mpd"), listDoc, 0o644); err != nil {
		t.Fatal(err)
	}

	base, log := serveLogged(t, Dir(dir))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, name := range []string{"manifest.mpd", "ours.mpd", "list.mpd"} {
		out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-show_streams", "-of", "json", base+"/"+name).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v\n%s", name, err, out)
		}
		var probe struct {
			Streams []struct {
				CodecName string `json:"codec_name"`
				Width     int    `json:"width"`
			} `json:"streams"`
		}
		if err := json.Unmarshal(out, &probe); err != nil {
			t.Fatal(err)
		}
		var widths []int
		for _, s := range probe.Streams {
			if s.CodecName != "h264" {
				t.Errorf("%s: codec %q", name, s.CodecName)
			}
			widths = append(widths, s.Width)
		}
		sort.Ints(widths)
		if d := cmp.Diff([]int{160, 256, 320}, widths); d != "" {
			t.Errorf("ffprobe %s: widths (-want +got):\n%s", name, d)
		}
	}
	// ffmpeg as a DASH client: decode the whole top representation, one
	// framemd5 line per frame on stdout, its requests logged on stderr.
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-v", "verbose", "-i", base+"/list.mpd", "-map", "0:v:0", "-f", "framemd5", "-")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, lastLines(stderr.Bytes(), 20))
	}
	frames := 0
	for _, line := range strings.Split(stdout.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			frames++
		}
	}
	if frames != 180 {
		t.Errorf("ffmpeg decoded %d frames, want 180 (6 s at 30 fps)", frames)
	}
	if !strings.Contains(stderr.String(), "DASH request for url") {
		t.Errorf("ffmpeg logged no DASH requests:\n%s", lastLines(stderr.Bytes(), 20))
	}
	if n := strings.Count(log.String(), "S: 206 Partial Content") + strings.Count(log.String(), "S: 200 OK"); n < 7 {
		t.Errorf("%d successful requests, want the MPD, an init segment and 6 chunks at least:\n%s", n, log.String())
	}
	// Our player plays it.
	rep, err := (&Player{Clock: &SkipClock{}, Rule: BOLA{}}).Play(ctx, base+"/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 6 || len(rep.Bitrates) != 3 || rep.Bitrates[0] != 100000 || rep.Bitrates[2] != 400000 {
		t.Errorf("%d chunks from the ladder %v", len(rep.Chunks), rep.Bitrates)
	}
	for _, c := range rep.Chunks {
		if c.Size == 0 {
			t.Errorf("chunk %d empty", c.Index)
		}
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
