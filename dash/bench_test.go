package dash

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSimulator runs every rule over the synthetic trace set; the
// traces/s metric is full 48-chunk sessions per second.
func BenchmarkSimulator(b *testing.B) {
	traces := SyntheticTraces()
	for _, r := range Rules() {
		b.Run(r.Name(), func(b *testing.B) {
			sim := Simulator{}
			n := 0
			for b.Loop() {
				sim.Run(traces[n%len(traces)], r)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "traces/s")
		})
	}
}

func BenchmarkOptimum(b *testing.B) {
	traces := SyntheticTraces()
	n := 0
	for b.Loop() {
		Simulator{}.Optimum(traces[n%len(traces)], QoELin())
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "traces/s")
}

// BenchmarkQoETable reports each rule's mean QoE_lin over the synthetic
// trace set as a fraction of the offline optimum, with and without
// abandonment: the figures the issue asks for.
func BenchmarkQoETable(b *testing.B) {
	traces := SyntheticTraces()
	for _, abandon := range []bool{false, true} {
		b.Run(fmt.Sprintf("abandon=%v", abandon), func(b *testing.B) {
			var c *Comparison
			for b.Loop() {
				c = Compare(Simulator{Abandon: abandon}, traces, Rules())
			}
			for i, r := range c.Rules {
				b.ReportMetric(c.Fraction(i), r+"/opt")
			}
		})
	}
}

// TestBestRuleBeatsBaselines: on one trace of each kind of the synthetic
// set the best rule is one that plans ahead (an MPC, or a rule built on
// StochasticMPC), above both baselines (throughput and BBA). BenchmarkQoETable and examples/dash/sim give the whole table.
func TestBestRuleBeatsBaselines(t *testing.T) {
	var traces []*Trace
	for _, tr := range SyntheticTraces() {
		if strings.HasSuffix(tr.Name, "-1") {
			traces = append(traces, tr)
		}
	}
	c := Compare(Simulator{Abandon: true}, traces, Rules())
	best := c.Best()
	for i, r := range c.Rules {
		if (r == "throughput" || r == "bba") && c.Fraction(i) >= c.Fraction(best) {
			t.Errorf("%s (%.3f of optimum) is not below the best, %s (%.3f)", r, c.Fraction(i), c.Rules[best], c.Fraction(best))
		}
	}
	if !slices.Contains([]string{"mpc", "robustmpc", "smpc", "fugu", "rollout", "learned"}, c.Rules[best]) {
		t.Errorf("best rule is %s", c.Rules[best])
	}
	for i := range c.Rules {
		if f := c.Fraction(i); f > 1 {
			t.Errorf("%s at %.3f of the optimum", c.Rules[i], f)
		}
	}
}

var (
	wrkRate  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal = regexp.MustCompile(`([0-9]+) requests in`)
)

// wrk runs wrk against url for d and returns requests per second and the
// number of requests answered.
func wrk(b *testing.B, url string, d time.Duration) (perSecond float64, requests int64) {
	out, err := exec.Command("wrk", "-t2", "-c32", "-d"+strconv.Itoa(int(d.Seconds()))+"s", url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m, t := wrkRate.FindSubmatch(out), wrkTotal.FindSubmatch(out)
	if m == nil || t == nil {
		b.Fatalf("wrk printed no rate:\n%s", out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		b.Fatalf("wrk saw errors:\n%s", out)
	}
	perSecond, _ = strconv.ParseFloat(string(m[1]), 64)
	requests, _ = strconv.ParseInt(string(t[1]), 10, 64)
	return perSecond, requests
}
