package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"time"

	"appnet.dev/imap"
	"appnet.dev/smtp"
	"appnet.dev/smtp/message"
)

// demoPasswords are the demo's users at hamburger.edu, the lecture's
// domain, and their mail passwords.
func demoPasswords() map[string]string {
	return map[string]string{"bob": "hunter2", "alice": "ketchup"}
}

// demoMail is the mail server the demo runs in process, on loopback:
// SMTP delivers into each user's Maildir under one directory, and IMAP
// serves the same Maildirs (appnet's smtp.Maildir and imap.Users agree
// on the layout, dir/<user>/{tmp,new,cur}).
type demoMail struct {
	SMTPAddr, IMAPAddr string

	smtp *smtp.Server
	imap *imap.Server
	wg   sync.WaitGroup
}

// startDemoMail runs SMTP and IMAP for domain's users (name → password)
// with their Maildirs under dir, on free loopback ports.
func startDemoMail(domain, dir string, passwords map[string]string, errorLog *log.Logger) (*demoMail, error) {
	users := &imap.Users{Dir: dir, Passwords: passwords}
	exists := make(map[string]bool, len(passwords))
	for name := range passwords {
		exists[name] = true
	}
	d := &demoMail{
		smtp: &smtp.Server{
			Domain: domain,
			// The users' Maildirs, and no queue: mail for another domain is
			// refused at RCPT (smtp.Maildir is not a Relayer).
			Backend:           &smtp.Maildir{Root: dir, Host: domain, Users: exists},
			AllowInsecureAuth: true, // loopback only
			Authenticate: func(ctx context.Context, user, password string) error {
				_, err := users.Login(ctx, user, password)
				return err
			},
			ErrorLog: errorLog,
		},
		imap: &imap.Server{Hostname: domain, Backend: users, AllowInsecureAuth: true, ErrorLog: errorLog},
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	il, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sl.Close()
		return nil, err
	}
	d.SMTPAddr, d.IMAPAddr = sl.Addr().String(), il.Addr().String()
	d.wg.Go(func() {
		if err := d.smtp.Serve(sl); !errors.Is(err, smtp.ErrServerClosed) {
			errorLog.Printf("demo smtp: %v", err)
		}
	})
	d.wg.Go(func() {
		if err := d.imap.Serve(il); !errors.Is(err, imap.ErrServerClosed) {
			errorLog.Printf("demo imap: %v", err)
		}
	})
	return d, nil
}

// stop shuts both servers down and waits for them.
func (d *demoMail) stop(ctx context.Context) {
	d.smtp.Shutdown(ctx)
	d.imap.Shutdown(ctx)
	d.wg.Wait()
}

// welcome mails every user a first message, over SMTP as any mail
// arrives: a subject in RFC 2047 encoded words, UTF-8 text in
// quoted-printable, and an attachment, which the reading page shows by
// name only.
func (d *demoMail) welcome(ctx context.Context, domain string, users []string) error {
	now := time.Now()
	from := message.Address{Name: "Postmaster", Local: "postmaster", Domain: domain}
	var to []message.Address
	var rcpts []smtp.Path
	for _, u := range users {
		to = append(to, message.Address{Local: u, Domain: domain})
		rcpts = append(rcpts, smtp.Path{Local: u, Domain: domain})
	}
	text := &message.Message{Body: []byte("Welcome to web mail!\n\n" +
		"This page came to your browser over HTTP. The web mail server read\n" +
		"the message from your mailbox over IMAP, and what you send from the\n" +
		"compose page leaves it over SMTP. Grüße from hamburger.edu.\n")}
	text.Header.Add("Content-Type", "text/plain; charset=utf-8")
	notes := &message.Message{Body: []byte("HTTP: browser <-> web mail server\nIMAP: web mail server <-> mailbox\nSMTP: web mail server -> mail server\n")}
	notes.Header.Add("Content-Type", "text/plain; charset=us-ascii")
	notes.Header.Add("Content-Disposition", `attachment; filename="protocols.txt"`)
	m := &message.Message{Parts: []*message.Message{text, notes}}
	m.Header.Add("Date", message.FormatDate(now))
	m.Header.Add("From", from.String())
	m.Header.Add("To", message.FormatAddressList(to))
	m.Header.Add("Subject", message.EncodeWord("Welcome to web mail – über HTTP"))
	m.Header.Add("Message-ID", message.NewMessageID(now, domain))
	m.Header.Add("MIME-Version", "1.0")

	c, err := smtp.Dial(ctx, d.SMTPAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Send(ctx, smtp.Path{Local: from.Local, Domain: from.Domain}, rcpts, bytes.NewReader(m.Bytes()))
	if err != nil {
		return err
	}
	for i := range rcpts {
		if !res.Accepted(i) {
			return fmt.Errorf("welcome to %s: %v", rcpts[i], res.Recipients[i])
		}
	}
	return c.Quit(ctx)
}
