package dash

import (
	"bufio"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A Predictor forecasts the throughput of the chunks to come as a
// distribution rather than one number, learned by counting what followed
// similar histories in past sessions (the idea of CS2P, Sun et al.,
// SIGCOMM 2016, and of Fugu's transmission-time predictor, Yan et al., NSDI
// 2020, in a form small enough to read).
//
// A history is put in a cell by three features of the last five measured
// throughputs: their level (harmonic mean), their spread ((largest −
// smallest) / level) and their trend (last / level), each in one of a few
// bands. For each cell the predictor holds, for each of the next Steps
// chunks, Quantiles equally likely ratios of that chunk's throughput to the
// level. A cell with few samples borrows the distributions of its spread
// and trend over all levels.
//
// The zero Predictor knows nothing; [TrainPredictor] builds one from
// sessions, [ParsePredictor] reads one, and [DefaultPredictor] is the one
// shipped in testdata/predictor.txt.
type Predictor struct {
	Steps     int // chunks predicted one by one
	Quantiles int // equally likely ratios per distribution
	// Cells by (spread, trend, level) band; level band -1 is every level.
	Cells []PredictorCell
}

// A PredictorCell is what followed the histories of one cell.
type PredictorCell struct {
	Spread, Trend, Level int
	Samples              int
	Next                 [][]float64 // [step][quantile]: chunk's ratio to the level, ascending
}

// The bands of the features: level edges in bits per second, spread and
// trend edges as ratios.
var (
	levelEdges  = [...]float64{0.5e6, 0.8e6, 1.2e6, 1.8e6, 2.5e6, 3.5e6, 5e6}
	spreadEdges = [...]float64{0.005, 0.05, 0.15, 0.4, 1}
	trendEdges  = [...]float64{0.5, 0.7, 0.85, 0.95, 1.05, 1.2, 1.4, 2}
)

// predictorWindow is how many past throughputs the features look at.
const predictorWindow = 5

// minCellSamples is the fewest samples a cell needs to be used on its own.
const minCellSamples = 30

// band returns how many edges x is at or above.
func band[T cmp.Ordered](edges []T, x T) int {
	i := 0
	for i < len(edges) && x >= edges[i] {
		i++
	}
	return i
}

// A history's cell: its bands of spread, trend and level.
type cellKey struct{ spread, trend, level int }

// features returns the level (harmonic mean of the last five throughputs)
// and the history's cell; ok is false with no measurement yet. A single
// measurement has its own spread band, past the last.
func features(tputs []float64) (level float64, k cellKey, ok bool) {
	w := tputs[max(len(tputs)-predictorWindow, 0):]
	level = harmonicMean(w, len(w))
	if level <= 0 {
		return 0, cellKey{}, false
	}
	k.spread = len(spreadEdges) + 1
	if len(w) > 1 {
		k.spread = band(spreadEdges[:], (slices.Max(w)-slices.Min(w))/level)
	}
	k.trend = band(trendEdges[:], w[len(w)-1]/level)
	k.level = band(levelEdges[:], level)
	return level, k, true
}

// cell returns the cell for the bands: the exact one if it has enough
// samples, else the one of its spread and trend over all levels, else nil.
func (p *Predictor) cell(k cellKey) *PredictorCell {
	var all *PredictorCell
	for i := range p.Cells {
		c := &p.Cells[i]
		if c.Spread != k.spread || c.Trend != k.trend {
			continue
		}
		if c.Level == k.level && c.Samples >= minCellSamples {
			return c
		}
		if c.Level == -1 && c.Samples > 0 {
			all = c
		}
	}
	return all
}

// A Forecast is a Predictor's answer for one history.
type Forecast struct {
	Level float64     // harmonic mean of the last five throughputs
	Next  [][]float64 // [step] equally likely throughputs, bits per second
	Cell  string      // which cell, in words
}

// Forecast predicts the throughputs of the next h chunks (h at most Steps)
// from past ones. ok is false if there is no measurement or no cell for
// the history.
func (p *Predictor) Forecast(tputs []float64, h int) (f Forecast, ok bool) {
	level, k, ok := features(tputs)
	if !ok || p == nil || h > p.Steps {
		return Forecast{}, false
	}
	c := p.cell(k)
	if c == nil {
		return Forecast{}, false
	}
	lvl := bandName(levelEdges[:], k.level, 1e6) + " Mbps"
	if c.Level == -1 {
		lvl = "any level"
	}
	f = Forecast{Level: level, Next: make([][]float64, h),
		Cell: fmt.Sprintf("%s, spread %s, last/level %s: %d samples", lvl, spreadName(k.spread), bandName(trendEdges[:], k.trend, 1), c.Samples)}
	scale := func(ratios []float64) []float64 {
		out := make([]float64, len(ratios))
		for i, r := range ratios {
			out[i] = r * level
		}
		return out
	}
	for d := range f.Next {
		f.Next[d] = scale(c.Next[d])
	}
	return f, true
}

func bandName(edges []float64, i int, unit float64) string {
	switch {
	case i == 0:
		return fmt.Sprintf("<%g", edges[0]/unit)
	case i == len(edges):
		return fmt.Sprintf("≥%g", edges[i-1]/unit)
	}
	return fmt.Sprintf("%g–%g", edges[i-1]/unit, edges[i]/unit)
}

func spreadName(i int) string {
	if i > len(spreadEdges) {
		return "unknown (one sample)"
	}
	return bandName(spreadEdges[:], i, 0.01) + "%"
}

// TrainPredictor builds a Predictor with the given steps and quantiles
// from sessions: it streams the video over each trace with the behaviour
// rule and collects, after each history, the ratios of the throughputs of
// the chunks that followed to the history's level.
func TrainPredictor(sim Simulator, traces []*Trace, behaviour Rule, steps, quantiles int) *Predictor {
	type counts struct {
		n    int
		next [][]float64
	}
	cells := map[cellKey]*counts{}
	for _, tr := range traces {
		res := sim.Run(tr, behaviour)
		hist := make([]float64, len(res.Chunks))
		for i, c := range res.Chunks {
			hist[i] = c.Throughput
		}
		for i := 1; i < len(hist); i++ {
			level, k, ok := features(hist[:i])
			if !ok {
				continue
			}
			all := k
			all.level = -1
			for _, k := range []cellKey{k, all} {
				c := cells[k]
				if c == nil {
					c = &counts{next: make([][]float64, steps)}
					cells[k] = c
				}
				c.n++
				for d := 0; d < steps && i+d < len(hist); d++ {
					c.next[d] = append(c.next[d], hist[i+d]/level)
				}
			}
		}
	}
	p := &Predictor{Steps: steps, Quantiles: quantiles}
	for k, c := range cells {
		if k.level >= 0 && c.n < minCellSamples {
			continue // never used: Forecast takes the cell over all levels
		}
		pc := PredictorCell{Spread: k.spread, Trend: k.trend, Level: k.level, Samples: c.n,
			Next: make([][]float64, steps)}
		for d, xs := range c.next {
			pc.Next[d] = quantilesOf(xs, quantiles)
		}
		p.Cells = append(p.Cells, pc)
	}
	slices.SortFunc(p.Cells, func(a, b PredictorCell) int {
		return cmp.Or(cmp.Compare(a.Spread, b.Spread), cmp.Compare(a.Trend, b.Trend), cmp.Compare(a.Level, b.Level))
	})
	return p
}

// quantilesOf returns q equally likely values standing for xs: the
// quantiles at the middles of q equal slices of probability, rounded to
// three decimals. With no samples every value is 1 (no change).
func quantilesOf(xs []float64, q int) []float64 {
	out := make([]float64, q)
	if len(xs) == 0 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	for i := range out {
		at := (float64(i) + 0.5) / float64(q) * float64(len(s))
		out[i] = math.Round(s[min(int(at), len(s)-1)]*1000) / 1000
	}
	return out
}

// The predictor file: a header line "predictor STEPS QUANTILES", then per
// cell a line "cell SPREAD TREND LEVEL SAMPLES" followed by STEPS lines
// "next D r1 … rQ" (D from 0). Lines starting with # are comments.
const (
	maxPredictorCells     = 1024
	maxPredictorSteps     = 16
	maxPredictorQuantiles = 64
	maxPredictorLine      = 1024
)

// WritePredictor writes p in the predictor file format.
func WritePredictor(w io.Writer, p *Predictor, comment string) error {
	bw := bufio.NewWriter(w)
	writeComment(bw, comment)
	fmt.Fprintf(bw, "predictor %d %d\n", p.Steps, p.Quantiles)
	row := func(kind string, i int, xs []float64) {
		fmt.Fprintf(bw, "%s %d", kind, i)
		for _, x := range xs {
			fmt.Fprintf(bw, " %s", strconv.FormatFloat(x, 'f', -1, 64))
		}
		fmt.Fprintln(bw)
	}
	for _, c := range p.Cells {
		fmt.Fprintf(bw, "cell %d %d %d %d\n", c.Spread, c.Trend, c.Level, c.Samples)
		for d, xs := range c.Next {
			row("next", d, xs)
		}
	}
	return bw.Flush()
}

// ParsePredictor reads a predictor file.
func ParsePredictor(r io.Reader) (*Predictor, error) {
	ints := func(fields []string) ([]int, error) {
		out := make([]int, len(fields))
		for i, f := range fields {
			n, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("bad number %q", f)
			}
			out[i] = n
		}
		return out, nil
	}
	var p *Predictor
	var c *PredictorCell
	line := func(fields []string) error {
		switch fields[0] {
		case "predictor":
			if p != nil || len(fields) != 3 {
				return errors.New("want one header \"predictor STEPS QUANTILES\"")
			}
			n, err := ints(fields[1:])
			if err != nil {
				return err
			}
			if n[0] < 1 || n[0] > maxPredictorSteps || n[1] < 1 || n[1] > maxPredictorQuantiles {
				return fmt.Errorf("steps %d or quantiles %d out of range", n[0], n[1])
			}
			p = &Predictor{Steps: n[0], Quantiles: n[1]}
		case "cell":
			if p == nil || len(fields) != 5 {
				return errors.New("want \"cell SPREAD TREND LEVEL SAMPLES\" after the header")
			}
			if err := complete(p, c); err != nil {
				return err
			}
			n, err := ints(fields[1:])
			if err != nil {
				return err
			}
			if n[0] < 0 || n[0] > len(spreadEdges)+1 || n[1] < 0 || n[1] > len(trendEdges) ||
				n[2] < -1 || n[2] > len(levelEdges) || n[3] < 0 {
				return fmt.Errorf("cell %v out of range", n)
			}
			if len(p.Cells) >= maxPredictorCells {
				return fmt.Errorf("more than %d cells", maxPredictorCells)
			}
			p.Cells = append(p.Cells, PredictorCell{Spread: n[0], Trend: n[1], Level: n[2], Samples: n[3]})
			c = &p.Cells[len(p.Cells)-1]
		case "next":
			if c == nil {
				return errors.New("\"next\" outside a cell")
			}
			if len(fields) != 2+p.Quantiles {
				return fmt.Errorf("want \"next\" with an index and %d ratios", p.Quantiles)
			}
			i, err := strconv.Atoi(fields[1])
			if err != nil {
				return fmt.Errorf("bad index %q", fields[1])
			}
			if i != len(c.Next) || i >= p.Steps {
				return fmt.Errorf("next %d out of order", i)
			}
			xs := make([]float64, p.Quantiles)
			for k, f := range fields[2:] {
				x, err := strconv.ParseFloat(f, 64)
				if err != nil || !(x > 0) || x > 1e3 || (k > 0 && x < xs[k-1]) {
					return fmt.Errorf("ratio %q: want positive, at most 1000, ascending", f)
				}
				xs[k] = x
			}
			c.Next = append(c.Next, xs)
		default:
			return fmt.Errorf("unknown line %q", fields[0])
		}
		return nil
	}
	end := func() error {
		if p == nil {
			return errors.New("no header")
		}
		return complete(p, c)
	}
	if err := readTable(r, "predictor", maxPredictorLine, line, end); err != nil {
		return nil, err
	}
	return p, nil
}

// writeComment writes comment's lines as the comment lines ("# …") that
// open one of dash's text tables.
func writeComment(w io.Writer, comment string) {
	for _, line := range strings.Split(strings.TrimSpace(comment), "\n") {
		if line != "" {
			fmt.Fprintf(w, "# %s\n", line)
		}
	}
}

// readTable reads one of dash's text tables (a predictor, a rollout
// table): it calls line with the fields of each line, skipping blank lines
// and comments (lines starting with #), then end. An error from either, a
// line longer than maxLine or a failed read comes back as "dash: bad
// <what>: line N: …".
func readTable(r io.Reader, what string, maxLine int, line func(fields []string) error, end func() error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	n := 0
	bad := func(err error) error { return fmt.Errorf("dash: bad %s: line %d: %w", what, n, err) }
	for sc.Scan() {
		n++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if err := line(fields); err != nil {
			return bad(err)
		}
	}
	if err := sc.Err(); err != nil {
		n++
		return bad(err)
	}
	if err := end(); err != nil {
		return bad(err)
	}
	return nil
}

// complete checks that cell c (if any) has all its distributions.
func complete(p *Predictor, c *PredictorCell) error {
	if c != nil && len(c.Next) != p.Steps {
		return fmt.Errorf("cell %d %d %d has %d next lines, want %d", c.Spread, c.Trend, c.Level, len(c.Next), p.Steps)
	}
	return nil
}

//go:embed testdata/predictor.txt
var shippedPredictor string

// DefaultPredictor returns the predictor shipped in testdata/predictor.txt,
// trained on synthetic traces whose seeds no evaluation uses (the file's
// header says how it was made).
func DefaultPredictor() *Predictor {
	p, err := ParsePredictor(strings.NewReader(shippedPredictor))
	if err != nil {
		panic(err) // the shipped file is tested
	}
	return p
}
