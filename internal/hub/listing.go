package hub

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// ListingIndex proposes the repositories of a listing (package search
// implements it): the ids of the first q.Limit matches of q in q's order,
// or how many match. The viewer's visibility is part of q. ok is false
// while the index is not ready, and then listings use the store's own
// queries. The rows shown are always re-read from the store with the
// viewer's visibility, so an index may be a moment behind but never shows
// what the viewer may not see.
type ListingIndex interface {
	Query(ctx context.Context, q meta.RepoQuery) (ids []int64, ok bool, err error)
	Count(ctx context.Context, q meta.RepoQuery) (n int64, ok bool, err error)
	// Forget drops a proposed repository the store no longer has.
	Forget(id int64)
}

// indexRef holds the service's listing index for an atomic pointer.
type indexRef struct{ ListingIndex }

// UseIndex makes listings and counts come from ix (nil: from the store's
// queries). Call it before serving; tests switch it to compare the two.
func (s *Service) UseIndex(ix ListingIndex) {
	if ix == nil {
		s.index.Store(nil)
		return
	}
	s.index.Store(&indexRef{ix})
}

func (s *Service) listingIndex() ListingIndex {
	if r := s.index.Load(); r != nil {
		return r.ListingIndex
	}
	return nil
}

// storeQuery is q as the store and the index take it, for who.
func (s *Service) storeQuery(ctx context.Context, who *auth.Identity, q ListQuery) (meta.RepoQuery, error) {
	mq := meta.RepoQuery{Type: q.Type, Author: q.Author, Search: q.Search, Tags: q.Tags, PipelineTag: q.PipelineTag,
		MinParams: q.MinParams, MaxParams: q.MaxParams, Gated: q.Gated, Sort: q.Sort, Desc: q.Desc, Limit: q.Limit, After: q.After}
	var err error
	mq.ViewerAll, mq.ViewerNamespaces, err = s.viewerNamespaces(ctx, who)
	return mq, err
}

// listFromIndex answers a listing from the index; ok is false when there
// is none or it is not ready yet.
func (s *Service) listFromIndex(ctx context.Context, who *auth.Identity, q ListQuery) (rows []Listing, more, ok bool, err error) {
	ix := s.listingIndex()
	if ix == nil {
		return nil, false, false, nil
	}
	mq, err := s.storeQuery(ctx, who, q)
	if err != nil {
		return nil, false, true, err
	}
	mq.Limit = q.Limit + 1
	ids, ok, err := ix.Query(ctx, mq)
	if !ok || err != nil {
		return nil, false, ok, err
	}
	found, err := s.pageRows(ctx, ids, mq.ViewerAll, mq.ViewerNamespaces)
	if err != nil {
		return nil, false, true, err
	}
	byID := make(map[int64]*Listing, len(found))
	for i := range found {
		byID[found[i].Repo.ID] = &found[i]
	}
	rows = make([]Listing, 0, len(ids))
	for _, id := range ids {
		if l, ok := byID[id]; ok {
			rows = append(rows, *l)
		} else if _, err := s.meta.RepoByID(ctx, id); errors.Is(err, meta.ErrNotFound) {
			ix.Forget(id)
		}
	}
	more = len(ids) > q.Limit
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	return rows, more, true, nil
}

// repoStamper is the store's cheap read of the change stamps of
// repositories the viewer may see (sqlstore's RepoStamps): no metadata,
// no tags.
type repoStamper interface {
	RepoStamps(ctx context.Context, ids []int64, viewerAll bool, viewerNamespaces []string) (map[int64]int64, error)
}

// cachedRow is a listing row as read at a change stamp.
type cachedRow struct {
	stamp int64
	l     Listing
	// seen is the store's data version (refcache.go) before the newest
	// read that found this stamp (of the stamps, or of the row); 0 for
	// none.
	seen atomic.Uint64
}

func rowSize(c *cachedRow) int {
	n := 256 + len(c.l.Repo.Namespace) + len(c.l.Repo.Name)
	if c.l.Meta != nil {
		n += repoMetaSize(c.l.Meta)
	}
	return n
}

// rowCacheBytes bounds the listing rows kept: a few pages of every popular
// listing.
const rowCacheBytes = 32 << 20

// settledStamp is how old a change stamp must be for the row read at it to
// be kept: two writes within one millisecond share a stamp, and the row
// read between them must not be taken for the second.
const settledStamp = 5 * time.Second

// pageRows reads the listing rows of ids that exist and that the viewer may
// see. Re-reading whole rows was 60 % of a listing's CPU (modernc's SQLite
// decoding metadata and tags); rows are kept by id with the change stamp
// they were read at. A kept row is used as it is while the store's data
// version shows nothing was written since its stamp was last confirmed;
// else the listing reads the kept rows' stamps, with the viewer's
// visibility, and re-reads the rows whose stamp moved, with those not
// kept. Every write to a repository or its metadata moves its stamp (the
// index's feed depends on it too), so a kept row is the row the store
// would return.
func (s *Service) pageRows(ctx context.Context, ids []int64, viewerAll bool, viewerNamespaces []string) ([]Listing, error) {
	st, ok := s.meta.(repoStamper)
	if !ok {
		return s.meta.ReposByIDs(ctx, ids, viewerAll, viewerNamespaces)
	}
	ver, versioned := s.dataVersion()
	out := make([]Listing, 0, len(ids))
	var check, missing []int64
	for _, id := range ids {
		c, ok := s.rows.get(id)
		switch {
		case !ok:
			missing = append(missing, id)
		case versioned && c.seen.Load() == ver:
			// Nothing was written since the stamp was confirmed: the
			// stamps query would find the same row (visibility is checked
			// here as the store checks it). On SQLite that query and the
			// feed's were a quarter of a listing's CPU.
			if visibleTo(&c.l.Repo, viewerAll, viewerNamespaces) {
				out = append(out, c.l)
			}
		default:
			check = append(check, id)
		}
	}
	if len(check) > 0 {
		stamps, err := st.RepoStamps(ctx, check, viewerAll, viewerNamespaces)
		if err != nil {
			return nil, err
		}
		for _, id := range check {
			at, ok := stamps[id]
			if !ok {
				continue // gone, or not the viewer's to see
			}
			if c, ok := s.rows.get(id); ok && c.stamp == at {
				if versioned {
					c.seen.Store(ver)
				}
				out = append(out, c.l)
				continue
			}
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	fetched, err := s.meta.ReposByIDs(ctx, missing, viewerAll, viewerNamespaces)
	if err != nil {
		return nil, err
	}
	// A row is kept only once its stamp has settled: two writes within
	// one millisecond share a stamp, and the row read between them must
	// not be taken for the second. The data version was read before the
	// rows, which are at least as new as it.
	settled := time.Now().Add(-s.settle).UnixMilli()
	for _, l := range fetched {
		if l.ChangedAt < settled {
			c := &cachedRow{stamp: l.ChangedAt, l: l}
			if versioned {
				c.seen.Store(ver)
			}
			s.rows.del(l.Repo.ID)
			s.rows.put(l.Repo.ID, c)
		}
		out = append(out, l)
	}
	return out, nil
}

// visibleTo is the store's visibility rule for listings (sqlstore's
// where.visible): public, or in one of the viewer's namespaces.
func visibleTo(r *Repo, viewerAll bool, viewerNamespaces []string) bool {
	if viewerAll || !r.Private {
		return true
	}
	ns := strings.ToLower(r.Namespace)
	for _, v := range viewerNamespaces {
		if strings.ToLower(v) == ns {
			return true
		}
	}
	return false
}

// countFromIndex counts a listing's matches with the index; ok is false
// when there is none or it is not ready yet.
func (s *Service) countFromIndex(ctx context.Context, who *auth.Identity, q ListQuery) (n int64, ok bool, err error) {
	ix := s.listingIndex()
	if ix == nil {
		return 0, false, nil
	}
	mq, err := s.storeQuery(ctx, who, q)
	if err != nil {
		return 0, true, err
	}
	return ix.Count(ctx, mq)
}
