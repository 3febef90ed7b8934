package main

// chapters lists the tour in the lecture's order. Each chapter lives in a
// file of its own in this directory.
func chapters() []chapter {
	return []chapter{
		{"sockets", "Socket programming: the uppercase application over UDP and TCP", socketsChapter},
		{"smtp", "E-mail: Alice sends a message to Bob over SMTP, in six steps", smtpChapter},
		{"imap", "E-mail access: Bob reads his mail over IMAP", imapChapter},
		{"dns", "DNS: the Network Utopia zone, served and queried", dnsChapter},
		{"resolve", "DNS resolution: engineering.nyu.edu asks for gaia.cs.umass.edu, iterated, recursive, cached", resolveChapter},
		{"update", "DNS registration: Network Utopia's NS and glue inserted into .com by UPDATE", updateChapter},
		{"p2p", "P2P file distribution: client-server vs P2P, measured against the slides' bounds", p2pChapter},
		{"bittorrent", "BitTorrent: a tracker, a seed and five leechers swap a file, rarest first and tit-for-tat", bittorrentChapter},
		{"dash", "Video streaming: encoding, DASH and playout buffering, under a bandwidth drop", dashChapter},
		{"cdn", "CDNs: Bob, netcinema.com and KingCDN — DNS redirection, caching edges, failover", cdnChapter},
	}
}
