// Package imap implements the Internet Message Access Protocol, IMAP4rev1
// (RFC 3501) with pieces of IMAP4rev2 (RFC 9051): the mail access protocol
// with which Bob's user agent reads the mailbox his mail server keeps.
//
// In the lecture's picture of e-mail, SMTP carries Alice's message from
// her user agent to her mail server and on to Bob's; it stops at Bob's
// mailbox. A mail access protocol takes it from there: IMAP keeps the
// messages on the server and lets the user agent retrieve them, delete
// them, and file them into folders. The server only speaks the protocol:
// the mail sits behind small interfaces that this package declares. A
// [Backend] checks the user's password and hands out the user's
// [Mailboxes] (INBOX and the folders); a [Mailbox] holds the messages,
// each with its UID and flags. [Users] serves Maildirs
// ([appnet.dev/imap/maildir]) that the SMTP server delivers into and
// Dovecot and mutt read too; [MemoryBackend] keeps everything in memory,
// and the server's tests run over both.
//
// A session moves through four states ([State]): not authenticated after
// the greeting, authenticated after LOGIN, selected after SELECT opens a
// mailbox, and logout. Every command is a tag, a name and arguments; the
// server answers with untagged data ("*") and a tagged status: OK, NO
// (refused) or BAD (malformed):
//
//	S: * OK [CAPABILITY IMAP4rev1 ...] hamburger.edu IMAP4rev1 service ready
//	C: a1 LOGIN bob hunter2
//	S: a1 OK Logged in
//	C: a2 SELECT INBOX
//	S: * 1 EXISTS
//	S: * OK [UIDVALIDITY 1764111600] UIDs valid
//	S: a2 OK [READ-WRITE] SELECT completed
//	C: a3 FETCH 1 (ENVELOPE BODY[TEXT])
//	S: * 1 FETCH (ENVELOPE (... "Searching for the meaning of life" ...) BODY[TEXT] {8}
//	S: Hi Bob!
//	S: )
//	S: a3 OK FETCH completed
//	C: a4 MOVE 1 Archive
//	S: * OK [COPYUID 1764111600 1 1] Moved
//	S: * 1 EXPUNGE
//	S: a4 OK MOVE completed
//	C: a5 LOGOUT
//	S: * BYE hamburger.edu logging out
//	S: a5 OK LOGOUT completed
//
// Setting Trace on a [Server] or a [Client] prints such a dialogue, with
// one difference: a transcript never shows a password. LOGIN's password,
// whether an atom, a quoted string or a literal, and everything the
// client sends for AUTHENTICATE (the initial response, the answers to
// the server's "+" challenges) print as "<redacted>" ("C: a1 LOGIN bob
// <redacted>"), so a transcript can be shared. The sessions of one server
// share its Trace and print whole lines in turn.
//
// Messages have two numbers: a sequence number (1..n, the session's own
// view, which shifts when messages are expunged) and a UID (fixed for the
// life of the mailbox). Each session keeps its own view: a message
// expunged by another session disappears from it only when the protocol
// allows an EXPUNGE response (never during FETCH, STORE or SEARCH), and
// mail delivered meanwhile arrives as "* n EXISTS" — at once in IDLE.
//
// A message is \Recent (RFC 3501 §2.3.2) in exactly one session: the first
// to SELECT its mailbox, or to hear of it while selected, after it arrived
// by delivery, APPEND, COPY or MOVE; the claim is kept by the store
// ([Mailbox.ClaimRecent]; a Maildir writes it in its uidlist) so that
// sessions in other processes agree. EXAMINE and STATUS show unclaimed messages as recent
// without taking them.
//
// The server advertises IMAP4rev2 beside IMAP4rev1. A client that sends
// "ENABLE IMAP4rev2" (answered "* ENABLED IMAP4rev2") gets the RFC 9051
// session: no \Recent flag and no RECENT response, a LIST response naming
// the mailbox in SELECT, SEARCH answered by ESEARCH (with RETURN MIN, MAX,
// COUNT and ALL; not SAVE), and mailbox names in UTF-8 instead of modified
// UTF-7. Not done: SEARCHRES ("$"), LIST-EXTENDED/LIST-STATUS, SPECIAL-USE,
// and the response code and flag changes that no client relies on.
//
// ENVELOPE and BODYSTRUCTURE describe a message without downloading it;
// they come from the message parser of [appnet.dev/smtp/message]
// ([AppendEnvelope], [AppendBodyStructure]), and the tests check them,
// RFC822.SIZE and BODY[section] fetches against Dovecot's answers for the
// same Maildir. Mailbox names travel in modified UTF-7
// ([EncodeMailboxName], [DecodeMailboxName]).
//
// The types:
//   - [Server] answers clients; a [Backend] ([Users], [MemoryBackend],
//     or a [BackendFunc]) checks passwords and hands out each user's
//     [Mailboxes]; [Maildir] turns a user's maildir.Store into them.
//   - [Client] is the user agent's side: [Client.Login], [Client.List],
//     [Client.Select], [Client.Fetch], [Client.Store], [Client.Search],
//     [Client.Append], [Client.Move], [Client.Expunge], [Client.Idle],
//     [Client.Logout].
//   - [SeqSet] is a set of message numbers ("1:3,7,10:*").
//
// APPEND takes several messages at once (MULTIAPPEND, RFC 3502): each is
// handed to the store as it arrives (an [Appender]; the Maildir writes it
// to tmp/), and they enter the mailbox together when the command is
// complete, or not at all. RENAME INBOX
// moves INBOX's messages into the new folder and leaves INBOX empty
// (RFC 3501 §6.3.5; Dovecot refuses it on a Maildir).
//
// Limits: a command line is at most [MaxLine] bytes outside literals,
// lists nest at most 32 deep, a literal's size is checked before the "+"
// that invites it (APPEND over the APPENDLIMIT gets NO [TOOBIG] at once),
// non-synchronising literals are LITERAL- (at most 4096 bytes), and one
// APPEND carries at most 1000 messages and four APPENDLIMITs in all. The
// client holds at most 256 MiB of one literal in memory, growing its
// buffer as the data arrives rather than trusting the announced size, and
// little more of one response; it waits [Client.CommandTimeout] at most
// for each response, so that a silent server cannot hang it.
package imap
