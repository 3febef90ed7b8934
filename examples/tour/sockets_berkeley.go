//go:build linux || darwin

package main

import (
	"fmt"
	"io"
	"time"

	s "appnet.dev/sockets"
)

// berkeleyDemo runs one TCP exchange with the C-style calls and prints
// each call as the slide writes it.
func berkeleyDemo(w io.Writer) error {
	step := func(call string, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", call, err)
		}
		fmt.Fprintf(w, "  %s\n", call)
		return nil
	}
	welcome, err := s.Socket(s.PF_INET, s.SOCK_STREAM, 0)
	if err := step(fmt.Sprintf("sockid = socket(PF_INET, SOCK_STREAM, 0)  -> %d", welcome), err); err != nil {
		return err
	}
	defer s.Close(welcome)
	s.SetRecvTimeout(welcome, 10*time.Second)
	addr, _ := s.Inet("127.0.0.1", 0)
	if err := step("bind(sockid, 127.0.0.1:0)", s.Bind(welcome, addr)); err != nil {
		return err
	}
	sa, err := s.Getsockname(welcome)
	if err != nil {
		return err
	}
	port := sa.(*s.SockaddrIn).Port
	if err := step(fmt.Sprintf("listen(sockid, 5)  -> the kernel chose port %d (htons: %#04x)", port, s.Htons(uint16(port))), s.Listen(welcome, 5)); err != nil {
		return err
	}

	client, err := s.Socket(s.PF_INET, s.SOCK_STREAM, 0)
	if err := step(fmt.Sprintf("client = socket(PF_INET, SOCK_STREAM, 0)  -> %d", client), err); err != nil {
		return err
	}
	defer s.Close(client)
	s.SetRecvTimeout(client, 10*time.Second)
	server, _ := s.Inet("127.0.0.1", port)
	if err := step("connect(client, server)", s.Connect(client, server)); err != nil {
		return err
	}
	conn, from, err := s.Accept(welcome)
	if err := step(fmt.Sprintf("conn = accept(sockid)  -> new socket %d for the client at port %d", conn, from.(*s.SockaddrIn).Port), err); err != nil {
		return err
	}
	defer s.Close(conn)
	s.SetRecvTimeout(conn, 10*time.Second)

	n, err := s.Send(client, []byte("berkeley sockets"), 0)
	if err := step(fmt.Sprintf("send(client, \"berkeley sockets\")  -> %d", n), err); err != nil {
		return err
	}
	buf := make([]byte, 1024)
	n, err = s.Recv(conn, buf, 0)
	if err := step(fmt.Sprintf("recv(conn)  -> %q", buf[:n]), err); err != nil {
		return err
	}
	upper := []byte(string(buf[:n]))
	for i, c := range upper {
		if 'a' <= c && c <= 'z' {
			upper[i] = c - 'a' + 'A'
		}
	}
	_, err = s.Send(conn, upper, 0)
	if err := step(fmt.Sprintf("send(conn, %q)", upper), err); err != nil {
		return err
	}
	n, err = s.Recv(client, buf, 0)
	if err := step(fmt.Sprintf("recv(client)  -> %q", buf[:n]), err); err != nil {
		return err
	}
	return step("close(conn); close(client); close(sockid)", nil)
}
