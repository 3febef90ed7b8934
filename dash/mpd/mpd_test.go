package mpd

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	v := Values{RepresentationID: "video-720p", Number: 42, Time: 1234567, Bandwidth: 1500000}
	tests := []struct {
		pattern, want string
	}{
		{"$RepresentationID$/seg-$Number$.m4s", "video-720p/seg-42.m4s"},
		{"chunk-$Number%05d$.m4s", "chunk-00042.m4s"},
		{"t$Time$.m4s", "t1234567.m4s"},
		{"t$Time%010d$", "t0001234567"},
		{"$Bandwidth$/$Number%01d$", "1500000/42"},
		{"cost $$5 $Number%02d$", "cost $5 42"},
		{"plain.mp4", "plain.mp4"},
		{"$Number%0d$", "42"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.pattern, v)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
		}
	}
	bad := []string{"$Number", "$Foo$", "$RepresentationID%05d$", "$Number%5d$", "$Number%0999d$", "$Number%05x$", "$Number%033d$"}
	for _, p := range bad {
		if got, err := Expand(p, v); err == nil {
			t.Errorf("Expand(%q) = %q, want an error", p, got)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"PT12.0S", 12 * time.Second},
		{"PT1H2M3.5S", time.Hour + 2*time.Minute + 3500*time.Millisecond},
		{"P0Y0M0DT0H0M2.000S", 2 * time.Second},
		{"P1DT1S", 24*time.Hour + time.Second},
		{"PT0S", 0},
		{"PT4M", 4 * time.Minute},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || time.Duration(got) != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, time.Duration(got), err, tt.want)
		}
		back, err := ParseDuration(got.String())
		if err != nil || back != got {
			t.Errorf("ParseDuration(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
		}
	}
	for _, in := range []string{"", "P", "-PT1S", "PT-1S", "12", "PT1X", "P1M", "PT99999999999S", "PTS", "PT1.2.3S", "PTT1S"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}

// ffmpegTimeline is the shape of what ffmpeg's dash muxer writes with
// -use_timeline 1 (two rates, one AdaptationSet, 2 s segments).
const ffmpegTimeline = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
	xmlns="urn:mpeg:dash:schema:mpd:2011"
	profiles="urn:mpeg:dash:profile:isoff-live:2011"
	type="static"
	mediaPresentationDuration="PT6.0S"
	minBufferTime="PT2.0S">
	<ProgramInformation>
	</ProgramInformation>
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" frameRate="30/1">
			<Representation id="0" mimeType="video/mp4" codecs="avc1.42c00d" bandwidth="300000" width="320" height="180">
				<SegmentTemplate timescale="15360" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="30720" r="1" />
						<S d="30208" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
			<Representation id="1" mimeType="video/mp4" codecs="avc1.42c00c" bandwidth="100000" width="160" height="90">
				<SegmentTemplate timescale="15360" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Time$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="30720" r="-1" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>
`

func segs(tr Track) []string {
	var out []string
	for _, s := range tr.Segments {
		out = append(out, fmt.Sprintf("%s %v+%v", s.URL, s.Start, s.Duration))
	}
	return out
}

// mustTracks parses doc and expands it as if fetched from mpdURL.
func mustTracks(t *testing.T, doc, mpdURL string) []Track {
	t.Helper()
	m, err := Unmarshal([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := m.Tracks(mpdURL)
	if err != nil {
		t.Fatal(err)
	}
	return tracks
}

func TestTracksTimeline(t *testing.T) {
	tracks := mustTracks(t, ffmpegTimeline, "http://netcinema.com/6Y7B23V/manifest.mpd")
	if len(tracks) != 2 {
		t.Fatalf("%d tracks, want 2", len(tracks))
	}
	want0 := []string{
		"http://netcinema.com/6Y7B23V/chunk-stream0-00001.m4s 0s+2s",
		"http://netcinema.com/6Y7B23V/chunk-stream0-00002.m4s 2s+2s",
		"http://netcinema.com/6Y7B23V/chunk-stream0-00003.m4s 4s+1.966666666s",
	}
	if d := cmp.Diff(want0, segs(tracks[0])); d != "" {
		t.Errorf("representation 0 (-want +got):\n%s", d)
	}
	if got := tracks[0].Init.URL; got != "http://netcinema.com/6Y7B23V/init-stream0.m4s" {
		t.Errorf("init = %q", got)
	}
	// r="-1" repeats to the end of the Period (6 s = 92160 ticks).
	want1 := []string{
		"http://netcinema.com/6Y7B23V/chunk-stream1-0.m4s 0s+2s",
		"http://netcinema.com/6Y7B23V/chunk-stream1-30720.m4s 2s+2s",
		"http://netcinema.com/6Y7B23V/chunk-stream1-61440.m4s 4s+2s",
	}
	if d := cmp.Diff(want1, segs(tracks[1])); d != "" {
		t.Errorf("representation 1 (-want +got):\n%s", d)
	}
	if tracks[0].ContentType != "video" || tracks[0].MimeType != "video/mp4" || tracks[0].Bandwidth != 300000 {
		t.Errorf("track 0 = %+v", tracks[0])
	}
}

// TestBaseURLLevels resolves BaseURLs at every level: MPD, Period,
// AdaptationSet and Representation, with two servers at the top.
func TestBaseURLLevels(t *testing.T) {
	doc := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S">
  <BaseURL>http://kingcdn.com/</BaseURL>
  <BaseURL>http://netcinema.com/</BaseURL>
  <Period duration="PT8S">
    <BaseURL>movies/</BaseURL>
    <AdaptationSet mimeType="video/mp4">
      <BaseURL>6Y7B23V/</BaseURL>
      <SegmentTemplate media="$RepresentationID$/$Number$.m4s" initialization="$RepresentationID$/init.mp4" duration="4" startNumber="0"/>
      <Representation id="hd" bandwidth="4300000"><BaseURL>../6Y7B23V-hd/</BaseURL></Representation>
      <Representation id="sd" bandwidth="750000"/>
    </AdaptationSet>
  </Period>
</MPD>`
	tracks := mustTracks(t, doc, "http://netcinema.com/index/manifest.mpd")
	wantBases := [][]string{
		{"http://kingcdn.com/movies/6Y7B23V-hd/", "http://netcinema.com/movies/6Y7B23V-hd/"},
		{"http://kingcdn.com/movies/6Y7B23V/", "http://netcinema.com/movies/6Y7B23V/"},
	}
	for i, tr := range tracks {
		if d := cmp.Diff(wantBases[i], tr.BaseURLs); d != "" {
			t.Errorf("track %d BaseURLs (-want +got):\n%s", i, d)
		}
	}
	want := []string{
		"http://kingcdn.com/movies/6Y7B23V-hd/hd/0.m4s 0s+4s",
		"http://kingcdn.com/movies/6Y7B23V-hd/hd/1.m4s 4s+4s",
	}
	if d := cmp.Diff(want, segs(tracks[0])); d != "" {
		t.Errorf("segments (-want +got):\n%s", d)
	}
	if got, _ := Resolve(tracks[1].BaseURLs[1], tracks[1].Segments[1].Ref); got != "http://netcinema.com/movies/6Y7B23V/sd/1.m4s" {
		t.Errorf("second server's URL = %q", got)
	}
}

func TestSegmentListAndBase(t *testing.T) {
	doc := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT10S">
  <Period>
    <AdaptationSet contentType="video">
      <Representation id="a" bandwidth="1000">
        <SegmentList timescale="1000" duration="4000">
          <Initialization sourceURL="a-init.mp4"/>
          <SegmentURL media="a1.mp4"/>
          <SegmentURL media="a2.mp4"/>
          <SegmentURL media="a.mp4" mediaRange="100-199"/>
        </SegmentList>
      </Representation>
      <Representation id="b" bandwidth="2000">
        <BaseURL>b.mp4</BaseURL>
        <SegmentBase indexRange="800-900"><Initialization range="0-799"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`
	tracks := mustTracks(t, doc, "http://crepes.fr/v/manifest.mpd")
	want := []string{
		"http://crepes.fr/v/a1.mp4 0s+4s",
		"http://crepes.fr/v/a2.mp4 4s+4s",
		"http://crepes.fr/v/a.mp4 8s+2s", // the Period ends at 10 s
	}
	if d := cmp.Diff(want, segs(tracks[0])); d != "" {
		t.Errorf("SegmentList (-want +got):\n%s", d)
	}
	if tracks[0].Segments[2].Range != "100-199" || tracks[0].Init.URL != "http://crepes.fr/v/a-init.mp4" {
		t.Errorf("range %q init %+v", tracks[0].Segments[2].Range, tracks[0].Init)
	}
	b := tracks[1]
	if d := cmp.Diff([]string{"http://crepes.fr/v/b.mp4 0s+10s"}, segs(b)); d != "" {
		t.Errorf("SegmentBase (-want +got):\n%s", d)
	}
	if b.Init == nil || b.Init.URL != "http://crepes.fr/v/b.mp4" || b.Init.Range != "0-799" {
		t.Errorf("SegmentBase init = %+v", b.Init)
	}
	if b.Index == nil || b.Index.URL != "http://crepes.fr/v/b.mp4" || b.Index.Range != "800-900" {
		t.Errorf("SegmentBase index = %+v", b.Index)
	}
	if tracks[0].Index != nil {
		t.Errorf("SegmentList index = %+v", tracks[0].Index)
	}
}

// TestSetSubsegments: a SegmentBase track is cut into the subsegments of
// its segment index, timed from the Period's start less the
// presentationTimeOffset; once only.
func TestSetSubsegments(t *testing.T) {
	doc := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT20S">
  <Period duration="PT10S"/>
  <Period>
    <AdaptationSet contentType="video">
      <Representation id="b" bandwidth="2000">
        <BaseURL>b.mp4</BaseURL>
        <SegmentBase timescale="1000" presentationTimeOffset="500" indexRange="901-1012"><Initialization range="0-900"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`
	tracks := mustTracks(t, doc, "http://crepes.fr/v/manifest.mpd")
	b := tracks[0]
	if b.Period != 1 || b.PeriodStart != 10*time.Second {
		t.Errorf("Period %d starting at %v, want the second, at 10 s (the first's duration)", b.Period, b.PeriodStart)
	}
	// An index in units of 1/90000 s: the first subsegment presented at
	// 0.5 s, which the offset of 500 ms brings to the Period's start (10 s).
	subs := []Subsegment{{Size: 100, Duration: 180000}, {Size: 50, Duration: 180000}, {Size: 70, Duration: 90000}}
	if err := b.SetSubsegments(90000, 45000, 1013, subs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range b.Segments {
		got = append(got, fmt.Sprintf("%s %s #%d %v+%v", s.URL, s.Range, s.Number, s.Start, s.Duration))
	}
	want := []string{
		"http://crepes.fr/v/b.mp4 1013-1112 #1 10s+2s",
		"http://crepes.fr/v/b.mp4 1113-1162 #2 12s+2s",
		"http://crepes.fr/v/b.mp4 1163-1232 #3 14s+1s",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("subsegments (-want +got):\n%s", d)
	}
	if err := b.SetSubsegments(90000, 0, 1013, subs); err == nil {
		t.Error("a track expanded twice")
	}
	for name, err := range map[string]error{
		"timescale 0":   tracks[0].SetSubsegments(0, 0, 0, subs),
		"no subsegment": (&Track{Index: &Segment{}, Segments: []Segment{{}}}).SetSubsegments(1, 0, 0, nil),
		"no index":      (&Track{Segments: []Segment{{}}}).SetSubsegments(1, 0, 0, subs),
		"size 0":        (&Track{Index: &Segment{}, Segments: []Segment{{}}}).SetSubsegments(1, 0, 0, []Subsegment{{Size: 0, Duration: 1}}),
		"past 2⁶³":      (&Track{Index: &Segment{}, Segments: []Segment{{}}}).SetSubsegments(1, 0, 1<<63-10, subs),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	bad := strings.Replace(doc, `indexRange="901-1012"`, `indexRange="1012-901"`, 1)
	m, err := Unmarshal([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Tracks(""); err == nil || !strings.Contains(err.Error(), `bad indexRange "1012-901"`) {
		t.Errorf("indexRange 1012-901: %v", err)
	}
}

func TestTemplateInheritance(t *testing.T) {
	doc := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT9S">
  <Period>
    <SegmentTemplate timescale="10" duration="30" media="p-$Number$"/>
    <AdaptationSet>
      <SegmentTemplate media="a-$RepresentationID$-$Number%03d$" startNumber="7"/>
      <Representation id="r" bandwidth="5"/>
      <Representation id="s" bandwidth="6"><SegmentTemplate duration="45"/></Representation>
    </AdaptationSet>
  </Period>
</MPD>`
	tracks := mustTracks(t, doc, "")
	if d := cmp.Diff([]string{"a-r-007 0s+3s", "a-r-008 3s+3s", "a-r-009 6s+3s"}, segs(tracks[0])); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"a-s-007 0s+4.5s", "a-s-008 4.5s+4.5s"}, segs(tracks[1])); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestHostile(t *testing.T) {
	head := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT10S"><Period><AdaptationSet>`
	tail := `</AdaptationSet></Period></MPD>`
	rep := func(inner string) string {
		return head + `<Representation id="x" bandwidth="1">` + inner + `</Representation>` + tail
	}
	tests := []struct {
		name, doc string
		limit     bool // the error must wrap ErrLimit
	}{
		{"huge repeat", rep(`<SegmentTemplate media="$Number$"><SegmentTimeline><S d="1" r="9223372036854775806"/></SegmentTimeline></SegmentTemplate>`), true},
		{"repeats add up", rep(`<SegmentTemplate media="$Number$"><SegmentTimeline>` + strings.Repeat(`<S d="1" r="99999"/>`, 20) + `</SegmentTimeline></SegmentTemplate>`), true},
		{"negative repeat", rep(`<SegmentTemplate media="$Number$"><SegmentTimeline><S d="1" r="-5"/></SegmentTimeline></SegmentTemplate>`), false},
		{"negative duration", strings.Replace(rep(`<SegmentTemplate media="$Number$" duration="1"/>`), "PT10S", "-PT10S", 1), false},
		{"tiny segments", strings.Replace(rep(`<SegmentTemplate media="$Number$" timescale="1000000" duration="1"/>`), "PT10S", "P20DT1S", 1), true},
		{"zero duration entry", rep(`<SegmentTemplate media="$Number$"><SegmentTimeline><S d="0"/></SegmentTimeline></SegmentTemplate>`), false},
		{"many BaseURLs", rep(strings.Repeat(`<BaseURL>a/</BaseURL>`, 9) + `<SegmentTemplate media="$Number$" duration="1"/>`), true},
		{"BaseURL combinations", strings.Replace(strings.Replace(rep(strings.Repeat(`<BaseURL>r/</BaseURL>`, 8)+`<SegmentTemplate media="$Number$" duration="1"/>`),
			"<Period>", "<Period>"+strings.Repeat(`<BaseURL>p/</BaseURL>`, 8), 1),
			"<AdaptationSet>", "<AdaptationSet>"+strings.Repeat(`<BaseURL>a/</BaseURL>`, 8), 1), true},
		{"wide format", rep(`<SegmentTemplate media="$Number%0100000000d$" duration="1"/>`), false},
		{"deep nesting", head + strings.Repeat("<x>", 40) + strings.Repeat("</x>", 40) + tail, true},
		{"many representations", head + strings.Repeat(`<Representation id="x" bandwidth="1"/>`, 65) + tail, true},
		{"not XML", "<MPD", false},
		{"no period", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"/>`, false},
		{"no id", head + `<Representation bandwidth="1"/>` + tail, false},
		{"backwards time", rep(`<SegmentTemplate media="$Time$"><SegmentTimeline><S t="100" d="1"/><S t="50" d="1"/></SegmentTimeline></SegmentTemplate>`), false},
		{"too big", head + strings.Repeat(" ", MaxSize) + tail, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.doc))
			if err == nil {
				_, err = m.Tracks("http://netcinema.com/")
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "mpd: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.limit && !errors.Is(err, ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	m, err := Unmarshal([]byte(ffmpegTimeline))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("re-reading our own output: %v\n%s", err, b)
	}
	if d := cmp.Diff(m, back); d != "" {
		t.Errorf("round trip (-first +second):\n%s", d)
	}
	if !strings.Contains(string(b), `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"`) {
		t.Errorf("no namespace:\n%s", b)
	}
	// ffmpeg's single-file layout: every attribute of a SegmentURL and of
	// a SegmentBase is written back.
	list := `<SegmentList timescale="1000000" duration="1000000"><Initialization range="0-826"></Initialization><SegmentURL mediaRange="827-64371" indexRange="827-878"></SegmentURL></SegmentList>`
	base := `<SegmentBase timescale="90000" presentationTimeOffset="9" indexRange="831-942"><Initialization range="0-830"></Initialization></SegmentBase>`
	doc := `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT1S"><Period><AdaptationSet>` +
		`<Representation id="0" bandwidth="1"><BaseURL>a.mp4</BaseURL>` + list + `</Representation>` +
		`<Representation id="1" bandwidth="2"><BaseURL>b.mp4</BaseURL>` + base + `</Representation></AdaptationSet></Period></MPD>`
	if m, err = Unmarshal([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if b, err = m.Marshal(); err != nil {
		t.Fatal(err)
	}
	flat := regexp.MustCompile(`>\s+<`).ReplaceAllString(string(b), "><") // without the indentation
	for _, want := range []string{list, base} {
		if !strings.Contains(flat, want) {
			t.Errorf("written back without %s:\n%s", want, b)
		}
	}
}

func ExampleExpand() {
	for n := uint64(1); n <= 3; n++ {
		u, _ := Expand("6Y7B23V/$RepresentationID$/chunk-$Number%05d$.m4s", Values{RepresentationID: "1200k", Number: n})
		fmt.Println(u)
	}
	// Output:
	// 6Y7B23V/1200k/chunk-00001.m4s
	// 6Y7B23V/1200k/chunk-00002.m4s
	// 6Y7B23V/1200k/chunk-00003.m4s
}
