package resolver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/resolver"
	"appnet.dev/sockets/sockettest"
)

// warmNames are the questions both resolvers answer from cache.
var warmNames = []string{
	"gaia.cs.umass.edu A", "www.cs.umass.edu A", "www.umass.edu A", "umass.edu MX",
	"www.nyu.edu A", "www.engineering.nyu.edu A", "smile.amazon.com A", "www.amazon.com A",
	"www.networkutopia.com A", "networkutopia.com MX", "www.wikipedia.org A",
	"12.245.119.128.in-addr.arpa PTR",
}

var qpsLine = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)

// dnsperf runs dnsperf -c 1 -q 100 against addr for a second and returns
// the queries per second it measured.
func dnsperf(b *testing.B, bin, data, addr string) float64 {
	host, port, _ := strings.Cut(addr, ":")
	out, err := exec.Command(bin, "-s", host, "-p", port, "-d", data, "-c", "1", "-q", "100", "-l", "1").CombinedOutput()
	if err != nil {
		b.Fatalf("dnsperf: %v\n%s", err, out)
	}
	m := qpsLine.FindSubmatch(out)
	if m == nil {
		b.Fatalf("dnsperf output:\n%s", out)
	}
	if !strings.Contains(string(out), "Queries lost:         0 ") {
		b.Logf("dnsperf against %s lost queries:\n%s", addr, out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// BenchmarkWarmCacheVsUnbound measures answering from cache: our recursive
// resolver and Unbound, both over the same local hierarchy and warmed with
// the same names, each measured by dnsperf -c 1 -q 100 in turn, three
// rounds each, in one run:
//
//	go test -run XXX -bench WarmCacheVsUnbound -benchtime 1x ./dns/resolver
func BenchmarkWarmCacheVsUnbound(b *testing.B) {
	perf := sockettest.Need(b, "dnsperf", "dnsperf")
	dir := b.TempDir()
	in := startLoopbackInternet(b, dir)
	ub := startUnbound(b, in, dir)
	roots, err := resolver.ReadHints(strings.NewReader(in.Hints()))
	if err != nil {
		b.Fatal(err)
	}
	r := &resolver.Resolver{Roots: roots, Port: in.Port, Cache: &resolver.Cache{}}
	ours := startOurs(b, r)
	data := filepath.Join(dir, "names.txt")
	if err := os.WriteFile(data, []byte(strings.Join(warmNames, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, addr := range []string{ours, ub} {
		for _, line := range warmNames {
			name, typ, _ := strings.Cut(line, " ")
			t, _ := dns.ParseType(typ)
			m := stubAsk(b, addr, name, t)
			if len(m.Answers) == 0 {
				b.Fatalf("%s: no answer for %s", addr, line)
			}
		}
	}
	var oursQPS, ubQPS float64
	for i := 0; i < b.N; i++ {
		for range 3 {
			oursQPS += dnsperf(b, perf, data, ours)
			ubQPS += dnsperf(b, perf, data, ub)
		}
	}
	n := float64(3 * b.N)
	b.ReportMetric(oursQPS/n, "ours-q/s")
	b.ReportMetric(ubQPS/n, "unbound-q/s")
	b.ReportMetric(oursQPS/ubQPS, "ratio")
}

// BenchmarkColdResolution resolves a name of a new domain under a TLD the
// cache knows (.edu), and reports the upstream queries it took and how
// many of them went to the root: the minimum is one per zone below the
// TLD, and none to the root.
func BenchmarkColdResolution(b *testing.B) {
	in, roots := startInternet(b)
	var qs, rootQs float64
	for i := 0; i < b.N; i++ {
		r := newResolver(in, roots, &clock{t: time.Unix(1e9, 0)})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := r.Resolve(ctx, dns.MustParseName("www.nyu.edu"), dns.TypeA); err != nil {
			b.Fatal(err)
		}
		before, rootBefore := sum(r.Queries()), sum(pick(r.Queries(), roots))
		m, err := r.Resolve(ctx, dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
		cancel()
		if err != nil || len(m.Answers) != 1 {
			b.Fatal(m, err)
		}
		qs += float64(sum(r.Queries()) - before)
		rootQs += float64(sum(pick(r.Queries(), roots)) - rootBefore)
	}
	b.ReportMetric(qs/float64(b.N), "upstream-queries/name")
	b.ReportMetric(rootQs/float64(b.N), "root-queries/name")
}
