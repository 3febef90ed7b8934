package dash

// Synthetic is a video made up on demand: a shaded background with moving
// shapes, changing completely at every scene cut. Any frame can be drawn at
// any resolution, so one Synthetic is the source of every Representation.
// The same Seed always gives the same video.
type Synthetic struct {
	FPS         int    // frames per second (24 if zero)
	SceneFrames int    // frames between scene cuts (0: one scene)
	Seed        uint64 // picks the scenes' colours and shapes
}

func (s Synthetic) fps() int {
	if s.FPS <= 0 {
		return 24
	}
	return s.FPS
}

// mix is SplitMix64: a deterministic hash for the scene's choices.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type shape struct {
	round        bool
	colour       uint8
	x, y, vx, vy float64 // centre and velocity, in frame widths/heights per second
	halfW, halfH float64
}

type scene struct {
	base, slope uint8 // background: base + slope·x/width
	vertical    bool
	shapes      []shape
}

func (s Synthetic) scene(n int) scene {
	r := mix(s.Seed ^ uint64(n)*0x632be59bd9b4e019)
	next := func() float64 { r = mix(r); return float64(r>>11) / (1 << 53) }
	sc := scene{
		base:     uint8(next() * 160),
		slope:    uint8(16 + next()*80),
		vertical: next() < 0.5,
	}
	k := 2 + int(next()*3)
	for i := 0; i < k; i++ {
		sc.shapes = append(sc.shapes, shape{
			round:  next() < 0.5,
			colour: uint8(next() * 256),
			x:      next(), y: next(),
			vx: (next() - 0.5) * 0.6, vy: (next() - 0.5) * 0.6,
			halfW: 0.05 + next()*0.15, halfH: 0.05 + next()*0.2,
		})
	}
	return sc
}

// Frame draws frame i at w×h pixels.
func (s Synthetic) Frame(i, w, h int) Frame {
	n := 0
	if s.SceneFrames > 0 {
		n = i / s.SceneFrames
	}
	sc := s.scene(n)
	t := float64(i) / float64(s.fps())
	f := NewFrame(w, h)
	// The background: a shade across the frame plus a fine static
	// texture (in a 160×90 grid, whatever the resolution) that costs bits
	// at fine quantizer steps and vanishes at coarse ones.
	tex := uint64(n)*0x2545f4914f6cdd1d ^ s.Seed
	// The shade and the texture's column depend on x (or y) alone, and a
	// texture row on y alone: work them out once, not for every pixel.
	shade := make([]uint8, max(w, h))
	for i := range shade {
		if sc.vertical && i < h {
			shade[i] = uint8(float64(i) / float64(h) * float64(sc.slope))
		} else if !sc.vertical && i < w {
			shade[i] = uint8(float64(i) / float64(w) * float64(sc.slope))
		}
	}
	col := make([]int, w)
	for x := range col {
		col[x] = x * 160 / w
	}
	var row [160]uint8
	lastTy := uint64(1 << 63)
	for y := 0; y < h; y++ {
		ty := uint64(y * 90 / h)
		if ty != lastTy {
			for tx := range row {
				row[tx] = uint8(mix(tex^ty<<8^uint64(tx)) & 7)
			}
			lastTy = ty
		}
		line := f.Pix[y*w : (y+1)*w]
		for x := range line {
			sh := shade[x]
			if sc.vertical {
				sh = shade[y]
			}
			line[x] = sc.base + sh + row[col[x]]
		}
	}
	for _, sh := range sc.shapes {
		cx := bounce(sh.x + sh.vx*t)
		cy := bounce(sh.y + sh.vy*t)
		x0, x1 := int((cx-sh.halfW)*float64(w)), int((cx+sh.halfW)*float64(w))
		y0, y1 := int((cy-sh.halfH)*float64(h)), int((cy+sh.halfH)*float64(h))
		for y := max(y0, 0); y < min(y1, h); y++ {
			for x := max(x0, 0); x < min(x1, w); x++ {
				if sh.round {
					dx := (float64(x)/float64(w) - cx) / sh.halfW
					dy := (float64(y)/float64(h) - cy) / sh.halfH
					if dx*dx+dy*dy > 1 {
						continue
					}
				}
				f.Pix[y*w+x] = sh.colour
			}
		}
	}
	return f
}

// bounce folds a position into [0, 1] so shapes bounce off the edges.
func bounce(p float64) float64 {
	p -= 2 * float64(int(p/2))
	if p < 0 {
		p += 2
	}
	if p > 1 {
		p = 2 - p
	}
	return p
}
