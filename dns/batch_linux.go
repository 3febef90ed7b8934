//go:build linux && (amd64 || arm64)

package dns

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// On Linux the server reads and writes UDP a batch at a time, with
// recvmmsg(2) and sendmmsg(2): one system call for up to batchSize
// datagrams instead of one each. This is what golang.org/x/net/ipv4's
// ReadBatch and WriteBatch do; it is written against the syscall package
// here so the module needs nothing beyond golang.org/x/net's own packages.

const batchSize = 64

// mmsghdr is struct mmsghdr of <sys/socket.h>.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// A batch is a set of datagram slots with their buffers and addresses.
type batch struct {
	hdrs  []mmsghdr
	iovs  []syscall.Iovec
	bufs  [][]byte
	names []syscall.RawSockaddrInet6 // large enough for IPv4 too
}

func newBatch(bufSize int) *batch {
	b := &batch{
		hdrs:  make([]mmsghdr, batchSize),
		iovs:  make([]syscall.Iovec, batchSize),
		bufs:  make([][]byte, batchSize),
		names: make([]syscall.RawSockaddrInet6, batchSize),
	}
	for i := range b.hdrs {
		b.bufs[i] = make([]byte, bufSize)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(bufSize)
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.Iovlen = 1
	}
	return b
}

// addrPort decodes slot i's socket address.
func (b *batch) addrPort(i int) (netip.AddrPort, bool) {
	raw := (*[syscall.SizeofSockaddrInet6]byte)(unsafe.Pointer(&b.names[i]))
	port := binary.BigEndian.Uint16(raw[2:4])
	switch b.names[i].Family {
	case syscall.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(raw[4:8])), port), true
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(raw[8:24])), port), true
	}
	return netip.AddrPort{}, false
}

func (s *Server) udpBatchLoop(ctx context.Context, uc *net.UDPConn) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return s.udpSimpleLoop(ctx, uc)
	}
	// Queries over UDP are small; a longer one arrives cut (MSG_TRUNC)
	// and is dropped. Replies never exceed udpSize.
	in, out := newBatch(maxUDPQuery), newBatch(s.udpSize())
	w := newWorker()
	for {
		for i := range in.hdrs {
			in.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrInet6
			in.hdrs[i].hdr.Flags = 0
			in.hdrs[i].n = 0
		}
		var n int
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			r, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&in.hdrs[0])),
				uintptr(len(in.hdrs)), syscall.MSG_DONTWAIT, 0, 0)
			if e == syscall.EAGAIN || e == syscall.EINTR {
				return false
			}
			n, errno = int(r), e
			return true
		})
		if err != nil {
			return err // closed
		}
		if errno != 0 {
			continue // e.g. ECONNREFUSED from an earlier reply; keep going
		}
		k := 0
		for i := range n {
			remote, ok := in.addrPort(i)
			if !ok || in.hdrs[i].hdr.Flags&syscall.MSG_TRUNC != 0 {
				continue
			}
			reply := s.handle(ctx, w, in.bufs[i][:in.hdrs[i].n], remote, false)
			if reply == nil {
				continue
			}
			copy(out.bufs[k], reply)
			out.iovs[k].SetLen(len(reply))
			out.names[k] = in.names[i]
			out.hdrs[k].hdr.Namelen = in.hdrs[i].hdr.Namelen
			k++
		}
		for sent := 0; sent < k; {
			var m int
			var errno syscall.Errno
			err := rc.Write(func(fd uintptr) bool {
				r, _, e := syscall.Syscall6(sysSENDMMSG, fd, uintptr(unsafe.Pointer(&out.hdrs[sent])),
					uintptr(k-sent), syscall.MSG_DONTWAIT, 0, 0)
				if e == syscall.EAGAIN || e == syscall.EINTR {
					return false
				}
				m, errno = int(r), e
				return true
			})
			if err != nil {
				return err
			}
			if errno != 0 {
				sent++ // that datagram cannot go; UDP may drop it
				continue
			}
			sent += m
		}
	}
}
