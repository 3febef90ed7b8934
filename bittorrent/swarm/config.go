package swarm

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Mode says how the file is distributed.
type Mode int

const (
	// P2P: a seed and N peers, every peer uploading what it has (BitTorrent).
	P2P Mode = iota
	// ClientServer: one server uploads a copy to each of N clients, who
	// upload nothing.
	ClientServer
)

func (m Mode) String() string {
	switch m {
	case P2P:
		return "P2P"
	case ClientServer:
		return "client-server"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Piece-selection strategies for [Config.Selection].
const (
	RarestFirst = "rarest"  // the slides' "rarest first", by the bittorrent package's picker
	Random      = "random"  // a piece chosen uniformly at random ([RandomPiece])
	Sequential  = "inorder" // the lowest-numbered piece first ([InOrder])
)

// Chokers for [Config.Choking]: the presets of the bittorrent package's
// choker, and no choking at all ([Unchoked]).
const (
	ChokeBEP3     = "bep3"     // BEP 3: four unchoked, one of them optimistic
	ChokeMainline = "mainline" // mainline: 3 by rate + 1 optimistic, its own seed rounds
	ChokeSlides   = "slides"   // the slides: top 4 by rate + 1 optimistic every 30 s
	NoChoking     = "none"     // every interested neighbour is unchoked
)

// DefaultPieceSize is the piece length the slides use for BitTorrent's
// chunks: 256 KiB.
const DefaultPieceSize = 256 << 10

// Config describes one distribution. Sizes are in bytes, rates in bytes
// per second. The zero value of each optional field gives the slides'
// set-up: a flash crowd of peers that all arrive at time 0 and stay.
type Config struct {
	Mode  Mode
	Peers int // N, the number of peers (clients) that want the file

	FileSize  int64 // F
	PieceSize int64 // default DefaultPieceSize

	SeedUpload float64 // u_s, the server's (seed's) upload rate
	Upload     float64 // u_i, every peer's upload rate
	Download   float64 // d_i, every peer's download rate; 0 means unlimited

	// FreeRiders is how many of the N peers upload nothing.
	FreeRiders int

	// Neighbours is the size of the peer set each peer asks the tracker
	// for (default 40); a peer accepts up to twice that many.
	Neighbours int

	// Selection is the piece-selection strategy (default RarestFirst),
	// Choking the choker (default ChokeMainline).
	Selection string
	Choking   string

	// NewPicker and NewChoker, when set, replace Selection and Choking:
	// they make each peer's own policy, so students can plug in theirs.
	NewPicker func(peer int) Picker
	NewChoker func(peer int, rng *rand.Rand) Choker

	Churn Churn

	// Round is the choker's period (default 10 s, the slides'
	// "re-evaluate top 4 every 10 secs"); Sample the period of the
	// measurements in Result.Samples (default Round).
	Round, Sample time.Duration

	// RecordRounds keeps every periodic choking decision in Result.Rounds.
	RecordRounds bool

	// Limit stops a simulation that runs longer than this in virtual time
	// (default: a hundred times the slides' bound, plus a day).
	Limit time.Duration

	Seed uint64 // the seed of all randomness: same seed, same run
}

// Churn is the slides' "peers may come and go".
type Churn struct {
	// Interarrival is the mean time between two peers' arrivals
	// (exponentially distributed); zero means all arrive at time 0.
	Interarrival time.Duration

	// Selfish peers leave as soon as they have the whole file instead of
	// (altruistically) staying in the torrent as seeds.
	Selfish bool

	// Abort is the mean time a leecher stays before it gives up
	// (exponentially distributed); zero means it never gives up.
	Abort time.Duration
}

// IsZero reports whether c is no churn at all.
func (c Churn) IsZero() bool { return c == Churn{} }

// String formats c the way [ParseChurn] reads it.
func (c Churn) String() string {
	if c.IsZero() {
		return "none"
	}
	var parts []string
	if c.Interarrival != 0 {
		parts = append(parts, "arrive="+c.Interarrival.String())
	}
	if c.Selfish {
		parts = append(parts, "selfish")
	}
	if c.Abort != 0 {
		parts = append(parts, "abort="+c.Abort.String())
	}
	return strings.Join(parts, ",")
}

// maxChurnSpec bounds what ParseChurn reads.
const maxChurnSpec = 256

// ParseChurn reads a churn schedule written as comma-separated items:
// "arrive=DURATION" (mean time between arrivals), "selfish" (finished
// peers leave), "abort=DURATION" (mean time before a leecher gives up).
// "none" or "" is no churn. Example: "arrive=20s,selfish,abort=2h".
func ParseChurn(s string) (Churn, error) {
	var c Churn
	if len(s) > maxChurnSpec {
		return c, errors.New("swarm: churn: schedule too long")
	}
	if s == "" || s == "none" {
		return c, nil
	}
	seen := map[string]bool{}
	for item := range strings.SplitSeq(s, ",") {
		key, value, hasValue := strings.Cut(strings.TrimSpace(item), "=")
		if seen[key] {
			return Churn{}, fmt.Errorf("swarm: churn: %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "selfish":
			if hasValue {
				return Churn{}, errors.New("swarm: churn: selfish takes no value")
			}
			c.Selfish = true
		case "arrive", "abort":
			if !hasValue {
				return Churn{}, fmt.Errorf("swarm: churn: %s needs a duration", key)
			}
			d, err := time.ParseDuration(value)
			if err != nil {
				return Churn{}, fmt.Errorf("swarm: churn: %s: %v", key, err)
			}
			if d <= 0 {
				return Churn{}, fmt.Errorf("swarm: churn: %s: duration must be positive", key)
			}
			if key == "arrive" {
				c.Interarrival = d
			} else {
				c.Abort = d
			}
		default:
			return Churn{}, fmt.Errorf("swarm: churn: unknown item %q", item)
		}
	}
	return c, nil
}

// check validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Peers < 0 {
		return c, errors.New("swarm: negative number of peers")
	}
	if c.FileSize <= 0 {
		return c, errors.New("swarm: file size must be positive")
	}
	if c.PieceSize == 0 {
		c.PieceSize = DefaultPieceSize
	}
	if c.PieceSize < 0 {
		return c, errors.New("swarm: piece size must be positive")
	}
	if n := (c.FileSize + c.PieceSize - 1) / c.PieceSize; n > 1<<20 {
		return c, fmt.Errorf("swarm: %d pieces is too many (limit %d)", n, 1<<20)
	}
	if c.SeedUpload <= 0 {
		return c, errors.New("swarm: the seed's upload rate must be positive")
	}
	if c.Upload < 0 || c.Download < 0 {
		return c, errors.New("swarm: negative rate")
	}
	if c.FreeRiders < 0 || c.FreeRiders > c.Peers {
		return c, fmt.Errorf("swarm: %d free riders among %d peers", c.FreeRiders, c.Peers)
	}
	if c.Neighbours == 0 {
		c.Neighbours = 40
	}
	if c.Neighbours < 1 {
		return c, errors.New("swarm: a peer needs at least one neighbour")
	}
	if c.Selection == "" {
		c.Selection = RarestFirst
	}
	if c.Choking == "" {
		c.Choking = ChokeMainline
	}
	if c.NewPicker == nil {
		switch c.Selection {
		case RarestFirst, Random, Sequential:
		default:
			return c, fmt.Errorf("swarm: unknown piece selection %q", c.Selection)
		}
	}
	if c.NewChoker == nil {
		switch c.Choking {
		case ChokeBEP3, ChokeMainline, ChokeSlides, NoChoking:
		default:
			return c, fmt.Errorf("swarm: unknown choker %q", c.Choking)
		}
	}
	if c.Round == 0 {
		c.Round = 10 * time.Second
	}
	if c.Sample == 0 {
		c.Sample = c.Round
	}
	if c.Round < 0 || c.Sample < 0 || c.Churn.Interarrival < 0 || c.Churn.Abort < 0 {
		return c, errors.New("swarm: negative duration")
	}
	if c.Limit == 0 {
		rates := make([]float64, c.Peers)
		for i := range rates {
			rates[i] = c.Upload
		}
		worst := max(ClientServerBound(c.Peers, float64(c.FileSize), c.SeedUpload, c.Download),
			P2PBound(float64(c.FileSize), c.SeedUpload, c.Download, rates))
		c.Limit = 100*min(worst, 1000*time.Hour) + 24*time.Hour + time.Duration(c.Peers)*c.Churn.Interarrival
	}
	return c, nil
}
