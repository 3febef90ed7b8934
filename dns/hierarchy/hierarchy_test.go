package hierarchy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"appnet.dev/dns"
	"appnet.dev/dns/hierarchy"
)

// TestEveryServerAnswersForItsZones asks each server, through the
// Internet's dialer and at its public address, for the SOA of each of its
// zones: an authoritative answer each time.
func TestEveryServerAnswersForItsZones(t *testing.T) {
	dir := t.TempDir()
	in, err := hierarchy.Start(hierarchy.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dns.Client{Dial: in.Dial}
	for _, h := range in.Hosts {
		for _, z := range h.Zones {
			origin := dns.Name{}
			if z != "." {
				origin = dns.MustParseName(z)
			}
			r, err := c.Exchange(ctx, h.Public.String()+":53", dns.NewQuery(origin, dns.TypeSOA))
			if err != nil || !r.Authoritative || len(r.Answers) != 1 {
				t.Errorf("%s for %s: %v %v", h.Name, z, r, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "named.root")); err != nil {
			t.Error(err)
		}
	}
	// The .edu server refers umass.edu with glue for dns.umass.edu.
	r, err := c.Exchange(ctx, "192.12.94.30:53", dns.NewQuery(dns.MustParseName("gaia.cs.umass.edu"), dns.TypeA))
	if err != nil || r.Authoritative || len(r.Authorities) != 1 || len(r.Additionals) != 1 || r.Additionals[0].Data.String() != "128.119.40.186" {
		t.Errorf("edu referral: %v %v", r, err)
	}
	// Nothing else is reachable.
	if _, err := in.Dial(ctx, "udp", "8.8.8.8:53"); err == nil {
		t.Error("dialled outside the local Internet")
	}
}

func TestUnregistered(t *testing.T) {
	in, err := hierarchy.Start(hierarchy.Config{Unregistered: []string{"networkutopia.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, rr := range in.ZoneRecords("com") {
		if rr.Name.IsSubdomainOf(dns.MustParseName("networkutopia.com")) {
			t.Errorf(".com still holds %v", rr)
		}
	}
	if len(in.ZoneRecords("networkutopia.com")) < 3 {
		t.Error("the company's own zone is gone")
	}
}
