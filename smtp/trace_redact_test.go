package smtp

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"appnet.dev/sockets/sockettest"
)

// redactSession runs one session over net.Pipe with a Trace, sends the
// client's lines one at a time, each with CRLF and each answered before
// the next, and returns the transcript once the session has ended, with
// the reply codes the server sent. A line starting with "|" is message
// text: it is sent without the "|", and no reply is waited for.
func redactSession(t *testing.T, lines []string) (transcript string, codes []int) {
	t.Helper()
	var trace sockettest.SyncBuffer
	srv := &Server{
		Domain:            "hamburger.edu",
		AllowInsecureAuth: true,
		Trace:             &trace,
		Authenticate: func(_ context.Context, user, password string) error {
			if user == "alice" && password == "s3cret-pa55" {
				return nil
			}
			return errors.New("wrong password")
		},
	}
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
	br := bufio.NewReader(client)
	readReply := func() int {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading a reply: %v", err)
			}
			if len(line) < 4 {
				t.Fatalf("short reply line %q", line)
			}
			if line[3] != '-' {
				code, err := strconv.Atoi(line[:3])
				if err != nil {
					t.Fatalf("reply line %q", line)
				}
				return code
			}
		}
	}
	readReply() // the greeting
	for _, l := range lines {
		text, isText := strings.CutPrefix(l, "|")
		if _, err := client.Write([]byte(text + "\r\n")); err != nil {
			t.Fatal(err)
		}
		if !isText {
			codes = append(codes, readReply())
		}
	}
	client.Close()
	<-ended
	return trace.String(), codes
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// The credentials never reach the transcript, whichever way AUTH sends
// them; the rest of the dialogue is printed as before.
func TestTraceRedactsAuth(t *testing.T) {
	plain := b64("\x00alice\x00s3cret-pa55")
	for _, tt := range []struct {
		name   string
		lines  []string
		codes  []int
		want   []string // lines the transcript has, in order
		hidden []string // what it must not contain
	}{
		{
			name:   "PLAIN with initial response",
			lines:  []string{"EHLO crepes.fr", "AUTH PLAIN " + plain, "MAIL FROM:<alice@crepes.fr>", "QUIT"},
			codes:  []int{250, 235, 250, 221},
			want:   []string{"C: AUTH PLAIN <redacted>", "S: 235 2.7.0 authentication successful", "C: MAIL FROM:<alice@crepes.fr>"},
			hidden: []string{plain, "s3cret-pa55"},
		},
		{
			name:   "PLAIN after a 334",
			lines:  []string{"EHLO crepes.fr", "auth plain", plain, "QUIT"},
			codes:  []int{250, 334, 235, 221},
			want:   []string{"C: auth plain", "S: 334", "C: <redacted>", "S: 235 2.7.0 authentication successful", "C: QUIT"},
			hidden: []string{plain},
		},
		{
			name:   "LOGIN",
			lines:  []string{"EHLO crepes.fr", "AUTH LOGIN", b64("alice"), b64("s3cret-pa55"), "NOOP", "QUIT"},
			codes:  []int{250, 334, 334, 235, 250, 221},
			want:   []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>", "S: 235 2.7.0 authentication successful", "C: NOOP"},
			hidden: []string{b64("s3cret-pa55"), b64("alice")},
		},
		{
			name:   "LOGIN with the user name in the command",
			lines:  []string{"EHLO crepes.fr", "AUTH LOGIN " + b64("alice"), b64("wrong"), "QUIT"},
			codes:  []int{250, 334, 535, 221},
			want:   []string{"C: AUTH LOGIN <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>", "S: 535 5.7.8 authentication credentials invalid", "C: QUIT"},
			hidden: []string{b64("wrong"), b64("alice")},
		},
		{
			name:   "cancelled",
			lines:  []string{"EHLO crepes.fr", "AUTH PLAIN", "*", "NOOP", "QUIT"},
			codes:  []int{250, 334, 501, 250, 221},
			want:   []string{"C: AUTH PLAIN", "C: <redacted>", "S: 501 5.0.0 authentication cancelled", "C: NOOP"},
			hidden: nil,
		},
		{
			name: "message text is not a command",
			lines: []string{"EHLO crepes.fr", "MAIL FROM:<alice@crepes.fr>", "RCPT TO:<bob@hamburger.edu>", "DATA",
				"|Subject: how to log in", "|", "|AUTH PLAIN is how my client says hello.", "|Then it sends a line of base64.", ".", "QUIT"},
			codes: []int{250, 250, 250, 354, 250, 221},
			want:  []string{"S: 354", "C: AUTH PLAIN is how my client says hello.", "C: Then it sends a line of base64.", "C: .", "C: QUIT"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			transcript, codes := redactSession(t, tt.lines)
			if !equalInts(codes, tt.codes) {
				t.Errorf("reply codes %v, want %v\n%s", codes, tt.codes, transcript)
			}
			rest := transcript
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("transcript lacks %q (in this order):\n%s", w, transcript)
					break
				}
				rest = rest[i+len(w):]
			}
			for _, h := range tt.hidden {
				if strings.Contains(transcript, h) {
					t.Errorf("transcript shows %q:\n%s", h, transcript)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The redactor alone: what each line of a dialogue prints as.
func TestAuthRedactor(t *testing.T) {
	type step struct {
		client bool
		line   string
		want   string
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"refused AUTH ends the exchange", []step{
			{true, "AUTH PLAIN AGFsaWNlAHg=", "AUTH PLAIN <redacted>"},
			{false, "502 5.5.1 AUTH not available", "502 5.5.1 AUTH not available"},
			{true, "MAIL FROM:<a@b>", "MAIL FROM:<a@b>"},
		}},
		{"pipelined lines behind credentials are hidden too", []step{
			{true, "AUTH LOGIN", "AUTH LOGIN"},
			{true, "YWxpY2U=", "<redacted>"},
			{true, "c2VjcmV0", "<redacted>"},
			{false, "334 VXNlcm5hbWU6", "334 VXNlcm5hbWU6"},
			{true, "still hidden", "<redacted>"},
			{false, "235 2.7.0 ok", "235 2.7.0 ok"},
			{true, "NOOP", "NOOP"},
		}},
		{"BDAT chunk is text", []step{
			{true, "BDAT 30 LAST", "BDAT 30 LAST"},
			{true, "AUTH PLAIN looks like a command", "AUTH PLAIN looks like a command"},
			{false, "250 2.0.0 ok", "250 2.0.0 ok"},
			{true, "AUTH PLAIN eA==", "AUTH PLAIN <redacted>"},
		}},
		{"a bare AUTH", []step{
			{true, "AUTH", "AUTH"},
			{false, "501 5.5.4 syntax", "501 5.5.4 syntax"},
			{true, "NOOP", "NOOP"},
		}},
		{"short server line", []step{
			{true, "AUTH LOGIN", "AUTH LOGIN"},
			{false, "33", "33"},
			{true, "NOOP", "NOOP"},
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
