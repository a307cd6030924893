package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// repo_lfs.created_at holds the link's use time (meta.Maintenance): the
// column kept its first migration's name.

func (o *ops) LFSPointers(ctx context.Context, repoID int64) ([]meta.LFSLink, error) {
	// A range of the primary key: the pointer columns come before the
	// content in every row, so large rows are not read in full.
	rows, err := o.q.QueryContext(ctx, `SELECT DISTINCT lfs_oid, lfs_size FROM objects
		WHERE repo_id = $1 AND lfs_oid IS NOT NULL ORDER BY lfs_oid`, repoID)
	if err != nil {
		return nil, fmt.Errorf("lfs pointers of repo %d: %w", repoID, err)
	}
	defer rows.Close()
	var out []meta.LFSLink
	for rows.Next() {
		var l meta.LFSLink
		if err := rows.Scan(&l.OID, &l.Size); err != nil {
			return nil, fmt.Errorf("lfs pointers of repo %d: %w", repoID, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func (o *ops) LFSLinks(ctx context.Context, repoID int64) ([]meta.LFSLink, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT oid, size, created_at FROM repo_lfs WHERE repo_id = $1 ORDER BY oid`, repoID)
	if err != nil {
		return nil, fmt.Errorf("lfs links of repo %d: %w", repoID, err)
	}
	defer rows.Close()
	var out []meta.LFSLink
	for rows.Next() {
		var l meta.LFSLink
		var at int64
		if err := rows.Scan(&l.OID, &l.Size, &at); err != nil {
			return nil, fmt.Errorf("lfs links of repo %d: %w", repoID, err)
		}
		l.UsedAt = fromMS(at)
		out = append(out, l)
	}
	return out, rows.Err()
}

func (o *ops) UseLFSObject(ctx context.Context, repoID int64, oid string) (int64, error) {
	// One statement checks and refreshes: an UnlinkLFSObject racing with
	// it either removes the link first (and this finds nothing) or sees
	// the new time (and keeps the link). PostgreSQL re-evaluates the
	// unlink's condition on the row this update wrote.
	var size int64
	err := o.q.QueryRowContext(ctx, `UPDATE repo_lfs SET created_at = $3 WHERE repo_id = $1 AND oid = $2 RETURNING size`,
		repoID, oid, ms(time.Now())).Scan(&size)
	if err != nil {
		return 0, notFound(err, "lfs object "+oid)
	}
	return size, nil
}

func (o *ops) UnlinkLFSObject(ctx context.Context, repoID int64, oid string, before time.Time) (bool, error) {
	var res sql.Result
	var err error
	if before.IsZero() {
		res, err = o.q.ExecContext(ctx, `DELETE FROM repo_lfs WHERE repo_id = $1 AND oid = $2`, repoID, oid)
	} else {
		res, err = o.q.ExecContext(ctx, `DELETE FROM repo_lfs WHERE repo_id = $1 AND oid = $2 AND created_at < $3`, repoID, oid, ms(before))
	}
	if err != nil {
		return false, fmt.Errorf("unlink lfs object %s: %w", oid, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("unlink lfs object %s: %w", oid, err)
	}
	return n > 0, nil
}

func (o *ops) LFSLinkers(ctx context.Context, oid string) ([]int64, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT repo_id FROM repo_lfs WHERE oid = $1 ORDER BY repo_id`, oid)
	if err != nil {
		return nil, fmt.Errorf("lfs links of %s: %w", oid, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("lfs links of %s: %w", oid, err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (o *ops) QueuedScans(ctx context.Context, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	for start := 0; start < len(keys); start += statBatch {
		chunk := keys[start:min(start+statBatch, len(keys))]
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i, k := range chunk {
			args[i] = k
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		rows, err := o.q.QueryContext(ctx, `SELECT key FROM scan_queue WHERE key IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("queued scans: %w", err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("queued scans: %w", err)
			}
			out[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("queued scans: %w", err)
		}
	}
	return out, nil
}
