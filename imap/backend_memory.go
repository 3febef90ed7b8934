package imap

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryBackend is a Backend that keeps every user's mailboxes in memory,
// for tests and demos: what it holds is gone with the process. It follows
// the rules the Maildir store follows (names, UIDs, flags, \Recent), so
// the server answers the same over either. Its zero value, with
// Passwords, is ready to use, and it is safe for concurrent use.
type MemoryBackend struct {
	Passwords map[string]string
	// Now is the clock for UIDVALIDITY values and internal dates; nil
	// means time.Now. Set it before the backend is used.
	Now func() time.Time

	mu    sync.Mutex
	users map[string]*memoryMailboxes
}

// Login implements Backend.
func (b *MemoryBackend) Login(ctx context.Context, user, password string) (Mailboxes, error) {
	if err := checkPassword(b.Passwords, user, password); err != nil {
		return nil, err
	}
	return b.Mailboxes(user), nil
}

// Mailboxes returns user's mailboxes, made with an empty INBOX the first
// time. The password is not checked: this is how a mail server delivers
// into INBOX.
func (b *MemoryBackend) Mailboxes(user string) Mailboxes {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := b.users[user]; m != nil {
		return m
	}
	if b.users == nil {
		b.users = make(map[string]*memoryMailboxes)
	}
	now := b.Now
	if now == nil {
		now = time.Now
	}
	m := &memoryMailboxes{now: now, boxes: make(map[string]*memoryBox), validity: make(map[string]uint32)}
	m.boxes["INBOX"] = m.newBox("INBOX")
	b.users[user] = m
	return m
}

// memoryMailboxes are one user's mailboxes in memory.
type memoryMailboxes struct {
	now func() time.Time
	ids atomic.Uint64 // for Message.ID

	mu       sync.Mutex
	boxes    map[string]*memoryBox
	subs     []string
	validity map[string]uint32 // the last UIDVALIDITY of each name, so that a mailbox made again starts above it
}

// newBox makes an empty mailbox; the caller holds m.mu.
func (m *memoryMailboxes) newBox(name string) *memoryBox {
	v := uint32(m.now().Unix())
	if last, ok := m.validity[name]; ok && v <= last {
		v = last + 1 // the UIDs start over: UIDVALIDITY must change
	}
	if v == 0 {
		v = 1
	}
	m.validity[name] = v
	return &memoryBox{owner: m, validity: v, next: 1, firstUnseen: -1}
}

// cannot is the server's answer to an operation that will never work.
func cannot(format string, args ...any) error {
	return &StatusResponse{Type: "NO", Code: "CANNOT", Text: fmt.Sprintf(format, args...)}
}

// checkMailboxName refuses an empty level ("a..b"), a control character
// and a name of more than 255 bytes.
func checkMailboxName(name string) error {
	bad := len(name) > 255 || slices.Contains(strings.Split(name, delimiter), "")
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f {
			bad = true
		}
	}
	if bad {
		return cannot("invalid mailbox name: %q", name)
	}
	return nil
}

// lookup returns the mailbox called name; the caller holds m.mu.
func (m *memoryMailboxes) lookup(name string) (*memoryBox, error) {
	if isInbox(name) {
		name = "INBOX"
	} else if err := checkMailboxName(name); err != nil {
		return nil, err
	}
	if b := m.boxes[name]; b != nil {
		return b, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoMailbox, name)
}

func (m *memoryMailboxes) List() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.boxes {
		if n != "INBOX" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return append([]string{"INBOX"}, names...), nil
}

func (m *memoryMailboxes) Mailbox(name string) (Mailbox, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.lookup(name)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (m *memoryMailboxes) Create(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.create(name)
}

// create makes the mailbox name and its missing parents; the caller holds
// m.mu.
func (m *memoryMailboxes) create(name string) error {
	if _, err := m.lookup(name); err == nil || isInbox(name) {
		return fmt.Errorf("%w: %s", ErrMailboxExists, name)
	} else if err := checkMailboxName(name); err != nil {
		return err
	}
	levels := strings.Split(name, delimiter)
	for i := 1; i <= len(levels); i++ {
		if n := strings.Join(levels[:i], delimiter); m.boxes[n] == nil {
			m.boxes[n] = m.newBox(n)
		}
	}
	return nil
}

func (m *memoryMailboxes) Delete(name string) error {
	if isInbox(name) {
		return cannot("INBOX cannot be deleted or renamed")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.lookup(name)
	if err != nil {
		return err
	}
	for n := range m.boxes {
		if strings.HasPrefix(n, name+delimiter) {
			return cannot("mailbox has children: %s", name)
		}
	}
	delete(m.boxes, name)
	b.mu.Lock()
	b.deleted = true // sessions that have it selected find it gone
	b.notifyLocked()
	b.mu.Unlock()
	return nil
}

func (m *memoryMailboxes) Rename(from, to string) error {
	if isInbox(to) {
		return cannot("INBOX cannot be deleted or renamed")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if isInbox(from) {
		return m.renameInbox(to)
	}
	if _, err := m.lookup(from); err != nil {
		return err
	}
	if err := checkMailboxName(to); err != nil {
		return err
	}
	moves := map[string]string{} // old name -> new name, the levels below included
	for n := range m.boxes {
		if n == from || strings.HasPrefix(n, from+delimiter) {
			moves[n] = to + n[len(from):]
		}
	}
	for _, n := range moves {
		if m.boxes[n] != nil {
			return fmt.Errorf("%w: %s", ErrMailboxExists, n)
		}
	}
	renamed := make(map[string]*memoryBox, len(moves))
	for old, n := range moves {
		renamed[n] = m.boxes[old]
		delete(m.boxes, old)
	}
	for n, b := range renamed {
		m.boxes[n] = b
		m.validity[n] = max(m.validity[n], b.UIDValidity())
	}
	return nil
}

// renameInbox moves every message of INBOX into a new mailbox to, with
// its flags and internal date, and leaves INBOX empty (RFC 3501 §6.3.5);
// the caller holds m.mu.
func (m *memoryMailboxes) renameInbox(to string) error {
	if err := m.create(to); err != nil {
		return err
	}
	inbox, dst := m.boxes["INBOX"], m.boxes[to]
	inbox.mu.Lock()
	msgs := inbox.take(inbox.msgs)
	inbox.msgs, inbox.bodies = nil, nil
	inbox.changedLocked()
	inbox.mu.Unlock()
	dst.mu.Lock()
	dst.put(msgs)
	dst.mu.Unlock()
	return nil
}

func (m *memoryMailboxes) Subscriptions() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.subs), nil
}

func (m *memoryMailboxes) Subscribe(name string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs = slices.DeleteFunc(m.subs, func(n string) bool { return n == name })
	if on {
		m.subs = append(m.subs, name)
	}
	return nil
}

// memoryBox is one mailbox in memory.
type memoryBox struct {
	owner *memoryMailboxes

	mu          sync.Mutex
	deleted     bool
	validity    uint32
	next        uint32
	firstRecent uint32    // the lowest UID no session has claimed as \Recent
	msgs        []Message // sorted by UID; replaced, never changed in place, once handed out
	firstUnseen int
	bodies      map[uint32]memoryBody
	watchers    map[chan struct{}]struct{}
}

// memoryBody is what a message holds besides its UID and flags.
type memoryBody struct {
	data []byte // lines end in CRLF; never changed
	date time.Time
}

// memoryMessage is a message on its way into a mailbox.
type memoryMessage struct {
	memoryBody
	flags []string
	id    string
}

func (b *memoryBox) gone() error {
	if b.deleted {
		return ErrNoMailbox
	}
	return nil
}

func (b *memoryBox) Snapshot() (Snapshot, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.gone(); err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Messages: b.msgs, UIDValidity: b.validity, UIDNext: b.next, FirstUnseen: b.firstUnseen}, nil
}

func (b *memoryBox) UIDValidity() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.validity
}

func (b *memoryBox) Recent() (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.firstRecent, 1), b.gone()
}

func (b *memoryBox) ClaimRecent() (from, to uint32, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	from, to = max(b.firstRecent, 1), b.next
	if from >= to {
		return to, to, b.gone()
	}
	b.firstRecent = to
	return from, to, b.gone()
}

func (b *memoryBox) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	if b.watchers == nil {
		b.watchers = make(map[chan struct{}]struct{})
	}
	b.watchers[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.watchers, ch)
		b.mu.Unlock()
	}
}

func (b *memoryBox) notifyLocked() {
	for ch := range b.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// changedLocked notes a new list of messages: the first unseen one, and
// the sessions watching.
func (b *memoryBox) changedLocked() {
	b.firstUnseen = slices.IndexFunc(b.msgs, func(m Message) bool { return !m.HasFlag(flagSeen) })
	b.notifyLocked()
}

func (b *memoryBox) body(uid uint32) (memoryBody, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	body, ok := b.bodies[uid]
	if !ok {
		return body, fmt.Errorf("%w: UID %d", ErrNoMessage, uid)
	}
	return body, nil
}

func (b *memoryBox) Open(uid uint32) (io.ReadCloser, error) {
	body, err := b.body(uid)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(body.data)), nil
}

func (b *memoryBox) Date(uid uint32) (time.Time, error) {
	body, err := b.body(uid)
	return body.date, err
}

// find returns the index of uid in b.msgs, or -1; the caller holds b.mu.
func (b *memoryBox) find(uid uint32) int {
	i, ok := slices.BinarySearchFunc(b.msgs, uid, func(m Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
	if !ok {
		return -1
	}
	return i
}

// take returns the messages of msgs as messages to put elsewhere; the
// caller holds b.mu.
func (b *memoryBox) take(msgs []Message) []memoryMessage {
	out := make([]memoryMessage, len(msgs))
	for i, m := range msgs {
		out[i] = memoryMessage{memoryBody: b.bodies[m.UID], flags: m.Flags, id: m.ID}
	}
	return out
}

// put adds messages after the others, with new UIDs, and returns the
// UIDs; the caller holds b.mu.
func (b *memoryBox) put(msgs []memoryMessage) []uint32 {
	list := slices.Clip(b.msgs) // a new array: the old list is shared
	if b.bodies == nil {
		b.bodies = make(map[uint32]memoryBody)
	}
	uids := make([]uint32, len(msgs))
	for i, m := range msgs {
		uids[i] = b.next
		list = append(list, Message{UID: b.next, Flags: m.flags, Size: int64(len(m.data)), ID: m.id})
		b.bodies[b.next] = m.memoryBody
		b.next++
	}
	b.msgs = list
	b.changedLocked()
	return uids
}

func (b *memoryBox) Append() Appender { return &memoryAppender{box: b} }

func (b *memoryBox) SetFlags(uids []uint32, op FlagOp, flags []string) ([]Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.gone(); err != nil {
		return nil, err
	}
	msgs := slices.Clone(b.msgs)
	var out []Message
	for _, uid := range uids {
		i := b.find(uid)
		if i < 0 {
			continue
		}
		switch op {
		case FlagsReplace:
			msgs[i].Flags = keptFlags(flags)
		case FlagsAdd:
			msgs[i].Flags = keptFlags(append(slices.Clone(msgs[i].Flags), flags...))
		case FlagsRemove:
			msgs[i].Flags = slices.DeleteFunc(slices.Clone(msgs[i].Flags), func(f string) bool {
				return slices.ContainsFunc(flags, func(g string) bool { return strings.EqualFold(f, g) })
			})
		default:
			return nil, fmt.Errorf("imap: unknown flag operation %d", op)
		}
		out = append(out, msgs[i])
	}
	b.msgs = msgs
	b.changedLocked()
	return out, nil
}

// keptFlags returns flags as a mailbox keeps them: system flags spelled
// as RFC 3501 does, keywords as given, each once, sorted; \Recent and
// unknown system flags are not kept.
func keptFlags(flags []string) []string {
	var out []string
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			if f = systemFlag(f); f == "" {
				continue
			}
		}
		if !slices.ContainsFunc(out, func(g string) bool { return strings.EqualFold(f, g) }) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

func (b *memoryBox) Expunge(uids []uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.gone(); err != nil {
		return err
	}
	b.msgs = slices.DeleteFunc(slices.Clone(b.msgs), func(m Message) bool { return slices.Contains(uids, m.UID) })
	for _, uid := range uids {
		delete(b.bodies, uid)
	}
	b.changedLocked()
	return nil
}

func (b *memoryBox) CopyTo(uids []uint32, dst Mailbox) (src, dstUIDs []uint32, err error) {
	d, ok := dst.(*memoryBox)
	if !ok {
		return nil, nil, fmt.Errorf("imap: copy from memory to a %T", dst)
	}
	// One lock at a time: a copy the other way round must not wait for
	// this one.
	b.mu.Lock()
	var msgs []Message
	for _, uid := range uids {
		if i := b.find(uid); i >= 0 {
			msgs = append(msgs, b.msgs[i])
			src = append(src, uid)
		}
	}
	copies := b.take(msgs)
	b.mu.Unlock()

	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.gone(); err != nil {
		return nil, nil, err
	}
	return src, d.put(copies), nil
}

// memoryAppender keeps the messages of one APPEND until Commit.
type memoryAppender struct {
	box     *memoryBox
	pending []memoryMessage
}

func (a *memoryAppender) Add(r io.Reader, flags []string, date time.Time) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if date.IsZero() {
		date = a.box.owner.now()
	}
	id := strconv.FormatUint(a.box.owner.ids.Add(1), 10)
	a.pending = append(a.pending, memoryMessage{memoryBody{toCRLF(data), date}, keptFlags(flags), id})
	return nil
}

func (a *memoryAppender) Commit() ([]uint32, error) {
	pending := a.pending
	a.pending = nil
	a.box.mu.Lock()
	defer a.box.mu.Unlock()
	if err := a.box.gone(); err != nil {
		return nil, err
	}
	return a.box.put(pending), nil
}

func (a *memoryAppender) Discard() { a.pending = nil }

// toCRLF returns data with every bare LF made CRLF, as the Maildir store
// writes messages.
func toCRLF(data []byte) []byte {
	out := make([]byte, 0, len(data)+bytes.Count(data, []byte("\n")))
	for i, c := range data {
		if c == '\n' && (i == 0 || data[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
