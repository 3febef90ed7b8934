package imap

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"appnet.dev/imap/maildir"
	"appnet.dev/sockets/sockettest"
)

func TestCurl(t *testing.T) {
	curl := sockettest.Need(t, "curl", "curl")
	addr, store, _ := startServer(t, nil)
	inbox, _ := store.Mailbox("INBOX")
	inbox.Deliver(strings.NewReader(aliceMsg))
	store.Create("Archive")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-sS", "--max-time", "20", "-u", "bob:hunter2"}, args...)
		out, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	base := "imap://" + addr
	if out := run(base + "/"); !strings.Contains(out, "INBOX") || !strings.Contains(out, "Archive") {
		t.Errorf("curl LIST:\n%s", out)
	}
	if out := run(base + "/INBOX;UID=1"); out != aliceMsg {
		t.Errorf("curl fetch = %q, want %q", out, aliceMsg)
	}
	if out := run(base+"/INBOX", "-X", "SEARCH FROM alice"); !strings.Contains(out, "SEARCH 1") {
		t.Errorf("curl SEARCH:\n%s", out)
	}
	upload := filepath.Join(t.TempDir(), "msg.eml")
	os.WriteFile(upload, []byte(strings.ReplaceAll(aliceMsg, "Hi Bob!", "Hi again!")), 0o600)
	run("-T", upload, base+"/Archive")
	arch, _ := store.Mailbox("Archive")
	if msgs, _ := arch.Sync(); len(msgs) != 1 {
		t.Errorf("after curl APPEND, Archive holds %d messages", len(msgs))
	}
}

// tmux drives a terminal program in a detached tmux session.
type tmux struct {
	t       *testing.T
	session string
	socket  string
}

func (x *tmux) cmd(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x *tmux) screen() string {
	out, _ := exec.Command("tmux", "-S", x.socket, "capture-pane", "-p", "-t", x.session).Output()
	return string(out)
}

// waitFor polls the screen until it shows want (bounded: 20 s).
func (x *tmux) waitFor(want string) {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(x.screen(), want) {
			return
		}
		time.Sleep(50 * time.Millisecond) // polling the external terminal, not synchronising goroutines
	}
	x.t.Fatalf("screen never showed %q:\n%s", want, x.screen())
}

func (x *tmux) keys(keys ...string) {
	x.cmd(append([]string{"send-keys", "-t", x.session}, keys...)...)
}

func TestMutt(t *testing.T) {
	sockettest.Need(t, "mutt", "mutt")
	sockettest.Need(t, "tmux", "tmux")
	addr, store, _ := startServer(t, nil)
	inbox, _ := store.Mailbox("INBOX")
	inbox.Deliver(strings.NewReader(aliceMsg))
	inbox.Deliver(strings.NewReader(strings.ReplaceAll(aliceMsg, "Searching for the meaning of life", "New movies at netcinema")))

	dir := t.TempDir()
	rc := filepath.Join(dir, "muttrc")
	os.WriteFile(rc, []byte(fmt.Sprintf(`set folder="imap://bob:hunter2@%s/"
set spoolfile="+INBOX"
set imap_passive=no
set mail_check=1
set timeout=1
set imap_keepalive=10
set pager_stop=yes
set confirmappend=no
set delete=yes
set move=no
set sort=date
set header_cache=""
set message_cachedir=""
set ssl_starttls=no
set ssl_force_tls=no
`, addr)), 0o600)
	x := &tmux{t: t, session: "mutt", socket: filepath.Join(dir, "tmux.sock")}
	x.cmd("new-session", "-d", "-s", x.session, "-x", "160", "-y", "40",
		fmt.Sprintf("TERM=xterm HOME=%s mutt -n -F %s", dir, rc))
	t.Cleanup(func() { exec.Command("tmux", "-S", x.socket, "kill-server").Run() })

	x.waitFor("Searching for the meaning of life") // the index shows INBOX
	x.waitFor("New movies at netcinema")
	// Open the first message (sorted by date, both the same: INBOX order).
	x.keys("1", "Enter")
	x.keys("Enter")
	x.waitFor("Hi Bob!")
	x.keys("i") // back to the index
	x.waitFor("New movies at netcinema")
	// Delete the netcinema message and sync the mailbox.
	x.keys("/", "netcinema", "Enter")
	x.keys("d")
	x.keys("$")
	x.keys("q")
	deadline := time.Now().Add(20 * time.Second)
	var msgs []maildir.Message
	for time.Now().Before(deadline) {
		msgs, _ = inbox.Sync()
		if len(msgs) == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond) // waiting for the external program
	}
	if len(msgs) != 1 {
		t.Fatalf("after mutt deleted one, INBOX holds %d messages; screen:\n%s", len(msgs), x.screen())
	}
	if !msgs[0].HasFlag(maildir.Seen) {
		t.Errorf("the message mutt read is not \\Seen: %v", msgs[0].Flags)
	}
	f, _ := inbox.Open(msgs[0].UID)
	defer f.Close()
	buf := make([]byte, 4096)
	n, _ := f.Read(buf)
	if !strings.Contains(string(buf[:n]), "Searching for the meaning of life") {
		t.Errorf("mutt deleted the wrong message; left:\n%s", buf[:n])
	}
}
