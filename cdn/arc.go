package cdn

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
	t1, t2, b1, b2 arcList
	where          map[string]*arcNode
	p              int // target size of T1
}

// arcNode is a key on one of the four lists; it moves between lists
// without being reallocated.
type arcNode struct {
	key        string
	prev, next *arcNode
	list       *arcList
}

// arcList is a doubly linked list of nodes, most recent at the front.
type arcList struct {
	front, back *arcNode
	n           int
}

func (l *arcList) pushFront(x *arcNode) {
	x.list, x.prev, x.next = l, nil, l.front
	if l.front != nil {
		l.front.prev = x
	} else {
		l.back = x
	}
	l.front = x
	l.n++
}

func (l *arcList) remove(x *arcNode) {
	if x.prev != nil {
		x.prev.next = x.next
	} else {
		l.front = x.next
	}
	if x.next != nil {
		x.next.prev = x.prev
	} else {
		l.back = x.prev
	}
	x.prev, x.next, x.list = nil, nil, nil
	l.n--
}

// NewARC returns an empty ARC policy.
func NewARC() *ARC { return &ARC{where: map[string]*arcNode{}} }

func (p *ARC) move(key string, to *arcList) {
	x, ok := p.where[key]
	if ok {
		x.list.remove(x)
	} else {
		x = &arcNode{key: key}
		p.where[key] = x
	}
	to.pushFront(x)
}

func (p *ARC) drop(key string) {
	if x, ok := p.where[key]; ok {
		x.list.remove(x)
		delete(p.where, key)
	}
}

// Insert records a new object: into T2 if its key is a ghost (it was
// evicted too early, and the target moves to make its list bigger), else
// into T1.
func (p *ARC) Insert(key string, _ int64) {
	x, ghost := p.where[key]
	c := p.t1.n + p.t2.n + 1
	switch {
	case ghost && x.list == &p.b1:
		p.p = min(c, p.p+max(p.b2.n/max(p.b1.n, 1), 1))
		p.move(key, &p.t2)
	case ghost && x.list == &p.b2:
		p.p = max(0, p.p-max(p.b1.n/max(p.b2.n, 1), 1))
		p.move(key, &p.t2)
	default:
		p.move(key, &p.t1)
	}
	// The ghosts remember at most as many keys as the cache holds.
	for p.b1.n > c {
		p.drop(p.b1.back.key)
	}
	for p.b2.n > c {
		p.drop(p.b2.back.key)
	}
}

// Access moves a hit object to the front of T2.
func (p *ARC) Access(key string) {
	if x, ok := p.where[key]; ok && (x.list == &p.t1 || x.list == &p.t2) {
		p.move(key, &p.t2)
	}
}

// Remove forgets a key, ghost or not.
func (p *ARC) Remove(key string) { p.drop(key) }

// Evict gives up the least recent object of T1 while T1 is over its
// target, else of T2, and remembers its key as a ghost.
func (p *ARC) Evict() (string, bool) {
	from, ghost := &p.t2, &p.b2
	if p.t1.n > 0 && (p.t1.n > p.p || p.t2.n == 0) {
		from, ghost = &p.t1, &p.b1
	}
	if from.back == nil {
		return "", false
	}
	key := from.back.key
	p.move(key, ghost)
	return key, true
}

// Len is the number of objects held (ghosts not counted).
func (p *ARC) Len() int { return p.t1.n + p.t2.n }
