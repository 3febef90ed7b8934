package sockets

import "encoding/binary"

// Network byte order is big-endian: the most significant byte first. C
// programs convert with htons ("host to network short") before putting a
// port into a sockaddr_in, and htonl for a 32-bit address. These functions
// do the same on any host; on a big-endian host they change nothing.

// Htons converts a 16-bit value (a port) from host to network byte order.
func Htons(v uint16) uint16 { return fromBig16(v) }

// Ntohs converts a 16-bit value from network to host byte order.
func Ntohs(v uint16) uint16 { return fromBig16(v) }

// Htonl converts a 32-bit value (an IPv4 address) from host to network
// byte order.
func Htonl(v uint32) uint32 { return fromBig32(v) }

// Ntohl converts a 32-bit value from network to host byte order.
func Ntohl(v uint32) uint32 { return fromBig32(v) }

// fromBig16 returns the value whose in-memory bytes, on this host, are v
// written big-endian. The conversion is its own inverse.
func fromBig16(v uint16) uint16 {
	b := [2]byte{byte(v >> 8), byte(v)}
	return binary.NativeEndian.Uint16(b[:])
}

func fromBig32(v uint32) uint32 {
	b := [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	return binary.NativeEndian.Uint32(b[:])
}
