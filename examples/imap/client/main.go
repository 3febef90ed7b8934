// Command client is a minimal mail user agent over IMAP: Bob reading the
// mail his server keeps.
//
//	go run ./examples/imap/client -server 127.0.0.1:1143 -user bob -pass hunter2 folders
//	go run ./examples/imap/client ... list [-folder INBOX]
//	go run ./examples/imap/client ... read 1
//	go run ./examples/imap/client ... move 1 Archive
//	go run ./examples/imap/client ... delete 1
//	go run ./examples/imap/client ... watch
//
// Messages are named by their UID, which (unlike a sequence number) does
// not change when other messages are deleted. -trace prints the dialogue.
// Against a server run with -cert, give -cafile with that certificate (or
// the authority that signed it): the client says STARTTLS before LOGIN.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"time"

	"appnet.dev/imap"
	"appnet.dev/smtp/message"
)

func main() {
	server := flag.String("server", "127.0.0.1:1143", "IMAP server `host:port`")
	user := flag.String("user", "bob", "user name")
	pass := flag.String("pass", "", "password")
	folder := flag.String("folder", "INBOX", "mailbox to work in")
	trace := flag.Bool("trace", false, "print the dialogue (C:/S:)")
	caFile := flag.String("cafile", "", "PEM `file` of the certificates to trust: STARTTLS before LOGIN")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: client [flags] folders | list | read UID | move UID FOLDER | delete UID | watch")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var tc *tls.Config
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			log.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			log.Fatalf("client: no certificate in %s", *caFile)
		}
		tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if err := run(ctx, *server, *user, *pass, *folder, *trace, tc, args); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, server, user, pass, folder string, trace bool, tc *tls.Config, args []string) error {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := imap.Dial(dialCtx, server)
	if err != nil {
		return err
	}
	defer c.Close()
	if trace {
		c.Trace = os.Stdout
	}
	if tc != nil {
		if tc.ServerName == "" {
			host, _, _ := net.SplitHostPort(server)
			tc = tc.Clone()
			tc.ServerName = host
		}
		if err := c.StartTLS(dialCtx, tc); err != nil {
			return err
		}
	}
	if err := c.Login(dialCtx, user, pass); err != nil {
		return err
	}
	uidArg := func(i int) (imap.SeqSet, error) {
		if len(args) <= i {
			return nil, fmt.Errorf("%s needs a UID", args[0])
		}
		n, err := strconv.ParseUint(args[i], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad UID %q", args[i])
		}
		return imap.SeqSetOf(uint32(n)), nil
	}
	if args[0] != "folders" {
		if _, err := c.Select(dialCtx, folder, false); err != nil {
			return err
		}
	}
	switch args[0] {
	case "folders":
		boxes, err := c.List(dialCtx, "", "*")
		if err != nil {
			return err
		}
		for _, b := range boxes {
			name, err := imap.DecodeMailboxName(b.Name)
			if err != nil {
				name = b.Name
			}
			st, err := c.Status(dialCtx, b.Name)
			if err != nil {
				fmt.Printf("%-20s\n", name)
				continue
			}
			fmt.Printf("%-20s %4d messages, %d unseen\n", name, st.Messages, st.Unseen)
		}
	case "list":
		return c.Fetch(dialCtx, imap.SeqSet{{Start: 1, Stop: 0}}, imap.FetchOptions{Items: []string{"UID", "FLAGS", "ENVELOPE"}},
			func(m *imap.FetchMessage) error {
				if m.Envelope == nil {
					return nil
				}
				from := ""
				if len(m.Envelope.From) > 0 {
					a := m.Envelope.From[0]
					a.Name, _ = message.DecodeWords(a.Name)
					from = a.String()
				}
				subject, _ := message.DecodeWords(m.Envelope.Subject)
				seen := "N"
				for _, f := range m.Flags {
					if f == `\Seen` {
						seen = " "
					}
				}
				fmt.Printf("%s %4d  %-30.30s  %-40.40s  %s\n", seen, m.UID, from, subject, m.Envelope.Date)
				return nil
			})
	case "read":
		set, err := uidArg(1)
		if err != nil {
			return err
		}
		return c.Fetch(dialCtx, set, imap.FetchOptions{UID: true, Items: []string{"BODY[]"}}, func(m *imap.FetchMessage) error {
			os.Stdout.Write(m.Body["BODY[]"])
			return nil
		})
	case "move":
		set, err := uidArg(1)
		if err != nil {
			return err
		}
		if len(args) < 3 {
			return fmt.Errorf("move needs a folder")
		}
		if err := c.Create(dialCtx, args[2]); err != nil {
			var st *imap.StatusResponse
			if !errors.As(err, &st) || st.Code != "ALREADYEXISTS" {
				return err
			}
		}
		if err := c.Move(dialCtx, set, true, args[2]); err != nil {
			return err
		}
		fmt.Printf("moved %s to %s\n", args[1], args[2])
	case "delete":
		set, err := uidArg(1)
		if err != nil {
			return err
		}
		if _, err := c.Store(dialCtx, set, true, "+FLAGS.SILENT", []string{`\Deleted`}); err != nil {
			return err
		}
		if _, err := c.Expunge(dialCtx); err != nil {
			return err
		}
		fmt.Printf("deleted %s\n", args[1])
	case "watch":
		fmt.Printf("watching %s; ^C to stop\n", folder)
		for ctx.Err() == nil {
			idleCtx, cancel := context.WithTimeout(ctx, 25*time.Minute)
			err := c.Idle(idleCtx, func(u imap.Update) bool {
				fmt.Printf("%s %d\n", u.Kind, u.Num)
				return true
			})
			cancel()
			if err != nil {
				return err
			}
		}
	default:
		flag.Usage()
		os.Exit(2)
	}
	logout, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	return c.Logout(logout)
}
