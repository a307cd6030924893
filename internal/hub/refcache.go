package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Every read of a repository starts by resolving a branch: one store query
// per request, kept out of caches so that a commit landed through any
// replica is served at once. On the embedded SQLite store that query was
// 12-18 % of the CPU of model_info, paths-info, tree and resolve, nearly
// all of it SQLite starting a read transaction. A store that can tell
// cheaply whether anything at all was written since (sqlitemeta's
// DataVersion, a read of the WAL-index header) lets a replica keep what it
// read for as long as nothing was: exact, not a TTL, whoever wrote.

// dataVersioner is a store that tells whether anything was committed
// since: v is unchanged while nothing was, by any process. ok is false
// when it cannot tell.
// notBefore is the earliest moment the answer may be taken at
// (pgmeta's polls are shared by the requests that arrived before one).
type dataVersioner interface {
	DataVersion(ctx context.Context, notBefore time.Time) (v uint64, ok bool)
}

// dataVersion is the store's data version, if it has one, as of a moment
// after the request of ctx arrived. Read it before the query whose answer
// is kept with it.
func (s *Service) dataVersion(ctx context.Context) (uint64, bool) {
	if dv, ok := s.meta.(dataVersioner); ok {
		return dv.DataVersion(ctx, arrival(ctx))
	}
	return 0, false
}

// readMark is when a kept value was read: the store's data version read
// before the read when the store has one, else the time.
type readMark struct {
	at        time.Time
	ver       uint64
	versioned bool
}

// mark is the read mark now; take it before the read whose answer is
// kept with it.
func (s *Service) mark(ctx context.Context) readMark {
	v, ok := s.dataVersion(ctx)
	return readMark{at: time.Now(), ver: v, versioned: ok}
}

// fresh reports whether a value read at m may still be used at now: while
// nothing was written since, with a data version, else for ttl.
func (m readMark) fresh(now readMark, ttl time.Duration) bool {
	if m.versioned {
		return now.versioned && now.ver == m.ver
	}
	return now.at.Sub(m.at) < ttl
}

type refKey struct {
	repo int64
	name string
}

// refEntry is a ref's target (zero: no such ref) as read at a data
// version.
type refEntry struct {
	target gitobj.ID
	ver    uint64
}

// refCacheBytes bounds the refs kept: about 100,000.
const refCacheBytes = 16 << 20

func refSize(refEntry) int { return 64 }

// readRef is meta.GetRef for reads, answered from the refs kept when the
// store's data version says nothing was written since they were read. m
// is the request's mark, taken when it looked the repository up: the ref
// is then as of the request's start (a zero mark is taken here). A
// request that wrote since must pass a zero one.
func (s *Service) readRef(ctx context.Context, repoID int64, name string, m readMark) (gitobj.ID, error) {
	if m.at.IsZero() {
		m = s.mark(ctx)
	}
	v, versioned := m.ver, m.versioned
	k := refKey{repoID, name}
	if versioned {
		if e, ok := s.refs.get(k); ok && e.ver == v {
			if e.target.IsZero() {
				return gitobj.ZeroID, fmt.Errorf("ref %s: %w", name, meta.ErrNotFound)
			}
			return e.target, nil
		}
	}
	id, err := s.meta.GetRef(ctx, repoID, name)
	if versioned && (err == nil || errors.Is(err, meta.ErrNotFound)) {
		s.refs.del(k)
		s.refs.put(k, refEntry{target: id, ver: v})
	}
	return id, err
}
