// Command send is a user agent that sends one message over SMTP and
// prints the dialogue as the slides do.
//
//	go run ./examples/smtp/send -server 127.0.0.1:2525 -from alice@crepes.fr -to bob@hamburger.edu \
//	    -subject "Searching for the meaning of life" -body "Do you like ketchup?"
//
// Without -body it reads the message (header and body) from standard
// input. -helo speaks plain HELO, exactly the slide's sample interaction;
// -starttls and -user/-password submit with TLS and AUTH.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"appnet.dev/smtp"
	"appnet.dev/smtp/message"
)

func main() {
	server := flag.String("server", "127.0.0.1:2525", "mail server `host:port`")
	from := flag.String("from", "alice@crepes.fr", "envelope sender (MAIL FROM)")
	to := flag.String("to", "bob@hamburger.edu", "comma-separated recipients (RCPT TO)")
	subject := flag.String("subject", "", "compose a message with this subject")
	body := flag.String("body", "", "compose a message with this body (else read stdin)")
	name := flag.String("name", "crepes.fr", "the name to introduce ourselves with")
	helo := flag.Bool("helo", false, "say HELO, not EHLO, as the slide does")
	starttls := flag.Bool("starttls", false, "use STARTTLS (the certificate is not verified)")
	user := flag.String("user", "", "AUTH user")
	password := flag.String("password", "", "AUTH password")
	quiet := flag.Bool("q", false, "do not print the dialogue")
	flag.Parse()

	if err := run(*server, *from, *to, *subject, *body, *name, *helo, *starttls, *user, *password, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "send:", err)
		os.Exit(1)
	}
}

func run(server, from, to, subject, body, name string, helo, starttls bool, user, password string, quiet bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sender, err := smtp.ParsePath(from, true)
	if err != nil {
		return err
	}
	var rcpts []smtp.Path
	for _, t := range strings.Split(to, ",") {
		p, err := smtp.ParsePath(strings.TrimSpace(t), true)
		if err != nil {
			return err
		}
		rcpts = append(rcpts, p)
	}
	var msg []byte
	if body != "" || subject != "" {
		m := &message.Message{Body: []byte(body + "\n")}
		m.Header.Add("From", from)
		m.Header.Add("To", to)
		m.Header.Add("Subject", message.EncodeWord(subject))
		m.Header.Add("Date", message.FormatDate(time.Now()))
		m.Header.Add("Message-ID", message.NewMessageID(time.Now(), sender.Domain))
		msg = m.Bytes()
	} else {
		msg, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<20))
		if err != nil {
			return err
		}
	}
	c, err := smtp.Dial(ctx, server)
	if err != nil {
		return err
	}
	defer c.Close()
	c.LocalName = name
	c.UseHELO = helo
	if !quiet {
		c.Trace = os.Stdout
	}
	if starttls {
		if err := c.StartTLS(ctx, &tls.Config{InsecureSkipVerify: true}); err != nil {
			return err
		}
	}
	if user != "" {
		if err := c.Auth(ctx, user, password); err != nil {
			return err
		}
	}
	res, err := c.Send(ctx, sender, rcpts, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	for i, r := range res.Recipients {
		if !res.Accepted(i) {
			fmt.Fprintf(os.Stderr, "send: %s refused: %v\n", rcpts[i], r)
		}
	}
	return c.Quit(ctx)
}
