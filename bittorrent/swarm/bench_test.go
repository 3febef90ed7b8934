package swarm

import (
	"fmt"
	"testing"
)

// BenchmarkRun measures the simulator on the slide's set-up with 256
// pieces; the target is N = 1000 in under 2 s.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			cfg := broadbandConfig(n)
			var r *Result
			for b.Loop() {
				var err error
				if r, err = Run(cfg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(r.Efficiency, "efficiency")
			b.ReportMetric(float64(r.Events), "events")
		})
	}
}
