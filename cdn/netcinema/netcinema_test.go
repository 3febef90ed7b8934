package netcinema

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"appnet.dev/dash"
)

func TestScene(t *testing.T) {
	// A small trailer: two low rates keep encoding and decoding quick.
	c := dash.DemoContent(4 * time.Second)
	c.Rates = []dash.Rate{{ID: "low", Width: 64, Height: 36, Step: 16}, {ID: "high", Width: 128, Height: 72, Step: 4}}
	enc, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("failed edge", func(t *testing.T) { testFailedEdge(t, enc) })
	t.Run("congested path", func(t *testing.T) { testCongestedPath(t, enc) })
}

func testFailedEdge(t *testing.T, enc *dash.Encoded) {
	var trace bytes.Buffer
	s := &Scene{Content: enc, FailAfter: 2, Trace: &trace}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.Run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace.String())
	}
	if res.VideoURL != "http://video.netcinema.com"+VideoPath {
		t.Errorf("video link %q", res.VideoURL)
	}
	if len(res.Chain) < 2 || !strings.Contains(res.Chain[0], "CNAME") || !strings.Contains(res.Chain[0], KingCDNName) {
		t.Errorf("DNS chain %q: want the CNAME into KingCDN first", res.Chain)
	}
	// Bob's local DNS server walked down from the root and followed the
	// CNAME into KingCDN's DNS.
	for _, step := range []string{
		"local DNS → a.root-servers.net (127.0.0.100): www.netcinema.com. A?",
		"ask this server: ns.netcinema.com (127.0.0.3)",
		"ns.netcinema.com: video.netcinema.com.\t3600\tIN\tCNAME\t" + KingCDNName,
		"ask this server: ns.kingcdn.com (127.0.0.5)",
		"local DNS → ns.kingcdn.com (127.0.0.5): " + KingCDNName + " A?",
		// and Bob's client's later lookups come from its TTL cache.
		"local DNS: video.netcinema.com. A from the cache",
	} {
		if !strings.Contains(trace.String(), step) {
			t.Errorf("trace lacks %q:\n%s", step, trace.String())
		}
	}
	// KingCDN saw the local DNS server's address, in Bob's ISP (where the
	// system lets the resolver send from it: any 127/8 address on Linux).
	if pc, err := net.ListenPacket("udp", "127.0.0.53:0"); err == nil {
		pc.Close()
		if want := "kingcdn dns: " + KingCDNName + " for client 127.0.0.53 -> bos"; !strings.Contains(trace.String(), want) {
			t.Errorf("trace lacks %q:\n%s", want, trace.String())
		}
	}
	for _, rr := range res.Chain[1:] {
		if !strings.Contains(rr, "127.0.0.1") { // bos1 .11 or bos2 .12: Boston
			t.Errorf("answer %q: want a Boston edge for the local DNS server in Bob's Boston ISP", rr)
		}
	}
	if !strings.HasPrefix(res.Failed, "bos") {
		t.Fatalf("failed edge %q, want a Boston one", res.Failed)
	}
	if res.Report == nil || len(res.Report.Chunks) != 4 || res.Report.Frames == 0 {
		t.Fatalf("report: want all 4 chunks played and decoded:\n%s", trace.String())
	}
	other := "bos1.kingcdn.com"
	if res.Failed == other {
		other = "bos2.kingcdn.com"
	}
	if res.Served[res.Failed] == 0 || res.Served[other] == 0 {
		t.Errorf("served %v: want both Boston edges to have served Bob", res.Served)
	}
	failedAddr := map[string]string{"bos1.kingcdn.com": "127.0.0.11", "bos2.kingcdn.com": "127.0.0.12"}[res.Failed]
	for _, a := range res.After {
		if a == failedAddr {
			t.Errorf("after the failure KingCDN still answers %s, the failed edge", a)
		}
	}
	if len(res.After) == 0 {
		t.Error("no DNS answer after the failure")
	}
}

func TestLinks(t *testing.T) {
	page := `<html><body><a href="/a">x</a><video src="http://video.netcinema.com/v.mpd"></video>
<a name="n">no href</a><A HREF='http://b'>B</A><source src=s.mp4></body></html>`
	got := strings.Join(Links(strings.NewReader(page)), " ")
	if want := "/a http://video.netcinema.com/v.mpd http://b s.mp4"; got != want {
		t.Errorf("Links = %q, want %q", got, want)
	}
}

func testCongestedPath(t *testing.T, enc *dash.Encoded) {
	var trace bytes.Buffer
	s := &Scene{Content: enc, FailAfter: 2, Congest: true, AttemptTimeout: 500 * time.Millisecond, Trace: &trace}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.Run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, trace.String())
	}
	if res.Congested == "" || res.Failed != "" {
		t.Fatalf("congested %q failed %q", res.Congested, res.Failed)
	}
	if len(res.Report.Chunks) != 4 || res.Report.Frames == 0 {
		t.Fatalf("want all 4 chunks played and decoded:\n%s", trace.String())
	}
	if !strings.Contains(trace.String(), "trying another copy") {
		t.Errorf("no failover in the trace:\n%s", trace.String())
	}
	// The first chunk after the congestion came from the other copy.
	other := "bos1.kingcdn.com"
	if res.Congested == other {
		other = "bos2.kingcdn.com"
	}
	if res.Served[other] == 0 {
		t.Errorf("served %v: want %s to have taken over", res.Served, other)
	}
}
