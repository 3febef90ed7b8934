package cdn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of an Edge's zero-valued fields.
const (
	DefaultCacheSize     = 64 << 20 // bytes
	DefaultOriginTimeout = 10 * time.Second
	DefaultHealthPath    = "/_cdn/health"
	DefaultEdgeName      = "appnet-edge"
	DefaultMaxFetches    = 64
)

// Cache status values an Edge puts in its X-Cache response field. It
// also sends the standard Cache-Status field (RFC 9211), which says the
// same with more detail: "bos1.kingcdn.com; hit; ttl=42".
const (
	StatusHit         = "HIT"         // served from the cache, fresh
	StatusMiss        = "MISS"        // fetched from the origin
	StatusStale       = "STALE"       // served stale (stale-while-revalidate or stale-if-error)
	StatusRevalidated = "REVALIDATED" // stale copy confirmed by the origin's 304
	StatusBypass      = "BYPASS"      // not cacheable: passed through to the origin
)

// An Edge is a CDN node: a caching reverse proxy in front of one Origin, as
// an http.Handler (RFC 9111 as a shared cache). It serves fresh copies from
// its Cache, revalidates stale ones with conditional requests, may serve
// stale ones while revalidating or when the origin fails (RFC 5861), fetches
// each missing object once however many clients ask for it at the same
// time, and serves byte ranges from whole cached objects.
//
// Configure the exported fields before the first request; the zero value
// of each has a useful default, but Origin is required. Close stops the
// background revalidations and waits for them.
type Edge struct {
	// Origin is where misses go: scheme and host, and a path prefix if any.
	Origin *url.URL
	// Transport fetches from the origin; nil means a Transport of the
	// Edge's own, with OriginTimeout and no compression.
	Transport http.RoundTripper
	// Cache stores the objects; nil means NewCache(DefaultCacheSize, NewLRU()).
	Cache *Cache
	// Name is the edge's pseudonym in Via fields (DefaultEdgeName).
	Name string
	// MaxObjectSize is the largest body the edge stores; larger ones are
	// streamed through uncached. Zero means a quarter of the cache.
	MaxObjectSize int64
	// OriginTimeout bounds each origin fetch, body included
	// (DefaultOriginTimeout).
	OriginTimeout time.Duration
	// MaxFetches bounds the origin fetches in progress at once, so that
	// with MaxObjectSize it bounds the memory bodies in flight take
	// (DefaultMaxFetches if zero); more wait their turn.
	MaxFetches int
	// HealthPath is the path the edge answers itself for health checks,
	// with its load in an X-Load field (DefaultHealthPath).
	HealthPath string
	// Now is the edge's clock (time.Now); tests pass a virtual one.
	Now func() time.Time
	// Trace, if set, gets one line per request: what was asked and how it
	// was served.
	Trace io.Writer

	initOnce sync.Once
	ctx      context.Context // cancelled by Close; parent of origin fetches
	cancel   context.CancelFunc
	rt       http.RoundTripper
	via11    string
	// Header values the HIT path hands out as they are, never appended
	// to (their capacity is their length, so an Add copies them).
	via11s, acceptRanges, statusHit, statusStale []string
	hitPrefix                                    string // "name; hit; ttl="
	cache                                        *Cache
	maxObj                                       int64
	slots                                        chan struct{} // one per origin fetch in progress

	mu      sync.Mutex
	flights map[string]*flight
	wg      sync.WaitGroup // flights, which outlive the requests that start them

	load      atomic.Int64 // requests being served
	down      atomic.Bool
	fetches   atomic.Int64
	traceMu   sync.Mutex
	closeOnce sync.Once

	onJoin func() // test hook: a request joined a flight in progress
}

// A flight is one origin fetch that concurrent requests for a key share.
type flight struct {
	done chan struct{}
	res  fetchResult
}

// fetchResult is what a flight brings back.
type fetchResult struct {
	obj    *Object // the response to serve (stored or not); nil on failure
	stored bool    // obj went into the cache, so it may be shared
	status string  // X-Cache value for the requests that waited for it
	tooBig bool    // body over MaxObjectSize: stream it uncached instead
	err    error   // origin unreachable, timed out or broken
}

func (e *Edge) init() {
	e.initOnce.Do(func() {
		e.ctx, e.cancel = context.WithCancel(context.Background())
		e.flights = map[string]*flight{}
		e.via11 = "1.1 " + e.name()
		e.via11s = []string{e.via11}
		e.acceptRanges = []string{"bytes"}
		e.statusHit, e.statusStale = []string{StatusHit}, []string{StatusStale}
		e.hitPrefix = e.name() + "; hit; ttl="
		n := e.MaxFetches
		if n <= 0 {
			n = DefaultMaxFetches
		}
		e.slots = make(chan struct{}, n)
		e.cache = e.Cache
		if e.cache == nil {
			e.cache = NewCache(DefaultCacheSize, NewLRU())
		}
		e.maxObj = e.MaxObjectSize
		if e.maxObj <= 0 {
			e.maxObj = e.cache.Capacity() / 4
		}
		e.rt = e.Transport
		if e.rt == nil {
			e.rt = &http.Transport{
				DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
				ResponseHeaderTimeout: e.originTimeout(),
				MaxIdleConnsPerHost:   64,
				IdleConnTimeout:       30 * time.Second,
				DisableCompression:    true,
			}
		}
	})
}

func (e *Edge) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Edge) name() string {
	if e.Name != "" {
		return e.Name
	}
	return DefaultEdgeName
}

func (e *Edge) originTimeout() time.Duration {
	if e.OriginTimeout > 0 {
		return e.OriginTimeout
	}
	return DefaultOriginTimeout
}

// via is this hop's entry in a Via field: the protocol of the request and
// the edge's name.
func (e *Edge) via(r *http.Request) string {
	if r.ProtoMajor == 1 && r.ProtoMinor == 1 {
		return e.via11
	}
	return fmt.Sprintf("%d.%d %s", r.ProtoMajor, r.ProtoMinor, e.name())
}

func (e *Edge) healthPath() string {
	if e.HealthPath != "" {
		return e.HealthPath
	}
	return DefaultHealthPath
}

// Load is the number of requests the edge is serving now.
func (e *Edge) Load() int64 { return e.load.Load() }

// OriginFetches is the number of requests the edge has sent to its origin.
func (e *Edge) OriginFetches() int64 { return e.fetches.Load() }

// SetDown makes the edge fail its health checks (true) or pass them again,
// as an operator draining it would; it keeps serving other requests.
func (e *Edge) SetDown(down bool) { e.down.Store(down) }

// CacheStats describes the edge's cache.
func (e *Edge) CacheStats() CacheStats {
	e.init()
	return e.cache.Stats()
}

// Close cancels the origin fetches in progress and waits for them.
func (e *Edge) Close() error {
	e.init()
	e.closeOnce.Do(func() {
		e.cancel()
		e.wg.Wait()
		if t, ok := e.rt.(interface{ CloseIdleConnections() }); ok {
			t.CloseIdleConnections()
		}
	})
	return nil
}

func (e *Edge) tracef(format string, args ...any) {
	if e.Trace == nil {
		return
	}
	e.traceMu.Lock()
	defer e.traceMu.Unlock()
	fmt.Fprintf(e.Trace, format+"\n", args...)
}

// CacheKey is where a request's response is stored: the Host (lower case)
// and the request target, so that two sites behind one edge never share an
// entry.
func CacheKey(r *http.Request) string {
	return strings.ToLower(r.Host) + r.URL.RequestURI()
}

// safePath reports whether p is an absolute path without "." or ".."
// segments, which would let two spellings of one object have two keys or
// climb out of an origin's directory.
func safePath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\x00\\") {
		return false
	}
	for p != "" {
		var seg string
		seg, p, _ = strings.Cut(p, "/")
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// inVia reports whether the edge already appears in a Via field: the
// request has come round in a loop.
func (e *Edge) inVia(h http.Header) bool {
	for _, v := range h["Via"] {
		for _, hop := range strings.Split(v, ",") {
			// received-protocol received-by [comment]
			f := strings.Fields(hop)
			if len(f) >= 2 && strings.EqualFold(f[1], e.name()) {
				return true
			}
		}
	}
	return false
}

// ServeHTTP serves r from the cache or the origin.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.init()
	e.load.Add(1)
	defer e.load.Add(-1)

	if r.URL.Path == e.healthPath() {
		e.serveHealth(w)
		return
	}
	if !safePath(r.URL.Path) {
		http.Error(w, "cdn: bad request path", http.StatusBadRequest)
		return
	}
	if e.inVia(r.Header) {
		http.Error(w, "cdn: request loops through "+e.name(), http.StatusLoopDetected)
		return
	}
	if e.ctx.Err() != nil {
		http.Error(w, "cdn: edge closed", http.StatusServiceUnavailable)
		return
	}

	key := CacheKey(r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// Unsafe methods go through and invalidate what is stored (§4.4).
		if r.Method != http.MethodOptions && r.Method != "TRACE" {
			e.cache.Remove(key)
		}
		e.passThrough(w, r, StatusBypass)
		return
	}
	rq := ParseCacheControl(r.Header["Cache-Control"])
	if len(r.Header["Cache-Control"]) == 0 && get(r.Header, "Pragma") == "no-cache" {
		rq.NoCache = true // HTTP/1.0 clients (RFC 9111 §5.4)
	}
	if rq.NoStore {
		e.passThrough(w, r, StatusBypass)
		return
	}

	now := e.now()
	stored, ok := e.cache.Get(key)
	if ok && !stored.matches(r) {
		stored, ok = nil, false
	}
	if ok {
		switch Decide(rq, stored.Control, stored.Timing, now) {
		case Serve:
			if e.Trace != nil {
				e.tracef("edge %s: %s %s HIT", e.name(), r.Method, key)
			}
			e.serveObject(w, r, stored, StatusHit)
			return
		case ServeStale:
			e.startFlight(key, r, stored) // in the background: nobody waits
			if e.Trace != nil {
				e.tracef("edge %s: %s %s STALE (revalidating in the background)", e.name(), r.Method, key)
			}
			e.serveObject(w, r, stored, StatusStale)
			return
		}
	}
	if rq.OnlyIfCached {
		// Nothing usable without asking the origin, which the client
		// forbids (RFC 9111 §5.2.1.7).
		http.Error(w, "cdn: not cached", http.StatusGatewayTimeout)
		return
	}

	f, leader := e.startFlight(key, r, stored)
	select {
	case <-f.done:
	case <-r.Context().Done():
		return // the client went away; the fetch goes on for the others
	}
	res := f.res
	switch {
	case res.tooBig:
		e.passThrough(w, r, StatusMiss)
	case res.err != nil:
		if stored != nil && StaleIfError(rq, stored.Control, stored.Timing, now) {
			e.tracef("edge %s: %s %s STALE (origin: %v)", e.name(), r.Method, key, res.err)
			e.serveObject(w, r, stored, StatusStale)
			return
		}
		e.tracef("edge %s: %s %s error: %v", e.name(), r.Method, key, res.err)
		code := http.StatusBadGateway
		if errors.Is(res.err, context.DeadlineExceeded) {
			code = http.StatusGatewayTimeout
		}
		http.Error(w, res.err.Error(), code)
	case !res.stored && !leader:
		// Not storable (private, no-store, Set-Cookie…): it was meant for
		// the request that fetched it only, so this one asks for itself.
		e.passThrough(w, r, StatusMiss)
	case !res.obj.matches(r):
		// The shared fetch was made for a request with other Vary fields.
		e.passThrough(w, r, StatusMiss)
	default:
		e.tracef("edge %s: %s %s %s", e.name(), r.Method, key, res.status)
		e.serveObject(w, r, res.obj, res.status)
	}
}

func (e *Edge) serveHealth(w http.ResponseWriter) {
	w.Header().Set("X-Load", strconv.FormatInt(e.load.Load()-1, 10))
	w.Header().Set("Cache-Control", "no-store")
	if e.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// startFlight joins the fetch of key in progress, or starts one in a
// goroutine the Edge owns (and then leader is true). stored, if not nil,
// is revalidated.
func (e *Edge) startFlight(key string, r *http.Request, stored *Object) (f *flight, leader bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f, ok := e.flights[key]; ok {
		if e.onJoin != nil {
			e.onJoin()
		}
		return f, false
	}
	f = &flight{done: make(chan struct{})}
	e.flights[key] = f
	out := e.originRequest(r, stored)
	// The flight may outlive r: keep what fetch reads of it.
	first := &http.Request{Method: r.Method, Header: r.Header.Clone()}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f.res = e.fetch(key, out, first, stored)
		e.mu.Lock()
		delete(e.flights, key)
		e.mu.Unlock()
		close(f.done)
	}()
	return f, true
}

// originRequest builds the GET the edge sends to its origin for r: the same
// target under Origin, end-to-end fields without the client's conditions
// and ranges (the edge fetches whole objects), Via, and the stored copy's
// validators when revalidating.
func (e *Edge) originRequest(r *http.Request, stored *Object) *http.Request {
	u := *e.Origin
	u.Path = strings.TrimSuffix(e.Origin.Path, "/") + r.URL.Path
	u.RawPath = ""
	if r.URL.RawPath != "" {
		u.RawPath = strings.TrimSuffix(e.Origin.EscapedPath(), "/") + r.URL.RawPath
	}
	u.RawQuery = r.URL.RawQuery
	h := endToEnd(r.Header)
	for _, f := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Cache-Control", "Pragma"} {
		h.Del(f)
	}
	h.Add("Via", fmt.Sprintf("%d.%d %s", r.ProtoMajor, r.ProtoMinor, e.name()))
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h.Add("X-Forwarded-For", host)
	}
	h.Set("X-Forwarded-Host", r.Host)
	if stored != nil {
		if et := stored.Header.Get("ETag"); et != "" {
			h.Set("If-None-Match", et)
		}
		if lm := stored.Header.Get("Last-Modified"); lm != "" {
			h.Set("If-Modified-Since", lm)
		}
	}
	out := &http.Request{
		Method: http.MethodGet, URL: &u, Header: h, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}
	return out
}

// fetch runs one origin fetch for key and stores what may be stored.
func (e *Edge) fetch(key string, out, r *http.Request, stored *Object) fetchResult {
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-e.ctx.Done():
		return fetchResult{err: fmt.Errorf("cdn: origin: %w", e.ctx.Err())}
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.originTimeout())
	defer cancel()
	e.fetches.Add(1)
	reqTime := e.now()
	resp, err := e.rt.RoundTrip(out.WithContext(ctx))
	if err != nil {
		return fetchResult{err: fmt.Errorf("cdn: origin: %w", err)}
	}
	defer resp.Body.Close()

	if resp.StatusCode == http.StatusNotModified && stored != nil {
		// Freshen the stored copy with the 304's fields (RFC 9111 §4.3.4).
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		respTime := e.now()
		h := stored.Header.Clone()
		for k, vs := range endToEnd(resp.Header) {
			if k == "Content-Length" || k == "Content-Range" {
				continue
			}
			h[k] = vs
		}
		obj := &Object{Status: stored.Status, Header: h, Body: stored.Body, Vary: stored.Vary,
			Timing: NewTiming(h, reqTime, respTime), Control: ParseCacheControl(h.Values("Cache-Control"))}
		obj.withLength()
		ok, _ := Storable(r, obj.Status, h)
		if ok = ok && e.cache.Put(key, obj); !ok {
			e.cache.Remove(key)
		}
		return fetchResult{obj: obj, stored: ok, status: StatusRevalidated}
	}
	if resp.StatusCode >= 500 && stored != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return fetchResult{err: fmt.Errorf("cdn: origin: %s", resp.Status)}
	}
	if resp.ContentLength > e.maxObj {
		return fetchResult{tooBig: true}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, e.maxObj+1))
	if err != nil {
		// A short body (fewer bytes than Content-Length), a reset or a
		// timeout: nothing of it is stored or served.
		return fetchResult{err: fmt.Errorf("cdn: origin body: %w", err)}
	}
	if int64(len(body)) > e.maxObj {
		return fetchResult{tooBig: true}
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return fetchResult{err: fmt.Errorf("cdn: origin body: %d bytes, Content-Length %d", len(body), resp.ContentLength)}
	}
	respTime := e.now()
	h := endToEnd(resp.Header)
	h.Del("Content-Length")
	obj := &Object{Status: resp.StatusCode, Header: h, Body: body, Timing: NewTiming(h, reqTime, respTime),
		Control: ParseCacheControl(h.Values("Cache-Control"))}
	obj.withLength()
	if fields := varyFields(h); len(fields) > 0 {
		obj.Vary = map[string]string{}
		for _, f := range fields {
			obj.Vary[f] = joinValues(r.Header.Values(f))
		}
	}
	ok, _ := Storable(r, resp.StatusCode, h)
	if ok = ok && h.Get("Set-Cookie") == "" && e.cache.Put(key, obj); !ok {
		e.cache.Remove(key)
	}
	return fetchResult{obj: obj, stored: ok, status: StatusMiss}
}

// serveObject writes a stored (or just fetched) object as the answer to r,
// honouring r's conditions and ranges.
func (e *Edge) serveObject(w http.ResponseWriter, r *http.Request, o *Object, status string) {
	h := w.Header()
	for k, vs := range o.Header {
		h[k] = vs
	}
	now := e.now()
	h["Age"] = []string{strconv.FormatInt(int64(o.Timing.Age(now)/time.Second), 10)}
	switch status {
	case StatusHit:
		h["X-Cache"] = e.statusHit
	case StatusStale:
		h["X-Cache"] = e.statusStale
	default:
		h["X-Cache"] = []string{status}
	}
	h["Cache-Status"] = []string{e.cacheStatus(status, o, now)}
	if via := h["Via"]; len(via) == 0 && r.ProtoMajor == 1 && r.ProtoMinor == 1 {
		h["Via"] = e.via11s
	} else {
		h["Via"] = append(via[:len(via):len(via)], e.via(r))
	}
	if o.Status != http.StatusOK {
		h.Set("Content-Length", strconv.Itoa(len(o.Body)))
		w.WriteHeader(o.Status)
		if r.Method != http.MethodHead {
			w.Write(o.Body)
		}
		return
	}
	if notModified(r, o.Header) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Accept-Ranges"] = e.acceptRanges
	size := int64(len(o.Body))
	rng := get(r.Header, "Range")
	if rng == "" || r.Method != http.MethodGet || !ifRangeHolds(r, o.Header) {
		h["Content-Length"] = o.contentLength()
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(o.Body)
		}
		return
	}
	ranges, err := ParseRange(rng, size)
	switch {
	case errors.Is(err, ErrUnsatisfiable):
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	case err != nil:
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		w.WriteHeader(http.StatusOK)
		w.Write(o.Body)
	case len(ranges) == 1:
		br := ranges[0]
		h.Set("Content-Range", br.ContentRange(size))
		h.Set("Content-Length", strconv.FormatInt(br.Length, 10))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(o.Body[br.Start : br.Start+br.Length])
	default:
		// multipart/byteranges (RFC 9110 §14.6), built whole: its size is
		// bounded by MaxRanges times the object.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		ctype := o.Header.Get("Content-Type")
		for _, br := range ranges {
			ph := textproto.MIMEHeader{}
			if ctype != "" {
				ph.Set("Content-Type", ctype)
			}
			ph.Set("Content-Range", br.ContentRange(size))
			pw, _ := mw.CreatePart(ph)
			pw.Write(o.Body[br.Start : br.Start+br.Length])
		}
		mw.Close()
		h.Set("Content-Type", "multipart/byteranges; boundary="+mw.Boundary())
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(buf.Bytes())
	}
}

// cacheStatus is the Cache-Status field (RFC 9211) for an answer the
// edge served with X-Cache status: whether it was a hit, why it went
// forward, and how long the copy stays fresh.
func (e *Edge) cacheStatus(status string, o *Object, now time.Time) string {
	secs := int64((o.Timing.Lifetime - o.Timing.Age(now)) / time.Second)
	if status == StatusHit || status == StatusStale {
		// One allocation: the prefix and the number appended in place.
		var buf [64]byte
		return string(strconv.AppendInt(append(buf[:0], e.hitPrefix...), secs, 10))
	}
	ttl := strconv.FormatInt(secs, 10)
	switch status {
	case StatusRevalidated:
		return e.name() + "; fwd=stale; fwd-status=304; ttl=" + ttl
	}
	return e.name() + "; fwd=uri-miss; fwd-status=" + strconv.Itoa(o.Status)
}

// passThrough forwards r to the origin and streams the answer back without
// storing it: unsafe methods, no-store requests and objects too big to
// keep.
func (e *Edge) passThrough(w http.ResponseWriter, r *http.Request, status string) {
	out := e.originRequest(r, nil)
	out.Method = r.Method
	for _, f := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "Cache-Control"} {
		if vs := r.Header.Values(f); len(vs) > 0 {
			out.Header[f] = vs
		}
	}
	if r.Body != nil && r.Body != http.NoBody {
		out.Body = r.Body
		out.ContentLength = r.ContentLength
	}
	ctx, cancel := context.WithTimeout(r.Context(), e.originTimeout())
	defer cancel()
	e.fetches.Add(1)
	resp, err := e.rt.RoundTrip(out.WithContext(ctx))
	if err != nil {
		code := http.StatusBadGateway
		if errors.Is(err, context.DeadlineExceeded) {
			code = http.StatusGatewayTimeout
		}
		http.Error(w, "cdn: origin: "+err.Error(), code)
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range endToEnd(resp.Header) {
		h[k] = vs
	}
	if resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	h.Set("X-Cache", status)
	fwd := "bypass"
	if status == StatusMiss {
		fwd = "uri-miss"
	}
	h.Set("Cache-Status", e.name()+"; fwd="+fwd+"; fwd-status="+strconv.Itoa(resp.StatusCode))
	h.Add("Via", e.via(r))
	e.tracef("edge %s: %s %s %s (passed through)", e.name(), r.Method, CacheKey(r), status)
	w.WriteHeader(resp.StatusCode)
	// A body that ends early leaves the response short of its
	// Content-Length; net/http then closes the connection, so the client
	// sees a failure, never a complete-looking corrupt object.
	io.Copy(w, resp.Body)
}
