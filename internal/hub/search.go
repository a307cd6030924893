package hub

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// searchIndex is a per-process, derived index of every repository's
// listing fields: trigram postings of the lower-case name, postings per
// tag, pipeline tag and namespace, and the sort values. It only proposes
// candidate ids in order; the rows returned to users are always read from
// the store, which re-checks existence and visibility. So it is an
// accelerator, not a source of truth (DESIGN.md decision 6): it refreshes
// every couple of seconds from the repositories' change stamps, and a
// repository created, changed or deleted since is at worst missing from,
// or ranked by slightly old values in, one listing.
type searchIndex struct {
	mu      sync.RWMutex
	ready   bool
	slot    map[int64]int32
	docs    []sdoc
	grams   map[[3]byte][]int32
	terms   map[string][]int32 // "t:<tag>", "p:<pipeline>", "n:<namespace>"
	tagID   map[string]int32   // interned tags
	tagName []string
	// cursor is the newest (change stamp, id) read: each listing first
	// reads what changed after it, so that it sees every write that
	// completed before it began. Writes stamped behind the cursor (clock
	// skew between replicas, transactions committing late) are picked up
	// by the periodic re-read of the last refreshLookback.
	cursor meta.DocCursor
	// stale counts postings that no longer match their document (after
	// renames and tag changes); a rebuild drops them.
	stale int
	// catching serialises catch-up reads; lastCatchUp is when the newest
	// completed one began. Listings that arrived before that need no read
	// of their own, so concurrent listings share one.
	catching    sync.Mutex
	lastCatchUp time.Time
	// orders holds, per sort, every slot in that order as of a past moment;
	// changes logs the slots put since, so that documents whose sort
	// values may have moved are checked apart (see scanOrdered).
	orders     map[string]*order
	changes    []int32
	changeBase int // change number of changes[0]
	// gramBits and termBits mirror the dense posting lists as bitsets over
	// slots: intersecting those is a word-wise AND, where merging lists of
	// a tenth of all documents each would cost most of a query.
	gramBits map[[3]byte][]uint64
	termBits map[string][]uint64
	denseMin int // the shortest list that may get a bitset
	walkMin  int // the fewest candidates walked in sort order
}

// order is the slots sorted best first for a sort (descending, ties by
// id descending), as of change number seq: a document changed at or after
// seq may no longer be at its place.
type order struct {
	perm []int32
	seq  int
}

// orderSorts are the sorts that keep an order.
var orderSorts = []string{meta.SortDownloads, meta.SortLikes, meta.SortTrending, meta.SortLastModified, meta.SortCreatedAt, meta.SortID}

type sdoc struct {
	id               int64
	typ              string
	lname            string
	nsID, pipeID     int32 // interned "n:namespace" (lower case) and "p:pipeline", or -1
	private          bool
	gated            bool
	dead             bool
	created, updated int64
	downloads, likes int64
	trending, params int64
	tags             []int32 // interned, sorted
	changed          int     // change number of the last put
}

// refreshLookback re-reads changes this far behind the last stamp seen,
// covering clock skew between replicas and writes that commit late.
const refreshLookback = 30 * time.Second

// catchUp reads the changes after x's cursor, so that the listing about
// to be answered sees every write that completed before it.
func (s *Service) catchUp(ctx context.Context, x *searchIndex) error {
	arrived := time.Now()
	x.catching.Lock()
	defer x.catching.Unlock()
	if x.lastCatchUp.After(arrived) {
		return nil
	}
	began := time.Now()
	x.mu.RLock()
	cur := x.cursor
	x.mu.RUnlock()
	// While the newest stamp is recent, its rows are read again: another
	// row may still be stamped with the same millisecond, or a row changed
	// twice within it. Older stamps are settled (the periodic lookback
	// covers late commits), and re-reading them would cost a full pass
	// after a bulk import that stamped many rows alike.
	if time.Now().UnixMilli()-cur.ChangedAt < recentStamp.Milliseconds() {
		cur = meta.DocCursor{ChangedAt: cur.ChangedAt}
	}
	if _, err := s.loadSearch(ctx, x, cur.ChangedAt, cur); err != nil {
		return err
	}
	x.lastCatchUp = began
	return nil
}

// recentStamp is how long the newest change stamp counts as still open.
const recentStamp = 5 * time.Second

// addPosting inserts slot s into a sorted posting list.
func addPosting(p []int32, s int32) []int32 {
	if n := len(p); n == 0 || p[n-1] < s {
		return append(p, s)
	}
	i, found := slices.BinarySearch(p, s)
	if found {
		return p
	}
	return slices.Insert(p, i, s)
}

// intersect returns the slots in both sorted lists: a merge when the
// sizes are close, a galloping search of the larger list otherwise.
func intersect(a, b []int32) []int32 {
	if len(a) > len(b) {
		a, b = b, a
	}
	out := make([]int32, 0, len(a))
	if len(a)*8 < len(b) {
		j := 0
		for _, s := range a {
			// Gallop from the last position, then search the window.
			step := 1
			for j+step < len(b) && b[j+step] < s {
				j += step
				step *= 2
			}
			k, ok := slices.BinarySearch(b[j:min(j+step+1, len(b))], s)
			j += k
			if ok {
				out = append(out, s)
			}
			if j >= len(b) {
				break
			}
		}
		return out
	}
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

func newSearchIndex() *searchIndex {
	return &searchIndex{slot: map[int64]int32{}, grams: map[[3]byte][]int32{}, terms: map[string][]int32{}, tagID: map[string]int32{},
		orders: map[string]*order{}, gramBits: map[[3]byte][]uint64{}, termBits: map[string][]uint64{},
		denseMin: 1024, walkMin: orderedCandidates}
}

func trigrams(s string, fn func(g [3]byte)) {
	for i := 0; i+3 <= len(s); i++ {
		fn([3]byte{s[i], s[i+1], s[i+2]})
	}
}

func (x *searchIndex) intern(tag string) int32 {
	if id, ok := x.tagID[tag]; ok {
		return id
	}
	id := int32(len(x.tagName))
	x.tagID[tag] = id
	x.tagName = append(x.tagName, tag)
	return id
}

func (x *searchIndex) docTerms(d *sdoc) []string {
	out := make([]string, 0, len(d.tags)+2)
	for _, t := range d.tags {
		out = append(out, "t:"+x.tagName[t])
	}
	if d.pipeID >= 0 {
		out = append(out, x.tagName[d.pipeID])
	}
	return append(out, x.tagName[d.nsID])
}

// put adds or replaces a document, or marks it deleted; the caller holds
// mu.
func (x *searchIndex) put(sd meta.SearchDoc) {
	r := &sd.Repo
	if sd.Deleted {
		if s, ok := x.slot[r.ID]; ok && !x.docs[s].dead {
			d := &x.docs[s]
			d.dead = true
			// Its postings stay until a rebuild drops them.
			x.stale += len(d.lname) + len(d.tags) + 2
		}
		return
	}
	d := sdoc{id: r.ID, typ: r.Type, lname: meta.LowerName(r.Namespace, r.Name),
		private: r.Private, gated: r.Gated != "", created: r.CreatedAt.UnixMilli(), updated: r.UpdatedAt.UnixMilli(),
		downloads: r.Downloads, likes: r.Likes, trending: r.Trending, params: sd.NumParameters,
		tags: make([]int32, 0, len(sd.Tags))}
	// The common type strings are shared, not one copy per document:
	// fewer objects for the garbage collector to visit.
	switch r.Type {
	case meta.TypeModel:
		d.typ = meta.TypeModel
	case meta.TypeDataset:
		d.typ = meta.TypeDataset
	}
	for _, t := range sd.Tags {
		d.tags = append(d.tags, x.intern(t))
	}
	slices.Sort(d.tags)
	d.tags = slices.Compact(d.tags)
	d.nsID = x.intern("n:" + strings.ToLower(r.Namespace))
	d.pipeID = -1
	if sd.PipelineTag != "" {
		d.pipeID = x.intern("p:" + sd.PipelineTag)
	}
	d.changed = x.changeBase + len(x.changes)
	if s, ok := x.slot[r.ID]; ok {
		x.changes = append(x.changes, s)
		old := &x.docs[s]
		oldTerms := map[string]bool{}
		for _, t := range x.docTerms(old) {
			oldTerms[t] = true
		}
		if old.lname != d.lname {
			x.stale += len(old.lname)
			trigrams(d.lname, func(g [3]byte) { x.addGram(g, s) })
		}
		for _, t := range x.docTerms(&d) {
			if !oldTerms[t] {
				x.addTerm(t, s)
			} else {
				delete(oldTerms, t)
			}
		}
		x.stale += len(oldTerms)
		x.docs[s] = d
		return
	}
	s := int32(len(x.docs))
	x.changes = append(x.changes, s)
	x.docs = append(x.docs, d)
	x.slot[r.ID] = s
	trigrams(d.lname, func(g [3]byte) { x.addGram(g, s) })
	for _, t := range x.docTerms(&d) {
		x.addTerm(t, s)
	}
}

func (x *searchIndex) addGram(g [3]byte, s int32) { addTo(x, x.grams, x.gramBits, g, s) }

func (x *searchIndex) addTerm(t string, s int32) { addTo(x, x.terms, x.termBits, t, s) }

// addTo adds slot s to the posting list of k, and to its bitset, which it
// gets once the list is dense.
func addTo[K comparable](x *searchIndex, lists map[K][]int32, bits map[K][]uint64, k K, s int32) {
	l := addPosting(lists[k], s)
	lists[k] = l
	if b, ok := bits[k]; ok {
		bits[k] = setBit(b, s)
	} else if x.dense(l) {
		bits[k] = bitsetOf(l)
	}
}

// setBit sets bit s of b, growing it as needed.
func setBit(b []uint64, s int32) []uint64 {
	w := int(s) >> 6
	if w >= len(b) {
		b = append(b, make([]uint64, w+1-len(b))...)
	}
	b[w] |= 1 << (uint(s) & 63)
	return b
}

// bitsetOf returns a posting list as a bitset.
func bitsetOf(l []int32) []uint64 {
	var b []uint64
	for _, s := range l {
		b = setBit(b, s)
	}
	return b
}

// A posting list gets a bitset once it holds 1/denseShare of all
// documents (and denseMin at least): at 1,000,000 documents a bitset is
// 122 KiB, the size of a list of 1/32 of them. It keeps it after, so the
// lists with bitsets are about those of terms in 1/32 of the documents or
// more: 313 at 1,000,000 generated repositories.
const denseShare = 32

func (x *searchIndex) dense(l []int32) bool {
	return len(l) >= max(len(x.docs)/denseShare, x.denseMin)
}

// markDead records that a proposed id no longer exists.
func (x *searchIndex) markDead(id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if s, ok := x.slot[id]; ok {
		x.docs[s].dead = true
	}
}

// loadSearch reads the documents changed at or after since, from the
// position after, into the index, and moves its cursor forward.
func (s *Service) loadSearch(ctx context.Context, x *searchIndex, since int64, after meta.DocCursor) (int, error) {
	n := 0
	for {
		docs, err := s.meta.SearchDocs(ctx, since, after, 5000)
		if err != nil {
			return n, err
		}
		if len(docs) == 0 {
			return n, nil
		}
		last := docs[len(docs)-1]
		after = meta.DocCursor{ChangedAt: last.ChangedAt, ID: last.Repo.ID}
		x.mu.Lock()
		for _, d := range docs {
			x.put(d)
		}
		if after.ChangedAt > x.cursor.ChangedAt || after.ChangedAt == x.cursor.ChangedAt && after.ID > x.cursor.ID {
			x.cursor = after
		}
		x.mu.Unlock()
		n += len(docs)
	}
}

// RunSearchIndex builds the listing index and keeps it fresh until ctx
// ends. Listings use the store's own queries until the first build is done.
func (s *Service) RunSearchIndex(ctx context.Context) {
	build := func() (*searchIndex, error) {
		x := newSearchIndex()
		start := time.Now()
		if _, err := s.loadSearch(ctx, x, 0, meta.DocCursor{}); err != nil {
			return nil, err
		}
		x.refreshOrders()
		x.mu.Lock()
		x.ready = true
		x.mu.Unlock()
		s.lg.Info("search index built", "repos", len(x.docs), "dur", time.Since(start).Round(time.Millisecond))
		return x, nil
	}
	x, err := build()
	for err != nil {
		if ctx.Err() != nil {
			return
		}
		s.lg.Warn("search index build failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
		x, err = build()
	}
	s.search.Store(x)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	lastLookback := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := s.search.Load()
		cur.mu.RLock()
		stale, ndocs, cursor := cur.stale, len(cur.docs), cur.cursor
		cur.mu.RUnlock()
		// Rebuild when renames and retags left many dead postings.
		if stale > ndocs*8+10_000 {
			if nx, err := build(); err == nil {
				s.search.Store(nx)
			}
			continue
		}
		err := s.catchUp(ctx, cur)
		cur.refreshOrders()
		if err == nil && time.Since(lastLookback) > 10*time.Second {
			lastLookback = time.Now()
			// Only stamps from the last refreshLookback can still be
			// joined by late commits; anything newer than the cursor is
			// read by catchUp anyway.
			if from := time.Now().Add(-refreshLookback).UnixMilli(); from <= cursor.ChangedAt {
				// Serialised with catch-ups: a copy read here must not be
				// applied after a newer one a listing's catch-up read.
				cur.catching.Lock()
				_, err = s.loadSearch(ctx, cur, from, meta.DocCursor{ChangedAt: from})
				cur.catching.Unlock()
			}
		}
		if err != nil && ctx.Err() == nil {
			s.lg.Warn("search index refresh failed", "err", err)
		}
	}
}

// sortValue returns a document's value for a sort order.
func (d *sdoc) sortValue(sort string) int64 {
	switch sort {
	case meta.SortLastModified:
		return d.updated
	case meta.SortCreatedAt:
		return d.created
	case meta.SortDownloads:
		return d.downloads
	case meta.SortLikes:
		return d.likes
	case meta.SortTrending:
		return d.trending
	}
	return 0
}

// less orders a before b in the listing order of q.
func (q *ListQuery) less(a, b *sdoc) bool {
	if q.Sort == "" || q.Sort == meta.SortID {
		if q.Desc {
			return a.lname > b.lname
		}
		return a.lname < b.lname
	}
	va, vb := a.sortValue(q.Sort), b.sortValue(q.Sort)
	if va != vb {
		return va > vb == q.Desc
	}
	return a.id > b.id == q.Desc
}

// afterCursor reports whether d comes after the cursor in q's order.
func (q *ListQuery) afterCursor(d *sdoc) bool {
	c := q.After
	if c == nil {
		return true
	}
	if q.Sort == "" || q.Sort == meta.SortID {
		if q.Desc {
			return d.lname < c.Name
		}
		return d.lname > c.Name
	}
	v := d.sortValue(q.Sort)
	if q.Desc {
		return v < c.Value || v == c.Value && d.id < c.ID
	}
	return v > c.Value || v == c.Value && d.id > c.ID
}

// filter is a query prepared for the index: tags interned, strings
// lowered once.
type filter struct {
	q *ListQuery
	// interned ids of the author, the viewer's namespace and the pipeline
	// tag (-1 when the filter is unset, -3 when nothing has the value)
	authorID, pipeID int32
	viewerIDs        []int32
	typ              string
	search           string
	author           string
	tags             []int32
	impossible       bool // a tag no document has
	viewerAll        bool
}

func (x *searchIndex) prepare(q *ListQuery, viewerAll bool, viewerNS []string) *filter {
	f := &filter{q: q, typ: q.Type, search: strings.ToLower(q.Search), author: strings.ToLower(q.Author), viewerAll: viewerAll,
		authorID: -1, pipeID: -1}
	lookup := func(k string) int32 {
		if id, ok := x.tagID[k]; ok {
			return id
		}
		return -3 // matches nothing
	}
	if f.author != "" {
		f.authorID = lookup("n:" + f.author)
	}
	for _, ns := range viewerNS {
		f.viewerIDs = append(f.viewerIDs, lookup("n:"+strings.ToLower(ns)))
	}
	if q.PipelineTag != "" {
		f.pipeID = lookup("p:" + q.PipelineTag)
	}
	for _, t := range q.Tags {
		id, ok := x.tagID[t]
		if !ok {
			f.impossible = true
		}
		f.tags = append(f.tags, id)
	}
	return f
}

// matches reports whether d passes every filter for the viewer.
func (f *filter) matches(d *sdoc) bool {
	q := f.q
	if d.dead || f.typ != "" && (len(d.typ) != len(f.typ) || d.typ[0] != f.typ[0]) {
		return false
	}
	if d.private && !f.viewerAll && !slices.Contains(f.viewerIDs, d.nsID) {
		return false
	}
	if f.author != "" && d.nsID != f.authorID {
		return false
	}
	if f.search != "" && !strings.Contains(d.lname, f.search) {
		return false
	}
	for _, t := range f.tags {
		if _, ok := slices.BinarySearch(d.tags, t); !ok {
			return false
		}
	}
	if q.PipelineTag != "" && d.pipeID != f.pipeID {
		return false
	}
	if q.MinParams > 0 && d.params < q.MinParams || q.MaxParams > 0 && d.params > q.MaxParams {
		return false
	}
	if q.Gated != nil && d.gated != *q.Gated {
		return false
	}
	return q.afterCursor(d)
}

// candidates intersects the posting lists every match must be in
// (trigrams of the search term, tags, pipeline tag, namespace); found is
// false when no list applies and every document must be scanned. The
// dense lists are ANDed as bitsets, then the sparse ones intersected,
// shortest first, while that pays: checking a candidate (every filter is
// checked on it anyway) costs less than walking another long list.
func (x *searchIndex) candidates(q *ListQuery, search string) (cand []int32, found bool) {
	lists := x.postings(q, search)
	if lists == nil {
		return nil, false
	}
	var dense [][]uint64
	sparse := lists[:0:0]
	for _, l := range lists {
		if l.bits != nil {
			dense = append(dense, l.bits)
		} else {
			sparse = append(sparse, l)
		}
	}
	var and []uint64
	if len(dense) > 0 {
		buf := andPool.Get().(*[]uint64)
		and = andBits(*buf, dense)
		defer func() {
			*buf = and
			andPool.Put(buf)
		}()
	}
	switch {
	case len(sparse) == 0:
		return setBits(and), true
	case and != nil:
		// Test the shortest sparse list against the dense ones.
		cand = make([]int32, 0, len(sparse[0].ids))
		for _, s := range sparse[0].ids {
			if w := int(s) >> 6; w < len(and) && and[w]&(1<<(uint(s)&63)) != 0 {
				cand = append(cand, s)
			}
		}
	default:
		cand = sparse[0].ids
	}
	for _, l := range sparse[1:] {
		if len(cand) <= 4000 || len(l.ids) > 16*len(cand) && len(cand) <= 20000 {
			break
		}
		cand = intersect(cand, l.ids)
	}
	return cand, true
}

// andBits returns the AND of bitsets, as long as the shortest, in buf's
// storage.
func andBits(buf []uint64, sets [][]uint64) []uint64 {
	n := len(sets[0])
	for _, b := range sets[1:] {
		n = min(n, len(b))
	}
	out := append(buf[:0], sets[0][:n]...)
	for _, b := range sets[1:] {
		b = b[:n]
		for i := range out {
			out[i] &= b[i]
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

// plist is a posting list with its bitset when it is dense.
type plist struct {
	ids  []int32
	bits []uint64
}

// postings returns the posting lists every match of q is in, shortest
// first, or nil when none applies.
func (x *searchIndex) postings(q *ListQuery, search string) []plist {
	var lists []plist
	if len(search) >= 3 {
		trigrams(search, func(g [3]byte) { lists = append(lists, plist{x.grams[g], x.gramBits[g]}) })
	}
	term := func(t string) { lists = append(lists, plist{x.terms[t], x.termBits[t]}) }
	for _, t := range q.Tags {
		term("t:" + t)
	}
	if q.PipelineTag != "" {
		term("p:" + q.PipelineTag)
	}
	if q.Author != "" {
		term("n:" + strings.ToLower(q.Author))
	}
	if len(lists) == 0 {
		return nil
	}
	slices.SortFunc(lists, func(a, b plist) int { return len(a.ids) - len(b.ids) })
	return lists
}

// walkBudget returns how many documents an ordered walk for q may visit,
// and whether one is worth trying: its expected length, n over the share
// of documents estimated to match, must fit in the budget. Lists are
// taken as independent except a search term's trigrams, which are highly
// correlated: only its two rarest count.
func (x *searchIndex) walkBudget(q *ListQuery, search string, n int) (int, bool) {
	total := float64(max(len(x.docs), 1))
	var grams []int
	if len(search) >= 3 {
		trigrams(search, func(g [3]byte) { grams = append(grams, len(x.grams[g])) })
	}
	share, shortest := 1.0, len(x.docs)
	slices.Sort(grams)
	for i, l := range grams {
		if i < 2 {
			share *= float64(l) / total
		}
		shortest = min(shortest, l)
	}
	var terms []string
	for _, t := range q.Tags {
		terms = append(terms, "t:"+t)
	}
	if q.PipelineTag != "" {
		terms = append(terms, "p:"+q.PipelineTag)
	}
	if q.Author != "" {
		terms = append(terms, "n:"+strings.ToLower(q.Author))
	}
	for _, t := range terms {
		l := len(x.terms[t])
		share *= float64(l) / total
		shortest = min(shortest, l)
	}
	budget := len(x.docs)
	if shortest < len(x.docs) {
		// A walk step (a random read of a document) costs several steps
		// of intersecting sorted lists.
		budget = shortest / 4
	}
	return budget, float64(n) < share*float64(budget)
}

// scanOrdered visits q's best matches by walking its sort's order: the
// documents unchanged since the order was built are in their exact
// places, so after n of them match no later one can rank higher; the
// changed ones are all visited too. With in set, only the slots set in it
// are candidates. It returns false, having visited some documents, when
// there is no order or the walk exceeds budget.
func (x *searchIndex) scanOrdered(q *ListQuery, f *filter, n, budget int, in []uint64, visit func(int32)) bool {
	sort := q.Sort
	if sort == "" {
		sort = meta.SortID
	}
	o := x.orders[sort]
	if o == nil || q.After != nil {
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
		d := &x.docs[s]
		if d.changed >= o.seq {
			return steps <= budget // visited below
		}
		read++
		if f.matches(d) {
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
	if q.Desc {
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
	for i := max(o.seq-x.changeBase, 0); i < len(x.changes); i++ {
		// A slot logged several times is visited at its last change only.
		if s := x.changes[i]; x.docs[s].changed == x.changeBase+i {
			visit(s)
		}
	}
	return true
}

// orderedCandidates is the fewest candidates walked in sort order.
const orderedCandidates = 1000

// scanCandidates tries to visit q's best matches among many candidates by
// walking the sort's order, testing each slot against a bitset of them:
// a step costs a bit test, while visiting every candidate costs a cache
// miss or two each. The walk is tried when it should meet n candidates
// within half its budget, and given up (false) at the budget, which
// happens when the filters the candidates were not chosen by (parameter
// range, gating, visibility) reject most of them.
func (x *searchIndex) scanCandidates(q *ListQuery, f *filter, n int, cand []int32, visit func(int32)) bool {
	const stepsPerVisit = 64 // what one candidate visit costs in steps, about
	budget := stepsPerVisit * len(cand)
	if len(cand) < x.walkMin || 2*int64(n)*int64(len(x.docs)) > int64(budget)*int64(len(cand)) {
		return false
	}
	in := candPool.Get().(*[]uint64)
	b := *in
	for _, s := range cand {
		b = setBit(b, s)
	}
	ok := x.scanOrdered(q, f, n, budget, b, visit)
	for _, s := range cand {
		b[s>>6] = 0
	}
	*in = b
	candPool.Put(in)
	return ok
}

// The bitsets of one query are recycled: 122 KiB each at 1,000,000
// documents is too much garbage per request. andBits overwrites its
// buffer; scanCandidates returns its own cleared.
var (
	andPool  = sync.Pool{New: func() any { return new([]uint64) }}
	candPool = sync.Pool{New: func() any { return new([]uint64) }}
)

// buildOrder sorts every slot for sort, best first. Only the sort keys
// are copied under the read lock; the sorting runs without it, and what
// changes meanwhile is logged as changed after the order's seq.
func (x *searchIndex) buildOrder(sort string) *order {
	type key struct {
		v, id int64
		name  string
	}
	x.mu.RLock()
	keys := make([]key, len(x.docs))
	for i := range x.docs {
		d := &x.docs[i]
		if sort == meta.SortID {
			keys[i] = key{name: d.lname}
		} else {
			keys[i] = key{v: d.sortValue(sort), id: d.id}
		}
	}
	seq := x.changeBase + len(x.changes)
	x.mu.RUnlock()
	perm := make([]int32, len(keys))
	for i := range perm {
		perm[i] = int32(i)
	}
	// The same order as ListQuery.less with Desc set.
	slices.SortFunc(perm, func(a, b int32) int {
		ka, kb := &keys[a], &keys[b]
		if sort == meta.SortID {
			return -strings.Compare(ka.name, kb.name)
		}
		if ka.v != kb.v {
			return -cmp.Compare(ka.v, kb.v)
		}
		return -cmp.Compare(ka.id, kb.id)
	})
	return &order{perm: perm, seq: seq}
}

// refreshOrders (re)builds the orders that are missing or that many
// changes made slow to use, then drops the change log no order needs any
// more.
func (x *searchIndex) refreshOrders() {
	x.mu.RLock()
	limit := max(10_000, len(x.docs)/50)
	var sorts []string
	for _, sort := range orderSorts {
		if o := x.orders[sort]; o == nil || x.changeBase+len(x.changes)-o.seq > limit {
			sorts = append(sorts, sort)
		}
	}
	x.mu.RUnlock()
	if len(sorts) == 0 {
		return
	}
	built := make([]*order, len(sorts))
	for i, sort := range sorts {
		built[i] = x.buildOrder(sort)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, sort := range sorts {
		x.orders[sort] = built[i]
	}
	oldest := x.changeBase + len(x.changes)
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

// topHeap keeps the best n documents seen, worst on top.
type topHeap struct {
	q    *ListQuery
	docs []*sdoc
}

func (h topHeap) Len() int           { return len(h.docs) }
func (h topHeap) Less(i, j int) bool { return h.q.less(h.docs[j], h.docs[i]) }
func (h topHeap) Swap(i, j int)      { h.docs[i], h.docs[j] = h.docs[j], h.docs[i] }
func (h *topHeap) Push(x any)        { h.docs = append(h.docs, x.(*sdoc)) }
func (h *topHeap) Pop() any {
	d := h.docs[len(h.docs)-1]
	h.docs = h.docs[:len(h.docs)-1]
	return d
}

// query returns the ids of the first n matches of q in order; ok is false
// when the index is not ready.
func (x *searchIndex) query(q *ListQuery, n int, viewerAll bool, viewerNS []string) (ids []int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.ready {
		return nil, false
	}
	if n <= 0 {
		return nil, true
	}
	f := x.prepare(q, viewerAll, viewerNS)
	h := &topHeap{q: q}
	if f.impossible {
		return nil, true
	}
	visit := func(s int32) {
		d := &x.docs[s]
		if !f.matches(d) {
			return
		}
		if h.Len() < n {
			heap.Push(h, d)
		} else if q.less(d, h.docs[0]) {
			h.docs[0] = d
			heap.Fix(h, 0)
		}
	}
	// Walking the sort order stops after n matches, which beats visiting
	// every candidate when matches are common; it is skipped when matches
	// look rare, and given up (for the candidates) once it has cost about
	// what they would.
	budget, worth := x.walkBudget(q, f.search, n)
	if !worth || !x.scanOrdered(q, f, n, budget, nil, visit) {
		h.docs = h.docs[:0]
		if cand, found := x.candidates(q, f.search); found {
			if !x.scanCandidates(q, f, n, cand, visit) {
				h.docs = h.docs[:0]
				for _, s := range cand {
					visit(s)
				}
			}
		} else {
			for s := range x.docs {
				visit(int32(s))
			}
		}
	}
	out := make([]*sdoc, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(*sdoc)
	}
	ids = make([]int64, len(out))
	for i, d := range out {
		ids[i] = d.id
	}
	return ids, true
}

// count returns how many documents match q; ok is false when the index
// is not ready.
func (x *searchIndex) count(q *ListQuery, viewerAll bool, viewerNS []string) (n int64, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if !x.ready {
		return 0, false
	}
	// A count covers every page, as the store's does.
	all := *q
	all.After = nil
	q = &all
	f := x.prepare(q, viewerAll, viewerNS)
	if f.impossible {
		return 0, true
	}
	if cand, found := x.candidates(q, f.search); found {
		for _, s := range cand {
			if f.matches(&x.docs[s]) {
				n++
			}
		}
		return n, true
	}
	for i := range x.docs {
		if f.matches(&x.docs[i]) {
			n++
		}
	}
	return n, true
}

// viewer returns the visibility arguments of who.
// listFromIndex answers a listing from the index (false when it is not
// built yet).
func (s *Service) listFromIndex(ctx context.Context, who *auth.Identity, q ListQuery) ([]Listing, bool, bool, error) {
	x := s.search.Load()
	if x == nil {
		return nil, false, false, nil
	}
	if !x.isReady() {
		return nil, false, false, nil
	}
	if err := s.catchUp(ctx, x); err != nil {
		return nil, false, true, err
	}
	all, nsList, err := s.viewerNamespaces(ctx, who)
	if err != nil {
		return nil, false, true, err
	}
	ids, ok := x.query(&q, q.Limit+1, all, nsList)
	if !ok {
		return nil, false, false, nil
	}
	rows, err := s.meta.ReposByIDs(ctx, ids, all, nsList)
	if err != nil {
		return nil, false, true, err
	}
	byID := make(map[int64]*Listing, len(rows))
	for i := range rows {
		byID[rows[i].Repo.ID] = &rows[i]
	}
	out := make([]Listing, 0, len(ids))
	for _, id := range ids {
		if l, ok := byID[id]; ok {
			out = append(out, *l)
		} else if _, err := s.meta.RepoByID(ctx, id); errors.Is(err, meta.ErrNotFound) {
			x.markDead(id)
		}
	}
	more := len(ids) > q.Limit
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, more, true, nil
}

func (x *searchIndex) isReady() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ready
}
