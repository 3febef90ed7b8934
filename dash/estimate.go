package dash

import (
	"math"
	"time"
)

// An Estimator turns per-chunk throughput measurements into a prediction of
// the bandwidth available for the next chunk: the slides' client that
// "periodically measures server-to-client bandwidth".
type Estimator interface {
	// Add records one download: bits per second over d.
	Add(bps float64, d time.Duration)
	// Estimate returns the prediction in bits per second, 0 before any sample.
	Estimate() float64
}

// EWMA is dash.js's throughput estimate: two exponentially weighted moving
// averages over download time, a fast one and a slow one, and the smaller
// of the two as the estimate (quick to fall, slow to rise). The zero value
// uses half-lives of 3 s and 8 s.
type EWMA struct {
	FastHalfLife, SlowHalfLife time.Duration

	fast, slow   float64
	fastW, slowW float64 // total weight, for the start-up bias correction
}

func (e *EWMA) halfLives() (float64, float64) {
	f, s := e.FastHalfLife, e.SlowHalfLife
	if f <= 0 {
		f = 3 * time.Second
	}
	if s <= 0 {
		s = 8 * time.Second
	}
	return f.Seconds(), s.Seconds()
}

// Add implements Estimator.
func (e *EWMA) Add(bps float64, d time.Duration) {
	if bps <= 0 || math.IsNaN(bps) || math.IsInf(bps, 0) {
		return
	}
	w := math.Max(d.Seconds(), 0.001)
	fh, sh := e.halfLives()
	af := math.Pow(0.5, w/fh)
	as := math.Pow(0.5, w/sh)
	e.fast = af*e.fast + (1-af)*bps
	e.slow = as*e.slow + (1-as)*bps
	e.fastW = af*e.fastW + (1 - af)
	e.slowW = as*e.slowW + (1 - as)
}

// Estimate implements Estimator.
func (e *EWMA) Estimate() float64 {
	if e.fastW == 0 {
		return 0
	}
	return math.Min(e.fast/e.fastW, e.slow/e.slowW)
}

// HarmonicMean predicts the harmonic mean of the last N samples (5 if N is
// zero), as MPC does: one slow chunk pulls it down more than one fast chunk
// pushes it up.
type HarmonicMean struct {
	N       int
	samples []float64
}

// Add implements Estimator.
func (h *HarmonicMean) Add(bps float64, _ time.Duration) {
	if bps <= 0 || math.IsNaN(bps) || math.IsInf(bps, 0) {
		return
	}
	n := h.N
	if n <= 0 {
		n = 5
	}
	h.samples = append(h.samples, bps)
	if len(h.samples) > n {
		h.samples = h.samples[len(h.samples)-n:]
	}
}

// Estimate implements Estimator.
func (h *HarmonicMean) Estimate() float64 { return harmonicMean(h.samples, len(h.samples)) }

// harmonicMean of the last n values of xs; 0 for none.
func harmonicMean(xs []float64, n int) float64 {
	if n > len(xs) {
		n = len(xs)
	}
	if n == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs[len(xs)-n:] {
		if x <= 0 {
			return 0
		}
		sum += 1 / x
	}
	return float64(n) / sum
}
