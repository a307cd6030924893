package gitproto

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
)

// Packs are written from objects in the form a pack carries them:
// zlib-compressed. Compressing every object on every clone was two thirds
// of a clone's server time (git reuses the compressed data of its own
// packs), so the store keeps objects compressed since they were written
// (migration 0011) and a clone copies those bytes; objects stored before
// are compressed once and kept. Compressed objects are also kept in a
// bounded cache by repository and id (objects are immutable: entries are
// never stale), and the objects a clone misses are read (a batch per
// query) by two workers ahead of the writer, which writes them in the
// plan's order.

// packKey names an object of a repository.
type packKey struct {
	repo int64
	id   gitobj.ID
}

// packEntry is an object as a pack carries it.
type packEntry struct {
	kind gitobj.Kind
	size int    // inflated
	z    []byte // zlib stream
}

// packCache is a size-bounded LRU of compressed objects, safe for
// concurrent use. Its bound keeps the server's memory flat whatever the
// size of the repositories cloned.
type packCache struct {
	mu       sync.Mutex
	max, cur int
	ll       *list.List
	m        map[packKey]*list.Element
}

type packItem struct {
	key packKey
	e   packEntry
}

// DefaultPackCacheBytes bounds the compressed objects kept for clones.
const DefaultPackCacheBytes = 256 << 20

func newPackCache(max int) *packCache {
	return &packCache{max: max, ll: list.New(), m: map[packKey]*list.Element{}}
}

func (c *packCache) get(k packKey) (packEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*packItem).e, true
	}
	return packEntry{}, false
}

func (c *packCache) put(k packKey, e packEntry) {
	n := len(e.z) + 96
	if n > c.max/64 {
		return // a few large blobs must not flush every tree and commit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	c.m[k] = c.ll.PushFront(&packItem{k, e})
	c.cur += n
	for c.cur > c.max {
		last := c.ll.Back()
		it := last.Value.(*packItem)
		c.ll.Remove(last)
		delete(c.m, it.key)
		c.cur -= len(it.e.z) + 96
	}
}

// packEntries returns the objects ids of g compressed, from the cache or
// read (together) and compressed now.
func (h *Handler) packEntries(ctx context.Context, g *hub.GitRepo, ids []gitobj.ID) ([]packEntry, error) {
	out := make([]packEntry, len(ids))
	var missing []gitobj.ID
	for i, id := range ids {
		if e, ok := h.packs.get(packKey{g.Repo().ID, id}); ok {
			out[i] = e
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	objs, err := g.PackedObjects(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("pack objects: %w", err)
	}
	for i, id := range ids {
		if out[i].z != nil {
			continue
		}
		o := objs[id]
		e := packEntry{kind: o.Kind, size: o.Size, z: o.Zlib}
		if e.z == nil { // stored before objects were kept compressed
			e.z = packfile.Compress(o.Data)
		}
		h.packs.put(packKey{g.Repo().ID, id}, e)
		out[i] = e
	}
	return out, nil
}

// Objects go to the workers in batches of packBatch (one store query for
// those not cached), at most packAhead batches ahead of the writer: enough
// to keep two workers busy, few enough that memory stays flat (regular
// files are at most a few MiB; large ones are LFS).
const (
	packBatch = 64
	packAhead = 4
)

// writePack streams the objects of a plan as a pack.
func (h *Handler) writePack(ctx context.Context, g *hub.GitRepo, dst io.Writer, objs []hub.PackObject) (err error) {
	start := time.Now()
	cw := &countingWriter{w: dst}
	defer func() {
		if err == nil {
			h.packed(len(objs), cw.n, time.Since(start))
		}
	}()
	pack, err := packfile.NewWriter(cw, uint32(len(objs)))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		es  []packEntry
		err error
	}
	type job struct {
		ids  []gitobj.ID
		done chan result
	}
	jobs := make(chan job)
	order := make(chan chan result, packAhead)
	go func() {
		defer close(jobs)
		defer close(order)
		for i := 0; i < len(objs); i += packBatch {
			ids := make([]gitobj.ID, 0, packBatch)
			for _, po := range objs[i:min(i+packBatch, len(objs))] {
				ids = append(ids, po.ID)
			}
			done := make(chan result, 1)
			select {
			case order <- done:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{ids, done}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for j := range jobs {
				es, err := h.packEntries(ctx, g, j.ids)
				j.done <- result{es, err}
			}
		})
	}
	// Cancel first: on an early return the feeder stops, closing jobs,
	// and the workers end.
	defer func() {
		cancel()
		wg.Wait()
	}()
	n := 0
	for done := range order {
		var r result
		select {
		case r = <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		for _, e := range r.es {
			if err := pack.WriteCompressed(e.kind, e.size, e.z); err != nil {
				return err
			}
		}
		n += len(r.es)
	}
	if n != len(objs) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("pack: wrote %d of %d objects", n, len(objs))
	}
	return pack.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
