// Command server is an IMAP server over Maildirs: Bob's mail server as his
// user agent sees it. Each user's mail is the Maildir DIR/<user>/ (INBOX at
// its root, folders as Maildir++ subfolders), so Dovecot, mutt and the SMTP
// example server can share it.
//
//	go run ./examples/imap/server -addr 127.0.0.1:1143 -maildir /tmp/mail -users users.txt -trace
//
// The users file has one "name:password" line per user. Passwords travel
// in the clear unless -insecure-auth=false, which refuses LOGIN (no TLS is
// configured here): fine on loopback, for the course.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"time"

	"appnet.dev/imap"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1143", "listen `address`")
	dir := flag.String("maildir", "", "`directory` holding one Maildir per user")
	usersFile := flag.String("users", "", "`file` of name:password lines")
	trace := flag.Bool("trace", false, "print every dialogue (S:/C:)")
	insecure := flag.Bool("insecure-auth", true, "allow LOGIN without TLS")
	host := flag.String("hostname", "hamburger.edu", "name in the greeting")
	flag.Parse()
	if *dir == "" || *usersFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(*usersFile)
	if err != nil {
		log.Fatal(err)
	}
	passwords, err := imap.ParseUsers(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	srv := &imap.Server{
		Hostname:          *host,
		Backend:           &imap.Users{Dir: *dir, Passwords: passwords},
		AllowInsecureAuth: *insecure,
	}
	if *trace {
		srv.Trace = os.Stdout
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("IMAP server for %d users of %s on %s\n", len(passwords), *dir, l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); err != imap.ErrServerClosed {
		log.Fatal(err)
	}
}
