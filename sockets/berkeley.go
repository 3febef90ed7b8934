//go:build linux || darwin

package sockets

import (
	"fmt"
	"net/netip"
	"syscall"
	"time"
)

// The Berkeley socket procedures, one Go function per C call of the
// slides, each a thin layer over the system call of the same name. A
// socket is a file descriptor, an int, as in C:
//
//	C                                          Go
//	sockid = socket(PF_INET, SOCK_STREAM, 0)   sockid, err := sockets.Socket(sockets.PF_INET, sockets.SOCK_STREAM, 0)
//	bind(sockid, &addrport, sizeof(addrport))  err = sockets.Bind(sockid, addrport)
//	listen(sockid, queueLimit)                 err = sockets.Listen(sockid, queueLimit)
//	s = accept(sockid, &clientAddr, &len)      s, clientAddr, err := sockets.Accept(sockid)
//	connect(sockid, &foreignAddr, addrlen)     err = sockets.Connect(sockid, foreignAddr)
//	count = send(sockid, msg, msgLen, flags)   count, err := sockets.Send(sockid, msg, flags)
//	count = recv(sockid, buf, bufLen, flags)   count, err := sockets.Recv(sockid, buf, flags)
//	sendto(sockid, msg, len, flags, &to, len)  count, err := sockets.SendTo(sockid, msg, flags, to)
//	recvfrom(sockid, buf, len, flags, &from,…) count, from, err := sockets.RecvFrom(sockid, buf, flags)
//	status = close(sockid)                     err = sockets.Close(sockid)
//
// Where C returns -1 and sets errno, Go returns an error. Accept, Connect,
// Recv and RecvFrom block, as the slides say; SetRecvTimeout bounds how
// long a Recv may wait, so a program (or a test) can never hang. Programs
// that are not about the C API use the net package instead, as the rest of
// appnet does.

// Address and protocol families, socket types and protocols, as named in C.
const (
	AF_INET  = syscall.AF_INET
	AF_INET6 = syscall.AF_INET6
	PF_INET  = syscall.AF_INET // the protocol family; equal to AF_INET
	PF_INET6 = syscall.AF_INET6

	SOCK_STREAM = syscall.SOCK_STREAM // reliable, two-way, connection-based: TCP
	SOCK_DGRAM  = syscall.SOCK_DGRAM  // unreliable, connectionless datagrams: UDP

	IPPROTO_TCP = syscall.IPPROTO_TCP
	IPPROTO_UDP = syscall.IPPROTO_UDP
)

// INADDR_ANY is the IPv4 wildcard address 0.0.0.0, as C's 32-bit
// constant: bound to it, a server accepts traffic arriving on any of the
// host's interfaces. InAddr turns it into the bytes of a SockaddrIn:
//
//	addrport := &sockets.SockaddrIn{Port: 5100, Addr: sockets.InAddr(sockets.INADDR_ANY)}
const INADDR_ANY uint32 = 0

// InAddr returns the four bytes of a 32-bit IPv4 address, most
// significant first: what C's htonl does before the address goes into
// sin_addr. InAddr(0x7f000001) is 127.0.0.1.
func InAddr(addr uint32) [4]byte {
	return [4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}
}

// SockaddrIn is C's struct sockaddr_in: an IPv4 address and a port. The
// kernel stores both in network byte order (big-endian); Go's syscall
// package does the htons/htonl of the slide for us when it builds the
// struct, so Port and Addr here are in host order and plain values.
type SockaddrIn = syscall.SockaddrInet4

// Sockaddr is C's generic struct sockaddr: any address a socket can be
// bound or connected to. *SockaddrIn is one.
type Sockaddr = syscall.Sockaddr

// Inet returns the sockaddr_in for a dotted-quad IPv4 address and a port,
// "127.0.0.1" and 12000 say.
func Inet(addr string, port int) (*SockaddrIn, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("sockets: %q is not an IPv4 address", addr)
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("sockets: port %d out of range", port)
	}
	return &SockaddrIn{Port: port, Addr: ip.As4()}, nil
}

// Socket creates a new communication endpoint and returns its descriptor.
// It says nothing yet about where data will come from or go to: it only
// creates the interface.
func Socket(family, typ, protocol int) (int, error) {
	fd, err := syscall.Socket(family, typ, protocol)
	if err != nil {
		return -1, fmt.Errorf("sockets: socket: %w", err)
	}
	// Keep the descriptor from leaking into programs this one starts.
	syscall.CloseOnExec(fd)
	return fd, nil
}

// Bind attaches a local address to a socket, reserving its port. A
// datagram socket that only sends, and a stream socket that connects, may
// skip it: the kernel picks a port.
func Bind(sockid int, addr Sockaddr) error {
	// Let a test rebind a port that a previous run left in TIME_WAIT.
	if err := syscall.SetsockoptInt(sockid, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("sockets: bind: %w", err)
	}
	if err := syscall.Bind(sockid, addr); err != nil {
		return fmt.Errorf("sockets: bind: %w", err)
	}
	return nil
}

// Listen announces willingness to accept connections on a stream socket,
// with up to queueLimit clients waiting to be accepted. It does not block.
// The listening socket never carries data; it only yields new sockets.
func Listen(sockid, queueLimit int) error {
	if err := syscall.Listen(sockid, queueLimit); err != nil {
		return fmt.Errorf("sockets: listen: %w", err)
	}
	return nil
}

// Accept blocks until a connection request arrives, then returns a new
// socket for talking with that client, and the client's address.
func Accept(sockid int) (int, Sockaddr, error) {
	for {
		fd, from, err := syscall.Accept(sockid)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, nil, fmt.Errorf("sockets: accept: %w", err)
		}
		syscall.CloseOnExec(fd)
		return fd, from, nil
	}
}

// Connect actively establishes a connection to the passive participant at
// addr. It blocks until the handshake is done.
func Connect(sockid int, addr Sockaddr) error {
	for {
		err := syscall.Connect(sockid, addr)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sockets: connect: %w", err)
		}
		return nil
	}
}

// Send sends msg over a connected socket and returns how many bytes the
// kernel took; on a stream socket that may be fewer than len(msg).
func Send(sockid int, msg []byte, flags int) (int, error) {
	n, err := retry(func() (int, error) {
		return syscall.SendmsgN(sockid, msg, nil, nil, flags)
	})
	if err != nil {
		return -1, fmt.Errorf("sockets: send: %w", err)
	}
	return n, nil
}

// Recv blocks until data arrives on a connected socket and copies it into
// buf, returning the count. Zero means the peer closed the connection.
func Recv(sockid int, buf []byte, flags int) (int, error) {
	n, err := retry(func() (int, error) {
		n, _, err := syscall.Recvfrom(sockid, buf, flags)
		return n, err
	})
	if err != nil {
		return -1, fmt.Errorf("sockets: recv: %w", err)
	}
	return n, nil
}

// SendTo sends one datagram to the address to: on a datagram socket the
// destination travels with every packet.
func SendTo(sockid int, msg []byte, flags int, to Sockaddr) (int, error) {
	n, err := retry(func() (int, error) {
		return syscall.SendmsgN(sockid, msg, nil, to, flags)
	})
	if err != nil {
		return -1, fmt.Errorf("sockets: sendto: %w", err)
	}
	return n, nil
}

// RecvFrom blocks until a datagram arrives, copies it into buf and returns
// its length and the sender's address, so a server knows where to reply.
func RecvFrom(sockid int, buf []byte, flags int) (int, Sockaddr, error) {
	var from Sockaddr
	n, err := retry(func() (int, error) {
		n, f, err := syscall.Recvfrom(sockid, buf, flags)
		from = f
		return n, err
	})
	if err != nil {
		return -1, nil, fmt.Errorf("sockets: recvfrom: %w", err)
	}
	return n, from, nil
}

// Close releases the socket: for a stream socket it closes the
// connection, and it frees the port.
func Close(sockid int) error {
	if err := syscall.Close(sockid); err != nil {
		return fmt.Errorf("sockets: close: %w", err)
	}
	return nil
}

// SetRecvTimeout makes Recv, RecvFrom and Accept on the socket give up
// with EAGAIN after d (SO_RCVTIMEO). Zero waits forever, as in C.
func SetRecvTimeout(sockid int, d time.Duration) error {
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	if err := syscall.SetsockoptTimeval(sockid, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("sockets: setsockopt SO_RCVTIMEO: %w", err)
	}
	return nil
}

// Getsockname returns the address a socket is bound to: after binding to
// port 0, the port the kernel chose.
func Getsockname(sockid int) (Sockaddr, error) {
	sa, err := syscall.Getsockname(sockid)
	if err != nil {
		return nil, fmt.Errorf("sockets: getsockname: %w", err)
	}
	return sa, nil
}

// retry repeats a system call that a signal interrupted (EINTR), as C
// programs loop on it.
func retry(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
