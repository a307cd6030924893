package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// ---- upstreams

func (o *ops) PutMirrorUpstream(ctx context.Context, u *meta.MirrorUpstream) error {
	now := time.Now()
	_, err := o.q.ExecContext(ctx, `INSERT INTO mirror_upstreams (name, url, policy, token, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET url = excluded.url, policy = excluded.policy, token = excluded.token, updated_at = excluded.updated_at`,
		u.Name, u.URL, u.Policy, u.Token, ms(now))
	if err != nil {
		return fmt.Errorf("put upstream %s: %w", u.Name, err)
	}
	u.UpdatedAt = fromMS(ms(now))
	return nil
}

func (o *ops) MirrorUpstreams(ctx context.Context) ([]meta.MirrorUpstream, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT name, url, policy, token, backoff_until, updated_at FROM mirror_upstreams ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("upstreams: %w", err)
	}
	defer rows.Close()
	var out []meta.MirrorUpstream
	for rows.Next() {
		var u meta.MirrorUpstream
		var backoff, updated int64
		if err := rows.Scan(&u.Name, &u.URL, &u.Policy, &u.Token, &backoff, &updated); err != nil {
			return nil, fmt.Errorf("upstreams: %w", err)
		}
		if backoff > 0 {
			u.BackoffUntil = fromMS(backoff)
		}
		u.UpdatedAt = fromMS(updated)
		out = append(out, u)
	}
	return out, rows.Err()
}

func (o *ops) BackOffMirrorUpstream(ctx context.Context, name string, until time.Time) error {
	res, err := o.q.ExecContext(ctx, `UPDATE mirror_upstreams SET backoff_until = CASE WHEN backoff_until > $2 THEN backoff_until ELSE $2 END
		WHERE name = $1`, name, ms(until))
	return rowsOrNotFound(res, err, "back off upstream "+name)
}

// ---- mirrored repositories

const mirrorCols = `m.repo_id, m.upstream, m.upstream_private, m.upstream_gated, m.synced_at, m.pinned, m.created_at`

type mirrorScan struct {
	m                meta.MirrorRepo
	priv, pinned     int
	synced, creation int64
}

func (s *mirrorScan) dest() []any {
	return []any{&s.m.RepoID, &s.m.Upstream, &s.priv, &s.m.UpstreamGated, &s.synced, &s.pinned, &s.creation}
}

func (s *mirrorScan) mirror() meta.MirrorRepo {
	m := s.m
	m.UpstreamPrivate, m.Pinned = s.priv != 0, s.pinned != 0
	m.SyncedAt, m.CreatedAt = fromMS(s.synced), fromMS(s.creation)
	return m
}

func (o *ops) CreateMirrorRepo(ctx context.Context, r *meta.Repo, m *meta.MirrorRepo) error {
	return o.inTx(ctx, func(o *ops) error {
		if err := o.CreateRepo(ctx, r); err != nil {
			return err
		}
		m.RepoID = r.ID
		if m.CreatedAt.IsZero() {
			m.CreatedAt = r.CreatedAt
		}
		_, err := o.q.ExecContext(ctx, `INSERT INTO mirror_repos (repo_id, upstream, upstream_private, upstream_gated, synced_at, pinned, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, m.RepoID, m.Upstream, b2i(m.UpstreamPrivate), m.UpstreamGated, ms(m.SyncedAt), b2i(m.Pinned), ms(m.CreatedAt))
		if err != nil {
			return o.wrapWrite(err, "create mirror "+r.FullName())
		}
		return nil
	})
}

func (o *ops) MirrorRepo(ctx context.Context, repoID int64) (*meta.MirrorRepo, error) {
	var s mirrorScan
	err := o.q.QueryRowContext(ctx, `SELECT `+mirrorCols+` FROM mirror_repos m WHERE m.repo_id = $1`, repoID).Scan(s.dest()...)
	if err != nil {
		return nil, notFound(err, "mirror of repo "+strconv.FormatInt(repoID, 10))
	}
	m := s.mirror()
	return &m, nil
}

func (o *ops) UpdateMirrorRepo(ctx context.Context, m *meta.MirrorRepo) error {
	res, err := o.q.ExecContext(ctx, `UPDATE mirror_repos SET upstream_private = $2, upstream_gated = $3, synced_at = $4, pinned = $5
		WHERE repo_id = $1`, m.RepoID, b2i(m.UpstreamPrivate), m.UpstreamGated, ms(m.SyncedAt), b2i(m.Pinned))
	return rowsOrNotFound(res, err, "update mirror of repo "+strconv.FormatInt(m.RepoID, 10))
}

func (o *ops) ListMirrorRepos(ctx context.Context, upstream string) ([]meta.MirrorListing, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+repoCols+`, `+mirrorCols+` FROM mirror_repos m JOIN repos r ON r.id = m.repo_id
		WHERE $1 = '' OR m.upstream = $1 ORDER BY r.lname, r.type`, upstream)
	if err != nil {
		return nil, fmt.Errorf("list mirrors: %w", err)
	}
	defer rows.Close()
	var out []meta.MirrorListing
	for rows.Next() {
		var rs repoScan
		var ms mirrorScan
		if err := rows.Scan(append(rs.dest(), ms.dest()...)...); err != nil {
			return nil, fmt.Errorf("list mirrors: %w", err)
		}
		out = append(out, meta.MirrorListing{Repo: rs.repo(), Mirror: ms.mirror()})
	}
	return out, rows.Err()
}

func (o *ops) UnmirrorRepo(ctx context.Context, repoID int64) error {
	res, err := o.q.ExecContext(ctx, `DELETE FROM mirror_repos WHERE repo_id = $1`, repoID)
	return rowsOrNotFound(res, err, "unmirror repo "+strconv.FormatInt(repoID, 10))
}

// ---- cached content

func (o *ops) TouchMirrorObject(ctx context.Context, upstream, oid string, size int64, now time.Time) error {
	_, err := o.q.ExecContext(ctx, `INSERT INTO mirror_objects (upstream, oid, size, used_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (upstream, oid) DO UPDATE SET used_at = excluded.used_at, size = excluded.size`, upstream, oid, size, ms(now))
	if err != nil {
		return fmt.Errorf("touch mirror object %s: %w", oid, err)
	}
	return nil
}

func (o *ops) UseMirrorObject(ctx context.Context, upstream, oid string, now time.Time) (int64, error) {
	var size int64
	err := o.q.QueryRowContext(ctx, `UPDATE mirror_objects SET used_at = $3 WHERE upstream = $1 AND oid = $2 RETURNING size`,
		upstream, oid, ms(now)).Scan(&size)
	if err != nil {
		return 0, notFound(err, "mirror object "+oid)
	}
	return size, nil
}

func (o *ops) MirrorCacheUsage(ctx context.Context, upstream string) (int64, int64, error) {
	var bytes, n int64
	err := o.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0), COUNT(*) FROM mirror_objects WHERE upstream = $1`, upstream).Scan(&bytes, &n)
	if err != nil {
		return 0, 0, fmt.Errorf("mirror cache usage %s: %w", upstream, err)
	}
	return bytes, n, nil
}

func (o *ops) EvictionCandidates(ctx context.Context, upstream string, limit int) ([]meta.MirrorObject, error) {
	// Content a local repository links was uploaded there (or imported):
	// it is not the cache's to drop. A pinned mirror keeps what it links.
	rows, err := o.q.QueryContext(ctx, `SELECT o.oid, o.size, o.used_at FROM mirror_objects o
		WHERE o.upstream = $1 AND NOT EXISTS (
			SELECT 1 FROM repo_lfs l LEFT JOIN mirror_repos m ON m.repo_id = l.repo_id
			WHERE l.oid = o.oid AND (m.repo_id IS NULL OR m.pinned <> 0))
		ORDER BY o.used_at, o.oid LIMIT $2`, upstream, limit)
	if err != nil {
		return nil, fmt.Errorf("eviction candidates %s: %w", upstream, err)
	}
	defer rows.Close()
	var out []meta.MirrorObject
	for rows.Next() {
		mo := meta.MirrorObject{Upstream: upstream}
		var used int64
		if err := rows.Scan(&mo.OID, &mo.Size, &used); err != nil {
			return nil, fmt.Errorf("eviction candidates %s: %w", upstream, err)
		}
		mo.UsedAt = fromMS(used)
		out = append(out, mo)
	}
	return out, rows.Err()
}

func (o *ops) DropMirrorObject(ctx context.Context, upstream, oid string) (bool, error) {
	var orphan bool
	err := o.inTx(ctx, func(o *ops) error {
		if _, err := o.q.ExecContext(ctx, `DELETE FROM mirror_objects WHERE upstream = $1 AND oid = $2`, upstream, oid); err != nil {
			return fmt.Errorf("drop mirror object %s: %w", oid, err)
		}
		if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_lfs WHERE oid = $2 AND repo_id IN
			(SELECT repo_id FROM mirror_repos WHERE upstream = $1 AND pinned = 0)`, upstream, oid); err != nil {
			return fmt.Errorf("drop mirror object %s: unlink: %w", oid, err)
		}
		var n int64
		if err := o.q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM repo_lfs WHERE oid = $1) + (SELECT COUNT(*) FROM mirror_objects WHERE oid = $1)`,
			oid).Scan(&n); err != nil {
			return fmt.Errorf("drop mirror object %s: %w", oid, err)
		}
		orphan = n == 0
		return nil
	})
	return orphan, err
}

// ---- fills

func (o *ops) nextFence(ctx context.Context) (int64, error) {
	var n int64
	if err := o.q.QueryRowContext(ctx, `UPDATE mirror_fence SET n = n + 1 WHERE id = 1 RETURNING n`).Scan(&n); err != nil {
		return 0, fmt.Errorf("next fence: %w", err)
	}
	return n, nil
}

func (o *ops) fillLease(ctx context.Context, oid string) (meta.FillLease, error) {
	l := meta.FillLease{OID: oid}
	var expires, wanted int64
	err := o.q.QueryRowContext(ctx, `SELECT fence, holder, expires_at, wanted_at FROM mirror_fills WHERE oid = $1`, oid).
		Scan(&l.Fence, &l.Holder, &expires, &wanted)
	if err != nil {
		return l, notFound(err, "fill "+oid)
	}
	l.ExpiresAt = fromMS(expires)
	if wanted > 0 {
		l.WantedAt = fromMS(wanted)
	}
	return l, nil
}

func (o *ops) AcquireFill(ctx context.Context, oid, holder string, ttl time.Duration, now time.Time) (meta.FillLease, bool, error) {
	var lease meta.FillLease
	var got bool
	err := o.inTx(ctx, func(o *ops) error {
		got = false
		cur, err := o.fillLease(ctx, oid)
		exists := err == nil
		switch {
		case errors.Is(err, meta.ErrNotFound):
		case err != nil:
			return err
		case cur.ExpiresAt.After(now):
			lease = cur
			return nil
		}
		fence, err := o.nextFence(ctx)
		if err != nil {
			return err
		}
		next := meta.FillLease{OID: oid, Fence: fence, Holder: holder, ExpiresAt: fromMS(ms(now.Add(ttl)))}
		var res sql.Result
		if exists {
			// Only if the expired holder is still the one we read: a
			// concurrent taker changed the fence.
			res, err = o.q.ExecContext(ctx, `UPDATE mirror_fills SET fence = $2, holder = $3, expires_at = $4, wanted_at = 0
				WHERE oid = $1 AND fence = $5`, oid, fence, holder, ms(next.ExpiresAt), cur.Fence)
			if err == nil {
				_, err = o.q.ExecContext(ctx, `DELETE FROM mirror_fill_chunks WHERE oid = $1 AND fence = $2`, oid, cur.Fence)
			}
		} else {
			res, err = o.q.ExecContext(ctx, `INSERT INTO mirror_fills (oid, fence, holder, expires_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (oid) DO NOTHING`, oid, fence, holder, ms(next.ExpiresAt))
		}
		if err != nil {
			return fmt.Errorf("acquire fill %s: %w", oid, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("acquire fill %s: %w", oid, err)
		} else if n == 0 {
			lease, err = o.fillLease(ctx, oid)
			return err
		}
		lease, got = next, true
		return nil
	})
	return lease, got, err
}

func (o *ops) RenewFill(ctx context.Context, oid string, fence int64, ttl time.Duration, now time.Time) (meta.FillLease, error) {
	res, err := o.q.ExecContext(ctx, `UPDATE mirror_fills SET expires_at = $3 WHERE oid = $1 AND fence = $2`, oid, fence, ms(now.Add(ttl)))
	if err := rowsOrNotFound(res, err, "renew fill "+oid); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return meta.FillLease{}, fmt.Errorf("renew fill %s: lease lost: %w", oid, meta.ErrConflict)
		}
		return meta.FillLease{}, err
	}
	l, err := o.fillLease(ctx, oid)
	if err != nil || l.Fence != fence {
		return meta.FillLease{}, fmt.Errorf("renew fill %s: lease lost: %w", oid, meta.ErrConflict)
	}
	return l, nil
}

func (o *ops) ReleaseFill(ctx context.Context, oid string, fence int64) error {
	return o.inTx(ctx, func(o *ops) error {
		if _, err := o.q.ExecContext(ctx, `DELETE FROM mirror_fills WHERE oid = $1 AND fence = $2`, oid, fence); err != nil {
			return fmt.Errorf("release fill %s: %w", oid, err)
		}
		if _, err := o.q.ExecContext(ctx, `DELETE FROM mirror_fill_chunks WHERE oid = $1 AND fence = $2`, oid, fence); err != nil {
			return fmt.Errorf("release fill %s: %w", oid, err)
		}
		return nil
	})
}

func (o *ops) WantFill(ctx context.Context, oid string, now time.Time) error {
	res, err := o.q.ExecContext(ctx, `UPDATE mirror_fills SET wanted_at = $2 WHERE oid = $1`, oid, ms(now))
	return rowsOrNotFound(res, err, "want fill "+oid)
}

func (o *ops) AddFillChunk(ctx context.Context, oid string, fence int64, c meta.FillChunk) error {
	return o.inTx(ctx, func(o *ops) error {
		l, err := o.fillLease(ctx, oid)
		if errors.Is(err, meta.ErrNotFound) || err == nil && l.Fence != fence {
			return fmt.Errorf("add chunk to fill %s: lease lost: %w", oid, meta.ErrConflict)
		}
		if err != nil {
			return err
		}
		if _, err := o.q.ExecContext(ctx, `INSERT INTO mirror_fill_chunks (oid, fence, idx, chunk_oid, size) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (oid, fence, idx) DO UPDATE SET chunk_oid = excluded.chunk_oid, size = excluded.size`,
			oid, fence, c.Index, c.OID, c.Size); err != nil {
			return fmt.Errorf("add chunk to fill %s: %w", oid, err)
		}
		return nil
	})
}

func (o *ops) FillChunks(ctx context.Context, oid string) (meta.FillLease, []meta.FillChunk, error) {
	l, err := o.fillLease(ctx, oid)
	if err != nil {
		return meta.FillLease{}, nil, err
	}
	rows, err := o.q.QueryContext(ctx, `SELECT idx, chunk_oid, size FROM mirror_fill_chunks WHERE oid = $1 AND fence = $2 ORDER BY idx`, oid, l.Fence)
	if err != nil {
		return meta.FillLease{}, nil, fmt.Errorf("fill chunks %s: %w", oid, err)
	}
	defer rows.Close()
	var out []meta.FillChunk
	for rows.Next() {
		var c meta.FillChunk
		if err := rows.Scan(&c.Index, &c.OID, &c.Size); err != nil {
			return meta.FillLease{}, nil, fmt.Errorf("fill chunks %s: %w", oid, err)
		}
		out = append(out, c)
	}
	return l, out, rows.Err()
}
