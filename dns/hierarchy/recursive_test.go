package hierarchy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
	"appnet.dev/sockets/sockettest"
)

// forwarded returns each server's count of queries sent on its callers'
// behalf, by name, leaving out the servers that sent none.
func forwarded(in *hierarchy.Internet) map[string]int {
	out := map[string]int{}
	for _, h := range in.Hosts {
		if n := h.Forwarded(); n > 0 {
			out[h.Name] = n
		}
	}
	return out
}

// TestRecursiveQueryTravelsTheChain is the slides' recursive query: the
// host sends gaia.cs.umass.edu's question with RD to a root server, which
// asks the .edu server on its behalf, which asks umass.edu's, which asks
// cs.umass.edu's; the answer comes back along the chain. Sent without RD,
// the same question gets the iterated query's referral, and the root does
// no more work.
func TestRecursiveQueryTravelsTheChain(t *testing.T) {
	in, err := hierarchy.Start(hierarchy.Config{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	root := in.Host("a.root-servers.net")
	c := dns.Client{Dial: in.Dial}
	gaia := dns.MustParseName("gaia.cs.umass.edu")

	// Iterated: a referral to .edu, and the root asks no one.
	r, err := c.Exchange(ctx, root.Public.String()+":53", dns.NewQuery(gaia, dns.TypeA))
	if err != nil || len(r.Answers) != 0 || len(r.Authorities) == 0 {
		t.Fatalf("iterated query to the root: %v %v", r, err)
	}
	if got := forwarded(in); len(got) != 0 {
		t.Fatalf("an iterated query made servers work on the caller's behalf: %v", got)
	}

	// Recursive: the answer, and one query from each server on the way.
	q := dns.NewQuery(gaia, dns.TypeA)
	q.RecursionDesired = true
	r, err = c.Exchange(ctx, root.Public.String()+":53", q)
	if err != nil || !r.RecursionAvailable || r.Authoritative || len(r.Answers) != 1 || r.Answers[0].Data.String() != "128.119.245.12" {
		t.Fatalf("recursive query to the root: %v %v", r, err)
	}
	want := map[string]int{"a.root-servers.net": 1, "a.edu-servers.net": 1, "dns.umass.edu": 1}
	if got := forwarded(in); !equal(got, want) {
		t.Errorf("queries sent on a caller's behalf: %v, want %v", got, want)
	}
}

// TestRecursiveQueryTrace: the trace shows the query going down the chain
// and the answer coming back up, in that order; a server whose referral
// lacks glue (amazon.com's, under .net) finds its address recursively too.
func TestRecursiveQueryTrace(t *testing.T) {
	var trace sockettest.SyncBuffer
	in, err := hierarchy.Start(hierarchy.Config{Recursive: true, Trace: &trace})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dns.Client{Dial: in.Dial}
	q := dns.NewQuery(dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
	q.RecursionDesired = true
	if _, err := c.Exchange(ctx, in.Host("a.root-servers.net").Public.String()+":53", q); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for line := range strings.Lines(trace.String()) {
		if strings.Contains(line, " → ") {
			steps = append(steps, strings.TrimSpace(line))
		}
	}
	want := []string{
		"a.root-servers.net → a.edu-servers.net: gaia.cs.umass.edu. A? (RD: on behalf of its caller)",
		"a.edu-servers.net → dns.umass.edu: gaia.cs.umass.edu. A? (RD: on behalf of its caller)",
		"dns.umass.edu → dns.cs.umass.edu: gaia.cs.umass.edu. A? (RD: on behalf of its caller)",
		"dns.cs.umass.edu → dns.umass.edu: gaia.cs.umass.edu. A 128.119.245.12 (passed back to the caller)",
		"dns.umass.edu → a.edu-servers.net: gaia.cs.umass.edu. A 128.119.245.12 (passed back to the caller)",
		"a.edu-servers.net → a.root-servers.net: gaia.cs.umass.edu. A 128.119.245.12 (passed back to the caller)",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Errorf("the chain:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}

	q = dns.NewQuery(dns.MustParseName("www.amazon.com"), dns.TypeA)
	q.RecursionDesired = true
	r, err := c.Exchange(ctx, in.Host("b.root-servers.net").Public.String()+":53", q)
	if err != nil || r.RCode != dns.RCodeSuccess || len(r.Answers) != 2 || r.Answers[1].Data.String() != "205.251.242.103" {
		t.Fatalf("www.amazon.com through a referral without glue: %v %v", r, err)
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
