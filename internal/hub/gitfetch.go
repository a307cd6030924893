package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitplan"
)

// What a fetch sends is planned by package gitplan, on the repository's
// objects as this file gives them to it: through the object cache, with
// the trees a walk is about to visit read together.
type (
	// FetchRequest is what a fetching client asks for.
	FetchRequest = gitplan.Request
	// PackObject is an object to send.
	PackObject = gitplan.Object
	// FetchPlan is the answer to a fetch.
	FetchPlan = gitplan.Plan
)

// MaxFetchWants bounds the wants of one fetch.
const MaxFetchWants = gitplan.MaxWants

// PlanFetch lists the objects reachable from the wants that the client
// lacks, and its new shallow boundary (gitplan.Fetch).
func (g *GitRepo) PlanFetch(ctx context.Context, q FetchRequest) (*FetchPlan, error) {
	p, err := gitplan.Fetch(ctx, planStore{g}, q)
	return p, planError(err)
}

// PlanShallow computes only the shallow boundary of a fetch (protocol v0
// sends it before negotiating).
func (g *GitRepo) PlanShallow(ctx context.Context, q FetchRequest) (*FetchPlan, error) {
	p, err := gitplan.Shallow(ctx, planStore{g}, q)
	return p, planError(err)
}

// planError translates a request the plan refuses into the domain's
// kinds.
func planError(err error) error {
	if re, ok := errors.AsType[*gitplan.RequestError](err); ok {
		if re.TooMany {
			return errorf(ErrTooLarge, "%s", re.Msg)
		}
		return errorf(ErrInvalid, "%s", re.Msg)
	}
	return err
}

// planStore is gitplan.Store on an open repository.
type planStore struct{ g *GitRepo }

func (p planStore) Kinds(ctx context.Context, ids []gitobj.ID) (map[gitobj.ID]gitobj.Kind, error) {
	st, err := p.g.s.meta.StatObjects(ctx, p.g.r.ID, ids)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	out := make(map[gitobj.ID]gitobj.Kind, len(st))
	for id, info := range st {
		out[id] = info.Kind
	}
	return out, nil
}

func (p planStore) Commit(ctx context.Context, id gitobj.ID) (*gitobj.Commit, error) {
	return p.g.objs.commit(ctx, id)
}

func (p planStore) Tree(ctx context.Context, id gitobj.ID) ([]gitobj.TreeEntry, error) {
	return p.g.objs.tree(ctx, id)
}

func (p planStore) Peel(ctx context.Context, id gitobj.ID) (gitobj.ID, []gitobj.ID, error) {
	return p.g.peelTag(ctx, id)
}

func (p planStore) Resolve(ctx context.Context, name string) (gitobj.ID, error) {
	rv, err := p.g.s.resolve(ctx, p.g.r, name)
	return rv.Commit, err
}

func (p planStore) Tags(ctx context.Context) ([]gitplan.Tag, error) {
	_, refs, err := p.g.Refs(ctx)
	if err != nil {
		return nil, err
	}
	var out []gitplan.Tag
	for _, rf := range refs {
		if !rf.Peeled.IsZero() {
			out = append(out, gitplan.Tag{ID: rf.ID, Peeled: rf.Peeled})
		}
	}
	return out, nil
}

func (p planStore) Prefetch(ctx context.Context, trees []gitobj.ID) {
	p.g.objs.prefetchTrees(ctx, trees)
}
