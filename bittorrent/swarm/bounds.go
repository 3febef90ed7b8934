package swarm

import "time"

// The slides' lower bounds on the minimum distribution time. Sizes are in
// bytes and rates in bytes per second; a rate of 0 means "unlimited" for a
// download and "contributes nothing" for an upload.

// ClientServerBound is the slides' bound on the time a single server with
// upload rate us needs to give a file of f bytes to n clients whose slowest
// download rate is dmin:
//
//	D_c-s ≥ max{ NF/u_s, F/d_min }
//
// The server must send N copies, and the slowest client must receive one.
// dmin = 0 means the clients' downloads are unlimited. With no clients
// there is nothing to distribute and the bound is 0.
func ClientServerBound(n int, f, us, dmin float64) time.Duration {
	if n <= 0 || f <= 0 {
		return 0
	}
	return seconds(max(float64(n)*f/us, over(f, dmin)))
}

// P2PBound is the slides' bound on the time a seed with upload rate us and
// n peers with upload rates u (one per peer; len(u) is N) need to give every
// peer the file:
//
//	D_P2P ≥ max{ F/u_s, F/d_min, NF/(u_s + Σu_i) }
//
// The seed must upload at least one copy, the slowest peer must download
// one, and together the N peers must receive NF bytes, which nobody can
// upload faster than u_s + Σu_i.
func P2PBound(f, us, dmin float64, u []float64) time.Duration {
	n := len(u)
	if n == 0 || f <= 0 {
		return 0
	}
	total := us
	for _, ui := range u {
		total += ui
	}
	return seconds(max(f/us, over(f, dmin), float64(n)*f/total))
}

// UniformP2PBound is [P2PBound] for n peers that all upload at rate u.
func UniformP2PBound(n int, f, us, u, dmin float64) time.Duration {
	if n <= 0 {
		return 0
	}
	rates := make([]float64, n)
	for i := range rates {
		rates[i] = u
	}
	return P2PBound(f, us, dmin, rates)
}

// over is f/rate, or 0 for an unlimited (zero) rate.
func over(f, rate float64) float64 {
	if rate <= 0 {
		return 0
	}
	return f / rate
}

// seconds converts a time in seconds to a Duration, rounding to the
// nanosecond; an infinite time (a zero upload rate) saturates.
func seconds(s float64) time.Duration {
	if s >= float64(1<<63-1)/1e9 {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(s*1e9 + 0.5)
}
