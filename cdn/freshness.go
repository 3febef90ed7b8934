package cdn

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Heuristic freshness (RFC 9111 §4.2.2): a response with Last-Modified but no
// explicit lifetime stays fresh for a tenth of its age when it was fetched,
// but never longer than MaxHeuristic.
const (
	HeuristicFraction = 10
	MaxHeuristic      = 24 * time.Hour
)

// Timing is what a cache remembers about when a response was made, so that
// it can tell its age at any later time (RFC 9111 §4.2.3).
type Timing struct {
	RequestTime  time.Time     // when the cache sent the request
	ResponseTime time.Time     // when the response arrived
	Date         time.Time     // the response's Date (ResponseTime when absent)
	AgeValue     time.Duration // the response's Age field, 0 when absent
	Lifetime     time.Duration // freshness lifetime, from FreshnessLifetime
}

// NewTiming reads the Date and Age of a response h that the cache requested
// at reqTime and received at respTime, and its freshness lifetime for a
// shared cache.
func NewTiming(h http.Header, reqTime, respTime time.Time) Timing {
	t := Timing{RequestTime: reqTime, ResponseTime: respTime, Date: respTime}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		t.Date = d
	}
	if a, ok := parseDelta(strings.TrimSpace(h.Get("Age"))); ok {
		t.AgeValue = a
	}
	t.Lifetime = FreshnessLifetime(h, t.Date)
	return t
}

// Age is the response's current_age at now (RFC 9111 §4.2.3): the age it
// had on arrival, corrected for clock skew and the request's round trip,
// plus the time it has spent in the cache since.
func (t Timing) Age(now time.Time) time.Duration {
	apparent := max(0, t.ResponseTime.Sub(t.Date))
	corrected := t.AgeValue + t.ResponseTime.Sub(t.RequestTime)
	initial := max(apparent, corrected)
	return initial + max(0, now.Sub(t.ResponseTime))
}

// Fresh reports whether the response is still fresh at now.
func (t Timing) Fresh(now time.Time) bool { return t.Lifetime > t.Age(now) }

// Staleness is how long past its lifetime the response is at now (0 while
// fresh).
func (t Timing) Staleness(now time.Time) time.Duration {
	return max(0, t.Age(now)-t.Lifetime)
}

// FreshnessLifetime is how long a shared cache may serve the response with
// header h without asking the origin (RFC 9111 §4.2.1): s-maxage, else
// max-age, else Expires minus Date, else a heuristic from Last-Modified.
// date is the response's Date.
func FreshnessLifetime(h http.Header, date time.Time) time.Duration {
	cc := ParseCacheControl(h.Values("Cache-Control"))
	switch {
	case cc.SMaxAge >= 0:
		return cc.SMaxAge
	case cc.MaxAge >= 0:
		return cc.MaxAge
	}
	if exp := h.Get("Expires"); exp != "" {
		// An invalid Expires, such as "0", means already expired (§5.3).
		e, err := http.ParseTime(exp)
		if err != nil {
			return 0
		}
		return max(0, e.Sub(date))
	}
	if lm, err := http.ParseTime(h.Get("Last-Modified")); err == nil && date.After(lm) {
		return min(date.Sub(lm)/HeuristicFraction, MaxHeuristic)
	}
	return 0
}

// heuristicStatus lists the status codes that are cacheable by default
// (RFC 9110 §15.1), so that heuristic freshness may apply to them.
func heuristicStatus(code int) bool {
	switch code {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// Storable reports whether a shared cache may store the response resp to
// the request req (RFC 9111 §3), and if not, why.
func Storable(req *http.Request, status int, h http.Header) (ok bool, why string) {
	if req.Method != http.MethodGet {
		return false, "method " + req.Method
	}
	rq := ParseCacheControl(req.Header.Values("Cache-Control"))
	rs := ParseCacheControl(h.Values("Cache-Control"))
	switch {
	case rq.NoStore:
		return false, "request no-store"
	case rs.NoStore:
		return false, "response no-store"
	case rs.Private:
		return false, "private"
	case strings.TrimSpace(h.Get("Vary")) == "*":
		return false, "Vary: *"
	case status == http.StatusPartialContent:
		return false, "partial content"
	case req.Header.Get("Authorization") != "" && !rs.Public && !rs.MustRevalidate && rs.SMaxAge < 0:
		return false, "authorization"
	}
	explicit := rs.MaxAge >= 0 || rs.SMaxAge >= 0 || h.Get("Expires") != ""
	switch {
	case explicit, rs.Public:
		return true, ""
	case heuristicStatus(status) && (h.Get("Last-Modified") != "" || h.Get("ETag") != "" || rs.NoCache):
		return true, ""
	case heuristicStatus(status):
		return false, "no lifetime and no validator"
	}
	return false, "status " + strconv.Itoa(status)
}

// An Action is what a cache does with a stored response for a request.
type Action int

const (
	Serve      Action = iota // serve it as it is (fresh, a HIT)
	ServeStale               // serve it stale and revalidate it in the background
	Revalidate               // ask the origin first with a conditional request
)

func (a Action) String() string {
	switch a {
	case Serve:
		return "serve"
	case ServeStale:
		return "serve-stale"
	case Revalidate:
		return "revalidate"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Decide is the cache's policy for a stored response (its directives rs,
// its timing t) asked for by a request with directives req, at now (RFC
// 9111 §4, RFC 5861 §3). It is a pure function.
func Decide(req, rs CacheControl, t Timing, now time.Time) Action {
	if req.NoCache || rs.NoCache {
		return Revalidate
	}
	age := t.Age(now)
	if req.MaxAge >= 0 && age > req.MaxAge {
		return Revalidate
	}
	fresh := t.Lifetime - age
	if req.MinFresh >= 0 && fresh < req.MinFresh {
		return Revalidate
	}
	if fresh > 0 {
		return Serve
	}
	if rs.MustRevalidate || rs.ProxyRevalidate {
		return Revalidate
	}
	// The origin's own stale-while-revalidate permits serving stale even
	// with s-maxage, which otherwise implies proxy-revalidate (§5.2.2.10).
	stale := -fresh
	if rs.StaleWhileRevalidate >= 0 && stale <= rs.StaleWhileRevalidate {
		return ServeStale
	}
	if rs.SMaxAge < 0 && req.MaxStale >= 0 && stale <= req.MaxStale {
		return Serve
	}
	return Revalidate
}

// StaleIfError reports whether a cache may serve the stored response (its
// directives rs, its timing t) when revalidating it failed with an error
// or a 5xx status (RFC 5861 §4).
func StaleIfError(req, rs CacheControl, t Timing, now time.Time) bool {
	if rs.MustRevalidate || rs.ProxyRevalidate || rs.NoCache {
		return false
	}
	stale := t.Staleness(now)
	limit := rs.StaleIfError
	if req.StaleIfError >= 0 {
		limit = req.StaleIfError
	}
	return limit >= 0 && stale <= limit
}
