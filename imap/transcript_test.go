package imap

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTranscripts replays the S:/C: dialogues in testdata/*.txt against a
// server whose mailbox holds Alice's message (with a fixed clock, so that
// UIDVALIDITY is known), over each Backend: C: lines are sent, S: lines
// must come back byte for byte.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			forEachBackend(t, func(t *testing.T, kind string) {
				replay(t, kind, string(data))
			})
		})
	}
}

// replay plays one transcript against a server over bob's mail on kind's
// storage.
func replay(t *testing.T, kind, transcript string) {
	bob := newBob(t, kind, func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) })
	if err := bob.deliver("From: Alice <alice@crepes.fr>\r\nTo: bob@hamburger.edu\r\n" +
		"Subject: Searching for the meaning of life\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nDo you like ketchup?\r\n"); err != nil {
		t.Fatal(err)
	}
	srv := &Server{Hostname: "hamburger.edu", AllowInsecureAuth: true, Backend: bob.backend}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() { srv.ServeConn(a); close(done) }()
	defer func() { b.Close(); <-done }()
	b.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(b)
	for n, line := range strings.Split(strings.TrimRight(transcript, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "C: "):
			if _, err := b.Write([]byte(line[3:] + "\r\n")); err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
		case strings.HasPrefix(line, "S: "):
			got, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			if got = strings.TrimSuffix(got, "\r\n"); got != line[3:] {
				t.Fatalf("line %d:\n got S: %s\nwant %s", n+1, got, line)
			}
		}
	}
}
