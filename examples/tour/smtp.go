package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"appnet.dev/dns"
	"appnet.dev/smtp"
	"appnet.dev/smtp/message"
)

// hamburgerZone is what the local DNS says about Bob's school: its mail
// goes to mail.hamburger.edu, which is this machine.
const hamburgerZone = `$ORIGIN hamburger.edu.
$TTL 3600
@	SOA	ns hostmaster 2026112501 3600 900 604800 300
@	NS	ns
@	MX	10 mail
ns	A	127.0.0.1
mail	A	127.0.0.1
`

// smtpChapter runs the lecture's scenario, Alice sends e-mail to Bob, in
// its six steps: her user agent submits to crepes.fr, whose queue looks
// up hamburger.edu's MX in a local DNS and delivers over SMTP to Bob's
// server, which puts the message in Bob's Maildir.
func smtpChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	// Bob's mail server, hamburger.edu, with his mailbox.
	bobDir := filepath.Join(dir, "hamburger.edu")
	bobSrv := &smtp.Server{Domain: "hamburger.edu", Backend: &smtp.Maildir{Root: bobDir, Host: "hamburger.edu"}}
	bobLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	stopBob := serveSMTP(bobSrv, bobLn)
	defer stopBob()

	// A local DNS with hamburger.edu's zone.
	zone, err := dns.ReadZone(dns.ZoneFile{Name: "hamburger.edu.zone", Origin: dns.MustParseName("hamburger.edu")}, strings.NewReader(hamburgerZone))
	if err != nil {
		return "", err
	}
	zones, err := dns.NewZones(zone)
	if err != nil {
		return "", err
	}
	pc, dnsLn, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		return "", err
	}
	dnsSrv := &dns.Server{Handler: zones, Workers: 1}
	dnsDone := make(chan error, 1)
	go func() { dnsDone <- dnsSrv.ServeBoth(pc, dnsLn) }()
	defer func() { dnsSrv.Close(); <-dnsDone }()

	// Alice's mail server, crepes.fr: a submission server whose backend is
	// the message queue.
	queue := &smtp.Queue{
		Dir:      filepath.Join(dir, "crepes.fr-queue"),
		Hostname: "crepes.fr",
		Resolver: &smtp.DNSResolver{Server: dnsLn.Addr().String()},
		Port:     bobLn.Addr().(*net.TCPAddr).Port,
		UseHELO:  true,
	}
	aliceSrv := &smtp.Server{Domain: "crepes.fr", Backend: queue, AllowInsecureAuth: true,
		Authenticate: func(ctx context.Context, user, pass string) error {
			if user == "alice" && pass == "crepes" {
				return nil
			}
			return fmt.Errorf("bad password")
		}}
	aliceLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	stopAlice := serveSMTP(aliceSrv, aliceLn)
	defer stopAlice()

	// 1) Alice composes.
	fmt.Fprintln(w, "1) Alice uses her user agent to compose a message \"to\" bob@hamburger.edu:")
	m := &message.Message{Body: []byte("Do you like ketchup?\nHow about pickles?\n")}
	m.Header.Add("From", "alice@crepes.fr")
	m.Header.Add("To", "bob@hamburger.edu")
	m.Header.Add("Subject", "Searching for the meaning of life")
	raw := m.Bytes()
	for _, line := range strings.Split(strings.TrimRight(string(raw), "\r\n"), "\r\n") {
		fmt.Fprintf(w, "   | %s\n", line)
	}

	// 2) Her user agent sends it to her mail server, into the queue.
	fmt.Fprintf(w, "\n2) Her user agent sends it to her mail server crepes.fr (%s), which puts it in its message queue.\n", aliceLn.Addr())
	ua, err := smtp.Dial(ctx, aliceLn.Addr().String())
	if err != nil {
		return "", err
	}
	defer ua.Close()
	ua.LocalName = "alice-laptop.crepes.fr"
	if err := ua.Auth(ctx, "alice", "crepes"); err != nil {
		return "", err
	}
	alice := smtp.Path{Local: "alice", Domain: "crepes.fr"}
	bob := smtp.Path{Local: "bob", Domain: "hamburger.edu"}
	if _, err := ua.Send(ctx, alice, []smtp.Path{bob}, strings.NewReader(string(raw))); err != nil {
		return "", err
	}
	ua.Quit(ctx)
	queued, err := queue.Messages()
	if err != nil || len(queued) != 1 {
		return "", fmt.Errorf("queue holds %d messages: %v", len(queued), err)
	}
	fmt.Fprintf(w, "   queued as %s for %s\n", queued[0].ID, queued[0].Recipients[0].Path)

	// 3) The queue looks up Bob's mail server and connects.
	mxs, err := queue.Resolver.LookupMX(ctx, "hamburger.edu")
	if err != nil {
		return "", err
	}
	hosts, _ := smtp.MailHosts("hamburger.edu", mxs)
	addrs, err := queue.Resolver.LookupHost(ctx, hosts[0])
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "\n3) The client side of SMTP asks the DNS (%s) where hamburger.edu's mail goes:\n", dnsLn.Addr())
	fmt.Fprintf(w, "   hamburger.edu MX %d %s -> A %v; it opens a TCP connection to port %d\n", mxs[0].Preference, hosts[0], addrs[0], queue.Port)

	// 4) and 5): the SMTP dialogue; Bob's server stores the message.
	fmt.Fprintln(w, "\n4) The SMTP client sends Alice's message over the TCP connection:")
	fmt.Fprintln(w)
	queue.Trace = w
	if _, err := queue.RunOnce(ctx); err != nil {
		return "", err
	}
	left, err := queue.Messages()
	if err != nil {
		return "", err
	}
	if len(left) != 0 {
		return "", fmt.Errorf("not delivered: %s", left[0].Recipients[0].LastReply)
	}
	files, _ := filepath.Glob(filepath.Join(bobDir, "bob", "new", "*"))
	if len(files) != 1 {
		return "", fmt.Errorf("bob's mailbox holds %d messages, want 1", len(files))
	}
	fmt.Fprintf(w, "\n5) Bob's mail server places the message in Bob's mailbox: %s\n", rel(dir, files[0]))

	// 6) Bob reads it (the imap chapter does this over IMAP).
	stored, err := os.ReadFile(files[0])
	if err != nil {
		return "", err
	}
	root, err := message.Parse(stored)
	if err != nil {
		return "", err
	}
	fmt.Fprintln(w, "\n6) Bob invokes his user agent to read the message (over IMAP in the next chapter):")
	for _, k := range []string{"Received", "From", "To", "Subject"} {
		for _, v := range root.Header.Values(k) {
			fmt.Fprintf(w, "   %s: %s\n", k, strings.Join(strings.Fields(v), " "))
		}
	}
	body := strings.TrimRight(string(root.BodyBytes(stored)), "\r\n")
	fmt.Fprintf(w, "\n   %s\n", strings.ReplaceAll(body, "\r\n", "\n   "))
	return fmt.Sprintf("alice@crepes.fr -> bob@hamburger.edu via MX %s: queued at crepes.fr, delivered in one attempt, stored in Bob's Maildir",
		hosts[0]), nil
}

// serveSMTP serves srv on ln until the returned func is called.
func serveSMTP(srv *smtp.Server, ln net.Listener) func() {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() {
		srv.Close()
		<-done
	}
}

func rel(dir, path string) string {
	if r, err := filepath.Rel(dir, path); err == nil {
		return r
	}
	return path
}
