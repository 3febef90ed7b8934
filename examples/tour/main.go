// Command tour runs every chapter of the application-layer lecture end to
// end on loopback and prints what the slides print: the dialogues between
// clients and servers, and one result line per chapter.
//
//	go run ./examples/tour               # every chapter
//	go run ./examples/tour -list         # the chapters' names
//	go run ./examples/tour -chapter dns  # one chapter
//	go run ./examples/tour -keep         # keep the files each chapter wrote
//
// Everything it needs is embedded: servers listen on 127.0.0.1 with ports
// the system picks, and files go to temporary directories removed at the
// end. The exit status is non-zero if any chapter fails.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"appnet.dev/sockets"
)

// A chapter is one topic of the lecture, run end to end. Run writes the
// chapter's dialogue to w and returns a one-line result.
type chapter struct {
	name  string // for -chapter
	title string // the lecture's heading
	run   func(ctx context.Context, w io.Writer, dir string) (result string, err error)
}

func main() {
	list := flag.Bool("list", false, "print the chapters' names and exit")
	only := flag.String("chapter", "", "run only the chapter with this `name`")
	keep := flag.Bool("keep", false, "keep each chapter's directory (Maildirs, zone files, the P2P plot) instead of removing it")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Stdout, options{list: *list, only: *only, keep: *keep}))
}

// options are the command line's choices.
type options struct {
	list bool   // print the chapters and stop
	only string // run only this chapter
	keep bool   // keep the chapters' directories
}

func run(ctx context.Context, w io.Writer, opt options) int {
	list, only := opt.list, opt.only
	all := chapters()
	if list {
		for _, c := range all {
			fmt.Fprintf(w, "%-12s %s\n", c.name, c.title)
		}
		return 0
	}
	var selected []chapter
	for _, c := range all {
		if only == "" || c.name == only {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 {
		fmt.Fprintf(os.Stderr, "tour: no chapter %q (try -list)\n", only)
		return 2
	}

	failed := 0
	var results []string
	for _, c := range selected {
		fmt.Fprintf(w, "\n== %s ==\n\n", c.title)
		result, err := runChapter(ctx, w, c, opt.keep)
		if err != nil {
			failed++
			result = "FAILED: " + err.Error()
		}
		results = append(results, fmt.Sprintf("%-12s %s", c.name, result))
		fmt.Fprintf(w, "\n-> %s\n", result)
	}
	fmt.Fprintf(w, "\n== Summary ==\n\n%s\n", strings.Join(results, "\n"))
	if failed > 0 {
		fmt.Fprintf(w, "\n%d of %d chapters failed\n", failed, len(selected))
		return 1
	}
	return 0
}

// runChapter gives a chapter its own temporary directory and a time limit.
func runChapter(ctx context.Context, w io.Writer, c chapter, keep bool) (string, error) {
	dir, err := os.MkdirTemp("", "appnet-tour-"+c.name+"-")
	if err != nil {
		return "", err
	}
	if keep {
		defer fmt.Fprintf(w, "(files kept in %s)\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// A chapter's servers and clients print from their own goroutines.
	return c.run(ctx, sockets.NewSyncWriter(w), dir)
}
