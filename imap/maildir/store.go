package maildir

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by the store. They can be matched with errors.Is.
var (
	ErrNoMailbox   = errors.New("maildir: no such mailbox")
	ErrExists      = errors.New("maildir: mailbox already exists")
	ErrBadName     = errors.New("maildir: invalid mailbox name")
	ErrInbox       = errors.New("maildir: INBOX cannot be deleted or renamed")
	ErrHasChildren = errors.New("maildir: mailbox has children")
	ErrNoMessage   = errors.New("maildir: no such message")
)

// Delimiter separates the levels of a folder name ("Archive.2026"), as in
// Maildir++.
const Delimiter = '.'

// A Store is one user's Maildir: INBOX at the root and the Maildir++
// folders beside it. A Store is safe for use by several goroutines; keep one
// Store per directory in a process so that its mailboxes share their state
// and notifications.
type Store struct {
	// Now is the clock for UIDVALIDITY values and file names; nil means
	// time.Now. Set it before the Store is used.
	Now func() time.Time

	root string
	seq  atomic.Uint64 // for unique file names

	mu    sync.Mutex
	boxes map[string]*Mailbox
}

// Open opens the Maildir at root, creating root/{cur,new,tmp} if they do
// not exist.
func Open(root string) (*Store, error) {
	if err := makeMaildir(root); err != nil {
		return nil, err
	}
	return &Store{root: root, boxes: make(map[string]*Mailbox)}, nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Root returns the directory of INBOX.
func (s *Store) Root() string { return s.root }

// validityFile, at the store's root, remembers for each mailbox name the
// last UIDVALIDITY a mailbox of that name had: one "<uidvalidity> <name>"
// a line.
const validityFile = "appnet-uidvalidity"

// nextValidity returns the UIDVALIDITY of a numbering of the mailbox name
// that starts now: the clock's seconds, or, if that is not enough, one
// more than the greater of old (the mailbox's previous UIDVALIDITY, 0 if
// none) and the last value recorded for name; the new value is recorded
// under name before it is returned. So a folder deleted and created again
// gets a greater UIDVALIDITY than before (RFC 3501 §2.3.1.1), within one
// second and across restarts alike.
func (s *Store) nextValidity(name string, old uint32) (uint32, error) {
	var v uint32
	err := s.updateValidities(func(last map[string]uint32) bool {
		prev := max(old, last[name])
		v = uint32(min(max(s.now().Unix(), 1), math.MaxUint32))
		if prev < math.MaxUint32 { // a value past 2106 has no successor: the clock's must do
			v = max(v, prev+1)
		}
		last[name] = v
		return true
	})
	return v, err
}

// updateValidities lets change update the record of validityFile, under
// a lock on appnet-uidvalidity.lock (see lockFile) so that sessions and
// processes sharing the store never hand out one value twice, and, if
// change reports a change, writes it back (to a temporary file, flushed,
// then renamed) before returning. Lines that cannot be parsed are dropped.
func (s *Store) updateValidities(change func(last map[string]uint32) (changed bool)) error {
	lock, err := os.OpenFile(filepath.Join(s.root, validityFile+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	defer lock.Close() // releases the lock
	if err := lockFile(lock); err != nil {
		return fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	path := filepath.Join(s.root, validityFile)
	last := map[string]uint32{}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		num, name, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if n, err := strconv.ParseUint(num, 10, 32); err == nil && name != "" {
			last[name] = max(last[name], uint32(n))
		}
	}
	if !change(last) {
		return nil
	}
	names := make([]string, 0, len(last))
	for name := range last {
		names = append(names, name)
	}
	sort.Strings(names)
	var b []byte
	for _, name := range names {
		b = strconv.AppendUint(b, uint64(last[name]), 10)
		b = append(b, ' ')
		b = append(b, name...)
		b = append(b, '\n')
	}
	if err := writeFileAtomic(path, b); err != nil {
		return fmt.Errorf("maildir: uidvalidity: %w", err)
	}
	return nil
}

func makeMaildir(dir string) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("maildir: create %s: %w", dir, err)
		}
	}
	return nil
}

// IsInbox reports whether name is INBOX, which is case-insensitive in IMAP.
func IsInbox(name string) bool { return strings.EqualFold(name, "INBOX") }

// CheckName reports whether name can be a folder: non-empty levels, no
// slash, no NUL or control characters, and not starting or ending with the
// delimiter.
func CheckName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for _, level := range strings.Split(name, string(Delimiter)) {
		if level == "" || level == "." || level == ".." {
			return fmt.Errorf("%w: %q", ErrBadName, name)
		}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '/' || c == '\\' || c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %q", ErrBadName, name)
		}
	}
	return nil
}

func (s *Store) dir(name string) (string, error) {
	if IsInbox(name) {
		return s.root, nil
	}
	if err := CheckName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.root, "."+name), nil
}

// Mailbox returns the mailbox called name ("INBOX" or a folder), which must
// exist.
func (s *Store) Mailbox(name string) (*Mailbox, error) {
	if IsInbox(name) {
		name = "INBOX"
	}
	dir, err := s.dir(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.boxes[name]; m != nil {
		return m, nil // if it was removed meanwhile, Sync says so
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoMailbox, name)
	}
	if err := makeMaildir(dir); err != nil {
		return nil, err
	}
	m := &Mailbox{store: s, name: name, dir: dir}
	s.boxes[name] = m
	return m, nil
}

// Create makes the folder name (and any missing parent folders).
func (s *Store) Create(name string) error {
	if IsInbox(name) {
		return fmt.Errorf("%w: INBOX", ErrExists)
	}
	dir, err := s.dir(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, name)
	}
	levels := strings.Split(name, string(Delimiter))
	for i := 1; i < len(levels); i++ {
		parent := filepath.Join(s.root, "."+strings.Join(levels[:i], string(Delimiter)))
		if _, err := os.Stat(parent); err != nil {
			if err := makeMaildir(parent); err != nil {
				return err
			}
		}
	}
	if err := makeMaildir(dir); err != nil {
		return err
	}
	// Courier's and Dovecot's marker that this directory is a folder.
	f, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		f.Close()
	}
	return nil
}

// Delete removes the folder name and every message in it. A folder with
// subfolders cannot be deleted.
func (s *Store) Delete(name string) error {
	if IsInbox(name) {
		return ErrInbox
	}
	dir, err := s.dir(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%w: %s", ErrNoMailbox, name)
	}
	all, err := s.List()
	if err != nil {
		return err
	}
	for _, n := range all {
		if strings.HasPrefix(n, name+string(Delimiter)) {
			return fmt.Errorf("%w: %s", ErrHasChildren, name)
		}
	}
	s.mu.Lock()
	delete(s.boxes, name)
	s.mu.Unlock()
	// Rename first so that a reader never sees a half-deleted folder.
	trash := filepath.Join(s.root, fmt.Sprintf("tmp/deleted.%d.%s", s.seq.Add(1), filepath.Base(dir)))
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("maildir: delete %s: %w", name, err)
	}
	return os.RemoveAll(trash)
}

// Rename renames the folder from to to, with its subfolders. Renaming
// INBOX moves its messages into a new folder to and leaves INBOX empty
// (RFC 3501 §6.3.5).
func (s *Store) Rename(from, to string) error {
	if IsInbox(to) {
		return ErrInbox
	}
	if IsInbox(from) {
		return s.renameInbox(to)
	}
	src, err := s.dir(from)
	if err != nil {
		return err
	}
	dst, err := s.dir(to)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("%w: %s", ErrNoMailbox, from)
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, to)
	}
	all, err := s.List()
	if err != nil {
		return err
	}
	var moved []string
	for _, n := range all {
		if n == from || strings.HasPrefix(n, from+string(Delimiter)) {
			moved = append(moved, n)
		}
	}
	// A folder keeps its UIDVALIDITY under its new name, so the new
	// name's record must be at least as high: a folder created under that
	// name later, once this one is gone, must get a greater one.
	err = s.updateValidities(func(last map[string]uint32) bool {
		changed := false
		for _, n := range moved {
			newName := to + n[len(from):]
			if v, ok := last[n]; ok && v > last[newName] {
				last[newName] = v
				changed = true
			}
		}
		return changed
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range moved {
		newName := to + n[len(from):]
		if err := os.Rename(filepath.Join(s.root, "."+n), filepath.Join(s.root, "."+newName)); err != nil {
			return fmt.Errorf("maildir: rename %s: %w", n, err)
		}
		delete(s.boxes, n)
	}
	return nil
}

// renameInbox does what RFC 3501 §6.3.5 asks of RENAME INBOX: a new folder
// to gets every message of INBOX (with its flags and internal date), and
// INBOX stays, empty; folders below INBOX are not touched. The messages
// are linked into the folder before they leave INBOX, so a crash half-way
// leaves copies, never a loss.
func (s *Store) renameInbox(to string) error {
	if err := s.Create(to); err != nil {
		return err
	}
	inbox, err := s.Mailbox("INBOX")
	if err != nil {
		return err
	}
	dst, err := s.Mailbox(to)
	if err != nil {
		return err
	}
	msgs, err := inbox.Sync()
	if err != nil {
		return err
	}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i] = m.UID
	}
	moved, _, err := inbox.CopyTo(uids, dst)
	if err != nil {
		return err
	}
	return inbox.Expunge(moved)
}

// List returns the names of every mailbox, INBOX first and the folders
// sorted.
func (s *Store) List() ([]string, error) {
	f, err := os.Open(s.root)
	if err != nil {
		return nil, fmt.Errorf("maildir: list: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("maildir: list: %w", err)
	}
	var out []string
	for _, n := range names {
		if len(n) < 2 || n[0] != '.' || n == ".." {
			continue
		}
		if CheckName(n[1:]) != nil {
			continue
		}
		if st, err := os.Stat(filepath.Join(s.root, n, "cur")); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, n[1:])
	}
	sort.Strings(out)
	return append([]string{"INBOX"}, out...), nil
}

// Subscriptions returns the subscribed mailbox names, from the file
// "subscriptions" (one name a line, as Courier and Dovecot's Maildir++
// layout keep it).
func (s *Store) Subscriptions() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readSubscriptions()
}

func (s *Store) readSubscriptions() ([]string, error) {
	f, err := os.Open(filepath.Join(s.root, "subscriptions"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		// Dovecot's version 2 file starts with "V\t2" and a blank line.
		if line == "" || strings.HasPrefix(line, "V\t") {
			continue
		}
		out = append(out, strings.ReplaceAll(line, "\t", string(Delimiter)))
	}
	return out, sc.Err()
}

// Subscribe adds (on) or removes (!on) name from the subscriptions.
func (s *Store) Subscribe(name string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	subs, err := s.readSubscriptions()
	if err != nil {
		return err
	}
	var out []string
	for _, n := range subs {
		if n != name {
			out = append(out, n)
		}
	}
	if on {
		out = append(out, name)
	}
	var b strings.Builder
	for _, n := range out {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return writeFileAtomic(filepath.Join(s.root, "subscriptions"), []byte(b.String()))
}

// writeFileAtomic replaces path with data through a temporary file and a
// rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
