package imap

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// dispatch runs the command name: the one switch of the state machine.
// The tag and name are read; the rest of the line is not.
func (s *session) dispatch(tag, name string) error {
	var allowed bool
	switch name {
	case "CAPABILITY", "NOOP", "LOGOUT", "ID":
		allowed = true
	case "STARTTLS", "LOGIN", "AUTHENTICATE":
		allowed = s.state == NotAuthenticated
	case "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
		"LIST", "LSUB", "STATUS", "APPEND", "NAMESPACE", "IDLE":
		allowed = s.state == Authenticated || s.state == Selected
	case "ENABLE":
		allowed = s.state == Authenticated // RFC 5161 §3.1: before SELECT
	case "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID":
		allowed = s.state == Selected
	default:
		return syntaxErr("unknown command %s", name)
	}
	if !allowed {
		return syntaxErr("%s is not allowed in the %s state", name, s.state)
	}
	switch name {
	case "CAPABILITY", "NOOP", "CHECK", "LOGOUT", "STARTTLS", "NAMESPACE", "IDLE", "CLOSE", "UNSELECT", "EXPUNGE":
		// No arguments: the line ends after the name.
		if err := s.r.crlf(); err != nil {
			return err
		}
	}
	switch name {
	case "CAPABILITY":
		s.untagged("CAPABILITY %s", s.capabilities())
		s.ok(tag, "CAPABILITY completed")
	case "NOOP", "CHECK":
		s.update(true)
		s.ok(tag, "%s completed", name)
	case "LOGOUT":
		s.untagged("BYE %s logging out", s.srv.hostname())
		s.ok(tag, "LOGOUT completed")
		s.state = Logout
	case "ID":
		return s.cmdID(tag)
	case "ENABLE":
		return s.cmdEnable(tag)
	case "STARTTLS":
		return s.cmdStartTLS(tag)
	case "LOGIN":
		return s.cmdLogin(tag)
	case "AUTHENTICATE":
		return s.cmdAuthenticate(tag)
	case "SELECT", "EXAMINE":
		return s.cmdSelect(tag, name == "EXAMINE")
	case "CREATE", "DELETE", "SUBSCRIBE", "UNSUBSCRIBE":
		return s.cmdMailbox(tag, name)
	case "RENAME":
		return s.cmdRename(tag)
	case "LIST", "LSUB":
		return s.cmdList(tag, name)
	case "NAMESPACE":
		s.untagged(`NAMESPACE (("" ".")) NIL NIL`)
		s.ok(tag, "NAMESPACE completed")
	case "STATUS":
		return s.cmdStatus(tag)
	case "APPEND":
		return s.cmdAppend(tag)
	case "IDLE":
		return s.cmdIdle(tag)
	case "CLOSE", "UNSELECT":
		if name == "CLOSE" && !s.readOnly {
			s.expunge(nil, false)
		}
		s.unselect()
		s.ok(tag, "%s completed", name)
	case "EXPUNGE":
		if s.readOnly {
			s.no(tag, "[READ-ONLY] Mailbox is read-only")
			return nil
		}
		s.expunge(nil, true)
		s.ok(tag, "EXPUNGE completed")
	case "UID":
		a := s.args()
		sub := strings.ToUpper(a.atom(""))
		if a.err != nil {
			return a.err
		}
		switch sub {
		case "FETCH":
			return s.cmdFetch(tag, true)
		case "STORE":
			return s.cmdStore(tag, true)
		case "SEARCH":
			return s.cmdSearch(tag, true)
		case "COPY", "MOVE":
			return s.cmdCopy(tag, sub == "MOVE", true)
		case "EXPUNGE":
			return s.cmdUIDExpunge(tag)
		}
		return syntaxErr("unknown command UID %s", sub)
	case "FETCH":
		return s.cmdFetch(tag, false)
	case "STORE":
		return s.cmdStore(tag, false)
	case "SEARCH":
		return s.cmdSearch(tag, false)
	case "COPY", "MOVE":
		return s.cmdCopy(tag, name == "MOVE", false)
	}
	return nil
}

func (s *session) cmdID(tag string) error {
	a := s.args()
	a.read(s.idParams)
	if err := a.end(); err != nil {
		return err
	}
	s.untagged(`ID ("name" "appnet" "vendor" "appnet.dev")`)
	s.ok(tag, "ID completed")
	return nil
}

// idParams reads the client's ID (a list of fields and values, or NIL)
// and forgets it.
func (s *session) idParams() error {
	if c, _ := s.r.peek(); c != '(' {
		_, _, err := s.r.nstring()
		return err
	}
	n := 0
	return s.r.list(func() error {
		if n++; n > 60 {
			return syntaxErr("too many ID fields")
		}
		_, _, err := s.r.nstring()
		return err
	})
}

// cmdEnable turns on IMAP4rev2 (RFC 9051 §6.3.1), the one extension
// here that must be enabled, and says so in "* ENABLED"; what it does not
// know it leaves off without complaint (RFC 5161 §3.1).
func (s *session) cmdEnable(tag string) error {
	var enabled []string
	a := s.args()
	n := 0
	for a.more() {
		capability := a.atom("")
		if a.err != nil {
			break
		}
		if n++; n > 32 {
			return syntaxErr("too many capabilities to enable")
		}
		if strings.EqualFold(capability, "IMAP4rev2") && !s.rev2 {
			s.rev2 = true
			enabled = append(enabled, "IMAP4rev2")
		}
	}
	if n == 0 && a.err == nil {
		return syntaxErr("ENABLE needs a capability")
	}
	if err := a.end(); err != nil {
		return err
	}
	s.untagged("%s", strings.TrimSpace("ENABLED "+strings.Join(enabled, " ")))
	s.ok(tag, "ENABLE completed")
	return nil
}

func (s *session) cmdStartTLS(tag string) error {
	if s.srv.TLSConfig == nil || s.tls {
		s.no(tag, "STARTTLS not available")
		return nil
	}
	if s.r.br.Buffered() > 0 {
		// Commands pipelined after STARTTLS would be a plaintext injection.
		s.bad(tag, "Commands after STARTTLS")
		return errFatal
	}
	s.ok(tag, "Begin TLS negotiation now")
	if err := s.flush(); err != nil {
		return err
	}
	tc := tls.Server(s.raw, s.srv.TLSConfig)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	s.tls = true
	s.setConn(tc)
	return nil
}

func (s *session) authAllowed(tag string) bool {
	if s.tls || s.srv.AllowInsecureAuth {
		return true
	}
	s.no(tag, "[PRIVACYREQUIRED] Use STARTTLS first")
	return false
}

func (s *session) login(tag, user, pass string) {
	if s.srv.Backend == nil {
		s.no(tag, "[UNAVAILABLE] No user database")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := s.srv.Backend.Login(ctx, user, pass)
	if err != nil {
		if !errors.Is(err, ErrAuthFailed) {
			s.srv.logf("imap: login %s: %v", user, err)
		}
		s.no(tag, "[AUTHENTICATIONFAILED] Invalid credentials")
		return
	}
	s.user, s.store, s.state = user, store, Authenticated
	s.ok(tag, "[CAPABILITY %s] Logged in", s.capabilities())
}

func (s *session) cmdLogin(tag string) error {
	a := s.args()
	user := a.astring()
	pass := a.astring()
	if err := a.end(); err != nil {
		return err
	}
	if s.authAllowed(tag) {
		s.login(tag, user, pass)
	}
	return nil
}

func (s *session) cmdAuthenticate(tag string) error {
	a := s.args()
	mech := a.atom("")
	hasInitial := a.more()
	initial := ""
	if hasInitial {
		initial = a.atom("=") // base64
	}
	if err := a.end(); err != nil {
		return err
	}
	if !strings.EqualFold(mech, "PLAIN") {
		s.no(tag, "[CANNOT] Unsupported mechanism %s", mech)
		return nil
	}
	if !s.authAllowed(tag) {
		return nil
	}
	if !hasInitial {
		s.w.WriteString("+ \r\n")
		if err := s.flush(); err != nil {
			return err
		}
		s.r.reset()
		var line []byte
		for {
			c, err := s.r.readByte()
			if err != nil {
				return err
			}
			if c == '\n' {
				break
			}
			if c != '\r' {
				line = append(line, c)
			}
		}
		initial = string(line)
	}
	if initial == "*" {
		s.bad(tag, "AUTHENTICATE cancelled")
		return nil
	}
	if initial == "=" {
		initial = ""
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if err != nil {
		s.bad(tag, "Bad base64")
		return nil
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || (parts[0] != "" && parts[0] != parts[1]) {
		s.no(tag, "[AUTHENTICATIONFAILED] Invalid credentials")
		return nil
	}
	s.login(tag, parts[1], parts[2])
	return nil
}

// mailboxName reads a mailbox argument, INBOX in any case becoming INBOX.
func (s *session) mailboxName() (string, error) {
	name, err := s.r.astring()
	if err != nil {
		return "", err
	}
	name = s.wireToName(name)
	if isInbox(name) {
		return "INBOX", nil
	}
	return name, nil
}

// wireToName turns a mailbox name as the client sent it into the stored
// form, modified UTF-7 (RFC 3501 §5.1.3); after ENABLE IMAP4rev2 names
// travel as UTF-8 (RFC 9051 §5.1) and are encoded here.
func (s *session) wireToName(name string) string {
	if s.rev2 {
		return EncodeMailboxName(name)
	}
	return name
}

// appendName writes a stored mailbox name as the client expects it: as
// it is, or after ENABLE IMAP4rev2 in UTF-8, quoted (RFC 9051 allows UTF-8
// in quoted strings).
func (s *session) appendName(b []byte, name string) []byte {
	if !s.rev2 {
		return appendAString(b, name)
	}
	d, err := DecodeMailboxName(name)
	if err != nil || !utf8.ValidString(d) || strings.ContainsAny(d, "\r\n\x00") || len(d) > 1000 {
		return appendAString(b, name)
	}
	if !needsLiteral(d) {
		return appendAString(b, d)
	}
	b = append(b, '"')
	for i := 0; i < len(d); i++ {
		if d[i] == '"' || d[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, d[i])
	}
	return append(b, '"')
}

func (s *session) unselect() {
	s.box, s.boxName, s.view, s.pending, s.seen, s.readOnly, s.recent = nil, "", nil, nil, nil, false, nil
	s.state = Authenticated
}

func (s *session) cmdSelect(tag string, readOnly bool) error {
	a := s.args()
	name := a.mailbox()
	if err := a.end(); err != nil {
		return err
	}
	if s.state == Selected {
		s.unselect()
		s.untagged("OK [CLOSED] Previous mailbox closed")
	}
	box, snap, err := s.open(name)
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	msgs := snap.Messages
	s.box, s.boxName, s.readOnly, s.state = box, name, readOnly, Selected
	s.recent = s.recent[:0]
	s.claimRecent()
	// The view is built from the snapshot when a command needs it, so that
	// SELECT of a big mailbox costs no more than its counters.
	s.view, s.pending, s.seen = nil, msgs, msgs
	s.untagged(`FLAGS (\Answered \Flagged \Deleted \Seen \Draft)`)
	s.untagged(`OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted`)
	s.untagged("%d EXISTS", len(msgs))
	if s.rev2 {
		// IMAP4rev2 names the mailbox instead of counting recent messages.
		s.w.Write(s.appendName([]byte(`* LIST () "." `), name))
		s.w.WriteString("\r\n")
	} else {
		s.untagged("%d RECENT", s.countRecent(msgs))
	}
	if snap.FirstUnseen >= 0 {
		s.untagged("OK [UNSEEN %d] First unseen", snap.FirstUnseen+1)
	}
	s.untagged("OK [UIDVALIDITY %d] UIDs valid", snap.UIDValidity)
	s.untagged("OK [UIDNEXT %d] Predicted next UID", snap.UIDNext)
	if readOnly {
		s.ok(tag, "[READ-ONLY] EXAMINE completed")
	} else {
		s.ok(tag, "[READ-WRITE] SELECT completed")
	}
	return nil
}

// open returns the mailbox called name and a snapshot of it.
func (s *session) open(name string) (Mailbox, Snapshot, error) {
	box, err := s.store.Mailbox(name)
	if err != nil {
		return nil, Snapshot{}, err
	}
	snap, err := box.Snapshot()
	return box, snap, err
}

func (s *session) cmdMailbox(tag, cmd string) error {
	a := s.args()
	name := a.mailbox()
	if err := a.end(); err != nil {
		return err
	}
	var err error
	switch cmd {
	case "CREATE":
		name = strings.TrimSuffix(name, delimiter)
		if !validMUTF7(name) {
			s.no(tag, "[CANNOT] Mailbox names are modified UTF-7")
			return nil
		}
		err = s.store.Create(name)
	case "DELETE":
		if s.box != nil && s.boxName == name {
			s.unselect()
		}
		err = s.store.Delete(name)
	case "SUBSCRIBE", "UNSUBSCRIBE":
		if cmd == "SUBSCRIBE" {
			if _, err = s.store.Mailbox(name); err != nil {
				break
			}
		}
		err = s.store.Subscribe(name, cmd == "SUBSCRIBE")
	}
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	s.ok(tag, "%s completed", cmd)
	return nil
}

func (s *session) cmdRename(tag string) error {
	a := s.args()
	from := a.mailbox()
	to := a.mailbox()
	if err := a.end(); err != nil {
		return err
	}
	if !validMUTF7(to) {
		s.no(tag, "[CANNOT] Mailbox names are modified UTF-7")
		return nil
	}
	if err := s.store.Rename(from, to); err != nil {
		s.storeError(tag, err)
		return nil
	}
	s.ok(tag, "RENAME completed")
	return nil
}

func (s *session) cmdList(tag, cmd string) error {
	a := s.args()
	ref := a.astring()
	pattern := readArg(a, s.listPattern)
	if err := a.end(); err != nil {
		return err
	}
	if pattern == "" && cmd == "LIST" {
		s.untagged(`LIST (\Noselect) "." ""`)
		s.ok(tag, "LIST completed")
		return nil
	}
	all, err := s.store.List()
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	subs := map[string]bool{}
	if list, err := s.store.Subscriptions(); err == nil {
		for _, n := range list {
			subs[n] = true
		}
	}
	exists := map[string]bool{}
	for _, n := range all {
		exists[n] = true
	}
	full := s.wireToName(ref + pattern)
	for _, n := range all {
		if !matchPattern(full, n) {
			continue
		}
		if cmd == "LSUB" && !subs[n] {
			continue
		}
		attrs := `\HasNoChildren`
		for _, m := range all {
			if strings.HasPrefix(m, n+".") {
				attrs = `\HasChildren`
				break
			}
		}
		b := []byte("* " + cmd + " (" + attrs + `) "." `)
		b = s.appendName(b, n)
		s.w.Write(b)
		s.w.WriteString("\r\n")
	}
	s.ok(tag, "%s completed", cmd)
	return nil
}

// listPattern reads LIST's mailbox pattern: a string, or an atom that may
// hold the wildcards "*" and "%".
func (s *session) listPattern() (string, error) {
	if c, _ := s.r.peek(); c == '"' || c == '{' {
		return s.r.str()
	}
	return s.r.atom("*%]")
}

// matchPattern matches a LIST pattern: "*" matches anything, "%" anything
// but the hierarchy delimiter; INBOX matches without regard to case.
func matchPattern(pattern, name string) bool {
	if isInbox(name) && len(pattern) == 5 {
		return isInbox(pattern)
	}
	return match(pattern, name, 0)
}

func match(p, n string, depth int) bool {
	if depth > 20 {
		return false
	}
	for len(p) > 0 {
		switch p[0] {
		case '*', '%':
			rest := p[1:]
			for i := 0; i <= len(n); i++ {
				if match(rest, n[i:], depth+1) {
					return true
				}
				if i < len(n) && p[0] == '%' && n[i] == '.' {
					return false
				}
			}
			return false
		default:
			if len(n) == 0 || n[0] != p[0] {
				return false
			}
			p, n = p[1:], n[1:]
		}
	}
	return len(n) == 0
}

func (s *session) cmdStatus(tag string) error {
	a := s.args()
	name := a.mailbox()
	var items []string
	a.list(func() error {
		item, err := s.r.atom("")
		items = append(items, strings.ToUpper(item))
		return err
	})
	if err := a.end(); err != nil {
		return err
	}
	box, snap, err := s.open(name)
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	msgs := snap.Messages
	b := []byte("* STATUS ")
	b = s.appendName(b, name)
	b = append(b, " ("...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ' ')
		}
		var v int64
		switch it {
		case "MESSAGES":
			v = int64(len(msgs))
		case "RECENT":
			// The messages no session has claimed yet.
			r, err := box.Recent()
			if err != nil {
				s.storeError(tag, err)
				return nil
			}
			v = int64(len(msgs) - sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= r }))
		case "UIDNEXT":
			v = int64(snap.UIDNext)
		case "UIDVALIDITY":
			v = int64(snap.UIDValidity)
		case "UNSEEN", "DELETED":
			for _, m := range msgs {
				if it == "UNSEEN" && !m.HasFlag(flagSeen) || it == "DELETED" && m.HasFlag(flagDeleted) {
					v++
				}
			}
		case "SIZE":
			for _, m := range msgs {
				v += m.Size
			}
		default:
			return syntaxErr("unknown STATUS item %s", it)
		}
		b = fmt.Appendf(b, "%s %d", it, v)
	}
	b = append(b, ")\r\n"...)
	s.w.Write(b)
	s.ok(tag, "STATUS completed")
	return nil
}

// maxMultiAppend bounds the messages of one APPEND (MULTIAPPEND).
const maxMultiAppend = 1000

// cmdAppend streams each message literal straight into tmp/ of the
// mailbox: its size is checked before the "+", and only when the whole
// command has arrived do the messages enter the mailbox, all together
// (MULTIAPPEND, RFC 3502). A client that vanishes half-way, a message too
// big, or a missing mailbox leaves nothing stored.
func (s *session) cmdAppend(tag string) error {
	a := s.args()
	name := a.mailbox()
	if a.err != nil {
		return a.err
	}
	box, boxErr := s.store.Mailbox(name)
	var app Appender
	if boxErr == nil {
		app = box.Append()
		defer app.Discard() // whatever was not committed
	}
	var total int64 // bytes added so far: one APPEND stores at most 4 APPENDLIMITs
	for i := 0; ; i++ {
		if i > 0 && s.r.atEOL() {
			break
		}
		if i == maxMultiAppend {
			return syntaxErr("more than %d messages in one APPEND", maxMultiAppend)
		}
		var flags []string
		var date time.Time
		if a.next('(') {
			flags = a.flagList()
		}
		if a.next('"') {
			date = a.dateTime()
		}
		limit := min(s.srv.appendLimit(), 4*s.srv.appendLimit()-total)
		s.litLimit = limit
		if boxErr != nil || limit <= 0 {
			s.litLimit = -1 // refuse the literal: the mailbox is missing, or the batch is too big
		}
		n := readArg(a, s.r.literalSize)
		if a.err != nil {
			var tb *tooBig
			if boxErr != nil && errors.As(a.err, &tb) {
				s.no(tag, "[TRYCREATE] No such mailbox")
				return nil
			}
			return a.err
		}
		if boxErr != nil || n > limit {
			io.CopyN(io.Discard, s.r.br, n)
			s.r.skipLine()
			if boxErr != nil {
				s.no(tag, "[TRYCREATE] No such mailbox")
			} else {
				s.no(tag, "[TOOBIG] Message too big")
			}
			return nil
		}
		s.conn.SetReadDeadline(time.Now().Add(durationOr(s.srv.ReadTimeout, 30*time.Minute)))
		body := &countingReader{r: s.r.br, left: n}
		err := app.Add(body, flags, date)
		if body.n < n {
			// The store stopped reading: pass the rest by, if the client
			// is still there.
			if _, cerr := io.CopyN(io.Discard, s.r.br, n-body.n); cerr != nil {
				return io.ErrUnexpectedEOF // the client vanished: nothing was stored
			}
		}
		if err != nil {
			s.r.skipLine()
			s.storeError(tag, err)
			return nil
		}
		total += n
		s.r.line = 0
	}
	if err := a.end(); err != nil {
		return err
	}
	uids, err := app.Commit()
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	if s.box != nil && s.boxName == name {
		s.update(true)
	}
	s.ok(tag, "[APPENDUID %d %s] APPEND completed", box.UIDValidity(), SeqSetOf(uids...))
	return nil
}

// dateTime reads APPEND's internal date, a quoted date-time.
func (s *session) dateTime() (time.Time, error) {
	ds, err := s.r.quoted()
	if err != nil {
		return time.Time{}, err
	}
	date, err := time.Parse(dateTimeLayout, ds)
	if err != nil {
		return time.Time{}, syntaxErr("bad date-time %q", ds)
	}
	return date, nil
}

// countingReader reads exactly left bytes (a literal), counting them; the
// connection's end before that is io.ErrUnexpectedEOF, so that a client
// vanishing mid-APPEND never looks like a short message.
type countingReader struct {
	r    io.Reader
	left int64
	n    int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.left -= int64(n)
	if err == io.EOF && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// dateTimeLayout is IMAP's date-time: "25-Nov-2026 10:00:00 +0000".
const dateTimeLayout = "_2-Jan-2006 15:04:05 -0700"

// update brings the session's view up to date with the mailbox and tells
// the client: new messages (EXISTS), changed flags (FETCH) and, when
// expunges may be sent, removed messages (EXPUNGE). During FETCH, STORE
// and SEARCH (not their UID forms) the protocol forbids EXPUNGE responses,
// so removed messages stay in the view until a later command.
func (s *session) update(expunges bool) {
	if s.box == nil {
		return
	}
	msgs, err := s.messages()
	if err != nil {
		s.srv.logf("imap: %s: %v", s.user, err)
		return
	}
	if sameSlice(msgs, s.seen) && !expunges {
		return
	}
	if sameSlice(msgs, s.seen) && len(msgs) == s.viewLen() {
		return
	}
	s.seen = msgs
	byUID := func(uid uint32) int {
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= uid })
		if i < len(msgs) && msgs[i].UID == uid {
			return i
		}
		return -1
	}
	if expunges {
		kept := s.v()[:0]
		seq := 0
		for _, v := range s.v() {
			seq++
			if byUID(v.uid) < 0 {
				s.untagged("%d EXPUNGE", seq)
				seq--
				continue
			}
			kept = append(kept, v)
		}
		s.view = kept
	}
	for i := range s.v() {
		j := byUID(s.v()[i].uid)
		if j < 0 || equalFlags(msgs[j].Flags, s.v()[i].flags) {
			continue
		}
		s.v()[i].flags = msgs[j].Flags
		s.untagged("%d FETCH (FLAGS %s)", i+1, s.flagList(msgs[j].UID, msgs[j].Flags))
	}
	var last uint32
	if len(s.v()) > 0 {
		last = s.v()[len(s.v())-1].uid
	}
	start := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID > last })
	if start < len(msgs) {
		for _, m := range msgs[start:] {
			s.view = append(s.v(), viewMsg{uid: m.UID, flags: m.Flags})
		}
		s.untagged("%d EXISTS", len(s.v()))
		if !s.rev2 {
			s.claimRecent()
			s.untagged("%d RECENT", s.countRecent(msgs))
		}
	}
}

// messages returns the selected mailbox's messages as they are now.
func (s *session) messages() ([]Message, error) {
	snap, err := s.box.Snapshot()
	return snap.Messages, err
}

// v returns the session's view, building it from the snapshot SELECT took
// if no command has needed it yet.
func (s *session) v() []viewMsg {
	if s.view == nil && s.pending != nil {
		s.view = make([]viewMsg, len(s.pending))
		for i := range s.pending {
			s.view[i] = viewMsg{uid: s.pending[i].UID, flags: s.pending[i].Flags}
		}
		s.pending = nil
	}
	return s.view
}

func (s *session) viewLen() int {
	if s.view == nil {
		return len(s.pending)
	}
	return len(s.view)
}

func sameSlice(a, b []Message) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func equalFlags(a, b []string) bool {
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

// flagList writes a message's flags as the session sees them: the stored
// ones, then \Recent if this session is the one to see it so (as Dovecot
// orders them).
func (s *session) flagList(uid uint32, flags []string) string {
	l := "(" + strings.Join(flags, " ")
	if s.isRecent(uid) {
		if len(flags) > 0 {
			l += " "
		}
		l += `\Recent`
	}
	return l + ")"
}

// isRecent reports whether the message is \Recent in this session
// (RFC 3501 §2.3.2); never after ENABLE IMAP4rev2, which dropped the flag.
func (s *session) isRecent(uid uint32) bool {
	if s.rev2 {
		return false
	}
	for _, r := range s.recent {
		if uid >= r[0] && uid < r[1] {
			return true
		}
	}
	return false
}

// claimRecent takes the messages no session has seen as \Recent yet: a
// read-write session claims them for itself; a read-only one (EXAMINE)
// shows them as recent without taking them from the next SELECT.
func (s *session) claimRecent() {
	if s.box == nil {
		return
	}
	if s.readOnly {
		if len(s.recent) == 0 {
			r, err := s.box.Recent()
			if err != nil {
				s.srv.logf("imap: %s: %v", s.user, err)
				return
			}
			s.recent = append(s.recent, [2]uint32{r, 1<<32 - 1})
		}
		return
	}
	from, to, err := s.box.ClaimRecent()
	if err != nil {
		s.srv.logf("imap: %s: %v", s.user, err)
		return
	}
	if from >= to {
		return
	}
	if n := len(s.recent); n > 0 && s.recent[n-1][1] == from {
		s.recent[n-1][1] = to
	} else {
		s.recent = append(s.recent, [2]uint32{from, to})
	}
}

// countRecent counts the messages of msgs (sorted by UID) that are
// \Recent in this session.
func (s *session) countRecent(msgs []Message) int {
	if s.rev2 {
		return 0
	}
	n := 0
	for _, r := range s.recent {
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= r[0] })
		j := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= r[1] })
		n += j - i
	}
	return n
}

// expunge removes the messages marked \Deleted (only those in uids, if
// given) and reports them if tell is set.
func (s *session) expunge(uids SeqSet, tell bool) {
	msgs, err := s.messages()
	if err != nil {
		s.srv.logf("imap: %s: %v", s.user, err)
		return
	}
	var gone []uint32
	ranges := uids.Ranges(maxUID(msgs))
	for _, m := range msgs {
		if m.HasFlag(flagDeleted) && (uids == nil || InRanges(ranges, m.UID)) {
			gone = append(gone, m.UID)
		}
	}
	if len(gone) > 0 {
		if err := s.box.Expunge(gone); err != nil {
			s.srv.logf("imap: %s: %v", s.user, err)
		}
	}
	if tell {
		s.update(true)
	}
}

func maxUID(msgs []Message) uint32 {
	if len(msgs) == 0 {
		return 0
	}
	return msgs[len(msgs)-1].UID
}

func (s *session) cmdUIDExpunge(tag string) error {
	a := s.args()
	set := a.seqSet()
	if err := a.end(); err != nil {
		return err
	}
	if s.readOnly {
		s.no(tag, "[READ-ONLY] Mailbox is read-only")
		return nil
	}
	s.expunge(set, true)
	s.ok(tag, "UID EXPUNGE completed")
	return nil
}

func (s *session) seqSet() (SeqSet, error) {
	a, err := s.r.atom("*")
	if err != nil {
		return nil, err
	}
	set, err := ParseSeqSet(a)
	if err != nil {
		return nil, syntaxErr("invalid sequence set %q", a)
	}
	return set, nil
}

// resolve turns a set of sequence numbers (or UIDs) into positions in the
// view. A sequence number beyond the view is an error, as RFC 3501 says;
// UIDs that do not exist are skipped.
func (s *session) resolve(set SeqSet, uid bool) ([]int, error) {
	view := s.v()
	var out []int
	if uid {
		var max uint32
		if len(view) > 0 {
			max = view[len(view)-1].uid
		}
		for _, r := range set.Ranges(max) {
			// The view is sorted by UID: find where the range starts.
			i := sort.Search(len(view), func(i int) bool { return view[i].uid >= r.Start })
			for ; i < len(view) && view[i].uid <= r.Stop; i++ {
				out = append(out, i)
			}
		}
		return out, nil
	}
	n := uint32(len(view))
	for _, r := range set {
		if n == 0 && (r.Start == 0 || r.Stop == 0) {
			continue // "*" in an empty mailbox matches nothing
		}
		a, b := r.Start, r.Stop
		if a == 0 {
			a = n
		}
		if b == 0 {
			b = n
		}
		if a > b {
			a, b = b, a
		}
		if a == 0 || b > n {
			return nil, syntaxErr("no such message (sequence number beyond %d)", n)
		}
	}
	for _, r := range set.Ranges(n) {
		for i := r.Start; i >= 1 && i <= r.Stop && i <= n; i++ {
			out = append(out, int(i-1))
			if i == r.Stop {
				break
			}
		}
	}
	return out, nil
}

func (s *session) cmdStore(tag string, uid bool) error {
	a := s.args()
	set := a.seqSet()
	item := strings.ToUpper(a.atom(""))
	flags := readArg(a, s.storeFlags)
	if err := a.end(); err != nil {
		return err
	}
	silent := strings.HasSuffix(item, ".SILENT")
	var op FlagOp
	switch strings.TrimSuffix(item, ".SILENT") {
	case "FLAGS":
		op = FlagsReplace
	case "+FLAGS":
		op = FlagsAdd
	case "-FLAGS":
		op = FlagsRemove
	default:
		return syntaxErr("unknown STORE item %s", item)
	}
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) && !isSystemFlag(f) {
			s.bad(tag, "Unknown system flag %s", f)
			return nil
		}
	}
	if s.readOnly {
		s.no(tag, "[READ-ONLY] Mailbox is read-only")
		return nil
	}
	pos, err := s.resolve(set, uid)
	if err != nil {
		return err
	}
	uids := make([]uint32, len(pos))
	for i, p := range pos {
		uids[i] = s.v()[p].uid
	}
	changed, err := s.box.SetFlags(uids, op, flags)
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	byUID := map[uint32][]string{}
	for _, m := range changed {
		byUID[m.UID] = m.Flags
	}
	for _, p := range pos {
		f, ok := byUID[s.v()[p].uid]
		if !ok {
			continue
		}
		s.v()[p].flags = f
		if silent {
			continue
		}
		if uid {
			s.untagged("%d FETCH (UID %d FLAGS %s)", p+1, s.v()[p].uid, s.flagList(s.v()[p].uid, f))
		} else {
			s.untagged("%d FETCH (FLAGS %s)", p+1, s.flagList(s.v()[p].uid, f))
		}
	}
	s.update(uid)
	s.ok(tag, "STORE completed")
	return nil
}

// storeFlags reads the flags of STORE: a list, or flags separated by
// spaces up to the end of the line.
func (s *session) storeFlags() ([]string, error) {
	if c, _ := s.r.peek(); c == '(' {
		return s.r.flagList()
	}
	var flags []string
	for {
		f, err := s.r.flag()
		if err != nil {
			return nil, err
		}
		flags = append(flags, f)
		if s.r.atEOL() {
			return flags, nil
		}
		if err := s.r.sp(); err != nil {
			return nil, err
		}
	}
}

func isSystemFlag(f string) bool { return systemFlag(f) != "" }

// systemFlag returns f spelled as RFC 3501 spells the system flag, or ""
// if it is none of those a mailbox keeps.
func systemFlag(f string) string {
	for _, sf := range []string{flagSeen, flagAnswered, flagFlagged, flagDeleted, flagDraft} {
		if strings.EqualFold(f, sf) {
			return sf
		}
	}
	return ""
}

func (s *session) cmdCopy(tag string, move, uid bool) error {
	a := s.args()
	set := a.seqSet()
	name := a.mailbox()
	if err := a.end(); err != nil {
		return err
	}
	pos, err := s.resolve(set, uid)
	if err != nil {
		return err
	}
	if move && s.readOnly {
		s.no(tag, "[READ-ONLY] Mailbox is read-only")
		return nil
	}
	dst, err := s.store.Mailbox(name)
	if err != nil {
		s.no(tag, "[TRYCREATE] No such mailbox")
		return nil
	}
	uids := make([]uint32, len(pos))
	for i, p := range pos {
		uids[i] = s.v()[p].uid
	}
	src, dstUIDs, err := s.box.CopyTo(uids, dst)
	if err != nil {
		s.storeError(tag, err)
		return nil
	}
	code := ""
	if len(src) > 0 {
		code = fmt.Sprintf("[COPYUID %d %s %s] ", dst.UIDValidity(), SeqSetOf(src...), SeqSetOf(dstUIDs...))
	}
	if !move {
		s.ok(tag, "%sCOPY completed", code)
		return nil
	}
	s.untagged("OK %sMoved", code)
	if err := s.box.Expunge(src); err != nil {
		s.storeError(tag, err)
		return nil
	}
	s.update(true)
	s.ok(tag, "MOVE completed")
	return nil
}

// cmdIdle waits for changes to the selected mailbox and reports them until
// the client sends DONE (RFC 2177). Changes made in this process arrive at
// once; others are found by polling.
func (s *session) cmdIdle(tag string) error {
	// Watch before saying "idling": a client may take the continuation
	// as its cue to deliver, and that change must not go unseen. What
	// changed since the last command is reported with the continuation.
	var watch <-chan struct{}
	if s.box != nil {
		ch, stop := s.box.Watch()
		defer stop()
		watch = ch
	}
	s.w.WriteString("+ idling\r\n")
	s.update(true)
	if err := s.flush(); err != nil {
		return err
	}
	// The reader goroutine waits for DONE; it ends when the line comes or
	// the connection fails (the deadline below guarantees one of them).
	s.conn.SetReadDeadline(time.Now().Add(durationOr(s.srv.IdleTimeout, 29*time.Minute)))
	done := make(chan error, 1)
	go func() {
		s.r.reset()
		word, err := s.r.atom("")
		if err == nil {
			err = s.r.crlf()
		}
		if err == nil && !strings.EqualFold(word, "DONE") {
			err = syntaxErr("expected DONE")
		}
		done <- err
	}()
	if s.setWaiting(true) {
		s.conn.SetReadDeadline(time.Now())
	}
	defer s.setWaiting(false)
	tick := time.NewTicker(durationOr(s.srv.PollInterval, 500*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				var se *SyntaxError
				if errors.As(err, &se) {
					s.bad(tag, "%s", se.What)
					return nil
				}
				closing := s.srv.life.Closing()
				var ne net.Error
				switch {
				case closing:
					s.untagged("BYE %s shutting down", s.srv.hostname())
					s.flush()
				case errors.As(err, &ne) && ne.Timeout():
					s.untagged("BYE IDLE for too long")
					s.flush()
				}
				return err
			}
			s.update(true)
			s.ok(tag, "IDLE terminated")
			return nil
		case <-watch:
			s.update(true)
		case <-tick.C:
			s.update(true)
		}
		if err := s.flush(); err != nil {
			s.conn.Close()
			<-done
			return err
		}
	}
}
