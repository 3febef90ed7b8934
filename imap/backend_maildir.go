package imap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"appnet.dev/imap/maildir"
)

// Users is a Backend that serves Dir/<user>/ as each user's Maildir, with
// passwords from a table (as read from "name:password" lines by
// ParseUsers). It keeps one maildir.Store per user so that all sessions of
// a user share mailbox state and see each other's changes at once.
type Users struct {
	Dir       string
	Passwords map[string]string

	mu    sync.Mutex
	users map[string]*maildirMailboxes
}

// Login implements Backend.
func (u *Users) Login(ctx context.Context, user, password string) (Mailboxes, error) {
	if err := checkPassword(u.Passwords, user, password); err != nil {
		return nil, err
	}
	return u.mailboxes(user)
}

// Store returns the Maildir of user (whose password is not checked), for
// a mail server that delivers into it.
func (u *Users) Store(user string) (*maildir.Store, error) {
	m, err := u.mailboxes(user)
	if err != nil {
		return nil, err
	}
	return m.store, nil
}

func (u *Users) mailboxes(user string) (*maildirMailboxes, error) {
	if user == "" || strings.ContainsAny(user, "/\\") || user[0] == '.' {
		return nil, fmt.Errorf("imap: bad user name %q", user)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if m := u.users[user]; m != nil {
		return m, nil
	}
	s, err := maildir.Open(filepath.Join(u.Dir, user))
	if err != nil {
		return nil, err
	}
	if u.users == nil {
		u.users = make(map[string]*maildirMailboxes)
	}
	m := newMaildirMailboxes(s)
	u.users[user] = m
	return m, nil
}

// ParseUsers reads "name:password" lines (blank lines and lines starting
// with "#" are skipped).
func ParseUsers(r io.Reader) (map[string]string, error) {
	out := make(map[string]string)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, pass, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("imap: users line %d: want name:password", n)
		}
		out[name] = pass
	}
	return out, sc.Err()
}

// Maildir returns a user's Maildir as the server's Mailboxes. Keep one per
// Store, as Users does: its mailboxes remember the message list they last
// handed out, which saves sessions work.
func Maildir(store *maildir.Store) Mailboxes { return newMaildirMailboxes(store) }

// maildirMailboxes is a maildir.Store seen as Mailboxes.
type maildirMailboxes struct {
	store *maildir.Store

	mu    sync.Mutex
	boxes map[string]*maildirBox // by name, for as long as the Store keeps the mailbox
}

func newMaildirMailboxes(s *maildir.Store) *maildirMailboxes {
	return &maildirMailboxes{store: s, boxes: make(map[string]*maildirBox)}
}

func (m *maildirMailboxes) List() ([]string, error) {
	names, err := m.store.List()
	return names, fromMaildir(err)
}

func (m *maildirMailboxes) Mailbox(name string) (Mailbox, error) {
	box, err := m.store.Mailbox(name)
	if err != nil {
		return nil, fromMaildir(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.boxes[box.Name()]; b != nil && b.box == box {
		return b, nil
	}
	b := &maildirBox{box: box}
	m.boxes[box.Name()] = b
	return b, nil
}

func (m *maildirMailboxes) Create(name string) error { return fromMaildir(m.store.Create(name)) }
func (m *maildirMailboxes) Delete(name string) error { return fromMaildir(m.store.Delete(name)) }

func (m *maildirMailboxes) Rename(from, to string) error {
	return fromMaildir(m.store.Rename(from, to))
}

func (m *maildirMailboxes) Subscriptions() ([]string, error) {
	names, err := m.store.Subscriptions()
	return names, fromMaildir(err)
}

func (m *maildirMailboxes) Subscribe(name string, on bool) error {
	return fromMaildir(m.store.Subscribe(name, on))
}

// maildirBox is a maildir.Mailbox seen as a Mailbox.
type maildirBox struct {
	box *maildir.Mailbox

	mu   sync.Mutex
	from []maildir.Message // the list last handed out,
	to   []Message         // as the server sees it
}

func (b *maildirBox) Snapshot() (Snapshot, error) {
	msgs, validity, next, firstUnseen, err := b.box.Snapshot()
	if err != nil {
		return Snapshot{}, fromMaildir(err)
	}
	return Snapshot{Messages: b.messages(msgs), UIDValidity: validity, UIDNext: next, FirstUnseen: firstUnseen}, nil
}

// messages turns the Maildir's list into the server's, once for each list
// the Maildir hands out, so that an unchanged mailbox gives the same slice.
func (b *maildirBox) messages(msgs []maildir.Message) []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(msgs) == len(b.from) && (len(msgs) == 0 || &msgs[0] == &b.from[0]) {
		return b.to
	}
	out := make([]Message, len(msgs))
	for i := range msgs {
		out[i] = fromMaildirMessage(msgs[i])
	}
	b.from, b.to = msgs, out
	return out
}

func fromMaildirMessage(m maildir.Message) Message {
	id, _, _ := strings.Cut(m.Name, ":") // the unique part, which stays when the flags change
	return Message{UID: m.UID, Flags: m.Flags, Size: m.Size, ID: id}
}

func (b *maildirBox) UIDValidity() uint32 { return b.box.UIDValidity() }

func (b *maildirBox) Recent() (uint32, error) {
	r, err := b.box.Recent()
	return r, fromMaildir(err)
}

func (b *maildirBox) ClaimRecent() (from, to uint32, err error) {
	from, to, err = b.box.ClaimRecent()
	return from, to, fromMaildir(err)
}

func (b *maildirBox) Watch() (<-chan struct{}, func()) { return b.box.Watch() }

func (b *maildirBox) Open(uid uint32) (io.ReadCloser, error) {
	f, err := b.box.Open(uid)
	if err != nil {
		return nil, fromMaildir(err)
	}
	return f, nil
}

func (b *maildirBox) Date(uid uint32) (time.Time, error) {
	d, err := b.box.Date(uid)
	return d, fromMaildir(err)
}

func (b *maildirBox) Append() Appender { return &maildirAppender{box: b.box} }

func (b *maildirBox) SetFlags(uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	var mop maildir.FlagOp
	switch op {
	case FlagsReplace:
		mop = maildir.FlagsReplace
	case FlagsAdd:
		mop = maildir.FlagsAdd
	case FlagsRemove:
		mop = maildir.FlagsRemove
	default:
		return nil, fmt.Errorf("imap: unknown flag operation %d", op)
	}
	changed, err := b.box.SetFlags(uids, mop, flags)
	if err != nil {
		return nil, fromMaildir(err)
	}
	out := make([]Message, len(changed))
	for i := range changed {
		out[i] = fromMaildirMessage(changed[i])
	}
	return out, nil
}

func (b *maildirBox) Expunge(uids []uint32) error { return fromMaildir(b.box.Expunge(uids)) }

func (b *maildirBox) CopyTo(uids []uint32, dst Mailbox) (src, dstUIDs []uint32, err error) {
	d, ok := dst.(*maildirBox)
	if !ok {
		return nil, nil, fmt.Errorf("imap: copy from a Maildir to a %T", dst)
	}
	src, dstUIDs, err = b.box.CopyTo(uids, d.box)
	return src, dstUIDs, fromMaildir(err)
}

// maildirAppender writes each message to the mailbox's tmp/ as it arrives
// (maildir.Mailbox.Stage) and moves them all to cur/ at Commit.
type maildirAppender struct {
	box    *maildir.Mailbox
	staged []*maildir.Staged
}

func (a *maildirAppender) Add(r io.Reader, flags []string, date time.Time) error {
	st, err := a.box.Stage(r, flags, date, 0)
	if err != nil {
		return fromMaildir(err)
	}
	a.staged = append(a.staged, st)
	return nil
}

func (a *maildirAppender) Commit() ([]uint32, error) {
	staged := a.staged
	a.staged = nil
	uids, err := a.box.Commit(staged)
	return uids, fromMaildir(err)
}

func (a *maildirAppender) Discard() {
	a.box.Discard(a.staged)
	a.staged = nil
}

// fromMaildir gives an error of the Maildir store the meaning the server
// answers it with.
func fromMaildir(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, maildir.ErrNoMailbox):
		return &maildirError{err: err, means: ErrNoMailbox}
	case errors.Is(err, maildir.ErrExists):
		return &maildirError{err: err, means: ErrMailboxExists}
	case errors.Is(err, maildir.ErrNoMessage), errors.Is(err, os.ErrNotExist):
		return &maildirError{err: err, means: ErrNoMessage}
	case errors.Is(err, maildir.ErrBadName), errors.Is(err, maildir.ErrInbox), errors.Is(err, maildir.ErrHasChildren):
		return &StatusResponse{Type: "NO", Code: "CANNOT", Text: strings.TrimPrefix(err.Error(), "maildir: ")}
	case errors.Is(err, maildir.ErrTooBig):
		return &StatusResponse{Type: "NO", Code: "TOOBIG", Text: "Message too big"}
	}
	return err
}

// A maildirError is an error of the Maildir store that means one of the
// server's errors: errors.Is finds both, and it reads as the store's.
type maildirError struct{ err, means error }

func (e *maildirError) Error() string   { return e.err.Error() }
func (e *maildirError) Unwrap() []error { return []error{e.err, e.means} }
