// Package maildir is the mailbox store behind the IMAP server: Bob's
// mailbox of incoming messages, kept as Maildir directories (cur, new,
// tmp; D. J. Bernstein's format) with folders as Maildir++ subfolders, so
// that Dovecot, mutt and mbsync read the very same files.
//
// In the lecture's picture a mail server keeps one mailbox per user. Here a
// [Store] is one user's Maildir root (say /var/mail/hamburger.edu/bob/) and
// a [Mailbox] is INBOX (the root itself) or a folder (a subdirectory named
// ".Name", with "." separating levels of the hierarchy, as Maildir++
// prescribes):
//
//	bob/                      INBOX
//	  tmp/  new/  cur/        messages being written, delivered, seen
//	  .Archive/               folder "Archive"
//	  .Archive.2026/          folder "Archive.2026"
//	  appnet-uidlist          UIDVALIDITY, UIDNEXT and each message's UID
//	  dovecot-keywords        keyword names for the letters a..z
//	  subscriptions           subscribed folders, one a line
//	  appnet-uidvalidity      the last UIDVALIDITY of each mailbox name
//
// A message is one file. It is written in tmp/, flushed to disk (fsync),
// and only then renamed into new/ (a delivery from SMTP, [Mailbox.Deliver])
// or cur/ (an IMAP APPEND, [Mailbox.Append]), so a crash never leaves half a
// message where a reader can see it. Its file name carries a unique part,
// the size (",S=" as Dovecot writes it) and, after ":2,", its flags as
// letters: D draft, F flagged, R replied (IMAP \Answered), S seen,
// T trashed (IMAP \Deleted), and a..z for keywords named in
// dovecot-keywords.
//
// IMAP needs numbers that Maildir does not have: a UID for every message,
// stable for the life of the mailbox, and a UIDVALIDITY that changes only
// when the numbering starts over. They live in the file appnet-uidlist, an
// append-only log in the spirit of Dovecot's dovecot-uidlist:
//
//	appnet-uidlist 1 V1764111600 N3
//	1 1764111601.M12P345Q1.hamburger.edu,S=512
//	2 1764111602.M13P345Q2.hamburger.edu,S=733
//	-1
//	R3
//
// The first line holds the format version, UIDVALIDITY (V) and the UID the
// log started at (N); each further line gives a message (by the unique part
// of its file name) its UID, or, with a leading "-", records that the
// message is gone. UIDNEXT is one more than the highest UID ever written.
//
// A new numbering's UIDVALIDITY is the clock's seconds, unless a mailbox
// of that name already had that value or a greater one: then it is one
// more than the last. The last value of each name lives in
// appnet-uidvalidity at the root (a renamed folder takes its record along
// to its new name), so a folder deleted and created again, even within the
// same second or after a restart, never gets its old UIDVALIDITY back, and
// clients never take its new messages for the old ones under the same UIDs
// (RFC 3501 §2.3.1.1).
//
// A line "R<uid>" records who has seen what: IMAP calls a message \Recent
// in exactly one session, the first to open the mailbox read-write after
// it arrived. [Mailbox.ClaimRecent] hands that session the UIDs from the
// last R line up to UIDNEXT and writes a new R line, as Dovecot keeps a
// "first recent UID" in its index. (Moving new/ to cur/ is not enough to
// tell: APPEND, COPY and MOVE put recent messages straight into cur/, and
// STATUS or EXAMINE move files without claiming them.)
// [Mailbox.Sync] reads the log, picks up messages delivered to new/ (moving
// them to cur/), and numbers them, all under a file lock (flock(2);
// LockFileEx on Windows) on appnet-uidlist.lock, so deliveries and several
// IMAP sessions, in one process or many, agree on every number.
package maildir
