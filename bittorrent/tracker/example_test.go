package tracker_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"appnet.dev/bittorrent/tracker"
)

// Alice joins a torrent: she registers with the tracker and gets the
// peers already there; later she tells the tracker she has the whole file.
// The tracker's transcript is the slide's.
func ExampleServer() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	srv := &tracker.Server{Trace: os.Stdout, Now: func() time.Time { return now }}

	get := func(from, query string) {
		r := httptest.NewRequest("GET", "/announce?"+query, nil)
		r.RemoteAddr = from
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
	}
	hash := "info_hash=%C1%2F%E1%C0k%BA%25J%9D%C9%F5%19%B35%AA%7C%13g%A8%8A"
	get("127.0.0.3:40001", hash+"&peer_id=-AP0001-bob.........&port=6881&left=0&event=started")
	get("127.0.0.2:40002", hash+"&peer_id=-AP0001-alice.......&port=6881&left=1000&event=started")
	get("127.0.0.2:40002", hash+"&peer_id=-AP0001-alice.......&port=6881&left=0&event=completed")
	// Output:
	// C: GET /announce?info_hash=%C1%2F%E1%C0k%BA%25J%9D%C9%F5%19%B35%AA%7C%13g%A8%8A&peer_id=-AP0001-bob.........&port=6881&left=0&event=started (from 127.0.0.3)
	// S: interval=30m0s complete=1 incomplete=0 peers=[]
	// C: GET /announce?info_hash=%C1%2F%E1%C0k%BA%25J%9D%C9%F5%19%B35%AA%7C%13g%A8%8A&peer_id=-AP0001-alice.......&port=6881&left=1000&event=started (from 127.0.0.2)
	// S: interval=30m0s complete=1 incomplete=1 peers=[127.0.0.3:6881]
	// C: GET /announce?info_hash=%C1%2F%E1%C0k%BA%25J%9D%C9%F5%19%B35%AA%7C%13g%A8%8A&peer_id=-AP0001-alice.......&port=6881&left=0&event=completed (from 127.0.0.2)
	// S: interval=30m0s complete=2 incomplete=0 peers=[]
}

// The retransmission schedule of BEP 15: 15 s, then twice as long each
// time.
func ExampleRetryTimeout() {
	for n := range 4 {
		fmt.Println(n, tracker.RetryTimeout(15*time.Second, n))
	}
	// Output:
	// 0 15s
	// 1 30s
	// 2 1m0s
	// 3 2m0s
}
