package smtp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// TestMain runs the test binary as a crash-test child process when
// APPNET_SMTP_CRASH names a role. Otherwise it runs the tests and checks
// that they leave no goroutine behind (see leak_test.go).
func TestMain(m *testing.M) {
	if role := os.Getenv("APPNET_SMTP_CRASH"); role != "" {
		if err := crashChild(role, os.Getenv("APPNET_SMTP_DIR")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(sockettest.VerifyNoLeaks(m))
}

func crashChild(role, dir string) error {
	ctx := context.Background()
	switch role {
	case "server":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		fmt.Printf("%s\n", l.Addr())
		srv := &Server{Domain: "hamburger.edu", Backend: &Maildir{Root: dir}}
		return srv.Serve(l) // until killed
	case "submit":
		q := crashQueue(dir)
		for i := 1; i <= 3; i++ {
			if _, err := q.Submit(ctx, Path{"alice", "crepes.fr"}, []Path{{"bob", "hamburger.edu"}},
				strings.NewReader(fmt.Sprintf("Subject: msg-%d\r\n\r\nhello\r\n", i))); err != nil {
				return err
			}
		}
	case "run":
		q := crashQueue(dir)
		if _, err := q.RunOnce(ctx); err != nil {
			return err
		}
		fmt.Println("done")
	}
	return nil
}

func crashQueue(dir string) *Queue {
	port, _ := strconv.Atoi(os.Getenv("APPNET_SMTP_PORT"))
	// One worker: exactly one message is in flight when the process is
	// killed, so exactly one may arrive twice.
	return &Queue{Dir: dir, Hostname: "crepes.fr", Port: port, Workers: 1,
		Resolver: &StaticResolver{Hosts: map[string][]netip.Addr{"hamburger.edu": {netip.MustParseAddr("127.0.0.1")}}}}
}

// helper starts this test binary as a crash-test child, which
// sockettest stops by its PID when the test ends, and returns a reader of
// what the child prints on its standard output.
func helper(t *testing.T, role, dir string, env ...string) (*sockettest.Process, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append(env, "APPNET_SMTP_CRASH="+role, "APPNET_SMTP_DIR="+dir)...)
	// A pipe of our own: the child writes to it directly, and it stays
	// readable after the child has exited (cmd.StdoutPipe's would be
	// closed by the Wait that StartProcess runs at once).
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cmd.Stdout = w
	p := sockettest.StartProcess(t, context.Background(), cmd)
	w.Close() // the child has its copy
	return p, bufio.NewReader(r)
}

// kill ends a crash-test child with SIGKILL and waits for it.
func kill(t *testing.T, p *sockettest.Process) {
	t.Helper()
	if err := p.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
}

// TestCrashDuringData kills the server (SIGKILL) in the middle of a
// message: the message accepted before is in the Maildir once, the
// interrupted one is not in new/ at all, and a restarted server takes it.
func TestCrashDuringData(t *testing.T) {
	dir := t.TempDir()
	start := func() string {
		_, out := helper(t, "server", dir)
		addr, err := out.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(addr)
	}
	server, out := helper(t, "server", dir)
	addr, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, strings.TrimSpace(addr))
	rc.transaction()
	rc.cmd("Subject: first\r\n\r\nhello\r\n.", 250)
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	rc.cmd("DATA", 354)
	rc.send("Subject: second\r\n\r\n" + strings.Repeat("half a message\r\n", 500))
	kill(t, server)
	rc.closed()

	newFiles := func() []string {
		files, _ := filepath.Glob(filepath.Join(dir, "bob", "new", "*"))
		var subjects []string
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if !strings.HasSuffix(string(b), "\r\n") {
				t.Errorf("half a message in new/: %s", f)
			}
			for _, s := range []string{"first", "second"} {
				if strings.Contains(string(b), "Subject: "+s) {
					subjects = append(subjects, s)
				}
			}
		}
		return subjects
	}
	if got := newFiles(); strings.Join(got, ",") != "first" {
		t.Fatalf("after the crash new/ holds %v", got)
	}
	rc2 := dialRaw(t, start())
	rc2.transaction()
	rc2.cmd("Subject: second\r\n\r\nagain\r\n.", 250)
	rc2.cmd("QUIT", 221)
	if got := newFiles(); len(got) != 2 {
		t.Errorf("after the restart new/ holds %v", got)
	}
}

// TestCrashDuringQueueDelivery kills the queue's process while it waits
// for the receiving server's verdict, restarts it, and checks that every
// accepted message arrives, at most the one in flight twice.
func TestCrashDuringQueueDelivery(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	inFlight := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	backend := BackendFunc(func(ctx context.Context, env *Envelope, msg io.Reader) error {
		b, err := io.ReadAll(msg)
		if err != nil {
			return err
		}
		subject := ""
		if i := strings.Index(string(b), "Subject: "); i >= 0 {
			subject = strings.Fields(string(b[i+9:]))[0]
		}
		first := false
		once.Do(func() { first = true })
		if first {
			close(inFlight)
			<-release // the queue is killed while we hold its message
		}
		mu.Lock()
		got[subject]++
		mu.Unlock()
		return nil
	})
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: backend})
	_, port := splitAddr(t, addr)
	dir := t.TempDir()
	env := "APPNET_SMTP_PORT=" + port

	sub, _ := helper(t, "submit", dir, env)
	if err := sub.Wait(testCtx(t)); err != nil {
		t.Fatalf("submit: %v", err)
	}
	run1, _ := helper(t, "run", dir, env)
	<-inFlight
	kill(t, run1)
	close(release)

	run2, out := helper(t, "run", dir, env)
	if line, err := out.ReadString('\n'); err != nil || line != "done\n" {
		t.Fatalf("second run: %q %v", line, err)
	}
	if err := run2.Wait(testCtx(t)); err != nil {
		t.Fatalf("second run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for i := 1; i <= 3; i++ {
		n := got[fmt.Sprintf("msg-%d", i)]
		if n < 1 {
			t.Errorf("msg-%d lost", i)
		}
		total += n
	}
	if total > 4 {
		t.Errorf("%d deliveries of 3 messages: %v", total, got)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "state"))
	if len(left) != 0 {
		t.Errorf("%d messages still queued", len(left))
	}
}
