// Command netcinema plays the lecture's CDN case on loopback: Bob fetches
// netcinema.com's web page, reads the video's link, resolves its name
// through a CNAME into KingCDN, whose DNS answers with an edge near him,
// and streams the DASH video from it; the edge fails in mid-stream and the
// video goes on from another copy. Each step is printed.
//
//	go run ./examples/cdn/netcinema
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"appnet.dev/cdn/netcinema"
)

func main() {
	length := flag.Duration("video", 6*time.Second, "length of the trailer")
	failAfter := flag.Int("fail-after", 3, "chunks played before the edge fails (negative: never)")
	congest := flag.Bool("congest", false, "congest the path to the edge instead of failing it")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s := &netcinema.Scene{Video: *length, FailAfter: *failAfter, Congest: *congest, Trace: os.Stdout}
	if _, err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "netcinema:", err)
		os.Exit(1)
	}
}
