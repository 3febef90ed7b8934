package resolver_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
	"appnet.dev/dns/resolver"
)

// The slides' iterated query: dns.nyu.edu, the local DNS server of the host
// at engineering.nyu.edu, resolves gaia.cs.umass.edu from a root server
// down; each server that does not know the name says which server to ask.
func Example() {
	in, err := hierarchy.Start(hierarchy.Config{})
	if err != nil {
		panic(err)
	}
	defer in.Close()
	roots, _ := resolver.ReadHints(strings.NewReader(in.Hints()))
	r := &resolver.Resolver{
		Roots: roots[:1], // a.root-servers.net
		Dial:  in.Dial,   // the hierarchy's addresses, reached on loopback
		Cache: &resolver.Cache{},
		Name:  "dns.nyu.edu",
		Trace: os.Stdout,
	}
	m, err := r.Resolve(context.Background(), dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA)
	if err != nil {
		panic(err)
	}
	fmt.Println("answer:", m.Answers[0].Data)
	// Output:
	// dns.nyu.edu → a.root-servers.net (198.41.0.4): gaia.cs.umass.edu. A?
	// a.root-servers.net: I don't know gaia.cs.umass.edu., but ask this server: a.edu-servers.net (192.12.94.30) (for edu.)
	// dns.nyu.edu → a.edu-servers.net (192.12.94.30): gaia.cs.umass.edu. A?
	// a.edu-servers.net: I don't know gaia.cs.umass.edu., but ask this server: dns.umass.edu (128.119.40.186) (for umass.edu.)
	// dns.nyu.edu → dns.umass.edu (128.119.40.186): gaia.cs.umass.edu. A?
	// dns.umass.edu: I don't know gaia.cs.umass.edu., but ask this server: dns.cs.umass.edu (128.119.240.1) (for cs.umass.edu.)
	// dns.nyu.edu → dns.cs.umass.edu (128.119.240.1): gaia.cs.umass.edu. A?
	// dns.cs.umass.edu: gaia.cs.umass.edu.	3600	IN	A	128.119.245.12
	// answer: 128.119.245.12
}
