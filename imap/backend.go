package imap

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"strings"
	"time"
)

// What the server needs of the mail it serves: a Backend (the user
// database) hands out each user's Mailboxes, and a Mailbox holds the
// messages. Implemented on disk by the Maildir store (backend_maildir.go)
// and in memory (backend_memory.go).

// A Backend is the server's user database: LOGIN and AUTHENTICATE ask it
// to check a user's name and password, and it hands back that user's
// mailboxes. A wrong name or password is [ErrAuthFailed].
type Backend interface {
	Login(ctx context.Context, user, password string) (Mailboxes, error)
}

// BackendFunc adapts a function to a Backend.
type BackendFunc func(ctx context.Context, user, password string) (Mailboxes, error)

// Login calls f.
func (f BackendFunc) Login(ctx context.Context, user, password string) (Mailboxes, error) {
	return f(ctx, user, password)
}

// ErrAuthFailed is what a Backend returns for a wrong name or password.
var ErrAuthFailed = errors.New("imap: authentication failed")

// checkPassword checks user's password against a table of them, in a
// time that does not tell how much of it was right.
func checkPassword(passwords map[string]string, user, password string) error {
	want, ok := passwords[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 {
		return ErrAuthFailed
	}
	return nil
}

// Mailboxes are one user's mailboxes on the mail server: INBOX, where
// incoming messages arrive, and the folders the user files them into.
// The user agent manages them (CREATE, DELETE, RENAME, SUBSCRIBE) and
// opens one (SELECT) to work on its messages.
//
// Names are as stored: modified UTF-7, the levels of the hierarchy
// separated by "." ("Archive.2026"), and INBOX always spelled "INBOX".
// The server calls the methods from several sessions at once.
type Mailboxes interface {
	// List returns the name of every mailbox, INBOX first (LIST, LSUB).
	List() ([]string, error)
	// Mailbox returns the mailbox called name (SELECT, EXAMINE, STATUS,
	// APPEND, COPY), or ErrNoMailbox.
	Mailbox(name string) (Mailbox, error)
	// Create makes a mailbox, and the levels above it that are missing
	// (CREATE); ErrMailboxExists if there is one.
	Create(name string) error
	// Delete removes a mailbox and its messages (DELETE).
	Delete(name string) error
	// Rename gives a mailbox, and the levels below it, a new name
	// (RENAME). Renaming INBOX moves its messages into a new mailbox and
	// leaves INBOX empty (RFC 3501 §6.3.5).
	Rename(from, to string) error
	// Subscriptions returns the names the user subscribed to (LSUB).
	Subscriptions() ([]string, error)
	// Subscribe adds name to the subscriptions (on) or takes it out
	// (SUBSCRIBE, UNSUBSCRIBE).
	Subscribe(name string, on bool) error
}

// A Mailbox holds messages. Each has a UID, handed out in increasing order
// as messages arrive and never given again: the number a user agent keeps
// between sessions, valid as long as the mailbox's UIDVALIDITY stays the
// same. The server calls the methods from several sessions at once; what
// other sessions (or processes) change, it finds through Snapshot and
// Watch.
type Mailbox interface {
	// Snapshot returns the mailbox as it is now (SELECT, STATUS, and
	// every command after which the server tells the client what
	// changed).
	Snapshot() (Snapshot, error)
	// UIDValidity returns the mailbox's UIDVALIDITY, without the cost of
	// a Snapshot (APPENDUID, COPYUID).
	UIDValidity() uint32
	// Recent returns the lowest UID that no session has claimed as
	// \Recent: from it on, messages are recent to whoever looks without
	// claiming (EXAMINE, STATUS).
	Recent() (uint32, error)
	// ClaimRecent makes the caller the one session to which the messages
	// with UIDs from..to-1 are \Recent (RFC 3501 §2.3.2): those that
	// arrived since the last claim, by any session. from == to: none.
	ClaimRecent() (from, to uint32, err error)
	// Watch returns a channel that receives a value (at most one
	// pending) when the mailbox changes, so that IDLE reports it at once,
	// and a function that ends the watch. What the channel cannot tell
	// (say another process's changes) the server finds by polling
	// Snapshot.
	Watch() (changed <-chan struct{}, stop func())

	// Open returns the bytes of the message with the given UID, lines
	// ending in CRLF (FETCH BODY[], ENVELOPE, SEARCH TEXT), or
	// ErrNoMessage.
	Open(uid uint32) (io.ReadCloser, error)
	// Date returns a message's internal date: when it arrived
	// (INTERNALDATE, SEARCH SINCE).
	Date(uid uint32) (time.Time, error)

	// Append starts adding messages (APPEND).
	Append() Appender
	// SetFlags changes the flags of the messages with the given UIDs
	// (STORE, and FETCH setting \Seen) and returns those messages as they
	// are now. UIDs no longer in the mailbox are passed over.
	SetFlags(uids []uint32, op FlagOp, flags []string) ([]Message, error)
	// Expunge removes the messages with the given UIDs for good
	// (EXPUNGE, CLOSE, MOVE).
	Expunge(uids []uint32) error
	// CopyTo copies messages, with their flags and internal dates, into
	// dst, another mailbox of the same Mailboxes (COPY, MOVE). It
	// returns the UIDs it copied and the UIDs they got in dst, in the
	// same order.
	CopyTo(uids []uint32, dst Mailbox) (src, dstUIDs []uint32, err error)
}

// A Snapshot is a mailbox at one moment.
type Snapshot struct {
	Messages    []Message // sorted by UID; shared: neither side changes it
	UIDValidity uint32    // changes only when the UIDs start over
	UIDNext     uint32    // the UID the next message will get
	FirstUnseen int       // the index in Messages of the first message without \Seen; -1 if none
}

// A Message is one message of a mailbox, as a Snapshot lists it.
type Message struct {
	UID   uint32
	Flags []string // system flags (\Seen, \Deleted…) and keywords, sorted
	Size  int64    // in bytes; -1 if the Mailbox cannot tell without opening the message
	// ID, if not empty, stands for the message's bytes: the server keeps
	// what it parsed of a message (ENVELOPE, BODYSTRUCTURE) under the
	// mailbox's name and the ID, so a mailbox of that name never gives
	// the ID to other bytes, not even after DELETE and CREATE. (Maildir:
	// the unique part of the file name.)
	ID string
}

// HasFlag reports whether m carries flag (compared without case).
func (m *Message) HasFlag(flag string) bool {
	for _, f := range m.Flags {
		if strings.EqualFold(f, flag) {
			return true
		}
	}
	return false
}

// The system flags (RFC 3501 §2.3.2) that a mailbox stores.
const (
	flagSeen     = `\Seen`
	flagAnswered = `\Answered`
	flagFlagged  = `\Flagged`
	flagDeleted  = `\Deleted`
	flagDraft    = `\Draft`
)

// A FlagOp says how Mailbox.SetFlags changes flags: STORE's FLAGS,
// +FLAGS and -FLAGS.
type FlagOp int

const (
	FlagsReplace FlagOp = iota // FLAGS: the flags given, and no others
	FlagsAdd                   // +FLAGS: the flags given, added
	FlagsRemove                // -FLAGS: the flags given, taken away
)

// An Appender adds messages to a mailbox together, as APPEND with several
// messages asks (MULTIAPPEND, RFC 3502): Add keeps each message aside as
// its literal arrives, Commit puts them all in the mailbox, in order, and
// Discard drops what was not committed. So a client that vanishes
// half-way, or a message refused, leaves nothing stored.
type Appender interface {
	// Add keeps aside a message read from r (to its end; the server
	// bounds its size), with flags and an internal date (zero: now).
	// Bare LF line ends become CRLF.
	Add(r io.Reader, flags []string, date time.Time) error
	// Commit puts the messages added in the mailbox and returns their
	// UIDs: all of them or, failing, none.
	Commit() ([]uint32, error)
	// Discard drops the messages added and not committed; after Commit
	// it does nothing.
	Discard()
}

// Errors of Mailboxes and Mailbox that the server answers with a response
// code; wrap them to add detail (fmt.Errorf("%w: %s", ErrNoMailbox,
// name)). A *StatusResponse error is answered as NO with its code and
// text ("NO [CANNOT] INBOX cannot be deleted"); any other error is logged
// and answered NO [SERVERBUG].
var (
	ErrNoMailbox     = errors.New("imap: no such mailbox")        // NO [NONEXISTENT]; [TRYCREATE] for APPEND and COPY
	ErrMailboxExists = errors.New("imap: mailbox already exists") // NO [ALREADYEXISTS]
	ErrNoMessage     = errors.New("imap: no such message")        // NO [NONEXISTENT]
)

// isInbox reports whether name is INBOX, the one mailbox name that
// ignores case.
func isInbox(name string) bool { return strings.EqualFold(name, "INBOX") }

// delimiter separates the levels of a mailbox name ("Archive.2026").
const delimiter = "."
