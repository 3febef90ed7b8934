package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"appnet.dev/smtp"
	"appnet.dev/smtp/message"
)

// maxRecipients bounds the To: field of one message.
const maxRecipients = 20

// A draft is what the compose form holds.
type draft struct {
	To, Subject, Body string
}

// recipients parses the To: field ("alice@hamburger.edu, Bob
// <bob@hamburger.edu>") into addresses.
func (d draft) recipients() ([]message.Address, error) {
	if strings.TrimSpace(d.To) == "" {
		return nil, errors.New("no recipient")
	}
	list, err := message.ParseAddressList(d.To)
	if err != nil {
		return nil, fmt.Errorf("recipients: %v", err)
	}
	var to []message.Address
	for _, a := range list {
		if a.Local != "" { // not an empty group
			to = append(to, a)
		}
	}
	if len(to) == 0 || len(to) > maxRecipients {
		return nil, fmt.Errorf("give between 1 and %d recipients", maxRecipients)
	}
	return to, nil
}

// build writes the message the user composed, as a user agent does: the
// header fields RFC 5322 asks for (Date, From, Message-ID) and MIME's
// (MIME-Version, Content-Type), the subject as RFC 2047 encoded words if
// it is not ASCII, and the text in UTF-8, quoted-printable if it is not
// short lines of ASCII.
func (d draft) build(from message.Address, to []message.Address, now time.Time) []byte {
	body := strings.ReplaceAll(d.Body, "\r\n", "\n") // a form's text has CRLFs; the writer makes its own
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	m := &message.Message{Body: []byte(body)}
	m.Header.Add("Date", message.FormatDate(now))
	m.Header.Add("From", from.String())
	m.Header.Add("To", message.FormatAddressList(to))
	m.Header.Add("Subject", message.EncodeWord(oneLine(d.Subject)))
	m.Header.Add("Message-ID", message.NewMessageID(now, from.Domain))
	m.Header.Add("MIME-Version", "1.0")
	m.Header.Add("Content-Type", "text/plain; charset=utf-8")
	if message.ChooseEncoding(m.Body) != "7bit" {
		m.Header.Add("Content-Transfer-Encoding", "quoted-printable") // text stays readable
	}
	return m.Bytes()
}

// oneLine turns line breaks and other control characters into spaces, so
// a subject cannot smuggle header lines in.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
}

// submit hands msg to the mail server at addr for the recipients, as a
// user agent does on the submission port: AUTH PLAIN with the user's
// password, then MAIL, RCPT, DATA. It fails unless every recipient was
// accepted; the error then names those refused and why (the others have
// the message).
func submit(ctx context.Context, addr, user, password string, from smtp.Path, to []smtp.Path, msg []byte) error {
	c, err := smtp.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(ctx, user, password); err != nil {
		return err
	}
	res, err := c.Send(ctx, from, to, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	var refused []error
	for i, r := range res.Recipients {
		if !res.Accepted(i) {
			refused = append(refused, fmt.Errorf("%s: %w", to[i], r))
		}
	}
	c.Quit(ctx) // the message is accepted or not already
	return errors.Join(refused...)
}

// paths turns header addresses into envelope paths for RCPT TO.
func paths(list []message.Address) []smtp.Path {
	out := make([]smtp.Path, len(list))
	for i, a := range list {
		out[i] = smtp.Path{Local: a.Local, Domain: a.Domain}
	}
	return out
}
