package cdn

import (
	"net/http"
	"testing"
	"time"
)

func TestFreshnessLifetime(t *testing.T) {
	date := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		fields []string
		want   time.Duration
	}{
		{[]string{"Cache-Control", "max-age=60"}, time.Minute},
		{[]string{"Cache-Control", "max-age=60, s-maxage=5"}, 5 * time.Second},
		{[]string{"Cache-Control", "max-age=60", "Expires", "Wed, 25 Nov 2026 13:00:00 GMT"}, time.Minute},
		{[]string{"Expires", "Wed, 25 Nov 2026 13:00:00 GMT"}, time.Hour},
		{[]string{"Expires", "Wed, 25 Nov 2026 11:00:00 GMT"}, 0},
		{[]string{"Expires", "0"}, 0},
		{[]string{"Last-Modified", "Wed, 25 Nov 2026 02:00:00 GMT"}, time.Hour},      // 10 h old: a tenth
		{[]string{"Last-Modified", "Wed, 25 Nov 2020 12:00:00 GMT"}, MaxHeuristic},   // capped
		{[]string{"Cache-Control", "max-age=oops"}, 0},                               // invalid: stale
		{[]string{"Cache-Control", "max-age=99999999999"}, 2147483648 * time.Second}, // capped at 2^31
		{nil, 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		for i := 0; i < len(tt.fields); i += 2 {
			h.Add(tt.fields[i], tt.fields[i+1])
		}
		if got := FreshnessLifetime(h, date); got != tt.want {
			t.Errorf("%v: lifetime %v, want %v", tt.fields, got, tt.want)
		}
	}
}

func TestAge(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// Sent at t0, answered 2 s later with Age: 10 and a Date 1 s before
	// the answer: corrected age 10+2 = 12 s beats apparent age 1 s.
	tm := Timing{RequestTime: t0, ResponseTime: t0.Add(2 * time.Second), Date: t0.Add(time.Second), AgeValue: 10 * time.Second, Lifetime: 20 * time.Second}
	if got := tm.Age(t0.Add(2 * time.Second)); got != 12*time.Second {
		t.Errorf("age on arrival %v, want 12s", got)
	}
	if got := tm.Age(t0.Add(7 * time.Second)); got != 17*time.Second {
		t.Errorf("age 5 s later %v, want 17s", got)
	}
	if !tm.Fresh(t0.Add(9*time.Second)) || tm.Fresh(t0.Add(10*time.Second)) {
		t.Error("want fresh until age 20 s, at t0+10s")
	}
	// A Date in the future (clock skew) does not make the age negative.
	skew := Timing{RequestTime: t0, ResponseTime: t0, Date: t0.Add(time.Hour)}
	if got := skew.Age(t0); got != 0 {
		t.Errorf("age with a future Date %v, want 0", got)
	}
}

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	timing := Timing{RequestTime: t0, ResponseTime: t0, Date: t0, Lifetime: 60 * time.Second}
	cc := func(s string) CacheControl { return ParseCacheControl([]string{s}) }
	tests := []struct {
		req, resp string
		at        time.Duration
		want      Action
		sie       bool
	}{
		{"", "max-age=60", 10 * time.Second, Serve, false},
		{"", "max-age=60", 70 * time.Second, Revalidate, false},
		{"no-cache", "max-age=60", 10 * time.Second, Revalidate, false},
		{"max-age=5", "max-age=60", 10 * time.Second, Revalidate, false},
		{"min-fresh=55", "max-age=60", 10 * time.Second, Revalidate, false},
		{"max-stale=20", "max-age=60", 70 * time.Second, Serve, false},
		{"max-stale=5", "max-age=60", 70 * time.Second, Revalidate, false},
		{"max-stale=20", "max-age=60, must-revalidate", 70 * time.Second, Revalidate, false},
		{"", "no-cache", 10 * time.Second, Revalidate, false},
		{"", "max-age=60, stale-while-revalidate=30", 80 * time.Second, ServeStale, false},
		{"", "max-age=60, stale-while-revalidate=30", 95 * time.Second, Revalidate, false},
		{"", "max-age=60, stale-if-error=30", 80 * time.Second, Revalidate, true},
		{"", "max-age=60, stale-if-error=30", 95 * time.Second, Revalidate, false},
		{"stale-if-error=60", "max-age=60", 95 * time.Second, Revalidate, true},
		{"", "max-age=60, stale-if-error=30, must-revalidate", 80 * time.Second, Revalidate, false},
		{"", "s-maxage=60, stale-while-revalidate=30", 80 * time.Second, ServeStale, false},
		{"max-stale=20", "s-maxage=60", 70 * time.Second, Revalidate, false},
	}
	for _, tt := range tests {
		now := t0.Add(tt.at)
		if got := Decide(cc(tt.req), cc(tt.resp), timing, now); got != tt.want {
			t.Errorf("request %q, response %q at +%v: %v, want %v", tt.req, tt.resp, tt.at, got, tt.want)
		}
		if got := StaleIfError(cc(tt.req), cc(tt.resp), timing, now); got != tt.sie {
			t.Errorf("request %q, response %q at +%v: stale-if-error %v, want %v", tt.req, tt.resp, tt.at, got, tt.sie)
		}
	}
}

func TestStorable(t *testing.T) {
	tests := []struct {
		method string
		status int
		req    []string
		resp   []string
		want   bool
	}{
		{"GET", 200, nil, []string{"Cache-Control", "max-age=60"}, true},
		{"POST", 200, nil, []string{"Cache-Control", "max-age=60"}, false},
		{"GET", 200, []string{"Cache-Control", "no-store"}, []string{"Cache-Control", "max-age=60"}, false},
		{"GET", 200, nil, []string{"Cache-Control", "private, max-age=60"}, false},
		{"GET", 200, nil, []string{"Cache-Control", "max-age=60", "Vary", "*"}, false},
		{"GET", 200, []string{"Authorization", "Basic x"}, []string{"Cache-Control", "max-age=60"}, false},
		{"GET", 200, []string{"Authorization", "Basic x"}, []string{"Cache-Control", "public, max-age=60"}, true},
		{"GET", 200, nil, []string{"ETag", `"x"`}, true},
		{"GET", 200, nil, nil, false},
		{"GET", 404, nil, []string{"Last-Modified", "Wed, 25 Nov 2026 02:00:00 GMT"}, true},
		{"GET", 500, nil, []string{"Last-Modified", "Wed, 25 Nov 2026 02:00:00 GMT"}, false},
		{"GET", 500, nil, []string{"Cache-Control", "max-age=5"}, true},
		{"GET", 206, nil, []string{"Cache-Control", "max-age=5"}, false},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "http://netcinema.com/", nil)
		for i := 0; i < len(tt.req); i += 2 {
			req.Header.Add(tt.req[i], tt.req[i+1])
		}
		h := http.Header{}
		for i := 0; i < len(tt.resp); i += 2 {
			h.Add(tt.resp[i], tt.resp[i+1])
		}
		if got, why := Storable(req, tt.status, h); got != tt.want {
			t.Errorf("%s %d req %v resp %v: storable %v (%s), want %v", tt.method, tt.status, tt.req, tt.resp, got, why, tt.want)
		}
	}
}

func TestEdgeMemoryStaysBounded(t *testing.T) {
	f := newFixture(t, func(e *Edge) { e.Cache = NewCache(64<<10, NewGDSF()) })
	f.origin.set(200, string(make([]byte, 3000)), "Cache-Control", "max-age=600")
	for i := range 100 {
		if r := f.get(t, "/seg/"+string(rune('a'+i%26))+string(rune('a'+i/26))); r.status != 200 || len(r.body) != 3000 {
			t.Fatalf("request %d: %d, %d bytes", i, r.status, len(r.body))
		}
		if s := f.edge.CacheStats(); s.Bytes > 64<<10 {
			t.Fatalf("after %d objects the cache holds %d bytes > %d", i+1, s.Bytes, 64<<10)
		}
	}
	if s := f.edge.CacheStats(); s.Evictions == 0 {
		t.Errorf("stats %+v: want evictions", s)
	}
}
