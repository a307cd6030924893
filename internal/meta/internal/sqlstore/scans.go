package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

func (o *ops) PutScan(ctx context.Context, r *meta.ScanRecord) error {
	if r.ScannedAt.IsZero() {
		r.ScannedAt = time.Now()
	}
	_, err := o.q.ExecContext(ctx, `INSERT INTO scans (key, repo_id, version, level, result, scanned_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET repo_id = excluded.repo_id, version = excluded.version, level = excluded.level,
		result = excluded.result, scanned_at = excluded.scanned_at`,
		r.Key, r.RepoID, r.Version, r.Level, string(r.Result), ms(r.ScannedAt))
	if err != nil {
		return fmt.Errorf("put scan %s: %w", r.Key, err)
	}
	return nil
}

func (o *ops) GetScans(ctx context.Context, keys []string) (map[string]meta.ScanRecord, error) {
	out := make(map[string]meta.ScanRecord, len(keys))
	for start := 0; start < len(keys); start += statBatch {
		chunk := keys[start:min(start+statBatch, len(keys))]
		args := make([]any, len(chunk))
		ph := make([]string, len(chunk))
		for i, k := range chunk {
			args[i] = k
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		rows, err := o.q.QueryContext(ctx, `SELECT key, repo_id, version, level, result, scanned_at FROM scans WHERE key IN (`+strings.Join(ph, ",")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("get scans: %w", err)
		}
		for rows.Next() {
			var r meta.ScanRecord
			var res string
			var at int64
			if err := rows.Scan(&r.Key, &r.RepoID, &r.Version, &r.Level, &res, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("get scans: %w", err)
			}
			r.Result, r.ScannedAt = []byte(res), fromMS(at)
			out[r.Key] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("get scans: %w", err)
		}
	}
	return out, nil
}

func (o *ops) EnqueueScans(ctx context.Context, jobs []meta.ScanJob) error {
	if len(jobs) == 0 {
		return nil
	}
	return o.inTx(ctx, func(o *ops) error {
		now := ms(time.Now())
		for _, j := range jobs {
			if _, err := o.q.ExecContext(ctx, `INSERT INTO scan_queue (key, repo_id, path, size, enqueued_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (key) DO NOTHING`, j.Key, j.RepoID, j.Path, j.Size, now); err != nil {
				return fmt.Errorf("enqueue scan %s: %w", j.Key, err)
			}
		}
		return nil
	})
}

func (o *ops) ClaimScans(ctx context.Context, n int, lease time.Duration) ([]meta.ScanJob, error) {
	now := ms(time.Now())
	// The n oldest claimable jobs are the n oldest among the n oldest free
	// ones and the n oldest whose lease expired, read apart: free jobs
	// (lease_until = 0) come out of the index in enqueued_at order, where
	// one range over lease_until sorted the whole backlog for every claim
	// (a push of 10,000 files kept a core busy for minutes).
	type cand struct {
		j  meta.ScanJob
		at int64
	}
	var cands []cand
	for _, w := range []struct {
		cond string
		arg  int64
	}{{`lease_until = $1`, 0}, {`lease_until > 0 AND lease_until < $1`, now}} {
		rows, err := o.q.QueryContext(ctx, `SELECT key, repo_id, path, size, enqueued_at FROM scan_queue WHERE `+w.cond+`
			ORDER BY enqueued_at LIMIT `+strconv.Itoa(n), w.arg)
		if err != nil {
			return nil, fmt.Errorf("claim scans: %w", err)
		}
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.j.Key, &c.j.RepoID, &c.j.Path, &c.j.Size, &c.at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("claim scans: %w", err)
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("claim scans: %w", err)
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(a.at, b.at) })
	cands = cands[:min(n, len(cands))]
	var out []meta.ScanJob
	until := ms(time.Now().Add(lease))
	for _, c := range cands {
		j := c.j
		// The condition is re-checked under the row lock: of two workers
		// racing for a job, exactly one updates it.
		res, err := o.q.ExecContext(ctx, `UPDATE scan_queue SET lease_until = $1 WHERE key = $2 AND lease_until < $3`, until, j.Key, now)
		if err != nil {
			return nil, fmt.Errorf("claim scan %s: %w", j.Key, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out = append(out, j)
		}
	}
	return out, nil
}

func (o *ops) FinishScan(ctx context.Context, key string) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM scan_queue WHERE key = $1`, key); err != nil {
		return fmt.Errorf("finish scan %s: %w", key, err)
	}
	return nil
}

func (o *ops) RescanJobs(ctx context.Context, version int, after string, limit int) ([]meta.ScanJob, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT key, repo_id, size FROM (
			SELECT s.key AS key, s.repo_id AS repo_id, 0 AS size FROM scans s WHERE s.version < $1
			UNION
			SELECT 'lfs:' || l.oid AS key, MIN(l.repo_id) AS repo_id, MIN(l.size) AS size FROM repo_lfs l
			WHERE NOT EXISTS (SELECT 1 FROM scans s WHERE s.key = 'lfs:' || l.oid) GROUP BY l.oid
		) AS jobs WHERE key > $2 ORDER BY key LIMIT `+strconv.Itoa(limit), version, after)
	if err != nil {
		return nil, fmt.Errorf("rescan jobs: %w", err)
	}
	defer rows.Close()
	var out []meta.ScanJob
	for rows.Next() {
		var j meta.ScanJob
		if err := rows.Scan(&j.Key, &j.RepoID, &j.Size); err != nil {
			return nil, fmt.Errorf("rescan jobs: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}
