package main

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
)

func TestDigPrintsLikeDig(t *testing.T) {
	f, err := os.Open("../../../dns/testdata/networkutopia.com.zone")
	if err != nil {
		t.Fatal(err)
	}
	zone, err := dns.ReadZone(dns.ZoneFile{Name: f.Name(), Origin: dns.MustParseName("networkutopia.com")}, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	zs, _ := dns.NewZones(zone)
	pc, ln, err := dns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// It requires DNS Cookies, which changes nothing for queries without
	// a COOKIE option.
	s := &dns.Server{Handler: zs, RequireCookies: true}
	done := make(chan error, 1)
	go func() { done <- s.ServeBoth(pc, ln) }()
	defer func() { s.Close(); <-done }()
	host, port, _ := net.SplitHostPort(ln.Addr().String())

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"@" + host, "-p", port, "networkutopia.com", "MX", "+norec"}, []string{
			";; ->>HEADER<<- opcode: QUERY, status: NOERROR",
			";; flags: qr aa; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 4",
			";networkutopia.com.\tIN\tMX",
			";; ANSWER SECTION:\nnetworkutopia.com.\t3600\tIN\tMX\t10 mail.networkutopia.com.",
			";; ADDITIONAL SECTION:\nmail.networkutopia.com.\t3600\tIN\tA\t212.212.212.25",
			"(UDP)"}},
		{[]string{"@" + host, "-p", port, "nothere.networkutopia.com", "+tcp", "+noedns"}, []string{
			"status: NXDOMAIN", ";; flags: qr aa rd;", ";; AUTHORITY SECTION:", "(TCP)"}},
		{[]string{"@" + host, "-p", port, "www.networkutopia.com", "+dialogue"}, []string{
			"C: query id", "S: reply id", "S:   answer     www.networkutopia.com. 3600 IN A"}},
		// DNS Cookies: the first answer is BADCOOKIE with the server's
		// cookie, asked again with it.
		{[]string{"@" + host, "-p", port, "www.networkutopia.com", "+cookie"}, []string{
			";; BADCOOKIE, retrying.", "status: NOERROR", "; COOKIE: ", " (good)\n"}},
		{[]string{"@" + host, "-p", port, "www.networkutopia.com", "+cookie", "+nobadcookie"}, []string{
			"status: BADCOOKIE", " (good)\n"}},
	} {
		var out strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, &out, tc.args)
		cancel()
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out.String())
			}
		}
	}
	var out strings.Builder
	if err := run(context.Background(), &out, []string{"+bogus"}); err == nil {
		t.Error("unknown option accepted")
	}
}
