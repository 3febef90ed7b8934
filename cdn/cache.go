package cdn

import (
	"net/http"
	"strconv"
	"sync"
)

// An Object is a response as a cache stores it: immutable once stored, so
// many requests may serve it at once.
type Object struct {
	Status int
	Header http.Header // end-to-end fields only
	Body   []byte
	Timing Timing
	// Control is the response's Cache-Control, parsed once.
	Control CacheControl
	// Vary holds the request fields that selected this response (its Vary
	// list, canonical names) and their values.
	Vary map[string]string

	// Content-Length of Body, made once by withLength; lengthOf is the
	// length it was made for, so a copy with another Body is not misled.
	length   []string
	lengthOf int
}

// withLength makes o's Content-Length field once, when the edge builds the
// object, so that no HIT formats it again. It returns o.
func (o *Object) withLength() *Object {
	o.length, o.lengthOf = []string{strconv.Itoa(len(o.Body))}, len(o.Body)
	return o
}

// contentLength is the Content-Length field of the whole body: made when
// the edge builds the object, so a HIT need not format it again.
func (o *Object) contentLength() []string {
	if o.length != nil && o.lengthOf == len(o.Body) {
		return o.length
	}
	return []string{strconv.Itoa(len(o.Body))}
}

// Size is what the object counts against a cache's capacity: its body and
// its header fields.
func (o *Object) Size() int64 {
	n := int64(len(o.Body)) + 64
	for k, vs := range o.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	for k, v := range o.Vary {
		n += int64(len(k) + len(v))
	}
	return n
}

// matches reports whether a request r selects this stored response
// (RFC 9111 §4.1).
func (o *Object) matches(r *http.Request) bool {
	for k, v := range o.Vary {
		if joinValues(r.Header.Values(k)) != v {
			return false
		}
	}
	return true
}

// A Cache holds objects up to Capacity bytes in total, evicting as its
// Policy chooses. It is safe for concurrent use.
type Cache struct {
	capacity int64

	mu        sync.Mutex
	policy    Policy
	objects   map[string]*Object
	used      int64
	evictions int64
}

// NewCache returns a cache of capacity bytes that evicts with policy
// (NewLRU() when nil).
func NewCache(capacity int64, policy Policy) *Cache {
	if policy == nil {
		policy = NewLRU()
	}
	return &Cache{capacity: capacity, policy: policy, objects: map[string]*Object{}}
}

// Capacity is the most bytes the cache holds.
func (c *Cache) Capacity() int64 { return c.capacity }

// Get returns the object stored under key and counts a use of it.
func (c *Cache) Get(key string) (*Object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.objects[key]
	if ok {
		c.policy.Access(key)
	}
	return o, ok
}

// Put stores o under key, replacing what was there and evicting others
// until it fits. An object larger than the whole cache is not stored, and
// Put reports false.
func (c *Cache) Put(key string, o *Object) bool {
	size := o.Size()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
	if size > c.capacity {
		return false
	}
	for c.used+size > c.capacity {
		victim, ok := c.policy.Evict()
		if !ok {
			break
		}
		if v, ok := c.objects[victim]; ok {
			c.used -= v.Size()
			delete(c.objects, victim)
			c.evictions++
		}
	}
	c.objects[key] = o
	c.used += size
	c.policy.Insert(key, size)
	return true
}

// Remove drops the object under key, if any.
func (c *Cache) Remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
}

func (c *Cache) removeLocked(key string) {
	if o, ok := c.objects[key]; ok {
		c.used -= o.Size()
		delete(c.objects, key)
		c.policy.Remove(key)
	}
}

// CacheStats is a snapshot of a cache's contents.
type CacheStats struct {
	Objects   int
	Bytes     int64
	Evictions int64
}

// Stats returns how many objects and bytes the cache holds now and how
// many objects it has evicted.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Objects: len(c.objects), Bytes: c.used, Evictions: c.evictions}
}
