package swarm_test

import (
	"fmt"
	"time"

	"appnet.dev/bittorrent/swarm"
)

// The slides' example: client upload rate u, F/u = 1 hour, u_s = 10u,
// d_min ≥ u_s. Client-server grows linearly in N; P2P grows too, but so
// does its capacity.
func Example_bounds() {
	const (
		u  = 1.0
		f  = 3600 * u // F/u = 1 hour
		us = 10 * u
		d  = us
	)
	fmt.Println(" N  client-server  P2P")
	for _, n := range []int{0, 5, 10, 20, 35} {
		cs := swarm.ClientServerBound(n, f, us, d)
		p2p := swarm.UniformP2PBound(n, f, us, u, d)
		fmt.Printf("%2d  %13.2f  %4.2f\n", n, cs.Hours(), p2p.Hours())
	}
	// Output:
	//  N  client-server  P2P
	//  0           0.00  0.00
	//  5           0.50  0.33
	// 10           1.00  0.50
	// 20           2.00  0.67
	// 35           3.50  0.78
}

// A server sends ten clients a copy each: NF/u_s, as the slide says.
func ExampleRun_clientServer() {
	cfg := swarm.SlideExample(10)
	cfg.Mode = swarm.ClientServer
	r, err := swarm.Run(cfg)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s to %d clients: %v (bound %v)\n", cfg.Mode, cfg.Peers, r.Time.Round(time.Second), r.Bound.Round(time.Second))
	// Output:
	// client-server to 10 clients: 1h0m0s (bound 1h0m0s)
}

// A BitTorrent swarm of ten peers, with the real rarest-first picker and
// the mainline choker, against the P2P bound.
func ExampleRun_p2p() {
	r, err := swarm.Run(swarm.SlideExample(10))
	if err != nil {
		panic(err)
	}
	fmt.Printf("P2P bound %v; %d peers done; within 10%% of the bound: %v\n",
		r.Bound.Round(time.Second), r.Completed(), r.Efficiency >= 0.9)
	// Output:
	// P2P bound 30m0s; 10 peers done; within 10% of the bound: true
}
