package dash

import (
	"math"
	"sort"
	"time"
)

// QoE is a quality-of-experience metric in the form MPC and Pensieve use:
// for each chunk, the utility of its bitrate, minus Rebuffer times the
// seconds the playout stalled while it downloaded, minus Smooth times the
// change of utility from the previous chunk.
type QoE struct {
	Name     string
	Utility  func(bps float64) float64
	Rebuffer float64 // penalty per second of stall
	Smooth   float64 // penalty per unit of utility change
}

// QoELin is QoE_lin: utility is the bitrate in Mbps, 4.3 per second of
// rebuffering (so a stall costs as much as the top 4.3 Mbps rate), 1 per
// Mbps of change.
func QoELin() QoE {
	return QoE{Name: "lin", Utility: func(b float64) float64 { return b / 1e6 }, Rebuffer: 4.3, Smooth: 1}
}

// QoELog is QoE_log: utility log(R/Rmin), which rewards going up from low
// rates more than going up from high ones; 2.66 per second of rebuffering.
func QoELog(minBitrate float64) QoE {
	return QoE{Name: "log", Utility: func(b float64) float64 { return math.Log(b / minBitrate) }, Rebuffer: 2.66, Smooth: 1}
}

// hdPoints is Pensieve's QoE_HD table (kbps → utility), which rewards the
// HD rates heavily; between points it is interpolated linearly.
var hdPoints = [...][2]float64{{300, 1}, {750, 2}, {1200, 3}, {1850, 12}, {2850, 15}, {4300, 20}}

// QoEHD is QoE_HD: utility from Pensieve's table (1, 2, 3, 12, 15, 20 for
// 300…4300 kbps), 8 per second of rebuffering.
func QoEHD() QoE {
	return QoE{Name: "hd", Utility: hdUtility, Rebuffer: 8, Smooth: 1}
}

func hdUtility(bps float64) float64 {
	k := bps / 1000
	if k <= hdPoints[0][0] {
		return hdPoints[0][1] * k / hdPoints[0][0]
	}
	for i := 1; i < len(hdPoints); i++ {
		a, b := hdPoints[i-1], hdPoints[i]
		if k <= b[0] {
			return a[1] + (b[1]-a[1])*(k-a[0])/(b[0]-a[0])
		}
	}
	last := hdPoints[len(hdPoints)-1]
	return last[1] * k / last[0]
}

// Score returns the total QoE of a session: bitrates[i] is chunk i's
// bitrate, rebuffer[i] the stall while chunk i downloaded.
func (q QoE) Score(bitrates []float64, rebuffer []time.Duration) float64 {
	total := 0.0
	for i, b := range bitrates {
		u := q.Utility(b)
		total += u
		if i < len(rebuffer) {
			total -= q.Rebuffer * rebuffer[i].Seconds()
		}
		if i > 0 {
			total -= q.Smooth * math.Abs(u-q.Utility(bitrates[i-1]))
		}
	}
	return total
}

// Summary is what a session felt like.
type Summary struct {
	Chunks       int
	AvgBitrate   float64       // bits per second
	Switches     int           // chunks at a different rate from the one before
	Rebuffers    int           // stalls after playout began
	RebufferTime time.Duration // their total length
	StartupDelay time.Duration // from the first request to the start of playout
	// QoE per chunk (total divided by Chunks). The start-up delay counts as
	// rebuffering, as in Pensieve's simulator.
	QoELin, QoELog, QoEHD float64
}

// Summarize computes a session's summary from its chunks.
func Summarize(chunks []ChunkLog, startup time.Duration, stalls int) Summary {
	s := Summary{Chunks: len(chunks), Rebuffers: stalls, StartupDelay: startup}
	if len(chunks) == 0 {
		return s
	}
	bitrates := make([]float64, len(chunks))
	rebuf := make([]time.Duration, len(chunks))
	lowest := math.Inf(1)
	for i, c := range chunks {
		bitrates[i] = c.Bitrate
		rebuf[i] = c.Rebuffer
		s.AvgBitrate += c.Bitrate
		s.RebufferTime += c.Rebuffer
		if i > 0 && c.Bitrate != chunks[i-1].Bitrate {
			s.Switches++
		}
		for _, b := range c.State.Bitrates {
			lowest = math.Min(lowest, b)
		}
	}
	if math.IsInf(lowest, 1) {
		lowest = bitrates[0]
	}
	s.AvgBitrate /= float64(len(chunks))
	rebuf[0] += startup
	n := float64(len(chunks))
	s.QoELin = QoELin().Score(bitrates, rebuf) / n
	s.QoELog = QoELog(lowest).Score(bitrates, rebuf) / n
	s.QoEHD = QoEHD().Score(bitrates, rebuf) / n
	return s
}

// Median returns the median of xs (0 for none); xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	c := append([]float64(nil), xs...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}
