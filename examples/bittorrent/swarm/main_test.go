package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	svg, csv := filepath.Join(dir, "fig.svg"), filepath.Join(dir, "fig.csv")
	samples := filepath.Join(dir, "samples.csv")
	var out strings.Builder
	err := run(&out, options{n: 6, file: 64, picker: "rarest", choker: "mainline", churn: "arrive=30s,selfish", riders: -1, svg: svg, csv: csv, seed: 1, rounds: 3, samples: samples})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"F/u = 1h0m0s",
		"   6       0.600      0.600",    // client-server: NF/u_s = 0.6 h, simulated the same
		"rarest ", "random ", "inorder ", // one line per experiment
		"bep3 ", "mainline ", "slides ", "none ",
		"churn none", "churn arrive=30s,selfish",
		"Choking rounds of peer 1", "unchokes",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, name := range []string{svg, csv, samples} {
		if b, err := os.ReadFile(name); err != nil || len(b) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(b), err)
		}
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, o := range []options{
		{n: 3, file: 64, picker: "fastest", choker: "mainline", churn: "none"},
		{n: 3, file: 64, picker: "rarest", choker: "greedy", churn: "none"},
		{n: 3, file: 64, picker: "rarest", choker: "mainline", churn: "sometimes"},
		{n: -1, file: 64, picker: "rarest", choker: "mainline", churn: "none"},
	} {
		if err := run(&strings.Builder{}, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
