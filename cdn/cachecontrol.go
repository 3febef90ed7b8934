package cdn

import (
	"strconv"
	"strings"
	"time"
)

// NotSet is the value of a CacheControl duration whose directive is absent.
const NotSet time.Duration = -1

// maxDelta is the largest delta-seconds a cache keeps: RFC 9111 §1.2.2 says
// a larger value is taken as 2147483648 seconds (about 68 years).
const maxDelta = 2147483648 * time.Second

// CacheControl holds the directives of Cache-Control header fields (RFC 9111
// §5.2, with stale-while-revalidate and stale-if-error from RFC 5861). A
// duration is NotSet when its directive is absent. The zero value is not
// useful: start from ParseCacheControl(nil).
type CacheControl struct {
	// Response and request directives.
	MaxAge  time.Duration // max-age
	NoCache bool          // no-cache: use a stored copy only after revalidating it
	NoStore bool          // no-store: do not store at all

	// Response directives.
	SMaxAge              time.Duration // s-maxage: max-age for shared caches such as an edge
	Private              bool          // private: only the user's own cache may store it
	Public               bool          // public: storable even where it would not be
	MustRevalidate       bool          // must-revalidate: never serve it stale
	ProxyRevalidate      bool          // proxy-revalidate: must-revalidate for shared caches
	Immutable            bool          // immutable (RFC 8246)
	StaleWhileRevalidate time.Duration // stale-while-revalidate (RFC 5861 §3)
	StaleIfError         time.Duration // stale-if-error (RFC 5861 §4)

	// Request directives.
	MaxStale     time.Duration // max-stale; maxDelta when given without a value
	MinFresh     time.Duration // min-fresh
	OnlyIfCached bool          // only-if-cached
}

// ParseCacheControl reads the directives of every Cache-Control field value
// in fields. Directive names are case-insensitive; unknown directives are
// ignored, as RFC 9111 §5.2.3 requires. A max-age or s-maxage whose value is
// not delta-seconds is read as 0, so the response counts as stale (§4.2.1).
// Other malformed directives are ignored.
func ParseCacheControl(fields []string) CacheControl {
	cc := CacheControl{
		MaxAge: NotSet, SMaxAge: NotSet,
		StaleWhileRevalidate: NotSet, StaleIfError: NotSet,
		MaxStale: NotSet, MinFresh: NotSet,
	}
	for _, f := range fields {
		for f != "" {
			var name, value string
			var hasValue bool
			name, value, hasValue, f = nextDirective(f)
			switch strings.ToLower(name) {
			case "max-age":
				cc.MaxAge = deltaOrStale(value, hasValue)
			case "s-maxage":
				cc.SMaxAge = deltaOrStale(value, hasValue)
			case "no-cache":
				cc.NoCache = true
			case "no-store":
				cc.NoStore = true
			case "private":
				cc.Private = true
			case "public":
				cc.Public = true
			case "must-revalidate":
				cc.MustRevalidate = true
			case "proxy-revalidate":
				cc.ProxyRevalidate = true
			case "immutable":
				cc.Immutable = true
			case "only-if-cached":
				cc.OnlyIfCached = true
			case "stale-while-revalidate":
				if d, ok := parseDelta(value); ok && hasValue {
					cc.StaleWhileRevalidate = d
				}
			case "stale-if-error":
				if d, ok := parseDelta(value); ok && hasValue {
					cc.StaleIfError = d
				}
			case "max-stale":
				if !hasValue {
					cc.MaxStale = maxDelta
				} else if d, ok := parseDelta(value); ok {
					cc.MaxStale = d
				}
			case "min-fresh":
				if d, ok := parseDelta(value); ok && hasValue {
					cc.MinFresh = d
				}
			}
		}
	}
	return cc
}

// nextDirective splits the first directive off s: name, its value (quotes
// removed) and what follows the next comma.
func nextDirective(s string) (name, value string, hasValue bool, rest string) {
	s = strings.TrimLeft(s, " \t,")
	i := strings.IndexAny(s, "=,")
	if i < 0 {
		return strings.TrimSpace(s), "", false, ""
	}
	name = strings.TrimSpace(s[:i])
	if s[i] == ',' {
		return name, "", false, s[i+1:]
	}
	s = strings.TrimLeft(s[i+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		// quoted-string: a backslash escapes the next character.
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
		}
		rest = s[min(j+1, len(s)):]
		if k := strings.IndexByte(rest, ','); k >= 0 {
			rest = rest[k+1:]
		} else {
			rest = ""
		}
		return name, b.String(), true, rest
	}
	if k := strings.IndexByte(s, ','); k >= 0 {
		return name, strings.TrimSpace(s[:k]), true, s[k+1:]
	}
	return name, strings.TrimSpace(s), true, ""
}

// parseDelta reads delta-seconds (RFC 9111 §1.2.2): one or more digits,
// capped at 2^31 seconds.
func parseDelta(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > int64(maxDelta/time.Second) {
		return maxDelta, true
	}
	return time.Duration(n) * time.Second, true
}

func deltaOrStale(v string, hasValue bool) time.Duration {
	if d, ok := parseDelta(v); ok && hasValue {
		return d
	}
	return 0
}

// String writes the directives back as one Cache-Control field value, in a
// fixed order, so that ParseCacheControl of the result gives cc again.
func (cc CacheControl) String() string {
	var parts []string
	flag := func(on bool, name string) {
		if on {
			parts = append(parts, name)
		}
	}
	delta := func(d time.Duration, name string) {
		if d >= 0 {
			parts = append(parts, name+"="+strconv.FormatInt(int64(d/time.Second), 10))
		}
	}
	flag(cc.Public, "public")
	flag(cc.Private, "private")
	flag(cc.NoCache, "no-cache")
	flag(cc.NoStore, "no-store")
	delta(cc.MaxAge, "max-age")
	delta(cc.SMaxAge, "s-maxage")
	flag(cc.MustRevalidate, "must-revalidate")
	flag(cc.ProxyRevalidate, "proxy-revalidate")
	flag(cc.Immutable, "immutable")
	delta(cc.StaleWhileRevalidate, "stale-while-revalidate")
	delta(cc.StaleIfError, "stale-if-error")
	if cc.MaxStale == maxDelta {
		parts = append(parts, "max-stale")
	} else {
		delta(cc.MaxStale, "max-stale")
	}
	delta(cc.MinFresh, "min-fresh")
	flag(cc.OnlyIfCached, "only-if-cached")
	return strings.Join(parts, ", ")
}
