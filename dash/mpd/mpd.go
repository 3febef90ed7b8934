package mpd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Namespace is the XML namespace of an MPD (ISO/IEC 23009-1:2014).
const Namespace = "urn:mpeg:dash:schema:mpd:2011"

// Profile strings for static presentations.
const (
	ProfileOnDemand = "urn:mpeg:dash:profile:isoff-on-demand:2011"
	ProfileLive     = "urn:mpeg:dash:profile:isoff-live:2011"
	ProfileFull     = "urn:mpeg:dash:profile:full:2011"
)

// MaxSize is the largest MPD document Parse reads, in bytes.
const MaxSize = 4 << 20

// Limits on what an MPD may make a reader allocate. A document beyond them
// is rejected by Parse or by MPD.Tracks with an error naming the limit.
const (
	MaxPeriods         = 64
	MaxAdaptationSets  = 64 // per Period
	MaxRepresentations = 64 // per AdaptationSet
	MaxBaseURLs        = 8  // per element
	MaxAlternatives    = 64 // resolved BaseURL combinations per Representation
	MaxTimelineEntries = 100000
	MaxSegmentURLs     = 100000
	// MaxSegments bounds the segments Tracks expands, over all tracks.
	MaxSegments = 1 << 20
)

// ErrLimit is wrapped by errors for documents that exceed a limit.
var ErrLimit = errors.New("limit exceeded")

// An MPD is a Media Presentation Description.
type MPD struct {
	XMLName                   xml.Name            `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	ID                        string              `xml:"id,attr,omitempty"`
	Profiles                  string              `xml:"profiles,attr,omitempty"`
	Type                      string              `xml:"type,attr,omitempty"` // "static" (the default) or "dynamic"
	MediaPresentationDuration *Duration           `xml:"mediaPresentationDuration,attr,omitempty"`
	MinBufferTime             *Duration           `xml:"minBufferTime,attr,omitempty"`
	MaxSegmentDuration        *Duration           `xml:"maxSegmentDuration,attr,omitempty"`
	ProgramInformation        *ProgramInformation `xml:"ProgramInformation,omitempty"`
	BaseURLs                  []BaseURL           `xml:"BaseURL"`
	Periods                   []Period            `xml:"Period"`
}

// ProgramInformation names the presentation.
type ProgramInformation struct {
	Title  string `xml:"Title,omitempty"`
	Source string `xml:"Source,omitempty"`
}

// A BaseURL is a URL, absolute or relative to the level above, that the
// segments below it are addressed from.
type BaseURL struct {
	URL             string `xml:",chardata"`
	ServiceLocation string `xml:"serviceLocation,attr,omitempty"`
}

// A Period is a stretch of the presentation's time.
type Period struct {
	ID              string           `xml:"id,attr,omitempty"`
	Start           *Duration        `xml:"start,attr,omitempty"`
	Duration        *Duration        `xml:"duration,attr,omitempty"`
	BaseURLs        []BaseURL        `xml:"BaseURL"`
	SegmentBase     *SegmentBase     `xml:"SegmentBase"`
	SegmentList     *SegmentList     `xml:"SegmentList"`
	SegmentTemplate *SegmentTemplate `xml:"SegmentTemplate"`
	AdaptationSets  []AdaptationSet  `xml:"AdaptationSet"`
}

// An AdaptationSet is one kind of content (say the video track) offered as
// interchangeable Representations.
type AdaptationSet struct {
	ID               string           `xml:"id,attr,omitempty"`
	ContentType      string           `xml:"contentType,attr,omitempty"`
	MimeType         string           `xml:"mimeType,attr,omitempty"`
	Codecs           string           `xml:"codecs,attr,omitempty"`
	Lang             string           `xml:"lang,attr,omitempty"`
	SegmentAlignment string           `xml:"segmentAlignment,attr,omitempty"`
	StartWithSAP     string           `xml:"startWithSAP,attr,omitempty"`
	MaxWidth         int              `xml:"maxWidth,attr,omitempty"`
	MaxHeight        int              `xml:"maxHeight,attr,omitempty"`
	FrameRate        string           `xml:"frameRate,attr,omitempty"`
	BaseURLs         []BaseURL        `xml:"BaseURL"`
	SegmentBase      *SegmentBase     `xml:"SegmentBase"`
	SegmentList      *SegmentList     `xml:"SegmentList"`
	SegmentTemplate  *SegmentTemplate `xml:"SegmentTemplate"`
	Representations  []Representation `xml:"Representation"`
}

// A Representation is the content encoded at one rate.
type Representation struct {
	ID                string           `xml:"id,attr"`
	Bandwidth         uint64           `xml:"bandwidth,attr"` // bits per second
	MimeType          string           `xml:"mimeType,attr,omitempty"`
	Codecs            string           `xml:"codecs,attr,omitempty"`
	Width             int              `xml:"width,attr,omitempty"`
	Height            int              `xml:"height,attr,omitempty"`
	FrameRate         string           `xml:"frameRate,attr,omitempty"`
	SAR               string           `xml:"sar,attr,omitempty"`
	AudioSamplingRate string           `xml:"audioSamplingRate,attr,omitempty"`
	BaseURLs          []BaseURL        `xml:"BaseURL"`
	SegmentBase       *SegmentBase     `xml:"SegmentBase"`
	SegmentList       *SegmentList     `xml:"SegmentList"`
	SegmentTemplate   *SegmentTemplate `xml:"SegmentTemplate"`
}

// A URLType names a resource and optionally a byte range of it, as in
// Initialization and RepresentationIndex.
type URLType struct {
	SourceURL string `xml:"sourceURL,attr,omitempty"`
	Range     string `xml:"range,attr,omitempty"`
}

// SegmentBase addresses a Representation that is one file.
type SegmentBase struct {
	Timescale              uint64   `xml:"timescale,attr,omitempty"`
	PresentationTimeOffset uint64   `xml:"presentationTimeOffset,attr,omitempty"`
	IndexRange             string   `xml:"indexRange,attr,omitempty"`
	Initialization         *URLType `xml:"Initialization"`
	RepresentationIndex    *URLType `xml:"RepresentationIndex"`
}

// A SegmentURL is one entry of a SegmentList.
type SegmentURL struct {
	Media      string `xml:"media,attr,omitempty"`
	MediaRange string `xml:"mediaRange,attr,omitempty"`
	IndexRange string `xml:"indexRange,attr,omitempty"` // the segment's own index, which ffmpeg's single files give
}

// SegmentList writes out every segment's URL.
type SegmentList struct {
	Timescale       uint64           `xml:"timescale,attr,omitempty"`
	Duration        uint64           `xml:"duration,attr,omitempty"`
	StartNumber     *uint64          `xml:"startNumber,attr,omitempty"`
	Initialization  *URLType         `xml:"Initialization"`
	SegmentTimeline *SegmentTimeline `xml:"SegmentTimeline"`
	SegmentURLs     []SegmentURL     `xml:"SegmentURL"`
}

// SegmentTemplate makes segment URLs from a pattern.
type SegmentTemplate struct {
	Timescale              uint64           `xml:"timescale,attr,omitempty"`
	Duration               uint64           `xml:"duration,attr,omitempty"`
	StartNumber            *uint64          `xml:"startNumber,attr,omitempty"`
	PresentationTimeOffset uint64           `xml:"presentationTimeOffset,attr,omitempty"`
	Media                  string           `xml:"media,attr,omitempty"`
	Initialization         string           `xml:"initialization,attr,omitempty"`
	Index                  string           `xml:"index,attr,omitempty"`
	SegmentTimeline        *SegmentTimeline `xml:"SegmentTimeline"`
}

// A SegmentTimeline lists segments' start times and durations, run-length
// coded: each S entry stands for R+1 segments of duration D.
type SegmentTimeline struct {
	S []S `xml:"S"`
}

// S is one SegmentTimeline entry. T is the start time (absent: right after
// the previous entry), D the duration and R the repeat count (-1: repeat
// until the next entry's T or the end of the Period).
type S struct {
	T *uint64 `xml:"t,attr,omitempty"`
	D uint64  `xml:"d,attr"`
	R int64   `xml:"r,attr,omitempty"`
}

// Parse reads an MPD from r: at most MaxSize bytes, with the limits above
// on the number of elements, and every duration non-negative.
func Parse(r io.Reader) (*MPD, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("mpd: read: %w", err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("mpd: document larger than %d bytes: %w", MaxSize, ErrLimit)
	}
	return Unmarshal(data)
}

// Unmarshal is Parse on a byte slice.
func Unmarshal(data []byte) (*MPD, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("mpd: document larger than %d bytes: %w", MaxSize, ErrLimit)
	}
	if err := precount(data); err != nil {
		return nil, err
	}
	var m MPD
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("mpd: parse: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// precount walks the tokens once, before decoding into structs, so that a
// document with a million Representations is refused before a million are
// allocated.
func precount(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	counts := map[string]int{}
	limits := map[string]int{
		"Period":         MaxPeriods,
		"AdaptationSet":  MaxPeriods * MaxAdaptationSets,
		"Representation": MaxPeriods * MaxAdaptationSets * MaxRepresentations,
		"S":              MaxTimelineEntries,
		"SegmentURL":     MaxSegmentURLs,
		"BaseURL":        4096,
	}
	depth := 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("mpd: parse: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > 32 {
				return fmt.Errorf("mpd: elements nested deeper than 32: %w", ErrLimit)
			}
			if max, ok := limits[t.Name.Local]; ok {
				counts[t.Name.Local]++
				if counts[t.Name.Local] > max {
					return fmt.Errorf("mpd: more than %d %s elements: %w", max, t.Name.Local, ErrLimit)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// Validate checks the limits and the rules a client relies on: a static
// presentation, positive timescales, non-negative repeat counts other than
// -1, at most MaxBaseURLs per element.
func (m *MPD) Validate() error {
	if m.Type != "" && m.Type != "static" && m.Type != "dynamic" {
		return fmt.Errorf("mpd: type %q is neither static nor dynamic", m.Type)
	}
	if len(m.Periods) == 0 {
		return errors.New("mpd: no Period")
	}
	if len(m.Periods) > MaxPeriods {
		return fmt.Errorf("mpd: %d Periods: %w", len(m.Periods), ErrLimit)
	}
	if len(m.BaseURLs) > MaxBaseURLs {
		return fmt.Errorf("mpd: %d BaseURLs in MPD: %w", len(m.BaseURLs), ErrLimit)
	}
	for i := range m.Periods {
		p := &m.Periods[i]
		if len(p.BaseURLs) > MaxBaseURLs {
			return fmt.Errorf("mpd: period %d: %d BaseURLs: %w", i, len(p.BaseURLs), ErrLimit)
		}
		if len(p.AdaptationSets) > MaxAdaptationSets {
			return fmt.Errorf("mpd: period %d: %d AdaptationSets: %w", i, len(p.AdaptationSets), ErrLimit)
		}
		if err := checkAddressing(p.SegmentTemplate, p.SegmentList, p.SegmentBase); err != nil {
			return fmt.Errorf("mpd: period %d: %w", i, err)
		}
		for j := range p.AdaptationSets {
			a := &p.AdaptationSets[j]
			if len(a.BaseURLs) > MaxBaseURLs {
				return fmt.Errorf("mpd: adaptation set %d: %d BaseURLs: %w", j, len(a.BaseURLs), ErrLimit)
			}
			if len(a.Representations) > MaxRepresentations {
				return fmt.Errorf("mpd: adaptation set %d: %d Representations: %w", j, len(a.Representations), ErrLimit)
			}
			if err := checkAddressing(a.SegmentTemplate, a.SegmentList, a.SegmentBase); err != nil {
				return fmt.Errorf("mpd: adaptation set %d: %w", j, err)
			}
			for k := range a.Representations {
				r := &a.Representations[k]
				if r.ID == "" {
					return fmt.Errorf("mpd: adaptation set %d: representation %d has no id", j, k)
				}
				if len(r.BaseURLs) > MaxBaseURLs {
					return fmt.Errorf("mpd: representation %q: %d BaseURLs: %w", r.ID, len(r.BaseURLs), ErrLimit)
				}
				if err := checkAddressing(r.SegmentTemplate, r.SegmentList, r.SegmentBase); err != nil {
					return fmt.Errorf("mpd: representation %q: %w", r.ID, err)
				}
			}
		}
	}
	return nil
}

func checkAddressing(t *SegmentTemplate, l *SegmentList, b *SegmentBase) error {
	if t != nil {
		if err := checkTimeline(t.SegmentTimeline); err != nil {
			return err
		}
		for _, s := range []string{t.Media, t.Initialization, t.Index} {
			if err := checkTemplate(s); err != nil {
				return err
			}
		}
	}
	if l != nil {
		if err := checkTimeline(l.SegmentTimeline); err != nil {
			return err
		}
		if len(l.SegmentURLs) > MaxSegmentURLs {
			return fmt.Errorf("%d SegmentURLs: %w", len(l.SegmentURLs), ErrLimit)
		}
	}
	return nil
}

func checkTimeline(tl *SegmentTimeline) error {
	if tl == nil {
		return nil
	}
	if len(tl.S) > MaxTimelineEntries {
		return fmt.Errorf("%d timeline entries: %w", len(tl.S), ErrLimit)
	}
	for i, s := range tl.S {
		if s.D == 0 {
			return fmt.Errorf("timeline entry %d: zero duration", i)
		}
		if s.R < -1 {
			return fmt.Errorf("timeline entry %d: negative repeat count %d", i, s.R)
		}
	}
	return nil
}

// Marshal writes m as an indented XML document with its declaration.
func (m *MPD) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	e := xml.NewEncoder(&b)
	e.Indent("", "  ")
	c := *m
	c.XMLName = xml.Name{Space: Namespace, Local: "MPD"}
	if err := e.Encode(&c); err != nil {
		return nil, fmt.Errorf("mpd: marshal: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Duration is an xs:duration such as "PT1M30.5S", as MPD time attributes
// are written. Only the day and time parts are accepted (years and months
// have no fixed length); negative durations are rejected.
type Duration time.Duration

// MaxDuration bounds any duration in an MPD: a month.
const MaxDuration = Duration(31 * 24 * time.Hour)

// D returns d as a time.Duration.
func (d *Duration) D() time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// NewDuration returns a pointer to d as a Duration, for struct literals.
func NewDuration(d time.Duration) *Duration {
	v := Duration(d)
	return &v
}

// String formats d as "PT…S" with hours and minutes when present.
func (d Duration) String() string {
	t := time.Duration(d)
	var b strings.Builder
	b.WriteString("PT")
	if h := t / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		t -= h * time.Hour
	}
	if m := t / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		t -= m * time.Minute
	}
	b.WriteString(strconv.FormatFloat(t.Seconds(), 'f', -1, 64))
	b.WriteString("S")
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseDuration parses an xs:duration of the form PnDTnHnMnS.
func ParseDuration(s string) (Duration, error) {
	orig := s
	bad := func(why string) (Duration, error) {
		return 0, fmt.Errorf("mpd: duration %q: %s", orig, why)
	}
	if len(s) > 64 {
		return bad("too long")
	}
	if strings.HasPrefix(s, "-") {
		return bad("negative")
	}
	if !strings.HasPrefix(s, "P") {
		return bad("does not start with P")
	}
	s = s[1:]
	var total float64 // seconds
	inTime := false
	seen := false
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return bad("two T designators")
			}
			inTime = true
			s = s[1:]
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 || i == len(s) {
			return bad("number without unit")
		}
		v, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return bad("bad number")
		}
		unit := s[i]
		s = s[i+1:]
		seen = true
		switch {
		case !inTime && unit == 'D':
			total += v * 86400
		case !inTime && (unit == 'Y' || unit == 'M'):
			if v != 0 {
				return bad("years and months have no fixed length")
			}
		case inTime && unit == 'H':
			total += v * 3600
		case inTime && unit == 'M':
			total += v * 60
		case inTime && unit == 'S':
			total += v
		default:
			return bad("unknown unit " + string(unit))
		}
		if total > time.Duration(MaxDuration).Seconds() {
			return bad("longer than a month")
		}
	}
	if !seen {
		return bad("empty")
	}
	return Duration(time.Duration(total*1e9 + 0.5)), nil
}
