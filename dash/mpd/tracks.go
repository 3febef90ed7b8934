package mpd

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A Track is one Representation expanded: where its segments are, when each
// starts and how long it lasts.
type Track struct {
	Period         int // index in MPD.Periods
	PeriodID       string
	PeriodStart    time.Duration // when the Period begins on the presentation timeline
	AdaptationSet  int           // index in Period.AdaptationSets
	Representation *Representation
	ContentType    string // "video", "audio" … from the AdaptationSet or MIME type
	MimeType       string // effective: the Representation's or its AdaptationSet's
	Codecs         string
	Bandwidth      uint64 // bits per second, as declared

	// BaseURLs are the resolved alternatives, most preferred first: the
	// same segments on different servers. Segment.URL is resolved against
	// BaseURLs[0]; Resolve a Segment.Ref against another to fetch from there.
	BaseURLs []string

	Init *Segment // the initialization segment, if any
	// Index, for a Representation described by a SegmentBase with an
	// indexRange, is where its segment index is: the 'sidx' box of ISO/IEC
	// 14496-12 inside the resource, which lists the subsegments (byte
	// ranges and durations) that the MPD does not. Until a player reads it
	// and calls [Track.SetSubsegments], Segments holds the whole resource
	// as one segment. (This is the on-demand profile's layout: one file
	// per Representation.)
	Index    *Segment
	Segments []Segment // media segments in presentation order

	// The SegmentBase's timescale and presentationTimeOffset, for the
	// subsegments' times.
	baseTimescale, basePTO uint64
}

// A Segment is one chunk of a Representation.
type Segment struct {
	Ref      string        // the reference as expanded, before BaseURL resolution
	URL      string        // Ref resolved against the track's first BaseURL
	Range    string        // byte range "first-last", or "" for the whole resource
	Number   uint64        // $Number$
	Time     uint64        // $Time$, in timescale units
	Start    time.Duration // when its first frame is presented, on the presentation timeline (its Period's start included)
	Duration time.Duration
}

// Resolve resolves a reference against a base URL as RFC 3986 section 5
// says; an empty reference is the base itself.
func Resolve(base, ref string) (string, error) {
	if base == "" {
		if _, err := url.Parse(ref); err != nil {
			return "", fmt.Errorf("mpd: URL %q: %w", ref, err)
		}
		return ref, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("mpd: base URL %q: %w", base, err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("mpd: URL %q: %w", ref, err)
	}
	return b.ResolveReference(r).String(), nil
}

// Tracks expands every Representation of every Period into a Track, Period
// by Period. The MPD's own URL (where it was fetched from) is the last
// BaseURL; it may be a file path or empty when the document has absolute
// BaseURLs.
//
// Times are on the presentation timeline, which runs through the Periods
// one after another (ISO/IEC 23009-1 §5.3.2): a Period begins at its start
// attribute or, without one, where the Period before it ends (its start
// plus its duration); a Period without a duration ends where the next one
// starts, or with the presentation. Each Segment.Start is its Period's
// start plus the segment's time within the Period.
func (m *MPD) Tracks(mpdURL string) ([]Track, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	budget := MaxSegments
	bases, err := alternatives([]string{mpdURL}, m.BaseURLs)
	if err != nil {
		return nil, err
	}
	var out []Track
	var next time.Duration
	for pi := range m.Periods {
		p := &m.Periods[pi]
		start := next
		if p.Start != nil {
			start = p.Start.D()
		}
		dur := p.Duration.D()
		if p.Duration == nil {
			switch {
			case pi+1 < len(m.Periods) && m.Periods[pi+1].Start != nil:
				dur = m.Periods[pi+1].Start.D() - start
			case m.MediaPresentationDuration != nil:
				dur = m.MediaPresentationDuration.D() - start
			}
		}
		if dur < 0 {
			return nil, fmt.Errorf("mpd: period %d: negative duration", pi)
		}
		next = start + dur
		pbases, err := alternatives(bases, p.BaseURLs)
		if err != nil {
			return nil, err
		}
		for ai := range p.AdaptationSets {
			a := &p.AdaptationSets[ai]
			abases, err := alternatives(pbases, a.BaseURLs)
			if err != nil {
				return nil, err
			}
			for ri := range a.Representations {
				r := &a.Representations[ri]
				rbases, err := alternatives(abases, r.BaseURLs)
				if err != nil {
					return nil, err
				}
				t := Track{
					Period:         pi,
					PeriodID:       p.ID,
					PeriodStart:    start,
					AdaptationSet:  ai,
					Representation: r,
					ContentType:    a.ContentType,
					MimeType:       first(r.MimeType, a.MimeType),
					Codecs:         first(r.Codecs, a.Codecs),
					Bandwidth:      r.Bandwidth,
					BaseURLs:       rbases,
				}
				if t.ContentType == "" {
					t.ContentType = contentTypeOf(t.MimeType)
				}
				if err := t.expand(p, a, r, start, dur, &budget); err != nil {
					return nil, fmt.Errorf("mpd: representation %q: %w", r.ID, err)
				}
				out = append(out, t)
			}
		}
	}
	return out, nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func contentTypeOf(mime string) string {
	for i := 0; i < len(mime); i++ {
		if mime[i] == '/' {
			return mime[:i]
		}
	}
	return ""
}

// alternatives resolves each BaseURL of a level against each alternative of
// the level above. A level without BaseURLs keeps the level above's.
func alternatives(above []string, level []BaseURL) ([]string, error) {
	if len(level) == 0 {
		return above, nil
	}
	if len(level) > MaxBaseURLs {
		return nil, fmt.Errorf("mpd: %d BaseURLs at one level: %w", len(level), ErrLimit)
	}
	var out []string
	for _, a := range above {
		for _, b := range level {
			u, err := Resolve(a, b.URL)
			if err != nil {
				return nil, err
			}
			out = append(out, u)
			if len(out) > MaxAlternatives {
				return nil, fmt.Errorf("mpd: more than %d BaseURL combinations: %w", MaxAlternatives, ErrLimit)
			}
		}
	}
	return out, nil
}

// mergeTemplate returns the SegmentTemplate in force for a Representation:
// attributes at a lower level override those above.
func mergeTemplate(levels ...*SegmentTemplate) *SegmentTemplate {
	var m *SegmentTemplate
	for _, t := range levels {
		if t == nil {
			continue
		}
		if m == nil {
			m = &SegmentTemplate{}
		}
		if t.Timescale != 0 {
			m.Timescale = t.Timescale
		}
		if t.Duration != 0 {
			m.Duration = t.Duration
		}
		if t.StartNumber != nil {
			m.StartNumber = t.StartNumber
		}
		if t.PresentationTimeOffset != 0 {
			m.PresentationTimeOffset = t.PresentationTimeOffset
		}
		if t.Media != "" {
			m.Media = t.Media
		}
		if t.Initialization != "" {
			m.Initialization = t.Initialization
		}
		if t.Index != "" {
			m.Index = t.Index
		}
		if t.SegmentTimeline != nil {
			m.SegmentTimeline = t.SegmentTimeline
		}
	}
	return m
}

func mergeList(levels ...*SegmentList) *SegmentList {
	var m *SegmentList
	for _, l := range levels {
		if l == nil {
			continue
		}
		if m == nil {
			m = &SegmentList{}
		}
		if l.Timescale != 0 {
			m.Timescale = l.Timescale
		}
		if l.Duration != 0 {
			m.Duration = l.Duration
		}
		if l.StartNumber != nil {
			m.StartNumber = l.StartNumber
		}
		if l.Initialization != nil {
			m.Initialization = l.Initialization
		}
		if l.SegmentTimeline != nil {
			m.SegmentTimeline = l.SegmentTimeline
		}
		if l.SegmentURLs != nil {
			m.SegmentURLs = l.SegmentURLs
		}
	}
	return m
}

func mergeBase(levels ...*SegmentBase) *SegmentBase {
	var m *SegmentBase
	for _, b := range levels {
		if b == nil {
			continue
		}
		if m == nil {
			m = &SegmentBase{}
		}
		if b.Timescale != 0 {
			m.Timescale = b.Timescale
		}
		if b.PresentationTimeOffset != 0 {
			m.PresentationTimeOffset = b.PresentationTimeOffset
		}
		if b.IndexRange != "" {
			m.IndexRange = b.IndexRange
		}
		if b.Initialization != nil {
			m.Initialization = b.Initialization
		}
		if b.RepresentationIndex != nil {
			m.RepresentationIndex = b.RepresentationIndex
		}
	}
	return m
}

var errNoPeriodDuration = errors.New("the period's duration is unknown, so its segments cannot be counted")

// ticks converts a count of timescale units to a time.Duration.
func ticks(n uint64, timescale uint64) time.Duration {
	return time.Duration(float64(n) / float64(timescale) * 1e9)
}

// entry is one segment in timescale units, before URLs are made.
type entry struct {
	number, time, dur uint64
}

func (t *Track) expand(p *Period, a *AdaptationSet, r *Representation, start, dur time.Duration, budget *int) error {
	values := Values{RepresentationID: r.ID, Bandwidth: r.Bandwidth}
	tmpl := mergeTemplate(p.SegmentTemplate, a.SegmentTemplate, r.SegmentTemplate)
	list := mergeList(p.SegmentList, a.SegmentList, r.SegmentList)
	base := mergeBase(p.SegmentBase, a.SegmentBase, r.SegmentBase)
	switch {
	case tmpl != nil:
		ts := tmpl.Timescale
		if ts == 0 {
			ts = 1
		}
		startNumber := uint64(1)
		if tmpl.StartNumber != nil {
			startNumber = *tmpl.StartNumber
		}
		if tmpl.Initialization != "" {
			ref, err := Expand(tmpl.Initialization, values)
			if err != nil {
				return err
			}
			if err := t.setInit(ref, ""); err != nil {
				return err
			}
		}
		if tmpl.Media == "" {
			return errors.New("SegmentTemplate without media")
		}
		entries, err := timeline(tmpl.SegmentTimeline, tmpl.Duration, ts, startNumber, tmpl.PresentationTimeOffset, dur, budget)
		if err != nil {
			return err
		}
		for _, e := range entries {
			v := values
			v.Number, v.Time = e.number, e.time
			ref, err := Expand(tmpl.Media, v)
			if err != nil {
				return err
			}
			if err := t.add(ref, "", e, ts, tmpl.PresentationTimeOffset, start); err != nil {
				return err
			}
		}
	case list != nil:
		ts := list.Timescale
		if ts == 0 {
			ts = 1
		}
		startNumber := uint64(1)
		if list.StartNumber != nil {
			startNumber = *list.StartNumber
		}
		if in := list.Initialization; in != nil {
			if err := t.setInit(in.SourceURL, in.Range); err != nil {
				return err
			}
		}
		n := len(list.SegmentURLs)
		var entries []entry
		if list.SegmentTimeline != nil || list.Duration != 0 {
			var err error
			entries, err = timeline(list.SegmentTimeline, list.Duration, ts, startNumber, 0, dur, budget)
			if err != nil && !errors.Is(err, errNoPeriodDuration) {
				return err
			}
		}
		for i := 0; i < n; i++ {
			var e entry
			switch {
			case i < len(entries):
				e = entries[i]
			case list.Duration != 0:
				e = entry{number: startNumber + uint64(i), time: uint64(i) * list.Duration, dur: list.Duration}
			case n == 1:
				e = entry{number: startNumber, dur: uint64(dur.Seconds() * float64(ts))}
			default:
				return errors.New("SegmentList with several segments but no duration or timeline")
			}
			if *budget <= 0 {
				return fmt.Errorf("more than %d segments: %w", MaxSegments, ErrLimit)
			}
			*budget--
			su := list.SegmentURLs[i]
			if err := t.add(su.Media, su.MediaRange, e, ts, 0, start); err != nil {
				return err
			}
		}
	default:
		// SegmentBase, or nothing at all: the Representation is one
		// resource at its BaseURL.
		ts := uint64(1)
		if base != nil {
			if base.Timescale != 0 {
				ts = base.Timescale
			}
			if in := base.Initialization; in != nil {
				if err := t.setInit(in.SourceURL, in.Range); err != nil {
					return err
				}
			}
			if base.IndexRange != "" {
				if _, _, ok := ByteRange(base.IndexRange); !ok {
					return fmt.Errorf("bad indexRange %q", base.IndexRange)
				}
				t.Index = &Segment{URL: t.BaseURLs[0], Range: base.IndexRange, Start: start}
				t.baseTimescale, t.basePTO = ts, base.PresentationTimeOffset
			}
		}
		if *budget <= 0 {
			return fmt.Errorf("more than %d segments: %w", MaxSegments, ErrLimit)
		}
		*budget--
		e := entry{number: 1, dur: uint64(math.Round(dur.Seconds() * float64(ts)))}
		if err := t.add("", "", e, ts, 0, start); err != nil {
			return err
		}
	}
	return nil
}

// A Subsegment is one entry of a segment index: Size bytes of the
// resource, lasting Duration in the index's timescale.
type Subsegment struct {
	Size, Duration uint64
}

// SetSubsegments replaces the track's one whole-resource segment with the
// subsegments its segment index (see Track.Index) lists. They follow each
// other in the resource from byte first; the first is presented at
// earliest, and every duration is counted, in units of timescale per
// second. The SegmentBase's presentationTimeOffset is taken off and the
// Period's start added, so times are on the presentation timeline as for
// every other track. It fails if the track has no Index, has been
// expanded already, or the index is unusable (no subsegments, a zero
// timescale, more than MaxSegments, byte offsets past 2⁶³).
func (t *Track) SetSubsegments(timescale, earliest, first uint64, subs []Subsegment) error {
	switch {
	case t.Index == nil || len(t.Segments) != 1 || t.Segments[0].Range != "":
		return errors.New("mpd: the track has no segment index to expand")
	case timescale == 0:
		return errors.New("mpd: segment index with timescale 0")
	case len(subs) == 0:
		return errors.New("mpd: segment index without subsegments")
	case len(subs) > MaxSegments:
		return fmt.Errorf("mpd: segment index of %d subsegments: %w", len(subs), ErrLimit)
	}
	whole := t.Segments[0]
	offset := time.Duration(0)
	if t.basePTO != 0 {
		offset = ticks(t.basePTO, t.baseTimescale)
	}
	out := make([]Segment, 0, len(subs))
	at, now := first, earliest
	for i, s := range subs {
		if s.Size == 0 || s.Size > math.MaxInt64 || at > math.MaxInt64-s.Size || now > math.MaxUint64-s.Duration {
			return fmt.Errorf("mpd: segment index: subsegment %d of %d bytes at byte %d is out of range", i+1, s.Size, at)
		}
		out = append(out, Segment{
			Ref: whole.Ref, URL: whole.URL,
			Range:    fmt.Sprintf("%d-%d", at, at+s.Size-1),
			Number:   uint64(i + 1),
			Time:     now,
			Start:    t.Index.Start + ticks(now, timescale) - offset,
			Duration: ticks(s.Duration, timescale),
		})
		at += s.Size
		now += s.Duration
	}
	t.Segments = out
	return nil
}

// ByteRange parses a byte range as the MPD writes it (mediaRange,
// indexRange, range): "first-last", both given, first ≤ last < 2⁶³.
func ByteRange(r string) (first, last uint64, ok bool) {
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	first, err1 := strconv.ParseUint(a, 10, 63)
	last, err2 := strconv.ParseUint(b, 10, 63)
	if err1 != nil || err2 != nil || last < first {
		return 0, 0, false
	}
	return first, last, true
}

func (t *Track) setInit(ref, rng string) error {
	u, err := Resolve(t.BaseURLs[0], ref)
	if err != nil {
		return err
	}
	t.Init = &Segment{Ref: ref, URL: u, Range: rng}
	return nil
}

func (t *Track) add(ref, rng string, e entry, ts, pto uint64, periodStart time.Duration) error {
	u, err := Resolve(t.BaseURLs[0], ref)
	if err != nil {
		return err
	}
	var rel time.Duration
	if e.time >= pto {
		rel = ticks(e.time-pto, ts)
	} else {
		rel = -ticks(pto-e.time, ts)
	}
	t.Segments = append(t.Segments, Segment{
		Ref:      ref,
		URL:      u,
		Range:    rng,
		Number:   e.number,
		Time:     e.time,
		Start:    periodStart + rel,
		Duration: ticks(e.dur, ts),
	})
	return nil
}

// timeline lists the segments of a SegmentTimeline, or, without one, of a
// fixed duration filling the period.
func timeline(tl *SegmentTimeline, d, ts, startNumber, pto uint64, period time.Duration, budget *int) ([]entry, error) {
	periodTicks := uint64(math.Round(period.Seconds() * float64(ts)))
	var out []entry
	take := func(e entry) error {
		if *budget <= 0 {
			return fmt.Errorf("more than %d segments: %w", MaxSegments, ErrLimit)
		}
		*budget--
		out = append(out, e)
		return nil
	}
	if tl == nil {
		if d == 0 {
			return nil, errors.New("neither a duration nor a SegmentTimeline")
		}
		if period <= 0 {
			return nil, errNoPeriodDuration
		}
		n := uint64(math.Ceil(float64(periodTicks)/float64(d) - 1e-9))
		if n > uint64(*budget) {
			return nil, fmt.Errorf("%d segments: more than %d: %w", n, MaxSegments, ErrLimit)
		}
		for i := uint64(0); i < n; i++ {
			dur := d
			if i == n-1 && periodTicks > i*d && periodTicks-i*d < d {
				dur = periodTicks - i*d // the last one may be short
			}
			if err := take(entry{number: startNumber + i, time: pto + i*d, dur: dur}); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var now uint64
	number := startNumber
	for i, s := range tl.S {
		if s.T != nil {
			if *s.T < now && i > 0 {
				return nil, fmt.Errorf("timeline entry %d: time %d goes backwards", i, *s.T)
			}
			now = *s.T
		} else if i == 0 {
			now = pto
		}
		repeat := s.R
		if repeat == -1 {
			var end uint64
			switch {
			case i+1 < len(tl.S) && tl.S[i+1].T != nil:
				end = *tl.S[i+1].T
			case period > 0:
				end = pto + periodTicks
			default:
				return nil, errors.New("timeline entry repeats to the end of a period of unknown duration")
			}
			if end <= now {
				repeat = 0
			} else {
				repeat = int64((end-now+s.D-1)/s.D) - 1
			}
		}
		if repeat < 0 || uint64(repeat) >= uint64(*budget) {
			return nil, fmt.Errorf("timeline entry %d repeats %d times: more than %d segments: %w", i, s.R, MaxSegments, ErrLimit)
		}
		for k := int64(0); k <= repeat; k++ {
			if now > math.MaxUint64-s.D {
				return nil, fmt.Errorf("timeline entry %d: time overflows", i)
			}
			if err := take(entry{number: number, time: now, dur: s.D}); err != nil {
				return nil, err
			}
			number++
			now += s.D
		}
	}
	return out, nil
}
