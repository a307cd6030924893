package hub

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// ListingIndex proposes the repositories of a listing (package search
// implements it): the first q.Limit matches of q in q's order, each with
// the change stamp it was indexed at, or how many match. The viewer's
// visibility is part of q. An index answers after reading the changes
// made before the call, so its stamps are the store's as of the listing.
// ok is false while the index is not ready, and then listings use the
// store's own queries. The rows shown come from the store (or were read
// from it at the same stamp) and with the viewer's visibility, so an index
// never shows what the viewer may not see.
type ListingIndex interface {
	Query(ctx context.Context, q meta.RepoQuery) (hits []meta.DocCursor, ok bool, err error)
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
	hits, ok, err := ix.Query(ctx, mq)
	if !ok || err != nil {
		return nil, false, ok, err
	}
	found, err := s.pageRows(ctx, hits, mq.ViewerAll, mq.ViewerNamespaces)
	if err != nil {
		return nil, false, true, err
	}
	byID := make(map[int64]*Listing, len(found))
	for i := range found {
		byID[found[i].Repo.ID] = &found[i]
	}
	rows = make([]Listing, 0, len(hits))
	for _, h := range hits {
		if l, ok := byID[h.ID]; ok {
			rows = append(rows, *l)
		} else if _, err := s.meta.RepoByID(ctx, h.ID); errors.Is(err, meta.ErrNotFound) {
			ix.Forget(h.ID)
		}
	}
	more = len(hits) > q.Limit
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
	}
	return rows, more, true, nil
}

// cachedRow is a listing row as read at a change stamp.
type cachedRow struct {
	stamp int64
	l     Listing
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

// pageRows reads the listing rows of hits that exist and that the viewer
// may see. Re-reading whole rows was 60 % of a listing's CPU (modernc's
// SQLite decoding metadata and tags), so rows are kept by id with the
// change stamp they were read at. A hit's stamp is the store's as of the
// listing (the index read the changes made before it), and every write to
// a repository or its metadata moves its stamp (the index's feed depends
// on it too): a kept row at the hit's stamp is the row the store would
// return, and only the others are read, in one query. Checking the kept
// rows' stamps in the store instead cost a query per listing (a round
// trip to another process on PostgreSQL).
func (s *Service) pageRows(ctx context.Context, hits []meta.DocCursor, viewerAll bool, viewerNamespaces []string) ([]Listing, error) {
	out := make([]Listing, 0, len(hits))
	var missing []int64
	for _, h := range hits {
		if c, ok := s.rows.get(h.ID); ok && c.stamp == h.ChangedAt {
			// Visibility is checked here as the store checks it.
			if visibleTo(&c.l.Repo, viewerAll, viewerNamespaces) {
				out = append(out, c.l)
			}
			continue
		}
		missing = append(missing, h.ID)
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
	// not be taken for the second.
	settled := time.Now().Add(-s.settle).UnixMilli()
	for _, l := range fetched {
		if l.ChangedAt < settled {
			s.rows.del(l.Repo.ID)
			s.rows.put(l.Repo.ID, &cachedRow{stamp: l.ChangedAt, l: l})
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
