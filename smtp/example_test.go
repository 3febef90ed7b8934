package smtp_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"appnet.dev/smtp"
)

// The lecture's sample SMTP interaction, typed by hand as with telnet:
// crepes.fr's client delivers Alice's message to hamburger.edu. The
// server's Trace prints the dialogue.
func Example() {
	backend := &smtp.MemoryBackend{}
	srv := &smtp.Server{Domain: "hamburger.edu", Backend: backend, Trace: os.Stdout}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)

	conn, _ := net.Dial("tcp", l.Addr().String())
	defer conn.Close()
	r := bufio.NewReader(conn)
	readReply := func() {
		for {
			line, _ := r.ReadString('\n')
			if len(line) < 4 || line[3] != '-' {
				return
			}
		}
	}
	readReply() // 220
	for _, cmd := range []string{
		"HELO crepes.fr",
		"MAIL FROM: <alice@crepes.fr>",
		"RCPT TO: <bob@hamburger.edu>",
		"DATA",
		"Do you like ketchup?\r\nHow about pickles?\r\n.",
		"QUIT",
	} {
		fmt.Fprintf(conn, "%s\r\n", cmd)
		readReply()
	}
	srv.Shutdown(context.Background()) // waits for the session to end
	msgs, _ := backend.Wait(context.Background(), 1)
	body := string(msgs[0].Data)
	fmt.Println("stored:", strings.Contains(body, "Received: from crepes.fr"), strings.HasSuffix(body, "How about pickles?\r\n"))
	// Output:
	// S: 220 hamburger.edu
	// C: HELO crepes.fr
	// S: 250 Hello crepes.fr, pleased to meet you
	// C: MAIL FROM: <alice@crepes.fr>
	// S: 250 alice@crepes.fr... Sender ok
	// C: RCPT TO: <bob@hamburger.edu>
	// S: 250 bob@hamburger.edu ... Recipient ok
	// C: DATA
	// S: 354 Enter mail, end with "." on a line by itself
	// C: Do you like ketchup?
	// C: How about pickles?
	// C: .
	// S: 250 Message accepted for delivery
	// C: QUIT
	// S: 221 hamburger.edu closing connection
	// stored: true true
}
