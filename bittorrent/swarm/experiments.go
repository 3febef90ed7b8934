package swarm

import (
	"fmt"
	"math"
	"time"
)

// The experiments of Legout et al., "Rarest First and Choke Algorithms Are
// Enough" (IMC 2006), and of the slides' incentives, each a function of a
// base Config that returns one outcome per variant.

// SelectionOutcome is one piece-selection strategy's run.
type SelectionOutcome struct {
	Selection  string
	Time       time.Duration // distribution time
	Efficiency float64
	// Availability is the steady-state peer availability (see
	// Result.SteadyAvailability): how often a leecher finds something it
	// needs at a neighbouring leecher.
	Availability float64
	// RarestCopies is the mean, over the steady-state samples, of the
	// number of copies of the rarest piece: piece diversity.
	RarestCopies float64
}

func (o SelectionOutcome) String() string {
	return fmt.Sprintf("%-8s time %-9v efficiency %.3f  peer availability %.3f  rarest piece copies %.1f",
		o.Selection, o.Time.Round(time.Second), o.Efficiency, o.Availability, o.RarestCopies)
}

// CompareSelection runs base with rarest first, random and in-order piece
// selection.
func CompareSelection(base Config) ([]SelectionOutcome, error) {
	var out []SelectionOutcome
	for _, sel := range []string{RarestFirst, Random, Sequential} {
		c := base
		c.Selection, c.NewPicker = sel, nil
		r, err := Run(c)
		if err != nil {
			return nil, fmt.Errorf("swarm: selection %s: %w", sel, err)
		}
		o := SelectionOutcome{Selection: sel, Time: r.Time, Efficiency: r.Efficiency, Availability: r.SteadyAvailability()}
		n := 0
		for _, s := range r.Samples {
			if s.Progress >= 0.25 && s.Progress <= 0.75 {
				o.RarestCopies += float64(s.RarestCopies)
				n++
			}
		}
		if n > 0 {
			o.RarestCopies /= float64(n)
		} else {
			o.RarestCopies = math.NaN()
		}
		out = append(out, o)
	}
	return out, nil
}

// ChokingOutcome is one choker's run.
type ChokingOutcome struct {
	Choking    string
	Time       time.Duration
	Efficiency float64
	// Reciprocation is Spearman's correlation between bytes uploaded to
	// and downloaded from each neighbour (Result.Reciprocation).
	Reciprocation float64
	// FreeRiderShare is the share of uploads that went to free riders.
	FreeRiderShare float64
	// SeedFairness is Jain's index of the seed's service time per leecher.
	SeedFairness float64
	// FreeRiderTime is the mean download time of the free riders, 0 if
	// there are none or none finished; HonestTime that of the others.
	FreeRiderTime, HonestTime time.Duration
}

func (o ChokingOutcome) String() string {
	s := fmt.Sprintf("%-8s time %-9v reciprocation %.2f  to free riders %4.1f%%  seed fairness (Jain) %.2f",
		o.Choking, o.Time.Round(time.Second), o.Reciprocation, 100*o.FreeRiderShare, o.SeedFairness)
	if o.FreeRiderTime > 0 {
		s += fmt.Sprintf("  free riders %v vs others %v", o.FreeRiderTime.Round(time.Second), o.HonestTime.Round(time.Second))
	}
	return s
}

// CompareChoking runs base with the bep3, mainline and slides chokers and
// with no choking at all.
func CompareChoking(base Config) ([]ChokingOutcome, error) {
	var out []ChokingOutcome
	for _, ch := range []string{ChokeBEP3, ChokeMainline, ChokeSlides, NoChoking} {
		c := base
		c.Choking, c.NewChoker = ch, nil
		r, err := Run(c)
		if err != nil {
			return nil, fmt.Errorf("swarm: choker %s: %w", ch, err)
		}
		o := ChokingOutcome{
			Choking: ch, Time: r.Time, Efficiency: r.Efficiency,
			Reciprocation: r.Reciprocation, FreeRiderShare: r.FreeRiderShare, SeedFairness: r.SeedFairness,
		}
		var fr, hn []time.Duration
		for _, p := range r.Peers {
			if !p.Done {
				continue
			}
			if p.FreeRider {
				fr = append(fr, p.DownloadTime())
			} else {
				hn = append(hn, p.DownloadTime())
			}
		}
		o.FreeRiderTime, o.HonestTime = mean(fr), mean(hn)
		out = append(out, o)
	}
	return out, nil
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// ChurnOutcome compares a swarm without churn and with it.
type ChurnOutcome struct {
	Churn Churn
	// Completed counts the peers that got the whole file, out of N.
	Completed, Peers int
	// MeanDownload is the mean time from arrival to the whole file.
	MeanDownload time.Duration
	// Time is when the last peer finished.
	Time time.Duration
}

func (o ChurnOutcome) String() string {
	return fmt.Sprintf("churn %-28s %d/%d peers completed, mean download time %v, last at %v",
		o.Churn, o.Completed, o.Peers, o.MeanDownload.Round(time.Second), o.Time.Round(time.Second))
}

// CompareChurn runs base as a flash crowd that stays, and again with each
// of the churn schedules given.
func CompareChurn(base Config, churns ...Churn) ([]ChurnOutcome, error) {
	var out []ChurnOutcome
	for _, ch := range append([]Churn{{}}, churns...) {
		c := base
		c.Churn = ch
		r, err := Run(c)
		if err != nil {
			return nil, fmt.Errorf("swarm: churn %v: %w", ch, err)
		}
		out = append(out, ChurnOutcome{
			Churn: ch, Completed: r.Completed(), Peers: c.Peers,
			MeanDownload: r.MeanDownloadTime(), Time: r.Time,
		})
	}
	return out, nil
}
