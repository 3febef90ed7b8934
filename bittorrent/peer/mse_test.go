package peer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// mseInitiate plays the connecting side of MSE, as libtorrent does:
// crypto_provide offers provide, the BitTorrent handshake h goes as the
// initial payload. It returns the crypto_select of the answer.
func mseInitiate(nc net.Conn, skey [20]byte, provide uint32, vc []byte, h Handshake) (uint32, *bufio.Reader, error) {
	var priv [20]byte
	rand.Read(priv[:])
	xa := new(big.Int).SetBytes(priv[:])
	ya := new(big.Int).Exp(big.NewInt(2), xa, msePrime).FillBytes(make([]byte, mseKeyLen))
	if _, err := nc.Write(append(ya, make([]byte, 7)...)); err != nil { // PadA of 7 bytes
		return 0, nil, err
	}
	br := bufio.NewReader(nc)
	yb := make([]byte, mseKeyLen)
	if _, err := io.ReadFull(br, yb); err != nil {
		return 0, nil, err
	}
	s := new(big.Int).Exp(new(big.Int).SetBytes(yb), xa, msePrime).FillBytes(make([]byte, mseKeyLen))
	enc := mseCipher(mseHash([]byte("keyA"), s, skey[:]))
	dec := mseCipher(mseHash([]byte("keyB"), s, skey[:]))
	msg := mseHash([]byte("req1"), s)
	r2, r3 := mseHash([]byte("req2"), skey[:]), mseHash([]byte("req3"), s)
	for i := range r2 {
		msg = append(msg, r2[i]^r3[i])
	}
	ia := AppendHandshake(nil, h)
	plain := append([]byte{}, vc...)
	plain = binary.BigEndian.AppendUint32(plain, provide)
	plain = binary.BigEndian.AppendUint16(plain, 3)
	plain = append(plain, 0, 0, 0)
	plain = binary.BigEndian.AppendUint16(plain, uint16(len(ia)))
	plain = append(plain, ia...)
	enc.XORKeyStream(plain, plain)
	if _, err := nc.Write(append(msg, plain...)); err != nil {
		return 0, nil, err
	}
	// Skip PadB: find the encrypted verification constant.
	want := make([]byte, 8)
	dec.XORKeyStream(want, want)
	var seen []byte
	for !bytes.HasSuffix(seen, want) {
		b, err := br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		seen = append(seen, b)
	}
	rest := make([]byte, 6)
	if _, err := io.ReadFull(br, rest); err != nil {
		return 0, nil, err
	}
	dec.XORKeyStream(rest, rest)
	return binary.BigEndian.Uint32(rest), br, nil
}

func TestAcceptEncryptedHandshake(t *testing.T) {
	hash := [20]byte{1, 2, 3}
	other := [20]byte{9}
	for _, tc := range []struct {
		name    string
		skey    [20]byte
		provide uint32
		vc      []byte
		ok      bool
	}{
		{"plaintext or RC4 offered", hash, msePlain | mseRC4, make([]byte, 8), true},
		{"another torrent", other, msePlain | mseRC4, make([]byte, 8), false},
		{"RC4 only", hash, mseRC4, make([]byte, 8), false},
		{"bad verification constant", hash, msePlain, []byte{1, 0, 0, 0, 0, 0, 0, 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			a, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			bob := NewConn(b, Config{Encrypted: [][20]byte{{7}, hash}})
			defer bob.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			type result struct {
				h   Handshake
				err error
			}
			done := make(chan result, 1)
			go func() {
				h, err := bob.AcceptHandshake(ctx, func(theirs Handshake) (Handshake, error) {
					return Handshake{InfoHash: theirs.InfoHash, PeerID: [20]byte{'b'}}, nil
				})
				if err != nil {
					b.Close()
				}
				done <- result{h, err}
			}()
			a.SetDeadline(time.Now().Add(10 * time.Second))
			sel, br, err := mseInitiate(a, tc.skey, tc.provide, tc.vc, Handshake{InfoHash: hash, PeerID: [20]byte{'a'}})
			res := <-done
			if !tc.ok {
				var pe *ProtocolError
				if !errors.As(res.err, &pe) {
					t.Fatalf("AcceptHandshake = %v, want a protocol error", res.err)
				}
				return
			}
			if err != nil || res.err != nil {
				t.Fatalf("initiator: %v; AcceptHandshake: %v", err, res.err)
			}
			if sel != msePlain {
				t.Errorf("crypto_select = %#x, want plaintext", sel)
			}
			if res.h.PeerID != ([20]byte{'a'}) {
				t.Errorf("handshake from the initial payload: peer ID %q", res.h.PeerID)
			}
			// From now on the stream is plaintext both ways.
			theirs, err := ReadHandshake(br)
			if err != nil || theirs.PeerID != ([20]byte{'b'}) {
				t.Fatalf("plaintext handshake back: %v %q", err, theirs.PeerID)
			}
		})
	}
}

// FuzzAcceptMSE feeds the receiving side of MSE whatever an initiator
// might send.
func FuzzAcceptMSE(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0x7e}, 96))
	f.Add(append(bytes.Repeat([]byte{0xff}, 96), make([]byte, 600)...))
	f.Add([]byte{0x13})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		r := bufio.NewReader(bytes.NewReader(data[1:]))
		_, err := acceptMSE(data[0], r, io.Discard, [][20]byte{{1}})
		if err == nil {
			t.Fatal("random bytes passed the encrypted handshake")
		}
	})
}
