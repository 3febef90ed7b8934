package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"appnet.dev/sockets"
)

// socketsChapter runs the slides' uppercase application three ways: over
// UDP (a datagram per sentence, the address on every packet), over TCP
// with several clients served at once, and with the Berkeley procedures
// themselves.
func socketsChapter(ctx context.Context, w io.Writer, dir string) (string, error) {
	fmt.Fprintln(w, "UDP: no connection; each datagram carries the server's address.")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	udp := &sockets.UDPServer{Trace: w}
	udpDone := make(chan error, 1)
	go func() { udpDone <- udp.ServePacket(pc) }()
	defer func() {
		udp.Close()
		<-udpDone
	}()
	uc, err := sockets.DialUDP(ctx, pc.LocalAddr().String())
	if err != nil {
		return "", err
	}
	defer uc.Close()
	fmt.Fprintf(w, "client: socket %v, server at %v\n", uc.LocalAddr(), pc.LocalAddr())
	reply, err := uc.Uppercase(ctx, "hello over udp")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(w, "client prints: %s\n\n", reply)

	fmt.Fprintln(w, "TCP: the welcoming socket accepts; each client gets its own connection socket.")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var mu sync.Mutex // keep each client's transcript together
	var transcripts []string
	tcp := &sockets.TCPServer{}
	tcpDone := make(chan error, 1)
	go func() { tcpDone <- tcp.Serve(ln) }()
	defer func() {
		tcp.Close()
		<-tcpDone
	}()
	names := []string{"alice", "bob", "carol"}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
			if err != nil {
				errs[i] = err
				return
			}
			fmt.Fprintf(&b, "%s connects from %v\n", name, conn.LocalAddr())
			c := sockets.NewTCPClient(sockets.Trace(conn, &b, "C", "S"))
			defer c.Close()
			for _, s := range []string{"hello from " + name, "bye from " + name} {
				if _, err := c.Uppercase(ctx, s); err != nil {
					errs[i] = err
					return
				}
			}
			mu.Lock()
			transcripts = append(transcripts, b.String())
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	for _, t := range transcripts {
		fmt.Fprint(w, t)
	}

	fmt.Fprintln(w, "\nThe Berkeley procedures, as the C of the slides calls them:")
	if err := berkeleyDemo(w); err != nil {
		return "", err
	}
	return fmt.Sprintf("UDP and TCP uppercase servers answered; %d TCP clients served at once", len(names)), nil
}
