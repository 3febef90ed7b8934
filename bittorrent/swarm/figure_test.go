package swarm

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestFigure(t *testing.T) {
	t.Parallel()
	pts, err := Figure(SlideExample(0), []int{0, 10, 35})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 {
		t.Fatalf("%d points", len(pts))
	}
	for _, p := range pts {
		if p.P2P < p.P2PBound || p.ClientServer < p.ClientServerBound {
			t.Errorf("N=%d: a simulated time beats its bound: %+v", p.N, p)
		}
		if p.N >= 5 && p.P2P >= p.ClientServer {
			t.Errorf("N=%d: P2P %v not faster than client-server %v", p.N, p.P2P, p.ClientServer)
		}
	}
	// The slide's shape: client-server grows linearly to 3.5 hours at
	// N=35, P2P stays under an hour.
	last := pts[2]
	if h := last.ClientServer.Hours(); h < 3.45 || h > 3.55 {
		t.Errorf("client-server at N=35: %.3f hours, want 3.5", h)
	}
	if h := last.P2P.Hours(); h >= 1 {
		t.Errorf("P2P at N=35: %.3f hours, want under 1", h)
	}

	var svg bytes.Buffer
	if err := WriteSVG(&svg, "F/u = 1 hour, u_s = 10u, d_min ≥ u_s", pts); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML with an svg root, four series and the legend.
	d := xml.NewDecoder(&svg)
	var root string
	circles, polylines := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			switch se.Name.Local {
			case "circle":
				circles++
			case "polyline":
				polylines++
			}
		}
	}
	if root != "svg" || polylines != 2 || circles != 2*len(pts)+2 {
		t.Errorf("SVG root %q, %d polylines, %d circles", root, polylines, circles)
	}

	var buf bytes.Buffer
	if err := WriteCSV(&buf, pts); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(pts)+1 || rows[0][0] != "N" || rows[3][0] != "35" || rows[3][1] != "3.5000" {
		t.Errorf("CSV rows: %q", rows)
	}

	var tab strings.Builder
	if err := WriteTable(&tab, pts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tab.String(), "  35       3.500") {
		t.Errorf("table lacks the N=35 row:\n%s", tab.String())
	}
}

func TestWriteSamplesCSV(t *testing.T) {
	r, err := Run(broadbandConfig(8))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSamplesCSV(&buf, r.Samples); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Samples)+1 || len(r.Samples) < 10 {
		t.Fatalf("%d rows for %d samples", len(rows), len(r.Samples))
	}
	if rows[1][1] != "8" || rows[1][0] != "0.0000" {
		t.Errorf("first sample row %q, want 8 leechers at time 0", rows[1])
	}
}
