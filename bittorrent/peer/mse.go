package peer

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rc4"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
)

// Message stream encryption (MSE, also called protocol encryption) is the
// obfuscated handshake that libtorrent, qBittorrent and Transmission try
// first when they connect: a Diffie-Hellman exchange, then the BitTorrent
// handshake inside RC4. A peer that only speaks plain BEP 3 makes them
// hang up and, about a second later, try again in the clear. appnet
// answers the receiving side of it (when Config.Encrypted names the
// torrents) and always selects plaintext for what follows, so the
// payload costs no cipher work.

// msePrime is the 768-bit prime of MSE's Diffie-Hellman group; the
// generator is 2.
var msePrime, _ = new(big.Int).SetString("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563", 16)

const (
	mseKeyLen  = 96  // bytes of a public key
	mseMaxPad  = 512 // padding at most
	msePlain   = 0x01
	mseRC4     = 0x02
	mseDiscard = 1024 // RC4 keystream bytes thrown away first
)

func mseHash(parts ...[]byte) []byte {
	h := sha1.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func mseCipher(key []byte) *rc4.Cipher {
	c, _ := rc4.NewCipher(key) // a 20-byte key is always valid
	var discard [mseDiscard]byte
	c.XORKeyStream(discard[:], discard[:])
	return c
}

// acceptMSE runs the receiving side of MSE on a connection whose first
// byte, first, was not the 19 of a plain handshake. It returns what was
// sent encrypted as the initial payload (the peer's BitTorrent handshake)
// followed by the rest of the stream, which is plaintext from then on.
func acceptMSE(first byte, r *bufio.Reader, w io.Writer, hashes [][20]byte) (io.Reader, error) {
	ya := make([]byte, mseKeyLen)
	ya[0] = first
	if _, err := io.ReadFull(r, ya[1:]); err != nil {
		return nil, mseErr(err)
	}
	var priv [20]byte
	rand.Read(priv[:])
	xb := new(big.Int).SetBytes(priv[:])
	yb := new(big.Int).Exp(big.NewInt(2), xb, msePrime).FillBytes(make([]byte, mseKeyLen))
	s := new(big.Int).Exp(new(big.Int).SetBytes(ya), xb, msePrime).FillBytes(make([]byte, mseKeyLen))
	var padLen [1]byte
	rand.Read(padLen[:])
	out := append(yb, make([]byte, int(padLen[0])%32)...)
	if _, err := w.Write(out); err != nil {
		return nil, err
	}
	// The initiator's padding (up to 512 bytes) ends where HASH('req1', S)
	// begins: look for it.
	sync := mseHash([]byte("req1"), s)
	var seen []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, mseErr(err)
		}
		seen = append(seen, b)
		if bytes.HasSuffix(seen, sync) {
			break
		}
		if len(seen) >= mseMaxPad+len(sync) {
			return nil, &ProtocolError{"encrypted handshake: no sync in the first 532 bytes"}
		}
	}
	var obf [20]byte
	if _, err := io.ReadFull(r, obf[:]); err != nil {
		return nil, mseErr(err)
	}
	req3 := mseHash([]byte("req3"), s)
	var skey []byte
	for _, h := range hashes {
		want := mseHash([]byte("req2"), h[:])
		match := true
		for i := range want {
			if want[i]^req3[i] != obf[i] {
				match = false
				break
			}
		}
		if match {
			skey = h[:]
			break
		}
	}
	if skey == nil {
		return nil, &ProtocolError{"encrypted handshake for a torrent we do not serve"}
	}
	dec := mseCipher(mseHash([]byte("keyA"), s, skey))
	enc := mseCipher(mseHash([]byte("keyB"), s, skey))
	read := func(n int) ([]byte, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, mseErr(err)
		}
		dec.XORKeyStream(b, b)
		return b, nil
	}
	head, err := read(8 + 4 + 2) // VC, crypto_provide, len(PadC)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(head[:8], make([]byte, 8)) {
		return nil, &ProtocolError{"encrypted handshake: bad verification constant"}
	}
	provide := binary.BigEndian.Uint32(head[8:12])
	padC := int(binary.BigEndian.Uint16(head[12:14]))
	if padC > mseMaxPad {
		return nil, &ProtocolError{fmt.Sprintf("encrypted handshake: padding of %d bytes", padC)}
	}
	if provide&msePlain == 0 {
		return nil, &ProtocolError{"encrypted handshake: the peer offers RC4 only"}
	}
	rest, err := read(padC + 2)
	if err != nil {
		return nil, err
	}
	iaLen := int(binary.BigEndian.Uint16(rest[padC:]))
	if iaLen > HandshakeLen {
		return nil, &ProtocolError{fmt.Sprintf("encrypted handshake: initial payload of %d bytes", iaLen)}
	}
	ia, err := read(iaLen)
	if err != nil {
		return nil, err
	}
	reply := make([]byte, 8+4+2) // VC, crypto_select, len(PadD) = 0
	binary.BigEndian.PutUint32(reply[8:], msePlain)
	enc.XORKeyStream(reply, reply)
	if _, err := w.Write(reply); err != nil {
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(ia), r), nil
}

func mseErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("peer: encrypted handshake: %w", err)
}
