package dns_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"appnet.dev/dns"
)

// The company's own authoritative server for networkutopia.com, the
// slides' example: an A record for www and an MX record for the domain.
const networkUtopia = `$ORIGIN networkutopia.com.
$TTL 3600
@	SOA	dns1 hostmaster 1 3600 900 604800 300
@	NS	dns1
@	MX	10 mail
dns1	A	212.212.212.1
mail	A	212.212.212.25
www	A	212.212.212.80
`

// Serve the zone on UDP and TCP and ask it for www's address and the
// domain's mail server.
func ExampleServer() {
	zone, err := dns.ReadZone(dns.ZoneFile{Origin: dns.MustParseName("networkutopia.com")}, strings.NewReader(networkUtopia))
	if err != nil {
		panic(err)
	}
	zones, _ := dns.NewZones(zone)
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &dns.Server{Handler: zones}
	done := make(chan error, 1)
	go func() { done <- srv.ServeBoth(pc, ln) }()
	defer func() { srv.Close(); <-done }()

	ctx := context.Background()
	var c dns.Client
	r, err := c.Exchange(ctx, ln.Addr().String(), dns.NewQuery(dns.MustParseName("www.networkutopia.com"), dns.TypeA))
	if err != nil {
		panic(err)
	}
	fmt.Println("authoritative:", r.Authoritative)
	for _, rr := range r.Answers {
		fmt.Println(rr)
	}
	mx, err := c.LookupMX(ctx, ln.Addr().String(), dns.MustParseName("networkutopia.com"))
	if err != nil {
		panic(err)
	}
	fmt.Println("mail for networkutopia.com goes to", mx[0].Exchange)
	// Output:
	// authoritative: true
	// www.networkutopia.com.	3600	IN	A	212.212.212.80
	// mail for networkutopia.com goes to mail.networkutopia.com.
}

// A query and its reply share one format; the reply to "www.networkutopia.com
// A" carries the question back with the answer.
func ExampleMessage() {
	www := dns.MustParseName("www.networkutopia.com")
	reply := &dns.Message{
		Header:    dns.Header{ID: 4242, Response: true, Authoritative: true, RecursionDesired: true},
		Questions: []dns.Question{{Name: www, Type: dns.TypeA, Class: dns.ClassINET}},
		Answers:   []dns.RR{{Name: www, Class: dns.ClassINET, TTL: 3600, Data: &dns.A{Addr: netip.MustParseAddr("212.212.212.80")}}},
	}
	wire, err := reply.Pack()
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", wire[:12])
	var back dns.Message
	if err := back.Unpack(wire); err != nil {
		panic(err)
	}
	fmt.Print(&back)
	// Output:
	// 10 92 85 00 00 01 00 01 00 00 00 00
	// ;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242
	// ;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0
	//
	// ;; QUESTION SECTION:
	// ;www.networkutopia.com.	IN	A
	//
	// ;; ANSWER SECTION:
	// www.networkutopia.com.	3600	IN	A	212.212.212.80
}

// Records in a master file, as the registrar puts them into the .com
// servers: the NS record and its glue A record.
func ExampleZoneFile_Parse() {
	rrs, err := dns.ZoneFile{Name: "com.zone", Origin: dns.MustParseName("com")}.Parse(strings.NewReader(`
$TTL 172800
networkutopia       NS  dns1.networkutopia.com.
dns1.networkutopia  A   212.212.212.1
`))
	if err != nil {
		panic(err)
	}
	for _, rr := range rrs {
		fmt.Println(rr)
	}
	// Output:
	// networkutopia.com.	172800	IN	NS	dns1.networkutopia.com.
	// dns1.networkutopia.com.	172800	IN	A	212.212.212.1
}

func ExampleParseName() {
	n, _ := dns.ParseName("WWW.NetworkUtopia.com")
	fmt.Println(n, n.Labels(), n.Equal(dns.MustParseName("www.networkutopia.com.")))
	// Output: WWW.NetworkUtopia.com. 3 true
}
