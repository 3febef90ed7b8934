package dash

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTransfer(t *testing.T) {
	// 1 Mbit/s for 2 s, nothing for 1 s, 4 Mbit/s for 1 s, then again.
	tr, err := NewTrace("t", []TracePoint{{0, 1e6}, {2 * time.Second, 0}, {3 * time.Second, 4e6}}, 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		start, bytes, want float64
	}{
		{0, 125000, 1},       // 1 Mbit at 1 Mbit/s
		{1.5, 125000, 1.625}, // 0.5 Mbit in 0.5 s, 1 s of silence, 0.5 Mbit in 0.125 s
		{3, 500000, 1},       // 4 Mbit at 4 Mbit/s
		{3.5, 500000, 2.5},   // 2 Mbit, then 2 Mbit of the next period at 1 Mbit/s
		{0, 750000 * 2, 8},   // two periods of 6 Mbit each
		{2, 1, 1 + 8/4e6},    // waits through the silence
	}
	for _, tt := range tests {
		if got := tr.TransferSeconds(tt.start, tt.bytes); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("TransferSeconds(%g, %g) = %g, want %g", tt.start, tt.bytes, got, tt.want)
		}
	}
	if got := tr.Mean(); math.Abs(got-1.5e6) > 1e-6 {
		t.Errorf("Mean = %g, want 1.5e6", got)
	}
	if got := tr.Bandwidth(7500 * time.Millisecond); got != 4e6 {
		t.Errorf("Bandwidth(7.5 s) = %g", got)
	}
}

func TestCooked(t *testing.T) {
	in := "10.0\t1.5\n11.0  2.0\n\n12.5 0.25\n"
	tr, err := ParseCooked(strings.NewReader(in), "x")
	if err != nil {
		t.Fatal(err)
	}
	want := []TracePoint{{0, 1.5e6}, {time.Second, 2e6}, {2500 * time.Millisecond, 0.25e6}}
	if len(tr.Points) != 3 || tr.Points[1] != want[1] || tr.Points[2] != want[2] || tr.Period != 4*time.Second {
		t.Errorf("points %v period %v", tr.Points, tr.Period)
	}
	var b bytes.Buffer
	WriteCooked(&b, tr)
	back, err := ParseCooked(&b, "x")
	if err != nil || len(back.Points) != 3 || back.Points[2] != want[2] {
		t.Errorf("round trip: %v, %v", back, err)
	}
	for _, bad := range []string{"", "1 2 3", "1 x", "2 1\n1 1", "0 -1", "0 NaN", "0 0\n1 0", "0 1\n700000 1", strings.Repeat("9", 300) + " 1"} {
		if _, err := ParseCooked(strings.NewReader(bad), "bad"); !errors.Is(err, ErrTrace) {
			t.Errorf("ParseCooked(%.20q) = %v, want ErrTrace", bad, err)
		}
	}
}

func TestMahimahi(t *testing.T) {
	// 4 packets per ms for the first 500 ms (48 Mbit/s), 1 per ms after.
	var b strings.Builder
	for ms := 1; ms <= 1000; ms++ {
		n := 1
		if ms < 500 {
			n = 4
		}
		for i := 0; i < n; i++ {
			b.WriteString(strings.Repeat("", 0))
			b.WriteString(itoa(ms) + "\n")
		}
	}
	tr, err := ParseMahimahi(strings.NewReader(b.String()), "m")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Period != time.Second || len(tr.Points) != 2 {
		t.Fatalf("period %v, %d points", tr.Period, len(tr.Points))
	}
	if got := tr.Points[0].Bandwidth; math.Abs(got-(499*4*12000)/0.5) > 1 {
		t.Errorf("first window %g bit/s", got)
	}
	// Writing a trace and reading it back keeps its mean within a packet.
	g := GenerateTrace(Steps, 3, 30*time.Second)
	var w bytes.Buffer
	if err := WriteMahimahi(&w, g); err != nil {
		t.Fatal(err)
	}
	back, err := ParseMahimahi(&w, "back")
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(back.Mean()-g.Mean()) / g.Mean(); d > 0.01 {
		t.Errorf("mean %g after the round trip, %g before", back.Mean(), g.Mean())
	}
	for _, bad := range []string{"", "x", "5\n3", "-1", "0"} {
		if _, err := ParseMahimahi(strings.NewReader(bad), "bad"); !errors.Is(err, ErrTrace) {
			t.Errorf("ParseMahimahi(%q) = %v, want ErrTrace", bad, err)
		}
	}
}

func itoa(n int) string {
	var b []byte
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// TestShippedTraces checks that testdata/traces holds exactly what the
// generator makes, so the table in the README can be reproduced from seeds.
func TestShippedTraces(t *testing.T) {
	for _, g := range SyntheticTraces() {
		f, err := os.Open(filepath.Join("testdata", "traces", g.Name+".cooked"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCooked(f, g.Name)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Points) != len(g.Points) {
			t.Fatalf("%s: %d points, generator %d", g.Name, len(got.Points), len(g.Points))
		}
		for i := range got.Points {
			if a, b := got.Points[i], g.Points[i]; a.At != b.At || math.Abs(a.Bandwidth-b.Bandwidth) > 1e-3 {
				t.Fatalf("%s: point %d is %v, generator %v", g.Name, i, got.Points[i], g.Points[i])
			}
		}
	}
	f, err := os.Open(filepath.Join("testdata", "traces", "step-7-60s.mahimahi"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := ParseMahimahi(f, "step-7-60s")
	if err != nil {
		t.Fatal(err)
	}
	if g := GenerateTrace(Steps, 7, 60*time.Second); math.Abs(m.Mean()-g.Mean())/g.Mean() > 0.01 {
		t.Errorf("mahimahi mean %g, generator %g", m.Mean(), g.Mean())
	}
}

func TestGenerateKinds(t *testing.T) {
	for _, k := range []TraceKind{Steady, Steps, ThreeG, LTE} {
		a, b := GenerateTrace(k, 1, 100*time.Second), GenerateTrace(k, 2, 100*time.Second)
		if a.Name != k.String()+"-1" || len(a.Points) != 100 {
			t.Errorf("%v: %s with %d points", k, a.Name, len(a.Points))
		}
		if a.Mean() == b.Mean() {
			t.Errorf("%v: seeds 1 and 2 give the same trace", k)
		}
		if a.Mean() < 0.1e6 || a.Mean() > 20e6 {
			t.Errorf("%v: mean %g", k, a.Mean())
		}
	}
}

func FuzzParseCooked(f *testing.F) {
	f.Add([]byte("0 1.5\n1 2.0\n2.5 0.25\n"))
	f.Add([]byte("1e300 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseCooked(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		if s := tr.TransferSeconds(1.5, 1e5); !(s > 0) {
			t.Fatalf("transfer took %g s", s)
		}
	})
}

func FuzzParseMahimahi(f *testing.F) {
	f.Add([]byte("1\n1\n2\n5\n9\n"))
	f.Add([]byte("0\n100000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseMahimahi(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		if s := tr.TransferSeconds(0, 1500); !(s > 0) {
			t.Fatalf("transfer took %g s", s)
		}
	})
}
