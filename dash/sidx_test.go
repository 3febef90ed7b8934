package dash

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"appnet.dev/dash/mpd"
)

// box returns an ISO BMFF box: 32-bit size, type, body.
func box(kind string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(b, kind...), body...)
}

// sidxBox returns a 'sidx' box of the given version with references of
// the given sizes, each lasting dur; nested marks the first as pointing at
// another index.
func sidxBox(version byte, timescale uint32, earliest, firstOffset uint64, dur uint32, sizes []uint32, nested bool) []byte {
	b := []byte{version, 0, 0, 0}
	b = binary.BigEndian.AppendUint32(b, 1) // reference_ID
	b = binary.BigEndian.AppendUint32(b, timescale)
	if version == 0 {
		b = binary.BigEndian.AppendUint32(b, uint32(earliest))
		b = binary.BigEndian.AppendUint32(b, uint32(firstOffset))
	} else {
		b = binary.BigEndian.AppendUint64(b, earliest)
		b = binary.BigEndian.AppendUint64(b, firstOffset)
	}
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sizes)))
	for i, s := range sizes {
		if nested && i == 0 {
			s |= 1 << 31
		}
		b = binary.BigEndian.AppendUint32(b, s)
		b = binary.BigEndian.AppendUint32(b, dur)
		b = binary.BigEndian.AppendUint32(b, 1<<31) // starts with a SAP
	}
	return box("sidx", b)
}

func TestParseSegmentIndex(t *testing.T) {
	sizes := []uint32{63493, 53682, 55221}
	for _, version := range []byte{0, 1} {
		// As ffmpeg writes it with -global_sidx: after ftyp and moov, at
		// byte 831; here after a 'styp' box, in an index range from 823.
		data := append(box("styp", []byte("msdh")), sidxBox(version, 15360, 512, 0, 15360, sizes, false)...)
		idx, err := ParseSegmentIndex(data, 819)
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		boxLen := uint64(len(data) - 12)
		want := &SegmentIndex{Timescale: 15360, Earliest: 512, Start: 831, End: 831 + boxLen, First: 831 + boxLen,
			Subsegments: []mpd.Subsegment{{Size: 63493, Duration: 15360}, {Size: 53682, Duration: 15360}, {Size: 55221, Duration: 15360}}}
		if d := cmp.Diff(want, idx); d != "" {
			t.Errorf("version %d (-want +got):\n%s", version, d)
		}
	}
	// first_offset moves the first subsegment past the box.
	idx, err := ParseSegmentIndex(sidxBox(1, 1000, 0, 100, 1000, sizes, false), 0)
	if err != nil || idx.First != idx.End+100 {
		t.Errorf("first_offset 100: %+v, %v", idx, err)
	}
}

func TestParseSegmentIndexRefuses(t *testing.T) {
	good := sidxBox(0, 1000, 0, 0, 1000, []uint32{10, 20}, false)
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "no 'sidx' box", nil},
		{"another box only", "no 'sidx' box", box("moof", make([]byte, 16))},
		{"a box past the range", "runs past the index range", box("moof", make([]byte, 16))[:20]},
		{"truncated sidx", "only", good[:len(good)-1]},
		{"short header", "box header", good[:5]},
		{"size below header", "smaller than its header", append([]byte{0, 0, 0, 4}, "sidx"...)},
		{"version 2", "version 2", func() []byte { b := append([]byte(nil), good...); b[8] = 2; return b }()},
		{"timescale 0", "timescale 0", sidxBox(0, 0, 0, 0, 1000, []uint32{10}, false)},
		{"no references", "without references", sidxBox(0, 1000, 0, 0, 1000, nil, false)},
		{"more references than bytes", "lists 2 references", func() []byte {
			b := sidxBox(0, 1000, 0, 0, 1000, []uint32{10}, false)
			binary.BigEndian.PutUint16(b[len(b)-14:], 2) // reference_count
			return b
		}()},
		{"size 0 reference", "has size 0", sidxBox(0, 1000, 0, 0, 1000, []uint32{10, 0}, false)},
	}
	for _, tt := range tests {
		if _, err := ParseSegmentIndex(tt.data, 0); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
	if _, err := ParseSegmentIndex(sidxBox(0, 1000, 0, 0, 1000, []uint32{10, 20}, true), 0); !errors.Is(err, ErrNestedIndex) {
		t.Errorf("a hierarchical index: %v", err)
	}
}

func FuzzParseSegmentIndex(f *testing.F) {
	f.Add(sidxBox(0, 15360, 0, 0, 15360, []uint32{63493, 53682}, false), uint64(831))
	f.Add(append(box("styp", []byte("msdh")), sidxBox(1, 90000, 1<<40, 12, 180000, []uint32{1, 2, 3}, false)...), uint64(0))
	f.Add(sidxBox(0, 1000, 0, 0, 1000, []uint32{10}, true), uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, at uint64) {
		idx, err := ParseSegmentIndex(data, at%(1<<40))
		if err != nil {
			return
		}
		if idx.Timescale == 0 || len(idx.Subsegments) == 0 || idx.End <= idx.Start || idx.First < idx.End {
			t.Fatalf("accepted an unusable index: %+v", idx)
		}
		if 12*len(idx.Subsegments) > len(data) {
			t.Fatalf("%d subsegments from %d bytes", len(idx.Subsegments), len(data))
		}
	})
}

// onDemandFile is one Representation in the on-demand profile's layout:
// an initialization part, a segment index, then the subsegments, all in
// one file. It returns the file and the MPD's byte ranges for it.
func onDemandFile(sizes []uint32) (file []byte, initRange, indexRange string) {
	file = append(box("ftyp", []byte("iso6")), box("moov", make([]byte, 40))...)
	initLen := len(file)
	file = append(file, sidxBox(1, 1000, 0, 0, 2000, sizes, false)...)
	idxEnd := len(file)
	for i, s := range sizes {
		file = append(file, box("mdat", bytes.Repeat([]byte{byte(i)}, int(s)-8))...)
	}
	return file, fmt.Sprintf("0-%d", initLen-1), fmt.Sprintf("%d-%d", initLen, idxEnd-1)
}

// TestPlayerSegmentBase: the player reads each Representation's segment
// index and fetches the subsegments by byte range, switching between
// Representations at their boundaries.
func TestPlayerSegmentBase(t *testing.T) {
	files := MemFS{}
	ladder := [][]uint32{{25000, 26000, 24000, 25000}, {100000, 98000, 102000, 100000}}
	var reps strings.Builder
	for i, sizes := range ladder {
		file, initRange, indexRange := onDemandFile(sizes)
		name := fmt.Sprintf("rate%d.mp4", i)
		files[name] = file
		fmt.Fprintf(&reps, `<Representation id="%d" mimeType="video/mp4" bandwidth="%d"><BaseURL>%s</BaseURL>
        <SegmentBase indexRange="%s"><Initialization range="%s"/></SegmentBase></Representation>`, i, (i+1)*100000, name, indexRange, initRange)
	}
	files["od.mpd"] = []byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S"
  profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"><Period><AdaptationSet contentType="video">` + reps.String() +
		`</AdaptationSet></Period></MPD>`)
	base, log := serveLogged(t, files)
	p := &Player{Clock: &SkipClock{}, Rule: Throughput{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tracks, err := p.Tracks(ctx, base+"/od.mpd")
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range tracks {
		if len(tr.Segments) != 4 {
			t.Fatalf("track %d: %d segments, want the index's 4", i, len(tr.Segments))
		}
		for k, s := range tr.Segments {
			if n, _ := rangeLength(s.Range); n != int64(ladder[i][k]) || s.Start != time.Duration(k)*2*time.Second || s.Duration != 2*time.Second {
				t.Errorf("track %d segment %d: %+v, want %d bytes at %ds for 2s", i, k, s, ladder[i][k], 2*k)
			}
		}
	}
	rep, err := p.Play(ctx, base+"/od.mpd")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chunks) != 4 {
		t.Fatalf("%d chunks, want 4", len(rep.Chunks))
	}
	seen := map[int]bool{}
	for _, c := range rep.Chunks {
		want := int64(ladder[c.Quality][c.Index])
		if !seen[c.Quality] { // with the Representation's initialization part
			n, _ := rangeLength(tracks[c.Quality].Init.Range)
			want += n
			seen[c.Quality] = true
		}
		if c.Size != want {
			t.Errorf("chunk %d at quality %d: %d bytes, want %d", c.Index, c.Quality, c.Size, want)
		}
	}
	if rep.Chunks[0].Quality == rep.Chunks[3].Quality {
		t.Errorf("no switch: %d then %d", rep.Chunks[0].Quality, rep.Chunks[3].Quality)
	}
	if n := strings.Count(log.String(), "206 Partial Content"); n < 2+2+4 {
		t.Errorf("%d partial responses, want two indexes, an init and four subsegments at least:\n%s", n, log.String())
	}
}

// TestPlayerSegmentBaseRefused: an index range too large to be one, or a
// file that has no index where the MPD says, ends the session with an
// error saying so.
func TestPlayerSegmentBaseRefused(t *testing.T) {
	file, initRange, _ := onDemandFile([]uint32{1000})
	mpdDoc := func(indexRange string) []byte {
		return []byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2S"><Period><AdaptationSet>
  <Representation id="0" bandwidth="4000"><BaseURL>a.mp4</BaseURL><SegmentBase indexRange="` + indexRange + `"><Initialization range="` + initRange + `"/></SegmentBase></Representation>
  </AdaptationSet></Period></MPD>`)
	}
	base := serve(t, &Server{FS: MemFS{"a.mp4": file, "huge.mpd": mpdDoc("0-2000000"), "wrong.mpd": mpdDoc(initRange)}})
	p := &Player{Clock: &SkipClock{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, want := range map[string]string{"huge.mpd": "at most 1048576 bytes", "wrong.mpd": "no 'sidx' box"} {
		if _, err := p.Play(ctx, base+"/"+name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, want)
		}
	}
}
