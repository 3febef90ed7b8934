package dash

import "testing"

// A rule at the same fraction of the optimum on every trace has that
// fraction on every draw: its interval is one point. A rule that matches
// the optimum on some traces and falls far short on others has an interval
// around its fraction, wider the more the traces disagree.
func TestInterval(t *testing.T) {
	c := &Comparison{
		Rules:   []string{"even", "uneven", "wild"},
		Traces:  []string{"a-1", "a-2", "a-3", "b-1", "b-2", "b-3"},
		Optimum: []float64{2, 2, 2, 4, 4, 4},
		QoE: [][]float64{
			{1.8, 1.8, 1.8, 3.6, 3.6, 3.6},
			{2, 1.6, 1.8, 4, 3.2, 3.6},
			{2, 0, 2, 4, 1, 4},
		},
	}
	lo, hi := c.Interval(0)
	if f := c.Fraction(0); lo != f || hi != f {
		t.Errorf("even: interval %.3f–%.3f, want the point %.3f", lo, hi, f)
	}
	var width [3]float64
	for i := range c.Rules {
		lo, hi := c.Interval(i)
		if f := c.Fraction(i); lo > f || hi < f {
			t.Errorf("%s: interval %.3f–%.3f does not hold the fraction %.3f", c.Rules[i], lo, hi, f)
		}
		width[i] = hi - lo
	}
	if !(width[0] < width[1] && width[1] < width[2]) {
		t.Errorf("interval widths %.3f, %.3f, %.3f: want them to grow with the disagreement between traces", width[0], width[1], width[2])
	}
}
