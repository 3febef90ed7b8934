// Command sim runs every ABR rule on every bandwidth trace in the
// simulator (Pensieve's set-up: 48 chunks of 4 s at six rates, a 60 s
// buffer, 80 ms round trips) and prints each rule's mean QoE as a fraction
// of the offline optimum, the best any rule could do knowing the future,
// overall and by trace family. The optimum's own row shows how it gets
// there (its mean rate, rebuffering and switches), so a rule's gap can be
// read off: on the synthetic set the optimum switches about half as often
// as the best rules and stalls about as long.
//
//	go run ./examples/dash/sim                       # the synthetic trace set
//	go run ./examples/dash/sim -seed 101 -n 10       # a held-out set: 10 other seeds per kind
//	go run ./examples/dash/sim -traces DIR           # *.cooked and *.mahimahi files
//	go run ./examples/dash/sim -v                    # one line per trace too
//	go run ./examples/dash/sim -abandon              # with dash.js-style abandonment
//
// The fugu rule uses the throughput predictor shipped in
// dash/testdata/predictor.txt, which -train makes (training seeds must be
// ones no evaluation uses):
//
//	go run ./examples/dash/sim -train -seed 10001 -n 250 > dash/testdata/predictor.txt
//	go run ./examples/dash/sim -predictor FILE       # fugu with another predictor
//
// The rollout rule is smpc corrected by a table of what moving smpc's
// choice one step down or up (for four chunks, smpc deciding the rest)
// gained in simulated sessions, counted by the buffer, the quality and
// whether smpc switched; it moves where the table says the move gained
// by more than its noise. The table is shipped in dash/testdata/rollout.txt,
// which -train-rollout makes (about 1200 × 48 sessions: a minute or more):
//
//	go run ./examples/dash/sim -train-rollout -seed 30001 -n 300 -abandon > dash/testdata/rollout.txt
//
// The learned rule scores each rate as smpc's expected QoE plus a weighted
// sum of a few features, with weights searched for by the cross-entropy
// method to maximise the mean QoE_lin of simulated sessions (with
// abandonment). -train-learned prints them as the Go literal that
// dash.DefaultLearnedWeights returns (320 × 1000 sessions: eight minutes
// on two cores):
//
//	go run ./examples/dash/sim -train-learned -seed 60001 -n 250
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"appnet.dev/dash"
)

func main() {
	dir := flag.String("traces", "", "directory of *.cooked and *.mahimahi traces (default: the synthetic set)")
	verbose := flag.Bool("v", false, "print every trace's row")
	abandon := flag.Bool("abandon", false, "let the player abandon chunks that arrive too slowly")
	seed := flag.Uint64("seed", 1, "first `seed` of the synthetic set (1: the set shipped in dash/testdata/traces)")
	n := flag.Int("n", 5, "synthetic traces of each kind")
	predictor := flag.String("predictor", "", "`file` of fugu's throughput predictor (default: dash/testdata/predictor.txt)")
	train := flag.Bool("train", false, "train fugu's throughput predictor on the synthetic set (-seed, -n) and print it instead of the table")
	trainRollout := flag.Bool("train-rollout", false, "train the rollout rule's table on smpc's sessions over the synthetic set (-seed, -n, -abandon) and print it instead of the table")
	trainLearned := flag.Bool("train-learned", false, "train the learned rule's weights on the synthetic set (-seed, -n), with abandonment, and print them instead of the table")
	flag.Parse()
	if *n < 1 || *n > 1000 {
		fmt.Fprintln(os.Stderr, "sim: -n must be between 1 and 1000")
		os.Exit(2)
	}
	traces := dash.SyntheticTraceSet(*seed, *n)
	if *train {
		p := dash.TrainPredictor(dash.Simulator{}, traces, dash.StochasticMPC{}, trainSteps, trainQuantiles)
		comment := fmt.Sprintf("fugu's throughput predictor: %d cells, %d steps, %d quantiles.\n"+
			"Trained on smpc's sessions over the synthetic traces with seeds %d–%d of each kind, by\n"+
			"go run ./examples/dash/sim -train -seed %d -n %d",
			len(p.Cells), trainSteps, trainQuantiles, *seed, *seed+uint64(*n)-1, *seed, *n)
		if err := dash.WritePredictor(os.Stdout, p, comment); err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			os.Exit(1)
		}
		return
	}
	if *trainRollout {
		start := time.Now()
		t := dash.TrainRollout(dash.Simulator{Abandon: *abandon}, traces, dash.StochasticMPC{}, rolloutSpan)
		fmt.Fprintf(os.Stderr, "sim: trained on %d traces in %v\n", len(traces), time.Since(start).Round(time.Second))
		cmd := fmt.Sprintf("go run ./examples/dash/sim -train-rollout -seed %d -n %d", *seed, *n)
		if *abandon {
			cmd += " -abandon"
		}
		comment := fmt.Sprintf("The rollout rule's table: %d cells, moves of %d chunks.\n"+
			"Trained on smpc's sessions over the synthetic traces with seeds %d–%d of each kind, by\n%s",
			len(t.Cells), rolloutSpan, *seed, *seed+uint64(*n)-1, cmd)
		if err := dash.WriteRolloutTable(os.Stdout, t, comment); err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			os.Exit(1)
		}
		return
	}
	if *trainLearned {
		learnWeights(traces)
		return
	}
	if *dir != "" {
		var err error
		if traces, err = load(*dir); err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			os.Exit(1)
		}
	}
	rules := dash.Rules()
	if *predictor != "" {
		p, err := loadPredictor(*predictor)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sim:", err)
			os.Exit(1)
		}
		for i, r := range rules {
			if f, ok := r.(dash.Fugu); ok {
				f.Predictor = p
				rules[i] = f
			}
		}
	}
	dash.WriteComparison(os.Stdout, dash.Compare(dash.Simulator{Abandon: *abandon}, traces, rules), *verbose)
}

// learnWeights searches for the learned rule's weights, printing each
// generation's progress on standard error and the weights, as Go, on
// standard output.
func learnWeights(traces []*dash.Trace) {
	start := time.Now()
	sim := dash.Simulator{Abandon: true}
	table := dash.DefaultRolloutTable()
	o := dash.LearnedTraining{
		Seed: learnedSeed,
		Progress: func(gen int, w dash.LearnedWeights, score float64) {
			fmt.Fprintf(os.Stderr, "sim: generation %d (%v): the mean scored %.4f; now %v\n", gen, time.Since(start).Round(time.Second), score, w)
		},
	}
	w, score := dash.TrainLearned(sim, traces, table, dash.LearnedWeights{Rollout: 1}, o)
	fmt.Fprintf(os.Stderr, "sim: trained on %d traces in %v: mean QoE_lin %.4f per chunk\n", len(traces), time.Since(start).Round(time.Second), score)
	fmt.Println(w)
}

// learnedSeed seeds the candidates of -train-learned: the shipped weights
// came from it.
const learnedSeed = 3

func loadPredictor(name string) (*dash.Predictor, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return dash.ParsePredictor(f)
}

// rolloutSpan is how many chunks each move of -train-rollout lasts: a move
// of one chunk alone is lost in the noise of where the session goes after
// it, and one of eight is no longer what the rule does.
const rolloutSpan = 4

// The shape of the predictor -train makes: one distribution for each of
// the 5 chunks of Fugu's horizon, each of 8 equally likely values.
const (
	trainSteps     = 5
	trainQuantiles = 8
)

func load(dir string) ([]*dash.Trace, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	var out []*dash.Trace
	for _, name := range names {
		var parse func(io.Reader, string) (*dash.Trace, error)
		switch {
		case strings.HasSuffix(name, ".cooked"):
			parse = dash.ParseCooked
		case strings.HasSuffix(name, ".mahimahi"), strings.HasSuffix(name, ".up"), strings.HasSuffix(name, ".down"):
			parse = dash.ParseMahimahi
		default:
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		t, err := parse(f, filepath.Base(name))
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no traces in %s", dir)
	}
	return out, nil
}
