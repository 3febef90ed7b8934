package dash

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A Frame is one image of a video: Width×Height pixels, each a colour
// number (think of a palette: 0 is black, 200 is purple, …).
type Frame struct {
	Width, Height int
	Pix           []uint8 // row by row
}

// NewFrame returns a black frame.
func NewFrame(w, h int) Frame {
	return Frame{Width: w, Height: h, Pix: make([]uint8, w*h)}
}

// Equal reports whether two frames are the same image.
func (f Frame) Equal(g Frame) bool {
	if f.Width != g.Width || f.Height != g.Height || len(f.Pix) != len(g.Pix) {
		return false
	}
	for i := range f.Pix {
		if f.Pix[i] != g.Pix[i] {
			return false
		}
	}
	return true
}

// Quantize returns f with every colour rounded down to a multiple of step:
// the encoder's only loss. A coarser step makes longer runs of one colour,
// so fewer bits, at a lower quality. Step 1 keeps f as it is.
func (f Frame) Quantize(step int) Frame {
	g := Frame{Width: f.Width, Height: f.Height, Pix: make([]uint8, len(f.Pix))}
	if step <= 1 {
		copy(g.Pix, f.Pix)
		return g
	}
	for i, v := range f.Pix {
		g.Pix[i] = v - uint8(int(v)%step)
	}
	return g
}

// Frame kinds on the wire.
const (
	KeyFrame    = 'I' // spatial coding only: run-length of the colours
	DeltaFrame  = 'P' // temporal coding: run-length of the differences from the previous frame
	FillerFrame = 'F' // padding that keeps a CBR stream at its rate
)

// MaxPixels bounds a frame's size when decoding.
const MaxPixels = 4096 * 4096

// Errors of the codec.
var (
	ErrCorrupt = errors.New("dash: corrupt video data")
)

// AppendRuns appends the run-length code of pix: each run of one value is
// written as its length (an unsigned varint) and the value (one byte) —
// the slide's "N values of purple" sent as (N, purple).
func AppendRuns(b []byte, pix []uint8) []byte {
	for i := 0; i < len(pix); {
		j := i + 1
		for j < len(pix) && pix[j] == pix[i] {
			j++
		}
		b = binary.AppendUvarint(b, uint64(j-i))
		b = append(b, pix[i])
		i = j
	}
	return b
}

// decodeRuns fills out from a run-length code, which must cover it exactly.
func decodeRuns(out []uint8, code []byte) error {
	n := 0
	for len(code) > 0 {
		run, k := binary.Uvarint(code)
		if k <= 0 || k >= len(code) {
			return fmt.Errorf("%w: truncated run", ErrCorrupt)
		}
		if run == 0 || run > uint64(len(out)-n) {
			return fmt.Errorf("%w: run of %d overflows the frame", ErrCorrupt, run)
		}
		v := code[k]
		code = code[k+1:]
		for i := 0; i < int(run); i++ {
			out[n+i] = v
		}
		n += int(run)
	}
	if n != len(out) {
		return fmt.Errorf("%w: runs cover %d of %d pixels", ErrCorrupt, n, len(out))
	}
	return nil
}

// AppendFrame appends one coded frame: its kind, the quantizer step it was
// made with, the length of its payload (a varint) and the payload. A key
// frame's payload is the run-length code of cur; a delta frame's is the
// run-length code of cur−prev (byte-wise, modulo 256), which is mostly
// zeros when little moves.
func AppendFrame(b []byte, kind byte, step int, cur, prev Frame) []byte {
	var payload []byte
	switch kind {
	case KeyFrame:
		payload = AppendRuns(nil, cur.Pix)
	case DeltaFrame:
		diff := make([]uint8, len(cur.Pix))
		for i := range diff {
			diff[i] = cur.Pix[i] - prev.Pix[i]
		}
		payload = AppendRuns(nil, diff)
	default:
		panic("dash: AppendFrame: kind must be KeyFrame or DeltaFrame")
	}
	b = append(b, kind, byte(step))
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// appendFiller appends a filler frame that makes b exactly n bytes longer.
func appendFiller(b []byte, n int) []byte {
	if n < 3 {
		// Too small for a filler frame's header; a 2-byte header plus a
		// zero-length varint is 3 bytes. Callers pad with n ≥ 3 or not at all.
		return b
	}
	for size := n - 3; size >= 0; size-- {
		hdr := 2 + len(binary.AppendUvarint(nil, uint64(size)))
		if hdr+size == n {
			b = append(b, FillerFrame, 0)
			b = binary.AppendUvarint(b, uint64(size))
			return append(b, make([]byte, size)...)
		}
	}
	return b
}

// EncodeGroup codes a group of pictures: the first frame as a key frame,
// each following one as a delta from the one before, all quantized with
// step. A group decodes on its own, so a player may switch rates between
// groups; a DASH segment is one group.
func EncodeGroup(frames []Frame, step int) []byte {
	var b []byte
	var prev Frame
	for i, f := range frames {
		q := f.Quantize(step)
		kind := byte(DeltaFrame)
		if i == 0 {
			kind = KeyFrame
		}
		b = AppendFrame(b, kind, step, q, prev)
		prev = q
	}
	return b
}

// Steps are the quantizer steps a CBR encoder tries, finest first.
var steps = [...]int{1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128}

// EncodeGroupCBR codes a group at a constant size: it uses the finest
// quantizer step whose code fits in budget bytes and pads it with a filler
// frame to exactly budget. If even the coarsest step does not fit, the code
// is returned as it is, longer than budget, with fits false.
func EncodeGroupCBR(frames []Frame, budget int) (code []byte, step int, fits bool) {
	for _, s := range steps {
		b := EncodeGroup(frames, s)
		if len(b) == budget || len(b)+3 <= budget {
			return appendFiller(b, budget-len(b)), s, true
		}
		code, step = b, s
	}
	return code, step, false
}

// DecodeGroup decodes a group of w×h frames. Each frame comes back exactly
// as the encoder quantized it.
func DecodeGroup(code []byte, w, h int) ([]Frame, error) {
	if w <= 0 || h <= 0 || w*h > MaxPixels {
		return nil, fmt.Errorf("%w: frame size %dx%d", ErrCorrupt, w, h)
	}
	var frames []Frame
	var prev Frame
	for len(code) > 0 {
		if len(code) < 3 {
			return nil, fmt.Errorf("%w: truncated frame header", ErrCorrupt)
		}
		kind := code[0]
		n, k := binary.Uvarint(code[2:])
		if k <= 0 || n > uint64(len(code)-2-k) {
			return nil, fmt.Errorf("%w: frame payload length", ErrCorrupt)
		}
		payload := code[2+k : 2+k+int(n)]
		code = code[2+k+int(n):]
		switch kind {
		case FillerFrame:
			continue
		case KeyFrame:
			f := NewFrame(w, h)
			if err := decodeRuns(f.Pix, payload); err != nil {
				return nil, err
			}
			frames = append(frames, f)
			prev = f
		case DeltaFrame:
			if prev.Pix == nil {
				return nil, fmt.Errorf("%w: delta frame before any key frame", ErrCorrupt)
			}
			f := NewFrame(w, h)
			if err := decodeRuns(f.Pix, payload); err != nil {
				return nil, err
			}
			for i := range f.Pix {
				f.Pix[i] += prev.Pix[i]
			}
			frames = append(frames, f)
			prev = f
		default:
			return nil, fmt.Errorf("%w: unknown frame kind %q", ErrCorrupt, kind)
		}
		if len(frames) > 1<<16 {
			return nil, fmt.Errorf("%w: too many frames", ErrCorrupt)
		}
	}
	return frames, nil
}

// Header is the initialization segment of a toy-codec Representation: what
// a decoder must know before the first segment.
type Header struct {
	Width, Height int
	FPS           int
}

var headerMagic = [4]byte{'T', 'O', 'Y', 'V'}

// MarshalBinary encodes h as "TOYV", width, height (16 bits each) and fps.
func (h Header) MarshalBinary() ([]byte, error) {
	if h.Width <= 0 || h.Width > 0xffff || h.Height <= 0 || h.Height > 0xffff || h.FPS <= 0 || h.FPS > 255 {
		return nil, fmt.Errorf("dash: header %+v out of range", h)
	}
	b := append([]byte(nil), headerMagic[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(h.Width))
	b = binary.BigEndian.AppendUint16(b, uint16(h.Height))
	return append(b, byte(h.FPS)), nil
}

// UnmarshalBinary decodes a header.
func (h *Header) UnmarshalBinary(b []byte) error {
	if len(b) != 9 || [4]byte(b[:4]) != headerMagic {
		return fmt.Errorf("%w: not a toy-codec header", ErrCorrupt)
	}
	h.Width = int(binary.BigEndian.Uint16(b[4:]))
	h.Height = int(binary.BigEndian.Uint16(b[6:]))
	h.FPS = int(b[8])
	if h.Width == 0 || h.Height == 0 || h.FPS == 0 || h.Width*h.Height > MaxPixels {
		return fmt.Errorf("%w: header %dx%d at %d fps", ErrCorrupt, h.Width, h.Height, h.FPS)
	}
	return nil
}
