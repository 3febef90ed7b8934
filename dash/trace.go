package dash

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A Trace is a bandwidth trace: the rate a network path offered over time,
// piecewise constant, repeating after Period. Traces drive the simulator.
type Trace struct {
	Name   string
	Points []TracePoint  // by time, the first at 0
	Period time.Duration // the trace repeats after this; after the last point if zero

	cum     []float64 // bits delivered from 0 to Points[i].At, and to Period at the end
	starts  []float64 // Points[i].At in seconds
	bw      []float64 // Points[i].Bandwidth
	periodS float64
}

// A TracePoint starts a stretch of constant bandwidth.
type TracePoint struct {
	At        time.Duration
	Bandwidth float64 // bits per second
}

// Limits of the trace loaders.
const (
	MaxTracePoints  = 1 << 20
	maxTraceLine    = 256
	maxTraceBitrate = 100e9 // 100 Gbit/s
	maxTraceLength  = 7 * 24 * time.Hour
)

// ErrTrace is wrapped by the loaders' errors.
var ErrTrace = errors.New("dash: bad trace")

// prepare checks the trace and computes the cumulative capacity.
func (t *Trace) prepare() error {
	if len(t.Points) == 0 {
		return fmt.Errorf("%w: no points", ErrTrace)
	}
	if t.Points[0].At != 0 {
		return fmt.Errorf("%w: first point at %v, not 0", ErrTrace, t.Points[0].At)
	}
	for i, p := range t.Points {
		if i > 0 && p.At <= t.Points[i-1].At {
			return fmt.Errorf("%w: point %d at %v is not after %v", ErrTrace, i, p.At, t.Points[i-1].At)
		}
		if p.Bandwidth < 0 || p.Bandwidth > maxTraceBitrate || math.IsNaN(p.Bandwidth) {
			return fmt.Errorf("%w: point %d: bandwidth %g", ErrTrace, i, p.Bandwidth)
		}
	}
	last := t.Points[len(t.Points)-1].At
	if t.Period == 0 {
		gap := time.Second
		if n := len(t.Points); n > 1 {
			gap = last - t.Points[n-2].At
		}
		t.Period = last + gap
	}
	if t.Period <= last || t.Period > maxTraceLength {
		return fmt.Errorf("%w: period %v", ErrTrace, t.Period)
	}
	t.cum = make([]float64, len(t.Points)+1)
	t.starts = make([]float64, len(t.Points))
	t.bw = make([]float64, len(t.Points))
	t.periodS = t.Period.Seconds()
	for i, p := range t.Points {
		t.starts[i], t.bw[i] = p.At.Seconds(), p.Bandwidth
		end := t.Period
		if i+1 < len(t.Points) {
			end = t.Points[i+1].At
		}
		t.cum[i+1] = t.cum[i] + p.Bandwidth*(end-p.At).Seconds()
	}
	if t.cum[len(t.Points)] <= 0 {
		return fmt.Errorf("%w: no bandwidth at all", ErrTrace)
	}
	return nil
}

// NewTrace returns a checked trace.
func NewTrace(name string, points []TracePoint, period time.Duration) (*Trace, error) {
	t := &Trace{Name: name, Points: points, Period: period}
	if err := t.prepare(); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, name)
	}
	return t, nil
}

// Bandwidth returns the rate offered at time at.
func (t *Trace) Bandwidth(at time.Duration) float64 {
	off := at % t.Period
	i := sort.Search(len(t.Points), func(i int) bool { return t.Points[i].At > off }) - 1
	return t.Points[max(i, 0)].Bandwidth
}

// capacity returns the bits the path delivers from 0 to s seconds.
func (t *Trace) capacity(s float64) float64 {
	cycles := math.Floor(s / t.periodS)
	rem := s - cycles*t.periodS
	i := sort.SearchFloat64s(t.starts, rem) // first start ≥ rem
	if i == len(t.starts) || t.starts[i] > rem {
		i--
	}
	i = max(i, 0)
	return cycles*t.cum[len(t.starts)] + t.cum[i] + t.bw[i]*(rem-t.starts[i])
}

// at returns the first time by which the path has delivered bits.
func (t *Trace) at(bits float64) float64 {
	n := len(t.starts)
	total := t.cum[n]
	cycles := math.Floor(bits / total)
	rem := bits - cycles*total
	if rem <= 0 && cycles > 0 {
		cycles--
		rem = total
	}
	// The first stretch i whose end reaches rem.
	i := sort.SearchFloat64s(t.cum[1:], rem)
	i = min(i, n-1)
	s := t.starts[i]
	if t.bw[i] > 0 {
		s += (rem - t.cum[i]) / t.bw[i]
	}
	return cycles*t.periodS + s
}

// TransferSeconds returns how long sending n bytes takes from time start
// (in seconds).
func (t *Trace) TransferSeconds(start float64, n float64) float64 {
	if t.cum == nil {
		if err := t.prepare(); err != nil {
			return math.Inf(1)
		}
	}
	return t.at(t.capacity(start)+n*8) - start
}

// Mean returns the trace's mean bandwidth over one period.
func (t *Trace) Mean() float64 {
	if t.cum == nil {
		if err := t.prepare(); err != nil {
			return 0
		}
	}
	return t.cum[len(t.Points)] / t.Period.Seconds()
}

func traceScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxTraceLine), maxTraceLine)
	return sc
}

// ParseCooked reads a trace in the "cooked" format of Pensieve's traces:
// one line per sample, the time in seconds and the bandwidth in Mbps,
// separated by white space. Times must not go backwards; the first is
// taken as 0.
func ParseCooked(r io.Reader, name string) (*Trace, error) {
	sc := traceScanner(r)
	var pts []TracePoint
	var t0 float64
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%w: %s:%d: want time and bandwidth", ErrTrace, name, line)
		}
		ts, err1 := strconv.ParseFloat(fields[0], 64)
		bw, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil || math.IsNaN(ts) || math.IsInf(ts, 0) || ts < 0 ||
			math.IsNaN(bw) || bw < 0 || bw > maxTraceBitrate/1e6 {
			return nil, fmt.Errorf("%w: %s:%d: bad number", ErrTrace, name, line)
		}
		if len(pts) == 0 {
			t0 = ts
		}
		rel := ts - t0
		if rel > maxTraceLength.Seconds() {
			return nil, fmt.Errorf("%w: %s:%d: longer than %v", ErrTrace, name, line, maxTraceLength)
		}
		at := time.Duration(math.Round(rel * 1e9))
		if n := len(pts); n > 0 && at <= pts[n-1].At {
			if at < pts[n-1].At {
				return nil, fmt.Errorf("%w: %s:%d: time goes backwards", ErrTrace, name, line)
			}
			pts[n-1].Bandwidth = bw * 1e6 // same instant: the later sample wins
			continue
		}
		if len(pts) >= MaxTracePoints {
			return nil, fmt.Errorf("%w: %s: more than %d points", ErrTrace, name, MaxTracePoints)
		}
		pts = append(pts, TracePoint{At: at, Bandwidth: bw * 1e6})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s:%d: %v", ErrTrace, name, line+1, err)
	}
	return NewTrace(name, pts, 0)
}

// WriteCooked writes t in the cooked format.
func WriteCooked(w io.Writer, t *Trace) error {
	bw := bufio.NewWriter(w)
	for _, p := range t.Points {
		fmt.Fprintf(bw, "%s\t%s\n", strconv.FormatFloat(p.At.Seconds(), 'f', -1, 64), strconv.FormatFloat(p.Bandwidth/1e6, 'f', 4, 64))
	}
	return bw.Flush()
}

// MahimahiPacket is the size of one delivery opportunity in a Mahimahi
// trace: one MTU-sized packet.
const MahimahiPacket = 1500

// mahimahiBin is the window a Mahimahi trace's opportunities are counted
// over to make a bandwidth.
const mahimahiBin = 500 * time.Millisecond

// ParseMahimahi reads a Mahimahi link trace: one line per delivery
// opportunity of 1500 bytes, the time in milliseconds (repeated for several
// packets in one millisecond), repeating after the last one. The
// opportunities are counted in 500 ms windows to make a bandwidth.
func ParseMahimahi(r io.Reader, name string) (*Trace, error) {
	sc := traceScanner(r)
	var counts []int
	var last int64 = -1
	lines := 0
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		lines++
		if lines > 64*MaxTracePoints {
			return nil, fmt.Errorf("%w: %s: too many lines", ErrTrace, name)
		}
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms < 0 || ms > maxTraceLength.Milliseconds() {
			return nil, fmt.Errorf("%w: %s:%d: bad timestamp %q", ErrTrace, name, lines, s)
		}
		if ms < last {
			return nil, fmt.Errorf("%w: %s:%d: timestamp goes backwards", ErrTrace, name, lines)
		}
		last = ms
		bin := int(time.Duration(ms) * time.Millisecond / mahimahiBin)
		if bin >= MaxTracePoints {
			return nil, fmt.Errorf("%w: %s: longer than %d windows", ErrTrace, name, MaxTracePoints)
		}
		for len(counts) <= bin {
			counts = append(counts, 0)
		}
		counts[bin]++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTrace, name, err)
	}
	if last <= 0 {
		return nil, fmt.Errorf("%w: %s: no packets", ErrTrace, name)
	}
	period := time.Duration(last) * time.Millisecond
	pts := make([]TracePoint, 0, len(counts))
	for i, c := range counts {
		at := time.Duration(i) * mahimahiBin
		if at >= period {
			break
		}
		width := min(mahimahiBin, period-at)
		pts = append(pts, TracePoint{At: at, Bandwidth: float64(c*MahimahiPacket*8) / width.Seconds()})
	}
	return NewTrace(name, pts, period)
}

// WriteMahimahi writes t as a Mahimahi trace over one period: a delivery
// opportunity whenever the trace has offered another 1500 bytes.
func WriteMahimahi(w io.Writer, t *Trace) error {
	if t.cum == nil {
		if err := t.prepare(); err != nil {
			return err
		}
	}
	bw := bufio.NewWriter(w)
	sent := 0.0
	end := t.Period.Milliseconds()
	for ms := int64(1); ms <= end; ms++ {
		avail := t.capacity(float64(ms)/1000) / (MahimahiPacket * 8)
		for sent+1 <= avail+1e-9 {
			fmt.Fprintln(bw, ms)
			sent++
		}
	}
	return bw.Flush()
}

// TraceKind is a family of synthetic traces.
type TraceKind int

// Kinds of synthetic trace.
const (
	Steady TraceKind = iota // a constant rate with small noise
	Steps                   // constant stretches with sudden changes
	ThreeG                  // HSDPA-like: low, noisy, with fades
	LTE                     // higher and more variable, with deep fades
)

func (k TraceKind) String() string {
	switch k {
	case Steady:
		return "steady"
	case Steps:
		return "step"
	case ThreeG:
		return "3g"
	case LTE:
		return "lte"
	}
	return fmt.Sprintf("TraceKind(%d)", int(k))
}

// GenerateTrace makes a synthetic trace of one-second samples. The same
// kind and seed always give the same trace.
func GenerateTrace(kind TraceKind, seed uint64, length time.Duration) *Trace {
	rng := rand.New(rand.NewPCG(seed, uint64(kind)+0x5eed))
	n := int(length / time.Second)
	pts := make([]TracePoint, n)
	round := func(bps float64) float64 { return math.Round(bps/100) * 100 } // to 0.0001 Mbps
	switch kind {
	case Steady:
		base := 1e6 + rng.Float64()*4e6
		for i := range pts {
			pts[i].Bandwidth = round(base * (0.95 + 0.1*rng.Float64()))
		}
	case Steps:
		level := 0.0
		left := 0
		for i := range pts {
			if left == 0 {
				level = 0.4e6 + rng.Float64()*4.6e6
				left = 20 + rng.IntN(40)
			}
			left--
			pts[i].Bandwidth = round(level)
		}
	case ThreeG:
		logRate := math.Log(1.2e6)
		for i := range pts {
			logRate += rng.NormFloat64() * 0.25
			logRate = math.Max(math.Log(0.2e6), math.Min(logRate, math.Log(4e6)))
			bw := math.Exp(logRate)
			if rng.Float64() < 0.03 {
				bw *= 0.1 // a fade
			}
			pts[i].Bandwidth = round(bw)
		}
	case LTE:
		logRate := math.Log(3.5e6)
		for i := range pts {
			logRate += rng.NormFloat64()*0.3 + (math.Log(3.5e6)-logRate)*0.1
			logRate = math.Max(math.Log(0.3e6), math.Min(logRate, math.Log(12e6)))
			bw := math.Exp(logRate)
			if rng.Float64() < 0.04 {
				bw *= 0.05
			}
			pts[i].Bandwidth = round(bw)
		}
	}
	for i := range pts {
		pts[i].At = time.Duration(i) * time.Second
	}
	t, err := NewTrace(fmt.Sprintf("%s-%d", kind, seed), pts, 0)
	if err != nil {
		panic(err) // the generator makes valid traces
	}
	return t
}

// SyntheticTraces is the trace set shipped in testdata/traces: five seeds
// of each kind, 320 s each.
func SyntheticTraces() []*Trace { return SyntheticTraceSet(1, 5) }

// SyntheticTraceSet generates n traces of each kind, 320 s each, with the
// seeds first, first+1, …: SyntheticTraceSet(1, 5) is the shipped set, and
// a set with other seeds is one that no rule was tuned on (a held-out set).
func SyntheticTraceSet(first uint64, n int) []*Trace {
	var out []*Trace
	for _, k := range []TraceKind{Steady, Steps, ThreeG, LTE} {
		for seed := first; seed < first+uint64(n); seed++ {
			out = append(out, GenerateTrace(k, seed, 320*time.Second))
		}
	}
	return out
}
