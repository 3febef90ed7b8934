// Command tcpserver is the slides' TCPServer, concurrent: each client gets
// its own connection and goroutine, and whatever it sends comes back in
// uppercase.
//
//	go run ./examples/sockets/tcpserver -addr 127.0.0.1:12000
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
	"time"

	"appnet.dev/sockets"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:12000", "TCP `address` to listen on")
	quiet := flag.Bool("q", false, "do not print the dialogue")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := &sockets.TCPServer{}
	if !*quiet {
		s.Trace = os.Stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		// Let connected clients finish for a few seconds, then close.
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(shutCtx)
	}()
	fmt.Printf("The server is ready to receive on %v\n", ln.Addr())
	if err := s.Serve(ln); !errors.Is(err, sockets.ErrServerClosed) {
		log.Fatal(err)
	}
}
