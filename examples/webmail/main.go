// Command webmail is the lecture's web-based e-mail: the user agent is a
// web browser, which speaks HTTP to a web mail server; that server speaks
// IMAP to the user's mail server to read the mailbox, and SMTP to send.
//
//	browser ──HTTP──► web mail server ──IMAP──► mailbox (mail server)
//	                                  ──SMTP──► mail server ──► recipient's mail server
//
// The browser never sees a mail protocol. It shows HTML pages: a login
// form (the user's mail password, which the web mail server keeps for the
// session and uses to log in over IMAP and SMTP AUTH), the INBOX list,
// one message (its text/plain part, attachments by name), and a form to
// compose. Each page opens its own IMAP connection and closes it.
//
// With no flags it runs a self-contained demo: a mail server for
// hamburger.edu in the same process (SMTP and IMAP on loopback, Maildirs
// in a temporary directory) with two users, bob and alice, each sent a
// welcome message; it prints their passwords and the URL to open.
//
//	go run ./examples/webmail
//
// Against a mail server of its own, such as examples/mail:
//
//	go run ./examples/mail -maildir /tmp/mail -users users.txt
//	go run ./examples/webmail -addr 127.0.0.1:8025 -imap 127.0.0.1:1143 -smtp 127.0.0.1:2525 -domain hamburger.edu
//
// Password guessing is slowed down: after five failed logins from one
// address in five minutes, that address's logins get 429 Too Many Requests
// until the oldest failure is five minutes old.
//
// The front end speaks plain HTTP and plain IMAP and SMTP, which is fine on
// loopback only: passwords travel in the clear.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"appnet.dev/sockets/web"
)

// config is what the flags say.
type config struct {
	Addr     string // the web server's listen address
	IMAPAddr string // the mail server's, or "" for the demo
	SMTPAddr string
	Domain   string
	// Maildir is the demo's mail directory (a temporary one if empty).
	Maildir string
	// Out receives what the user should know at start (URL, passwords).
	Out io.Writer
	// Ready, if set, is called with the web server's address once it
	// listens (tests).
	Ready func(web net.Addr)
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8025", "HTTP listen `address`")
	flag.StringVar(&cfg.IMAPAddr, "imap", "", "IMAP server `address` (with -smtp; default: run the demo mail server)")
	flag.StringVar(&cfg.SMTPAddr, "smtp", "", "SMTP submission server `address` (with -imap)")
	flag.StringVar(&cfg.Domain, "domain", "hamburger.edu", "the users' mail `domain`")
	flag.Parse()
	if flag.NArg() > 0 || (cfg.IMAPAddr == "") != (cfg.SMTPAddr == "") {
		flag.Usage()
		os.Exit(2)
	}
	cfg.Out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Fatal(err)
	}
}

// run serves the web front end until ctx is done, with the demo mail
// server if cfg names no IMAP server.
func run(ctx context.Context, cfg config) error {
	errorLog := log.New(os.Stderr, "webmail: ", log.LstdFlags)
	if cfg.IMAPAddr == "" {
		if cfg.Maildir == "" {
			dir, err := os.MkdirTemp("", "webmail-demo-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			cfg.Maildir = dir
		}
		passwords := demoPasswords()
		demo, err := startDemoMail(cfg.Domain, cfg.Maildir, passwords, errorLog)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			demo.stop(sctx)
		}()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		users := slices.Sorted(maps.Keys(passwords))
		if err := demo.welcome(wctx, cfg.Domain, users); err != nil {
			return fmt.Errorf("demo: welcome message: %w", err)
		}
		cfg.IMAPAddr, cfg.SMTPAddr = demo.IMAPAddr, demo.SMTPAddr
		fmt.Fprintf(cfg.Out, "demo mail server for %s: SMTP on %s, IMAP on %s, Maildirs in %s\n", cfg.Domain, demo.SMTPAddr, demo.IMAPAddr, cfg.Maildir)
		for _, u := range users {
			fmt.Fprintf(cfg.Out, "  user %-6s password %s\n", u, passwords[u])
		}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	fe := newFrontend(cfg.IMAPAddr, cfg.SMTPAddr, cfg.Domain, errorLog)
	// Each form reads its body through its own limit (http.MaxBytesReader),
	// so that a form a little too big gets a 413 page; the server's bound
	// only has to be above the largest of them.
	srv := &web.Server{Handler: fe.handler(), ErrorLog: errorLog, MaxBodyBytes: 2 * maxComposeForm}
	fmt.Fprintf(cfg.Out, "web mail on http://%s/ (IMAP %s, SMTP %s)\n", ln.Addr(), cfg.IMAPAddr, cfg.SMTPAddr)
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return err // Serve failed before any Shutdown
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if err := <-served; !errors.Is(err, web.ErrServerClosed) {
		return err
	}
	return nil
}
