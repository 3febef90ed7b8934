package imap

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/imap/maildir"
	"appnet.dev/sockets/sockettest"
)

// A redactStep sends raw bytes as a client and, if wait is set, reads the
// server's lines until the one that answers: the "+" continuation if wait
// is "+", else the line with wait's tag, which must start with wait.
type redactStep struct {
	send string
	wait string
}

// redactSession serves one session over net.Pipe to a server whose only
// user is bob with the given password, plays the steps, logs out, and
// returns the server's transcript.
func redactSession(t *testing.T, password string, steps []redactStep) string {
	t.Helper()
	var trace sockettest.SyncBuffer
	store, err := maildir.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Hostname: "hamburger.edu", AllowInsecureAuth: true, Trace: &trace,
		Backend: BackendFunc(func(_ context.Context, user, pass string) (Mailboxes, error) {
			if user != "bob" || pass != password {
				return nil, ErrAuthFailed
			}
			return Maildir(store), nil
		})}
	client, server := net.Pipe()
	ended := make(chan struct{})
	go func() {
		srv.ServeConn(server)
		close(ended)
	}()
	defer func() {
		client.Close()
		<-ended
	}()
	client.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(client)
	wait := func(want string) {
		t.Helper()
		prefix := want
		if want != "+" {
			tag, _, _ := strings.Cut(want, " ")
			prefix = tag + " "
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v\n%s", want, err, trace.String())
			}
			if strings.HasPrefix(line, prefix) {
				if !strings.HasPrefix(line, want) {
					t.Fatalf("server said %q, want %q\n%s", line, want, trace.String())
				}
				return
			}
		}
	}
	wait("* OK")
	for _, s := range append(steps, redactStep{"zz LOGOUT\r\n", "zz OK"}) {
		if _, err := client.Write([]byte(s.send)); err != nil {
			t.Fatal(err)
		}
		if s.wait != "" {
			wait(s.wait)
		}
	}
	client.Close()
	<-ended
	return trace.String()
}

// checkTranscript reports lines of want missing from the transcript (in
// this order), and any text of hidden it shows.
func checkTranscript(t *testing.T, transcript string, want, hidden []string) {
	t.Helper()
	lines := strings.Split(transcript, "\n")
	i := 0
	for _, w := range want {
		for i < len(lines) && lines[i] != w {
			i++
		}
		if i == len(lines) {
			t.Errorf("transcript lacks the line %q (in this order):\n%s", w, transcript)
			return
		}
		i++
	}
	for _, h := range hidden {
		if strings.Contains(transcript, h) {
			t.Errorf("transcript shows %q:\n%s", h, transcript)
		}
	}
}

// The password never reaches the server's transcript, however LOGIN or
// AUTHENTICATE carries it; the rest of the dialogue is printed as it was.
func TestTraceRedactsLogin(t *testing.T) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00bob\x00hunter2"))
	long := strings.Repeat("q", 1500) // longer than a transcript line (1024)
	message := "Subject: how to log in\r\n\r\nz1 LOGIN bob {5}\r\nz2 AUTHENTICATE PLAIN\r\n"
	for _, tt := range []struct {
		name     string
		password string
		steps    []redactStep
		want     []string // lines the transcript has, in order
		hidden   []string // what it must not contain
	}{
		{
			name:     "atom",
			password: "hunter2",
			steps:    []redactStep{{"a1 LOGIN bob hunter2\r\n", "a1 OK"}, {"a2 NOOP\r\n", "a2 OK"}},
			want:     []string{"C: a1 LOGIN bob <redacted>", "C: a2 NOOP", "S: a2 OK NOOP completed"},
			hidden:   []string{"hunter2"},
		},
		{
			name:     "quoted strings, lower case",
			password: `hunter 2 "quoted"`,
			steps:    []redactStep{{`a1 login "bob" "hunter 2 \"quoted\""` + "\r\n", "a1 OK"}},
			want:     []string{`C: a1 login "bob" <redacted>`, "C: zz LOGOUT"},
			hidden:   []string{"hunter", "quoted"},
		},
		{
			name:     "synchronising literal",
			password: "hunter2",
			steps:    []redactStep{{"a1 LOGIN bob {7}\r\n", "+"}, {"hunter2\r\n", "a1 OK"}},
			want:     []string{"C: a1 LOGIN bob <redacted>", "S: + Ready for literal data", "C: <redacted>", "C: zz LOGOUT"},
			hidden:   []string{"hunter2", "{7}"},
		},
		{
			name:     "non-synchronising literal",
			password: "hunter2",
			steps:    []redactStep{{"a1 LOGIN bob {7+}\r\nhunter2\r\n", "a1 OK"}},
			want:     []string{"C: a1 LOGIN bob <redacted>", "C: <redacted>", "C: zz LOGOUT"},
			hidden:   []string{"hunter2"},
		},
		{
			name:     "literal of two lines",
			password: "hunter2\r\nand more",
			steps:    []redactStep{{"a1 LOGIN bob {17}\r\n", "+"}, {"hunter2\r\nand more\r\n", "a1 OK"}},
			want:     []string{"C: a1 LOGIN bob <redacted>", "C: <redacted>", "C: <redacted>", "C: zz LOGOUT"},
			hidden:   []string{"hunter2", "and more"},
		},
		{
			name:     "user name and password as literals",
			password: "hunter2",
			steps:    []redactStep{{"a1 LOGIN {3}\r\n", "+"}, {"bob {7}\r\n", "+"}, {"hunter2\r\n", "a1 OK"}},
			want:     []string{"C: a1 LOGIN {3}", "C: bob <redacted>", "C: <redacted>", "C: zz LOGOUT"},
			hidden:   []string{"hunter2"},
		},
		{
			// Sent in two writes, the line reaches the trace in pieces
			// (it prints 1024 bytes at most as one line).
			name:     "password longer than a transcript line",
			password: long,
			steps:    []redactStep{{"a1 LOGIN bob " + long[:1100], ""}, {long[1100:] + "\r\n", "a1 OK"}},
			want:     []string{"C: a1 LOGIN bob <redacted>", "C: zz LOGOUT"},
			hidden:   []string{"qqqq"},
		},
		{
			name:     "wrong password, then other commands",
			password: "hunter2",
			steps:    []redactStep{{"a1 LOGIN bob hunter3\r\n", "a1 NO"}, {"a2 NOOP\r\n", "a2 OK"}},
			want:     []string{"C: a1 LOGIN bob <redacted>", "S: a1 NO [AUTHENTICATIONFAILED] Invalid credentials", "C: a2 NOOP"},
			hidden:   []string{"hunter3"},
		},
		{
			name:     "AUTHENTICATE with an initial response",
			password: "hunter2",
			steps:    []redactStep{{"a1 AUTHENTICATE PLAIN " + plain + "\r\n", "a1 OK"}},
			want:     []string{"C: a1 AUTHENTICATE PLAIN <redacted>", "C: zz LOGOUT"},
			hidden:   []string{plain},
		},
		{
			name:     "AUTHENTICATE after a continuation",
			password: "hunter2",
			steps:    []redactStep{{"a1 AUTHENTICATE PLAIN\r\n", "+"}, {plain + "\r\n", "a1 OK"}},
			want:     []string{"C: a1 AUTHENTICATE PLAIN", "S: + ", "C: <redacted>", "C: zz LOGOUT"},
			hidden:   []string{plain},
		},
		{
			name:     "message text is not a command",
			password: "hunter2",
			steps: []redactStep{
				{"a1 LOGIN bob hunter2\r\n", "a1 OK"},
				{fmt.Sprintf("a2 APPEND INBOX {%d}\r\n", len(message)), "+"},
				{message + "\r\n", "a2 OK"},
				{"a3 NOOP\r\n", "a3 OK"},
			},
			want: []string{"C: a1 LOGIN bob <redacted>", "C: z1 LOGIN bob {5}", "C: z2 AUTHENTICATE PLAIN", "C: a3 NOOP"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			transcript := redactSession(t, tt.password, tt.steps)
			checkTranscript(t, transcript, tt.want, tt.hidden)
		})
	}
}

// The client's transcript hides the password as the server's does, in
// each form Client.Login sends it; both sides are checked at once.
func TestClientTraceRedactsLogin(t *testing.T) {
	for _, tt := range []struct {
		name     string
		password string
		want     []string // lines both transcripts have, in order
		hidden   string
	}{
		{"atom", "hunter2", []string{"C: a1 LOGIN bob <redacted>", "S: a1 OK"}, "hunter2"},
		{"quoted", `correct "horse"`, []string{"C: a1 LOGIN bob <redacted>", "S: a1 OK"}, "horse"},
		{"non-synchronising literal", "pässwörd", []string{"C: a1 LOGIN bob <redacted>", "C: <redacted>", "S: a1 OK"}, "ss"},
		{"synchronising literal", strings.Repeat("p", 5000), []string{"C: a1 LOGIN bob <redacted>", "S: + Ready for literal data", "C: <redacted>", "S: a1 OK"}, "pppp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var serverTrace, clientTrace sockettest.SyncBuffer
			store, err := maildir.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			srv := &Server{Hostname: "hamburger.edu", AllowInsecureAuth: true, Trace: &serverTrace,
				Backend: BackendFunc(func(_ context.Context, user, pass string) (Mailboxes, error) {
					if user != "bob" || pass != tt.password {
						return nil, ErrAuthFailed
					}
					return Maildir(store), nil
				})}
			a, b := net.Pipe()
			ended := make(chan struct{})
			go func() { srv.ServeConn(a); close(ended) }()
			defer func() { b.Close(); <-ended }()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := NewClient(b)
			c.Trace = &clientTrace
			if err := c.Login(ctx, "bob", tt.password); err != nil {
				t.Fatalf("login: %v\n%s", err, clientTrace.String())
			}
			if err := c.Logout(ctx); err != nil {
				t.Fatal(err)
			}
			b.Close()
			<-ended
			for side, transcript := range map[string]string{"server": serverTrace.String(), "client": clientTrace.String()} {
				t.Run(side, func(t *testing.T) {
					// Whole lines: "S: a1 OK [CAPABILITY ...]" is matched by its start.
					var got []string
					for _, l := range strings.Split(transcript, "\n") {
						if strings.HasPrefix(l, "S: a1 OK") {
							l = "S: a1 OK"
						}
						got = append(got, l)
					}
					checkTranscript(t, strings.Join(got, "\n"), tt.want, []string{tt.hidden})
				})
			}
		})
	}
}

// The redactor alone: what each line of a dialogue prints as.
func TestAuthRedactor(t *testing.T) {
	type step struct {
		client bool
		line   string
		want   string
	}
	long := strings.Repeat("x", 1024)
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"pipelined commands behind LOGIN are hidden until its reply", []step{
			{true, "a1 LOGIN bob {7+}", "a1 LOGIN bob <redacted>"},
			{true, "hunter2", "<redacted>"},
			{true, "a2 SELECT INBOX", "<redacted>"},
			{false, "a1 OK Logged in", "a1 OK Logged in"},
			{true, "a3 NOOP", "a3 NOOP"},
		}},
		{"an untagged reply does not end the hiding", []step{
			{true, "a1 LOGIN bob {7}", "a1 LOGIN bob <redacted>"},
			{false, "* OK still here", "* OK still here"},
			{false, "+ go ahead", "+ go ahead"},
			{true, "hunter2", "<redacted>"},
			{false, "a1 NO wrong", "a1 NO wrong"},
			{true, "a2 NOOP", "a2 NOOP"},
		}},
		{"an untagged BAD ends it: the server took no command", []step{
			{true, "a+1 LOGIN bob hunter2", "a+1 LOGIN bob <redacted>"},
			{false, "* BAD bad tag", "* BAD bad tag"},
			{true, "a2 NOOP", "a2 NOOP"},
		}},
		{"a user name literal across lines is hidden whole", []step{
			{true, "a1 LOGIN {20}", "a1 LOGIN {20}"},
			{false, "+ Ready", "+ Ready"},
			{true, "bob", "<redacted>"},
			{true, "by {7}", "<redacted>"},
		}},
		{"an unfinished quoted user name", []step{
			{true, `a1 LOGIN "bob hunter2`, "a1 LOGIN <redacted>"},
			{true, `rest"`, "<redacted>"},
		}},
		{"LOGIN without a password on the line", []step{
			{true, "a1 LOGIN " + long, "a1 LOGIN " + long},
			{true, "the rest of a long line", "<redacted>"},
		}},
		{"AUTHENTICATE", []step{
			{true, "a1 AUTHENTICATE PLAIN", "a1 AUTHENTICATE PLAIN"},
			{false, "+ ", "+ "},
			{true, "AGJvYgBodW50ZXIy", "<redacted>"},
			{false, "a1 OK done", "a1 OK done"},
			{true, "a2 authenticate plain AGJvYgBodW50ZXIy", "a2 authenticate plain <redacted>"},
		}},
		{"a refused synchronising literal is not waited for", []step{
			{true, "a1 APPEND INBOX {99999999}", "a1 APPEND INBOX {99999999}"},
			{false, "a1 NO [TOOBIG] too big", "a1 NO [TOOBIG] too big"},
			{true, "a2 LOGIN bob hunter2", "a2 LOGIN bob <redacted>"},
		}},
		{"a synchronising literal starts after the +", []step{
			{true, "a1 APPEND INBOX {13}", "a1 APPEND INBOX {13}"},
			{false, "+ Ready", "+ Ready"},
			{true, "x LOGIN y z", "x LOGIN y z"},
			{true, " {9+}", " {9+}"},
			{true, "b LOGIN c", "b LOGIN c"},
			{true, "d LOGIN e f", "d LOGIN e <redacted>"},
		}},
		{"a literal ends within a line", []step{
			{true, "a1 APPEND INBOX {3+}", "a1 APPEND INBOX {3+}"},
			{true, "abc {13+}", "abc {13+}"},
			{true, "x LOGIN y z", "x LOGIN y z"},
			{true, "a2 LOGIN bob hunter2", "a2 LOGIN bob <redacted>"},
		}},
		{"BYE ends everything", []step{
			{true, "a1 APPEND INBOX {100+}", "a1 APPEND INBOX {100+}"},
			{false, "* BYE going away", "* BYE going away"},
			{true, "a2 LOGIN bob hunter2", "a2 LOGIN bob <redacted>"},
		}},
		{"not literals", []step{
			{true, "a1 NOOP {x}", "a1 NOOP {x}"},
			{true, "a2 LOGIN bob hunter2", "a2 LOGIN bob <redacted>"},
			{false, "a2 OK", "a2 OK"},
			{true, "a3 NOOP {}", "a3 NOOP {}"},
			{true, "a4 LOGIN {99999999999999999999}", "a4 LOGIN <redacted>"},
		}},
		{"odd lines", []step{
			{true, "", ""},
			{false, "", ""},
			{true, "LOGIN", "LOGIN"},
			{true, "a1 LOGIN", "a1 LOGIN"},
			{true, "x", "<redacted>"},
			{false, "a1 BAD", "a1 BAD"},
			{true, "a2 LOGIN ", "a2 LOGIN "},
			{false, "a2 BAD", "a2 BAD"},
			{true, "a3 AUTHENTICATE", "a3 AUTHENTICATE"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r authRedactor
			for i, s := range tt.steps {
				line := []byte(s.line)
				if got := string(r.line(s.client, line)); got != s.want {
					t.Errorf("step %d: %q printed as %q, want %q", i, s.line, got, s.want)
				}
				if string(line) != s.line {
					t.Errorf("step %d: the line itself was changed to %q", i, line)
				}
			}
		})
	}
}

// FuzzAuthRedactor plays a dialogue, one line per input line ("S" first
// for the server's, anything else for the client's): the redactor never
// panics, never changes a line it is given, prints the server's lines as
// they are, and never shows the password of a LOGIN that starts a
// client's command line outside a literal.
func FuzzAuthRedactor(f *testing.F) {
	f.Add("Ca1 LOGIN bob hunter2\nSa1 OK\nCa2 NOOP")
	f.Add("Ca1 LOGIN {3}\nS+ Ready\nCbob {7}\nS+ Ready\nChunter2\nSa1 OK")
	f.Add("Ca1 AUTHENTICATE PLAIN\nS+ \nCAGJvYgBodW50ZXIy\nSa1 OK")
	f.Add("Ca1 APPEND INBOX {12}\nS+ Ready\nCx LOGIN y z\nC {9+}\nCb LOGIN c\nSa1 OK")
	f.Add(`Ca1 LOGIN "bob \"x\"" "hunter 2"` + "\nS* BAD\nS* BYE")
	f.Fuzz(func(t *testing.T, script string) {
		var r authRedactor
		for _, l := range strings.Split(script, "\n") {
			if l == "" {
				continue
			}
			fromClient := l[0] != 'S'
			line := []byte(l[1:])
			before := r
			got := r.line(fromClient, line)
			if string(line) != l[1:] {
				t.Fatalf("the line %q was changed to %q", l[1:], line)
			}
			if !fromClient && !bytes.Equal(got, line) {
				t.Fatalf("server line %q printed as %q", line, got)
			}
			if fromClient && !before.hiding && before.lit == 0 {
				// tag LOGIN user password, all atoms.
				f := strings.Split(l[1:], " ")
				if len(f) == 4 && strings.EqualFold(f[1], "LOGIN") && f[2] != "" && f[3] != "" &&
					!strings.ContainsAny(f[2], `"{`) && strings.Contains(string(got), f[3]) && !strings.Contains(f[0]+f[1]+f[2]+redacted, f[3]) {
					t.Fatalf("LOGIN line %q printed as %q", line, got)
				}
			}
		}
	})
}

// Two sessions of one server tracing at once into a plain bytes.Buffer,
// which is not safe for concurrent use: the server wraps it once, so each
// line reaches it whole. (Run with -race: without the shared wrapper the
// race detector reports the two sessions' writes.) Each session's
// transcript, taken alone first, must be found in the shared one line by
// line: every line of both, and in each session's order.
func TestServerTraceSharedWriter(t *testing.T) {
	users := []string{"alice", "bob"}
	run := func(trace *bytes.Buffer, users []string) {
		t.Helper()
		dir := t.TempDir()
		pw := map[string]string{}
		for _, u := range users {
			pw[u] = "pw-" + u
		}
		srv := &Server{Hostname: "hamburger.edu", AllowInsecureAuth: true, Trace: trace,
			Backend: &Users{Dir: filepath.Join(dir, "mail"), Passwords: pw}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg, loggedIn sync.WaitGroup
		loggedIn.Add(len(users))
		errs := make(chan error, len(users))
		for _, u := range users {
			wg.Go(func() { errs <- traceSharedSession(ctx, ln.Addr().String(), u, &loggedIn) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if err := srv.Close(); err != nil { // waits for the sessions to end
			t.Error(err)
		}
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	}
	alone := map[string]string{}
	for _, u := range users {
		var trace bytes.Buffer
		run(&trace, []string{u})
		alone[u] = trace.String()
	}
	var shared bytes.Buffer
	run(&shared, users)
	if err := sockettest.CheckInterleaved(shared.String(), alone, 10); err != nil {
		t.Error(err)
	}
}

// traceSharedSession logs in as user, waits for the other sessions to
// do the same, so that they overlap, and creates, lists and deletes
// folders named after the user, so that its lines can be told apart.
func traceSharedSession(ctx context.Context, addr, user string, loggedIn *sync.WaitGroup) error {
	c, err := Dial(ctx, addr)
	if err != nil {
		loggedIn.Done()
		return err
	}
	defer c.Close()
	err = c.Login(ctx, user, "pw-"+user)
	loggedIn.Done() // even if it failed, so that no session waits for it
	if err != nil {
		return fmt.Errorf("%s: login: %w", user, err)
	}
	loggedIn.Wait()
	for i := range 5 {
		name := fmt.Sprintf("%s-%d", user, i)
		if err := c.Create(ctx, name); err != nil {
			return fmt.Errorf("%s: create: %w", user, err)
		}
		if _, err := c.List(ctx, "", name); err != nil {
			return fmt.Errorf("%s: list: %w", user, err)
		}
		if err := c.Delete(ctx, name); err != nil {
			return fmt.Errorf("%s: delete: %w", user, err)
		}
	}
	return c.Logout(ctx)
}
