package smtp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/sockets/sockettest"
)

// scriptedServer plays a server on conn: it sends replies[0] (the
// greeting), then reads one line and sends the next reply, until the
// replies run out. It returns the lines it read once it is done.
func scriptedServer(conn net.Conn, replies []string) <-chan []string {
	got := make(chan []string, 1)
	go func() {
		defer conn.Close()
		var lines []string
		defer func() { got <- lines }()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(conn)
		for i, r := range replies {
			if i > 0 {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				lines = append(lines, strings.TrimSuffix(line, "\r\n"))
			}
			if _, err := conn.Write([]byte(r)); err != nil {
				return
			}
		}
	}()
	return got
}

// inOrder reports the lines of want that the transcript lacks, whole and
// in this order, and any text of hidden it shows.
func inOrder(t *testing.T, transcript string, want, hidden []string) {
	t.Helper()
	lines := strings.Split(transcript, "\n")
	i := 0
	for _, w := range want {
		for i < len(lines) && lines[i] != w {
			i++
		}
		if i == len(lines) {
			t.Errorf("transcript lacks the line %q (in this order):\n%s", w, transcript)
			break
		}
		i++
	}
	for _, h := range hidden {
		if strings.Contains(transcript, h) {
			t.Errorf("transcript shows %q:\n%s", h, transcript)
		}
	}
}

// A server that offers only AUTH LOGIN: the client's transcript shows
// neither the user name nor the password it answers the 334s with.
func TestClientTraceRedactsAuthLogin(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	a, b := net.Pipe()
	got := scriptedServer(a, []string{
		"220 hamburger.edu\r\n",
		"250-hamburger.edu\r\n250 AUTH LOGIN\r\n",
		"334 VXNlcm5hbWU6\r\n",
		"334 UGFzc3dvcmQ6\r\n",
		"235 2.7.0 authentication successful\r\n",
		"250 2.0.0 OK\r\n",
		"221 2.0.0 bye\r\n",
	})
	var trace bytes.Buffer
	c := NewClient(b)
	c.LocalName = "crepes.fr"
	c.Trace = &trace
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Auth(ctx, "alice", "s3cret-pa55"); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The credentials did go to the server.
	wantSent := []string{"EHLO crepes.fr", "AUTH LOGIN", enc([]byte("alice")), enc([]byte("s3cret-pa55")), "NOOP", "QUIT"}
	if sent := <-got; !slices.Equal(sent, wantSent) {
		t.Errorf("the server read %q, want %q", sent, wantSent)
	}
	inOrder(t, trace.String(),
		[]string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>",
			"S: 235 2.7.0 authentication successful", "C: NOOP", "C: QUIT"},
		[]string{enc([]byte("alice")), enc([]byte("s3cret-pa55"))})
}

// AUTH PLAIN after STARTTLS, against the package's server: the client's
// transcript, which goes on over TLS, hides the initial response.
func TestClientTraceRedactsAuthPlainAfterStartTLS(t *testing.T) {
	serverTLS, clientTLS := sockettest.TestCert(t, "hamburger.edu")
	srv := &Server{
		Domain:    "hamburger.edu",
		TLSConfig: serverTLS,
		Authenticate: func(_ context.Context, user, password string) error {
			if user == "alice" && password == "s3cret-pa55" {
				return nil
			}
			return errors.New("wrong password")
		},
	}
	// TCP, not net.Pipe: both ends send TLS's close_notify as they close,
	// and only a socket buffers it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-served; err != ErrServerClosed {
			t.Errorf("Serve returned %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var trace bytes.Buffer
	c.LocalName = "crepes.fr"
	c.Trace = &trace
	if err := c.StartTLS(ctx, clientTLS); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(ctx, "alice", "s3cret-pa55"); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00s3cret-pa55"))
	inOrder(t, trace.String(),
		[]string{"C: STARTTLS", "S: 220 2.0.0 Ready to start TLS", "C: EHLO crepes.fr", "C: AUTH PLAIN <redacted>",
			"S: 235 2.7.0 authentication successful", "C: QUIT"},
		[]string{plain, "s3cret-pa55"})
}

// Two sessions of one server tracing at once into a plain bytes.Buffer,
// which is not safe for concurrent use: the server wraps it once, so each
// line reaches it whole. (Run with -race: without the shared wrapper the
// race detector reports the two sessions' writes.) Each session's
// transcript, taken alone first, must be found in the shared one line by
// line: every line of both, and in each session's order.
func TestServerTraceSharedWriter(t *testing.T) {
	names := []string{"crepes.fr", "lyon.fr"}
	run := func(trace *bytes.Buffer, names []string) {
		t.Helper()
		srv := &Server{Domain: "hamburger.edu", Trace: trace}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg, hello sync.WaitGroup
		hello.Add(len(names))
		errs := make(chan error, len(names))
		for _, name := range names {
			wg.Go(func() { errs <- sharedTraceSession(ctx, ln.Addr().String(), name, &hello) })
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
	for _, name := range names {
		var trace bytes.Buffer
		run(&trace, []string{name})
		alone[name] = trace.String()
	}
	var shared bytes.Buffer
	run(&shared, names)
	if err := sockettest.CheckInterleaved(shared.String(), alone, 10); err != nil {
		t.Error(err)
	}
}

// sharedTraceSession says hello as name, waits for the other sessions to
// do the same, so that they overlap, and sends ten messages, each naming
// name in its envelope and text, so that its lines can be told apart.
func sharedTraceSession(ctx context.Context, addr, name string, hello *sync.WaitGroup) error {
	c, err := Dial(ctx, addr)
	if err != nil {
		hello.Done()
		return err
	}
	defer c.Close()
	c.LocalName = name
	err = c.Hello(ctx)
	hello.Done() // even if it failed, so that no session waits for it
	if err != nil {
		return fmt.Errorf("%s: hello: %w", name, err)
	}
	hello.Wait()
	for i := range 10 {
		from := Path{Local: "alice", Domain: name}
		msg := fmt.Sprintf("From: alice@%s\r\nSubject: note %d from %s\r\n\r\nline one from %s\r\nline two from %s\r\n", name, i, name, name, name)
		if _, err := c.Send(ctx, from, []Path{{Local: "bob", Domain: "hamburger.edu"}}, strings.NewReader(msg)); err != nil {
			return fmt.Errorf("%s: send: %w", name, err)
		}
	}
	return c.Quit(ctx)
}
