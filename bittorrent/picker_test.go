package bittorrent

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func bitfield(s string) Bitfield {
	f := NewBitfield(len(s))
	for i, c := range s {
		if c == '1' {
			f.Set(i)
		}
	}
	return f
}

// pieces lists the distinct pieces of the requests, in order of first use.
func pieces(rs []Request) []int {
	var ps []int
	seen := map[int]bool{}
	for _, r := range rs {
		if !seen[r.Piece] {
			seen[r.Piece] = true
			ps = append(ps, r.Piece)
		}
	}
	return ps
}

func TestPickerRarestFirst(t *testing.T) {
	// 8 pieces of 2 blocks each.
	l := Layout{Length: 8 * 2 * BlockSize, PieceLength: 2 * BlockSize}
	tests := []struct {
		name   string
		have   string
		peer   string
		avail  []int
		want   int
		pieces []int
	}{
		{"rarest of what the peer has", "11110000", "11111111", []int{5, 5, 5, 5, 3, 1, 2, 4}, 8, []int{5, 6, 4, 7}},
		{"skips what the peer lacks", "11110000", "11110110", []int{5, 5, 5, 5, 3, 1, 2, 4}, 8, []int{5, 6}},
		{"skips what we have", "11111100", "11111111", []int{1, 1, 1, 1, 1, 1, 9, 8}, 8, []int{7, 6}},
		{"want limits", "11110000", "11111111", []int{5, 5, 5, 5, 3, 1, 2, 4}, 3, []int{5, 6}},
		{"nothing to get", "11110000", "11110000", nil, 8, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := PickInput{Have: bitfield(tt.have), PeerHas: bitfield(tt.peer), Availability: tt.avail, Want: tt.want}
			got := Picker{Layout: l}.Pick(in, rand.New(rand.NewPCG(1, 2)))
			if diff := cmp.Diff(tt.pieces, pieces(got)); diff != "" {
				t.Errorf("pieces (-want +got):\n%s", diff)
			}
			if len(got) > tt.want {
				t.Errorf("got %d requests, want at most %d", len(got), tt.want)
			}
			for _, r := range got {
				if r.Reason != PickRarest {
					t.Errorf("%v: reason %v, want rarest first", r.Block, r.Reason)
				}
			}
		})
	}
}

func TestPickerRandomFirst(t *testing.T) {
	l := Layout{Length: 64 * BlockSize, PieceLength: BlockSize}
	peer := NewBitfield(64)
	peer.SetAll()
	avail := make([]int, 64)
	for i := range avail {
		avail[i] = 5
	}
	avail[0] = 1 // the rarest piece; random first ignores it
	seen := map[int]bool{}
	for seed := range uint64(20) {
		in := PickInput{Have: NewBitfield(64), PeerHas: peer, Availability: avail, Want: 1}
		got := Picker{Layout: l}.Pick(in, rand.New(rand.NewPCG(seed, 0)))
		if len(got) != 1 || got[0].Reason != PickRandomFirst {
			t.Fatalf("seed %d: got %v, want one random-first request", seed, got)
		}
		seen[got[0].Piece] = true
	}
	if len(seen) < 5 {
		t.Errorf("20 seeds chose only %d distinct first pieces: not random", len(seen))
	}
	// With RandomFirst pieces held, rarest first takes over.
	have := NewBitfield(64)
	for i := 10; i < 14; i++ {
		have.Set(i)
	}
	got := Picker{Layout: l}.Pick(PickInput{Have: have, PeerHas: peer, Availability: avail, Want: 1}, rand.New(rand.NewPCG(1, 1)))
	if want := []Request{{Block{0, 0, BlockSize}, PickRarest}}; !cmp.Equal(got, want) {
		t.Errorf("after 4 pieces got %v, want %v", got, want)
	}
}

func TestPickerPartialFirst(t *testing.T) {
	// 4 pieces of 4 blocks; piece 2 is started: block 0 done, block 1 in
	// flight to another peer.
	l := Layout{Length: 16 * BlockSize, PieceLength: 4 * BlockSize}
	in := PickInput{
		Have:         bitfield("1100"),
		PeerHas:      bitfield("1111"),
		Availability: []int{1, 1, 5, 1},
		Partial:      []Partial{{Piece: 2, Done: []bool{true, false, false, false}, Pending: []int{0, 1, 0, 0}}},
		InFlight:     []Block{{2, 3 * BlockSize, BlockSize}},
		Want:         3,
	}
	got := Picker{Layout: l, RandomFirst: -1}.Pick(in, rand.New(rand.NewPCG(1, 1)))
	want := []Request{
		{Block{2, 2 * BlockSize, BlockSize}, PickPartial},
		{Block{3, 0, BlockSize}, PickRarest},
		{Block{3, BlockSize, BlockSize}, PickRarest},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPickerEndgame(t *testing.T) {
	l := Layout{Length: 4 * BlockSize, PieceLength: 2 * BlockSize}
	in := PickInput{
		Have:    bitfield("10"),
		PeerHas: bitfield("11"),
		Partial: []Partial{{Piece: 1, Done: []bool{false, false}, Pending: []int{2, 1}}},
		Want:    4,
	}
	p := Picker{Layout: l, EndgameCopies: 3}
	if !p.Endgame(in) {
		t.Fatal("Endgame = false with every missing block requested")
	}
	got := p.Pick(in, rand.New(rand.NewPCG(1, 1)))
	want := []Request{
		{Block{1, BlockSize, BlockSize}, PickEndgame}, // fewest requests first
		{Block{1, 0, BlockSize}, PickEndgame},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Never twice to the same peer.
	in.InFlight = []Block{{1, BlockSize, BlockSize}}
	got = p.Pick(in, rand.New(rand.NewPCG(1, 1)))
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("with one in flight (-want +got):\n%s", diff)
	}
	// At most EndgameCopies requests per block (2 by default).
	in.InFlight = nil
	got = Picker{Layout: l}.Pick(in, rand.New(rand.NewPCG(1, 1)))
	if diff := cmp.Diff(want[:1], got); diff != "" {
		t.Errorf("with two copies at most (-want +got):\n%s", diff)
	}
	// A block nobody asked for yet means no endgame.
	in.Partial[0].Pending[1] = 0
	in.InFlight = nil
	if p.Endgame(in) {
		t.Error("Endgame = true with an unrequested block")
	}
	got = p.Pick(in, rand.New(rand.NewPCG(1, 1)))
	if diff := cmp.Diff([]Request{{Block{1, BlockSize, BlockSize}, PickPartial}}, got); diff != "" {
		t.Errorf("outside endgame (-want +got):\n%s", diff)
	}
}

func TestPickerShortLastPiece(t *testing.T) {
	l := Layout{Length: BlockSize*3 + 100, PieceLength: 2 * BlockSize}
	got := Picker{Layout: l, RandomFirst: -1}.Pick(PickInput{Have: bitfield("10"), PeerHas: bitfield("11"), Want: 10}, rand.New(rand.NewPCG(1, 1)))
	want := []Request{{Block{1, 0, BlockSize}, PickRarest}, {Block{1, BlockSize, 100}, PickRarest}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestQueueDepth(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		want int
	}{
		{0, MinQueue},
		{100 << 10, 12},
		{10 << 10, MinQueue},
		{2 << 20, 256},
		{1 << 30, MaxQueue},
	} {
		if got := QueueDepth(tt.rate); got != tt.want {
			t.Errorf("QueueDepth(%v) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

func TestBitfield(t *testing.T) {
	f := bitfield("1010000001")
	if got, want := f.Bytes(), []byte{0xa0, 0x40}; !cmp.Equal(got, want) {
		t.Errorf("Bytes = %x, want %x", got, want)
	}
	g, err := ParseBitfield([]byte{0xa0, 0x40}, 10)
	if err != nil || g.String() != "1010000001" || g.Count() != 3 {
		t.Errorf("ParseBitfield = %v, %v", g, err)
	}
	for _, bad := range [][]byte{{0xa0}, {0xa0, 0x40, 0}, {0xa0, 0x60}} {
		if _, err := ParseBitfield(bad, 10); err != ErrBitfield {
			t.Errorf("ParseBitfield(%x) err = %v, want ErrBitfield", bad, err)
		}
	}
	if f.Has(-1) || f.Has(10) {
		t.Error("Has out of range = true")
	}
}

func TestLayout(t *testing.T) {
	l := Layout{Length: 5*BlockSize + 7, PieceLength: 2 * BlockSize}
	if l.NumPieces() != 3 || l.PieceSize(2) != BlockSize+7 || l.NumBlocks(2) != 2 || l.Block(2, 1) != (Block{2, BlockSize, 7}) {
		t.Errorf("layout: %d pieces, last %d bytes, %d blocks, %v", l.NumPieces(), l.PieceSize(2), l.NumBlocks(2), l.Block(2, 1))
	}
	for _, tt := range []struct {
		b    Block
		want bool
	}{
		{Block{0, 0, BlockSize}, true},
		{Block{2, BlockSize, 7}, true},
		{Block{2, BlockSize, 8}, false}, // beyond the piece
		{Block{3, 0, 1}, false},
		{Block{0, -1, 1}, false},
		{Block{0, 0, 0}, false},
		{Block{0, 0, 2 * BlockSize}, false}, // longer than allowed
	} {
		if got := l.Valid(tt.b, BlockSize); got != tt.want {
			t.Errorf("Valid(%v) = %v, want %v", tt.b, got, tt.want)
		}
	}
}

// The picker runs for every request a peer makes (half a million times in
// a simulated swarm of a thousand): with a reused buffer it must not
// allocate, whether it finishes a partial piece, picks the rarest, or is in
// endgame.
func TestPickerAllocs(t *testing.T) {
	l := Layout{Length: 256 * 16 * BlockSize, PieceLength: 16 * BlockSize}
	have, peer := NewBitfield(256), NewBitfield(256)
	peer.SetAll()
	avail := make([]int, 256)
	for i := range avail {
		avail[i] = 1 + i%7
		if i < 200 {
			have.Set(i)
		}
	}
	partial := []Partial{
		{Piece: 200, Done: make([]bool, 16), Pending: make([]int, 16)},
		{Piece: 201, Done: make([]bool, 16), Pending: make([]int, 16)},
	}
	partial[0].Done[0] = true
	for j := range partial[1].Pending {
		partial[1].Pending[j] = 1
	}
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]Request, 0, 64)
	var got []Request
	for _, want := range []int{1, 40} {
		in := PickInput{Have: have, PeerHas: peer, Availability: avail, Partial: partial, Want: want}
		allocs := testing.AllocsPerRun(100, func() { got = Picker{Layout: l}.AppendPick(buf[:0], in, rng) })
		if allocs != 0 {
			t.Errorf("Want %d: %v allocations per pick, want 0", want, allocs)
		}
		if len(got) != want || got[0].Piece != 200 || got[0].Reason != PickPartial {
			t.Errorf("Want %d: got %v, want %d requests starting with piece 200's", want, got[:min(len(got), 3)], want)
		}
	}
	// Endgame: every block of the only missing piece is requested once.
	one := NewBitfield(256)
	one.SetAll()
	one.Clear(201)
	in := PickInput{Have: one, PeerHas: peer, Availability: avail, Partial: partial[1:], Want: 4}
	allocs := testing.AllocsPerRun(100, func() { got = Picker{Layout: l}.AppendPick(buf[:0], in, rng) })
	if allocs != 0 || len(got) != 4 || got[0].Reason != PickEndgame {
		t.Errorf("endgame: %v allocations, got %v; want 0 and 4 endgame requests", allocs, got)
	}
}
