package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Maildir is a small Backend that delivers into Maildirs (the format of
// qmail, Dovecot and mutt): Root/<user>/ with tmp/, new/ and cur/, where
// <user> is the recipient's lowercased local part. A message is written
// to tmp/, fsynced, then renamed (linked, for each further recipient)
// into new/, and new/ is fsynced, so a crash leaves either no message or
// a whole one. It is what examples/smtp/server uses; the full mailbox
// store, with folders and flags for IMAP, is imap/maildir.
type Maildir struct {
	Root string
	// Host names the delivering host in file names; default "localhost".
	Host string
	// Users, if not nil, is the set of users that exist; other
	// recipients get 550 5.1.1 at RCPT time.
	Users map[string]bool

	seq atomic.Int64
}

// CheckRecipient accepts users in Users (everyone if Users is nil) whose
// names make safe directory names.
func (m *Maildir) CheckRecipient(ctx context.Context, rcpt Path) error {
	user, ok := mailboxName(rcpt)
	if !ok {
		return newReply(550, "5.1.3", "bad mailbox name")
	}
	if m.Users != nil && !m.Users[user] {
		return newReply(550, "5.1.1", "%s: no such user here", rcpt)
	}
	return nil
}

// mailboxName maps a recipient to a directory name.
func mailboxName(p Path) (string, bool) {
	u := strings.ToLower(p.Local)
	if u == "" || u[0] == '.' || strings.ContainsAny(u, "/\\\x00") || len(u) > MaxLocalPart {
		return "", false
	}
	return u, true
}

// Deliver writes msg once and links it into every recipient's new/.
func (m *Maildir) Deliver(ctx context.Context, env *Envelope, msg io.Reader) error {
	host := m.Host
	if host == "" {
		host = "localhost"
	}
	var users []string
	seen := map[string]bool{}
	for _, r := range env.To {
		u, ok := mailboxName(r)
		if !ok {
			return newReply(550, "5.1.3", "bad mailbox name")
		}
		if !seen[u] {
			seen[u] = true
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		_, err := io.Copy(io.Discard, msg)
		return err
	}
	for _, u := range users {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.MkdirAll(filepath.Join(m.Root, u, sub), 0o700); err != nil {
				return err
			}
		}
	}
	now := time.Now()
	name := fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), m.seq.Add(1), host)
	tmp := filepath.Join(m.Root, users[0], "tmp", name)
	if err := writeSynced(tmp, msg, os.O_EXCL); err != nil {
		os.Remove(tmp)
		return err
	}
	defer os.Remove(tmp)
	for _, u := range users {
		dir := filepath.Join(m.Root, u, "new")
		if err := os.Link(tmp, filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// writeSynced copies r into a new file at path, created with flag
// (os.O_EXCL or os.O_TRUNC), and fsyncs it. On error the caller removes
// what was written.
func writeSynced(path string, r io.Reader, flag int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|flag, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so a rename or link in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
