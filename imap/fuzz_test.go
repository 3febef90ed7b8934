package imap

import (
	"bufio"
	"bytes"
	"io"
	"maps"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"appnet.dev/smtp/message"
)

// scriptConn is a net.Conn whose peer sends script and then goes away;
// whatever the server writes is dropped.
type scriptConn struct {
	r io.Reader
}

func (c *scriptConn) Read(p []byte) (int, error)         { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)        { return len(p), nil }
func (c *scriptConn) Close() error                       { return nil }
func (c *scriptConn) LocalAddr() net.Addr                { return pipeAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr               { return pipeAddr{} }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

var commandSeeds = []string{
	"a1 CAPABILITY\r\na2 LOGIN bob hunter2\r\na3 SELECT INBOX\r\na4 FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)]<0.10>)\r\n",
	"a LOGIN bob hunter2\r\nb APPEND INBOX (\\Seen) \"25-Nov-2026 10:00:00 +0000\" {11+}\r\nSubject: x\r\n\r\nc SELECT INBOX\r\nd STORE 1 +FLAGS (\\Deleted)\r\ne EXPUNGE\r\n",
	"a LOGIN bob hunter2\r\nb SELECT INBOX\r\nc SEARCH OR FROM alice NOT (SEEN LARGER 10) UID 1:*\r\nd UID MOVE 1:* Archive\r\n",
	"a LOGIN {3+}\r\nbob {7+}\r\nhunter2\r\nb LIST \"\" %\r\nc CREATE Archive\r\nd STATUS Archive (MESSAGES UIDNEXT)\r\ne IDLE\r\nDONE\r\n",
	"a AUTHENTICATE PLAIN AGJvYgBodW50ZXIy\r\nb SELECT INBOX\r\nc FETCH 1 BINARY[1]\r\nd UID EXPUNGE 1\r\ne LOGOUT\r\n",
	"a LOGIN {99999999999}\r\n",
	"a LOGIN bob hunter2\r\nb APPEND INBOX {2+}\r\nHi (\\Flagged) {3+}\r\nHi!\r\nc APPEND INBOX {2+}\r\nHi {9999999}\r\nd RENAME INBOX Old\r\n",
	"a LOGIN bob hunter2\r\nb ENABLE IMAP4rev2 CONDSTORE\r\nc CREATE \"Crêpes\"\r\nd LIST \"\" *\r\ne SELECT INBOX\r\nf UID SEARCH RETURN (MIN MAX COUNT ALL) RECENT\r\ng SEARCH RETURN () NEW\r\nh ENABLE IMAP4rev2\r\n",
	"a LOGIN bob hunter2\r\nb EXAMINE INBOX\r\nc FETCH 1:* FLAGS\r\nd STATUS INBOX (RECENT)\r\ne SEARCH OLD\r\n",
	"a LOGIN bob hunter2\r\nb SEARCH ((((((((((((((((((((((((((((((((((((ALL))))))))))))))))))))))))))))))))))))\r\n",
}

func FuzzCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	users := &Users{Dir: f.TempDir(), Passwords: map[string]string{"bob": "hunter2"}}
	store, err := users.Store("bob")
	if err != nil {
		f.Fatal(err)
	}
	inbox, _ := store.Mailbox("INBOX")
	inbox.Append(strings.NewReader(aliceMsg), nil, time.Time{}, 0)
	srv := &Server{Backend: users, AllowInsecureAuth: true, AppendLimit: 4096, PollInterval: time.Hour}
	f.Fuzz(func(t *testing.T, script []byte) {
		// Bound the mailbox's growth across runs.
		if msgs, _ := inbox.Sync(); len(msgs) > 20 {
			var uids []uint32
			for _, m := range msgs[1:] {
				uids = append(uids, m.UID)
			}
			inbox.Expunge(uids)
		}
		srv.ServeConn(&scriptConn{r: bytes.NewReader(script)})
	})
}

var responseSeeds = []string{
	"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n",
	"* 1 FETCH (UID 7 FLAGS (\\Seen $Label) RFC822.SIZE 44 INTERNALDATE \"25-Nov-2026 10:00:00 +0000\" BODY[HEADER.FIELDS (SUBJECT)]<0> {5}\r\nHello ENVELOPE (NIL \"s\" ((\"A\" NIL \"a\" \"b\")) NIL NIL NIL NIL NIL NIL NIL))\r\n",
	"* 2 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 10 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0) 1) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL))\r\n",
	"* LIST (\\HasNoChildren) \".\" INBOX\r\n* STATUS INBOX (MESSAGES 3 UIDNEXT 4)\r\n* SEARCH 1 2 3\r\n",
	"+ idling\r\n* 3 EXISTS\r\n* 1 EXPUNGE\r\na1 OK [APPENDUID 1 5] done\r\n",
	"* 1 FETCH (BINARY[1] ~{3}\r\n\x00\x01\x02)\r\n",
	"* 1 FETCH (BODY[] {99999999999}\r\n",
}

func FuzzResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; i < 1000; i++ {
			resp, err := r.readResponse(nil)
			if err != nil {
				return
			}
			if resp.tag == "" {
				t.Fatal("response without a tag")
			}
		}
	})
}

// FuzzStructure builds ENVELOPE and BODYSTRUCTURE for arbitrary messages
// and checks that what comes out is well-formed IMAP that our own response
// parser reads back whole.
func FuzzStructure(f *testing.F) {
	for _, m := range corpus(30) {
		f.Add([]byte(m))
	}
	f.Add([]byte(aliceMsg))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\n--x--\r\n"))
	f.Add([]byte("From: \"unterminated <a@b>\r\nSubject: =?UTF-8?Q?broken\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := message.Parse(data)
		if err != nil {
			return
		}
		for _, out := range [][]byte{
			AppendEnvelope(nil, &p.Header),
			AppendBodyStructure(nil, p, true),
			AppendBodyStructure(nil, p, false),
		} {
			r := newReader(bufio.NewReader(bytes.NewReader(append(out, "\r\n"...))))
			r.maxLit = 1 << 30
			v, err := r.value()
			if err != nil {
				t.Fatalf("unreadable output %q: %v", out, err)
			}
			if _, ok := v.([]any); !ok {
				t.Fatalf("output is not a list: %q", out)
			}
			if err := r.crlf(); err != nil {
				t.Fatalf("trailing bytes after %q: %v", out, err)
			}
		}
	})
}

func FuzzSeqSet(f *testing.F) {
	for _, s := range []string{"1", "1:3,7,10:*", "*", "*:4", "4294967295", "0", "1,,2", "1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseSeqSet(s)
		if err != nil {
			return
		}
		again, err := ParseSeqSet(set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("%q -> %q -> %v, %v", s, set.String(), again, err)
		}
		for n := uint32(1); n < 20; n++ {
			if set.Contains(n, 10) != again.Contains(n, 10) {
				t.Fatalf("round trip changed membership of %d", n)
			}
		}
	})
}

// FuzzDecodeMailboxName checks the modified UTF-7 decoder on names a client
// or server sends: it never fails to stop, what it accepts is UTF-8, and
// encoding that again decodes to the same name.
func FuzzDecodeMailboxName(f *testing.F) {
	for _, s := range []string{"INBOX", "Entw&APw-rfe", "&-", "Cr&AOo-pes/&ZeVnLIqe-", "&", "&-&-", "&AGE-", "&2D3eAQ-",
		"&2D0-", "&AOk-&AOk-", "&AOkA6Q-", "a&b", "&Jjo!-", "\x7f", "&,,,-", "&ZeVnLIqe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := DecodeMailboxName(s)
		if err != nil {
			if err != ErrBadMailboxName {
				t.Fatalf("%q: error %v is not ErrBadMailboxName", s, err)
			}
			return
		}
		if !utf8.ValidString(name) {
			t.Fatalf("%q decodes to invalid UTF-8 %q", s, name)
		}
		if !strings.Contains(s, "&") && name != s {
			t.Fatalf("plain %q decodes to %q", s, name)
		}
		enc := EncodeMailboxName(name)
		again, err := DecodeMailboxName(enc)
		if err != nil || again != name {
			t.Fatalf("%q -> %q -> %q -> %q, %v", s, name, enc, again, err)
		}
	})
}

// FuzzParseUsers checks the users file parser: what it accepts has no
// empty names and no names with ":", and written out again as
// "name:password" lines it reads back the same.
func FuzzParseUsers(f *testing.F) {
	for _, s := range []string{"bob:hunter2\nalice:ketchup\n", "# users of hamburger.edu\n\nbob:hunter2\r\n", "bob\n", ":x\n",
		"bob:a:b\n", "  bob : x  \n", "bob:1\nbob:2\n", "#x:y\nbob:\n", "bob:hunter2", "\xff:\xfe\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParseUsers(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out strings.Builder
		for name, pass := range users {
			if name == "" || strings.ContainsAny(name, ":\n") || name[0] == '#' {
				t.Fatalf("bad name %q from %q", name, data)
			}
			out.WriteString(name + ":" + pass + "\n")
		}
		again, err := ParseUsers(strings.NewReader(out.String()))
		if err != nil || !maps.Equal(again, users) {
			t.Fatalf("%q -> %q -> %q, %v", data, users, again, err)
		}
	})
}
