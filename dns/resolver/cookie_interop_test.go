package resolver_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
	"appnet.dev/sockets/sockettest"
)

// TestInteropKnotCookies: Knot serves networkutopia.com with its cookies
// module set to answer BADCOOKIE to every query over UDP without a valid
// server cookie. Knot's server cookie is RFC 9018's (ours checks it with
// Knot's secret), a made-up one gets BADCOOKIE, and our resolver, sent
// BADCOOKIE, asks again with Knot's cookie and is answered — over UDP, so
// Knot found the cookie it echoed valid; its next query carries the
// cookie at once. Knot's statistics count the queries with cookies.
func TestInteropKnotCookies(t *testing.T) {
	knotd := sockettest.Need(t, "knotd", "knot")
	knotc := sockettest.Need(t, "knotc", "knot")
	dir := t.TempDir()
	zone, err := os.ReadFile("../testdata/networkutopia.com.zone")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "networkutopia.com.zone"), zone, 0o644); err != nil {
		t.Fatal(err)
	}
	secret := [16]byte{0xe5, 0xe9, 0x73, 0xe5, 0xa6, 0xb2, 0xa4, 0x3f, 0x48, 0xe7, 0xdc, 0x84, 0x9e, 0x37, 0xbf, 0xcf}
	port := sockettest.FreePort(t)
	conf := fmt.Sprintf(`server:
    listen: 127.0.0.1@%[1]d
    rundir: "%[2]s"
database:
    storage: "%[2]s"
log:
  - target: "%[2]s/knot.log"
    any: info
mod-cookies:
  - id: strict
    secret: 0x%[3]x
    badcookie-slip: 1
template:
  - id: default
    global-module: mod-cookies/strict
zone:
  - domain: networkutopia.com
    file: "%[2]s/networkutopia.com.zone"
`, port, dir, secret)
	cf := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	peer := sockettest.StartProcess(t, context.Background(), exec.Command(knotd, "-c", cf))
	addr := "127.0.0.1:" + strconv.Itoa(port)
	www := dns.MustParseName("www.networkutopia.com")
	waitAnswer(t, peer, addr, www, dns.TypeA)
	lo := netip.MustParseAddr("127.0.0.1")

	// Knot's cookie, checked by ours.
	var c dns.Client
	ask := func(ck dns.Cookie) *dns.Message {
		q := dns.NewQuery(www, dns.TypeA)
		q.EDNS = &dns.EDNS{UDPSize: 1232, Options: []dns.Option{ck.Option()}}
		m, err := c.Exchange(ctxT(t), addr, q)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	mine := dns.Cookie{Client: [8]byte{0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57}}
	m := ask(mine)
	knots, ok, err := m.EDNS.Cookie()
	if m.RCode != dns.RCodeBadCookie || !ok || err != nil || knots.Client != mine.Client {
		t.Fatalf("client cookie alone: want BADCOOKIE with our cookie back:\n%v", m)
	}
	check := dns.CheckServerCookie(knots, lo, time.Now(), &secret)
	t.Logf("Knot: %s for a client cookie alone, COOKIE %s: ours says %q", m.RCode.String(), knots, check.Reason)
	if !check.Valid {
		t.Errorf("Knot's server cookie %x is not RFC 9018's with its secret: %s", knots.Server, check.Reason)
	}
	if m = ask(knots); m.RCode != dns.RCodeSuccess || len(m.Answers) == 0 {
		t.Errorf("Knot's own cookie sent back: want the answer:\n%v", m)
	}
	madeUp := dns.Cookie{Client: mine.Client, Server: []byte("0123456789abcdef")}
	if m = ask(madeUp); m.RCode != dns.RCodeBadCookie {
		t.Errorf("a made-up server cookie: want BADCOOKIE, got %v", m.RCode)
	}

	r := &resolver.Resolver{Roots: []resolver.NameServer{{Addr: lo}}, Port: port}
	if got := resolveA(t, r, "www.networkutopia.com"); len(got) != 3 {
		t.Fatalf("www.networkutopia.com: %v", got)
	}
	if q := r.Queries()[lo]; q != 2 {
		t.Errorf("%d queries to Knot for the first name, want 2: BADCOOKIE, then answered over UDP with its cookie", q)
	}
	if got := resolveA(t, r, "mail.networkutopia.com"); len(got) != 1 {
		t.Fatalf("mail.networkutopia.com: %v", got)
	}
	if q := r.Queries()[lo]; q != 3 {
		t.Errorf("%d queries after the second name, want 3: the cookie is sent at once", q)
	}
	if r.ForgedReplies() != 0 {
		t.Errorf("%d of Knot's replies called forged", r.ForgedReplies())
	}
	out, err := exec.Command(knotc, "-s", filepath.Join(dir, "knot.sock"), "stats").CombinedOutput()
	if err != nil {
		t.Fatalf("knotc stats: %v\n%s", err, out)
	}
	// Our three queries with a cookie, and the resolver's three.
	presence := regexp.MustCompile(`mod-cookies\.presence = (\d+)`).FindSubmatch(out)
	if presence == nil {
		t.Fatalf("knotc stats without mod-cookies.presence:\n%s", out)
	}
	t.Logf("knotc stats: %s", presence[0])
	if n, _ := strconv.Atoi(string(presence[1])); n != 6 {
		t.Errorf("Knot counted %d queries with cookies, want 6", n)
	}
}
