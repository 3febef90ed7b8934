package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"appnet.dev/bittorrent/swarm"
)

// p2pChapter answers the slides' question — how much time to distribute a
// file of size F from one server to N peers? — for their example (F/u = 1
// hour, u_s = 10u, d_min ≥ u_s): the bounds, and the times a simulated
// client-server distribution and a simulated BitTorrent swarm (the real
// picker and choker) take, written as a table and as the slide's plot.
func p2pChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	fmt.Fprintln(w, "Q: how much time to distribute file (size F) from one server to N peers?")
	fmt.Fprintln(w, "client-server: D_c-s  ≥ max{NF/u_s, F/d_min}")
	fmt.Fprintln(w, "P2P:           D_P2P  ≥ max{F/u_s, F/d_min, NF/(u_s + Σu_i)}")
	fmt.Fprintln(w, "example: client upload rate = u, F/u = 1 hour, u_s = 10u, d_min ≥ u_s")
	fmt.Fprintln(w)

	var pts []swarm.Point
	for n := 0; n <= 35; n += 5 {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		p, err := swarm.Figure(swarm.SlideExample(n), []int{n})
		if err != nil {
			return "", err
		}
		pts = append(pts, p...)
	}
	if err := swarm.WriteTable(w, pts); err != nil {
		return "", err
	}

	name := filepath.Join(dir, "p2p.svg")
	f, err := os.Create(name)
	if err != nil {
		return "", err
	}
	if err := swarm.WriteSVG(f, "Client-server vs. P2P: F/u = 1 hour, u_s = 10u, d_min ≥ u_s", pts); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "\nplot: %s\n", name)

	last := pts[len(pts)-1]
	return fmt.Sprintf("N=%d: client-server %.2f h (bound %.2f), P2P %.2f h (bound %.2f, efficiency %.2f); plot %s",
		last.N, last.ClientServer.Hours(), last.ClientServerBound.Hours(),
		last.P2P.Hours(), last.P2PBound.Hours(), last.P2PEfficiency, name), nil
}
