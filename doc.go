// Package appnet is the Internet's application layer, written by hand in Go
// to be read beside a networking course's lecture slides.
//
// Each topic of the application-layer chapter lives in its own package, in
// the order the slides take them:
//
//   - [appnet.dev/sockets]: socket programming. The Berkeley procedures
//     (Socket, Bind, Listen, Accept, Connect, Send, Recv, SendTo, RecvFrom,
//     Close), the UDP and TCP "uppercase" client/server pairs, and the
//     plumbing the text protocols share (transcripts, line reading with
//     limits, throttled connections, a server's lifecycle).
//     [appnet.dev/sockets/web] is the chapter's Web server assignment grown
//     up: HTTP/1.1 on a TCP socket, serving the DASH, CDN and tracker
//     handlers below.
//   - [appnet.dev/smtp] and [appnet.dev/smtp/message]: e-mail. SMTP
//     (RFC 5321) with its three phases, the mail server's message queue,
//     and the message format (RFC 5322, MIME) that SMTP carries.
//   - [appnet.dev/imap]: mail access. IMAP (RFC 3501, RFC 9051) over
//     a Backend: Maildir mailboxes ([appnet.dev/imap/maildir]) or memory.
//   - [appnet.dev/dns]: the Domain Name System. Messages, records and
//     zones (RFC 1034, RFC 1035), authoritative servers, the
//     root/TLD/authoritative hierarchy, iterated and recursive resolution,
//     caching, dynamic update.
//   - [appnet.dev/bittorrent]: peer-to-peer file distribution. Bencode,
//     torrents, trackers, the peer wire protocol (BEP 3), rarest first,
//     tit-for-tat choking, and a swarm simulator that measures the
//     distribution time against the slides' bounds.
//   - [appnet.dev/dash]: video streaming. A toy codec showing spatial and
//     temporal coding, the DASH manifest (MPD), a segment server, and a
//     player with a playout buffer and adaptive bitrate rules.
//   - [appnet.dev/cdn]: content distribution networks. Caching edges,
//     request routing by DNS and by HTTP redirect, consistent hashing, and
//     the "enter deep" versus "bring home" trade-off.
//
// The programs in examples run each protocol as a client/server pair;
// examples/tour runs every chapter end to end on loopback and prints the
// dialogues the way the slides do:
//
//	go run ./examples/tour
//
// The lecture's closing slide names the themes every package comes back
// to: request/reply exchanges with status codes, headers and data;
// centralised (DNS root, a CDN's origin) versus decentralised (BitTorrent)
// designs; stateless (DNS over UDP, HTTP) versus stateful (SMTP and IMAP
// sessions) servers; scalability; reliable (TCP) versus unreliable (UDP)
// transfer; and complexity kept at the network's edge.
package appnet
