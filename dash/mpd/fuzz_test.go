package mpd

import (
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(ffmpegTimeline))
	f.Add([]byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT10S"><BaseURL>http://a/</BaseURL><Period><AdaptationSet><Representation id="x" bandwidth="1"><SegmentList duration="2"><SegmentURL media="a"/></SegmentList></Representation></AdaptationSet></Period></MPD>`))
	f.Add([]byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT10S"><Period><AdaptationSet><Representation id="x" bandwidth="1"><SegmentTemplate media="$Number%05d$" duration="2"/></Representation></AdaptationSet></Period></MPD>`))
	f.Add([]byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" mediaPresentationDuration="PT6S"><Period><AdaptationSet><Representation id="x" bandwidth="1"><BaseURL>x.mp4</BaseURL><SegmentBase timescale="1000" presentationTimeOffset="20" indexRange="831-942"><Initialization range="0-830"/></SegmentBase></Representation></AdaptationSet></Period></MPD>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Unmarshal(data)
		if err != nil {
			return
		}
		tracks, err := m.Tracks("http://netcinema.com/x/manifest.mpd")
		if err != nil {
			return
		}
		n := 0
		for _, tr := range tracks {
			if tr.Index != nil {
				// An index of two 1 s subsegments cuts it in two.
				if err := tr.SetSubsegments(1000, 0, 943, []Subsegment{{Size: 10, Duration: 1000}, {Size: 20, Duration: 1000}}); err != nil || len(tr.Segments) != 2 {
					t.Fatalf("SegmentBase track with index %+v: %v", tr.Index, err)
				}
			}
			n += len(tr.Segments)
			if len(tr.BaseURLs) == 0 || len(tr.BaseURLs) > MaxAlternatives {
				t.Fatalf("%d BaseURLs", len(tr.BaseURLs))
			}
		}
		if n > MaxSegments {
			t.Fatalf("%d segments, above the limit", n)
		}
		if _, err := m.Marshal(); err != nil {
			t.Fatalf("cannot write back what was read: %v", err)
		}
	})
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$RepresentationID$-$Number%05d$.m4s", "$Time$", "$$", "$Bandwidth%012d$", "$", "$Number%0"} {
		f.Add(s, "id", uint64(7), uint64(90000))
	}
	f.Fuzz(func(t *testing.T, pattern, id string, number, tm uint64) {
		got, err := Expand(pattern, Values{RepresentationID: id, Number: number, Time: tm})
		if err != nil {
			return
		}
		// Each identifier grows to at most MaxWidth digits or the id.
		if limit := len(pattern) * (MaxWidth + len(id) + 20); len(got) > limit {
			t.Fatalf("expanded %d bytes to %d", len(pattern), len(got))
		}
	})
}
