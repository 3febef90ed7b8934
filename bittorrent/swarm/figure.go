package swarm

import (
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"strconv"
	"time"
)

// Point is one N of the slides' figure: the minimum distribution time of
// client-server and P2P, bound and simulated.
type Point struct {
	N                      int
	ClientServerBound      time.Duration
	ClientServer           time.Duration // simulated
	P2PBound               time.Duration
	P2P                    time.Duration // simulated
	P2PEfficiency          float64       // P2PBound / P2P
	ClientServerEfficiency float64       // ClientServerBound / ClientServer
}

// SlideExample returns the slides' example set-up for n peers: client
// upload rate u with F/u = 1 hour, u_s = 10u, d_min = u_s, and a 64 MiB
// file in 256 pieces of 256 KiB.
func SlideExample(n int) Config {
	f := int64(256 * DefaultPieceSize)
	u := float64(f) / time.Hour.Seconds()
	return Config{Peers: n, FileSize: f, SeedUpload: 10 * u, Upload: u, Download: 10 * u}
}

// Figure simulates base for every N in ns, once client-server and once
// P2P, and returns the slides' figure: bounds and simulated times side by
// side.
func Figure(base Config, ns []int) ([]Point, error) {
	var pts []Point
	for _, n := range ns {
		c := base
		c.Peers = n
		c.Mode = ClientServer
		cs, err := Run(c)
		if err != nil {
			return nil, fmt.Errorf("swarm: figure: client-server, N=%d: %w", n, err)
		}
		c.Mode = P2P
		p2p, err := Run(c)
		if err != nil {
			return nil, fmt.Errorf("swarm: figure: P2P, N=%d: %w", n, err)
		}
		pts = append(pts, Point{
			N:                 n,
			ClientServerBound: cs.Bound, ClientServer: cs.Time, ClientServerEfficiency: cs.Efficiency,
			P2PBound: p2p.Bound, P2P: p2p.Time, P2PEfficiency: p2p.Efficiency,
		})
	}
	return pts, nil
}

// WriteCSV writes the figure as CSV, times in hours.
func WriteCSV(w io.Writer, pts []Point) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"N", "client_server_bound_h", "client_server_h", "p2p_bound_h", "p2p_h", "p2p_efficiency"})
	h := func(d time.Duration) string { return strconv.FormatFloat(d.Hours(), 'f', 4, 64) }
	for _, p := range pts {
		cw.Write([]string{strconv.Itoa(p.N), h(p.ClientServerBound), h(p.ClientServer), h(p.P2PBound), h(p.P2P),
			strconv.FormatFloat(p.P2PEfficiency, 'f', 3, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteSVG draws the figure as the slides do: minimum distribution time in
// hours against N, client-server and P2P, the bounds as lines and the
// simulated times as dots. It writes SVG by hand, with nothing but fmt.
func WriteSVG(w io.Writer, title string, pts []Point) error {
	const (
		width, height         = 640, 400
		left, right, top, bot = 60, 20, 40, 50
		plotW, plotH          = width - left - right, height - top - bot
	)
	maxN, maxH := 1, 0.0
	for _, p := range pts {
		maxN = max(maxN, p.N)
		maxH = max(maxH, p.ClientServerBound.Hours(), p.ClientServer.Hours(), p.P2PBound.Hours(), p.P2P.Hours())
	}
	maxH = niceCeil(maxH)
	x := func(n int) float64 { return left + float64(n)/float64(maxN)*plotW }
	y := func(d time.Duration) float64 { return top + plotH - d.Hours()/maxH*plotH }

	b := &errWriter{w: w}
	b.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.printf(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	b.printf(`<text x="%d" y="20" text-anchor="middle" font-size="14">%s</text>`+"\n", width/2, html.EscapeString(title))
	// Axes, grid and ticks.
	ticks := 5
	for i := 0; i <= ticks; i++ {
		h := maxH * float64(i) / float64(ticks)
		yy := top + plotH - float64(i)/float64(ticks)*plotH
		b.printf(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, left+plotW, yy)
		b.printf(`<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", left-6, yy+4, h)
	}
	step := max(1, maxN/7)
	for n := 0; n <= maxN; n += step {
		b.printf(`<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(n), top+plotH+16, n)
	}
	b.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top+plotH, left+plotW, top+plotH)
	b.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, top+plotH)
	b.printf(`<text x="%d" y="%d" text-anchor="middle">N</text>`+"\n", left+plotW/2, height-10)
	b.printf(`<text x="16" y="%d" text-anchor="middle" transform="rotate(-90 16 %d)">Minimum Distribution Time (hours)</text>`+"\n", top+plotH/2, top+plotH/2)

	series := []struct {
		name  string
		color string
		get   func(Point) time.Duration
		dots  bool
	}{
		{"Client-Server bound", "#d62728", func(p Point) time.Duration { return p.ClientServerBound }, false},
		{"P2P bound", "#1f77b4", func(p Point) time.Duration { return p.P2PBound }, false},
		{"Client-Server simulated", "#d62728", func(p Point) time.Duration { return p.ClientServer }, true},
		{"P2P simulated", "#1f77b4", func(p Point) time.Duration { return p.P2P }, true},
	}
	for i, s := range series {
		if s.dots {
			for _, p := range pts {
				b.printf(`<circle cx="%.1f" cy="%.1f" r="3" fill="none" stroke="%s"/>`+"\n", x(p.N), y(s.get(p)), s.color)
			}
		} else {
			b.printf(`<polyline fill="none" stroke="%s" stroke-width="2" points="`, s.color)
			for _, p := range pts {
				b.printf("%.1f,%.1f ", x(p.N), y(s.get(p)))
			}
			b.printf(`"/>` + "\n")
		}
		ly := top + 10 + 18*i
		if s.dots {
			b.printf(`<circle cx="%d" cy="%d" r="3" fill="none" stroke="%s"/>`+"\n", left+20, ly, s.color)
		} else {
			b.printf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", left+12, ly, left+28, ly, s.color)
		}
		b.printf(`<text x="%d" y="%d">%s</text>`+"\n", left+36, ly+4, s.name)
	}
	b.printf("</svg>\n")
	return b.err
}

// niceCeil rounds h up to a round number of hours for the axis.
func niceCeil(h float64) float64 {
	for _, c := range []float64{0.5, 1, 2, 2.5, 3, 4, 5, 10, 20, 50, 100, 1000} {
		if h <= c {
			return c
		}
	}
	return h
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// WriteTable prints the figure as a table, times in hours, the way the
// slides' plot reads: for each N, client-server and P2P, bound and
// simulated.
func WriteTable(w io.Writer, pts []Point) error {
	b := &errWriter{w: w}
	b.printf("%4s  %21s  %21s  %10s\n", "", "client-server (hours)", "P2P (hours)", "P2P")
	b.printf("%4s  %10s %10s  %10s %10s  %10s\n", "N", "bound", "simulated", "bound", "simulated", "efficiency")
	for _, p := range pts {
		b.printf("%4d  %10.3f %10.3f  %10.3f %10.3f  %10.3f\n", p.N,
			p.ClientServerBound.Hours(), p.ClientServer.Hours(), p.P2PBound.Hours(), p.P2P.Hours(), p.P2PEfficiency)
	}
	return b.err
}

// WriteSamplesCSV writes a run's samples over time as CSV: leechers,
// seeds, progress, peer availability, copies of the rarest piece, mean
// copies and upload utilization, one row per sample.
func WriteSamplesCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"seconds", "leechers", "seeds", "progress", "peer_availability", "rarest_copies", "mean_copies", "utilization"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, s := range samples {
		cw.Write([]string{f(s.Time.Seconds()), strconv.Itoa(s.Leechers), strconv.Itoa(s.Seeds), f(s.Progress),
			f(s.PeerAvailability), strconv.Itoa(s.RarestCopies), f(s.MeanCopies), f(s.Utilization)})
	}
	cw.Flush()
	return cw.Error()
}
