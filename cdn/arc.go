package cdn

import "container/list"

// ARC is the Adaptive Replacement Cache policy (Megiddo and Modha, 2003):
// it keeps objects seen once (T1) apart from objects seen again (T2),
// remembers the keys it evicted from each (the ghost lists B1 and B2), and
// moves the target size of T1 towards whichever list a returning key was
// evicted from too early. A scan of new objects then pushes out only other
// once-seen objects, never the popular ones, and the balance between
// recency and frequency tunes itself.
//
// Sizes are counted in objects, as in the paper; the Cache around it
// bounds the bytes. The target adapts when a key comes back (Insert), so
// it steers the evictions made for the next object.
type ARC struct {
	t1, t2, b1, b2 *list.List
	where          map[string]*arcEntry
	p              int // target size of T1
}

type arcEntry struct {
	list *list.List
	elem *list.Element
}

// NewARC returns an empty ARC policy.
func NewARC() *ARC {
	return &ARC{t1: list.New(), t2: list.New(), b1: list.New(), b2: list.New(), where: map[string]*arcEntry{}}
}

func (p *ARC) move(key string, to *list.List) {
	if e, ok := p.where[key]; ok {
		e.list.Remove(e.elem)
		e.list, e.elem = to, to.PushFront(key)
		return
	}
	p.where[key] = &arcEntry{to, to.PushFront(key)}
}

func (p *ARC) drop(key string) {
	if e, ok := p.where[key]; ok {
		e.list.Remove(e.elem)
		delete(p.where, key)
	}
}

// Insert records a new object: into T2 if its key is a ghost (it was
// evicted too early, and the target moves to make its list bigger), else
// into T1.
func (p *ARC) Insert(key string, _ int64) {
	e, ghost := p.where[key]
	c := p.t1.Len() + p.t2.Len() + 1
	switch {
	case ghost && e.list == p.b1:
		p.p = min(c, p.p+max(p.b2.Len()/max(p.b1.Len(), 1), 1))
		p.move(key, p.t2)
	case ghost && e.list == p.b2:
		p.p = max(0, p.p-max(p.b1.Len()/max(p.b2.Len(), 1), 1))
		p.move(key, p.t2)
	default:
		p.move(key, p.t1)
	}
	// The ghosts remember at most as many keys as the cache holds.
	for _, b := range []*list.List{p.b1, p.b2} {
		for b.Len() > c {
			p.drop(b.Back().Value.(string))
		}
	}
}

// Access moves a hit object to the front of T2.
func (p *ARC) Access(key string) {
	if e, ok := p.where[key]; ok && (e.list == p.t1 || e.list == p.t2) {
		p.move(key, p.t2)
	}
}

// Remove forgets a key, ghost or not.
func (p *ARC) Remove(key string) { p.drop(key) }

// Evict gives up the least recent object of T1 while T1 is over its
// target, else of T2, and remembers its key as a ghost.
func (p *ARC) Evict() (string, bool) {
	from, ghost := p.t2, p.b2
	if p.t1.Len() > 0 && (p.t1.Len() > p.p || p.t2.Len() == 0) {
		from, ghost = p.t1, p.b1
	}
	back := from.Back()
	if back == nil {
		return "", false
	}
	key := back.Value.(string)
	p.move(key, ghost)
	return key, true
}

// Len is the number of objects held (ghosts not counted).
func (p *ARC) Len() int { return p.t1.Len() + p.t2.Len() }
