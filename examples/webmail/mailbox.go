package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"appnet.dev/imap"
	"appnet.dev/smtp/message"
)

// errLogin is returned when the IMAP server refuses the session's user
// name and password.
var errLogin = errors.New("webmail: the mail server refused the password")

// errNoMessage is returned for a UID that INBOX does not hold.
var errNoMessage = errors.New("webmail: no such message")

// inInbox is one IMAP session, as each page has: it connects to the
// server at addr, logs in as user, opens INBOX, runs fn, and logs out.
// INBOX is opened read-only (EXAMINE) for the list and read-write
// (SELECT) for reading, so that fetching a message marks it \Seen.
func inInbox(ctx context.Context, addr, user, password string, readOnly bool, fn func(*imap.Client, *imap.MailboxStatus) error) error {
	c, err := imap.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(ctx, user, password); err != nil {
		if st, ok := errors.AsType[*imap.StatusResponse](err); ok && st.Type == "NO" {
			return errLogin
		}
		return err
	}
	st, err := c.Select(ctx, "INBOX", readOnly)
	if err != nil {
		return err
	}
	if err := fn(c, st); err != nil {
		return err
	}
	c.Logout(ctx) // the page has what it came for
	return nil
}

// A summary is one line of the message list.
type summary struct {
	UID                       uint32
	From, Subject, Date, Size string
	Seen                      bool
}

// listInbox fetches the envelopes of the newest max messages of the
// selected mailbox, which holds n, newest first.
func listInbox(ctx context.Context, c *imap.Client, n uint32, max int) ([]summary, error) {
	if n == 0 {
		return nil, nil // "1:*" of an empty mailbox is an error to some servers
	}
	first := uint32(1)
	if n > uint32(max) {
		first = n - uint32(max) + 1
	}
	var list []summary
	opt := imap.FetchOptions{Items: []string{"UID", "FLAGS", "RFC822.SIZE", "ENVELOPE"}}
	err := c.Fetch(ctx, imap.SeqSet{{Start: first, Stop: n}}, opt, func(m *imap.FetchMessage) error {
		if m.Envelope == nil || m.UID == 0 {
			return nil // a FETCH the server sent of its own accord (a flag change)
		}
		subject, _ := message.DecodeWords(m.Envelope.Subject)
		if strings.TrimSpace(subject) == "" {
			subject = "(no subject)"
		}
		list = append(list, summary{
			UID:     m.UID,
			From:    sender(m.Envelope.From),
			Subject: subject,
			Date:    formatDate(m.Envelope.Date),
			Size:    formatSize(m.Size),
			Seen:    slices.Contains(m.Flags, `\Seen`),
		})
		return nil
	})
	slices.Reverse(list)
	return list, err
}

// sender is how the list names who a message is from: the display name
// (RFC 2047 decoded), else the address.
func sender(from []imap.Address) string {
	if len(from) == 0 {
		return "(unknown sender)"
	}
	if name, _ := message.DecodeWords(from[0].Name); strings.TrimSpace(name) != "" {
		return name
	}
	return from[0].Mailbox + "@" + from[0].Host
}

// A letter is one message as the reading page shows it: the main header
// fields decoded, the text, and the other parts by name only.
type letter struct {
	UID                         uint32
	From, To, Cc, Date, Subject string
	Text                        string
	Note                        string // why the text is missing or cut short
	Attachments                 []attachment
	hasText                     bool
}

// An attachment is a part the page does not show: its name, media type
// and decoded size.
type attachment struct {
	Name, Type, Size string
}

// fetchMessage fetches the whole message with uid from the selected
// mailbox, at most max bytes of it, and reads it into a letter.
func fetchMessage(ctx context.Context, c *imap.Client, uid uint32, max int64) (*letter, error) {
	var raw []byte
	found, truncated := false, false
	opt := imap.FetchOptions{
		UID:   true,
		Items: []string{"UID", "BODY[]"},
		Body: func(m *imap.FetchMessage, section string, r io.Reader) error {
			b, err := io.ReadAll(io.LimitReader(r, max+1))
			if int64(len(b)) > max {
				b, truncated = b[:max], true
			}
			raw = b
			return err
		},
	}
	err := c.Fetch(ctx, imap.SeqSetOf(uid), opt, func(m *imap.FetchMessage) error {
		found = found || m.UID == uid
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found || raw == nil {
		return nil, errNoMessage
	}
	l := readLetter(raw)
	l.UID = uid
	if truncated {
		l.Note = fmt.Sprintf("This message is larger than %s; only its beginning was read.", formatSize(max))
	}
	return l, nil
}

// readLetter parses a message and picks what a reader sees: the header
// fields, the first text/plain part that is not an attachment (in a
// multipart/alternative, the plain-text alternative), and the remaining
// parts by name.
func readLetter(raw []byte) *letter {
	root, _ := message.Parse(raw) // in memory, it cannot fail to read
	h := &root.Header
	l := &letter{
		From:    decoded(h.Get("From")),
		To:      decoded(h.Get("To")),
		Cc:      decoded(h.Get("Cc")),
		Date:    formatDate(h.Get("Date")),
		Subject: decoded(h.Get("Subject")),
	}
	l.add(root, raw)
	if !l.hasText && l.Note == "" {
		l.Note = "This message has no plain-text part; its parts are listed below."
	}
	return l
}

func (l *letter) add(p *message.Part, raw []byte) {
	switch {
	case p.IsMultipart() && p.Subtype == "alternative" && len(p.Parts) > 0:
		i := slices.IndexFunc(p.Parts, func(q *message.Part) bool { return q.MediaType() == "text/plain" })
		if i < 0 {
			i = len(p.Parts) - 1 // the alternatives go from plainest to richest
		}
		l.add(p.Parts[i], raw)
	case p.IsMultipart():
		for _, q := range p.Parts {
			l.add(q, raw)
		}
	case !l.hasText && p.MediaType() == "text/plain" && fileName(p) == "":
		text, _ := p.Text(raw) // an unknown charset still leaves its ASCII readable
		l.Text, l.hasText = strings.ReplaceAll(text, "\r\n", "\n"), true
	default:
		b, _ := p.Decode(raw)
		name := fileName(p)
		if name == "" && p.Message != nil {
			name = "forwarded message: " + decoded(p.Message.Header.Get("Subject"))
		}
		if name == "" {
			name = "(unnamed)"
		}
		l.Attachments = append(l.Attachments, attachment{Name: name, Type: p.MediaType(), Size: formatSize(int64(len(b)))})
	}
}

// fileName is an attachment's name, from Content-Disposition's filename
// or the older Content-Type name (both decoded by the parser).
func fileName(p *message.Part) string {
	if n := p.DispositionParams["filename"]; n != "" {
		return n
	}
	if n := p.Params["name"]; n != "" {
		return n
	}
	if p.Disposition == "attachment" {
		return "(unnamed attachment)"
	}
	return ""
}

// decoded is a header value with its RFC 2047 encoded words decoded.
func decoded(v string) string {
	s, _ := message.DecodeWords(v) // a word it cannot decode stays as written
	return s
}

// formatDate shows an RFC 5322 date briefly, or as written if it does
// not parse.
func formatDate(v string) string {
	t, err := message.ParseDate(v)
	if err != nil {
		return v
	}
	return t.Format("2 Jan 2006 15:04")
}

// formatSize shows a size in bytes, KB or MB.
func formatSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}
