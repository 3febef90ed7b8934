// Package smtp implements the Simple Mail Transfer Protocol, RFC 5321:
// a server, a client and a mail server's outgoing message queue, with the
// extensions mail needs today (ESMTP: PIPELINING RFC 2920, SIZE RFC 1870,
// 8BITMIME RFC 6152, SMTPUTF8 RFC 6531, ENHANCEDSTATUSCODES RFC 2034 and
// 3463, STARTTLS RFC 3207, AUTH RFC 4954, CHUNKING RFC 3030, delivery
// status notifications RFC 3464).
//
// # The lecture's story
//
// E-mail has three major components: user agents, mail servers, and SMTP
// between them. Alice sends e-mail to Bob in six steps:
//
//  1. Alice uses her user agent to compose a message "to" bob@hamburger.edu.
//  2. Her user agent sends it to her mail server (crepes.fr); the message
//     is placed in the message queue — a Queue here.
//  3. The client side of SMTP opens a TCP connection with Bob's mail
//     server, found by looking up hamburger.edu's MX records in the DNS
//     (a Resolver; DNSResolver asks package dns).
//  4. The SMTP client (Client) sends Alice's message over the connection.
//  5. Bob's mail server (Server) places the message in Bob's mailbox (its
//     Backend: Maildir here, or the IMAP store of imap/maildir, as
//     examples/mail wires it).
//  6. Bob invokes his user agent to read the message (package imap).
//
// SMTP is push, where HTTP is pull; both are ASCII commands and replies
// with status codes. A transfer has three phases — handshaking (220 and
// HELO), transfer of messages (MAIL FROM, RCPT TO, DATA), closure (QUIT) —
// and one persistent connection may carry many messages. The sample
// interaction of the slides runs as is against Server (see Example):
//
//	S: 220 hamburger.edu
//	C: HELO crepes.fr
//	S: 250 Hello crepes.fr, pleased to meet you
//	C: MAIL FROM: <alice@crepes.fr>
//	S: 250 alice@crepes.fr... Sender ok
//	C: RCPT TO: <bob@hamburger.edu>
//	S: 250 bob@hamburger.edu ... Recipient ok
//	C: DATA
//	S: 354 Enter mail, end with "." on a line by itself
//	C: Do you like ketchup?
//	C: How about pickles?
//	C: .
//	S: 250 Message accepted for delivery
//	C: QUIT
//	S: 221 hamburger.edu closing connection
//
// The message ends at CRLF.CRLF, a line holding only a dot; a line of the
// message that starts with a dot gets another one (dot-stuffing).
// MAIL FROM and RCPT TO are the envelope (Envelope, Path), not the
// message's From: and To: header lines (package smtp/message): that is
// how Bcc works.
//
// # Server
//
// Server looks like net/http's: fill in Domain and Backend, then Serve a
// listener; Shutdown and Close stop it. Every session's context derives
// from one the server owns: Close (or Shutdown, when its own context
// expires) cancels it, so a Backend stuck in Deliver is told to give up,
// and both wait for every session to end. Its session is a visible state
// machine (greeted → ready → mail → rcpt, one switch in dispatch). It
// refuses to be an open relay (RCPT to a domain not in LocalDomains gets
// 554 5.7.1 unless the session authenticated and the Backend relays: a
// Relayer, with a queue for other domains), offers STARTTLS when
// TLSConfig is set and AUTH PLAIN/LOGIN only under TLS, enforces RFC 5321
// §4.5.3 limits (512-octet command lines, 1000 text lines… 100
// recipients, SIZE while streaming) and timeouts, rejects any CR or LF not
// part of a CRLF with 550 5.5.2 (the SMTP smuggling defence), and prepends
// a Received: trace field. BDAT chunks (CHUNKING) are streamed to the
// Backend like DATA; a refused BDAT still has its octets read, so they are
// never taken for commands. A Backend receives each accepted message and
// must store it durably before Deliver returns; only then does the
// server answer 250. MemoryBackend, Discard, BackendFunc, RecipientFunc and
// Maildir are provided; examples/mail adapts imap/maildir's store.
//
// "Try it with telnet", as the slides say: run examples/smtp/server and
// type the sample interaction with nc -C 127.0.0.1 2525.
//
// # Client
//
// Client speaks to a server over one connection: Hello (EHLO, falling back
// to HELO), StartTLS, Auth, then Send — MAIL, RCPT for each recipient and
// DATA in one round trip when the server offers PIPELINING — or Mail, Rcpt
// and Data one by one. Every reply is a Reply, which is also the error
// when a command fails: Reply.Code, Reply.Enhanced.
//
// # Queue
//
// Queue is the mail server's message queue: messages submitted to it are
// written to disk first, then delivered to each recipient's domain by MX
// lookup — one delivery per destination domain, up to Queue.Workers at
// once, so a slow mail server delays only its own domain's mail —
// retried on temporary failures with a backoff schedule
// (RetrySchedule, a pure function of the attempt count), bounced to the
// sender with an RFC 3464 report on permanent failure or expiry, and
// warned about when delayed. Time is injected (Queue.Now), so tests run
// the five-day lifetime in virtual time. Queue is also a Backend: a
// Server for crepes.fr whose Backend is its Queue is Alice's mail server,
// accepting her submission (after AUTH) and relaying it. The queue's
// files are written through tmp/ with fsync and renames, so a crash
// (kill -9) loses nothing that was acknowledged, and redelivers only the
// deliveries that were in flight. Its state machine is one pure function
// (after an attempt: next attempt, expiry, which notices to send), and so
// is its retry schedule.
package smtp
