package maildir

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const alice = "From: alice@crepes.fr\nTo: bob@hamburger.edu\nSubject: Searching for the meaning of life\n\nHi Bob!\n"

func uidsOf(msgs []Message) []uint32 {
	var out []uint32
	for _, m := range msgs {
		out = append(out, m.UID)
	}
	return out
}

func TestDeliverSyncAndStableUIDs(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox("inbox")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := inbox.Deliver(strings.NewReader(alice)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := inbox.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint32{1, 2, 3}, uidsOf(msgs)); diff != "" {
		t.Fatalf("UIDs (-want +got):\n%s", diff)
	}
	// Stored with CRLF line ends, size in the name.
	f, err := inbox.Open(2)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	f.Close()
	want := strings.ReplaceAll(alice, "\n", "\r\n")
	if string(data) != want {
		t.Errorf("stored %q, want %q", data, want)
	}
	if msgs[1].Size != int64(len(want)) {
		t.Errorf("size %d, want %d", msgs[1].Size, len(want))
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "new")); len(entries) != 0 {
		t.Errorf("new/ still holds %d files after Sync", len(entries))
	}
	v1, next, err := inbox.Status()
	if err != nil || next != 4 {
		t.Fatalf("Status = %d %d %v, want UIDNEXT 4", v1, next, err)
	}

	if err := inbox.Expunge([]uint32{3}); err != nil {
		t.Fatal(err)
	}
	// Another process (a second Store) sees the same numbers, and the
	// expunged highest UID is never reused.
	s2, _ := Open(root)
	inbox2, err := s2.Mailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msgs2, err := inbox2.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint32{1, 2}, uidsOf(msgs2)); diff != "" {
		t.Fatalf("UIDs after reopen (-want +got):\n%s", diff)
	}
	uid, err := inbox2.Append(strings.NewReader(alice), []string{Seen}, time.Time{}, 0)
	if err != nil || uid != 4 {
		t.Fatalf("Append = %d %v, want UID 4", uid, err)
	}
	if v2 := inbox2.UIDValidity(); v2 != v1 {
		t.Errorf("UIDVALIDITY changed from %d to %d", v1, v2)
	}
	msgs, _ = inbox.Sync()
	if diff := cmp.Diff([]uint32{1, 2, 4}, uidsOf(msgs)); diff != "" {
		t.Fatalf("first store after append (-want +got):\n%s", diff)
	}
}

func TestFlagsAndKeywords(t *testing.T) {
	s, _ := Open(t.TempDir())
	inbox, _ := s.Mailbox("INBOX")
	date := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	uid, err := inbox.Append(strings.NewReader(alice), []string{`\Seen`, "$Forwarded", `\Recent`}, date, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := inbox.Sync()
	if diff := cmp.Diff([]string{"$Forwarded", `\Seen`}, msgs[0].Flags); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(msgs[0].Name, ":2,Sa") {
		t.Errorf("file name %q, want info :2,Sa", msgs[0].Name)
	}
	got, err := inbox.SetFlags([]uint32{uid}, FlagsAdd, []string{`\Deleted`, `\Answered`})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got[0].Name, ":2,RSTa") {
		t.Errorf("file name %q, want :2,RSTa", got[0].Name)
	}
	got, _ = inbox.SetFlags([]uint32{uid}, FlagsRemove, []string{`\seen`, "$FORWARDED"})
	if diff := cmp.Diff([]string{`\Answered`, `\Deleted`}, got[0].Flags); diff != "" {
		t.Errorf("flags after remove (-want +got):\n%s", diff)
	}
	if d, err := inbox.Date(uid); err != nil || !d.Equal(date) {
		t.Errorf("Date = %v %v, want %v", d, err, date)
	}
	// A second store reads the letters back through dovecot-keywords.
	s2, _ := Open(s.Root())
	in2, _ := s2.Mailbox("INBOX")
	inbox.SetFlags([]uint32{uid}, FlagsReplace, []string{"$Forwarded"})
	m2, _ := in2.Sync()
	if diff := cmp.Diff([]string{"$Forwarded"}, m2[0].Flags); diff != "" {
		t.Errorf("second store flags (-want +got):\n%s", diff)
	}
}

func TestFolders(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, n := range []string{"Archive.2026", "Work"} {
		if err := s.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Create("Work"); !errors.Is(err, ErrExists) {
		t.Errorf("Create twice: %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "a..b", ".x", "x.", "a/b", "../etc"} {
		if err := s.Create(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("Create(%q) = %v, want ErrBadName", bad, err)
		}
	}
	list, _ := s.List()
	if diff := cmp.Diff([]string{"INBOX", "Archive", "Archive.2026", "Work"}, list); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	if err := s.Delete("Archive"); !errors.Is(err, ErrHasChildren) {
		t.Errorf("Delete parent: %v", err)
	}
	if err := s.Rename("Archive", "Old"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("INBOX"); !errors.Is(err, ErrInbox) {
		t.Errorf("Delete INBOX: %v", err)
	}
	list, _ = s.List()
	if diff := cmp.Diff([]string{"INBOX", "Old", "Old.2026"}, list); diff != "" {
		t.Errorf("List after rename (-want +got):\n%s", diff)
	}
	s.Subscribe("Old", true)
	s.Subscribe("Old.2026", true)
	s.Subscribe("Old", false)
	subs, _ := s.Subscriptions()
	if diff := cmp.Diff([]string{"Old.2026"}, subs); diff != "" {
		t.Errorf("Subscriptions (-want +got):\n%s", diff)
	}

	inbox, _ := s.Mailbox("INBOX")
	inbox.Append(strings.NewReader(alice), []string{Flagged}, time.Time{}, 0)
	old, err := s.Mailbox("Old")
	if err != nil {
		t.Fatal(err)
	}
	src, dst, err := inbox.CopyTo([]uint32{1, 7}, old)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]uint32{{1}, {1}}, [][]uint32{src, dst}); diff != "" {
		t.Errorf("CopyTo (-want +got):\n%s", diff)
	}
	msgs, _ := old.Sync()
	if len(msgs) != 1 || !msgs[0].HasFlag(Flagged) {
		t.Errorf("copied messages %+v, want one flagged", msgs)
	}
}

func TestConcurrentDelivery(t *testing.T) {
	root := t.TempDir()
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(root) // a store per writer, like separate processes
			if err != nil {
				errs <- err
				return
			}
			inbox, _ := s.Mailbox("INBOX")
			for i := 0; i < each; i++ {
				if w%2 == 0 {
					_, err = inbox.Deliver(strings.NewReader(alice))
				} else {
					_, err = inbox.Append(strings.NewReader(alice), nil, time.Time{}, 0)
				}
				if err == nil {
					_, err = inbox.Sync()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, _ := Open(root)
	inbox, _ := s.Mailbox("INBOX")
	msgs, err := inbox.Sync()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, m := range msgs {
		if seen[m.UID] {
			t.Errorf("UID %d given twice", m.UID)
		}
		seen[m.UID] = true
	}
	if len(msgs) != writers*each {
		t.Errorf("%d messages, want %d", len(msgs), writers*each)
	}
}

type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, strings.Repeat("x", min(len(p), r.n)))
	r.n -= n
	return n, nil
}

func TestInterruptedAppendLeavesNothing(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root)
	inbox, _ := s.Mailbox("INBOX")
	if _, err := inbox.Append(&failingReader{n: 5000}, nil, time.Time{}, 0); err == nil {
		t.Fatal("Append of a broken stream succeeded")
	}
	if _, err := inbox.Append(strings.NewReader(strings.Repeat("y", 100)), nil, time.Time{}, 50); !errors.Is(err, ErrTooBig) {
		t.Fatalf("Append over the limit: %v, want ErrTooBig", err)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if entries, _ := os.ReadDir(filepath.Join(root, sub)); len(entries) != 0 {
			t.Errorf("%s/ holds %d files", sub, len(entries))
		}
	}
}

func TestWatch(t *testing.T) {
	s, _ := Open(t.TempDir())
	inbox, _ := s.Mailbox("INBOX")
	ch, stop := inbox.Watch()
	defer stop()
	inbox.Deliver(strings.NewReader(alice))
	select {
	case <-ch:
	default:
		t.Fatal("no notification after Deliver")
	}
}

func BenchmarkAppend5K(b *testing.B) {
	s, _ := Open(b.TempDir())
	inbox, _ := s.Mailbox("INBOX")
	body := alice + strings.Repeat("a line of text for Bob's mailbox\n", 5000/33)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := inbox.Append(strings.NewReader(body), nil, time.Time{}, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSync100k(b *testing.B) {
	root := b.TempDir()
	makeMaildir(root)
	for i := 0; i < 100000; i++ {
		name := fmt.Sprintf("%d.M1P1Q%d.bench,S=100:2,S", 1700000000+i, i)
		os.WriteFile(filepath.Join(root, "cur", name), nil, 0o600)
	}
	b.ResetTimer()
	for b.Loop() {
		s, _ := Open(root)
		inbox, _ := s.Mailbox("INBOX")
		if msgs, err := inbox.Sync(); err != nil || len(msgs) != 100000 {
			b.Fatal(len(msgs), err)
		}
	}
}

// FuzzUIDList feeds arbitrary appnet-uidlist and dovecot-keywords files
// and file names to a mailbox: Sync must fail cleanly or give distinct
// UIDs, never panic.
func FuzzUIDList(f *testing.F) {
	f.Add([]byte("appnet-uidlist 1 V1764111600 N3\n1 a\n2 b\n-1\n"), []byte("0 $Forwarded\n1 Junk\n"), "a:2,Sab")
	f.Add([]byte("appnet-uidlist 1 V N\n4294967295 x\n"), []byte("99 x\n"), "x")
	f.Add([]byte("garbage"), []byte(""), "y:2,")
	f.Add([]byte("appnet-uidlist 1 V7 N1\n1 a\nR2\nR99999999999\nR\n2 b\nR1\n"), []byte(""), "b:2,S")
	f.Fuzz(func(t *testing.T, log, keywords []byte, name string) {
		if name == "" || strings.ContainsAny(name, "/\x00") || name[0] == '.' || len(name) > 200 {
			return
		}
		root := t.TempDir()
		s, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "appnet-uidlist"), log, 0o600)
		os.WriteFile(filepath.Join(root, "dovecot-keywords"), keywords, 0o600)
		os.WriteFile(filepath.Join(root, "cur", name), []byte(alice), 0o600)
		inbox, _ := s.Mailbox("INBOX")
		msgs, err := inbox.Sync()
		if err != nil {
			return
		}
		seen := map[uint32]bool{}
		for _, m := range msgs {
			if m.UID == 0 || seen[m.UID] {
				t.Fatalf("bad or repeated UID %d", m.UID)
			}
			seen[m.UID] = true
		}
		// \Recent claims: what is claimed lies below UIDNEXT, and is
		// claimed once.
		from, to, err := inbox.ClaimRecent()
		if err != nil {
			return
		}
		_, next, _ := inbox.Status()
		if from > to || to > next {
			t.Fatalf("claim [%d,%d) with UIDNEXT %d", from, to, next)
		}
		if a, b, err := inbox.ClaimRecent(); err == nil && a != b {
			t.Fatalf("second claim [%d,%d) after [%d,%d)", a, b, from, to)
		}
	})
}

// TestClaimRecent: each message is \Recent to exactly one claimant, be it
// in this process or another (a second Store on the same directory), and
// the claims survive a reopening.
func TestClaimRecent(t *testing.T) {
	root := t.TempDir()
	s1, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s1.Mailbox("INBOX")
	b, _ := s2.Mailbox("INBOX")
	for i := 0; i < 2; i++ {
		if _, err := a.Deliver(strings.NewReader(alice)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Append(strings.NewReader(alice), nil, time.Time{}, 0); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Recent(); err != nil || r != 1 {
		t.Fatalf("Recent before any claim = %d, %v; want 1", r, err)
	}
	from, to, err := b.ClaimRecent()
	if err != nil || from != 1 || to != 4 {
		t.Fatalf("first claim = [%d,%d), %v; want [1,4)", from, to, err)
	}
	from, to, err = a.ClaimRecent()
	if err != nil || from != to {
		t.Fatalf("second claim = [%d,%d), %v; want nothing", from, to, err)
	}
	if _, err := b.Deliver(strings.NewReader(alice)); err != nil {
		t.Fatal(err)
	}
	from, to, err = a.ClaimRecent()
	if err != nil || from != 4 || to != 5 {
		t.Fatalf("claim after a delivery = [%d,%d), %v; want [4,5)", from, to, err)
	}
	if r, err := b.Recent(); err != nil || r != 5 {
		t.Fatalf("Recent after the claims = %d, %v; want 5", r, err)
	}
	s3, _ := Open(root)
	c, _ := s3.Mailbox("INBOX")
	if from, to, err := c.ClaimRecent(); err != nil || from != to {
		t.Fatalf("claim after reopening = [%d,%d), %v; want nothing", from, to, err)
	}
	if msgs, err := c.Sync(); err != nil || len(msgs) != 4 {
		t.Fatalf("after reopening: %d messages, %v; want 4", len(msgs), err)
	}
}

// validityOf creates the folder name in s and returns the UIDVALIDITY its
// first Status gives it.
func validityOf(t *testing.T, s *Store, name string) uint32 {
	t.Helper()
	if err := s.Create(name); err != nil {
		t.Fatal(err)
	}
	m, err := s.Mailbox(name)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := m.Status()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A folder deleted and created again gets a greater UIDVALIDITY each
// time, though the clock stands still (RFC 3501 §2.3.1.1): the old UIDs
// must not be valid in the new folder.
func TestUIDValidityOfRecreatedFolder(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return t0 }
	var got []uint32
	for i := range 3 {
		if i > 0 {
			if err := s.Delete("Work"); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, validityOf(t, s, "Work"))
	}
	want := []uint32{uint32(t0.Unix()), uint32(t0.Unix()) + 1, uint32(t0.Unix()) + 2}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UIDVALIDITY of Work, created three times in one second (-want +got):\n%s", diff)
	}
	// The clock moving on takes over again.
	s.Now = func() time.Time { return t0.Add(time.Hour) }
	if err := s.Delete("Work"); err != nil {
		t.Fatal(err)
	}
	if v := validityOf(t, s, "Work"); v != uint32(t0.Add(time.Hour).Unix()) {
		t.Errorf("UIDVALIDITY an hour later: %d, want the clock's %d", v, t0.Add(time.Hour).Unix())
	}
}

// The last UIDVALIDITY given out outlives the process: a Store opened
// afresh on the same directory (a restart), with a clock that reads the
// same second or an earlier one, still gives a re-created folder a
// greater UIDVALIDITY.
func TestUIDValidityAcrossReopen(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	root := t.TempDir()
	last := uint32(0)
	for i, clock := range []time.Time{t0, t0, t0.Add(-time.Minute)} {
		s, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return clock }
		if i > 0 {
			if err := s.Delete("Work"); err != nil {
				t.Fatal(err)
			}
		}
		v := validityOf(t, s, "Work")
		if v <= last {
			t.Errorf("store opened %d times, clock %v: UIDVALIDITY %d, want more than the last, %d", i+1, clock, v, last)
		}
		last = v
	}
}

// A folder renamed onto a name keeps its UIDVALIDITY, and a folder
// created under that name after it gets a greater one still.
func TestUIDValidityAfterRename(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return t0 }
	vOld := validityOf(t, s, "Old") // Old's first numbering, at t0
	if err := s.Delete("Old"); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return t0.Add(time.Hour) }
	vWork := validityOf(t, s, "Work")
	if err := s.Rename("Work", "Old"); err != nil {
		t.Fatal(err)
	}
	m, err := s.Mailbox("Old")
	if err != nil {
		t.Fatal(err)
	}
	if v, _, err := m.Status(); err != nil || v != vWork {
		t.Fatalf("Work renamed to Old: UIDVALIDITY %d, %v; want Work's %d", v, err, vWork)
	}
	if err := s.Delete("Old"); err != nil {
		t.Fatal(err)
	}
	if v := validityOf(t, s, "Old"); v <= vWork || v <= vOld {
		t.Errorf("Old created again after Work, renamed to Old, was deleted: UIDVALIDITY %d, want more than Work's %d and the first Old's %d", v, vWork, vOld)
	}
}

// Numberings of one name started at once, in one second, by several
// sessions or processes (a Store each), get UIDVALIDITY values that all
// differ.
func TestUIDValidityConcurrent(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	root := t.TempDir()
	const n = 8
	got := make([]uint32, n)
	var wg sync.WaitGroup
	for i := range n {
		s, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return t0 }
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got[i], err = s.nextValidity("Work", 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	slices.Sort(got)
	var want []uint32
	for i := range n {
		want = append(want, uint32(t0.Unix())+uint32(i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UIDVALIDITY values given out at once (-want +got):\n%s", diff)
	}
}

// A uidlist put in the place of the one a session read (here: removed,
// then begun again by another store with more lines than before) is read
// from its start, not from where the old one ended: the session takes the
// new UIDVALIDITY and numbers.
func TestReplacedUIDListIsReadAgain(t *testing.T) {
	root := t.TempDir()
	open := func() *Mailbox {
		s, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.Mailbox("INBOX")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := open()
	for range 2 {
		if _, err := a.Deliver(strings.NewReader(alice)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Sync(); err != nil {
		t.Fatal(err)
	}
	old := a.UIDValidity()
	if err := os.Remove(filepath.Join(root, "appnet-uidlist")); err != nil {
		t.Fatal(err)
	}
	b := open()
	for range 3 {
		if _, err := b.Deliver(strings.NewReader(alice)); err != nil {
			t.Fatal(err)
		}
	}
	want, err := b.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if b.UIDValidity() == old {
		t.Fatalf("the new list kept UIDVALIDITY %d", old)
	}
	got, err := a.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if a.UIDValidity() != b.UIDValidity() {
		t.Errorf("first session's UIDVALIDITY %d, want the new list's %d", a.UIDValidity(), b.UIDValidity())
	}
	if diff := cmp.Diff(uidsOf(want), uidsOf(got)); diff != "" {
		t.Errorf("first session's UIDs (-new list +got):\n%s", diff)
	}
}
