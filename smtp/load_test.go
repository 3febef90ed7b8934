package smtp

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

var loadMessages = flag.Int("smtp.messages", 20000, "messages per smtp-source run in BenchmarkSmtpSource")

// smtpSource runs Postfix's load generator against addr, as the issue
// measures it: 20 parallel sessions, connections reused (-d), 5 KiB
// messages. It returns messages per second.
func smtpSource(b *testing.B, addr string, n int) float64 {
	b.Helper()
	src := sockettest.Need(b, "/usr/sbin/smtp-source", "postfix")
	start := time.Now()
	out, err := exec.Command(src, "-d", "-s", "20", "-m", strconv.Itoa(n), "-l", "5120",
		"-f", "alice@crepes.fr", "-t", "bob@hamburger.edu", addr).CombinedOutput()
	if err != nil {
		b.Fatalf("smtp-source: %v\n%s", err, out)
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkSmtpSource compares, in one run on this machine, Postfix's
// smtp-sink with our server and a discarding backend, then a full
// Postfix instance with our server, both delivering durably into Maildir.
// The runs alternate (three rounds each) so that the load other processes
// put on the machine falls on both sides alike. Run with
// -bench SmtpSource -benchtime 1x.
func BenchmarkSmtpSource(b *testing.B) {
	n := *loadMessages
	const rounds = 3
	b.Run("discard", func(b *testing.B) {
		sink := sockettest.Need(b, "/usr/sbin/smtp-sink", "postfix")
		addr := fmt.Sprintf("127.0.0.1:%d", sockettest.FreePort(b))
		p := sockettest.StartProcess(b, context.Background(), exec.Command(sink, "-u", "nobody", addr, "1000"))
		if err := p.WaitDial(testCtx(b), "tcp", addr); err != nil {
			b.Fatalf("smtp-sink did not start: %v", err)
		}
		ours := startServer(b, &Server{Domain: "hamburger.edu", Greeting: "ESMTP", Backend: Discard{}})
		var sinkRate, ourRate float64
		for i := 0; i < b.N*rounds; i++ {
			sinkRate += smtpSource(b, addr, n)
			ourRate += smtpSource(b, ours, n)
		}
		k := float64(b.N * rounds)
		b.ReportMetric(sinkRate/k, "smtp-sink-msg/s")
		b.ReportMetric(ourRate/k, "appnet-msg/s")
		b.ReportMetric(ourRate/sinkRate, "ratio")
	})
	b.Run("maildir", func(b *testing.B) {
		pf, mail := startPostfixMaildir(b)
		dir := b.TempDir()
		ours := startServer(b, &Server{Domain: "hamburger.edu", Greeting: "ESMTP", Backend: &Maildir{Root: dir}})
		var pfRate, ourRate float64
		for i := 0; i < b.N*rounds; i++ {
			start := time.Now()
			smtpSource(b, fmt.Sprintf("127.0.0.1:%d", pf.port), n)
			// Postfix answers 250 once the message is in its queue and
			// delivers to the Maildir after; the clock stops when all are
			// there. Ours delivers (with fsync) before its 250.
			want := n * (i + 1)
			deadline := time.Now().Add(10 * time.Minute)
			for {
				files, _ := os.ReadDir(filepath.Join(mail, "bob", "new"))
				if len(files) >= want {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("postfix delivered %d of %d", len(files), want)
				}
				time.Sleep(20 * time.Millisecond)
			}
			pfRate += float64(n) / time.Since(start).Seconds()
			ourRate += smtpSource(b, ours, n)
		}
		files, _ := os.ReadDir(filepath.Join(dir, "bob", "new"))
		if len(files) != n*b.N*rounds {
			b.Errorf("%d messages in our Maildir, want %d", len(files), n*b.N*rounds)
		}
		k := float64(b.N * rounds)
		b.ReportMetric(pfRate/k, "postfix-msg/s")
		b.ReportMetric(ourRate/k, "appnet-msg/s")
		b.ReportMetric(ourRate/pfRate, "ratio")
	})
}

// startPostfixMaildir runs Postfix as hamburger.edu's full mail server:
// smtpd, cleanup, qmgr and the virtual delivery agent writing Maildirs.
func startPostfixMaildir(b *testing.B) (*postfix, string) {
	pf := startPostfix(b, `myhostname = mail.hamburger.edu
mydestination =
virtual_mailbox_domains = hamburger.edu
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = static:bob/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
default_process_limit = 100
smtpd_client_connection_count_limit = 0
`)
	mail := filepath.Join(pf.dir, "mail")
	os.MkdirAll(mail, 0o755)
	os.Chown(mail, 65534, 65534)
	return pf, mail
}
