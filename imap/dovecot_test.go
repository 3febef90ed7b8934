package imap

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"appnet.dev/imap/maildir"
	"appnet.dev/sockets/sockettest"
)

// pipeConn is a net.Conn over a child's stdin and stdout, so that our
// client can talk to "doveadm exec imap", which speaks IMAP on them.
type pipeConn struct {
	r, w *os.File
}

func (p *pipeConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *pipeConn) Close() error {
	p.w.Close()
	return p.r.Close()
}
func (p *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (p *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }
func (p *pipeConn) SetDeadline(t time.Time) error {
	p.r.SetDeadline(t)
	return p.w.SetDeadline(t)
}
func (p *pipeConn) SetReadDeadline(t time.Time) error  { return p.r.SetDeadline(t) }
func (p *pipeConn) SetWriteDeadline(t time.Time) error { return p.w.SetDeadline(t) }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "doveadm" }

// dovecot prepares Dovecot to serve the Maildir at dir: a config in a
// directory of its own, and the Maildir made readable to the unprivileged
// user it must run as. It skips the test if Dovecot is not installed.
type dovecot struct {
	conf string
	dir  string
	uid  int
}

func newDovecot(t testing.TB, dir string) *dovecot {
	t.Helper()
	sockettest.Need(t, "doveadm", "dovecot-imapd")
	if _, err := os.Stat("/usr/lib/dovecot/imap"); err != nil {
		t.Skip("dovecot imap not installed (Debian package dovecot-imapd)")
	}
	run := t.TempDir()
	uid := os.Getuid()
	if uid == 0 {
		// doveadm refuses to run as root: run it as nobody, who needs to
		// reach the directories.
		uid = 65534
		for _, d := range []string{run, dir} {
			for p := d; p != "/" && p != "."; p = filepath.Dir(p) {
				st, err := os.Stat(p)
				if err == nil && st.Mode().Perm()&0o001 == 0 {
					os.Chmod(p, st.Mode().Perm()|0o011)
				}
			}
			filepath.Walk(d, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, uid) })
		}
	}
	conf := filepath.Join(run, "dovecot.conf")
	cfg := fmt.Sprintf(`base_dir = %[1]s
state_dir = %[1]s
log_path = /dev/stderr
ssl = no
mail_location = maildir:%[2]s:INDEX=MEMORY
mail_uid = %[3]d
mail_gid = %[3]d
first_valid_uid = 0
first_valid_gid = 0
passdb {
  driver = static
  args = password=x
}
userdb {
  driver = static
  args = uid=%[3]d gid=%[3]d home=%[2]s
}
`, run, dir, uid)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return &dovecot{conf: conf, dir: run, uid: uid}
}

// client starts one "doveadm exec imap" session and returns our client on
// it; the process is stopped by PID at cleanup.
func (d *dovecot) client(t testing.TB) *Client {
	t.Helper()
	args := []string{"doveadm", "-c", d.conf, "exec", "imap"}
	if os.Getuid() == 0 {
		args = append([]string{"setpriv", fmt.Sprintf("--reuid=%d", d.uid), fmt.Sprintf("--regid=%d", d.uid), "--clear-groups"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = d.dir
	cmd.Env = append(os.Environ(), "USER=bob", "HOME="+d.dir)
	inR, inW, _ := os.Pipe()
	outR, outW, _ := os.Pipe()
	cmd.Stdin, cmd.Stdout = inR, outW
	imap := sockettest.StartProcess(t, context.Background(), cmd)
	inR.Close()
	outW.Close()
	t.Cleanup(func() {
		// End of input ends the session; StartProcess kills it by PID if
		// it has not gone in five seconds.
		inW.Close()
		select {
		case <-imap.Exited():
		case <-time.After(5 * time.Second):
		}
		if s := imap.Output(); strings.Contains(s, "Error") || strings.Contains(s, "Panic") || strings.Contains(s, "Fatal") {
			t.Logf("dovecot stderr:\n%s", s)
		}
	})
	return NewClient(&pipeConn{r: outR, w: inW})
}

// fetchAll fetches ENVELOPE, BODYSTRUCTURE and RFC822.SIZE of every message.
func fetchAll(ctx context.Context, t testing.TB, c *Client) map[uint32]*FetchMessage {
	t.Helper()
	if _, err := c.Select(ctx, "INBOX", true); err != nil {
		t.Fatal(err)
	}
	out := map[uint32]*FetchMessage{}
	err := c.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: []string{"RFC822.SIZE", "INTERNALDATE", "FLAGS", "ENVELOPE", "BODYSTRUCTURE", "BODY"}}, func(m *FetchMessage) error {
		out[m.Seq] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSameAsDovecot(t *testing.T) {
	root := t.TempDir()
	store, err := maildir.Open(filepath.Join(root, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	msgs := corpus(120)
	kinds := map[string]int{}
	for i, m := range msgs {
		for _, k := range []string{"multipart/", "message/rfc822", "=?", "filename*=", "multipart/digest", ":;"} {
			if strings.Contains(m, k) {
				kinds[k]++
			}
		}
		date := time.Date(2026, 11, 1+i%28, i%24, i%60, 0, 0, time.FixedZone("", 3600))
		var flags []string
		if i%2 == 0 {
			flags = []string{`\Seen`}
		}
		if _, err := inbox.Append(strings.NewReader(m), flags, date, 0); err != nil {
			t.Fatal(err)
		}
	}
	for k, n := range kinds {
		if n < 5 {
			t.Errorf("the corpus has only %d messages with %q", n, k)
		}
	}
	if len(kinds) < 6 {
		t.Errorf("the corpus lacks variety: %v", kinds)
	}
	dc := newDovecot(t, store.Root()) // after the files exist, to hand them over
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ref := dc.client(t)
	want := fetchAll(ctx, t, ref)

	srv := &Server{Backend: BackendFunc(func(context.Context, string, string) (Mailboxes, error) { return Maildir(store), nil }), AllowInsecureAuth: true}
	a, b := net.Pipe()
	go srv.ServeConn(a)
	ours := NewClient(b)
	defer ours.Close()
	if err := ours.Login(ctx, "bob", "x"); err != nil {
		t.Fatal(err)
	}
	got := fetchAll(ctx, t, ours)

	if len(got) != len(msgs) || len(want) != len(msgs) {
		t.Fatalf("fetched %d messages from us, %d from Dovecot, want %d", len(got), len(want), len(msgs))
	}
	bad := 0
	for seq := uint32(1); seq <= uint32(len(msgs)); seq++ {
		g, w := got[seq], want[seq]
		if g.Size != w.Size {
			t.Errorf("message %d: RFC822.SIZE %d, Dovecot %d", seq, g.Size, w.Size)
		}
		if !g.InternalDate.Equal(w.InternalDate) || g.InternalDate.IsZero() {
			t.Errorf("message %d: INTERNALDATE %v, Dovecot %v", seq, g.InternalDate, w.InternalDate)
		}
		// \Recent included: both servers are the first to show these
		// messages to a session.
		if len(w.Flags) == 0 || w.Flags[len(w.Flags)-1] != `\Recent` {
			t.Errorf("message %d: Dovecot's FLAGS %q lack \\Recent", seq, w.Flags)
		}
		if diff := cmp.Diff(w.Flags, g.Flags); diff != "" {
			t.Errorf("message %d: FLAGS (-dovecot +ours):\n%s", seq, diff)
		}
		for _, item := range []string{"ENVELOPE", "BODYSTRUCTURE", "BODY"} {
			if diff := cmp.Diff(w.Raw[item], g.Raw[item]); diff != "" {
				bad++
				if bad <= 8 {
					t.Errorf("message %d: %s differs from Dovecot's (-dovecot +ours):\n%s\nmessage:\n%s", seq, item, diff, msgs[seq-1])
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d items of %d messages differ", bad, len(msgs))
	}
}

// TestDovecotSharesOurMaildir has Dovecot read the folders, flags and
// keywords we wrote, and write a message with flags that we read back.
func TestDovecotSharesOurMaildir(t *testing.T) {
	store, err := maildir.Open(filepath.Join(t.TempDir(), "bob"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Archive", "Archive.2026"} {
		if err := store.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	arch, _ := store.Mailbox("Archive")
	if _, err := arch.Append(strings.NewReader(aliceMsg), []string{`\Seen`, `\Flagged`, "$Label1"}, time.Time{}, 0); err != nil {
		t.Fatal(err)
	}
	dc := newDovecot(t, store.Root())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dc.client(t)
	boxes, err := c.List(ctx, "", "*")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range boxes {
		names = append(names, b.Name)
	}
	for _, want := range []string{"INBOX", "Archive", "Archive.2026"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("Dovecot lists %v, missing %s", names, want)
		}
	}
	if _, err := c.Select(ctx, "Archive", false); err != nil {
		t.Fatal(err)
	}
	var flags []string
	c.Fetch(ctx, SeqSetOf(1), FetchOptions{Items: []string{"FLAGS"}}, func(m *FetchMessage) error {
		flags = m.Flags
		return nil
	})
	got := strings.Join(flags, " ")
	for _, want := range []string{`\Seen`, `\Flagged`, "$Label1"} {
		if !strings.Contains(got, want) {
			t.Errorf("Dovecot reads flags %q, missing %s", got, want)
		}
	}
	// Dovecot writes; we read.
	uid, err := c.Append(ctx, "Archive", []string{`\Answered`, "Junk"}, time.Time{}, strings.NewReader(aliceMsg), int64(len(aliceMsg)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := arch.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("we see %d messages in Archive after Dovecot's APPEND (UID %d there)", len(msgs), uid)
	}
	if diff := cmp.Diff([]string{"Junk", `\Answered`}, msgs[1].Flags); diff != "" {
		t.Errorf("flags of Dovecot's message (-want +got):\n%s", diff)
	}
}

// TestSectionsSameAsDovecot compares BODY[section] and partial fetches
// with Dovecot's on the corpus.
func TestSectionsSameAsDovecot(t *testing.T) {
	store, err := maildir.Open(filepath.Join(t.TempDir(), "bob"))
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	msgs := corpus(120)
	for _, m := range msgs {
		inbox.Append(strings.NewReader(m), nil, time.Time{}, 0)
	}
	dc := newDovecot(t, store.Root())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	items := []string{"BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]", "BODY.PEEK[1.1]", "BODY.PEEK[2.1.MIME]",
		"BODY.PEEK[TEXT]", "BODY.PEEK[HEADER]", "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "BODY.PEEK[HEADER.FIELDS.NOT (TO CC)]",
		"BODY.PEEK[1.HEADER]", "BODY.PEEK[1.TEXT]", "BODY.PEEK[]<5.20>", "BODY.PEEK[1]<2.10>"}
	fetch := func(c *Client) map[uint32]map[string]string {
		if _, err := c.Select(ctx, "INBOX", true); err != nil {
			t.Fatal(err)
		}
		out := map[uint32]map[string]string{}
		err := c.Fetch(ctx, SeqSet{{1, 0}}, FetchOptions{Items: items}, func(m *FetchMessage) error {
			out[m.Seq] = map[string]string{}
			for k, v := range m.Body {
				out[m.Seq][k] = string(v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := fetch(dc.client(t))
	srv := &Server{Backend: BackendFunc(func(context.Context, string, string) (Mailboxes, error) { return Maildir(store), nil }), AllowInsecureAuth: true}
	a, b := net.Pipe()
	go srv.ServeConn(a)
	ours := NewClient(b)
	defer ours.Close()
	if err := ours.Login(ctx, "bob", "x"); err != nil {
		t.Fatal(err)
	}
	got := fetch(ours)
	bad := 0
	for seq := uint32(1); seq <= uint32(len(msgs)); seq++ {
		if diff := cmp.Diff(want[seq], got[seq]); diff != "" {
			bad++
			if bad <= 5 {
				t.Errorf("message %d: sections differ from Dovecot's (-dovecot +ours):\n%s\nmessage:\n%s", seq, diff, msgs[seq-1])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d messages differ", bad, len(msgs))
	}
}

// TestSearchSameAsDovecot runs SEARCH criteria over the corpus on both
// servers and compares the results.
func TestSearchSameAsDovecot(t *testing.T) {
	store, err := maildir.Open(filepath.Join(t.TempDir(), "bob"))
	if err != nil {
		t.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	msgs := corpus(120)
	for i, m := range msgs {
		var flags []string
		if i%3 == 0 {
			flags = append(flags, `\Seen`)
		}
		if i%7 == 0 {
			flags = append(flags, `\Flagged`, "$Label1")
		}
		inbox.Append(strings.NewReader(m), flags, time.Time{}, 0)
	}
	dc := newDovecot(t, store.Root())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	criteria := []string{
		"ALL", "SEEN", "UNSEEN FLAGGED", "KEYWORD $Label1", "UNKEYWORD $Label1",
		"FROM alice", "FROM crepes.fr", "TO bob", "CC kingcdn", "BCC hamburger",
		"SUBJECT meaning", "SUBJECT lecture", "HEADER Message-ID hamburger.edu", "HEADER In-Reply-To 0@crepes",
		"LARGER 1000", "SMALLER 400", "OR SEEN FLAGGED", "NOT (FROM alice SUBJECT meaning)",
		"SENTSINCE 10-Nov-2026", "SENTBEFORE 10-Nov-2026", "SENTON 12-Nov-2026",
		"1:10,50:60", "UID 3:7", "OR (LARGER 500 SMALLER 900) KEYWORD $Label1",
	}
	search := func(c *Client) map[string][]uint32 {
		if _, err := c.Select(ctx, "INBOX", true); err != nil {
			t.Fatal(err)
		}
		out := map[string][]uint32{}
		for _, crit := range criteria {
			found, err := c.Search(ctx, false, crit)
			if err != nil {
				t.Fatalf("SEARCH %s: %v", crit, err)
			}
			out[crit] = found
		}
		return out
	}
	want := search(dc.client(t))
	srv := &Server{Backend: BackendFunc(func(context.Context, string, string) (Mailboxes, error) { return Maildir(store), nil }), AllowInsecureAuth: true}
	a, b := net.Pipe()
	go srv.ServeConn(a)
	ours := NewClient(b)
	defer ours.Close()
	if err := ours.Login(ctx, "bob", "x"); err != nil {
		t.Fatal(err)
	}
	got := search(ours)
	for _, crit := range criteria {
		if diff := cmp.Diff(want[crit], got[crit]); diff != "" {
			t.Errorf("SEARCH %s differs from Dovecot's (-dovecot +ours):\n%s", crit, diff)
		}
	}
}

// TestListSameAsDovecot compares LIST with wildcards on one set of
// folders.
func TestListSameAsDovecot(t *testing.T) {
	store, err := maildir.Open(filepath.Join(t.TempDir(), "bob"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"Archive", "Archive.2025", "Archive.2026", "Archive.2026.Crepes", "Entw&APw-rfe", "Work"} {
		if err := store.Create(n); err != nil {
			t.Fatal(err)
		}
	}
	dc := newDovecot(t, store.Root())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	patterns := [][2]string{{"", "*"}, {"", "%"}, {"", "Archive.%"}, {"", "*2026*"}, {"Archive.", "%"}, {"", "inbox"}, {"", "W*"}, {"", "%.%"}}
	list := func(c *Client) map[string][]string {
		out := map[string][]string{}
		for _, p := range patterns {
			boxes, err := c.List(ctx, p[0], p[1])
			if err != nil {
				t.Fatalf("LIST %q %q: %v", p[0], p[1], err)
			}
			var lines []string
			for _, b := range boxes {
				lines = append(lines, fmt.Sprintf("%s %s %v", b.Name, b.Delim, b.Attrs))
			}
			sort.Strings(lines)
			out[p[0]+" "+p[1]] = lines
		}
		return out
	}
	want := list(dc.client(t))
	srv := &Server{Backend: BackendFunc(func(context.Context, string, string) (Mailboxes, error) { return Maildir(store), nil }), AllowInsecureAuth: true}
	a, b := net.Pipe()
	go srv.ServeConn(a)
	ours := NewClient(b)
	defer ours.Close()
	if err := ours.Login(ctx, "bob", "x"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, list(ours)); diff != "" {
		t.Errorf("LIST differs from Dovecot's (-dovecot +ours):\n%s", diff)
	}
}
