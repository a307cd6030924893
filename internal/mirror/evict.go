package mirror

import (
	"context"
	"errors"
	"fmt"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
)

// evictLater brings upstream's cache under its cap in the background,
// one eviction per upstream and process at a time.
func (m *Mirror) evictLater(up *upstream) {
	if m.cfg.CacheSize <= 0 {
		return
	}
	m.mu.Lock()
	if _, running := m.evicting[up.Name]; running {
		// The running eviction may have measured the cache before this
		// object: it runs once more.
		m.evicting[up.Name] = true
		m.mu.Unlock()
		return
	}
	m.evicting[up.Name] = false
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			if _, err := m.Evict(m.bg, up.Name, m.cfg.CacheSize); err != nil && m.bg.Err() == nil {
				m.lg.Warn("mirror: eviction failed", "upstream", up.Name, "err", err)
			}
			m.mu.Lock()
			again := m.evicting[up.Name]
			if !again {
				delete(m.evicting, up.Name)
			} else {
				m.evicting[up.Name] = false
			}
			m.mu.Unlock()
			if !again {
				return
			}
		}
	}()
}

// EvictStats says what an eviction freed.
type EvictStats struct {
	Objects int
	Bytes   int64
}

// Evict removes upstream's least recently used cached content until what
// remains takes at most limit bytes (0: everything evictable). Content of
// pinned mirrors and of local repositories stays, and so does content a
// fill is writing: each object is evicted under its fill lease.
func (m *Mirror) Evict(ctx context.Context, upstream string, limit int64) (EvictStats, error) {
	var st EvictStats
	used, _, err := m.meta.MirrorCacheUsage(ctx, upstream)
	if err != nil {
		return st, err
	}
	skipped := map[string]bool{}
	for used > limit {
		cands, err := m.meta.EvictionCandidates(ctx, upstream, 64)
		if err != nil {
			return st, err
		}
		progress := false
		for _, c := range cands {
			if used <= limit {
				break
			}
			if skipped[c.OID] {
				continue
			}
			gone, err := m.evictOne(ctx, upstream, c)
			if err != nil {
				return st, err
			}
			if !gone {
				skipped[c.OID] = true
				continue
			}
			progress = true
			used -= c.Size
			st.Objects++
			st.Bytes += c.Size
			inc(m.cfg.Metrics.Evictions, 1)
			inc(m.cfg.Metrics.EvictedBytes, float64(c.Size))
		}
		if !progress {
			break // the rest is pinned, local or being filled
		}
	}
	return st, nil
}

// evictOne drops one object under its lease; false when a fill holds it.
func (m *Mirror) evictOne(ctx context.Context, upstream string, c meta.MirrorObject) (bool, error) {
	lease, got, err := m.meta.AcquireFill(ctx, c.OID, m.cfg.Holder+"/evict", m.cfg.LeaseTTL, m.cfg.Now())
	if err != nil || !got {
		return false, err
	}
	defer m.meta.ReleaseFill(context.WithoutCancel(ctx), c.OID, lease.Fence)
	orphan, err := m.meta.DropMirrorObject(ctx, upstream, c.OID)
	if err != nil {
		return false, err
	}
	if orphan {
		if err := m.blobs.Delete(ctx, c.OID); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return false, fmt.Errorf("evict %s: %w", c.OID, err)
		}
	}
	m.mu.Lock()
	delete(m.touched, upstream+"/"+c.OID)
	m.mu.Unlock()
	return true, nil
}

// EvictRepo removes the cached content of mirrored repository repoID that
// nothing else keeps (unless the repository is pinned).
func (m *Mirror) EvictRepo(ctx context.Context, repoID int64) (EvictStats, error) {
	var st EvictStats
	mr, err := m.meta.MirrorRepo(ctx, repoID)
	if err != nil {
		return st, err
	}
	if mr.Pinned {
		return st, fmt.Errorf("the repository is pinned: unpin it first")
	}
	links, err := m.meta.LFSLinks(ctx, repoID)
	if err != nil {
		return st, err
	}
	for _, l := range links {
		gone, err := m.evictOne(ctx, mr.Upstream, meta.MirrorObject{Upstream: mr.Upstream, OID: l.OID, Size: l.Size})
		if err != nil {
			return st, err
		}
		if gone {
			st.Objects++
			st.Bytes += l.Size
			inc(m.cfg.Metrics.Evictions, 1)
			inc(m.cfg.Metrics.EvictedBytes, float64(l.Size))
		}
	}
	return st, nil
}
