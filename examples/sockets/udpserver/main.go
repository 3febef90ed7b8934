// Command udpserver is the slides' UDPServer: it uppercases every
// datagram and sends it back to where it came from.
//
//	go run ./examples/sockets/udpserver -addr 127.0.0.1:12000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"

	"appnet.dev/sockets"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:12000", "UDP `address` to listen on")
	quiet := flag.Bool("q", false, "do not print each datagram")
	flag.Parse()

	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := &sockets.UDPServer{}
	if !*quiet {
		s.Trace = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	fmt.Printf("The server is ready to receive on %v\n", pc.LocalAddr())
	if err := s.ServePacket(pc); !errors.Is(err, sockets.ErrServerClosed) {
		log.Fatal(err)
	}
}
