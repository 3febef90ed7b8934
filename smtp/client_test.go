package smtp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"appnet.dev/smtp/message"
	"appnet.dev/sockets"
	"appnet.dev/sockets/sockettest"
)

func dialClient(t testing.TB, addr string, link sockets.Link) *Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if link != (sockets.Link{}) {
		conn = sockets.Throttle(conn, link)
	}
	c := NewClient(conn)
	c.LocalName = "crepes.fr"
	t.Cleanup(func() { c.Close() })
	return c
}

func mustPath(t testing.TB, s string) Path {
	p, err := ParsePath(s, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientPipelining sends to ten recipients in three round trips:
// EHLO, then MAIL+10×RCPT+DATA, then the message and its dot.
func TestClientPipelining(t *testing.T) {
	mb := &MemoryBackend{}
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: mb})
	c := dialClient(t, addr, sockets.Link{Latency: time.Millisecond})
	var to []Path
	for i := 0; i < 10; i++ {
		to = append(to, Path{Local: "bob" + string(rune('a'+i)), Domain: "hamburger.edu"})
	}
	ctx := context.Background()
	res, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), to, strings.NewReader("Subject: hi\n\nDo you like ketchup?\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RoundTrips > 3 {
		t.Errorf("%d round trips, want at most 3", c.RoundTrips)
	}
	for i := range to {
		if !res.Accepted(i) {
			t.Errorf("recipient %d not accepted: %v", i, res.Recipients[i])
		}
	}
	msgs, _ := mb.Wait(ctx, 1)
	if len(msgs[0].Envelope.To) != 10 || msgs[0].Envelope.Size == 0 {
		t.Errorf("envelope %+v", msgs[0].Envelope)
	}
}

// TestDotStuffing: the client stuffs dots and normalises line endings,
// the server unstuffs; the stored message is the CRLF form of the input.
func TestDotStuffing(t *testing.T) {
	mb := &MemoryBackend{}
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: mb})
	c := dialClient(t, addr, sockets.Link{})
	in := "Subject: dots\n\n.\n..two\n.three\r\nbare\rcr\nno newline at end"
	if _, err := c.Send(context.Background(), mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "bob@hamburger.edu")}, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mb.Wait(context.Background(), 1)
	got := string(msgs[0].Data)
	_, body, _ := strings.Cut(got, "Subject:")
	want := " dots\r\n\r\n.\r\n..two\r\n.three\r\nbare\r\ncr\r\nno newline at end\r\n"
	if body != want {
		t.Errorf("stored %q, want %q", body, want)
	}
}

// TestEnvelopeIsNotHeader is the slide's point: To:/From: in the header
// differ from MAIL FROM/RCPT TO. Carol, in Bcc, gets the message although
// no header names her, and the header does not change.
func TestEnvelopeIsNotHeader(t *testing.T) {
	mb := &MemoryBackend{}
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: mb})
	c := dialClient(t, addr, sockets.Link{})
	m := &message.Message{Body: []byte("Do you like ketchup?\n")}
	m.Header.Add("From", "Alice <alice@crepes.fr>")
	m.Header.Add("To", "Bob <bob@hamburger.edu>")
	m.Header.Add("Subject", "Lunch")
	to := []Path{mustPath(t, "bob@hamburger.edu"), mustPath(t, "carol@hamburger.edu")}
	if _, err := c.Send(context.Background(), mustPath(t, "alice@crepes.fr"), to, strings.NewReader(string(m.Bytes()))); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mb.Wait(context.Background(), 1)
	root, err := message.Parse(msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	hdrTo, _ := message.ParseAddressList(root.Header.Get("To"))
	if len(hdrTo) != 1 || hdrTo[0].Addr() != "bob@hamburger.edu" {
		t.Errorf("header To: %v", hdrTo)
	}
	if strings.Contains(string(msgs[0].Data), "carol") {
		t.Error("the Bcc recipient appears in the message")
	}
	if got := msgs[0].Envelope.To; len(got) != 2 || got[1].String() != "carol@hamburger.edu" {
		t.Errorf("envelope To %v", got)
	}
}

// TestClientRefusals: replies come back typed.
func TestClientRefusals(t *testing.T) {
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: &MemoryBackend{}})
	c := dialClient(t, addr, sockets.Link{})
	ctx := context.Background()
	res, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "x@example.com")}, strings.NewReader("hi\n"))
	var r *Reply
	if !errors.As(err, &r) || r.Code != 554 || r.Enhanced != "5.7.1" || !r.Permanent() {
		t.Fatalf("err %v", err)
	}
	if res == nil || len(res.Recipients) != 1 || res.Accepted(0) {
		t.Errorf("result %+v", res)
	}
	// The connection is still good for the next message.
	if _, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "bob@hamburger.edu")}, strings.NewReader("hi\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestHELOFallback: against a server that knows only HELO, the client
// falls back and sends without pipelining.
func TestHELOFallback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan []string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		var lines []string
		conn.Write([]byte("220 old.hamburger.edu\r\n"))
		inData := false
		for i := 0; i < 20; i++ {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			line = strings.TrimRight(line, "\r\n")
			lines = append(lines, line)
			switch {
			case inData && line == ".":
				inData = false
				conn.Write([]byte("250 ok\r\n"))
			case inData:
			case strings.HasPrefix(line, "EHLO"):
				conn.Write([]byte("500 what?\r\n"))
			case line == "DATA":
				inData = true
				conn.Write([]byte("354 go\r\n"))
			case line == "QUIT":
				conn.Write([]byte("221 bye\r\n"))
				got <- lines
				return
			default:
				conn.Write([]byte("250 ok\r\n"))
			}
		}
		got <- lines
	}()
	c := dialClient(t, l.Addr().String(), sockets.Link{})
	ctx := context.Background()
	if _, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "bob@hamburger.edu")}, strings.NewReader("hi\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit(ctx)
	want := []string{"EHLO crepes.fr", "HELO crepes.fr", "MAIL FROM:<alice@crepes.fr>", "RCPT TO:<bob@hamburger.edu>", "DATA", "hi", ".", "QUIT"}
	if lines := <-got; strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("server saw %q", lines)
	}
}

// TestClientTLSAuth: STARTTLS, then AUTH, then a relayed message.
func TestClientTLSAuth(t *testing.T) {
	scfg, ccfg := sockettest.TestCert(t, "hamburger.edu", "localhost", "127.0.0.1")
	mb := &MemoryBackend{}
	addr := startServer(t, &Server{Domain: "crepes.fr", Backend: mb, TLSConfig: scfg,
		Authenticate: func(ctx context.Context, u, p string) error {
			if u != "alice" || p != "ketchup" {
				return errors.New("bad")
			}
			return nil
		}})
	c := dialClient(t, addr, sockets.Link{})
	ctx := context.Background()
	if err := c.Auth(ctx, "alice", "ketchup"); err == nil {
		t.Fatal("AUTH in the clear succeeded")
	}
	if err := c.StartTLS(ctx, ccfg); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(ctx, "alice", "mustard"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := c.Auth(ctx, "alice", "ketchup"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "bob@hamburger.edu")}, strings.NewReader("hi\n")); err != nil {
		t.Fatal(err)
	}
	msgs, _ := mb.Wait(ctx, 1)
	if msgs[0].Envelope.AuthUser != "alice" {
		t.Errorf("envelope %+v", msgs[0].Envelope)
	}
}

// TestClientContext: a cancelled context interrupts a client waiting on a
// silent server.
func TestClientContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c := dialClient(t, l.Addr().String(), sockets.Link{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Hello(ctx) }()
	conn := <-accepted
	defer conn.Close()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

// BenchmarkPipelining measures one message to ten recipients over a link
// whose client side adds 5 ms to everything it writes, so each round trip
// costs at least 5 ms. Timed: greeting, EHLO and Send; the connection's
// setup is not. The target is at most 3 round trips for the
// message after the greeting: rtt/op reports the time in round trips.
func BenchmarkPipelining(b *testing.B) {
	addr := startServer(b, &Server{Domain: "hamburger.edu", Backend: Discard{}})
	const latency = 5 * time.Millisecond
	link := sockets.Link{Latency: latency}
	var to []Path
	for i := 0; i < 10; i++ {
		to = append(to, Path{Local: "bob" + string(rune('a'+i)), Domain: "hamburger.edu"})
	}
	from := Path{Local: "alice", Domain: "crepes.fr"}
	ctx := context.Background()
	trips := 0
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c := NewClient(sockets.Throttle(conn, link))
		start := time.Now()
		if _, err := c.Send(ctx, from, to, strings.NewReader("Subject: x\n\nhi\n")); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		trips += c.RoundTrips
		c.Close()
	}
	b.ReportMetric(float64(trips)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(elapsed)/float64(latency)/float64(b.N), "rtt/op")
}

// TestRecipientFunc: a per-recipient store behind the Backend interface.
func TestRecipientFunc(t *testing.T) {
	var got []string
	backend := RecipientFunc(func(ctx context.Context, rcpt Path, msg io.Reader) error {
		b, err := io.ReadAll(msg)
		if err != nil {
			return err
		}
		if rcpt.Local == "full" {
			return &Reply{Code: 452, Enhanced: "4.2.2", Text: []string{"mailbox full"}}
		}
		words := strings.Fields(string(b))
		got = append(got, rcpt.Local+":"+words[len(words)-1])
		return nil
	})
	addr := startServer(t, &Server{Domain: "hamburger.edu", Backend: backend})
	c := dialClient(t, addr, sockets.Link{})
	ctx := context.Background()
	if _, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "bob@hamburger.edu"), mustPath(t, "carol@hamburger.edu")}, strings.NewReader("Subject: x\n\npickles\n")); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "bob:pickles,carol:pickles" {
		t.Errorf("delivered %v", got)
	}
	_, err := c.Send(ctx, mustPath(t, "alice@crepes.fr"), []Path{mustPath(t, "full@hamburger.edu")}, strings.NewReader("hi\n"))
	var r *Reply
	if !errors.As(err, &r) || r.Code != 452 || r.Enhanced != "4.2.2" {
		t.Errorf("got %v", err)
	}
}
