package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The IMAP system flags that Maildir stores as letters after ":2,".
const (
	Seen     = `\Seen`
	Answered = `\Answered`
	Flagged  = `\Flagged`
	Deleted  = `\Deleted`
	Draft    = `\Draft`
)

// letters maps the Maildir info letters to IMAP flags, in ASCII order.
var letters = [...]struct {
	c    byte
	flag string
}{{'D', Draft}, {'F', Flagged}, {'R', Answered}, {'S', Seen}, {'T', Deleted}}

// A Message is one message of a mailbox as the last [Mailbox.Sync] saw it.
type Message struct {
	UID   uint32
	Name  string   // file name in cur/
	Flags []string // system flags and keywords, sorted
	Size  int64    // size in bytes from the ",S=" of the name; -1 if the name has none
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

// A Mailbox is INBOX or one folder of a [Store]. Its methods are safe for
// concurrent use, by goroutines of one process and (through a file lock)
// by other processes.
type Mailbox struct {
	store *Store
	name  string
	dir   string

	mu          sync.Mutex
	loaded      bool
	validity    uint32
	next        uint32
	firstRecent uint32 // the lowest UID no session has yet seen as \Recent
	logSize     int64
	logFile     os.FileInfo       // the appnet-uidlist read last, to notice one put in its place
	uids        map[string]uint32 // unique part of the file name -> UID
	files       map[string]string // unique part -> file name in cur/
	keywords    []string          // index i is the letter 'a'+i
	kwMod       time.Time
	curMod      time.Time
	newMod      time.Time
	msgs        []Message // sorted by UID; never modified in place once shared
	logChanged  bool      // readLog read something new
	unseenFor   *Message
	unseenLen   int
	firstUnseen int
	watchers    map[chan struct{}]struct{}
}

// Name returns the mailbox's name ("INBOX" or the folder's).
func (m *Mailbox) Name() string { return m.name }

// Dir returns the mailbox's directory.
func (m *Mailbox) Dir() string { return m.dir }

// uniq returns the unique part of a Maildir file name: everything before
// the ':' that starts the info.
func uniq(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// sizeOf returns the ",S=" size carried by a file name, or -1.
func sizeOf(name string) int64 {
	u := uniq(name)
	for _, part := range strings.Split(u, ",")[1:] {
		if strings.HasPrefix(part, "S=") {
			if n, err := strconv.ParseInt(part[2:], 10, 64); err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
}

// flagsOf decodes the info of a file name into IMAP flags.
func (m *Mailbox) flagsOf(name string) []string {
	i := strings.Index(name, ":2,")
	if i < 0 {
		return nil
	}
	var flags []string
	for _, c := range []byte(name[i+3:]) {
		switch {
		case c >= 'a' && c <= 'z':
			if k := int(c - 'a'); k < len(m.keywords) && m.keywords[k] != "" {
				flags = append(flags, m.keywords[k])
			}
		default:
			for _, l := range letters {
				if l.c == c {
					flags = append(flags, l.flag)
				}
			}
		}
	}
	sort.Strings(flags)
	return flags
}

// infoOf encodes IMAP flags as a Maildir info (":2,FS"), adding unknown
// keywords to dovecot-keywords. At most 26 keywords can be stored; more
// fail with an error.
func (m *Mailbox) infoOf(flags []string) (string, error) {
	var set [128]bool
	for _, f := range flags {
		found := false
		for _, l := range letters {
			if strings.EqualFold(f, l.flag) {
				set[l.c] = true
				found = true
			}
		}
		if found || strings.HasPrefix(f, `\`) {
			continue // \Recent and unknown system flags are not stored
		}
		k := -1
		for i, kw := range m.keywords {
			if strings.EqualFold(kw, f) {
				k = i
			}
		}
		if k < 0 {
			if len(m.keywords) >= 26 {
				return "", fmt.Errorf("maildir: too many keywords in %s", m.name)
			}
			m.keywords = append(m.keywords, f)
			k = len(m.keywords) - 1
			if err := m.writeKeywords(); err != nil {
				return "", err
			}
		}
		set['a'+k] = true
	}
	b := []byte(":2,")
	for c := range set {
		if set[c] {
			b = append(b, byte(c))
		}
	}
	return string(b), nil
}

func (m *Mailbox) readKeywords() error {
	path := filepath.Join(m.dir, "dovecot-keywords")
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.ModTime().Equal(m.kwMod) {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	kw := make([]string, 0, 26)
	for _, line := range strings.Split(string(data), "\n") {
		num, name, ok := strings.Cut(line, " ")
		i, err := strconv.Atoi(num)
		if !ok || err != nil || i < 0 || i >= 26 || name == "" {
			continue
		}
		for len(kw) <= i {
			kw = append(kw, "")
		}
		kw[i] = name
	}
	m.keywords = kw
	m.kwMod = st.ModTime()
	return nil
}

func (m *Mailbox) writeKeywords() error {
	var b strings.Builder
	for i, kw := range m.keywords {
		if kw != "" {
			fmt.Fprintf(&b, "%d %s\n", i, kw)
		}
	}
	path := filepath.Join(m.dir, "dovecot-keywords")
	if err := writeFileAtomic(path, []byte(b.String())); err != nil {
		return fmt.Errorf("maildir: keywords: %w", err)
	}
	if st, err := os.Stat(path); err == nil {
		m.kwMod = st.ModTime()
	}
	return nil
}

// lock takes the cross-process lock of the mailbox; the caller holds m.mu.
func (m *Mailbox) lock() (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(m.dir, "appnet-uidlist.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("maildir: lock %s: %w", m.name, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("maildir: lock %s: %w", m.name, err)
	}
	return func() { f.Close() }, nil
}

// readLog brings m.uids up to date with appnet-uidlist, reading only what
// was appended since the last call unless the file was replaced.
func (m *Mailbox) readLog() error {
	path := filepath.Join(m.dir, "appnet-uidlist")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return m.startLog()
	}
	if err != nil {
		return fmt.Errorf("maildir: uidlist: %w", err)
	}
	defer f.Close()
	if err := m.readLogFrom(f); err != nil {
		// A damaged list: the numbering starts over with a new
		// UIDVALIDITY, which tells clients to forget what they cached.
		return m.startLog()
	}
	return nil
}

// startLog begins a new numbering: a fresh UIDVALIDITY (greater than the
// mailbox's last one and than any the store gave a mailbox of its name),
// UIDs from 1.
func (m *Mailbox) startLog() error {
	path := filepath.Join(m.dir, "appnet-uidlist")
	v, err := m.store.nextValidity(m.name, m.validity)
	if err != nil {
		return err
	}
	m.validity = v
	m.next = 1
	m.firstRecent = 0
	m.uids = make(map[string]uint32)
	m.logChanged = true
	header := fmt.Sprintf("appnet-uidlist 1 V%d N%d\n", m.validity, m.next)
	if err := writeFileAtomic(path, []byte(header)); err != nil {
		return fmt.Errorf("maildir: uidlist: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	m.logSize, m.logFile = st.Size(), st
	return nil
}

// errDamaged marks an appnet-uidlist that cannot be read.
var errDamaged = errors.New("maildir: damaged uidlist")

func (m *Mailbox) readLogFrom(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	from := m.logSize
	if m.uids == nil || !os.SameFile(st, m.logFile) || st.Size() < m.logSize {
		from = 0
		m.uids = make(map[string]uint32)
		m.firstRecent = 0
	}
	if st.Size() == from {
		return nil
	}
	m.logChanged = true
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, st.Size()-from))
	if err != nil {
		return err
	}
	// Only whole lines count: a writer in another process may be mid-line.
	end := bytes.LastIndexByte(data, '\n') + 1
	data = data[:end]
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 1<<20)
	first := from == 0
	for sc.Scan() {
		line := sc.Text()
		if first {
			first = false
			fields := strings.Fields(line)
			if len(fields) < 3 || fields[0] != "appnet-uidlist" {
				return errDamaged
			}
			for _, fld := range fields[2:] {
				n, err := strconv.ParseUint(fld[1:], 10, 32)
				if err != nil {
					continue
				}
				switch fld[0] {
				case 'V':
					m.validity = uint32(n)
				case 'N':
					m.next = uint32(n)
				}
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, "R"); ok {
			if n, err := strconv.ParseUint(rest, 10, 32); err == nil && uint32(n) > m.firstRecent {
				m.firstRecent = uint32(n)
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, "-"); ok {
			uid, err := strconv.ParseUint(rest, 10, 32)
			if err != nil {
				continue
			}
			for u, id := range m.uids {
				if id == uint32(uid) {
					delete(m.uids, u)
					break
				}
			}
			continue
		}
		num, u, ok := strings.Cut(line, " ")
		uid, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || uid == 0 || uid == 1<<32-1 {
			continue
		}
		m.uids[u] = uint32(uid)
		if uint32(uid) >= m.next {
			m.next = uint32(uid) + 1
		}
	}
	if from == 0 && (end == 0 || m.validity == 0) {
		return errDamaged
	}
	if m.next == 0 {
		m.next = 1
	}
	if m.firstRecent > m.next {
		m.firstRecent = m.next // an R line beyond UIDNEXT: a damaged log
	}
	m.logSize = from + int64(end)
	m.logFile = st
	return nil
}

// appendLog writes lines to appnet-uidlist and flushes them to disk.
func (m *Mailbox) appendLog(lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(m.dir, "appnet-uidlist"), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: uidlist: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(lines); err != nil {
		return fmt.Errorf("maildir: uidlist: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("maildir: uidlist: %w", err)
	}
	m.logSize += int64(len(lines))
	return nil
}

// Sync brings the mailbox up to date with the directory: messages
// delivered to new/ move to cur/ and get UIDs, files removed or renamed by
// others are noticed. It returns the messages sorted by UID; the slice is
// shared and must not be modified.
func (m *Mailbox) Sync() ([]Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		return nil, err
	}
	return m.msgs, nil
}

func (m *Mailbox) syncLocked() error {
	if m.loaded && !m.logChanged && m.unchanged() {
		return nil
	}
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.readLog(); err != nil {
		return err
	}
	if err := m.readKeywords(); err != nil {
		return err
	}
	// new/ -> cur/
	moved := 0
	names, err := readNames(filepath.Join(m.dir, "new"))
	if err != nil {
		return err
	}
	sort.Strings(names) // delivery order: names start with the time
	for _, n := range names {
		dst := n
		if !strings.Contains(n, ":2,") {
			dst = uniq(n) + ":2,"
		}
		if err := os.Rename(filepath.Join(m.dir, "new", n), filepath.Join(m.dir, "cur", dst)); err == nil {
			moved++
		}
	}
	if st, err := os.Stat(filepath.Join(m.dir, "new")); err == nil {
		m.newMod = st.ModTime()
	}
	st, err := os.Stat(filepath.Join(m.dir, "cur"))
	if err != nil {
		return fmt.Errorf("maildir: %s: %w", m.name, err)
	}
	changed := false
	if m.files == nil || moved > 0 || !st.ModTime().Equal(m.curMod) {
		names, err := readNames(filepath.Join(m.dir, "cur"))
		if err != nil {
			return err
		}
		m.files = make(map[string]string, len(names))
		for _, n := range names {
			m.files[uniq(n)] = n
		}
		m.curMod = st.ModTime()
		changed = true
	}
	var log []byte
	if !changed && !m.logChanged && m.loaded {
		return nil // nothing moved on disk: the numbering stands
	}
	m.logChanged = false
	// Number what has no UID yet, oldest first.
	var fresh []string
	for u := range m.files {
		if _, ok := m.uids[u]; !ok {
			fresh = append(fresh, u)
		}
	}
	sort.Strings(fresh)
	for _, u := range fresh {
		m.uids[u] = m.next
		log = fmt.Appendf(log, "%d %s\n", m.next, u)
		m.next++
	}
	// Forget what is gone.
	for u, uid := range m.uids {
		if _, ok := m.files[u]; !ok {
			delete(m.uids, u)
			log = fmt.Appendf(log, "-%d\n", uid)
		}
	}
	if err := m.appendLog(log); err != nil {
		return err
	}
	if changed || len(log) > 0 || !m.loaded {
		m.rebuild()
	}
	m.loaded = true
	return nil
}

// unchanged reports, from three stat calls and without the lock, that
// nothing was delivered, renamed, removed or numbered since the last Sync:
// the common case, which makes SELECT and NOOP cheap on big mailboxes.
func (m *Mailbox) unchanged() bool {
	log, err := os.Stat(filepath.Join(m.dir, "appnet-uidlist"))
	if err != nil || !os.SameFile(log, m.logFile) || log.Size() != m.logSize {
		return false
	}
	nw, err := os.Stat(filepath.Join(m.dir, "new"))
	if err != nil || !nw.ModTime().Equal(m.newMod) {
		return false
	}
	cur, err := os.Stat(filepath.Join(m.dir, "cur"))
	return err == nil && cur.ModTime().Equal(m.curMod)
}

// rebuild recomputes m.msgs from m.files and m.uids into a new slice.
func (m *Mailbox) rebuild() {
	msgs := make([]Message, 0, len(m.files))
	for u, name := range m.files {
		uid, ok := m.uids[u]
		if !ok {
			continue
		}
		msgs = append(msgs, Message{UID: uid, Name: name, Flags: m.flagsOf(name), Size: sizeOf(name)})
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].UID < msgs[j].UID })
	m.msgs = msgs
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	out := names[:0]
	for _, n := range names {
		if n != "" && n[0] != '.' {
			out = append(out, n)
		}
	}
	return out, nil
}

// Snapshot syncs the mailbox and returns its messages (shared, not to be
// modified), UIDVALIDITY, UIDNEXT and the index in msgs of the first
// message without \Seen (-1 if none), all from one moment.
func (m *Mailbox) Snapshot() (msgs []Message, validity, next uint32, firstUnseen int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		return nil, 0, 0, 0, err
	}
	msgs = m.msgs
	var first *Message
	if len(msgs) > 0 {
		first = &msgs[0]
	}
	if first == nil || first != m.unseenFor || len(msgs) != m.unseenLen {
		m.firstUnseen = -1
		for i := range msgs {
			if !msgs[i].HasFlag(Seen) {
				m.firstUnseen = i
				break
			}
		}
		m.unseenFor, m.unseenLen = first, len(msgs)
	}
	return msgs, m.validity, m.next, m.firstUnseen, nil
}

// Status returns UIDVALIDITY and UIDNEXT after a Sync.
func (m *Mailbox) Status() (validity, next uint32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		return 0, 0, err
	}
	return m.validity, m.next, nil
}

// Recent returns the lowest UID that no session has yet claimed as
// \Recent: every message from it on is recent to whoever looks without
// claiming (EXAMINE, STATUS).
func (m *Mailbox) Recent() (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		return 0, err
	}
	return max(m.firstRecent, 1), nil
}

// ClaimRecent makes the caller the one session that sees the messages
// with UIDs from..to-1 as \Recent (RFC 3501 §2.3.2): the messages that
// arrived since the last claim, by delivery, APPEND, COPY or MOVE. No
// later claim, by this process or another, gets them again; the claim is
// recorded in appnet-uidlist as a line "R<to>". An empty claim has
// from == to and writes nothing.
func (m *Mailbox) ClaimRecent() (from, to uint32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		return 0, 0, err
	}
	if max(m.firstRecent, 1) >= m.next {
		return m.next, m.next, nil
	}
	unlock, err := m.lock()
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	if err := m.readLog(); err != nil { // another process may have claimed them
		return 0, 0, err
	}
	from, to = max(m.firstRecent, 1), m.next
	if from >= to {
		return to, to, nil
	}
	if err := m.appendLog(fmt.Appendf(nil, "R%d\n", to)); err != nil {
		return 0, 0, err
	}
	m.firstRecent = to
	return from, to, nil
}

// UIDValidity returns the mailbox's UIDVALIDITY as of the last Sync.
func (m *Mailbox) UIDValidity() uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.validity
}

// Watch returns a channel that receives a value (without blocking the
// sender; one pending value at most) whenever this process changes the
// mailbox, and a function that stops the watch. Changes made by other
// processes are seen by polling Sync.
func (m *Mailbox) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	if m.watchers == nil {
		m.watchers = make(map[chan struct{}]struct{})
	}
	m.watchers[ch] = struct{}{}
	m.mu.Unlock()
	return ch, func() {
		m.mu.Lock()
		delete(m.watchers, ch)
		m.mu.Unlock()
	}
}

func (m *Mailbox) notifyLocked() {
	for ch := range m.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// uniqueName returns a new unique part for a file name of size bytes, in
// the style of the Maildir specification: time, microseconds, process,
// a counter, the host, then the size.
func (m *Mailbox) uniqueName(now time.Time, size int64) string {
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	if host == "" {
		host = "localhost"
	}
	// The microseconds are zero-padded so that names sort in delivery
	// order, which is how new messages are numbered (here and in Dovecot).
	return fmt.Sprintf("%d.M%06dP%dQ%d.%s,S=%d,W=%d", now.Unix(), now.Nanosecond()/1000,
		os.Getpid(), m.store.seq.Add(1), host, size, size)
}

// write stores r in tmp/ with bare LF line ends turned into CRLF (the
// form IMAP serves, so sizes and offsets need no conversion), flushes it to
// disk and returns the temporary path and the size. At most limit bytes
// are accepted (0: no limit).
func (m *Mailbox) write(r io.Reader, limit int64) (string, int64, error) {
	tmp := filepath.Join(m.dir, "tmp", fmt.Sprintf("%d.P%dQ%d.tmp", time.Now().UnixNano(), os.Getpid(), m.store.seq.Add(1)))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("maildir: %w", err)
	}
	w := bufio.NewWriterSize(f, 32<<10)
	n, err := copyCRLF(w, r, limit)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", 0, err
	}
	return tmp, n, nil
}

// ErrTooBig is returned when a message exceeds the size limit given.
var ErrTooBig = errors.New("maildir: message too big")

// copyCRLF copies r to w, writing every line end as CRLF.
func copyCRLF(w *bufio.Writer, r io.Reader, limit int64) (int64, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	var n int64
	var prev byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			if chunk[len(chunk)-1] == '\n' {
				body := chunk[:len(chunk)-1]
				cr := len(body) > 0 && body[len(body)-1] == '\r' || len(body) == 0 && prev == '\r'
				w.Write(body)
				n += int64(len(body))
				if !cr {
					w.WriteByte('\r')
					n++
				}
				w.WriteByte('\n')
				n++
				prev = '\n'
			} else {
				w.Write(chunk)
				n += int64(len(chunk))
				prev = chunk[len(chunk)-1]
			}
			if limit > 0 && n > limit {
				return n, ErrTooBig
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return n, fmt.Errorf("maildir: %w", err)
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Deliver stores a message in new/, durably, the way a mail server hands
// incoming mail to a mailbox; it gets its UID at the next Sync. It returns
// the file name.
func (m *Mailbox) Deliver(r io.Reader) (string, error) {
	tmp, size, err := m.write(r, 0)
	if err != nil {
		return "", err
	}
	name := m.uniqueName(m.store.now(), size)
	if err := os.Rename(tmp, filepath.Join(m.dir, "new", name)); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("maildir: deliver: %w", err)
	}
	if err := syncDir(filepath.Join(m.dir, "new")); err != nil {
		return "", fmt.Errorf("maildir: deliver: %w", err)
	}
	m.mu.Lock()
	m.notifyLocked()
	m.mu.Unlock()
	return name, nil
}

// Append stores a message in cur/ with flags and an internal date (the
// zero time means now), as IMAP APPEND does, and returns its UID. At most
// limit bytes are stored (0: no limit); a bigger message fails with
// ErrTooBig and leaves nothing behind.
func (m *Mailbox) Append(r io.Reader, flags []string, date time.Time, limit int64) (uint32, error) {
	tmp, size, err := m.write(r, limit)
	if err != nil {
		return 0, err
	}
	if !date.IsZero() {
		os.Chtimes(tmp, date, date)
	}
	return m.adopt(tmp, size, flags, true)
}

// A Staged message is written, durably, to tmp/ but is not yet in the
// mailbox: [Mailbox.Commit] puts a batch of them in together (IMAP
// MULTIAPPEND), [Mailbox.Discard] throws them away.
type Staged struct {
	tmp   string
	size  int64
	flags []string
}

// Stage writes a message to tmp/ with flags and an internal date (the
// zero time means now), as [Mailbox.Append] does, without putting it in
// the mailbox. At most limit bytes are stored (0: no limit).
func (m *Mailbox) Stage(r io.Reader, flags []string, date time.Time, limit int64) (*Staged, error) {
	tmp, size, err := m.write(r, limit)
	if err != nil {
		return nil, err
	}
	if !date.IsZero() {
		os.Chtimes(tmp, date, date)
	}
	return &Staged{tmp: tmp, size: size, flags: append([]string(nil), flags...)}, nil
}

// Discard removes staged messages that were not committed.
func (m *Mailbox) Discard(staged []*Staged) {
	for _, st := range staged {
		os.Remove(st.tmp)
	}
}

// Commit puts staged messages in the mailbox, in order, and returns their
// UIDs. It is all or nothing: if one cannot be stored, those already put
// in are expunged again and the rest discarded.
func (m *Mailbox) Commit(staged []*Staged) ([]uint32, error) {
	uids := make([]uint32, 0, len(staged))
	for i, st := range staged {
		uid, err := m.adopt(st.tmp, st.size, st.flags, true)
		if err != nil {
			m.Discard(staged[i+1:])
			if len(uids) > 0 {
				m.Expunge(uids)
			}
			return nil, err
		}
		uids = append(uids, uid)
	}
	return uids, nil
}

// adopt moves a finished file from tmp/ into cur/ and numbers it.
func (m *Mailbox) adopt(tmp string, size int64, flags []string, remove bool) (uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		if err := m.syncLocked(); err != nil {
			os.Remove(tmp)
			return 0, err
		}
	}
	info, err := m.infoOf(flags)
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	u := m.uniqueName(m.store.now(), size)
	name := u + info
	if err := os.Rename(tmp, filepath.Join(m.dir, "cur", name)); err != nil {
		if remove {
			os.Remove(tmp)
		}
		return 0, fmt.Errorf("maildir: append: %w", err)
	}
	if err := syncDir(filepath.Join(m.dir, "cur")); err != nil {
		return 0, fmt.Errorf("maildir: append: %w", err)
	}
	unlock, err := m.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := m.readLog(); err != nil {
		return 0, err
	}
	uid := m.next
	m.next++
	m.uids[u] = uid
	if err := m.appendLog(fmt.Appendf(nil, "%d %s\n", uid, u)); err != nil {
		return 0, err
	}
	m.files[u] = name
	if len(m.msgs) == 0 || m.msgs[len(m.msgs)-1].UID < uid {
		m.msgs = append(m.msgs, Message{UID: uid, Name: name, Flags: m.flagsOf(name), Size: size})
	} else {
		m.rebuild()
	}
	if st, err := os.Stat(filepath.Join(m.dir, "cur")); err == nil {
		m.curMod = st.ModTime()
	}
	m.notifyLocked()
	return uid, nil
}

// find returns the index of uid in m.msgs, or -1.
func (m *Mailbox) find(uid uint32) int {
	i := sort.Search(len(m.msgs), func(i int) bool { return m.msgs[i].UID >= uid })
	if i < len(m.msgs) && m.msgs[i].UID == uid {
		return i
	}
	return -1
}

// Open opens the file of the message with the given UID.
func (m *Mailbox) Open(uid uint32) (*os.File, error) {
	for try := 0; try < 2; try++ {
		m.mu.Lock()
		i := m.find(uid)
		var name string
		if i >= 0 {
			name = m.msgs[i].Name
		}
		m.mu.Unlock()
		if i < 0 {
			break
		}
		f, err := os.Open(filepath.Join(m.dir, "cur", name))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("maildir: %w", err)
		}
		// Renamed by another session (new flags): look again.
		if _, err := m.Sync(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: UID %d in %s", ErrNoMessage, uid, m.name)
}

// Date returns the internal date of a message: its file's modification
// time, as Dovecot keeps it.
func (m *Mailbox) Date(uid uint32) (time.Time, error) {
	f, err := m.Open(uid)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime(), nil
}

// A FlagOp says how [Mailbox.SetFlags] changes flags.
type FlagOp int

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// SetFlags changes the flags of the messages with the given UIDs and
// returns those messages as they are now.
func (m *Mailbox) SetFlags(uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		if err := m.syncLocked(); err != nil {
			return nil, err
		}
	}
	msgs := append([]Message(nil), m.msgs...)
	var out []Message
	for _, uid := range uids {
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= uid })
		if i >= len(msgs) || msgs[i].UID != uid {
			continue
		}
		msg := msgs[i]
		var next []string
		switch op {
		case FlagsReplace:
			next = flags
		case FlagsAdd:
			next = append(append([]string(nil), msg.Flags...), flags...)
		case FlagsRemove:
			for _, f := range msg.Flags {
				drop := false
				for _, g := range flags {
					if strings.EqualFold(f, g) {
						drop = true
					}
				}
				if !drop {
					next = append(next, f)
				}
			}
		}
		info, err := m.infoOf(next)
		if err != nil {
			return nil, err
		}
		name := uniq(msg.Name) + info
		if name != msg.Name {
			if err := os.Rename(filepath.Join(m.dir, "cur", msg.Name), filepath.Join(m.dir, "cur", name)); err != nil {
				continue // expunged meanwhile
			}
			msg.Name = name
			msg.Flags = m.flagsOf(name)
			msgs[i] = msg
			m.files[uniq(name)] = name
		}
		out = append(out, msg)
	}
	m.msgs = msgs
	if st, err := os.Stat(filepath.Join(m.dir, "cur")); err == nil {
		m.curMod = st.ModTime()
	}
	m.notifyLocked()
	return out, nil
}

// Expunge removes the messages with the given UIDs.
func (m *Mailbox) Expunge(uids []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	unlock, err := m.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.readLog(); err != nil {
		return err
	}
	var log []byte
	for _, uid := range uids {
		i := m.find(uid)
		if i < 0 {
			continue
		}
		name := m.msgs[i].Name
		if err := os.Remove(filepath.Join(m.dir, "cur", name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("maildir: expunge: %w", err)
		}
		delete(m.files, uniq(name))
		delete(m.uids, uniq(name))
		log = fmt.Appendf(log, "-%d\n", uid)
	}
	if err := m.appendLog(log); err != nil {
		return err
	}
	m.rebuild()
	if st, err := os.Stat(filepath.Join(m.dir, "cur")); err == nil {
		m.curMod = st.ModTime()
	}
	m.notifyLocked()
	return nil
}

// CopyTo copies the messages with the given UIDs into dst, keeping their
// flags and internal dates, and returns the source UIDs copied and the
// UIDs they got in dst, in the same order.
func (m *Mailbox) CopyTo(uids []uint32, dst *Mailbox) (src, dstUIDs []uint32, err error) {
	for _, uid := range uids {
		m.mu.Lock()
		i := m.find(uid)
		var msg Message
		if i >= 0 {
			msg = m.msgs[i]
		}
		m.mu.Unlock()
		if i < 0 {
			continue
		}
		path := filepath.Join(m.dir, "cur", msg.Name)
		tmp := filepath.Join(dst.dir, "tmp", fmt.Sprintf("%d.P%dQ%d.copy", time.Now().UnixNano(), os.Getpid(), m.store.seq.Add(1)))
		if err := os.Link(path, tmp); err != nil {
			if err := copyFile(path, tmp); err != nil {
				continue // expunged meanwhile
			}
		}
		size := msg.Size
		if size < 0 {
			if st, err := os.Stat(tmp); err == nil {
				size = st.Size()
			}
		}
		nu, err := dst.adopt(tmp, size, msg.Flags, true)
		if err != nil {
			return src, dstUIDs, err
		}
		src = append(src, uid)
		dstUIDs = append(dstUIDs, nu)
	}
	return src, dstUIDs, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	out.Close()
	return os.Chtimes(to, st.ModTime(), st.ModTime())
}
