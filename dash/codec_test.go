package dash

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

const purple = 200

func ExampleAppendRuns() {
	// A row of the slide's frame: 12 pixels of purple, then 4 of white.
	row := append(bytes.Repeat([]byte{purple}, 12), bytes.Repeat([]byte{255}, 4)...)
	code := AppendRuns(nil, row)
	fmt.Printf("%d pixels sent as %d bytes: %v\n", len(row), len(code), code)
	// Output: 16 pixels sent as 4 bytes: [12 200 4 255]
}

func TestGroupRoundTrip(t *testing.T) {
	src := Synthetic{FPS: 24, SceneFrames: 10, Seed: 1}
	var frames []Frame
	for i := 0; i < 24; i++ { // crosses two scene cuts
		frames = append(frames, src.Frame(i, 64, 36))
	}
	prevSize := 1 << 30
	for _, step := range []int{1, 4, 16, 64} {
		code := EncodeGroup(frames, step)
		got, err := DecodeGroup(code, 64, 36)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if len(got) != len(frames) {
			t.Fatalf("step %d: %d frames, want %d", step, len(got), len(frames))
		}
		for i := range frames {
			if !got[i].Equal(frames[i].Quantize(step)) {
				t.Fatalf("step %d: frame %d differs from the quantized source", step, i)
			}
			if step == 1 && !got[i].Equal(frames[i]) {
				t.Fatalf("step 1 is not lossless at frame %d", i)
			}
		}
		if len(code) >= prevSize {
			t.Errorf("step %d: %d bytes, not smaller than the finer step's %d", step, len(code), prevSize)
		}
		prevSize = len(code)
	}
}

// TestTemporalCoding checks the slide's second idea: with little motion, a
// delta frame is much smaller than a key frame, and a scene cut costs more.
func TestTemporalCoding(t *testing.T) {
	src := Synthetic{FPS: 24, SceneFrames: 48, Seed: 3}
	f0, f1 := src.Frame(0, 96, 54), src.Frame(1, 96, 54)
	key := AppendFrame(nil, KeyFrame, 1, f1, Frame{})
	delta := AppendFrame(nil, DeltaFrame, 1, f1, f0)
	if len(delta)*3 > len(key) {
		t.Errorf("delta frame %d bytes, key frame %d: temporal coding saves too little", len(delta), len(key))
	}
	cut := AppendFrame(nil, DeltaFrame, 1, src.Frame(48, 96, 54), src.Frame(47, 96, 54))
	if len(cut) <= len(delta) {
		t.Errorf("delta across a scene cut %d bytes, within a scene %d", len(cut), len(delta))
	}
}

func TestCBR(t *testing.T) {
	src := Synthetic{FPS: 24, SceneFrames: 30, Seed: 2}
	var frames []Frame
	for i := 0; i < 24; i++ {
		frames = append(frames, src.Frame(i, 96, 54))
	}
	for _, budget := range []int{4000, 8000, 20000} {
		code, step, fits := EncodeGroupCBR(frames, budget)
		if !fits || len(code) != budget {
			t.Errorf("budget %d: %d bytes (step %d, fits %v)", budget, len(code), step, fits)
			continue
		}
		got, err := DecodeGroup(code, 96, 54)
		if err != nil || len(got) != len(frames) {
			t.Fatalf("budget %d: %d frames, %v", budget, len(got), err)
		}
		if !got[5].Equal(frames[5].Quantize(step)) {
			t.Errorf("budget %d: frame 5 differs", budget)
		}
	}
	if _, _, fits := EncodeGroupCBR(frames, 10); fits {
		t.Error("a 10-byte budget fits")
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := EncodeGroup([]Frame{Synthetic{}.Frame(0, 8, 8), Synthetic{}.Frame(1, 8, 8)}, 1)
	tests := map[string][]byte{
		"truncated":        good[:len(good)-1],
		"delta first":      append([]byte{DeltaFrame, 1, 2}, 64, 0),
		"run too long":     {KeyFrame, 1, 2, 65, 0},
		"runs too short":   {KeyFrame, 1, 2, 63, 0},
		"zero run":         {KeyFrame, 1, 4, 0, 0, 64, 0},
		"unknown kind":     {'X', 1, 0},
		"payload too long": {KeyFrame, 1, 200, 64, 0},
	}
	for name, code := range tests {
		if _, err := DecodeGroup(code, 8, 8); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := DecodeGroup(good, 1<<13, 1<<13); err == nil {
		t.Error("accepted a frame size above MaxPixels")
	}
}

func TestHeader(t *testing.T) {
	h := Header{Width: 384, Height: 216, FPS: 24}
	b, err := h.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var g Header
	if err := g.UnmarshalBinary(b); err != nil || g != h {
		t.Errorf("got %+v, %v", g, err)
	}
	for _, bad := range [][]byte{nil, []byte("TOYV\x00\x00\x00\x01\x01"), []byte("MP4V\x00\x01\x00\x01\x01")} {
		if err := g.UnmarshalBinary(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzDecodeGroup(f *testing.F) {
	f.Add(EncodeGroup([]Frame{Synthetic{}.Frame(0, 16, 9), Synthetic{}.Frame(1, 16, 9)}, 4), 16, 9)
	code, _, _ := EncodeGroupCBR([]Frame{Synthetic{}.Frame(0, 16, 9)}, 400)
	f.Add(code, 16, 9)
	f.Fuzz(func(t *testing.T, code []byte, w, h int) {
		if w > 256 || h > 256 {
			return
		}
		frames, err := DecodeGroup(code, w, h)
		if err != nil {
			return
		}
		// What decodes re-encodes to frames that decode the same.
		for _, f := range frames {
			again, err := DecodeGroup(EncodeGroup([]Frame{f}, 1), w, h)
			if err != nil || !again[0].Equal(f) {
				t.Fatalf("re-encoding a decoded frame: %v", err)
			}
		}
	})
}
