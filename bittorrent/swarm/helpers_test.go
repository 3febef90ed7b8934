package swarm

// slideConfig is the slides' example with n peers: a 64 MiB file in 256
// pieces of 256 KiB, F/u = 1 hour, u_s = 10u, d = u_s.
func slideConfig(n int) Config { return SlideExample(n) }

// broadbandConfig is the same swarm on today's home links: peers upload at
// 1 Mbit/s, so F/u is about 9 minutes, and a piece crosses one of four
// upload slots in about 8 s, a little under a choking round.
func broadbandConfig(n int) Config {
	const u = 1e6 / 8
	return Config{Peers: n, FileSize: 256 * DefaultPieceSize, SeedUpload: 10 * u, Upload: u, Download: 10 * u}
}
