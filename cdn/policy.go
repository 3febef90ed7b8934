package cdn

import "container/list"

// A Policy chooses which stored object a full cache gives up (the slide's
// "what content to place in which CDN node?", answered one eviction at a
// time). It only keeps keys, sizes and the order of events: no clocks, no
// goroutines, no bodies, so a table of Insert/Access/Evict steps grades it.
// A Policy is not safe for concurrent use; Cache locks around it.
type Policy interface {
	// Insert records a new object; its key is not present yet.
	Insert(key string, size int64)
	// Access records a hit on a present key.
	Access(key string)
	// Remove forgets a key (invalidated or replaced); absent keys are ignored.
	Remove(key string)
	// Evict removes and returns the policy's victim; ok is false when empty.
	Evict() (key string, ok bool)
	// Len is the number of keys held.
	Len() int
}

// LRU evicts the least recently used object.
type LRU struct {
	order *list.List // front: most recent
	items map[string]*list.Element
}

// NewLRU returns an empty LRU policy.
func NewLRU() *LRU { return &LRU{order: list.New(), items: map[string]*list.Element{}} }

func (p *LRU) Insert(key string, _ int64) { p.items[key] = p.order.PushFront(key) }

func (p *LRU) Access(key string) {
	if e, ok := p.items[key]; ok {
		p.order.MoveToFront(e)
	}
}

func (p *LRU) Remove(key string) {
	if e, ok := p.items[key]; ok {
		p.order.Remove(e)
		delete(p.items, key)
	}
}

func (p *LRU) Evict() (string, bool) {
	e := p.order.Back()
	if e == nil {
		return "", false
	}
	key := p.order.Remove(e).(string)
	delete(p.items, key)
	return key, true
}

func (p *LRU) Len() int { return len(p.items) }

// A rankedItem is an entry of a priority-ordered policy: the lowest rank
// goes first, ties broken by the older last use.
type rankedItem struct {
	key   string
	size  int64
	freq  int64
	rank  float64
	tick  uint64
	index int
}

// rankHeap is a binary min-heap of items, written out rather than through
// container/heap: simulations push a million requests through it.
type rankHeap []*rankedItem

func (h rankHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].tick < h[j].tick
}

func (h rankHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h rankHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h rankHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *rankHeap) push(it *rankedItem) {
	it.index = len(*h)
	*h = append(*h, it)
	h.up(it.index)
}

func (h *rankHeap) fix(i int) {
	h.up(i)
	h.down(i)
}

// removeAt takes out the item at i.
func (h *rankHeap) removeAt(i int) *rankedItem {
	old := *h
	last := len(old) - 1
	it := old[i]
	if i != last {
		old.swap(i, last)
	}
	old[last] = nil
	*h = old[:last]
	if i != last {
		h.fix(i)
	}
	return it
}

// ranked is the machinery LFU, GDSF and Belady share: a heap of keys with a
// rank each, kept up to date by a rank function.
type ranked struct {
	heap  rankHeap
	items map[string]*rankedItem
	tick  uint64
}

func newRanked() ranked { return ranked{items: map[string]*rankedItem{}} }

func (r *ranked) insert(key string, size int64, rank func(*rankedItem) float64) {
	r.tick++
	it := &rankedItem{key: key, size: size, freq: 1, tick: r.tick}
	it.rank = rank(it)
	r.items[key] = it
	r.heap.push(it)
}

func (r *ranked) access(key string, rank func(*rankedItem) float64) {
	it, ok := r.items[key]
	if !ok {
		return
	}
	r.tick++
	it.freq++
	it.tick = r.tick
	it.rank = rank(it)
	r.heap.fix(it.index)
}

func (r *ranked) remove(key string) {
	if it, ok := r.items[key]; ok {
		r.heap.removeAt(it.index)
		delete(r.items, key)
	}
}

func (r *ranked) evict() (*rankedItem, bool) {
	if len(r.heap) == 0 {
		return nil, false
	}
	it := r.heap.removeAt(0)
	delete(r.items, it.key)
	return it, true
}

// LFU evicts the least frequently used object, the least recently used
// among equals. Counts are forgotten when an object leaves.
type LFU struct{ r ranked }

// NewLFU returns an empty LFU policy.
func NewLFU() *LFU { return &LFU{r: newRanked()} }

func lfuRank(it *rankedItem) float64 { return float64(it.freq) }

func (p *LFU) Insert(key string, size int64) { p.r.insert(key, size, lfuRank) }
func (p *LFU) Access(key string)             { p.r.access(key, lfuRank) }
func (p *LFU) Remove(key string)             { p.r.remove(key) }
func (p *LFU) Len() int                      { return len(p.r.items) }
func (p *LFU) Evict() (string, bool) {
	it, ok := p.r.evict()
	if !ok {
		return "", false
	}
	return it.key, true
}

// GDSF is Greedy-Dual-Size-Frequency, a size-aware policy: an object's
// priority is L + frequency/size, and L rises to the priority of each
// victim, so small popular objects stay and large or long-unused ones go.
// It trades byte hit ratio for hit ratio, as an edge full of small segments
// wants.
type GDSF struct {
	r ranked
	l float64 // the inflation value L
}

// NewGDSF returns an empty GDSF policy.
func NewGDSF() *GDSF { return &GDSF{r: newRanked()} }

func (p *GDSF) rank(it *rankedItem) float64 {
	return p.l + float64(it.freq)/float64(max(it.size, 1))
}

func (p *GDSF) Insert(key string, size int64) { p.r.insert(key, size, p.rank) }
func (p *GDSF) Access(key string)             { p.r.access(key, p.rank) }
func (p *GDSF) Remove(key string)             { p.r.remove(key) }
func (p *GDSF) Len() int                      { return len(p.r.items) }
func (p *GDSF) Evict() (string, bool) {
	it, ok := p.r.evict()
	if !ok {
		return "", false
	}
	p.l = it.rank
	return it.key, true
}

// Belady is the offline optimum (Belady's MIN) for a known request trace: it
// evicts the object whose next request is furthest in the future. Each
// Insert or Access must be the next request of the trace, in order. It is
// optimal for objects of equal size and the yardstick for the others.
type Belady struct {
	r    ranked
	next []int // next[i]: index of the next request for trace[i]'s key
	pos  int
}

// NewBelady returns the MIN policy for trace, the keys in request order.
func NewBelady(trace []string) *Belady {
	next := make([]int, len(trace))
	last := make(map[string]int, len(trace)/4)
	for i := len(trace) - 1; i >= 0; i-- {
		if j, ok := last[trace[i]]; ok {
			next[i] = j
		} else {
			next[i] = len(trace) // never again
		}
		last[trace[i]] = i
	}
	return &Belady{r: newRanked(), next: next}
}

// rank is minus the next use, so the heap's minimum is the furthest.
func (p *Belady) rank(*rankedItem) float64 {
	n := len(p.next)
	if p.pos < len(p.next) {
		n = p.next[p.pos]
	}
	return -float64(n)
}

func (p *Belady) Insert(key string, size int64) {
	p.r.insert(key, size, p.rank)
	p.pos++
}

func (p *Belady) Access(key string) {
	p.r.access(key, p.rank)
	p.pos++
}

func (p *Belady) Remove(key string) { p.r.remove(key) }
func (p *Belady) Len() int          { return len(p.r.items) }
func (p *Belady) Evict() (string, bool) {
	it, ok := p.r.evict()
	if !ok {
		return "", false
	}
	return it.key, true
}
