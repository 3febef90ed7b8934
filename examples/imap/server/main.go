// Command server is an IMAP server over Maildirs: Bob's mail server as his
// user agent sees it. Each user's mail is the Maildir DIR/<user>/ (INBOX at
// its root, folders as Maildir++ subfolders), so Dovecot, mutt and the SMTP
// example server can share it.
//
//	go run ./examples/imap/server -addr 127.0.0.1:1143 -maildir /tmp/mail -users users.txt -trace
//
// The users file has one "name:password" line per user. Without a
// certificate, passwords travel in the clear (unless -insecure-auth=false,
// which then refuses LOGIN): fine on loopback, for the course. With
// -cert FILE -key FILE (PEM, as openssl writes them) the server offers
// STARTTLS and accepts LOGIN and AUTHENTICATE only after it:
//
//	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
//	    -subj /CN=hamburger.edu -addext subjectAltName=DNS:hamburger.edu,IP:127.0.0.1 \
//	    -keyout key.pem -out cert.pem
//	go run ./examples/imap/server -maildir /tmp/mail -users users.txt -cert cert.pem -key key.pem
//	openssl s_client -starttls imap -connect 127.0.0.1:1143
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"time"

	"appnet.dev/imap"
)

// config is what the flags say.
type config struct {
	Addr      string
	Maildir   string
	Passwords map[string]string
	Hostname  string
	// CertFile and KeyFile, if set, enable STARTTLS; LOGIN then needs it.
	CertFile, KeyFile string
	// InsecureAuth allows LOGIN without TLS when there is no certificate.
	InsecureAuth bool
	Trace        io.Writer
	// Ready, if set, receives the listener's address once it listens.
	Ready func(net.Addr)
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:1143", "listen `address`")
	flag.StringVar(&cfg.Maildir, "maildir", "", "`directory` holding one Maildir per user")
	usersFile := flag.String("users", "", "`file` of name:password lines")
	trace := flag.Bool("trace", false, "print every dialogue (S:/C:)")
	flag.BoolVar(&cfg.InsecureAuth, "insecure-auth", true, "allow LOGIN without TLS (ignored with -cert: LOGIN needs STARTTLS then)")
	flag.StringVar(&cfg.Hostname, "hostname", "hamburger.edu", "name in the greeting")
	flag.StringVar(&cfg.CertFile, "cert", "", "PEM certificate `file` (with -key): offer STARTTLS")
	flag.StringVar(&cfg.KeyFile, "key", "", "PEM private key `file` of -cert")
	flag.Parse()
	if cfg.Maildir == "" || *usersFile == "" || (cfg.CertFile == "") != (cfg.KeyFile == "") {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(*usersFile)
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
	cfg.Ready = func(a net.Addr) {
		tls := ""
		if cfg.CertFile != "" {
			tls = ", STARTTLS with " + cfg.CertFile
		}
		fmt.Printf("IMAP server for %d users of %s on %s%s\n", len(cfg.Passwords), cfg.Maildir, a, tls)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.Fatal(err)
	}
}

// run serves IMAP until ctx is done.
func run(ctx context.Context, cfg config) error {
	srv := &imap.Server{
		Hostname:          cfg.Hostname,
		Backend:           &imap.Users{Dir: cfg.Maildir, Passwords: cfg.Passwords},
		AllowInsecureAuth: cfg.InsecureAuth,
		Trace:             cfg.Trace,
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return fmt.Errorf("server: certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		srv.AllowInsecureAuth = false
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.Ready != nil {
		cfg.Ready(l.Addr())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	err = srv.Serve(l)
	cancel() // if Serve failed on its own, the goroutine shuts down the rest
	<-done
	if err == imap.ErrServerClosed {
		return nil
	}
	return err
}
