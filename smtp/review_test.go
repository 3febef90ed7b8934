package smtp

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/sockets"
)

// TestPostmasterPath: RCPT TO:<Postmaster> is the one path without a
// domain, and is written back without one.
func TestPostmasterPath(t *testing.T) {
	p, _, err := parsePathArg("TO:<Postmaster>", "TO", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Bracketed(); got != "<postmaster>" {
		t.Errorf("Bracketed() = %q, want <postmaster>", got)
	}
	for _, tt := range []struct {
		p    Path
		want string
	}{
		{Path{}, ""},
		{Path{Local: "bob", Domain: "hamburger.edu"}, "bob@hamburger.edu"},
		{Path{Local: "bob smith", Domain: "hamburger.edu"}, `"bob smith"@hamburger.edu`},
		{Path{Local: `a"b`, Domain: "hamburger.edu"}, `"a\"b"@hamburger.edu`},
	} {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestSendNoRecipients: Send with no recipients is an error, not a panic.
func TestSendNoRecipients(t *testing.T) {
	addr := startServer(t, &Server{Domain: "hamburger.edu"})
	for _, pipelining := range []bool{true, false} {
		c := dialClient(t, addr, sockets.Link{})
		c.UseHELO = !pipelining
		res, err := c.Send(context.Background(), mustPath(t, "alice@crepes.fr"), nil, strings.NewReader("hi\r\n"))
		if err == nil {
			t.Errorf("pipelining %v: sent to nobody: %+v", pipelining, res)
		}
		c.Close()
	}
}

// TestBDATBackendRefuses: a Backend that refuses a message before the last
// chunk chooses the answer, as it does after DATA.
func TestBDATBackendRefuses(t *testing.T) {
	full := BackendFunc(func(ctx context.Context, env *Envelope, msg io.Reader) error {
		return newReply(452, "4.2.2", "mailbox full")
	})
	rc, _, _ := hostile(t, func(s *Server) { s.Backend = full })
	rc.cmd("EHLO crepes.fr", 250)
	rc.cmd("MAIL FROM:<alice@crepes.fr>", 250)
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 250)
	rc.send("BDAT 10\r\n0123456789")
	if text := rc.expect(452); !strings.Contains(text, "mailbox full") {
		t.Errorf("got 452 %s", text)
	}
	rc.cmd("NOOP", 250)
}

// TestSMTPUTF8Parameter: only an SMTPUTF8 parameter allows a UTF-8 path,
// not the word anywhere in the parameters.
func TestSMTPUTF8Parameter(t *testing.T) {
	for _, tt := range []struct {
		arg string
		ok  bool
	}{
		{"FROM:<jürgen@crepes.fr> SMTPUTF8", true},
		{"FROM:<jürgen@crepes.fr> smtputf8 BODY=8BITMIME", true},
		{"FROM:<jürgen@crepes.fr>", false},
		{"FROM:<jürgen@crepes.fr> X-NOTE=SMTPUTF8", false},
		{"FROM:<jürgen@crepes.fr> NOSMTPUTF8", false},
	} {
		_, _, err := parsePathArg(tt.arg, "FROM", false)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v, want ok %v", tt.arg, err, tt.ok)
		}
	}
}

// TestReplyInjection: a Backend's reply text with a line break cannot
// forge a second reply.
func TestReplyInjection(t *testing.T) {
	evil := BackendFunc(func(ctx context.Context, env *Envelope, msg io.Reader) error {
		io.Copy(io.Discard, msg)
		return newReply(451, "4.3.0", "disk full\r\n250 2.0.0 Message accepted for delivery")
	})
	rc, _, _ := hostile(t, func(s *Server) { s.Backend = evil })
	rc.transaction()
	rc.send("Subject: x\r\n\r\nhi\r\n.\r\n")
	if text := rc.expect(451); !strings.Contains(text, "disk full") {
		t.Errorf("got 451 %s", text)
	}
	// The next reply is the answer to the next command, not a forgery.
	rc.cmd("RCPT TO:<bob@hamburger.edu>", 503)
}

// deadlineConn records the last deadline set on it.
type deadlineConn struct {
	net.Conn
	mu   sync.Mutex
	last time.Time
}

func (d *deadlineConn) SetDeadline(t time.Time) error {
	d.mu.Lock()
	d.last = t
	d.mu.Unlock()
	return nil
}

// TestClientLateCancelLeavesNoPastDeadline: a context cancelled as a
// command ends must not leave the connection with a deadline in the past
// once the command is over, or the next command would fail at once.
func TestClientLateCancelLeavesNoPastDeadline(t *testing.T) {
	dc := &deadlineConn{}
	c := NewClient(dc)
	for i := range 200 {
		ctx, cancel := context.WithCancel(context.Background())
		undo := c.deadline(ctx, time.Minute, 0)
		cancel()
		undo()
		dc.mu.Lock()
		last := dc.last
		dc.mu.Unlock()
		if !last.IsZero() && last.Before(time.Now()) {
			t.Fatalf("round %d: deadline %v left in the past", i, last)
		}
	}
}

// deadlinesConn records the read deadline last set on it.
type deadlinesConn struct {
	net.Conn
	read, write time.Time
}

func (c *deadlinesConn) SetReadDeadline(t time.Time) error  { c.read = t; return nil }
func (c *deadlinesConn) SetWriteDeadline(t time.Time) error { c.write = t; return nil }

// TestReadDeadlineGuarantee: before each line the client is given at
// least 7/8 of the timeout and at most all of it, also when the timeout
// shrinks (from a command to DATA).
func TestReadDeadlineGuarantee(t *testing.T) {
	dc := &deadlinesConn{}
	s := &session{srv: &Server{}, raw: dc}
	for i, d := range []time.Duration{time.Hour, time.Hour, time.Hour, time.Minute, time.Minute, time.Hour} {
		before := time.Now()
		s.readDeadline(d)
		after := time.Now()
		if dc.read.Before(before.Add(d*7/8)) || dc.read.After(after.Add(d)) {
			t.Errorf("line %d: timeout %v gives the client %v", i, d, dc.read.Sub(before))
		}
		if dc.write.Before(before.Add(s.srv.commandTimeout() * 7 / 8)) {
			t.Errorf("line %d: the reply's write deadline is %v away", i, dc.write.Sub(before))
		}
	}
}
