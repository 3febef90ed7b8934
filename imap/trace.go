package imap

import (
	"bytes"
	"strconv"

	"appnet.dev/sockets"
)

// redacted is what a transcript shows in place of a password.
const redacted = "<redacted>"

// traceWriter returns the writer every session's transcript goes to:
// Trace, wrapped once for the whole server in a sockets.SyncWriter, so
// that sessions running side by side print whole lines in turn even when
// Trace itself (a bytes.Buffer, say) is not safe for concurrent use. It
// returns nil if Trace is nil.
func (srv *Server) traceWriter() *sockets.SyncWriter {
	srv.traceOnce.Do(func() {
		if srv.Trace != nil {
			srv.trace = sockets.NewSyncWriter(srv.Trace)
		}
	})
	return srv.trace
}

// redactLine is the client's censor for sockets.TraceRedacted.
func (c *Client) redactLine(fromServer bool, line []byte) []byte {
	return c.redact.line(!fromServer, line)
}

// authRedactor keeps passwords out of a transcript, the server's
// (Server.Trace) and the client's (Client.Trace) alike. It hides
//
//   - the password of LOGIN, whether it is an atom, a quoted string or a
//     literal, and the literal's data, on whatever line it comes:
//
//     C: a1 LOGIN alice <redacted>
//     S: + Ready for literal data
//     C: <redacted>
//     S: a1 OK [CAPABILITY ...] Logged in
//
//   - AUTHENTICATE's initial response (SASL-IR, RFC 4959) and every line
//     the client sends after the server's "+" challenges, until the
//     command's tagged reply:
//
//     C: a1 AUTHENTICATE PLAIN
//     S: +
//     C: <redacted>
//     S: a1 OK [CAPABILITY ...] Logged in
//
// It follows the dialogue as the trace sees it, line by line. A LOGIN or
// AUTHENTICATE command hides every client line after it until the
// server's tagged reply to it (or an untagged BAD or BYE); the user name
// stays visible, even when it comes as a literal. Literals of other
// commands (APPEND's messages) are counted off, so that text in a message
// is never taken for a command. When in doubt it hides more, never less:
// commands a client pipelines behind its credentials are hidden too, and
// a literal is assumed to end no later than it can.
type authRedactor struct {
	hiding  bool   // a LOGIN or AUTHENTICATE is open: client lines are hidden
	hideTag string // its tag
	userLit int64  // bytes of LOGIN's user name, sent as a literal, still to come

	lit     int64  // bytes of another command's literal still to come, shown as they are
	syncLit int64  // a synchronising literal's size: it comes after the server's "+"
	litTag  string // the tag of the command the literal belongs to
}

// line is the redact function for sockets.TraceRedacted.
func (r *authRedactor) line(fromClient bool, line []byte) []byte {
	switch {
	case !fromClient:
		r.serverLine(line)
		return line
	case r.hiding:
		return r.hidden(line)
	case r.lit > 0:
		return r.literalData(line)
	}
	return r.command(line)
}

// serverLine follows the server's side: "+" lets a synchronising literal
// come; the tagged reply (or an untagged BAD or BYE) ends a command.
func (r *authRedactor) serverLine(line []byte) {
	if len(line) > 0 && line[0] == '+' {
		if r.syncLit > 0 {
			r.lit, r.syncLit = r.syncLit, 0
		}
		return
	}
	tag, rest, _ := bytes.Cut(line, []byte(" "))
	gone := string(tag) == "*" && (hasPrefixFold(rest, "BAD") || hasPrefixFold(rest, "BYE"))
	if gone || (r.hiding && string(tag) == r.hideTag) {
		r.hiding, r.hideTag, r.userLit = false, "", 0
	}
	if gone || string(tag) == r.litTag {
		r.lit, r.syncLit, r.litTag = 0, 0, ""
	}
}

// command looks at the first line of a client's command.
func (r *authRedactor) command(line []byte) []byte {
	tag, rest, ok := bytes.Cut(line, []byte(" "))
	name, args, _ := bytes.Cut(rest, []byte(" "))
	head := len(line) - len(args) // where the arguments start
	switch {
	case ok && bytes.EqualFold(name, []byte("LOGIN")):
		r.hiding, r.hideTag = true, string(tag)
		return r.login(line, head)
	case ok && bytes.EqualFold(name, []byte("AUTHENTICATE")):
		r.hiding, r.hideTag = true, string(tag)
		mech, _, hasResponse := bytes.Cut(args, []byte(" "))
		if !hasResponse {
			return line // no initial response: the secrets come after "+"
		}
		return redact(line[:head+len(mech)])
	}
	r.announce(string(tag), line)
	return line
}

// login censors the line of a LOGIN command whose arguments start at
// head: the user name stays, the password is replaced.
func (r *authRedactor) login(line []byte, head int) []byte {
	args := line[head:]
	if len(args) == 0 {
		return line
	}
	var user int // the user name's length
	switch args[0] {
	case '{':
		n, _, ok := literalSize(args)
		if !ok {
			return redact(line[:head-1])
		}
		r.userLit = n // the name comes on the next line, the password after it
		return line
	case '"':
		user = quotedEnd(args)
		if user < 0 {
			return redact(line[:head-1])
		}
	default:
		user = bytes.IndexByte(args, ' ')
		if user < 0 {
			user = len(args)
		}
	}
	if user == len(args) {
		return line // no password on this line
	}
	return redact(line[:head+user])
}

// hidden censors a client line inside LOGIN or AUTHENTICATE. Only a user
// name sent as a literal is shown, and only if it ends on this line.
func (r *authRedactor) hidden(line []byte) []byte {
	n := r.userLit
	r.userLit = 0
	switch {
	case n == 0 || int64(len(line)) < n:
		return []byte(redacted)
	case int64(len(line)) == n:
		return line // the name alone
	}
	return redact(line[:n])
}

// literalData shows a line of a literal (APPEND's message) as it is. It
// counts the line with a CRLF, as it was sent in the best case: a literal
// is never thought to end later than it does.
func (r *authRedactor) literalData(line []byte) []byte {
	if size := int64(len(line)) + 2; size <= r.lit {
		r.lit -= size
		return line
	}
	// The literal ends here; the command goes on, and may announce
	// another literal (MULTIAPPEND).
	rest := line[min(r.lit, int64(len(line))):]
	r.lit = 0
	r.announce(r.litTag, rest)
	return line
}

// announce notes a literal announced at the end of a client line of the
// command tagged tag: "{n}" comes after the server's "+", "{n+}" at once.
func (r *authRedactor) announce(tag string, line []byte) {
	n, sync, ok := literalSize(line)
	if !ok || n == 0 {
		return
	}
	r.litTag = tag
	if sync {
		r.syncLit = n
	} else {
		r.lit = n
	}
}

// literalSize reads the literal announcement that ends line: "{42}"
// (synchronising) or "{42+}".
func literalSize(line []byte) (n int64, sync, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false, false
	}
	digits := line[open+1 : len(line)-1]
	sync = true
	if d, found := bytes.CutSuffix(digits, []byte("+")); found {
		digits, sync = d, false
	}
	if len(digits) == 0 || len(digits) > 18 {
		return 0, false, false
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return 0, false, false
	}
	return n, sync, true
}

// quotedEnd returns the length of the quoted string that starts s, quotes
// included, or -1 if it does not end on this line.
func quotedEnd(s []byte) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// redact returns keep followed by " <redacted>", in a new slice.
func redact(keep []byte) []byte {
	out := make([]byte, 0, len(keep)+1+len(redacted))
	out = append(out, keep...)
	out = append(out, ' ')
	return append(out, redacted...)
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], []byte(prefix))
}
