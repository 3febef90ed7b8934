package dns_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"appnet.dev/dns"
)

// RFC 9018's first example: the server cookie a server with this secret
// makes for a client cookie from 198.51.100.100, and what the server makes
// of it as time passes.
func ExampleCheckServerCookie() {
	secret, _ := hex.DecodeString("e5e973e5a6b2a43f48e7dc849e37bfcf")
	key := [16]byte(secret)
	client := [8]byte{0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57}
	from := netip.MustParseAddr("198.51.100.100")
	issued := time.Unix(1559731985, 0)
	c := dns.Cookie{Client: client, Server: dns.AppendServerCookie(nil, &key, client, from, issued)}
	fmt.Println("COOKIE", c)
	for _, after := range []time.Duration{0, 40 * time.Minute, 2 * time.Hour} {
		fmt.Printf("after %v: %s\n", after, dns.CheckServerCookie(c, from, issued.Add(after), &key).Reason)
	}
	fmt.Println("from elsewhere:", dns.CheckServerCookie(c, netip.MustParseAddr("203.0.113.7"), issued, &key).Reason)
	// Output:
	// COOKIE 2464c4abcf10c957010000005cf79f111f8130c3eee29480
	// after 0s: valid
	// after 40m0s: valid, older than half an hour: renewed
	// after 2h0m0s: server cookie older than an hour
	// from elsewhere: server cookie not made here for this client
}

// A server that requires cookies answers a client's first query over UDP
// BADCOOKIE with a server cookie; asked again with it, the server knows
// the client's address is not spoofed and answers.
func ExampleServer_requireCookies() {
	zone, err := dns.ReadZone(dns.ZoneFile{Origin: dns.MustParseName("networkutopia.com")}, strings.NewReader(networkUtopia))
	if err != nil {
		panic(err)
	}
	zones, _ := dns.NewZones(zone)
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &dns.Server{
		Handler:        zones,
		RequireCookies: true,
		CookieSecret:   [16]byte{0xe5, 0xe9, 0x73, 0xe5},
		Now:            func() time.Time { return time.Unix(1559731985, 0) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeBoth(pc, ln) }()
	defer func() { srv.Close(); <-done }()

	var c dns.Client
	cookie := dns.Cookie{Client: [8]byte{0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57}}
	for range 2 {
		q := dns.NewQuery(dns.MustParseName("www.networkutopia.com"), dns.TypeA)
		q.EDNS = &dns.EDNS{UDPSize: 1232, Options: []dns.Option{cookie.Option()}}
		fmt.Println("C: www.networkutopia.com A, COOKIE", cookie)
		r, err := c.Exchange(context.Background(), pc.LocalAddr().String(), q)
		if err != nil {
			panic(err)
		}
		cookie, _, _ = r.EDNS.Cookie()
		fmt.Println("S:", r.RCode.String(), "COOKIE", cookie)
		for _, rr := range r.Answers {
			fmt.Println("S:", rr)
		}
	}
	// Output:
	// C: www.networkutopia.com A, COOKIE 2464c4abcf10c957
	// S: BADCOOKIE COOKIE 2464c4abcf10c957010000005cf79f11eea3630a0e856441
	// C: www.networkutopia.com A, COOKIE 2464c4abcf10c957010000005cf79f11eea3630a0e856441
	// S: NOERROR COOKIE 2464c4abcf10c957010000005cf79f11eea3630a0e856441
	// S: www.networkutopia.com.	3600	IN	A	212.212.212.80
}
