// Command udpclient is the slides' UDPClient: it reads lines from standard
// input, sends each in a datagram to the server, and prints the reply.
//
//	echo hello | go run ./examples/sockets/udpclient -addr 127.0.0.1:12000
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
	addr := flag.String("addr", "127.0.0.1:12000", "the server's UDP `address`")
	timeout := flag.Duration("timeout", 2*time.Second, "how long to wait for each reply (UDP may lose it)")
	flag.Parse()

	c, err := sockets.DialUDP(context.Background(), *addr)
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
		fmt.Println(reply)
	}
}
