package search

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// corpus generates repositories with many collisions: a small alphabet of
// names (so trigram lists of every density), few tags, owners and values
// (so ties in every sort).
type corpus struct {
	rng   *rand.Rand
	next  int64
	clock int64                    // the last change stamp given
	docs  map[int64]meta.SearchDoc // the current documents, by id
}

var (
	fams   = []string{"llama", "mistral", "bert", "gemma", "qwen", "Phix"}
	tagSet = []string{"transformers", "peft", "gguf", "license:mit", "license:apache-2.0", "en", "fr", "base_model:x"}
	pipes  = []string{"", "text-generation", "fill-mask"}
	owners = []string{"alice", "Bob", "carol", "org_1", "org-2"}
)

func newCorpus(seed uint64) *corpus {
	return &corpus{rng: rand.New(rand.NewPCG(seed, 99)), docs: map[int64]meta.SearchDoc{}}
}

func (c *corpus) fill(d *meta.SearchDoc) {
	rng := c.rng
	r := &d.Repo
	r.Type = meta.TypeModel
	if rng.IntN(6) == 0 {
		r.Type = meta.TypeDataset
	}
	r.Namespace = owners[rng.IntN(len(owners))]
	r.Name = fmt.Sprintf("%s-%db-%d", fams[rng.IntN(len(fams))], rng.IntN(9)+1, r.ID)
	r.Private = rng.IntN(5) == 0
	r.Gated = ""
	if rng.IntN(5) == 0 {
		r.Gated = "auto"
	}
	r.CreatedAt = time.UnixMilli(int64(1e12 + rng.IntN(50)))
	r.UpdatedAt = time.UnixMilli(int64(1e12 + rng.IntN(50)))
	r.Downloads, r.Likes, r.Trending = int64(rng.IntN(8)), int64(rng.IntN(4)), int64(rng.IntN(3))
	d.PipelineTag = pipes[rng.IntN(len(pipes))]
	d.NumParameters = int64(rng.IntN(10)) * 1e9
	d.Tags = nil
	for _, t := range tagSet {
		if rng.IntN(3) == 0 {
			d.Tags = append(d.Tags, t)
		}
	}
	if rng.IntN(4) == 0 {
		d.Tags = append(d.Tags, fmt.Sprintf("base_model:o/m-%d", rng.IntN(40)))
		d.Tags = append(d.Tags, d.Tags...) // duplicates too
	}
}

// change returns a random change: a new repository, an update, a rename
// or a deletion.
func (c *corpus) change() meta.SearchDoc {
	d := c.changeDoc()
	// Stamped as a store would, several changes sometimes in one
	// millisecond (a feed stamps them again).
	c.clock += int64(c.rng.IntN(3))
	d.ChangedAt = 1e12 + c.clock
	if !d.Deleted {
		c.docs[d.Repo.ID] = d
	}
	return d
}

func (c *corpus) changeDoc() meta.SearchDoc {
	rng := c.rng
	if len(c.docs) == 0 || rng.IntN(3) == 0 {
		c.next++
		d := meta.SearchDoc{Repo: meta.Repo{ID: c.next}}
		c.fill(&d)
		c.docs[d.Repo.ID] = d
		return d
	}
	var id int64
	for id = range c.docs {
		break
	}
	if rng.IntN(8) == 0 {
		delete(c.docs, id)
		return meta.SearchDoc{Repo: meta.Repo{ID: id}, Deleted: true}
	}
	d := c.docs[id]
	d.Tags = slices.Clone(d.Tags)
	switch rng.IntN(3) {
	case 0:
		c.fill(&d) // everything, name included
	case 1:
		d.Repo.Downloads += int64(rng.IntN(5))
		d.Repo.UpdatedAt = d.Repo.UpdatedAt.Add(time.Millisecond)
	case 2:
		d.Tags = d.Tags[:len(d.Tags)/2]
		d.Repo.Private = !d.Repo.Private
	}
	c.docs[id] = d
	return d
}

func (c *corpus) query() meta.RepoQuery {
	rng := c.rng
	sorts := []string{"", meta.SortID, meta.SortDownloads, meta.SortLikes, meta.SortCreatedAt, meta.SortLastModified, meta.SortTrending}
	q := meta.RepoQuery{Type: meta.TypeModel, Sort: sorts[rng.IntN(len(sorts))], Desc: rng.IntN(2) == 0, Limit: 1 + rng.IntN(30)}
	switch rng.IntN(8) {
	case 0:
		q.Type = meta.TypeDataset
	case 1:
		q.Type = "space" // no document has it
	}
	switch rng.IntN(6) {
	case 0:
		q.Search = fams[rng.IntN(len(fams))][1:4]
	case 1:
		q.Search = fmt.Sprintf("%db-", rng.IntN(9)+1)
	case 2:
		q.Search = "O" // shorter than a trigram, and upper case
	case 3:
		q.Search = "PHIX-2b" // upper case, longer
	case 4:
		q.Search = "zzz"
	}
	if rng.IntN(3) == 0 {
		q.Tags = []string{tagSet[rng.IntN(len(tagSet))]}
		if rng.IntN(3) == 0 {
			q.Tags = append(q.Tags, tagSet[rng.IntN(len(tagSet))])
		}
		if rng.IntN(10) == 0 {
			q.Tags = append(q.Tags, "no-such-tag")
		}
	}
	if rng.IntN(4) == 0 {
		q.PipelineTag = pipes[1+rng.IntN(2)]
	}
	if rng.IntN(4) == 0 {
		q.Author = strings.ToUpper(owners[rng.IntN(len(owners))])
	}
	if rng.IntN(5) == 0 {
		q.MinParams, q.MaxParams = 1e9, 6e9
	}
	if rng.IntN(6) == 0 {
		g := rng.IntN(2) == 0
		q.Gated = &g
	}
	switch rng.IntN(4) {
	case 0:
		q.ViewerAll = true
	case 1:
		q.ViewerNamespaces = []string{owners[rng.IntN(len(owners))]}
	case 2:
		q.ViewerNamespaces = []string{"ALICE", "org_1", "nobody"}
	}
	return q
}

// reference answers q by brute force over the current documents, as the
// store's SQL would.
func (c *corpus) reference(q meta.RepoQuery) []int64 {
	var rows []meta.SearchDoc
	for _, d := range c.docs {
		if refMatches(&d, &q) {
			rows = append(rows, d)
		}
	}
	slices.SortFunc(rows, func(a, b meta.SearchDoc) int { return refCompare(&q, &a, &b) })
	var out []int64
	for _, d := range rows {
		if len(out) == q.Limit {
			break
		}
		out = append(out, d.Repo.ID)
	}
	return out
}

func (c *corpus) count(q meta.RepoQuery) int64 {
	q.After = nil
	var n int64
	for _, d := range c.docs {
		if refMatches(&d, &q) {
			n++
		}
	}
	return n
}

func refMatches(d *meta.SearchDoc, q *meta.RepoQuery) bool {
	r := &d.Repo
	if q.Type != "" && r.Type != q.Type {
		return false
	}
	lname := refName(d)
	ns, _, _ := strings.Cut(lname, "/")
	visible := !r.Private || q.ViewerAll
	for _, v := range q.ViewerNamespaces {
		visible = visible || strings.EqualFold(v, ns)
	}
	switch {
	case !visible,
		q.Author != "" && !strings.EqualFold(q.Author, ns),
		!strings.Contains(lname, strings.ToLower(q.Search)),
		q.PipelineTag != "" && d.PipelineTag != q.PipelineTag,
		q.MinParams > 0 && d.NumParameters < q.MinParams,
		q.MaxParams > 0 && d.NumParameters > q.MaxParams,
		q.Gated != nil && (r.Gated != "") != *q.Gated:
		return false
	}
	for _, t := range q.Tags {
		if !slices.Contains(d.Tags, t) {
			return false
		}
	}
	if q.After == nil {
		return true
	}
	c := q.After
	if q.Sort == "" || q.Sort == meta.SortID {
		if q.Desc {
			return lname < c.Name
		}
		return lname > c.Name
	}
	v := refValue(d, q.Sort)
	if q.Desc {
		return v < c.Value || v == c.Value && r.ID < c.ID
	}
	return v > c.Value || v == c.Value && r.ID > c.ID
}

// refName is the document's lower-case full name.
func refName(d *meta.SearchDoc) string {
	return strings.ToLower(d.Repo.Namespace) + "/" + strings.ToLower(d.Repo.Name)
}

func refValue(d *meta.SearchDoc, sort string) int64 {
	r := &d.Repo
	switch sort {
	case meta.SortLastModified:
		return r.UpdatedAt.UnixMilli()
	case meta.SortCreatedAt:
		return r.CreatedAt.UnixMilli()
	case meta.SortDownloads:
		return r.Downloads
	case meta.SortLikes:
		return r.Likes
	case meta.SortTrending:
		return r.Trending
	}
	return 0
}

func refCompare(q *meta.RepoQuery, a, b *meta.SearchDoc) int {
	var c int
	if q.Sort == "" || q.Sort == meta.SortID {
		c = strings.Compare(refName(a), refName(b))
		if c == 0 {
			c = cmp.Compare(a.Repo.ID, b.Repo.ID) // a model and a dataset of one name: either order
		}
	} else if c = cmp.Compare(refValue(a, q.Sort), refValue(b, q.Sort)); c == 0 {
		c = cmp.Compare(a.Repo.ID, b.Repo.ID)
	}
	if q.Desc {
		return -c
	}
	return c
}

// TestIndexMatchesBruteForce applies random changes to an index and
// checks random listings, page by page through cursors, and counts
// against a brute-force evaluation of the same documents. Along the way
// orders are built and age, arenas are compacted and the index is
// replaced by a reload of its own snapshot, so every query path (ordered
// walks with changed documents, bitset ANDs, candidate walks, plain
// visits) and the snapshot meet the same checks.
func TestIndexMatchesBruteForce(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c := newCorpus(seed)
			x := newIndex()
			small := func(x *index) { x.denseMin, x.walkMin = 8, 8 }
			small(x)
			apply := func(n int) {
				x.mu.Lock()
				for range n {
					d := c.change()
					x.put(&d)
				}
				x.mu.Unlock()
			}
			// The first documents go in as a build does: lists after.
			x.bulk = seed != 3
			apply(1500)
			x.indexAll()
			for i := range 300 {
				switch i % 50 {
				case 10, 35:
					x.refreshOrders()
				case 20:
					x.mu.Lock()
					x.compact()
					x.mu.Unlock()
				case 30:
					var buf bytes.Buffer
					if _, err := writeSnapshot(&buf, x, "store"); err != nil {
						t.Fatal(err)
					}
					y, err := readSnapshot(&buf, "store", time.Time{})
					if err != nil {
						t.Fatal(err)
					}
					x = y
					small(x)
				}
				if i%3 == 0 {
					apply(1 + c.rng.IntN(20))
				}
				q := c.query()
				checkPages(t, c, x, q)
			}
		})
	}
}

func checkPages(t *testing.T, c *corpus, x *index, q meta.RepoQuery) {
	t.Helper()
	for page := 0; page < 1000; page++ {
		want := c.reference(q)
		hits := x.query(&q, q.Limit)
		got := idsOf(hits)
		if !sameIDs(c, &q, got, want) {
			t.Fatalf("query %s page %d:\n got %v\nwant %v", describe(&q), page, got, want)
		}
		for _, h := range hits {
			if at := c.docs[h.ID].ChangedAt; at != h.ChangedAt {
				t.Fatalf("repository %d listed at stamp %d, changed at %d", h.ID, h.ChangedAt, at)
			}
		}
		if len(got) < q.Limit {
			break
		}
		last := c.docs[got[len(got)-1]]
		cur := meta.CursorOf(q.Sort, &meta.Listing{Repo: last.Repo})
		q.After = &cur
	}
	if n, want := x.count(&q), c.count(q); n != want {
		t.Fatalf("count %s = %d, want %d", describe(&q), n, want)
	}
}

// sameIDs compares two answers, allowing repositories of equal name (a
// model and a dataset) in either order when sorting by name.
func sameIDs(c *corpus, q *meta.RepoQuery, got, want []int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] == want[i] {
			continue
		}
		a, b := c.docs[got[i]], c.docs[want[i]]
		if q.Sort != "" && q.Sort != meta.SortID || !strings.EqualFold(a.Repo.Namespace+"/"+a.Repo.Name, b.Repo.Namespace+"/"+b.Repo.Name) {
			return false
		}
	}
	return true
}

func describe(q *meta.RepoQuery) string {
	s := fmt.Sprintf("%+v", *q)
	if q.Gated != nil {
		s += fmt.Sprintf(" gated=%v", *q.Gated)
	}
	if q.After != nil {
		s += fmt.Sprintf(" after=%+v", *q.After)
	}
	return s
}

// TestIndexLargeSlots runs the same checks over more than 65,536
// documents, so that posting lists span several containers and the dense
// ones become bitmap containers, with the production thresholds.
func TestIndexLargeSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 70,000 documents")
	}
	c := newCorpus(9)
	x := newIndex()
	x.mu.Lock()
	for c.next < 70_000 {
		d := c.change()
		x.put(&d)
	}
	x.mu.Unlock()
	x.refreshOrders()
	for range 12 {
		q := c.query()
		q.Limit = 1 + c.rng.IntN(60)
		want := c.reference(q)
		if got := idsOf(x.query(&q, q.Limit)); !sameIDs(c, &q, got, want) {
			t.Fatalf("query %s:\n got %v\nwant %v", describe(&q), got, want)
		}
		if n, want := x.count(&q), c.count(q); n != want {
			t.Fatalf("count %s = %d, want %d", describe(&q), n, want)
		}
	}
}

// TestSearchLists: a search term ANDs the fewest trigrams that cover it,
// the rarest of them where several covers are as short.
func TestSearchLists(t *testing.T) {
	x := newIndex()
	x.mu.Lock()
	id := int64(0)
	add := func(name string, n int) {
		for range n {
			id++
			x.put(&meta.SearchDoc{Repo: meta.Repo{ID: id, Type: meta.TypeModel, Namespace: "ns", Name: name}})
		}
	}
	add("abcdefg", 1)
	add("xbcdx", 5) // "bcd" and "def" common, "cde" rare
	add("xdefx", 5)
	x.mu.Unlock()
	tests := []struct {
		term string
		lens []int // of the lists taken, last trigram first
	}{
		{"ab", nil},
		{"abc", []int{1}},
		{"abcd", []int{6, 1}},              // "bcd", "abc": both needed
		{"abcdefg", []int{1, 1, 1}},        // "efg", "cde", "abc": not "bcd" (6) or "def" (6)
		{"ns/abcdefg", []int{1, 1, 1, 11}}, // 10 characters: 4 trigrams, "ns/" in every name
		{"zzzz", []int{0, 0}},              // unknown trigrams: empty lists
	}
	for _, tc := range tests {
		var got []int
		for _, l := range x.searchLists([]byte(tc.term)) {
			got = append(got, l.len())
		}
		if !slices.Equal(got, tc.lens) {
			t.Errorf("%q: lists of lengths %v, want %v", tc.term, got, tc.lens)
		}
	}
}

// TestOverlappingOrderRefresh: of two order refreshes that overlap, the
// one built earlier but finishing later must not replace the newer order,
// whose install cut the change log it would need; nor may an order built
// before a renumber be installed after it.
func TestOverlappingOrderRefresh(t *testing.T) {
	c := newCorpus(11)
	x := newIndex()
	change := func(n int) {
		x.mu.Lock()
		defer x.mu.Unlock()
		for range n {
			d := c.change()
			x.put(&d)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, desc := range []bool{true, false} {
			q := meta.RepoQuery{ViewerAll: true, Sort: meta.SortDownloads, Desc: desc, Limit: 20}
			if got, want := idsOf(x.query(&q, q.Limit)), c.reference(q); !sameIDs(c, &q, got, want) {
				t.Fatalf("%s: query %s:\n got %v\nwant %v", when, describe(&q), got, want)
			}
		}
	}
	change(300)
	x.refreshOrders()
	older := x.buildOrder(meta.SortDownloads)
	change(100)
	x.installOrders([]*order{x.buildOrder(meta.SortDownloads)})
	x.installOrders([]*order{older})
	if x.orders[meta.SortDownloads] == older {
		t.Fatal("an older order replaced a newer one")
	}
	check("after an overlapping refresh")

	stale := x.buildOrder(meta.SortDownloads)
	x.mu.Lock()
	x.renumber()
	x.mu.Unlock()
	change(100)
	x.installOrders([]*order{stale})
	if x.orders[meta.SortDownloads] != nil {
		t.Fatal("an order from before the renumber was installed")
	}
	check("after a renumber")
}
