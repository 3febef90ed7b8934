package dash

import (
	"context"
	"testing"
	"time"
)

func TestPlayout(t *testing.T) {
	const s = time.Second
	var p Playout
	if w := p.Advance(2 * s); w != 0 || p.State() != Starting {
		t.Fatalf("waiting for the first chunk: waited %v, state %v", w, p.State())
	}
	p.Push(4 * s)
	if p.State() != Playing || p.StartupDelay() != 2*s {
		t.Fatalf("after the first chunk: %v, start-up %v", p.State(), p.StartupDelay())
	}
	if w := p.Advance(3 * s); w != 0 || p.Buffer() != s || p.Position() != 3*s {
		t.Fatalf("playing: waited %v, buffer %v, position %v", w, p.Buffer(), p.Position())
	}
	// The buffer runs dry one second into a 2.5 s download: a stall of 1.5 s.
	if w := p.Advance(2500 * time.Millisecond); w != 1500*time.Millisecond || p.State() != Stalled {
		t.Fatalf("stall: waited %v, state %v", w, p.State())
	}
	p.Push(4 * s)
	if n, d := p.Stalls(); n != 1 || d != 1500*time.Millisecond || p.State() != Playing {
		t.Fatalf("stalls %d for %v, state %v", n, d, p.State())
	}
	p.Pause()
	p.Advance(10 * s)
	if p.Buffer() != 4*s || p.State() != Paused {
		t.Fatalf("paused: buffer %v, state %v", p.Buffer(), p.State())
	}
	p.Resume()
	p.Seek(30 * s)
	if p.Buffer() != 0 || p.State() != Starting || p.Position() != 30*s {
		t.Fatalf("seek: buffer %v, state %v, position %v", p.Buffer(), p.State(), p.Position())
	}
	p.Advance(s) // waiting after a seek is not a stall
	p.Push(4 * s)
	if n, _ := p.Stalls(); n != 1 || p.StartupDelay() != 2*s {
		t.Fatalf("after seek: %d stalls, start-up %v", n, p.StartupDelay())
	}
	p.Finish()
	if p.State() != Ended || p.Position() != 34*s {
		t.Fatalf("end: %v at %v", p.State(), p.Position())
	}
}

func TestPlayoutStartAfter(t *testing.T) {
	p := Playout{StartAfter: 8 * time.Second}
	p.Push(4 * time.Second)
	if p.State() != Starting {
		t.Fatalf("4 s of 8 s buffered: %v", p.State())
	}
	p.Push(4 * time.Second)
	if p.State() != Playing {
		t.Fatalf("8 s buffered: %v", p.State())
	}
	for s, want := range map[PlayState]string{Starting: "starting", Playing: "playing", Stalled: "stalled", Paused: "paused", Ended: "ended", 9: "PlayState(9)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q", int(s), s.String())
		}
	}
}

// TestSkipClockSpeed: a SkipClock with Speed s runs s times the wall
// clock (bounded by wall-clock readings around it), and Sleep moves it on
// at once.
func TestSkipClockSpeed(t *testing.T) {
	c := &SkipClock{Speed: 1000}
	w0 := time.Now()
	v0 := c.Now()
	w1 := time.Now()
	for time.Since(w1) < time.Millisecond {
	}
	v1 := c.Now()
	w2 := time.Now()
	if d := v1.Sub(v0); d < 1000*time.Millisecond || d > 1000*w2.Sub(w0) {
		t.Errorf("%v of virtual time over %v (at least 1ms) of wall clock at speed 1000", d, w2.Sub(w0))
	}
	if err := c.Sleep(context.Background(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if d := c.Now().Sub(v1); d < time.Hour {
		t.Errorf("Sleep(1h) moved the clock %v", d)
	}
}
