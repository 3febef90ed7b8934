package imap

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"appnet.dev/imap/maildir"
	"appnet.dev/sockets/sockettest"
)

// The benchmarks run our server and Dovecot side by side in one run, on
// Maildirs with the same messages, driven by our client over loopback TCP:
//
//	go test -run XXX -bench VsDovecot -benchtime 2000x ./imap/
//
// Dovecot runs as a daemon (dovecot -F) with its default settings (index
// files, fsync_mode=optimized) on a free port.

// startDovecotDaemon runs Dovecot over the Maildir dir for user bob
// (password hunter2) and returns its address.
func startDovecotDaemon(tb testing.TB, dir string) string {
	tb.Helper()
	bin := sockettest.Need(tb, "dovecot", "dovecot-imapd")
	if os.Getuid() != 0 {
		tb.Skip("the Dovecot daemon needs root to start (it drops privileges itself)")
	}
	run := tb.TempDir()
	os.Chmod(run, 0o755)
	for p := dir; p != "/" && p != "."; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			os.Chmod(p, st.Mode().Perm()|0o011)
		}
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 65534, 65534) })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	l.Close()
	conf := filepath.Join(run, "dovecot.conf")
	cfg := fmt.Sprintf(`listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
protocols = imap
mail_location = maildir:%[2]s
first_valid_uid = 0
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[3]s
  }
  inet_listener imaps {
    port = 0
  }
}
passdb {
  driver = static
  args = password=hunter2
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=%[2]s
}
`, run, dir, port)
	os.WriteFile(conf, []byte(cfg), 0o644)
	dovecot := sockettest.StartProcess(tb, context.Background(), exec.Command(bin, "-F", "-c", conf))
	tb.Cleanup(func() {
		// SIGTERM first, so the master stops its children; StartProcess
		// kills it by PID if it has not gone in ten seconds.
		dovecot.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-dovecot.Exited():
		case <-time.After(10 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sockettest.WaitDial(ctx, "tcp", addr); err != nil {
		tb.Fatalf("dovecot did not start: %v; log:\n%s", err, readFile(filepath.Join(run, "log")))
	}
	return addr
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// benchTargets returns both servers over two Maildirs filled by fill.
func benchTargets(b *testing.B, fill func(inbox *maildir.Mailbox)) map[string]string {
	out := map[string]string{}
	for _, name := range []string{"appnet", "dovecot"} {
		root := filepath.Join(b.TempDir(), "bob")
		store, err := maildir.Open(root)
		if err != nil {
			b.Fatal(err)
		}
		inbox, _ := store.Mailbox("INBOX")
		if fill != nil {
			fill(inbox)
		}
		if name == "dovecot" {
			out[name] = startDovecotDaemon(b, root)
			continue
		}
		bob := Maildir(store)
		srv := &Server{Backend: BackendFunc(func(_ context.Context, user, pass string) (Mailboxes, error) {
			if user != "bob" || pass != "hunter2" {
				return nil, ErrAuthFailed
			}
			return bob, nil
		}), AllowInsecureAuth: true}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(l)
		b.Cleanup(func() { srv.Close() })
		out[name] = l.Addr().String()
	}
	return out
}

func benchLogin(b *testing.B, ctx context.Context, addr string) *Client {
	c, err := Dial(ctx, addr)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Login(ctx, "bob", "hunter2"); err != nil {
		b.Fatal(err)
	}
	return c
}

var message5K = aliceMsg + strings.Repeat("Hi Bob! Do you like ketchup? How about pickles? 0123456789abcdef\r\n", 5000/68)

func BenchmarkVsDovecotAppend5K(b *testing.B) {
	targets := benchTargets(b, nil)
	for _, name := range []string{"appnet", "dovecot"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			c := benchLogin(b, ctx, targets[name])
			defer c.Close()
			b.SetBytes(int64(len(message5K)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(message5K), int64(len(message5K))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func fillCorpus(n int) func(*maildir.Mailbox) {
	return func(inbox *maildir.Mailbox) {
		msgs := corpus(100)
		for i := 0; i < n; i++ {
			inbox.Deliver(strings.NewReader(msgs[i%len(msgs)]))
		}
	}
}

// BenchmarkVsDovecotFetch2000 measures the servers, not our client: the
// responses are read as lines up to the tagged OK, without parsing.
func BenchmarkVsDovecotFetch2000(b *testing.B) {
	targets := benchTargets(b, fillCorpus(2000))
	for _, name := range []string{"appnet", "dovecot"} {
		b.Run(name, func(b *testing.B) {
			conn, err := net.Dial("tcp", targets[name])
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReaderSize(conn, 64<<10)
			tag := 0
			command := func(cmd string) int {
				tag++
				t := fmt.Sprintf("t%d", tag)
				fmt.Fprintf(conn, "%s %s\r\n", t, cmd)
				lines := 0
				for {
					line, err := br.ReadSlice('\n')
					if err != nil && err != bufio.ErrBufferFull {
						b.Fatal(err)
					}
					lines++
					if bytes.HasPrefix(line, []byte(t+" ")) {
						if !bytes.HasPrefix(line, []byte(t+" OK")) {
							b.Fatalf("%s: %s", cmd, line)
						}
						return lines
					}
				}
			}
			br.ReadString('\n') // greeting
			command("LOGIN bob hunter2")
			command("SELECT INBOX")
			fetch := func() {
				if n := command("FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)"); n < 2001 {
					b.Fatalf("FETCH gave %d lines", n)
				}
			}
			fetch() // both servers cache what they computed once
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				fetch()
			}
		})
	}
}

func BenchmarkVsDovecotSessions(b *testing.B) {
	targets := benchTargets(b, fillCorpus(10))
	for _, name := range []string{"appnet", "dovecot"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				c := benchLogin(b, ctx, targets[name])
				if _, err := c.Select(ctx, "INBOX", false); err != nil {
					b.Fatal(err)
				}
				if err := c.Logout(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
		})
	}
}

func BenchmarkVsDovecotSelect100k(b *testing.B) {
	const n = 100000
	targets := benchTargets(b, func(inbox *maildir.Mailbox) {
		cur := filepath.Join(inbox.Dir(), "cur")
		body := []byte(aliceMsg)
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d,W=%d:2,S", 1764000000+i, i%1000000, i, len(body), len(body))
			if err := os.WriteFile(filepath.Join(cur, name), body, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, name := range []string{"appnet", "dovecot"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			c := benchLogin(b, ctx, targets[name])
			defer c.Close()
			st, err := c.Select(ctx, "INBOX", false) // the first SELECT builds indexes
			if err != nil || st.Messages != n {
				b.Fatalf("SELECT: %+v %v", st, err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Select(ctx, "INBOX", false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
