// Package search is the listing index: documents in, candidate ids out.
//
// An Index follows the metadata store's change feed (meta.SearchDoc rows
// in change-stamp order, tombstones included) and answers listing queries
// (meta.RepoQuery) with the ids of the repositories that match, in the
// listing's order. It only proposes ids: the caller re-reads the rows from
// the store with the viewer's visibility, so a stale index can hide a
// just-changed repository for a moment but never shows something the
// viewer may not see (DESIGN.md decision 6). The store's own queries stay
// the reference implementation; hub's differential test checks the index
// against them.
//
// One Index per process. It keeps every repository's listing fields in
// columns (no per-repository allocation), posting lists as Roaring-style
// bitmaps, and an order per sort; a snapshot file saves it, so a restart
// loads the snapshot and reads only the changes since from the feed.
package search

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// Feed is the store's change feed (meta.Repos.SearchDocs): up to limit
// documents changed at or after since (Unix ms), in (ChangedAt, id) order
// after the position after, deletions as tombstones.
type Feed interface {
	SearchDocs(ctx context.Context, since int64, after meta.DocCursor, limit int) ([]meta.SearchDoc, error)
}

// Options configure an Index.
type Options struct {
	// Snapshot is the file the index is saved to and started from; ""
	// keeps no snapshot (every start reads the whole feed).
	Snapshot string
	// StoreID identifies the metadata store: a snapshot saved for another
	// store is never loaded.
	StoreID string
	// SnapshotEvery is how often a changed index is saved (default 10
	// minutes); it is also saved when Run ends.
	SnapshotEvery time.Duration
	// OnCatchUp, if set, is called after each read of the feed with the
	// documents applied and how long the read took (for metrics).
	OnCatchUp func(docs int, d time.Duration)
}

// Index is the listing index. It is safe for concurrent use; Run builds
// it and keeps it current, and until it is ready Query and Count report
// ok false so that callers use the store's own queries.
type Index struct {
	lg   *slog.Logger
	feed Feed
	opts Options
	x    atomic.Pointer[index] // set once ready

	// catching serialises reads of the feed; lastCatchUp (under it) is
	// when the newest completed one began. Listings that arrived before
	// that need no read of their own, so concurrent listings share one.
	catching    sync.Mutex
	lastCatchUp time.Time
	// caughtVersion is the store's data version read before the newest
	// completed read of the feed (under catching; see versioner).
	caughtVersion uint64
	versioned     bool
	caughtUp      atomic.Int64 // lastCatchUp in Unix ns, for Stats
	started       time.Time
	readyIn       atomic.Int64 // ns from Run's start to ready
	source        atomic.Value // "snapshot" or "feed"
	savedChange   int64        // change number of the last snapshot, under catching
}

// New returns an index that Run will build from feed.
func New(lg *slog.Logger, feed Feed, opts Options) *Index {
	if opts.SnapshotEvery <= 0 {
		opts.SnapshotEvery = 10 * time.Minute
	}
	return &Index{lg: lg, feed: feed, opts: opts}
}

// Query returns the first q.Limit repositories matching q, in q's order,
// after reading the changes made before the call: each one's id and the
// change stamp it was indexed at, so that a row kept from an earlier read
// at the same stamp is the store's current row. ok is false while the
// index is not ready.
func (ix *Index) Query(ctx context.Context, q meta.RepoQuery) (hits []meta.DocCursor, ok bool, err error) {
	x := ix.x.Load()
	if x == nil {
		return nil, false, nil
	}
	if err := ix.catchUp(ctx, x); err != nil {
		return nil, true, err
	}
	return x.query(&q, q.Limit), true, nil
}

// Count returns how many repositories match q on every page (q.Limit and
// q.After are ignored). ok is false while the index is not ready.
func (ix *Index) Count(ctx context.Context, q meta.RepoQuery) (n int64, ok bool, err error) {
	x := ix.x.Load()
	if x == nil {
		return 0, false, nil
	}
	if err := ix.catchUp(ctx, x); err != nil {
		return 0, true, err
	}
	return x.count(&q), true, nil
}

// Forget drops a repository the store no longer has (a proposed id whose
// row is gone, before its tombstone arrives).
func (ix *Index) Forget(id int64) {
	if x := ix.x.Load(); x != nil {
		x.forget(id)
	}
}

// Stats describe the index for metrics.
type Stats struct {
	Ready bool
	Docs  int   // repositories indexed
	Bytes int64 // memory held, about
	// Lag bounds how far the index is behind the change feed: the time
	// since the newest completed read of the feed began.
	Lag     time.Duration
	ReadyIn time.Duration // from Run's start to the first answer
	Source  string        // where the index started from: "snapshot" or "feed"
}

// Stats returns the index's current figures.
func (ix *Index) Stats() Stats {
	x := ix.x.Load()
	if x == nil {
		return Stats{}
	}
	x.mu.RLock()
	st := Stats{Ready: true, Docs: x.live, Bytes: int64(x.bytes())}
	x.mu.RUnlock()
	st.Lag = time.Since(time.Unix(0, ix.caughtUp.Load()))
	st.ReadyIn = time.Duration(ix.readyIn.Load())
	st.Source, _ = ix.source.Load().(string)
	return st
}

// refreshLookback re-reads changes this far behind the last stamp seen,
// covering clock skew between replicas and writes that commit late.
const refreshLookback = 30 * time.Second

// recentStamp is how long the newest change stamp counts as still open.
const recentStamp = 5 * time.Second

// maxSnapshotAge is the oldest snapshot worth loading: the store keeps
// tombstones of deleted repositories for a day, and a snapshot older than
// that could keep a deletion it never hears of.
const maxSnapshotAge = 20 * time.Hour

// catchUp reads the changes after x's cursor, so that the listing about
// to be answered sees every write that completed before it.
func (ix *Index) catchUp(ctx context.Context, x *index) error {
	arrived := time.Now()
	ix.catching.Lock()
	defer ix.catching.Unlock()
	if ix.lastCatchUp.After(arrived) {
		return nil
	}
	began := time.Now()
	v, versioned := ix.dataVersion(ctx, arrived)
	if versioned && ix.versioned && v == ix.caughtVersion {
		// Nothing was committed since the last read: the feed has nothing
		// new, and the query it would cost was a tenth of a listing's CPU.
		ix.lastCatchUp = began
		ix.caughtUp.Store(began.UnixNano())
		return nil
	}
	x.mu.RLock()
	cur := x.cursor
	x.mu.RUnlock()
	// While the newest stamp is recent, the rows stamped since the last
	// read began are read again: another row may still be stamped with the
	// same millisecond as the newest, or a row read then changed again
	// within its millisecond after the read passed it (while later rows
	// moved the cursor on). Older stamps are settled (the periodic
	// lookback covers late commits), and re-reading them would cost a full
	// pass after a bulk import that stamped many rows alike.
	if began.UnixMilli()-cur.ChangedAt < recentStamp.Milliseconds() {
		from := cur.ChangedAt
		if !ix.lastCatchUp.IsZero() {
			from = min(from, ix.lastCatchUp.UnixMilli())
		}
		cur = meta.DocCursor{ChangedAt: from}
	}
	if _, err := ix.load(ctx, x, cur.ChangedAt, cur); err != nil {
		return err
	}
	ix.caughtVersion, ix.versioned = v, versioned
	ix.lastCatchUp = began
	ix.caughtUp.Store(began.UnixNano())
	return nil
}

// versioner is a feed whose store tells whether anything was committed
// since (sqlitemeta's and pgmeta's DataVersion): v is unchanged while
// nothing was, by any process, as of a moment after notBefore.
type versioner interface {
	DataVersion(ctx context.Context, notBefore time.Time) (v uint64, ok bool)
}

func (ix *Index) dataVersion(ctx context.Context, notBefore time.Time) (uint64, bool) {
	if dv, ok := ix.feed.(versioner); ok {
		return dv.DataVersion(ctx, notBefore)
	}
	return 0, false
}

// load reads the documents changed at or after since, from the position
// after, into x, and moves its cursor forward.
func (ix *Index) load(ctx context.Context, x *index, since int64, after meta.DocCursor) (int, error) {
	n := 0
	start := time.Now()
	defer func() {
		if ix.opts.OnCatchUp != nil {
			ix.opts.OnCatchUp(n, time.Since(start))
		}
	}()
	for {
		docs, err := ix.feed.SearchDocs(ctx, since, after, 5000)
		if err != nil {
			return n, fmt.Errorf("search index: read changes: %w", err)
		}
		if len(docs) == 0 {
			return n, nil
		}
		last := docs[len(docs)-1]
		after = meta.DocCursor{ChangedAt: last.ChangedAt, ID: last.Repo.ID}
		x.mu.Lock()
		for i := range docs {
			x.put(&docs[i])
		}
		if after.ChangedAt > x.cursor.ChangedAt || after.ChangedAt == x.cursor.ChangedAt && after.ID > x.cursor.ID {
			x.cursor = after
		}
		x.mu.Unlock()
		n += len(docs)
	}
}

// open starts the index from its snapshot when there is a usable one,
// else from the whole feed.
func (ix *Index) open(ctx context.Context) (*index, string, error) {
	if ix.opts.Snapshot != "" {
		x, err := readSnapshotFile(ix.opts.Snapshot, ix.opts.StoreID, time.Now().Add(-maxSnapshotAge))
		switch {
		case err == nil:
			// Changes stamped shortly before the snapshot may have
			// committed after it (see refreshLookback).
			from := x.cursor.ChangedAt - refreshLookback.Milliseconds()
			n, err := ix.load(ctx, x, from, meta.DocCursor{ChangedAt: from})
			if err != nil {
				return nil, "", err
			}
			ix.lg.Info("search index loaded from snapshot", "path", ix.opts.Snapshot, "repos", x.live, "changes", n)
			return x, "snapshot", nil
		case errors.Is(err, fs.ErrNotExist):
		default:
			ix.lg.Warn("search index snapshot not used; reading the whole feed", "path", ix.opts.Snapshot, "err", err)
		}
	}
	x := newIndex()
	x.bulk = true
	if _, err := ix.load(ctx, x, 0, meta.DocCursor{}); err != nil {
		return nil, "", err
	}
	x.finish() // not shared yet: no lock needed
	return x, "feed", nil
}

// Run builds the index (from the snapshot, if any, and the feed), then
// keeps it current until ctx ends: a read of the feed every 2 s, a
// look-back over the last 30 s every 10 s, orders rebuilt as they age,
// and a snapshot every Options.SnapshotEvery and at the end.
func (ix *Index) Run(ctx context.Context) {
	ix.started = time.Now()
	var x *index
	var src string
	for {
		var err error
		// The first catch-up's mark is taken before the build began, so a
		// listing that arrived meanwhile still reads the feed itself.
		began := time.Now()
		x, src, err = ix.open(ctx)
		if err == nil {
			x.refreshOrders()
			ix.catching.Lock()
			ix.lastCatchUp = began
			ix.caughtUp.Store(began.UnixNano())
			if src == "snapshot" {
				ix.savedChange = x.changeBase + int64(len(x.changes))
			}
			ix.catching.Unlock()
			break
		}
		if ctx.Err() != nil {
			return
		}
		ix.lg.Warn("search index build failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
	ix.source.Store(src)
	ix.readyIn.Store(int64(time.Since(ix.started)))
	live := x.live
	ix.x.Store(x)
	ix.lg.Info("search index ready", "repos", live, "from", src, "dur", time.Since(ix.started).Round(time.Millisecond))

	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	lastLookback, lastSave := time.Now(), time.Now()
	if src == "feed" {
		lastSave = time.Time{} // save the first build soon
	}
	for {
		select {
		case <-ctx.Done():
			ix.save(x)
			return
		case <-t.C:
		}
		err := ix.catchUp(ctx, x)
		x.refreshOrders()
		if err == nil && time.Since(lastLookback) > 10*time.Second {
			lastLookback = time.Now()
			x.mu.RLock()
			cursor := x.cursor
			x.mu.RUnlock()
			// Only stamps from the last refreshLookback can still be
			// joined by late commits; anything newer than the cursor is
			// read by catchUp anyway.
			if from := time.Now().Add(-refreshLookback).UnixMilli(); from <= cursor.ChangedAt {
				// Serialised with catch-ups: a copy read here must not be
				// applied after a newer one a listing's catch-up read.
				ix.catching.Lock()
				_, err = ix.load(ctx, x, from, meta.DocCursor{ChangedAt: from})
				ix.catching.Unlock()
			}
		}
		if err != nil && ctx.Err() == nil {
			ix.lg.Warn("search index refresh failed", "err", err)
		}
		x.mu.Lock()
		if x.garbage > len(x.names)/2+1<<20 {
			x.compact()
		}
		x.mu.Unlock()
		if ix.opts.Snapshot != "" && time.Since(lastSave) > ix.opts.SnapshotEvery {
			lastSave = time.Now()
			ix.save(x)
		}
	}
}

// save writes a snapshot if anything changed since the last one.
func (ix *Index) save(x *index) {
	if ix.opts.Snapshot == "" {
		return
	}
	x.mu.RLock()
	change := x.changeBase + int64(len(x.changes))
	x.mu.RUnlock()
	ix.catching.Lock()
	same := change == ix.savedChange
	ix.catching.Unlock()
	if same {
		return
	}
	start := time.Now()
	size, err := writeSnapshotFile(ix.opts.Snapshot, x, ix.opts.StoreID)
	if err != nil {
		ix.lg.Warn("search index snapshot failed", "path", ix.opts.Snapshot, "err", err)
		return
	}
	ix.catching.Lock()
	ix.savedChange = change
	ix.catching.Unlock()
	ix.lg.Info("search index snapshot saved", "path", ix.opts.Snapshot, "bytes", size, "dur", time.Since(start).Round(time.Millisecond))
}
