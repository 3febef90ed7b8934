package web

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A transcript is one connection, as the slides write a dialogue: what the
// client sends (C) and what the server answers (S), byte for byte.
//
//	# a comment
//	% MaxHeaderBytes 64        a setting of the Server
//	C: GET /hello HTTP/1.1     the client sends the line and CRLF
//	C! partial                 the client sends the text alone, no CRLF
//	S: HTTP/1.1 200 OK         the server answers the line and CRLF
//	S! hello\n                 the server answers the text alone
//
// In the text, \r, \n, \t, \\ and \xHH stand for those bytes. The client
// sends everything, then closes its sending half; the server's answer is
// everything it sends until it closes the connection. Every server sends
// "Date: Sun, 06 Nov 1994 08:49:37 GMT".
type transcript struct {
	settings map[string]string
	client   []byte
	server   []byte
}

func parseTranscript(text string) (*transcript, error) {
	tr := &transcript{settings: map[string]string{}}
	for i, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if setting, ok := strings.CutPrefix(line, "% "); ok {
			k, v, _ := strings.Cut(setting, " ")
			tr.settings[k] = v
			continue
		}
		if len(line) < 2 || (line[0] != 'C' && line[0] != 'S') || (line[1] != ':' && line[1] != '!') {
			return nil, fmt.Errorf("line %d: %q is not C:, C!, S: or S!", i+1, line)
		}
		b, err := unescape(strings.TrimPrefix(line[2:], " "))
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		if line[1] == ':' {
			b = append(b, '\r', '\n')
		}
		if line[0] == 'C' {
			tr.client = append(tr.client, b...)
		} else {
			tr.server = append(tr.server, b...)
		}
	}
	return tr, nil
}

func unescape(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+1 == len(s) {
			return nil, fmt.Errorf("a lone backslash ends %q", s)
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case '\\':
			b = append(b, '\\')
		case 'x':
			if i+2 >= len(s) {
				return nil, fmt.Errorf("short \\x in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x in %q", s)
			}
			b = append(b, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c in %q", s[i], s)
		}
	}
	return b, nil
}

// transcriptServer makes the server a transcript's settings describe.
func transcriptServer(t *testing.T, settings map[string]string) *Server {
	s := &Server{Handler: testHandler(), ErrorLog: testLog(t), now: func() time.Time { return rfcDate }}
	for k, v := range settings {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("setting %s %s: %v", k, v, err)
		}
		switch k {
		case "MaxHeaderBytes":
			s.MaxHeaderBytes = int(n)
		case "MaxBodyBytes":
			s.MaxBodyBytes = n
		default:
			t.Fatalf("unknown setting %s", k)
		}
	}
	return s
}

// converse sends what the client says on a new connection to addr, closes
// the sending half, and returns all the server sends until it closes.
func converse(t *testing.T, addr string, client []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(client); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the answer: %v (after %q)", err, got)
	}
	return got
}

// TestTranscripts replays every testdata/transcripts/*.txt over a
// loopback connection to a fresh server.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := parseTranscript(string(text))
			if err != nil {
				t.Fatal(err)
			}
			addr := start(t, transcriptServer(t, tr.settings))
			got := converse(t, addr, tr.client)
			if diff := cmp.Diff(lines(tr.server), lines(got)); diff != "" {
				t.Errorf("server's answer (-want +got):\n%s", diff)
			}
		})
	}
}

// lines splits an answer after each LF, for a readable diff.
func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			return i + 1, data[:i+1], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
