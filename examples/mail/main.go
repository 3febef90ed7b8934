// Command mail runs a whole mail server for one domain, the lecture's
// "mail server" box: SMTP in (port 25 in real life), the outgoing message
// queue, the users' mailboxes (Maildir) and IMAP for their user agents.
//
//	go run ./examples/mail -domain hamburger.edu -smtp 127.0.0.1:2525 -imap 127.0.0.1:1143 \
//	    -maildir /tmp/mail -users users.txt -trace
//
// Mail for a user of the domain (a line "bob:hunter2" in the users file)
// goes into /tmp/mail/bob/ and is there at once for IMAP sessions, IDLE
// ones included. A user who logs in over SMTP (AUTH, with the same
// password) may send to other domains: that mail goes into the queue
// (/tmp/mail/.queue), which delivers it to each domain's mail exchanger,
// found with DNS (-dns, default 127.0.0.1:53), retrying and bouncing as
// mail servers do. Mail for other domains from anyone else is refused:
// the server is not an open relay.
//
// Without a certificate, passwords travel in the clear: fine on loopback,
// for the course. With -cert FILE -key FILE (PEM) both servers offer
// STARTTLS, and SMTP AUTH and IMAP LOGIN are accepted only after it.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"appnet.dev/imap"
	"appnet.dev/smtp"
)

// config is what the flags say.
type config struct {
	Domain    string
	SMTPAddr  string
	IMAPAddr  string
	Maildir   string
	Passwords map[string]string
	Spool     string
	DNS       string
	RelayPort int
	Trace     io.Writer
	// CertFile and KeyFile, if set, enable STARTTLS on both servers, and
	// authentication then needs it.
	CertFile, KeyFile string
	// Resolver, if set, replaces DNS lookups (tests).
	Resolver smtp.Resolver
	// Ready, if set, receives the listeners' addresses once both listen.
	Ready func(smtpAddr, imapAddr net.Addr)
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Domain, "domain", "hamburger.edu", "the mail `domain` this server is for")
	flag.StringVar(&cfg.SMTPAddr, "smtp", "127.0.0.1:2525", "SMTP listen `address`")
	flag.StringVar(&cfg.IMAPAddr, "imap", "127.0.0.1:1143", "IMAP listen `address`")
	flag.StringVar(&cfg.Maildir, "maildir", "", "`directory` of the users' Maildirs (one per user)")
	users := flag.String("users", "", "`file` of name:password lines")
	flag.StringVar(&cfg.Spool, "spool", "", "queue `directory` (default MAILDIR/.queue)")
	flag.StringVar(&cfg.DNS, "dns", "127.0.0.1:53", "name server for MX lookups of outgoing mail")
	flag.IntVar(&cfg.RelayPort, "relay-port", 25, "SMTP port of other domains' mail exchangers")
	trace := flag.Bool("trace", false, "print every SMTP and IMAP dialogue")
	flag.StringVar(&cfg.CertFile, "cert", "", "PEM certificate `file` (with -key): STARTTLS, and AUTH/LOGIN only after it")
	flag.StringVar(&cfg.KeyFile, "key", "", "PEM private key `file` of -cert")
	flag.Parse()
	if cfg.Maildir == "" || *users == "" || (cfg.CertFile == "") != (cfg.KeyFile == "") {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(*users)
	if err != nil {
		log.Fatal(err)
	}
	cfg.Passwords, err = imap.ParseUsers(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	if *trace {
		cfg.Trace = os.Stdout
	}
	cfg.Ready = func(s, i net.Addr) {
		fmt.Printf("mail server for %s: SMTP on %v, IMAP on %v, %d users\n", cfg.Domain, s, i, len(cfg.Passwords))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Fatal(err)
	}
}

// mailboxes is the SMTP server's Backend: local recipients' mail goes into
// their INBOX (the same maildir.Store the IMAP server uses, so IDLE
// sessions hear of it at once); mail for other domains goes to the queue.
type mailboxes struct {
	domain string
	users  *imap.Users
	queue  *smtp.Queue
}

func (m *mailboxes) local(p smtp.Path) bool { return strings.EqualFold(p.Domain, m.domain) }

// Relays tells the server that mail for other domains has somewhere to go:
// the queue.
func (m *mailboxes) Relays(string) bool { return true }

// CheckRecipient refuses unknown local users during the dialogue.
func (m *mailboxes) CheckRecipient(ctx context.Context, rcpt smtp.Path) error {
	if !m.local(rcpt) {
		return nil // relaying: the server allows it only after AUTH
	}
	if _, ok := m.users.Passwords[strings.ToLower(rcpt.Local)]; !ok {
		return &smtp.Reply{Code: 550, Enhanced: "5.1.1", Text: []string{rcpt.String() + ": no such user here"}}
	}
	return nil
}

// Deliver stores the message in every local recipient's INBOX and queues
// it once for the others.
func (m *mailboxes) Deliver(ctx context.Context, env *smtp.Envelope, msg io.Reader) error {
	data, err := io.ReadAll(msg) // bounded by the server's SIZE limit
	if err != nil {
		return err
	}
	var remote []smtp.Path
	for _, rcpt := range env.To {
		if !m.local(rcpt) {
			remote = append(remote, rcpt)
			continue
		}
		store, err := m.users.Store(strings.ToLower(rcpt.Local))
		if err != nil {
			return err
		}
		inbox, err := store.Mailbox("INBOX")
		if err != nil {
			return err
		}
		if _, err := inbox.Deliver(bytes.NewReader(data)); err != nil {
			return err
		}
	}
	if len(remote) > 0 {
		if _, err := m.queue.Submit(ctx, env.From, remote, bytes.NewReader(data)); err != nil {
			return err
		}
	}
	return nil
}

// run serves SMTP and IMAP and runs the queue until ctx is done.
func run(ctx context.Context, cfg config) error {
	if cfg.Spool == "" {
		cfg.Spool = filepath.Join(cfg.Maildir, ".queue")
	}
	users := &imap.Users{Dir: cfg.Maildir, Passwords: cfg.Passwords}
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = &smtp.DNSResolver{Server: cfg.DNS}
	}
	errLog := log.New(os.Stderr, "mail: ", log.LstdFlags)
	queue := &smtp.Queue{Dir: cfg.Spool, Hostname: cfg.Domain, Resolver: resolver, Port: cfg.RelayPort, Trace: cfg.Trace, ErrorLog: errLog}
	smtpSrv := &smtp.Server{
		Domain:            cfg.Domain,
		Backend:           &mailboxes{domain: cfg.Domain, users: users, queue: queue},
		AllowInsecureAuth: true, // loopback demo, unless -cert
		Authenticate: func(ctx context.Context, user, pass string) error {
			if _, err := users.Login(ctx, user, pass); err != nil {
				return errors.New("bad credentials")
			}
			return nil
		},
		Trace:    cfg.Trace,
		ErrorLog: errLog,
	}
	imapSrv := &imap.Server{Hostname: cfg.Domain, Backend: users, AllowInsecureAuth: true, Trace: cfg.Trace, ErrorLog: errLog}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return fmt.Errorf("mail: certificate: %w", err)
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		smtpSrv.TLSConfig, smtpSrv.AllowInsecureAuth = tc, false
		imapSrv.TLSConfig, imapSrv.AllowInsecureAuth = tc, false
	}

	sl, err := net.Listen("tcp", cfg.SMTPAddr)
	if err != nil {
		return err
	}
	il, err := net.Listen("tcp", cfg.IMAPAddr)
	if err != nil {
		sl.Close()
		return err
	}
	if cfg.Ready != nil {
		cfg.Ready(sl.Addr(), il.Addr())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Add(3)
	go func() {
		defer wg.Done()
		if err := smtpSrv.Serve(sl); !errors.Is(err, smtp.ErrServerClosed) {
			errs <- fmt.Errorf("smtp: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := imapSrv.Serve(il); !errors.Is(err, imap.ErrServerClosed) {
			errs <- fmt.Errorf("imap: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := queue.Run(ctx); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("queue: %w", err)
		}
	}()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
	}
	cancel()
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	smtpSrv.Shutdown(shut)
	imapSrv.Shutdown(shut)
	wg.Wait()
	return first
}
