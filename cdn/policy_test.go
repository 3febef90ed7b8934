package cdn

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// step is one event of a policy table: "+k/size" inserts, "k" accesses,
// "-k" removes, "!" evicts (and records the victim).
func runPolicy(p Policy, steps []string) []string {
	var victims []string
	for _, s := range steps {
		switch {
		case s == "!":
			k, ok := p.Evict()
			if !ok {
				k = "<none>"
			}
			victims = append(victims, k)
		case s[0] == '+':
			var key string
			var size int64 = 1
			if n, _ := fmt.Sscanf(s[1:], "%1s/%d", &key, &size); n == 0 {
				panic(s)
			}
			p.Insert(key, size)
		case s[0] == '-':
			p.Remove(s[1:])
		default:
			p.Access(s)
		}
	}
	return victims
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy func() Policy
		steps  []string
		want   []string
	}{
		{"LRU evicts oldest", func() Policy { return NewLRU() },
			[]string{"+a", "+b", "+c", "!", "!", "!", "!"}, []string{"a", "b", "c", "<none>"}},
		{"LRU access refreshes", func() Policy { return NewLRU() },
			[]string{"+a", "+b", "+c", "a", "!", "b", "!", "!"}, []string{"b", "c", "a"}},
		{"LRU remove", func() Policy { return NewLRU() },
			[]string{"+a", "+b", "-a", "!", "!"}, []string{"b", "<none>"}},
		{"LFU evicts least used", func() Policy { return NewLFU() },
			[]string{"+a", "+b", "+c", "a", "a", "b", "!", "!", "!"}, []string{"c", "b", "a"}},
		{"LFU ties go by recency", func() Policy { return NewLFU() },
			[]string{"+a", "+b", "+c", "b", "a", "c", "!", "!"}, []string{"b", "a"}},
		{"LFU new object is the first victim", func() Policy { return NewLFU() },
			[]string{"+a", "a", "a", "+b", "!"}, []string{"b"}},
		{"GDSF prefers evicting big objects", func() Policy { return NewGDSF() },
			[]string{"+a/1000", "+b/10", "+c/100", "!", "!", "!"}, []string{"a", "c", "b"}},
		{"GDSF frequency beats size", func() Policy { return NewGDSF() },
			// b: 1/10 = 0.1; a: 20 hits of 100 bytes = 0.21.
			[]string{"+a/100", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "+b/10", "!"}, []string{"b"}},
		{"GDSF ages: L rises to each victim", func() Policy { return NewGDSF() },
			// a ranks 2/1, c 1/4: c leaves and L = 0.25, so d ranks
			// 0.25+1/2 = 0.75 and still goes before a; then e, inserted
			// with L = 0.75, ranks 0.75+1/1 = 1.75 < a's 2; f, after a
			// made L = 2, ranks 2+1/8 and outlives nothing older.
			[]string{"+a/1", "a", "+c/4", "!", "+d/2", "!", "+e/1", "!", "!", "+f/8", "!"}, []string{"c", "d", "e", "a", "f"}},
		{"ARC: a scan does not push out popular objects", func() Policy { return NewARC() },
			// a and b are seen twice (T2); c, d, e are seen once (T1).
			[]string{"+a", "+b", "a", "b", "+c", "!", "+d", "!", "+e", "!", "!", "!"}, []string{"c", "d", "e", "a", "b"}},
		{"LRU: the same scan does", func() Policy { return NewLRU() },
			[]string{"+a", "+b", "a", "b", "+c", "!", "+d", "!"}, []string{"a", "b"}},
		{"ARC: a ghost hit in B1 grows T1's target", func() Policy { return NewARC() },
			// a evicted from T1 comes back: target 1, so T1's b stays and
			// T2's a goes; back again from B2: target 0, b goes.
			[]string{"+a", "+b", "!", "+a", "!", "+a", "!"}, []string{"a", "a", "b"}},
		{"ARC: remove and empty", func() Policy { return NewARC() },
			[]string{"+a", "-a", "!"}, []string{"<none>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runPolicy(tt.policy(), tt.steps)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("victims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBelady(t *testing.T) {
	// Trace a b c a d b; a cache of 2 objects.
	trace := []string{"a", "b", "c", "a", "d", "b"}
	p := NewBelady(trace)
	in := map[string]bool{}
	var victims []string
	hits := 0
	for _, k := range trace {
		if in[k] {
			p.Access(k)
			hits++
			continue
		}
		if p.Len() == 2 {
			v, _ := p.Evict()
			victims = append(victims, v)
			delete(in, v)
		}
		p.Insert(k, 1)
		in[k] = true
	}
	// At c: a is next used at 3, b at 5: evict b. At d: a is never used
	// again, c never: evict the first found furthest (c or a, both never),
	// then b misses.
	if victims[0] != "b" {
		t.Errorf("first victim = %q, want b (used furthest in the future)", victims[0])
	}
	if hits != 1 {
		t.Errorf("hits = %d, want 1", hits)
	}
}

func TestCacheBoundedInBytes(t *testing.T) {
	c := NewCache(10_000, NewLRU())
	for i := range 200 {
		o := &Object{Status: 200, Body: make([]byte, 100+i*7)}
		c.Put(fmt.Sprint("k", i), o)
		if s := c.Stats(); s.Bytes > c.Capacity() {
			t.Fatalf("after %d puts: %d bytes > capacity %d", i+1, s.Bytes, c.Capacity())
		}
	}
	s := c.Stats()
	if s.Evictions == 0 || s.Objects == 0 {
		t.Errorf("stats = %+v, want evictions and objects", s)
	}
	// The most recent object is still there, the first long gone.
	if _, ok := c.Get("k199"); !ok {
		t.Error("k199 evicted, want kept")
	}
	if _, ok := c.Get("k0"); ok {
		t.Error("k0 kept, want evicted")
	}
	if c.Put("huge", &Object{Body: make([]byte, 20_000)}) {
		t.Error("Put of an object larger than the cache succeeded")
	}
	// Replacing an object counts its size once.
	before := c.Stats().Bytes
	o, _ := c.Get("k199")
	c.Put("k199", o)
	if after := c.Stats().Bytes; after != before {
		t.Errorf("bytes after replacing k199 = %d, want %d", after, before)
	}
}
