package dash

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
)

// Comparison is every rule's QoE_lin on every trace, beside the optimum.
type Comparison struct {
	Rules   []string
	Traces  []string
	Optimum []float64   // per trace, QoE_lin per chunk
	QoE     [][]float64 // [rule][trace], QoE_lin per chunk
	Results [][]Result  // [rule][trace]
	// The optimum's qualities played in the simulator, per trace: how the
	// optimum gets its score (its rate, stalls and switches).
	OptimumResults []Result
}

// Compare runs every rule on every trace and the offline optimum.
func Compare(sim Simulator, traces []*Trace, rules []Rule) *Comparison {
	c := &Comparison{}
	for _, t := range traces {
		c.Traces = append(c.Traces, t.Name)
		opt, qs := sim.Optimum(t, QoELin())
		c.Optimum = append(c.Optimum, opt)
		plain := sim
		plain.Abandon = false // knowing the future, it never needs to
		c.OptimumResults = append(c.OptimumResults, plain.Run(t, replay(qs)))
	}
	for _, r := range rules {
		c.Rules = append(c.Rules, r.Name())
		var q []float64
		var res []Result
		for _, t := range traces {
			x := sim.Run(t, r)
			q = append(q, x.Summary.QoELin)
			res = append(res, x)
		}
		c.QoE = append(c.QoE, q)
		c.Results = append(c.Results, res)
	}
	return c
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Fraction returns a rule's mean QoE_lin as a fraction of the optimum's.
func (c *Comparison) Fraction(rule int) float64 {
	return mean(c.QoE[rule]) / mean(c.Optimum)
}

// Families returns the trace families in the order they first appear: a
// trace's family is its name up to the last '-' ("3g" for "3g-2").
func (c *Comparison) Families() []string {
	var out []string
	for _, t := range c.Traces {
		if f := family(t); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func family(trace string) string {
	if i := strings.LastIndexByte(trace, '-'); i > 0 {
		return trace[:i]
	}
	return trace
}

// FamilyFraction returns a rule's mean QoE_lin over one family's traces as
// a fraction of the optimum's mean over them.
func (c *Comparison) FamilyFraction(rule int, fam string) float64 {
	var q, opt []float64
	for j, t := range c.Traces {
		if family(t) == fam {
			q = append(q, c.QoE[rule][j])
			opt = append(opt, c.Optimum[j])
		}
	}
	return mean(q) / mean(opt)
}

// Interval returns a 95% confidence interval of a rule's Fraction: how
// much the figure could move were the traces another draw of the same
// kinds. It is a bootstrap: the traces of each family are drawn again,
// with replacement and as many as there are, a thousand times, and the
// fraction is computed on each draw; the interval holds the middle 95% of
// them. The draws are seeded, so the same comparison always gives the same
// interval.
//
// With five traces of a family it is wide: two rules whose intervals
// overlap may not differ at all, and a set of other seeds may rank them the
// other way.
func (c *Comparison) Interval(rule int) (lo, hi float64) {
	const draws = 1000
	byFamily := map[string][]int{}
	for j, t := range c.Traces {
		byFamily[family(t)] = append(byFamily[family(t)], j)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	fractions := make([]float64, draws)
	for k := range fractions {
		q, opt := 0.0, 0.0
		for _, f := range c.Families() {
			members := byFamily[f]
			for range members {
				j := members[rng.IntN(len(members))]
				q += c.QoE[rule][j]
				opt += c.Optimum[j]
			}
		}
		fractions[k] = q / opt
	}
	slices.Sort(fractions)
	return fractions[draws*25/1000], fractions[draws*975/1000-1]
}

// replay is a rule that plays a given list of qualities, such as the
// optimum's.
type replay []int

func (replay) Name() string { return "replay" }

func (r replay) Choose(s State) Decision {
	return decide(s, r[s.Index], "replay", "quality %d, given", r[s.Index])
}

// Best returns the index of the rule with the highest mean QoE_lin.
func (c *Comparison) Best() int {
	best := 0
	for i := range c.Rules {
		if mean(c.QoE[i]) > mean(c.QoE[best]) {
			best = i
		}
	}
	return best
}

// sessionMeans returns the mean QoE_log, QoE_HD, bitrate, rebuffering
// (start-up included) and switches of sessions.
func sessionMeans(rs []Result) (lg, hd, br, rb, sw float64) {
	n := float64(max(len(rs), 1))
	for _, x := range rs {
		lg += x.Summary.QoELog / n
		hd += x.Summary.QoEHD / n
		br += x.Summary.AvgBitrate / n
		rb += (x.Summary.RebufferTime + x.Summary.StartupDelay).Seconds() / n
		sw += float64(x.Summary.Switches) / n
	}
	return
}

// WriteComparison prints the table: per rule the mean QoE_lin, its
// fraction of the optimum with that fraction's 95% interval (see
// Comparison.Interval), mean bitrate, rebuffering and switches. The
// optimum's row gives the rate, rebuffering and switches of its path, so
// the gap shows where it is; its QoE_log and QoE_HD are left out, since
// the path is the best for QoE_lin, not for them.
func WriteComparison(w io.Writer, c *Comparison, perTrace bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rule\tQoE_lin\tof optimum\t95%% interval\tQoE_log\tQoE_HD\tbitrate\trebuffer s\tswitches\t\n")
	for i, r := range c.Rules {
		lg, hd, br, rb, sw := sessionMeans(c.Results[i])
		lo, hi := c.Interval(i)
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f–%.3f\t%.3f\t%.2f\t%s\t%.2f\t%.1f\t\n", r, mean(c.QoE[i]), c.Fraction(i), lo, hi,
			lg, hd, Mbps(br), rb, sw)
	}
	_, _, br, rb, sw := sessionMeans(c.OptimumResults)
	fmt.Fprintf(tw, "optimum\t%.3f\t1.000\t\t\t\t%s\t%.2f\t%.1f\t\n", mean(c.Optimum), Mbps(br), rb, sw)
	tw.Flush()
	if fams := c.Families(); len(fams) > 1 && len(fams) < len(c.Traces) {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "of optimum")
		for _, f := range fams {
			fmt.Fprintf(tw, "\t%s", f)
		}
		fmt.Fprintf(tw, "\tall\t\n")
		for i, r := range c.Rules {
			fmt.Fprintf(tw, "%s", r)
			for _, f := range fams {
				fmt.Fprintf(tw, "\t%.3f", c.FamilyFraction(i, f))
			}
			fmt.Fprintf(tw, "\t%.3f\t\n", c.Fraction(i))
		}
		tw.Flush()
	}
	if !perTrace {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "trace\toptimum")
	for _, r := range c.Rules {
		fmt.Fprintf(tw, "\t%s", r)
	}
	fmt.Fprintf(tw, "\t\n")
	for j, t := range c.Traces {
		fmt.Fprintf(tw, "%s\t%.3f", t, c.Optimum[j])
		for i := range c.Rules {
			fmt.Fprintf(tw, "\t%.3f", c.QoE[i][j])
		}
		fmt.Fprintf(tw, "\t\n")
	}
	tw.Flush()
}
