package hub

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// What a request reads of a repository splits in two (DESIGN.md decision
// 6): the repository row, its refs and the caller's permissions change at
// any time and are read for every request; what follows from a commit id
// never changes. The caches here keep the second part, keyed by the
// repository and an object id, so that model_info, tree, paths-info and
// resolve read only the first part from the store once warm:
//
//   - statCache: each object's kind, size and LFS pointer (fillSizes), the
//     one store query per listed folder or file set;
//   - commitCache: a commit's file list with sizes (Siblings) and the
//     metadata derived at it (metaAt).
//
// Entries are keyed by repository because objects are stored per
// repository; repository ids are never reused, so a deleted repository's
// entries are only ever unreachable, then evicted.

// lru is a size-bounded least-recently-used map, safe for concurrent use.
type lru[K comparable, V any] struct {
	mu       sync.Mutex
	max, cur int
	size     func(V) int
	ll       *list.List
	m        map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
	n   int
}

func newLRU[K comparable, V any](maxBytes int, size func(V) int) *lru[K, V] {
	return &lru[K, V]{max: maxBytes, size: size, ll: list.New(), m: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	n := c.size(v) + 96
	if n > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = c.ll.PushFront(&lruEntry[K, V]{key: k, val: v, n: n})
	c.cur += n
	for c.cur > c.max {
		last := c.ll.Back()
		le := last.Value.(*lruEntry[K, V])
		c.ll.Remove(last)
		delete(c.m, le.key)
		c.cur -= le.n
	}
}

// commitKey names a commit (or any object) of a repository.
type commitKey struct {
	repo int64
	id   gitobj.ID
}

// commitView is what the caches keep of one commit.
type commitView struct {
	siblings []Entry        // every file, with sizes (read-only)
	meta     *meta.RepoMeta // derived at the commit (read-only)
}

// entriesSize is the memory of a file list, about.
func entriesSize(es []Entry) int {
	n := 0
	for i := range es {
		n += 120 + len(es[i].Path)
		if es[i].LFS != nil {
			n += 96
		}
	}
	return n
}

func repoMetaSize(m *meta.RepoMeta) int {
	if m == nil {
		return 0
	}
	n := 256 + len(m.CardData) + len(m.Info) + len(m.CardError) + len(m.PipelineTag) + len(m.LibraryName)
	for _, t := range m.Tags {
		n += 16 + len(t)
	}
	for _, e := range m.Bases {
		n += 32 + len(e.Base) + len(e.Relation)
	}
	return n
}

// The caches' bounds: a few tens of MB serve the working set of a large
// hub (a file list costs about 150 bytes a file).
const (
	statCacheBytes   = 32 << 20
	commitCacheBytes = 64 << 20
)

func newStatCache() *lru[commitKey, meta.ObjectInfo] {
	return newLRU[commitKey](statCacheBytes, func(meta.ObjectInfo) int { return 64 })
}

// newDecodedCache keeps decoded commits: decoding the same few commits
// again was a tenth of paths-info's CPU (the last commit of each path).
// Objects are immutable, so entries are never stale.
func newDecodedCache() *lru[commitKey, *gitobj.Commit] {
	return newLRU[commitKey](decodedCacheBytes, func(c *gitobj.Commit) int {
		return 160 + len(c.Message) + len(c.Author.Name) + len(c.Author.Email) + len(c.Committer.Name) + len(c.Committer.Email) + 20*len(c.Parents)
	})
}

// decodedCacheBytes bounds the decoded commits kept.
const decodedCacheBytes = 16 << 20

func newCommitCache() *lru[commitKey, *commitView] {
	return newLRU[commitKey](commitCacheBytes, func(v *commitView) int { return entriesSize(v.siblings) + repoMetaSize(v.meta) })
}

// statObjects is meta.StatObjects through the stat cache.
func (o *objects) statObjects(ctx context.Context, ids []gitobj.ID) (map[gitobj.ID]meta.ObjectInfo, error) {
	out := make(map[gitobj.ID]meta.ObjectInfo, len(ids))
	var missing []gitobj.ID
	for _, id := range ids {
		if info, ok := o.s.stats.get(commitKey{o.repo, id}); ok {
			out[id] = info
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	stored, err := o.s.meta.StatObjects(ctx, o.repo, missing)
	if err != nil {
		return nil, err
	}
	for id, info := range stored {
		out[id] = info
		o.s.stats.put(commitKey{o.repo, id}, info)
	}
	return out, nil
}

// cachedView returns what is cached of commit id of repository repo.
func (s *Service) cachedView(repo int64, id gitobj.ID) *commitView {
	v, _ := s.commits.get(commitKey{repo, id})
	return v
}

// cacheSiblings records a commit's file list.
func (s *Service) cacheSiblings(repo int64, id gitobj.ID, files []Entry) {
	k := commitKey{repo, id}
	v := &commitView{siblings: files}
	if old, ok := s.commits.get(k); ok {
		if old.siblings != nil {
			return
		}
		v.meta = old.meta
		s.commits.del(k)
	}
	s.commits.put(k, v)
}

// cacheMeta records the metadata derived at a commit.
func (s *Service) cacheMeta(repo int64, id gitobj.ID, m *meta.RepoMeta) {
	k := commitKey{repo, id}
	v := &commitView{meta: m}
	if old, ok := s.commits.get(k); ok {
		if old.meta != nil {
			return
		}
		v.siblings = old.siblings
		s.commits.del(k)
	}
	s.commits.put(k, v)
}

func (c *lru[K, V]) del(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.Remove(e)
		delete(c.m, k)
		c.cur -= e.Value.(*lruEntry[K, V]).n
	}
}

// childTTL bounds how long a model's count of derived models is reused:
// it changes with other repositories, so it is not bound to a commit, but
// a second-old count (like the namespace cache's second) spares
// model_info two queries. With a store that has a data version
// (refcache.go) a count is kept while nothing was written instead. It is kept per viewer, as the count includes
// the private children that viewer may see.
const childTTL = time.Second

type childKey struct {
	repo, viewer int64
	all          bool
}

type childCount struct {
	n    int64
	read readMark
}

// childCounts remembers recent children counts.
type childCounts struct {
	mu sync.Mutex
	m  map[childKey]childCount
}

func (c *childCounts) get(k childKey, now readMark) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e.n, ok && e.read.fresh(now, childTTL)
}

// forget drops every count: a write on this replica may change any
// model's children, and its writer must read its own write.
func (c *childCounts) forget() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *childCounts) put(k childKey, n int64, read readMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 50_000 {
		c.m = map[childKey]childCount{}
	}
	c.m[k] = childCount{n, read}
}
