// Command swarm answers the slides' question — how much time to distribute
// a file of size F from one server to N peers? — by simulation, beside the
// slides' bounds, and runs the BitTorrent experiments on the same swarm.
//
//	go run ./examples/bittorrent/swarm                       # the slides' figure, N = 0…35
//	go run ./examples/bittorrent/swarm -svg fig.svg -csv fig.csv
//	go run ./examples/bittorrent/swarm -n 1000 -picker random -choker slides -freeriders 100
//	go run ./examples/bittorrent/swarm -churn arrive=20s,selfish
//	go run ./examples/bittorrent/swarm -n 20 -rounds 12       # who peer 1 unchokes, and why
//	go run ./examples/bittorrent/swarm -n 100 -picker inorder -samples inorder.csv
//
// The default set-up is the slides' example: a 64 MiB file, client upload
// rate u with F/u = 1 hour, u_s = 10u, d_min = u_s. Rates are in kbit/s.
//
// The output is the figure as a table (client-server and P2P, bound and
// simulated, N from 0 to -n), then one line per experiment run with N
// peers: rarest first against random and in-order piece selection, the
// chokers bep3, mainline, slides and none with free riders, and churn.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"appnet.dev/bittorrent/swarm"
)

func main() {
	n := flag.Int("n", 35, "peers: the figure runs N = 0…`n`, the experiments N = n")
	us := flag.Float64("us", 0, "the server's (seed's) upload rate u_s in `kbit/s` (default 10u)")
	u := flag.Float64("u", 0, "each peer's upload rate u in `kbit/s` (default F per hour)")
	d := flag.Float64("d", 0, "each peer's download rate in `kbit/s` (default u_s)")
	file := flag.Float64("file", 64, "file size F in `MiB`")
	picker := flag.String("picker", swarm.RarestFirst, "piece selection: rarest, random or inorder")
	choker := flag.String("choker", swarm.ChokeMainline, "choker: bep3, mainline, slides or none")
	churn := flag.String("churn", "arrive=30s,selfish", "churn `schedule` for the churn experiment: arrive=DURATION,selfish,abort=DURATION or none")
	riders := flag.Int("freeriders", -1, "free riders among the N peers in the experiments (default N/5)")
	svg := flag.String("svg", "", "write the figure as SVG to `file`")
	csvFile := flag.String("csv", "", "write the figure as CSV to `file`")
	seed := flag.Uint64("seed", 1, "random seed")
	samples := flag.String("samples", "", "write the swarm over time (N peers, -picker, -choker) as CSV to `file`")
	rounds := flag.Int("rounds", 0, "print the first `k` choking rounds in which peer 1 unchokes someone (P2P, N peers)")
	flag.Parse()

	if err := run(os.Stdout, options{*n, *us, *u, *d, *file, *picker, *choker, *churn, *riders, *svg, *csvFile, *seed, *rounds, *samples}); err != nil {
		fmt.Fprintln(os.Stderr, "swarm:", err)
		os.Exit(1)
	}
}

type options struct {
	n              int
	us, u, d, file float64
	picker, choker string
	churn          string
	riders         int
	svg, csv       string
	seed           uint64
	rounds         int
	samples        string
}

func run(w io.Writer, o options) error {
	if o.n < 0 || o.file <= 0 || o.us < 0 || o.u < 0 || o.d < 0 {
		return fmt.Errorf("-n, -file, -us, -u and -d must not be negative, -file positive")
	}
	churn, err := swarm.ParseChurn(o.churn)
	if err != nil {
		return err
	}
	f := int64(o.file * (1 << 20))
	const kbit = 1000.0 / 8 // bytes per second
	u := o.u * kbit
	if u == 0 {
		u = float64(f) / time.Hour.Seconds()
	}
	us := o.us * kbit
	if us == 0 {
		us = 10 * u
	}
	d := o.d * kbit
	if d == 0 {
		d = us
	}
	base := swarm.Config{
		FileSize: f, SeedUpload: us, Upload: u, Download: d,
		Selection: o.picker, Choking: o.choker, Seed: o.seed,
	}
	fmt.Fprintf(w, "File distribution: client-server vs P2P\n")
	fmt.Fprintf(w, "F = %.0f MiB in %d pieces, u = %.1f kbit/s (F/u = %v), u_s = %.1f kbit/s, d = %.1f kbit/s\n",
		o.file, (f+swarm.DefaultPieceSize-1)/swarm.DefaultPieceSize, u/kbit,
		time.Duration(float64(f)/u*1e9).Round(time.Second), us/kbit, d/kbit)
	fmt.Fprintf(w, "D_c-s ≥ max{NF/u_s, F/d_min};  D_P2P ≥ max{F/u_s, F/d_min, NF/(u_s + Σu_i)}\n\n")

	step := max(1, o.n/35)
	var ns []int
	for i := 0; i <= o.n; i += step {
		ns = append(ns, i)
	}
	if ns[len(ns)-1] != o.n {
		ns = append(ns, o.n)
	}
	pts, err := swarm.Figure(base, ns)
	if err != nil {
		return err
	}
	if err := swarm.WriteTable(w, pts); err != nil {
		return err
	}
	title := fmt.Sprintf("Client-server vs. P2P: F/u = %.3g hours, u_s = %.3gu, d_min = %.3gu", float64(f)/u/3600, us/u, d/u)
	for _, out := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{o.svg, func(w io.Writer) error { return swarm.WriteSVG(w, title, pts) }},
		{o.csv, func(w io.Writer) error { return swarm.WriteCSV(w, pts) }},
	} {
		if out.name == "" {
			continue
		}
		if err := writeFile(out.name, out.write); err != nil {
			return err
		}
		fmt.Fprintf(w, "wrote %s\n", out.name)
	}
	if o.n == 0 {
		return nil
	}

	exp := base
	exp.Peers = o.n
	if o.rounds > 0 || o.samples != "" {
		c := exp
		c.RecordRounds = o.rounds > 0
		r, err := swarm.Run(c)
		if err != nil {
			return err
		}
		printRounds(w, r, o.rounds)
		if o.samples != "" {
			if err := writeFile(o.samples, func(w io.Writer) error { return swarm.WriteSamplesCSV(w, r.Samples) }); err != nil {
				return err
			}
			fmt.Fprintf(w, "wrote %s (the swarm every %v)\n", o.samples, r.Config.Sample)
		}
	}
	fmt.Fprintf(w, "\nPiece selection, N = %d (steady-state peer availability, copies of the rarest piece):\n", o.n)
	sel, err := swarm.CompareSelection(exp)
	if err != nil {
		return err
	}
	for _, s := range sel {
		fmt.Fprintf(w, "  %v\n", s)
	}

	riders := o.riders
	if riders < 0 {
		riders = o.n / 5
	}
	exp.FreeRiders = min(riders, o.n)
	fmt.Fprintf(w, "\nChoking, N = %d with %d free riders:\n", o.n, exp.FreeRiders)
	chk, err := swarm.CompareChoking(exp)
	if err != nil {
		return err
	}
	for _, c := range chk {
		fmt.Fprintf(w, "  %v\n", c)
	}

	exp.FreeRiders = 0
	fmt.Fprintf(w, "\nChurn, N = %d:\n", o.n)
	ch, err := swarm.CompareChurn(exp, churn)
	if err != nil {
		return err
	}
	for _, c := range ch {
		fmt.Fprintf(w, "  %v\n", c)
	}
	return nil
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printRounds shows the choker at work: whom peer 1 unchoked, and why, in
// its first k rounds that unchoked anyone.
func printRounds(w io.Writer, r *swarm.Result, k int) {
	if k <= 0 {
		return
	}
	fmt.Fprintf(w, "\nChoking rounds of peer 1 (%s choker), N = %d:\n", r.Config.Choking, r.Config.Peers)
	for _, rd := range r.Rounds {
		if rd.Peer != 1 || len(rd.Unchoked) == 0 {
			continue
		}
		if k--; k < 0 {
			break
		}
		state := "leecher"
		if rd.Seeding {
			state = "seed"
		}
		fmt.Fprintf(w, "  %8v %-7s unchokes", rd.Time.Round(time.Second), state)
		for i, id := range rd.Unchoked {
			fmt.Fprintf(w, " %d (%s)", id, rd.Reasons[i])
		}
		fmt.Fprintln(w)
	}
}
