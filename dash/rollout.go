package dash

import (
	"bufio"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Rollout improves on another rule, StochasticMPC by default, with what
// simulated sessions taught about where that rule's choice is worse than
// its neighbour: approximate policy improvement by rollouts (Bertsekas,
// "Rollout algorithms", 1997), and in spirit Pensieve's learning from
// simulated sessions (Mao et al., SIGCOMM 2017), in a form small enough to
// read.
//
// Training ([TrainRollout]) runs the base rule over many traces. At each of
// its decisions the session is run again twice from there: once with that
// choice and the base's choices of the next few chunks (the table's Span)
// one step lower, once one step higher, and the base rule alone after
// them. The difference of each session's total QoE_lin from the base's own
// is what that move gained, and it is counted in the decision's cell: how
// much is buffered (a band), the quality the base chose and whether that
// choice was a switch up, a switch down or staying.
//
// The rule chooses as its base, then moves one step up or down if, in this
// cell, that move gained on average with enough samples (MinSamples) and by
// more than K standard errors. A move of one decision alone gains or loses
// by chance, the session after it goes another way, so the rollouts move a
// few chunks at once: what the rule will do when it meets the same cell
// again.
//
// The cells that the shipped table ([DefaultRolloutTable]) acts on say
// StochasticMPC switches too readily: a switch up with only a few seconds
// buffered, and a switch down with tens of seconds buffered, both lost on
// average against staying closer to the last rate.
//
// The zero value has no table and chooses as StochasticMPC does.
type Rollout struct {
	Base       Rule          // nil: StochasticMPC{}
	Table      *RolloutTable // nil: no moves
	K          float64       // standard errors a gain must exceed; 0: 1
	MinSamples int           // fewest samples of a move to believe; 0: 30
}

// Name implements Rule.
func (Rollout) Name() string { return "rollout" }

// A RolloutTable is what training learned: per cell, the gains of moving
// the base rule's choice one step down and one step up.
type RolloutTable struct {
	Span  int // chunks each training move lasted
	Cells []RolloutCell
}

// A RolloutCell holds the gains of one kind of decision: Buffer is the
// band of the buffer (see rolloutBufferEdges), Quality the base rule's
// choice, Move how that choice stood to the last quality.
type RolloutCell struct {
	Buffer, Quality int
	Move            RolloutMove
	Decisions       int // decisions of the base rule in the cell
	Down, Up        RolloutGain
}

// A RolloutGain is what one move gained over the base rule's sessions, in
// total QoE_lin: how many samples, their mean and standard deviation.
type RolloutGain struct {
	N        int
	Mean, SD float64
}

// stdErr returns the standard error of the mean gain.
func (g RolloutGain) stdErr() float64 {
	if g.N < 2 {
		return math.Inf(1)
	}
	return g.SD / math.Sqrt(float64(g.N))
}

// A RolloutMove is how the base rule's choice stands to the last quality.
type RolloutMove int

// The moves.
const (
	SwitchUp RolloutMove = iota
	SwitchDown
	Stay
)

var moveNames = [...]string{"up", "down", "stay"}

func (m RolloutMove) String() string {
	if m >= 0 && int(m) < len(moveNames) {
		return moveNames[m]
	}
	return fmt.Sprintf("RolloutMove(%d)", int(m))
}

// rolloutBufferEdges are the buffer bands' edges, in seconds.
var rolloutBufferEdges = [...]float64{4, 8, 12, 20, 30, 45}

// rolloutCell returns the cell of a decision to choose q in state s; ok is
// false for the first chunk, which has no last quality.
func rolloutCell(s *State, q int) (buffer int, move RolloutMove, ok bool) {
	if s.Last < 0 {
		return 0, 0, false
	}
	move = Stay
	if q > s.Last {
		move = SwitchUp
	} else if q < s.Last {
		move = SwitchDown
	}
	return band(rolloutBufferEdges[:], s.Buffer.Seconds()), move, true
}

// cell returns the table's cell, or nil.
func (t *RolloutTable) cell(buffer, q int, m RolloutMove) *RolloutCell {
	if t == nil {
		return nil
	}
	for i := range t.Cells {
		if c := &t.Cells[i]; c.Buffer == buffer && c.Quality == q && c.Move == m {
			return c
		}
	}
	return nil
}

// Choose implements Rule.
func (r Rollout) Choose(s State) Decision {
	base := r.Base
	if base == nil {
		base = StochasticMPC{}
	}
	return r.improve(&s, base.Choose(s), base.Name())
}

// improve moves the base rule's decision d (the rule named base) where the
// table says a move gains.
func (r Rollout) improve(s *State, d Decision, base string) Decision {
	k, least := r.K, r.MinSamples
	if k <= 0 {
		k = 1
	}
	if least <= 0 {
		least = 30
	}
	d.Rule = r.Name()
	q := d.Quality
	b, m, ok := rolloutCell(s, q)
	c := r.Table.cell(b, q, m)
	if !ok || c == nil {
		return d
	}
	trust := func(g RolloutGain) bool { return g.N >= least && g.Mean > 0 && g.Mean > k*g.stdErr() }
	up := q+1 < len(s.Bitrates) && trust(c.Up)
	down := q > 0 && trust(c.Down)
	var to int
	var g RolloutGain
	switch {
	case up && (!down || c.Up.Mean >= c.Down.Mean):
		to, g = q+1, c.Up
	case down:
		to, g = q-1, c.Down
	default:
		return d
	}
	dir := "down"
	if to > q {
		dir = "up"
	}
	d.Reason = fmt.Sprintf("%s says %s (%s, buffer %s s); in %d past decisions like this, one step %s for %d chunks gained %.2f on average (± %.2f): %s; %s: %s",
		base, Mbps(s.Bitrates[q]), moveWords(m, s), bandName(rolloutBufferEdges[:], b, 1), g.N, dir,
		r.Table.Span, g.Mean, g.stdErr(), Mbps(s.Bitrates[to]), base, d.Reason)
	d.Quality, d.Bitrate = to, s.Bitrates[to]
	return d
}

func moveWords(m RolloutMove, s *State) string {
	switch m {
	case SwitchUp:
		return "a switch up from " + Mbps(s.Bitrates[s.Last])
	case SwitchDown:
		return "a switch down from " + Mbps(s.Bitrates[s.Last])
	}
	return "staying"
}

// recorder passes a rule's decisions through and keeps them with their
// states.
type recorder struct {
	base      Rule
	decisions []Decision
	states    []State
}

func (r *recorder) Name() string { return r.base.Name() }

func (r *recorder) Choose(s State) Decision {
	d := r.base.Choose(s)
	r.decisions = append(r.decisions, d)
	r.states = append(r.states, s)
	return d
}

// forced replays a session's recorded decisions before chunk at, moves the
// base rule's choices of chunks at … at+span-1 by step (within the ladder),
// and leaves the base rule alone after them. The base rule is a pure
// function and the simulator deterministic, so the replayed start is the
// session the base made.
type forced struct {
	base     Rule
	recorded []Decision
	at, span int
	step     int
}

func (f *forced) Name() string { return f.base.Name() }

func (f *forced) Choose(s State) Decision {
	var d Decision
	switch {
	case s.Index < f.at:
		return f.recorded[s.Index]
	case s.Index == f.at:
		d = f.recorded[s.Index]
	case s.Index < f.at+f.span:
		d = f.base.Choose(s)
	default:
		return f.base.Choose(s)
	}
	q := min(max(d.Quality+f.step, 0), len(s.Bitrates)-1)
	d.Quality, d.Bitrate = q, s.Bitrates[q]
	return d
}

// A rolloutSample is one decision of a training session and what moving
// it gained; canDown and canUp say whether the move exists.
type rolloutSample struct {
	buffer, quality int
	move            RolloutMove
	canDown, canUp  bool
	down, up        float64
}

// sessionQoE is a session's total QoE_lin.
func sessionQoE(r Result) float64 { return r.Summary.QoELin * float64(len(r.Chunks)) }

// rolloutSamples runs the base rule over the trace and, at each decision,
// the session again with that choice and the next span-1 moved a step down
// and a step up.
func rolloutSamples(sim Simulator, tr *Trace, base Rule, span int) []rolloutSample {
	rec := &recorder{base: base}
	own := sessionQoE(sim.Run(tr, rec))
	var out []rolloutSample
	for i, d := range rec.decisions {
		s := &rec.states[i]
		b, m, ok := rolloutCell(s, d.Quality)
		if !ok {
			continue
		}
		x := rolloutSample{buffer: b, quality: d.Quality, move: m}
		gain := func(step int) float64 {
			return sessionQoE(sim.Run(tr, &forced{base: base, recorded: rec.decisions, at: i, span: span, step: step})) - own
		}
		if d.Quality > 0 {
			x.canDown, x.down = true, gain(-1)
		}
		if d.Quality < len(s.Bitrates)-1 {
			x.canUp, x.up = true, gain(+1)
		}
		out = append(out, x)
	}
	return out
}

// parallel calls f(0) … f(n-1) on as many goroutines as there are
// processors and returns when all have returned.
func parallel(n int, f func(i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(min(runtime.GOMAXPROCS(0), n), 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				f(i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// TrainRollout builds a RolloutTable from the base rule's sessions over
// the traces, each training move lasting span chunks. The traces run on as
// many goroutines as there are processors; the table does not depend on
// how many.
func TrainRollout(sim Simulator, traces []*Trace, base Rule, span int) *RolloutTable {
	per := make([][]rolloutSample, len(traces))
	parallel(len(traces), func(i int) { per[i] = rolloutSamples(sim, traces[i], base, span) })

	type sums struct {
		decisions int
		down, up  []float64
	}
	type key struct {
		buffer, quality int
		move            RolloutMove
	}
	cells := map[key]*sums{}
	for _, xs := range per { // in trace order: the sums do not depend on the schedule
		for _, x := range xs {
			k := key{x.buffer, x.quality, x.move}
			c := cells[k]
			if c == nil {
				c = &sums{}
				cells[k] = c
			}
			c.decisions++
			if x.canDown {
				c.down = append(c.down, x.down)
			}
			if x.canUp {
				c.up = append(c.up, x.up)
			}
		}
	}
	t := &RolloutTable{Span: span}
	for k, c := range cells {
		t.Cells = append(t.Cells, RolloutCell{Buffer: k.buffer, Quality: k.quality, Move: k.move,
			Decisions: c.decisions, Down: gainOf(c.down), Up: gainOf(c.up)})
	}
	slices.SortFunc(t.Cells, func(a, b RolloutCell) int {
		return cmp.Or(cmp.Compare(a.Buffer, b.Buffer), cmp.Compare(a.Quality, b.Quality), cmp.Compare(a.Move, b.Move))
	})
	return t
}

// gainOf summarizes gains as their count, mean and standard deviation,
// rounded to three decimals as the file keeps them.
func gainOf(xs []float64) RolloutGain {
	g := RolloutGain{N: len(xs)}
	if g.N == 0 {
		return g
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(g.N)
	if g.N > 1 {
		ss := 0.0
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		g.SD = math.Round(math.Sqrt(ss/float64(g.N-1))*1000) / 1000
	}
	g.Mean = math.Round(mean*1000) / 1000
	return g
}

// The rollout file: a header line "rollout SPAN", then a line per cell
//
//	cell BUFFER QUALITY MOVE DECISIONS down N MEAN SD up N MEAN SD
//
// with MOVE one of up, down, stay. Lines starting with # are comments.
const (
	maxRolloutCells     = 1024
	maxRolloutSpan      = 64
	maxRolloutQualities = 64
	maxRolloutCount     = 1 << 30
	maxRolloutGain      = 1e6
	maxRolloutLine      = 256
)

// WriteRolloutTable writes t in the rollout file format, with the comment's
// lines first.
func WriteRolloutTable(w io.Writer, t *RolloutTable, comment string) error {
	bw := bufio.NewWriter(w)
	writeComment(bw, comment)
	fmt.Fprintf(bw, "rollout %d\n", t.Span)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, c := range t.Cells {
		fmt.Fprintf(bw, "cell %d %d %s %d down %d %s %s up %d %s %s\n", c.Buffer, c.Quality, c.Move, c.Decisions,
			c.Down.N, f(c.Down.Mean), f(c.Down.SD), c.Up.N, f(c.Up.Mean), f(c.Up.SD))
	}
	return bw.Flush()
}

// ParseRolloutTable reads a rollout file.
func ParseRolloutTable(r io.Reader) (*RolloutTable, error) {
	count := func(f string, most int) (int, error) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > most {
			return 0, fmt.Errorf("count %q: want 0 to %d", f, most)
		}
		return n, nil
	}
	gain := func(f []string, decisions int) (RolloutGain, error) {
		n, err := count(f[0], decisions)
		if err != nil {
			return RolloutGain{}, err
		}
		var x [2]float64
		for i, s := range f[1:] {
			x[i], err = strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(x[i]) || math.Abs(x[i]) > maxRolloutGain {
				return RolloutGain{}, fmt.Errorf("gain %q: want a number within ±%g", s, maxRolloutGain)
			}
		}
		if x[1] < 0 {
			return RolloutGain{}, fmt.Errorf("negative standard deviation %g", x[1])
		}
		return RolloutGain{N: n, Mean: x[0], SD: x[1]}, nil
	}
	var t *RolloutTable
	line := func(fields []string) error {
		switch fields[0] {
		case "rollout":
			if t != nil || len(fields) != 2 {
				return errors.New("want one header \"rollout SPAN\"")
			}
			span, err := strconv.Atoi(fields[1])
			if err != nil || span < 1 || span > maxRolloutSpan {
				return fmt.Errorf("span %q: want 1 to %d", fields[1], maxRolloutSpan)
			}
			t = &RolloutTable{Span: span}
		case "cell":
			if t == nil || len(fields) != 13 || fields[5] != "down" || fields[9] != "up" {
				return errors.New("want \"cell BUFFER QUALITY MOVE DECISIONS down N MEAN SD up N MEAN SD\" after the header")
			}
			if len(t.Cells) >= maxRolloutCells {
				return fmt.Errorf("more than %d cells", maxRolloutCells)
			}
			var c RolloutCell
			var err error
			if c.Buffer, err = count(fields[1], len(rolloutBufferEdges)); err != nil {
				return err
			}
			if c.Quality, err = count(fields[2], maxRolloutQualities-1); err != nil {
				return err
			}
			m := slices.Index(moveNames[:], fields[3])
			if m < 0 {
				return fmt.Errorf("move %q: want up, down or stay", fields[3])
			}
			c.Move = RolloutMove(m)
			if c.Decisions, err = count(fields[4], maxRolloutCount); err != nil {
				return err
			}
			if c.Down, err = gain(fields[6:9], c.Decisions); err != nil {
				return err
			}
			if c.Up, err = gain(fields[10:13], c.Decisions); err != nil {
				return err
			}
			if t.cell(c.Buffer, c.Quality, c.Move) != nil {
				return fmt.Errorf("cell %d %d %s twice", c.Buffer, c.Quality, c.Move)
			}
			t.Cells = append(t.Cells, c)
		default:
			return fmt.Errorf("unknown line %q", fields[0])
		}
		return nil
	}
	end := func() error {
		if t == nil {
			return errors.New("no header")
		}
		return nil
	}
	if err := readTable(r, "rollout table", maxRolloutLine, line, end); err != nil {
		return nil, err
	}
	return t, nil
}

//go:embed testdata/rollout.txt
var shippedRollout string

// DefaultRolloutTable returns the table shipped in testdata/rollout.txt,
// trained on StochasticMPC's sessions over synthetic traces whose seeds no
// evaluation uses (the file's header says how it was made).
func DefaultRolloutTable() *RolloutTable {
	t, err := ParseRolloutTable(strings.NewReader(shippedRollout))
	if err != nil {
		panic(err) // the shipped file is tested
	}
	return t
}
