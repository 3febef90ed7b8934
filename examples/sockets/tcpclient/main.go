// Command tcpclient is the slides' TCPClient: it connects to the server
// once, then sends each line of standard input and prints the reply.
//
//	echo hello | go run ./examples/sockets/tcpclient -addr 127.0.0.1:12000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"appnet.dev/sockets"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:12000", "the server's TCP `address`")
	timeout := flag.Duration("timeout", 10*time.Second, "how long to wait for the connection and each reply")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	c, err := sockets.DialTCP(ctx, *addr)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	in := bufio.NewScanner(os.Stdin)
	fmt.Fprintln(os.Stderr, "Input lowercase sentence:")
	for in.Scan() {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		reply, err := c.Uppercase(ctx, in.Text())
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("From Server:", reply)
	}
}
