package swarm

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Result is what a simulation measured.
type Result struct {
	Config Config // as run, with the defaults filled in
	Pieces int    // pieces in the file

	// Time is the distribution time: when the last peer had the whole
	// file. Bound is the slides' lower bound for the same set-up
	// ([ClientServerBound] or [P2PBound]); Efficiency is Bound/Time, 1 for
	// a distribution as fast as the bound allows.
	Time       time.Duration
	Bound      time.Duration
	Efficiency float64

	Peers []PeerResult // peers 1…N, in order

	// Reciprocation is Spearman's rank correlation, for one peer over its
	// neighbours (the seed excluded), between the bytes it uploaded to
	// each and the bytes it downloaded from each while it was a leecher,
	// averaged over the peers that upload: near 1 when tit-for-tat works,
	// lower when uploads ignore what comes back.
	Reciprocation float64
	// FreeRiderShare is the share of the bytes uploaded while honest
	// peers were still downloading that went to free riders.
	FreeRiderShare float64
	// SeedFairness is Jain's fairness index of the time the initial seed
	// kept each of its interested neighbours unchoked: 1 when it served
	// them all equally, 1/n when it served only one of n.
	SeedFairness float64

	Samples  []Sample // one every Config.Sample
	Rounds   []Round  // the periodic choking rounds, if Config.RecordRounds
	Arrivals int      // peers that joined, counting the seed
	Events   int      // events the simulator handled
}

// PeerResult is one peer's story.
type PeerResult struct {
	ID        int
	FreeRider bool
	Arrived   time.Duration
	Done      bool          // it got the whole file
	Finished  time.Duration // when, if Done
	Left      time.Duration // when it left the torrent, -1 if it stayed
	Uploaded  float64       // bytes
	Download  float64       // bytes received, counting bytes of cancelled duplicates
}

// DownloadTime is how long the peer took from arrival to the whole file.
func (p PeerResult) DownloadTime() time.Duration { return p.Finished - p.Arrived }

// Sample is the state of the swarm at one instant.
type Sample struct {
	Time     time.Duration
	Leechers int     // peers present without the whole file
	Seeds    int     // peers present with it, counting the initial seed
	Progress float64 // mean share of the file the leechers have

	// PeerAvailability is the share of leecher–leecher connections along
	// which the downloading side is interested: how often a peer finds
	// something it needs at a neighbour (Legout et al.'s "peer
	// availability"). NaN when no two leechers are connected.
	PeerAvailability float64

	// RarestCopies is how many present peers hold the rarest piece,
	// MeanCopies the mean over pieces: piece diversity.
	RarestCopies int
	MeanCopies   float64

	// Utilization is the share of the present nodes' upload capacity in
	// use: the bound assumes 1 all the time.
	Utilization float64
}

// Round is one periodic choking decision: whom Peer unchoked, and why.
type Round struct {
	Time     time.Duration
	Peer     int
	Seeding  bool
	Unchoked []int    // neighbours' IDs
	Reasons  []string // one per Unchoked
}

// MeanDownloadTime is the mean DownloadTime of the peers that finished.
func (r *Result) MeanDownloadTime() time.Duration {
	var sum time.Duration
	n := 0
	for _, p := range r.Peers {
		if p.Done {
			sum += p.DownloadTime()
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// Completed counts the peers that got the whole file.
func (r *Result) Completed() int {
	n := 0
	for _, p := range r.Peers {
		if p.Done {
			n++
		}
	}
	return n
}

// SteadyAvailability is the mean peer availability over the samples taken
// in steady state, while the leechers' mean progress is between a quarter
// and three quarters of the file; NaN if there were none.
func (r *Result) SteadyAvailability() float64 {
	sum, n := 0.0, 0
	for _, s := range r.Samples {
		if s.Progress >= 0.25 && s.Progress <= 0.75 && !math.IsNaN(s.PeerAvailability) {
			sum += s.PeerAvailability
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// stallSamples is how many samples in a row with leechers and no flow mean
// the swarm is stuck.
const stallSamples = 30

// sample records the swarm's state.
func (s *sim) sample() {
	sm := Sample{Time: s.dur(s.now), PeerAvailability: math.NaN()}
	pairs, interested := 0, 0
	progress := 0.0
	var used, capacity float64
	for _, n := range s.present {
		capacity += n.up
		for _, l := range n.flows { // the links without a flow carry nothing
			used += l.rate
		}
		if n.complete(s.pieces) {
			sm.Seeds++
			continue
		}
		sm.Leechers++
		progress += float64(n.nHave) / float64(s.pieces)
		// n is interested in a neighbour that has a piece it lacks.
		for _, m := range n.inFrom {
			if m != 0 && !s.nodes[m].complete(s.pieces) {
				pairs++
				if offersAny(s.have[int(m)*s.words:int(m+1)*s.words], n.have) {
					interested++
				}
			}
		}
	}
	if sm.Leechers > 0 {
		sm.Progress = progress / float64(sm.Leechers)
	}
	if capacity > 0 {
		sm.Utilization = used / capacity
	}
	if pairs > 0 {
		sm.PeerAvailability = float64(interested) / float64(pairs)
	}
	sm.RarestCopies = slices.Min(s.copies)
	total := 0
	for _, c := range s.copies {
		total += c
	}
	sm.MeanCopies = float64(total) / float64(s.pieces)
	s.res.Samples = append(s.res.Samples, sm)

	if s.leechers > 0 && s.pending == 0 && s.flows == 0 {
		s.stuck++
	} else {
		s.stuck = 0
	}
}

// finish computes the result's figures.
func (s *sim) finish(err error) (*Result, error) {
	r := &s.res
	r.Events = s.events
	for _, l := range s.links {
		s.advance(l)
		if l.unchoked && !l.closed {
			s.accountService(l)
			l.unchokedAt = s.now
		}
	}
	last := 0.0
	for _, n := range s.nodes[1:] {
		p := PeerResult{
			ID: n.id, FreeRider: n.rider,
			Arrived: s.dur(n.arrived), Left: -1,
			Uploaded: n.uploaded, Download: n.downloaded,
		}
		if n.finished >= 0 {
			p.Done, p.Finished = true, s.dur(n.finished)
			last = max(last, n.finished)
		}
		if n.left >= 0 {
			p.Left = s.dur(n.left)
		}
		r.Peers = append(r.Peers, p)
	}
	r.Time = s.dur(last)
	switch {
	case r.Time > 0:
		r.Efficiency = r.Bound.Seconds() / r.Time.Seconds()
	case r.Bound == 0:
		r.Efficiency = 1
	}

	var service []float64
	byPeer := make([][]*link, len(s.nodes))
	for _, l := range s.links {
		if l.from.id != 0 && l.to.id != 0 {
			byPeer[l.from.id] = append(byPeer[l.from.id], l)
		}
		if l.from.id == 0 {
			service = append(service, l.unchokedTime)
		}
	}
	sum, peers := 0.0, 0
	for _, ls := range byPeer {
		if len(ls) < 3 || ls[0].from.rider {
			continue
		}
		// What the peer gave each neighbour and got back while it was
		// leeching.
		var xs, ys []float64
		for _, l := range ls {
			n := l.from
			if n.finished >= 0 && l.connected >= n.finished {
				continue // connected as a seed
			}
			x, y := l.bytes, l.rev.bytes
			if l.fromDoneSet {
				x, y = l.fromDone, l.rev.toDone
			}
			xs, ys = append(xs, x), append(ys, y)
		}
		if rho := Spearman(xs, ys); len(xs) >= 3 && !math.IsNaN(rho) {
			sum += rho
			peers++
		}
	}
	r.Reciprocation = math.NaN()
	if peers > 0 {
		r.Reciprocation = sum / float64(peers)
	}
	if !s.riderMark {
		s.markRiders()
	}
	if s.allBytes > 0 {
		r.FreeRiderShare = s.riderBytes / s.allBytes
	}
	r.SeedFairness = Jain(service)
	return r, err
}

// Jain returns Jain's fairness index of x, (Σx)² / (n·Σx²): 1 when all are
// equal, 1/n when one gets everything. It is NaN for no values or all
// zeros.
func Jain(x []float64) float64 {
	var sum, sq float64
	for _, v := range x {
		sum += v
		sq += v * v
	}
	if len(x) == 0 || sq == 0 {
		return math.NaN()
	}
	return sum * sum / (float64(len(x)) * sq)
}

// Spearman returns Spearman's rank correlation of x and y (equal lengths):
// the Pearson correlation of their ranks, ties given their mean rank. It
// is NaN with fewer than two pairs or when either has a single rank.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) || len(x) < 2 {
		return math.NaN()
	}
	return pearson(ranks(x), ranks(y))
}

func ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		mean := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = mean
		}
		i = j + 1
	}
	return r
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// markRiders notes how many bytes went to free riders and in all, when the
// last honest peer finishes (or at the end).
func (s *sim) markRiders() {
	s.riderMark = true
	for _, l := range s.links {
		s.advance(l)
		s.allBytes += l.bytes
		if l.to.rider {
			s.riderBytes += l.bytes
		}
	}
}
