package sockets

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// After Htons, the value's bytes in memory are the port in big-endian
// order, whatever the host's own order: what goes into sin_port.
func TestByteOrder(t *testing.T) {
	for _, port := range []uint16{0, 1, 80, 5100, 12000, 65535} {
		n := Htons(port)
		mem := (*[2]byte)(unsafe.Pointer(&n))
		if got := binary.BigEndian.Uint16(mem[:]); got != port {
			t.Errorf("Htons(%d) lays out as %v, want big-endian %d", port, mem, port)
		}
		if Ntohs(n) != port {
			t.Errorf("Ntohs(Htons(%d)) = %d", port, Ntohs(n))
		}
	}
	for _, addr := range []uint32{0, 0x7f000001, 0x80770b0c, 0xffffffff} {
		n := Htonl(addr)
		mem := (*[4]byte)(unsafe.Pointer(&n))
		if got := binary.BigEndian.Uint32(mem[:]); got != addr {
			t.Errorf("Htonl(%#x) lays out as %v", addr, mem)
		}
		if Ntohl(n) != addr {
			t.Errorf("Ntohl(Htonl(%#x)) = %#x", addr, Ntohl(n))
		}
	}
}
