package bittorrent_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"appnet.dev/bittorrent"
)

// The slides' tit-for-tat, two rounds of Alice's choker: first she
// optimistically unchokes Bob, the newcomer; ten seconds later Bob sends
// to her faster than anyone and earns a regular slot, and the optimistic
// slot moves on.
func ExampleChoker() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := now.Add(-time.Hour)
	peers := []bittorrent.PeerStats{
		{ID: "c1", Interested: true, DownloadRate: 40 << 10, Connected: old, LastBlock: now},
		{ID: "c2", Interested: true, DownloadRate: 30 << 10, Connected: old, LastBlock: now},
		{ID: "c3", Interested: true, DownloadRate: 20 << 10, Connected: old, LastBlock: now},
		{ID: "c4", Interested: true, DownloadRate: 10 << 10, Connected: old, LastBlock: now},
		{ID: "bob", Interested: true, Connected: now},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alice := bittorrent.ChokerSlides()
	d := alice.Decide(bittorrent.ChokerState{}, peers, false, now, rng)
	fmt.Println("t=0s:", d.Choices)

	now = now.Add(10 * time.Second)
	peers[4].DownloadRate, peers[4].LastBlock = 80<<10, now // Bob reciprocates
	d = alice.Decide(d.State, peers, false, now, rng)
	fmt.Println("t=10s:", d.Choices)
	// Output:
	// t=0s: [{c1 top by rate} {c2 top by rate} {c3 top by rate} {c4 top by rate} {bob optimistic}]
	// t=10s: [{c1 top by rate} {c2 top by rate} {c3 top by rate} {c4 optimistic} {bob top by rate}]
}

// Rarest first: Alice holds four pieces, so random first is over; of the
// pieces her neighbour offers, she asks for the one fewest neighbours
// have, block by block, then the next rarest.
func ExamplePicker() {
	layout := bittorrent.Layout{Length: 8 * 2 * bittorrent.BlockSize, PieceLength: 2 * bittorrent.BlockSize}
	have := bittorrent.NewBitfield(8)
	peerHas := bittorrent.NewBitfield(8)
	for i := range 8 {
		if i < 4 {
			have.Set(i)
		}
		peerHas.Set(i)
	}
	in := bittorrent.PickInput{
		Have:         have,
		PeerHas:      peerHas,
		Availability: []int{5, 5, 5, 5, 3, 1, 2, 4},
		Want:         4,
	}
	for _, r := range (bittorrent.Picker{Layout: layout}).Pick(in, rand.New(rand.NewPCG(1, 2))) {
		fmt.Printf("%v: %v (held by %d)\n", r.Block, r.Reason, in.Availability[r.Piece])
	}
	// Output:
	// piece 5 [0+16384]: rarest first (held by 1)
	// piece 5 [16384+16384]: rarest first (held by 1)
	// piece 6 [0+16384]: rarest first (held by 2)
	// piece 6 [16384+16384]: rarest first (held by 2)
}
