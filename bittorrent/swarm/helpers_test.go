package swarm

// slideConfig is the slides' example with n peers: a 64 MiB file in 256
// pieces of 256 KiB, F/u = 1 hour, u_s = 10u, d = u_s.
func slideConfig(n int) Config {
	f := int64(256 * DefaultPieceSize)
	u := float64(f) / 3600
	return Config{Peers: n, FileSize: f, SeedUpload: 10 * u, Upload: u, Download: 10 * u}
}
