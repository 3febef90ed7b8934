package dash

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"appnet.dev/dash/mpd"
)

// A Rate is one Representation the segmenter makes: a resolution and either
// a quantizer step (VBR: constant quality, the rate follows the content) or
// a target bitrate (CBR: constant rate, the quality follows the content).
type Rate struct {
	ID            string
	Width, Height int
	Step          int   // VBR quantizer step, used when Bitrate is 0 (1: lossless)
	Bitrate       int64 // CBR target in bits per second
}

// Content describes a video to encode: the source, its length, the chunk
// duration and the rates each chunk is stored at — the slides' DASH server,
// which "divides video file into multiple chunks", each "encoded at
// different rates".
type Content struct {
	Title           string
	Source          Synthetic
	Duration        time.Duration
	SegmentDuration time.Duration // a whole number of frames
	Rates           []Rate
}

// DemoContent is a short netcinema.com trailer of duration d at three
// rates: 160×90, 320×180 and 640×360 pixels at 24 frames per second, in
// one-second chunks, VBR (quantizer steps 16, 4 and 1).
func DemoContent(d time.Duration) Content {
	return Content{
		Title:           "netcinema.com trailer",
		Source:          Synthetic{FPS: 24, SceneFrames: 24 * 4, Seed: 6723},
		Duration:        d,
		SegmentDuration: time.Second,
		Rates: []Rate{
			{ID: "low", Width: 160, Height: 90, Step: 16},
			{ID: "mid", Width: 320, Height: 180, Step: 4},
			{ID: "high", Width: 640, Height: 360, Step: 1},
		},
	}
}

// File names of encoded content.
const (
	ManifestName   = "manifest.mpd"
	initPattern    = "$RepresentationID$/init.toy"
	segmentPattern = "$RepresentationID$/$Number%05d$.toy"
	// ToyMIME and ToyCodecs describe the toy codec in an MPD.
	ToyMIME   = "video/x-toy"
	ToyCodecs = "toyv"
)

// Encoded is content ready to serve: the manifest and every file it names.
type Encoded struct {
	MPD   *mpd.MPD
	Files MemFS            // path → contents, "manifest.mpd" included
	Sizes map[string][]int // Representation ID → size of each segment in bytes
	Steps map[string][]int // Representation ID → quantizer step of each segment
}

// Encode cuts the content into chunks, codes each at every rate and writes
// the MPD.
func (c Content) Encode() (*Encoded, error) {
	fps := c.Source.fps()
	if c.SegmentDuration <= 0 || c.Duration <= 0 || len(c.Rates) == 0 {
		return nil, fmt.Errorf("dash: content needs a duration, a segment duration and rates")
	}
	perSeg := int(c.SegmentDuration.Seconds()*float64(fps) + 0.5)
	if perSeg <= 0 || time.Duration(perSeg)*time.Second/time.Duration(fps) != c.SegmentDuration {
		return nil, fmt.Errorf("dash: segment duration %v is not a whole number of frames at %d fps", c.SegmentDuration, fps)
	}
	total := int(c.Duration.Seconds()*float64(fps) + 0.5)
	nseg := (total + perSeg - 1) / perSeg
	e := &Encoded{Files: MemFS{}, Sizes: map[string][]int{}, Steps: map[string][]int{}}
	set := mpd.AdaptationSet{
		ID:               "0",
		ContentType:      "video",
		MimeType:         ToyMIME,
		Codecs:           ToyCodecs,
		SegmentAlignment: "true",
		StartWithSAP:     "1",
		FrameRate:        fmt.Sprint(fps),
		SegmentTemplate: &mpd.SegmentTemplate{
			Timescale:      uint64(fps),
			Duration:       uint64(perSeg),
			StartNumber:    ptr(uint64(1)),
			Initialization: initPattern,
			Media:          segmentPattern,
		},
	}
	for _, r := range c.Rates {
		if r.ID == "" || r.Width <= 0 || r.Height <= 0 {
			return nil, fmt.Errorf("dash: rate %+v needs an ID and a size", r)
		}
		hdr, err := Header{Width: r.Width, Height: r.Height, FPS: fps}.MarshalBinary()
		if err != nil {
			return nil, err
		}
		init, _ := mpd.Expand(initPattern, mpd.Values{RepresentationID: r.ID})
		e.Files[init] = hdr
		peak := 0
		for s := 0; s < nseg; s++ {
			var frames []Frame
			for i := s * perSeg; i < min((s+1)*perSeg, total); i++ {
				frames = append(frames, c.Source.Frame(i, r.Width, r.Height))
			}
			var code []byte
			step := r.Step
			if r.Bitrate > 0 {
				budget := int(float64(r.Bitrate) / 8 * float64(len(frames)) / float64(fps))
				code, step, _ = EncodeGroupCBR(frames, budget)
			} else {
				code = EncodeGroup(frames, max(step, 1))
			}
			name, _ := mpd.Expand(segmentPattern, mpd.Values{RepresentationID: r.ID, Number: uint64(s + 1)})
			e.Files[name] = code
			e.Sizes[r.ID] = append(e.Sizes[r.ID], len(code))
			e.Steps[r.ID] = append(e.Steps[r.ID], step)
			peak = max(peak, len(code)*8*fps/len(frames))
		}
		set.Representations = append(set.Representations, mpd.Representation{
			ID: r.ID, Bandwidth: uint64(peak), Width: r.Width, Height: r.Height,
		})
		set.MaxWidth = max(set.MaxWidth, r.Width)
		set.MaxHeight = max(set.MaxHeight, r.Height)
	}
	sort.SliceStable(set.Representations, func(i, j int) bool {
		return set.Representations[i].Bandwidth < set.Representations[j].Bandwidth
	})
	length := time.Duration(total) * time.Second / time.Duration(fps)
	e.MPD = &mpd.MPD{
		Profiles:                  mpd.ProfileLive,
		Type:                      "static",
		MediaPresentationDuration: mpd.NewDuration(length),
		MinBufferTime:             mpd.NewDuration(2 * c.SegmentDuration),
		MaxSegmentDuration:        mpd.NewDuration(c.SegmentDuration),
		ProgramInformation:        &mpd.ProgramInformation{Title: c.Title},
		Periods: []mpd.Period{{
			ID:             "0",
			Start:          mpd.NewDuration(0),
			AdaptationSets: []mpd.AdaptationSet{set},
		}},
	}
	doc, err := e.MPD.Marshal()
	if err != nil {
		return nil, err
	}
	e.Files[ManifestName] = doc
	return e, nil
}

func ptr[T any](v T) *T { return &v }

// Bitrate returns a Representation's mean bitrate in bits per second over
// the segments it measured.
func (e *Encoded) Bitrate(id string, segmentDuration time.Duration) float64 {
	sizes := e.Sizes[id]
	if len(sizes) == 0 {
		return 0
	}
	sum := 0
	for _, s := range sizes {
		sum += s
	}
	return float64(sum) * 8 / (float64(len(sizes)) * segmentDuration.Seconds())
}

// WriteDir writes every file under dir, creating subdirectories.
func (e *Encoded) WriteDir(dir string) error {
	names := make([]string, 0, len(e.Files))
	for name := range e.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("dash: %w", err)
		}
		if err := os.WriteFile(p, e.Files[name], 0o644); err != nil {
			return fmt.Errorf("dash: %w", err)
		}
	}
	return nil
}
