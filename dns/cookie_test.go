package dns

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func key16(t testing.TB, s string) *[16]byte {
	k := [16]byte(unhex(t, s))
	return &k
}

// The reference vectors of SipHash-2-4 (the paper's Appendix A and the
// reference implementation's vectors.h): key 00 01 … 0f, message 00 01 …
// of each length, output in little-endian order. They cover every tail
// length of the last block and messages of one to eight full blocks.
func TestSipHash24(t *testing.T) {
	want := map[int]string{
		0: "310e0edd47db6f72", 1: "fd67dc93c539f874", 2: "5a4fa9d909806c0d",
		3: "2d7efbd796666785", 4: "b7877127e09427cf", 5: "8da699cd64557618",
		6: "cee3fe586e46c9cb", 7: "37d1018bf50002ab", 8: "6224939a79f5f593",
		9: "b0e4a90bdf82009e", 10: "f3b9dd94c5bb5d7a", 11: "a7ad6b22462fb3f4",
		12: "fbe50e86bc8f1e75", 13: "903d84c02756ea14", 14: "eef27a8e90ca23f7",
		15: "e545be4961ca29a1", 16: "db9bc2577fcc2a3f", 17: "9447be2cf5e99a69",
		24: "94af49f6c650adb8", 31: "42c341d8fa92d832", 32: "ce7cf2722f512771",
		40: "d0a704536ba93e0e", 47: "eb75095ccd986cd0", 63: "724506eb4c328a95",
	}
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 64)
	for i := range msg {
		msg[i] = byte(i)
	}
	for n, w := range want {
		var got [8]byte
		binary.LittleEndian.PutUint64(got[:], sipHash24(&key, msg[:n]))
		if hex.EncodeToString(got[:]) != w {
			t.Errorf("SipHash-2-4 of %d bytes = %x, want %s", n, got, w)
		}
	}
}

func TestCookieWire(t *testing.T) {
	for _, tt := range []struct {
		name string
		wire string
	}{
		{"client only", "2464c4abcf10c957"},
		{"RFC 9018 server cookie", "2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
		{"shortest server cookie", "2464c4abcf10c957" + "0102030405060708"},
		{"longest server cookie", "2464c4abcf10c957" + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
	} {
		wire := unhex(t, tt.wire)
		c, err := ParseCookie(wire)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if c.Client != [8]byte(wire[:8]) || !bytes.Equal(c.Server, wire[8:]) {
			t.Errorf("%s: parsed as %x / %x", tt.name, c.Client, c.Server)
		}
		if got := c.Append(nil); !bytes.Equal(got, wire) {
			t.Errorf("%s: wrote % x, want % x", tt.name, got, wire)
		}
		if got := c.String(); got != tt.wire {
			t.Errorf("%s: String %q", tt.name, got)
		}
		if o := c.Option(); o.Code != 10 || !bytes.Equal(o.Data, wire) {
			t.Errorf("%s: Option %v", tt.name, o)
		}
	}
}

func TestParseCookieRejects(t *testing.T) {
	for _, n := range []int{0, 1, 7, 9, 15, 41, 100} {
		_, err := ParseCookie(make([]byte, n))
		if !errors.Is(err, ErrCookie) {
			t.Errorf("%d bytes: err %v, want ErrCookie", n, err)
		}
	}
}

func TestEDNSCookie(t *testing.T) {
	c := Cookie{Client: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, Server: unhex(t, "010000005cf79f111f8130c3eee29480")}
	q := NewQuery(MustParseName("www.networkutopia.com"), TypeA)
	q.EDNS = &EDNS{UDPSize: 1232, Options: []Option{ClientSubnet{Source: netip.MustParsePrefix("10.1.2.0/24")}.Option(), c.Option()}}
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var m Message
	if err := m.Unpack(b); err != nil {
		t.Fatal(err)
	}
	got, ok, err := m.EDNS.Cookie()
	if err != nil || !ok {
		t.Fatalf("Cookie() = %v, %v, %v", got, ok, err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("through a message (-want +got):\n%s", diff)
	}
	var none *EDNS
	if _, ok, err := none.Cookie(); ok || err != nil {
		t.Errorf("nil EDNS: %v, %v", ok, err)
	}
	if _, ok, err := (&EDNS{Options: []Option{{Code: 8}}}).Cookie(); ok || err != nil {
		t.Errorf("no COOKIE: %v, %v", ok, err)
	}
	// Only the first counts (RFC 7873 §5.2): a broken second one is ignored…
	two := &EDNS{Options: []Option{c.Option(), {Code: OptionCookie, Data: []byte{1}}}}
	if got, ok, err := two.Cookie(); !ok || err != nil || got.Client != c.Client {
		t.Errorf("two options, first good: %v %v %v", got, ok, err)
	}
	// …and a broken first one is an error.
	bad := &EDNS{Options: []Option{{Code: OptionCookie, Data: []byte{1}}, c.Option()}}
	if _, _, err := bad.Cookie(); !errors.Is(err, ErrCookie) {
		t.Errorf("broken first option: err %v", err)
	}
}

// The worked examples of RFC 9018 Appendix A: a server cookie is made
// byte for byte as the RFC's servers made it, and the cookies the RFC's
// clients present are recognised (A.3's has nonzero reserved octets, A.4's
// was made with the secret before a rollover).
func TestServerCookieRFC9018(t *testing.T) {
	const (
		secret    = "e5e973e5a6b2a43f48e7dc849e37bfcf"
		oldSecret = "dd3bdf9344b678b185a6f5cb60fca715"
		newSecret = "445536bcd2513298075a5d379663c962"
	)
	for _, tt := range []struct {
		name      string
		secret    string
		prev      string // accepted, not used for new cookies
		client    string // the client's address
		query     string // the COOKIE option the client sent
		issued    int64  // when the query's server cookie was made
		now       int64  // when the reply is made
		wantValid bool
		reply     string // the reply's COOKIE option
	}{
		{"A.1 a new server cookie", secret, "", "198.51.100.100",
			"2464c4abcf10c957", 0, 1559731985, false,
			"2464c4abcf10c957010000005cf79f111f8130c3eee29480"},
		{"A.2 renewed 40 minutes later", secret, "", "198.51.100.100",
			"2464c4abcf10c957010000005cf79f111f8130c3eee29480", 1559731985, 1559734385, true,
			"2464c4abcf10c957010000005cf7a871d4a564a1442aca77"},
		{"A.3 another client, reserved octets set", secret, "", "203.0.113.203",
			"fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", 1559727985, 1559734700, false,
			"fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e"},
		{"A.4 IPv6 after the secret rolled over", newSecret, oldSecret, "2001:db8:220:1:59de:d0f4:8769:82b8",
			"22681ab97d52c298010000005cf7c57926556bd0934c72f8", 1559741817, 1559741961, true,
			"22681ab97d52c298010000005cf7c609a6bb79d16625507a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.client)
			q, err := ParseCookie(unhex(t, tt.query))
			if err != nil {
				t.Fatal(err)
			}
			secrets := []*[16]byte{key16(t, tt.secret)}
			if tt.prev != "" {
				secrets = append(secrets, key16(t, tt.prev))
			}
			if tt.issued != 0 {
				// At the moment it was made, the query's cookie checks
				// with the secret that made it (A.3's at issue time: by
				// the reply, 1h52m later, it has expired; A.4's with the
				// old secret, and at reply time it is renewed with the
				// new one).
				madeWith := secrets[len(secrets)-1]
				ck := CheckServerCookie(q, ip, time.Unix(tt.issued, 0), madeWith)
				if !ck.Valid || ck.Renew {
					t.Errorf("at issue time: %+v, want valid", ck)
				}
			}
			ck := CheckServerCookie(q, ip, time.Unix(tt.now, 0), secrets...)
			if ck.Valid != tt.wantValid || !ck.Renew {
				t.Errorf("at reply time: %+v, want Valid %v and Renew", ck, tt.wantValid)
			}
			reply := AppendServerCookie(q.Client[:], secrets[0], q.Client, ip, time.Unix(tt.now, 0))
			if got := hex.EncodeToString(reply); got != tt.reply {
				t.Errorf("reply cookie %s, want %s", got, tt.reply)
			}
			if tt.prev != "" {
				// The old secret alone no longer makes the cookie, the
				// new one alone does not accept the old cookie.
				if ck := CheckServerCookie(q, ip, time.Unix(tt.issued, 0), secrets[0]); ck.Valid {
					t.Errorf("new secret accepts the old cookie: %+v", ck)
				}
			}
		})
	}
}

// TestCheckServerCookie grades the policy of RFC 9018 §4.3 around its
// edges: what is valid, what is renewed, and why not.
func TestCheckServerCookie(t *testing.T) {
	secret := key16(t, "e5e973e5a6b2a43f48e7dc849e37bfcf")
	bob := netip.MustParseAddr("198.51.100.100")
	issued := time.Unix(1559731985, 0)
	cc := [8]byte{0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57}
	good := AppendServerCookie(nil, secret, cc, bob, issued)
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	for _, tt := range []struct {
		name   string
		c      Cookie
		from   netip.Addr
		after  time.Duration
		valid  bool
		renew  bool
		reason string
	}{
		{"fresh", Cookie{cc, good}, bob, 0, true, false, "valid"},
		{"ten minutes", Cookie{cc, good}, bob, 10 * time.Minute, true, false, "valid"},
		{"half an hour exactly", Cookie{cc, good}, bob, 30 * time.Minute, true, false, "valid"},
		{"31 minutes: renewed", Cookie{cc, good}, bob, 31 * time.Minute, true, true, "valid, older than half an hour: renewed"},
		{"an hour exactly", Cookie{cc, good}, bob, time.Hour, true, true, "valid, older than half an hour: renewed"},
		{"an hour and a second: expired", Cookie{cc, good}, bob, time.Hour + time.Second, false, true, "server cookie older than an hour"},
		{"server clock 5 minutes behind", Cookie{cc, good}, bob, -5 * time.Minute, true, false, "valid"},
		{"from 6 minutes ahead", Cookie{cc, good}, bob, -6 * time.Minute, false, true, "server cookie from more than five minutes ahead"},
		{"IPv4-mapped address", Cookie{cc, good}, netip.AddrFrom16(bob.As16()), 0, true, false, "valid"},
		{"no server cookie", Cookie{Client: cc}, bob, 0, false, true, "no server cookie yet"},
		{"another client address", Cookie{cc, good}, netip.MustParseAddr("198.51.100.101"), 0, false, true, "server cookie not made here for this client"},
		{"another client cookie", Cookie{[8]byte{1}, good}, bob, 0, false, true, "server cookie not made here for this client"},
		{"hash changed", Cookie{cc, flip(15)}, bob, 0, false, true, "server cookie not made here for this client"},
		{"timestamp changed", Cookie{cc, flip(7)}, bob, 0, false, true, "server cookie not made here for this client"},
		{"version 2", Cookie{cc, append([]byte{2}, good[1:]...)}, bob, 0, false, true, "not a version 1 server cookie (RFC 9018)"},
		{"8 bytes", Cookie{cc, good[:8]}, bob, 0, false, true, "not a version 1 server cookie (RFC 9018)"},
	} {
		got := CheckServerCookie(tt.c, tt.from, issued.Add(tt.after), secret)
		want := CookieCheck{Valid: tt.valid, Renew: tt.renew, Reason: tt.reason}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, want)
		}
	}
	// Past the 32-bit wrap of the timestamp (2106), serial arithmetic
	// still counts the age right.
	wrap := time.Unix(1<<32-60, 0)
	c := Cookie{cc, AppendServerCookie(nil, secret, cc, bob, wrap)}
	if got := CheckServerCookie(c, bob, wrap.Add(2*time.Minute), secret); !got.Valid || got.Renew {
		t.Errorf("across the wrap: %+v", got)
	}
}

func TestMakeClientCookie(t *testing.T) {
	secret := [16]byte{1, 2, 3}
	us := netip.MustParseAddr("192.0.2.53")
	a := MakeClientCookie(secret, us, netip.MustParseAddr("198.51.100.1"))
	if a != MakeClientCookie(secret, us, netip.MustParseAddr("198.51.100.1")) {
		t.Error("not a function of its arguments")
	}
	for _, other := range [][8]byte{
		MakeClientCookie(secret, us, netip.MustParseAddr("198.51.100.2")),
		MakeClientCookie(secret, netip.MustParseAddr("192.0.2.54"), netip.MustParseAddr("198.51.100.1")),
		MakeClientCookie([16]byte{9}, us, netip.MustParseAddr("198.51.100.1")),
	} {
		if other == a {
			t.Errorf("two clients, servers or secrets share cookie %x", a)
		}
	}
	if a == [8]byte{} {
		t.Error("zero cookie")
	}
}

func TestAppendServerCookieAllocs(t *testing.T) {
	secret := [16]byte{1}
	buf := make([]byte, 0, 40)
	ip := netip.MustParseAddr("2001:db8::1")
	now := time.Unix(1559731985, 0)
	n := testing.AllocsPerRun(100, func() {
		b := AppendServerCookie(buf[:0], &secret, [8]byte{1}, ip, now)
		CheckServerCookie(Cookie{[8]byte{1}, b}, ip, now, &secret)
	})
	if n != 0 {
		t.Errorf("%v allocations per cookie made and checked", n)
	}
}

func FuzzCookie(f *testing.F) {
	f.Add([]byte("2464c4ab"))
	f.Add([]byte{0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57, 1, 0, 0, 0, 0x5c, 0xf7, 0x9f, 0x11, 0x1f, 0x81, 0x30, 0xc3, 0xee, 0xe2, 0x94, 0x80})
	f.Add(make([]byte, 9))
	f.Add(make([]byte, 40))
	f.Add(make([]byte, 41))
	secret := [16]byte{7}
	ip := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCookie(b)
		if err != nil {
			if !errors.Is(err, ErrCookie) {
				t.Fatalf("% x: error %v does not match ErrCookie", b, err)
			}
			return
		}
		// What is accepted is written back byte for byte…
		if got := c.Append(nil); !bytes.Equal(got, b) {
			t.Fatalf("% x parsed as %v, written as % x", b, c, got)
		}
		// …and a cookie nobody made with this secret is never valid.
		if ck := CheckServerCookie(c, ip, time.Unix(1559731985, 0), &secret); ck.Valid || !ck.Renew || ck.Reason == "" {
			t.Fatalf("% x: %+v", b, ck)
		}
	})
}
