package cdn

import (
	"net/http"
	"net/textproto"
	"strings"
)

// hopByHop are the fields that describe one connection, not the message
// (RFC 9110 §7.6.1): a proxy never forwards or stores them.
var hopByHop = [...]string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// endToEnd returns a copy of h without hop-by-hop fields, including those
// that its Connection field names.
func endToEnd(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		out.Del(name)
	}
	return out
}

// joinValues joins a field's values as one comma-separated list.
func joinValues(vs []string) string { return strings.Join(vs, ", ") }

// varyFields lists the request fields a response's Vary names.
func varyFields(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Vary") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, textproto.CanonicalMIMEHeaderKey(name))
			}
		}
	}
	return out
}

// etagMatch compares entity tags weakly (RFC 9110 §8.8.3.2): W/"x" and "x"
// match. list is an If-None-Match value, possibly "*".
func etagMatch(list, etag string) bool {
	if etag == "" {
		return false
	}
	if strings.TrimSpace(list) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// notModified reports whether a conditional GET r may be answered 304 for a
// response with header h (RFC 9110 §13.2.2): If-None-Match decides when
// present, else If-Modified-Since.
func notModified(r *http.Request, h http.Header) bool {
	if inm := get(r.Header, "If-None-Match"); inm != "" {
		return etagMatch(inm, get(h, "Etag"))
	}
	v := get(r.Header, "If-Modified-Since")
	if v == "" {
		return false
	}
	ims, err := http.ParseTime(v)
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(get(h, "Last-Modified"))
	return err == nil && !lm.After(ims)
}

// ifRangeHolds reports whether a Range request may be answered partially
// (RFC 9110 §13.1.5): If-Range absent, or a strong ETag equal to the
// response's, or a date equal to its Last-Modified.
func ifRangeHolds(r *http.Request, h http.Header) bool {
	ir := strings.TrimSpace(get(r.Header, "If-Range"))
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) {
		etag := get(h, "Etag")
		return etag != "" && !strings.HasPrefix(etag, "W/") && etag == ir
	}
	return ir == get(h, "Last-Modified")
}

// get is h.Get for a key already in canonical form ("Etag", not "ETag"): the map
// looked up directly, without canonicalising the key on every request.
func get(h http.Header, canonical string) string {
	if vs := h[canonical]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
