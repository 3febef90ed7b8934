package main

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"appnet.dev/dns"
)

// startAuthserver runs the command's server in-process on a free port.
func startAuthserver(t *testing.T, trace io.Writer) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, io.Discard, "127.0.0.1:0", []string{
			"../../../dns/testdata/networkutopia.com.zone",
			"212.212.212.in-addr.arpa=../../../dns/testdata/212.212.212.in-addr.arpa.zone",
		}, trace, 0, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return addr
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return ""
}

func TestAuthserverAnswers(t *testing.T) {
	var trace safeWriter
	addr := startAuthserver(t, &trace)
	var c dns.Client
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mx, err := c.LookupMX(ctx, addr, dns.MustParseName("networkutopia.com"))
	if err != nil || len(mx) != 2 || mx[0].Exchange.String() != "mail.networkutopia.com." {
		t.Fatalf("MX %v %v", mx, err)
	}
	ptr, err := c.Lookup(ctx, addr, dns.MustParseName("80.212.212.212.in-addr.arpa"), dns.TypePTR)
	if err != nil || len(ptr) != 1 {
		t.Fatalf("PTR %v %v", ptr, err)
	}
	_, err = c.Lookup(ctx, addr, dns.MustParseName("www.crepes.fr"), dns.TypeA)
	if !errors.Is(err, dns.RCodeRefused) {
		t.Errorf("a name of no zone: %v, want REFUSED", err)
	}
	if !strings.Contains(trace.String(), "C:   question   networkutopia.com. IN MX") {
		t.Errorf("trace:\n%s", trace.String())
	}
}

// The real dig, kdig and drill ask the command's server.
func TestAuthserverWithRealClients(t *testing.T) {
	addr := startAuthserver(t, nil)
	host, port, _ := strings.Cut(addr, ":")
	for _, tc := range []struct {
		bin, pkg string
		args     []string
		want     []string
	}{
		{"dig", "bind9-dnsutils", []string{"@" + host, "-p", port, "+norec", "www.networkutopia.com", "A"},
			[]string{"flags: qr aa;", "ANSWER: 3,", "212.212.212.80", "212.212.212.82"}},
		{"dig", "bind9-dnsutils", []string{"@" + host, "-p", port, "+tcp", "+norec", "networkutopia.com", "MX"},
			[]string{"status: NOERROR", "10 mail.networkutopia.com.", "mail.networkutopia.com.\t3600\tIN\tA\t212.212.212.25"}},
		{"kdig", "knot-dnsutils", []string{"@" + host, "-p", port, "+norec", "nothere.networkutopia.com", "A"},
			[]string{"status: NXDOMAIN", "SOA"}},
		{"drill", "ldnsutils", []string{"-p", port, "web.networkutopia.com", "A", "@" + host},
			[]string{"rcode: NOERROR", "CNAME", "www.networkutopia.com."}},
	} {
		bin, err := exec.LookPath(tc.bin)
		if err != nil {
			t.Skipf("%s not installed (Debian package %s)", tc.bin, tc.pkg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		out, err := exec.CommandContext(ctx, bin, tc.args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.bin, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s %s: output lacks %q:\n%s", tc.bin, strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

// safeWriter keeps the server's trace for the test to read: the server
// writes from its goroutines, the test reads after the reply arrived, an
// order the race detector cannot see through the network.
type safeWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *safeWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
