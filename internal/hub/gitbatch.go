package hub

import (
	"context"
	"fmt"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// objectBatcher is the store's read of many objects in one query
// (sqlstore's GetObjects).
type objectBatcher interface {
	GetObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]gitobj.Object, error)
}

// Objects returns the objects ids of the repository, those not in the
// object cache read together (a pack of a cold clone read one object per
// query). A missing object is an error like Object's. Objects read here
// are not added to the object cache: a clone reads every blob once, and
// they would push out the trees and commits that listings reuse.
func (g *GitRepo) Objects(ctx context.Context, ids []gitobj.ID) (map[gitobj.ID]gitobj.Object, error) {
	out := make(map[gitobj.ID]gitobj.Object, len(ids))
	var missing []gitobj.ID
	for _, id := range ids {
		if e, ok := g.s.cache.get(cacheKey{g.r.ID, id}); ok {
			out[id] = e.obj
		} else {
			missing = append(missing, id)
		}
	}
	if b, ok := g.s.meta.(objectBatcher); ok && len(missing) > 1 {
		got, err := b.GetObjects(ctx, g.r.ID, missing)
		if err != nil {
			return nil, err
		}
		rest := missing[:0]
		for _, id := range missing {
			if o, ok := got[id]; ok {
				out[id] = o
			} else {
				rest = append(rest, id)
			}
		}
		missing = rest
	}
	for _, id := range missing {
		o, err := g.Object(ctx, id) // a missing object's error
		if err != nil {
			return nil, err
		}
		out[id] = o
	}
	return out, nil
}

// PackedObject is an object as a pack carries it: kind, content size, and
// the zlib stream of the content (Zlib) when the store keeps it so, else
// the content (Data).
type PackedObject = meta.PackedObject

// PackedObjects returns the objects ids of the repository in the form a
// pack carries them (Zlib) where the store keeps that form, so that a
// clone copies stored bytes, else whole (Data). A missing object is an
// error like Object's.
func (g *GitRepo) PackedObjects(ctx context.Context, ids []gitobj.ID) (map[gitobj.ID]PackedObject, error) {
	out, err := g.s.meta.PackedObjects(ctx, g.r.ID, ids)
	if err != nil {
		return nil, err
	}
	if len(out) != len(ids) {
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				return nil, fmt.Errorf("object %s: %w", id, errCorrupt)
			}
		}
	}
	return out, nil
}
