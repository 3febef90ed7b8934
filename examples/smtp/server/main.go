// Command server is Bob's mail server: it receives mail for one domain
// over SMTP and puts each message in the recipient's Maildir, the mailbox
// format mutt, Dovecot and imap/maildir read.
//
//	go run ./examples/smtp/server -addr 127.0.0.1:2525 -domain hamburger.edu -maildir /tmp/mail -trace
//
// Mail for bob@hamburger.edu lands in /tmp/mail/bob/new/. Mail for other
// domains is refused (554 5.7.1): the server is not an open relay. Try it
// as the slides do, with telnet or nc:
//
//	nc -C 127.0.0.1 2525
//	HELO crepes.fr
//	MAIL FROM: <alice@crepes.fr>
//	…
//
// -tls offers STARTTLS with a self-signed certificate made at start-up;
// -user and -password enable AUTH (after STARTTLS). -discard throws
// accepted mail away, as Postfix's smtp-sink does, for load tests.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"appnet.dev/smtp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:2525", "listen `address`")
	domain := flag.String("domain", "hamburger.edu", "the mail `domain` this server receives for")
	maildir := flag.String("maildir", "", "deliver into Maildirs under `dir`/<user>/")
	discard := flag.Bool("discard", false, "accept and discard every message (load tests)")
	trace := flag.Bool("trace", false, "print every session's dialogue")
	useTLS := flag.Bool("tls", false, "offer STARTTLS with a self-signed certificate")
	user := flag.String("user", "", "AUTH user name (with -password)")
	password := flag.String("password", "", "AUTH password")
	maxSize := flag.Int64("size", 10<<20, "largest message in `bytes`")
	flag.Parse()

	srv := &smtp.Server{Addr: *addr, Domain: *domain, Greeting: "ESMTP appnet", MaxMessageBytes: *maxSize, ErrorLog: log.New(os.Stderr, "", log.LstdFlags)}
	switch {
	case *discard:
		srv.Backend = smtp.Discard{}
	case *maildir != "":
		srv.Backend = &smtp.Maildir{Root: *maildir, Host: *domain}
	default:
		fmt.Fprintln(os.Stderr, "server: give -maildir DIR or -discard")
		os.Exit(2)
	}
	if *trace {
		srv.Trace = os.Stdout
	}
	if *useTLS {
		cfg, err := selfSigned(*domain)
		if err != nil {
			log.Fatal(err)
		}
		srv.TLSConfig = cfg
	}
	if *user != "" {
		u, p := *user, *password
		srv.Authenticate = func(ctx context.Context, user, pass string) error {
			if user == u && pass == p {
				return nil
			}
			return errors.New("bad credentials")
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "smtp server for %s on %s\n", *domain, ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// On ^C or SIGTERM, Shutdown lets the transactions in progress end
	// (for ten seconds at most). Serve returns as soon as it stops
	// accepting, so main waits for Shutdown before it exits.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		log.Fatal(err)
	}
	<-drained
}

// selfSigned makes a throw-away certificate for host.
func selfSigned(host string) (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}
