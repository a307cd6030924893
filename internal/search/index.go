package search

import (
	"bytes"
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"github.com/agorahub/agora/internal/meta"
)

// index is the in-memory data of the listing index, without I/O: every
// document's listing fields by slot, one column per field (pointer-free
// slices the garbage collector does not walk, and no per-document
// allocation), trigram postings of the lower-case full name, postings per
// tag, pipeline tag and namespace, and per sort an order of every slot.
// Postings are exact: a change removes a document from the lists it left.
// Safe for concurrent use through mu.
type index struct {
	mu sync.RWMutex

	// Columns by slot. A deleted document keeps its slot, flagged dead and
	// in no posting list, until the next snapshot leaves it out.
	ids       []int64
	typ       []uint8 // number in types
	flags     []uint8
	nameOff   []uint32 // lower-case "namespace/name" in names
	nameLen   []uint16
	ns        []int32 // term of "n:<lower-case namespace>"
	pipe      []int32 // term of "p:<pipeline tag>", or -1
	created   []int64 // Unix ms, like the cursors
	updated   []int64
	downloads col32
	likes     col32
	trending  col32
	params    []int64
	stamp     []int64  // the feed's change stamp of the document, Unix ms
	tagOff    []uint32 // sorted terms of "t:<tag>" in tagTerms
	tagLen    []uint32
	changed   []int32 // change number of the last put (see renumber)

	names    []byte  // arena of names; renames append, leaving garbage
	tagTerms []int32 // arena of tag terms; changes append, leaving garbage
	garbage  int     // arena bytes no document uses

	slots idMap
	types []string
	live  int

	terms    dict // "t:<tag>", "p:<pipeline>", "n:<namespace>"
	termPost postings
	gramNum  map[uint32]int32 // trigram → key in gramPost
	gramPost postings

	// cursor is the newest (change stamp, id) applied: every change before
	// it, but those committed late, is in the index.
	cursor meta.DocCursor

	// orders holds, per sort, every slot in that order as of a past
	// change number; changes logs the slots put since, so that documents
	// whose sort values may have moved are checked apart (scanOrdered).
	orders     map[string]*order
	changes    []int32
	changeBase int64 // change number of changes[0]
	epoch      int   // renumbers so far: change numbers of another epoch mean nothing

	// bulk defers posting lists while a build puts every document:
	// indexAll then builds them list by list, not document by document.
	bulk bool

	denseMin int // the shortest list ANDed as a bitset
	walkMin  int // the fewest candidates walked in sort order

	// scratch buffers of put, under mu
	buf     []byte
	gramBuf []uint32
	termBuf []int32
}

// maxName bounds a stored name (nameLen is 16 bits).
const maxName = 1<<16 - 1

const (
	flagPrivate = 1 << iota
	flagGated
	flagDead
)

// order is the slots sorted best first for a sort (descending, ties by
// id descending), as of change number seq: a document changed at or after
// seq may no longer be at its place.
type order struct {
	sort  string
	perm  []int32
	seq   int64
	epoch int // the index's renumbers when it was built
}

// orderSorts are the sorts that keep an order.
var orderSorts = []string{meta.SortDownloads, meta.SortLikes, meta.SortTrending, meta.SortLastModified, meta.SortCreatedAt, meta.SortID}

func newIndex() *index {
	return &index{terms: newDict(), termPost: newPostings(), gramNum: map[uint32]int32{}, gramPost: newPostings(),
		orders: map[string]*order{}, denseMin: 1024, walkMin: orderedCandidates}
}

// idMap maps repository ids to slots. Ids come from a sequence, so they
// are dense: pages of 1,024 slots take 4 bytes an id, a sixth of a map's.
type idMap struct {
	pages map[int64]*[idPage]int32 // slot + 1; 0 = absent
}

const idPage = 1024

func (m *idMap) get(id int64) (int32, bool) {
	p := m.pages[id/idPage]
	if p == nil {
		return 0, false
	}
	s := p[id%idPage]
	return s - 1, s != 0
}

func (m *idMap) set(id int64, s int32) {
	if m.pages == nil {
		m.pages = map[int64]*[idPage]int32{}
	}
	p := m.pages[id/idPage]
	if p == nil {
		p = new([idPage]int32)
		m.pages[id/idPage] = p
	}
	p[id%idPage] = s + 1
}

func (m *idMap) del(id int64) {
	if p := m.pages[id/idPage]; p != nil {
		p[id%idPage] = 0
	}
}

// A col32 is a column of int64 values that are nearly always small
// non-negative counts (downloads, likes, trending): 4 bytes each, the
// rare others in a map.
type col32 struct {
	v   []uint32
	big map[int32]int64
}

const bigMark = 1<<32 - 1

func (c *col32) get(s int32) int64 {
	if v := c.v[s]; v != bigMark {
		return int64(v)
	}
	return c.big[s]
}

func (c *col32) append(v int64) {
	c.v = append(c.v, 0)
	c.set(int32(len(c.v)-1), v)
}

func (c *col32) set(s int32, v int64) {
	if c.v[s] == bigMark {
		delete(c.big, s)
	}
	if v >= 0 && v < bigMark {
		c.v[s] = uint32(v)
		return
	}
	if c.big == nil {
		c.big = map[int32]int64{}
	}
	c.v[s], c.big[s] = bigMark, v
}

func (c *col32) bytes() int { return 4*cap(c.v) + 32*len(c.big) }

// maxChange bounds change numbers, which are stored in 32 bits: at a
// million changes an hour (download counts of every repository) that is
// three months, after which renumber drops the orders and starts again.
const maxChange = 1<<31 - 1

// renumber restarts change numbers: every order is dropped (queries use
// the posting lists until refreshOrders rebuilds them). The caller holds
// mu.
func (x *index) renumber() {
	clear(x.orders)
	clear(x.changed)
	x.changes, x.changeBase = nil, 1
	x.epoch++
}

// name returns the lower-case full name of slot s (not to be modified).
func (x *index) name(s int32) []byte {
	o := x.nameOff[s]
	return x.names[o : o+uint32(x.nameLen[s])]
}

// tags returns the sorted tag terms of slot s (not to be modified).
func (x *index) tags(s int32) []int32 {
	o := x.tagOff[s]
	return x.tagTerms[o : o+x.tagLen[s]]
}

func (x *index) typeNum(t string) int {
	for i, v := range x.types {
		if v == t {
			return i
		}
	}
	return -1
}

// termOf interns prefix+s.
func (x *index) termOf(prefix, s string) int32 {
	x.buf = append(append(x.buf[:0], prefix...), s...)
	return x.terms.internBytes(x.buf)
}

// lookupTerm finds prefix+s without interning it.
func (x *index) lookupTerm(prefix, s string) (int32, bool) {
	b := append(append(make([]byte, 0, 64), prefix...), s...)
	return x.terms.lookupBytes(b)
}

func gramKey(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

// gramsOf appends the distinct trigrams of name to dst.
func gramsOf(dst []uint32, name []byte) []uint32 {
	start := len(dst)
	for i := 0; i+3 <= len(name); i++ {
		g := gramKey(name[i:])
		if !slices.Contains(dst[start:], g) {
			dst = append(dst, g)
		}
	}
	return dst
}

func (x *index) gramKeyNum(g uint32) int32 {
	k, ok := x.gramNum[g]
	if !ok {
		k = int32(len(x.gramNum))
		x.gramNum[g] = k
	}
	return k
}

// docTerms appends the posting terms of slot s (tags, pipeline tag,
// namespace) to dst.
func (x *index) docTerms(dst []int32, s int32) []int32 {
	dst = append(dst, x.tags(s)...)
	if x.pipe[s] >= 0 {
		dst = append(dst, x.pipe[s])
	}
	return append(dst, x.ns[s])
}

// put adds or replaces a document, or removes it; the caller holds mu.
func (x *index) put(sd *meta.SearchDoc) {
	r := &sd.Repo
	s, exists := x.slots.get(r.ID)
	if sd.Deleted {
		if exists {
			x.kill(s)
		}
		return
	}
	tags := x.internTags(sd.Tags)
	ns := x.termOf("n:", strings.ToLower(r.Namespace))
	pipe := int32(-1)
	if sd.PipelineTag != "" {
		pipe = x.termOf("p:", sd.PipelineTag)
	}
	typ := x.typeNum(r.Type)
	if typ < 0 {
		typ = len(x.types)
		x.types = append(x.types, r.Type)
	}
	var fl uint8
	if r.Private {
		fl |= flagPrivate
	}
	if r.Gated != "" {
		fl |= flagGated
	}
	lname := meta.LowerName(r.Namespace, r.Name)
	if len(lname) > maxName {
		lname = lname[:maxName] // names are far shorter; a length must fit nameLen
	}
	change := x.changeBase + int64(len(x.changes))
	if change >= maxChange {
		x.renumber()
		change = x.changeBase
	}
	if !exists {
		s = int32(len(x.ids))
		x.slots.set(r.ID, s)
		x.live++
		x.ids = append(x.ids, r.ID)
		x.typ = append(x.typ, uint8(typ))
		x.flags = append(x.flags, fl)
		x.nameOff = append(x.nameOff, uint32(len(x.names)))
		x.nameLen = append(x.nameLen, uint16(len(lname)))
		x.names = append(x.names, lname...)
		x.ns = append(x.ns, ns)
		x.pipe = append(x.pipe, pipe)
		x.created = append(x.created, r.CreatedAt.UnixMilli())
		x.updated = append(x.updated, r.UpdatedAt.UnixMilli())
		x.downloads.append(r.Downloads)
		x.likes.append(r.Likes)
		x.trending.append(r.Trending)
		x.params = append(x.params, sd.NumParameters)
		x.stamp = append(x.stamp, sd.ChangedAt)
		x.tagOff = append(x.tagOff, uint32(len(x.tagTerms)))
		x.tagLen = append(x.tagLen, uint32(len(tags)))
		x.tagTerms = append(x.tagTerms, tags...)
		x.changed = append(x.changed, int32(change))
		x.changes = append(x.changes, s)
		if !x.bulk {
			x.gramBuf = gramsOf(x.gramBuf[:0], x.name(s))
			for _, g := range x.gramBuf {
				x.gramPost.add(x.gramKeyNum(g), s)
			}
			x.termBuf = x.docTerms(x.termBuf[:0], s)
			for _, t := range x.termBuf {
				x.termPost.add(t, s)
			}
		}
		return
	}
	x.changes = append(x.changes, s)
	x.changed[s] = int32(change)
	if old := x.name(s); string(old) != lname && !x.bulk {
		oldGrams := gramsOf(x.gramBuf[:0], old)
		newGrams := gramsOf(oldGrams[len(oldGrams):], []byte(lname))
		for _, g := range oldGrams {
			if !slices.Contains(newGrams, g) {
				x.gramPost.remove(x.gramNum[g], s)
			}
		}
		for _, g := range newGrams {
			if !slices.Contains(oldGrams, g) {
				x.gramPost.add(x.gramKeyNum(g), s)
			}
		}
		x.gramBuf = oldGrams[:0]
	}
	if old := x.name(s); string(old) != lname {
		x.garbage += len(old)
		x.nameOff[s], x.nameLen[s] = uint32(len(x.names)), uint16(len(lname))
		x.names = append(x.names, lname...)
	}
	oldTerms := x.docTerms(x.termBuf[:0], s)
	if !slices.Equal(x.tags(s), tags) {
		x.garbage += 4 * int(x.tagLen[s])
		x.tagOff[s], x.tagLen[s] = uint32(len(x.tagTerms)), uint32(len(tags))
		x.tagTerms = append(x.tagTerms, tags...)
	}
	x.ns[s], x.pipe[s] = ns, pipe
	if !x.bulk {
		newTerms := x.docTerms(oldTerms[len(oldTerms):], s)
		for _, t := range oldTerms {
			if !slices.Contains(newTerms, t) {
				x.termPost.remove(t, s)
			}
		}
		for _, t := range newTerms {
			if !slices.Contains(oldTerms, t) {
				x.termPost.add(t, s)
			}
		}
	}
	x.termBuf = oldTerms[:0]
	x.typ[s], x.flags[s] = uint8(typ), fl
	x.created[s], x.updated[s] = r.CreatedAt.UnixMilli(), r.UpdatedAt.UnixMilli()
	x.downloads.set(s, r.Downloads)
	x.likes.set(s, r.Likes)
	x.trending.set(s, r.Trending)
	x.params[s] = sd.NumParameters
	x.stamp[s] = sd.ChangedAt
}

// internTags interns tags as sorted, distinct "t:" terms (a fresh slice).
func (x *index) internTags(tags []string) []int32 {
	out := make([]int32, 0, len(tags))
	for _, t := range tags {
		out = append(out, x.termOf("t:", t))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// kill removes slot s from every list and marks it dead.
func (x *index) kill(s int32) {
	if x.flags[s]&flagDead != 0 {
		return
	}
	if !x.bulk {
		x.gramBuf = gramsOf(x.gramBuf[:0], x.name(s))
		for _, g := range x.gramBuf {
			x.gramPost.remove(x.gramNum[g], s)
		}
		x.termBuf = x.docTerms(x.termBuf[:0], s)
		for _, t := range x.termBuf {
			x.termPost.remove(t, s)
		}
	}
	x.flags[s] |= flagDead
	x.slots.del(x.ids[s])
	x.live--
	x.garbage += int(x.nameLen[s]) + 4*int(x.tagLen[s])
}

// forget marks a proposed id that no longer exists as dead.
func (x *index) forget(id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if s, ok := x.slots.get(id); ok {
		x.kill(s)
	}
}

// compact rewrites the arenas without the garbage renames, retags and
// deletions left. The caller holds mu.
func (x *index) compact() {
	names := make([]byte, 0, len(x.names)-x.garbage/2)
	tagTerms := make([]int32, 0, len(x.tagTerms))
	for s := range x.ids {
		if x.flags[s]&flagDead != 0 {
			x.nameLen[s], x.tagLen[s] = 0, 0
		}
		n := x.name(int32(s))
		x.nameOff[s] = uint32(len(names))
		names = append(names, n...)
		t := x.tags(int32(s))
		x.tagOff[s] = uint32(len(tagTerms))
		tagTerms = append(tagTerms, t...)
	}
	x.names, x.tagTerms, x.garbage = names, slices.Clip(tagTerms), 0
}

// trim gives back the spare capacity appends left in the columns (up to a
// quarter of each after a build), keeping a little room to grow. The
// caller holds mu, or owns x.
func (x *index) trim() {
	x.ids = trimmed(x.ids)
	x.typ, x.flags = trimmed(x.typ), trimmed(x.flags)
	x.nameOff, x.nameLen, x.names = trimmed(x.nameOff), trimmed(x.nameLen), trimmed(x.names)
	x.ns, x.pipe = trimmed(x.ns), trimmed(x.pipe)
	x.created, x.updated, x.params, x.stamp = trimmed(x.created), trimmed(x.updated), trimmed(x.params), trimmed(x.stamp)
	x.downloads.v, x.likes.v, x.trending.v = trimmed(x.downloads.v), trimmed(x.likes.v), trimmed(x.trending.v)
	x.tagOff, x.tagLen, x.tagTerms = trimmed(x.tagOff), trimmed(x.tagLen), trimmed(x.tagTerms)
	x.changed = trimmed(x.changed)
	x.terms.arena, x.terms.end = trimmed(x.terms.arena), trimmed(x.terms.end)
	x.termPost.one, x.gramPost.one = trimmed(x.termPost.one), trimmed(x.gramPost.one)
	x.termPost.lists, x.gramPost.lists = trimmed(x.termPost.lists), trimmed(x.gramPost.lists)
}

func trimmed[T any](s []T) []T {
	if cap(s)-len(s) <= len(s)/64+16 {
		return s
	}
	return append(make([]T, 0, len(s)+len(s)/64+16), s...)
}

// bytes is the memory the index holds, about.
func (x *index) bytes() int {
	n := 8*cap(x.ids) + cap(x.typ) + cap(x.flags) + 4*cap(x.nameOff) + 2*cap(x.nameLen) + 4*cap(x.ns) + 4*cap(x.pipe) +
		8*(cap(x.created)+cap(x.updated)+cap(x.params)+cap(x.stamp)) + 4*cap(x.changed) + x.downloads.bytes() + x.likes.bytes() + x.trending.bytes() +
		4*cap(x.tagOff) + 4*cap(x.tagLen) + cap(x.names) + 4*cap(x.tagTerms) + 4*cap(x.changes)
	n += len(x.slots.pages) * (4*idPage + 32)
	n += x.terms.bytes() + x.termPost.bytes() + 16*len(x.gramNum) + x.gramPost.bytes()
	for _, o := range x.orders {
		n += 4 * cap(o.perm)
	}
	return n
}

// sortValue returns slot s's value for a sort order.
func (x *index) sortValue(s int32, sort string) int64 {
	switch sort {
	case meta.SortLastModified:
		return x.updated[s]
	case meta.SortCreatedAt:
		return x.created[s]
	case meta.SortDownloads:
		return x.downloads.get(s)
	case meta.SortLikes:
		return x.likes.get(s)
	case meta.SortTrending:
		return x.trending.get(s)
	}
	return 0
}

// filter is a query prepared for the index: terms looked up, strings
// lowered once.
type filter struct {
	q          *meta.RepoQuery
	sort       string
	typ        int // -1: any
	viewerIDs  []int32
	authorID   int32 // -1: any
	pipeID     int32 // -1: any
	tags       []int32
	search     []byte
	afterName  []byte
	impossible bool // a value no document has
}

func (x *index) prepare(q *meta.RepoQuery) *filter {
	f := &filter{q: q, sort: q.Sort, typ: -1, authorID: -1, pipeID: -1, search: []byte(strings.ToLower(q.Search))}
	if f.sort == "" {
		f.sort = meta.SortID
	}
	if q.Type != "" {
		if f.typ = x.typeNum(q.Type); f.typ < 0 {
			f.impossible = true
		}
	}
	find := func(prefix, s string) int32 {
		t, ok := x.lookupTerm(prefix, s)
		if !ok {
			f.impossible = true
		}
		return t
	}
	if q.Author != "" {
		f.authorID = find("n:", strings.ToLower(q.Author))
	}
	if q.PipelineTag != "" {
		f.pipeID = find("p:", q.PipelineTag)
	}
	for _, t := range q.Tags {
		f.tags = append(f.tags, find("t:", t))
	}
	if !q.ViewerAll {
		for _, ns := range q.ViewerNamespaces {
			if t, ok := x.lookupTerm("n:", strings.ToLower(ns)); ok {
				f.viewerIDs = append(f.viewerIDs, t)
			}
		}
	}
	if q.After != nil {
		f.afterName = []byte(q.After.Name)
	}
	return f
}

// matches reports whether slot s passes every filter for the viewer.
func (x *index) matches(f *filter, s int32) bool {
	q := f.q
	fl := x.flags[s]
	if fl&flagDead != 0 || f.typ >= 0 && int(x.typ[s]) != f.typ {
		return false
	}
	if fl&flagPrivate != 0 && !q.ViewerAll && !slices.Contains(f.viewerIDs, x.ns[s]) {
		return false
	}
	if f.authorID >= 0 && x.ns[s] != f.authorID {
		return false
	}
	if len(f.search) > 0 && !bytes.Contains(x.name(s), f.search) {
		return false
	}
	if len(f.tags) > 0 {
		tags := x.tags(s)
		for _, t := range f.tags {
			if _, ok := slices.BinarySearch(tags, t); !ok {
				return false
			}
		}
	}
	if f.pipeID >= 0 && x.pipe[s] != f.pipeID {
		return false
	}
	if q.MinParams > 0 && x.params[s] < q.MinParams || q.MaxParams > 0 && x.params[s] > q.MaxParams {
		return false
	}
	if q.Gated != nil && (fl&flagGated != 0) != *q.Gated {
		return false
	}
	return x.afterCursor(f, s)
}

// less orders slot a before slot b in f's listing order.
func (x *index) less(f *filter, a, b int32) bool {
	if f.sort == meta.SortID {
		c := bytes.Compare(x.name(a), x.name(b))
		if f.q.Desc {
			return c > 0
		}
		return c < 0
	}
	va, vb := x.sortValue(a, f.sort), x.sortValue(b, f.sort)
	if va != vb {
		return va > vb == f.q.Desc
	}
	return x.ids[a] > x.ids[b] == f.q.Desc
}

// afterCursor reports whether slot s comes after the cursor in f's order.
func (x *index) afterCursor(f *filter, s int32) bool {
	c := f.q.After
	if c == nil {
		return true
	}
	if f.sort == meta.SortID {
		if f.q.Desc {
			return bytes.Compare(x.name(s), f.afterName) < 0
		}
		return bytes.Compare(x.name(s), f.afterName) > 0
	}
	v, id := x.sortValue(s, f.sort), x.ids[s]
	if f.q.Desc {
		return v < c.Value || v == c.Value && id < c.ID
	}
	return v > c.Value || v == c.Value && id > c.ID
}

// A posting list is ANDed as a bitset once it holds 1/denseShare of all
// documents (and denseMin at least): a bitset over 1,000,000 slots is 122
// KiB, the size of a list of 1/32 of them.
const denseShare = 32

// lists returns the posting lists every match of f is in, shortest first,
// or nil when none applies.
func (x *index) lists(f *filter) []list {
	out := x.searchLists(f.search)
	for _, t := range f.tags {
		out = append(out, x.termPost.get(t))
	}
	if f.pipeID >= 0 {
		out = append(out, x.termPost.get(f.pipeID))
	}
	if f.authorID >= 0 {
		out = append(out, x.termPost.get(f.authorID))
	}
	slices.SortFunc(out, func(a, b list) int { return a.len() - b.len() })
	return out
}

// searchLists returns the trigram lists a name containing search is in
// that are worth ANDing. Every match is checked against the whole term
// anyway (matches), so the lists need only narrow the candidates, and
// overlapping trigrams ("lla", "lam", "ama") hold nearly the same names:
// ANDing them all cost a third of a search's CPU for few candidates
// fewer. The lists taken are the fewest trigrams that cover every
// character of the term ("lla", "ma-", "-7b" for "llama-7b"), the rarest
// such set where there are several: every character is still tested, so
// the candidates are nearly those of all the trigrams.
func (x *index) searchLists(search []byte) []list {
	n := len(search) - 2 // trigrams
	if n < 1 {
		return nil
	}
	grams := make([]list, n)
	for i := range grams {
		k, ok := x.gramNum[gramKey(search[i:])]
		if !ok {
			k = -1
		}
		grams[i] = x.gramPost.get(k)
	}
	// best[i] is the cheapest cover of search[:i+3] whose last trigram
	// starts at i: the fewest trigrams, then the least sum of the logs
	// of their lengths (the smallest product, for independent lists).
	type cover struct {
		count int
		cost  float64
		prev  int
	}
	best := make([]cover, n)
	for i := range best {
		c := math.Log1p(float64(grams[i].len()))
		best[i] = cover{count: 1, cost: c, prev: -1}
		if i == 0 {
			continue
		}
		best[i].count = math.MaxInt
		for j := max(0, i-3); j < i; j++ {
			b := best[j]
			if b.count+1 < best[i].count || b.count+1 == best[i].count && b.cost+c < best[i].cost {
				best[i] = cover{count: b.count + 1, cost: b.cost + c, prev: j}
			}
		}
	}
	var out []list
	for i := n - 1; i >= 0; i = best[i].prev {
		out = append(out, grams[i])
	}
	return out
}

// candidates intersects the posting lists every match must be in; found
// is false when no list applies and every document must be checked. The
// dense lists are ANDed as bitsets, then the sparse ones intersected,
// shortest first, while that pays: checking a candidate (every filter is
// checked on it anyway) costs less than walking another long list.
func (x *index) candidates(f *filter) (cand []int32, found bool) {
	lists := x.lists(f)
	if len(lists) == 0 {
		return nil, false
	}
	var dense, sparse []list
	for _, l := range lists {
		if l.bm != nil && l.len() >= max(len(x.ids)/denseShare, x.denseMin) {
			dense = append(dense, l)
		} else {
			sparse = append(sparse, l)
		}
	}
	var and []uint64
	if len(dense) > 0 {
		buf := wordPool.Get().(*[]uint64)
		n := (len(x.ids) + 63) / 64
		and = slices.Grow((*buf)[:0], n)[:n]
		bms := make([]*bitmap, len(dense))
		for i, l := range dense {
			bms[i] = l.bm
		}
		scratch := scratchPool.Get().(*[containerWords]uint64)
		andAll(and, bms, scratch)
		scratchPool.Put(scratch)
		defer func() {
			*buf = and
			wordPool.Put(buf)
		}()
	}
	switch {
	case len(sparse) == 0:
		return setBits(and), true
	case and != nil:
		all := sparse[0].appendTo(nil)
		cand = all[:0]
		for _, s := range all {
			if and[s>>6]&(1<<(uint(s)&63)) != 0 {
				cand = append(cand, s)
			}
		}
	default:
		cand = sparse[0].appendTo(nil)
	}
	for _, l := range sparse[1:] {
		if len(cand) <= 4000 || l.len() > 16*len(cand) && len(cand) <= 20000 {
			break
		}
		if l.len() > 4*len(cand) {
			// Probing the long list costs less than reading it.
			out := cand[:0]
			for _, s := range cand {
				if l.contains(s) {
					out = append(out, s)
				}
			}
			cand = out
			continue
		}
		cand = intersect(cand, l.appendTo(nil))
	}
	return cand, true
}

// intersect returns the slots in both sorted lists, in a's storage.
func intersect(a, b []int32) []int32 {
	out := a[:0]
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// setBits lists the slots set in b, in order.
func setBits(b []uint64) []int32 {
	var out []int32
	for w, v := range b {
		for v != 0 {
			out = append(out, int32(w<<6+bits.TrailingZeros64(v)))
			v &= v - 1
		}
	}
	return out
}

func setBit(b []uint64, s int32) []uint64 {
	w := int(s) >> 6
	if w >= len(b) {
		b = append(b, make([]uint64, w+1-len(b))...)
	}
	b[w] |= 1 << (uint(s) & 63)
	return b
}

// walkBudget returns how many documents an ordered walk for f may visit,
// and whether one is worth trying: its expected length, n over the share
// of documents estimated to match, must fit in the budget. Lists are
// taken as independent except a search term's trigrams, which are highly
// correlated: only its two rarest count.
func (x *index) walkBudget(f *filter, n int) (int, bool) {
	total := float64(max(len(x.ids), 1))
	var grams []int
	if len(f.search) >= 3 {
		for _, g := range gramsOf(nil, f.search) {
			k, ok := x.gramNum[g]
			if !ok {
				k = -1
			}
			grams = append(grams, x.gramPost.get(k).len())
		}
	}
	share, shortest := 1.0, len(x.ids)
	slices.Sort(grams)
	for i, l := range grams {
		if i < 2 {
			share *= float64(l) / total
		}
		shortest = min(shortest, l)
	}
	terms := slices.Clone(f.tags)
	if f.pipeID >= 0 {
		terms = append(terms, f.pipeID)
	}
	if f.authorID >= 0 {
		terms = append(terms, f.authorID)
	}
	for _, t := range terms {
		l := x.termPost.get(t).len()
		share *= float64(l) / total
		shortest = min(shortest, l)
	}
	budget := len(x.ids)
	if shortest < len(x.ids) {
		// A walk step (a random read of a document) costs several steps
		// of intersecting sorted lists.
		budget = shortest / 4
	}
	return budget, float64(n) < share*float64(budget)
}

// scanOrdered visits f's best matches by walking its sort's order: the
// documents unchanged since the order was built are in their exact
// places, so after n of them match no later one can rank higher; the
// changed ones are all visited too. With in set, only the slots set in it
// are candidates. It returns false, having visited some documents, when
// there is no order or the walk exceeds budget.
func (x *index) scanOrdered(f *filter, n, budget int, in []uint64, visit func(int32)) bool {
	o := x.orders[f.sort]
	if o == nil || f.q.After != nil {
		return false
	}
	found, steps, read := 0, 0, 0
	step := func(s int32) bool {
		steps++
		if in != nil {
			// Testing a bit is far cheaper than reading the document.
			if w := int(s) >> 6; w >= len(in) || in[w]&(1<<(uint(s)&63)) == 0 {
				return steps <= budget
			}
		}
		if int64(x.changed[s]) >= o.seq {
			return steps <= budget // visited below
		}
		read++
		if x.matches(f, s) {
			visit(s)
			found++
		}
		if in != nil && read >= 128 && found*8 < read {
			// Most candidates fail the other filters: the walk would
			// read nearly all of them, and slower than in slot order.
			steps = budget + 1
		}
		return found < n && steps <= budget
	}
	if f.q.Desc {
		for _, s := range o.perm {
			if !step(s) {
				break
			}
		}
	} else {
		for i := len(o.perm) - 1; i >= 0; i-- {
			if !step(o.perm[i]) {
				break
			}
		}
	}
	if found < n && steps > budget {
		return false
	}
	for i := max(o.seq-x.changeBase, 0); i < int64(len(x.changes)); i++ {
		// A slot logged several times is visited at its last change only.
		if s := x.changes[i]; int64(x.changed[s]) == x.changeBase+i {
			visit(s)
		}
	}
	return true
}

// orderedCandidates is the fewest candidates walked in sort order.
const orderedCandidates = 1000

// scanCandidates tries to visit f's best matches among many candidates by
// walking the sort's order, testing each slot against a bitset of them:
// a step costs a bit test, while visiting every candidate costs a cache
// miss or two each. The walk is tried when it should meet n candidates
// within half its budget, and given up (false) at the budget, which
// happens when the filters the candidates were not chosen by (parameter
// range, gating, visibility) reject most of them.
func (x *index) scanCandidates(f *filter, n int, cand []int32, visit func(int32)) bool {
	const stepsPerVisit = 64 // what one candidate visit costs in steps, about
	budget := stepsPerVisit * len(cand)
	if len(cand) < x.walkMin || 2*int64(n)*int64(len(x.ids)) > int64(budget)*int64(len(cand)) {
		return false
	}
	in := candPool.Get().(*[]uint64)
	b := *in
	for _, s := range cand {
		b = setBit(b, s)
	}
	ok := x.scanOrdered(f, n, budget, b, visit)
	for _, s := range cand {
		b[s>>6] = 0
	}
	*in = b
	candPool.Put(in)
	return ok
}

// The bitsets of one query are recycled: 122 KiB each at 1,000,000
// documents is too much garbage per request. candidates overwrites its
// buffer; scanCandidates returns its own cleared.
var (
	wordPool    = sync.Pool{New: func() any { return new([]uint64) }}
	candPool    = sync.Pool{New: func() any { return new([]uint64) }}
	scratchPool = sync.Pool{New: func() any { return new([containerWords]uint64) }}
)

// buildOrder sorts every slot for sort, best first. Only the sort keys
// are copied under the read lock; the sorting runs without it, and what
// changes meanwhile is logged as changed after the order's seq.
func (x *index) buildOrder(sort string) *order {
	x.mu.RLock()
	n := len(x.ids)
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	seq := x.changeBase + int64(len(x.changes))
	var cmpSlots func(a, b int32) int
	if sort == meta.SortID {
		// Names are never changed in place (a rename appends), so these
		// views stay valid after the lock is released.
		names, off, ln := x.names, slices.Clone(x.nameOff), slices.Clone(x.nameLen)
		cmpSlots = func(a, b int32) int {
			return -bytes.Compare(names[off[a]:off[a]+uint32(ln[a])], names[off[b]:off[b]+uint32(ln[b])])
		}
	} else {
		type key struct{ v, id int64 }
		keys := make([]key, n)
		for i := range keys {
			keys[i] = key{x.sortValue(int32(i), sort), x.ids[i]}
		}
		cmpSlots = func(a, b int32) int {
			ka, kb := &keys[a], &keys[b]
			if ka.v != kb.v {
				return -cmp.Compare(ka.v, kb.v)
			}
			return -cmp.Compare(ka.id, kb.id)
		}
	}
	epoch := x.epoch
	x.mu.RUnlock()
	slices.SortFunc(perm, cmpSlots)
	return &order{sort: sort, perm: perm, seq: seq, epoch: epoch}
}

// refreshOrders (re)builds the orders that are missing or that many
// changes made slow to use, then drops the change log no order needs any
// more. Sorts are built in parallel, two at a time.
func (x *index) refreshOrders() {
	x.mu.RLock()
	limit := int64(max(10_000, len(x.ids)/50))
	var sorts []string
	for _, sort := range orderSorts {
		if o := x.orders[sort]; o == nil || x.changeBase+int64(len(x.changes))-o.seq > limit {
			sorts = append(sorts, sort)
		}
	}
	x.mu.RUnlock()
	if len(sorts) == 0 {
		return
	}
	built := make([]*order, len(sorts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, sort := range sorts {
		wg.Go(func() {
			sem <- struct{}{}
			built[i] = x.buildOrder(sort)
			<-sem
		})
	}
	wg.Wait()
	x.installOrders(built)
}

// installOrders puts built orders in place and drops the change log none
// needs any more. Two refreshes may overlap: a later-built order may
// already be in place and the log cut to it, so an older one, which would
// miss the changes in between, is not installed; nor is one from before a
// renumber.
func (x *index) installOrders(built []*order) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, o := range built {
		cur := x.orders[o.sort]
		if o.epoch == x.epoch && o.seq >= x.changeBase && (cur == nil || cur.seq < o.seq) {
			x.orders[o.sort] = o
		}
	}
	oldest := x.changeBase + int64(len(x.changes))
	for _, sort := range orderSorts {
		if o := x.orders[sort]; o != nil {
			oldest = min(oldest, o.seq)
		}
	}
	if drop := oldest - x.changeBase; drop > 0 {
		x.changes = slices.Clone(x.changes[drop:])
		x.changeBase = oldest
	}
}

// topN keeps the best n slots seen in a heap, worst on top (a
// hand-written heap: container/heap would box every slot it is given).
type topN struct {
	x     *index
	f     *filter
	n     int
	slots []int32
}

// worse reports whether slot a ranks after slot b.
func (h *topN) worse(a, b int32) bool { return h.x.less(h.f, b, a) }

func (h *topN) offer(s int32) {
	sl := h.slots
	if len(sl) < h.n {
		sl = append(sl, s)
		for i := len(sl) - 1; i > 0; {
			p := (i - 1) / 2
			if !h.worse(sl[i], sl[p]) {
				break
			}
			sl[i], sl[p] = sl[p], sl[i]
			i = p
		}
		h.slots = sl
		return
	}
	if !h.worse(sl[0], s) {
		return
	}
	sl[0] = s
	for i := 0; ; {
		j := 2*i + 1
		if j >= len(sl) {
			break
		}
		if r := j + 1; r < len(sl) && h.worse(sl[r], sl[j]) {
			j = r
		}
		if !h.worse(sl[j], sl[i]) {
			break
		}
		sl[i], sl[j] = sl[j], sl[i]
		i = j
	}
}

// sorted returns the slots kept, best first.
func (h *topN) sorted() []int32 {
	slices.SortFunc(h.slots, func(a, b int32) int {
		switch {
		case h.x.less(h.f, a, b):
			return -1
		case h.x.less(h.f, b, a):
			return 1
		}
		return 0
	})
	return h.slots
}

// query returns the first n matches of q in order, each with the change
// stamp of the document indexed.
func (x *index) query(q *meta.RepoQuery, n int) []meta.DocCursor {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if n <= 0 {
		return nil
	}
	f := x.prepare(q)
	if f.impossible {
		return nil
	}
	h := &topN{x: x, f: f, n: n}
	visit := func(s int32) {
		if x.matches(f, s) {
			h.offer(s)
		}
	}
	// Walking the sort order stops after n matches, which beats visiting
	// every candidate when matches are common; it is skipped when matches
	// look rare, and given up (for the candidates) once it has cost about
	// what they would.
	budget, worth := x.walkBudget(f, n)
	if !worth || !x.scanOrdered(f, n, budget, nil, visit) {
		h.slots = h.slots[:0]
		if cand, found := x.candidates(f); found {
			if !x.scanCandidates(f, n, cand, visit) {
				h.slots = h.slots[:0]
				for _, s := range cand {
					visit(s)
				}
			}
		} else {
			for s := range x.ids {
				visit(int32(s))
			}
		}
	}
	out := h.sorted()
	hits := make([]meta.DocCursor, len(out))
	for i, s := range out {
		hits[i] = meta.DocCursor{ID: x.ids[s], ChangedAt: x.stamp[s]}
	}
	return hits
}

// count returns how many documents match q, on every page.
func (x *index) count(q *meta.RepoQuery) int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	all := *q
	all.After = nil
	f := x.prepare(&all)
	if f.impossible {
		return 0
	}
	var n int64
	if cand, found := x.candidates(f); found {
		for _, s := range cand {
			if x.matches(f, s) {
				n++
			}
		}
		return n
	}
	for s := range x.ids {
		if x.matches(f, int32(s)) {
			n++
		}
	}
	return n
}
