package hub

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// objectCache keeps recently read git objects. Objects are immutable, so
// caching them is always correct (DESIGN.md decision 6); entries are keyed
// by repository too, so a cached object is only served to the repository
// that stores it.
type objectCache struct {
	mu       sync.Mutex
	max, cur int
	ll       *list.List
	m        map[cacheKey]*list.Element
}

type cacheKey struct {
	repo int64
	id   gitobj.ID
}

type cacheEntry struct {
	key   cacheKey
	obj   gitobj.Object
	trees []gitobj.TreeEntry // decoded form of a tree, if decoded
}

func newObjectCache(maxBytes int) *objectCache {
	return &objectCache{max: maxBytes, ll: list.New(), m: map[cacheKey]*list.Element{}}
}

func (c *objectCache) get(k cacheKey) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cacheEntry), true
	}
	return nil, false
}

func (c *objectCache) put(ent *cacheEntry) {
	size := len(ent.obj.Data) + 64 + len(ent.trees)*64
	if size > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[ent.key]; ok {
		// A tree read as an object first is kept decoded once it is
		// decoded; entries are shared by readers, so the element gets
		// the new entry rather than the old one a field.
		if old := e.Value.(*cacheEntry); old.trees == nil && ent.trees != nil {
			e.Value = ent
			c.cur += len(ent.trees) * 64
		}
		return
	}
	c.m[ent.key] = c.ll.PushFront(ent)
	c.cur += size
	for c.cur > c.max {
		last := c.ll.Back()
		le := last.Value.(*cacheEntry)
		c.ll.Remove(last)
		delete(c.m, le.key)
		c.cur -= len(le.obj.Data) + 64 + len(le.trees)*64
	}
}

// objects reads git objects of one repository through the cache, looking
// first at pending (not yet stored) objects of a commit being built.
type objects struct {
	s       *Service
	repo    int64
	pending map[gitobj.ID]gitobj.Object
}

func (s *Service) objectsOf(repoID int64) *objects {
	return &objects{s: s, repo: repoID}
}

func (o *objects) add(objs ...gitobj.Object) {
	if o.pending == nil {
		o.pending = map[gitobj.ID]gitobj.Object{}
	}
	for _, ob := range objs {
		o.pending[ob.ID()] = ob
	}
}

// errCorrupt marks a missing or malformed object that a ref or tree
// points at: an internal error, never a "not found" for the user.
var errCorrupt = errors.New("repository object missing or corrupt")

func (o *objects) get(ctx context.Context, id gitobj.ID) (gitobj.Object, error) {
	if ob, ok := o.pending[id]; ok {
		return ob, nil
	}
	k := cacheKey{o.repo, id}
	if e, ok := o.s.cache.get(k); ok {
		return e.obj, nil
	}
	ob, err := o.s.meta.GetObject(ctx, o.repo, id)
	if errors.Is(err, meta.ErrNotFound) {
		return gitobj.Object{}, fmt.Errorf("object %s: %w", id, errCorrupt)
	}
	if err != nil {
		return gitobj.Object{}, err
	}
	o.s.cache.put(&cacheEntry{key: k, obj: ob})
	return ob, nil
}

func (o *objects) tree(ctx context.Context, id gitobj.ID) ([]gitobj.TreeEntry, error) {
	if id == gitobj.EmptyTreeID {
		return nil, nil
	}
	k := cacheKey{o.repo, id}
	if e, ok := o.s.cache.get(k); ok && e.trees != nil {
		return e.trees, nil
	}
	ob, err := o.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if ob.Kind != gitobj.KindTree {
		return nil, fmt.Errorf("object %s is a %s, want tree: %w", id, ob.Kind, errCorrupt)
	}
	ents, err := gitobj.DecodeTree(ob.Data)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", id, err)
	}
	if ents == nil {
		ents = []gitobj.TreeEntry{}
	}
	if _, pending := o.pending[id]; !pending {
		o.s.cache.put(&cacheEntry{key: k, obj: ob, trees: ents})
	}
	return ents, nil
}

// prefetchTrees reads the trees among ids that are not cached decoded in
// one query per batch and caches them decoded, for walks that are about
// to visit them all (a clone's plan read its trees one query each).
// Errors are left for the walk's own reads to meet.
func (o *objects) prefetchTrees(ctx context.Context, ids []gitobj.ID) {
	b, ok := o.s.meta.(objectBatcher)
	if !ok {
		return
	}
	var want []gitobj.ID
	for _, id := range ids {
		if id == gitobj.EmptyTreeID {
			continue
		}
		if _, pending := o.pending[id]; pending {
			continue
		}
		if e, ok := o.s.cache.get(cacheKey{o.repo, id}); !ok || e.trees == nil {
			want = append(want, id)
		}
	}
	if len(want) < 2 {
		return
	}
	got, err := b.GetObjects(ctx, o.repo, want)
	if err != nil {
		return
	}
	for id, ob := range got {
		if ob.Kind != gitobj.KindTree {
			continue
		}
		ents, err := gitobj.DecodeTree(ob.Data)
		if err != nil {
			continue
		}
		if ents == nil {
			ents = []gitobj.TreeEntry{}
		}
		o.s.cache.put(&cacheEntry{key: cacheKey{o.repo, id}, obj: ob, trees: ents})
	}
}

// treeCopy returns entries the caller may modify (the Editor does).
func (o *objects) treeCopy(ctx context.Context, id gitobj.ID) ([]gitobj.TreeEntry, error) {
	ents, err := o.tree(ctx, id)
	return append([]gitobj.TreeEntry(nil), ents...), err
}

func (o *objects) commit(ctx context.Context, id gitobj.ID) (*gitobj.Commit, error) {
	k := commitKey{o.repo, id}
	if c, ok := o.s.decoded.get(k); ok {
		cp := *c // callers may change their copy's fields, not its Parents
		return &cp, nil
	}
	ob, err := o.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if ob.Kind != gitobj.KindCommit {
		return nil, fmt.Errorf("object %s is a %s, want commit: %w", id, ob.Kind, errCorrupt)
	}
	c, err := gitobj.DecodeCommit(ob.Data)
	if err != nil {
		return nil, err
	}
	cp := *c
	o.s.decoded.put(k, &cp)
	return c, nil
}

// entryAt returns the tree entry at path under root ("" is the root
// itself, returned as a tree entry).
func (o *objects) entryAt(ctx context.Context, root gitobj.ID, path string) (gitobj.TreeEntry, bool, error) {
	cur := gitobj.TreeEntry{Mode: gitobj.ModeTree, ID: root}
	if path == "" {
		return cur, true, nil
	}
	for seg := range strings.SplitSeq(path, "/") {
		if !cur.Mode.IsTree() {
			return gitobj.TreeEntry{}, false, nil
		}
		ents, err := o.tree(ctx, cur.ID)
		if err != nil {
			return gitobj.TreeEntry{}, false, err
		}
		found := false
		for _, e := range ents {
			if e.Name == seg {
				cur, found = e, true
				break
			}
		}
		if !found {
			return gitobj.TreeEntry{}, false, nil
		}
	}
	return cur, true, nil
}

// blobData reads a small blob (regular file or pointer).
func (o *objects) blobData(ctx context.Context, id gitobj.ID) ([]byte, error) {
	ob, err := o.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if ob.Kind != gitobj.KindBlob {
		return nil, fmt.Errorf("object %s is a %s, want blob: %w", id, ob.Kind, errCorrupt)
	}
	return ob.Data, nil
}

// diffTrees calls fn for every file path whose blob differs between trees
// a and b (old is nil for an added file, new for a deleted one), walking
// only sub-trees whose ids differ.
func (o *objects) diffTrees(ctx context.Context, a, b gitobj.ID, prefix string, fn func(path string, old, new *gitobj.TreeEntry) error) error {
	if a == b {
		return nil
	}
	ea, err := o.tree(ctx, a)
	if err != nil {
		return err
	}
	eb, err := o.tree(ctx, b)
	if err != nil {
		return err
	}
	old := make(map[string]gitobj.TreeEntry, len(ea))
	for _, e := range ea {
		old[e.Name] = e
	}
	seen := make(map[string]bool, len(eb))
	for _, e := range eb {
		seen[e.Name] = true
		prev, had := old[e.Name]
		if err := o.diffEntry(ctx, prefix+e.Name, prev, had, e, true, fn); err != nil {
			return err
		}
	}
	for _, e := range ea {
		if !seen[e.Name] {
			if err := o.diffEntry(ctx, prefix+e.Name, e, true, gitobj.TreeEntry{}, false, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// diffEntry compares one name of two trees; either side may be absent,
// a file, or a folder.
func (o *objects) diffEntry(ctx context.Context, p string, a gitobj.TreeEntry, hasA bool, b gitobj.TreeEntry, hasB bool,
	fn func(path string, old, new *gitobj.TreeEntry) error) error {
	treeA, treeB := gitobj.EmptyTreeID, gitobj.EmptyTreeID
	var fileA, fileB *gitobj.TreeEntry
	if hasA {
		if a.Mode.IsTree() {
			treeA = a.ID
		} else if a.Mode.IsBlob() {
			fileA = &a
		}
	}
	if hasB {
		if b.Mode.IsTree() {
			treeB = b.ID
		} else if b.Mode.IsBlob() {
			fileB = &b
		}
	}
	if err := o.diffTrees(ctx, treeA, treeB, p+"/", fn); err != nil {
		return err
	}
	if fileA == nil && fileB == nil || fileA != nil && fileB != nil && fileA.ID == fileB.ID && fileA.Mode == fileB.Mode {
		return nil
	}
	return fn(p, fileA, fileB)
}
