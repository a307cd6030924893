package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/meta"
)

// rateChunk bounds the rows of one upsert: four placeholders each, and
// SQLite binds $N with a linear lookup.
const rateChunk = 25

type rateKey struct {
	subject, bucket string
	window          int64
}

func (o *ops) AddRateCounts(ctx context.Context, counts []meta.RateCount) ([]int64, error) {
	// Sorted, so that replicas adding overlapping sets lock rows in one
	// order (PostgreSQL would otherwise deadlock two such upserts).
	order := make([]int, len(counts))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := counts[a], counts[b]
		return cmp.Or(strings.Compare(x.Subject, y.Subject), strings.Compare(x.Bucket, y.Bucket), cmp.Compare(x.Window, y.Window))
	})
	totals := make(map[rateKey]int64, len(counts))
	for start := 0; start < len(order); start += rateChunk {
		part := order[start:min(start+rateChunk, len(order))]
		var b strings.Builder
		b.WriteString(`INSERT INTO rate_counters (subject, bucket, window_start, n) VALUES `)
		args := make([]any, 0, 4*len(part))
		for i, idx := range part {
			c := counts[idx]
			if i > 0 {
				b.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4)
			args = append(args, c.Subject, c.Bucket, c.Window, c.N)
		}
		b.WriteString(` ON CONFLICT (subject, bucket, window_start) DO UPDATE SET n = rate_counters.n + excluded.n
			RETURNING subject, bucket, window_start, n`)
		if err := o.scanTotals(ctx, b.String(), args, totals); err != nil {
			return nil, err
		}
	}
	out := make([]int64, len(counts))
	for i, c := range counts {
		n, ok := totals[rateKey{c.Subject, c.Bucket, c.Window}]
		if !ok {
			return nil, errors.New("add rate counts: a counter is missing from the answer")
		}
		out[i] = n
	}
	return out, nil
}

func (o *ops) scanTotals(ctx context.Context, query string, args []any, totals map[rateKey]int64) error {
	rows, err := o.q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("add rate counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k rateKey
		var n int64
		if err := rows.Scan(&k.subject, &k.bucket, &k.window, &n); err != nil {
			return fmt.Errorf("add rate counts: %w", err)
		}
		totals[k] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("add rate counts: %w", err)
	}
	return nil
}

func (o *ops) PruneRateCounts(ctx context.Context, before int64) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM rate_counters WHERE window_start < $1`, before); err != nil {
		return fmt.Errorf("prune rate counts: %w", err)
	}
	return nil
}

func (o *ops) SetQuota(ctx context.Context, namespace string, limit int64) error {
	ns := strings.ToLower(namespace)
	var err error
	if limit < 0 {
		_, err = o.q.ExecContext(ctx, `DELETE FROM namespace_quotas WHERE namespace = $1`, ns)
	} else {
		_, err = o.q.ExecContext(ctx, `INSERT INTO namespace_quotas (namespace, max_bytes) VALUES ($1, $2)
			ON CONFLICT (namespace) DO UPDATE SET max_bytes = excluded.max_bytes`, ns, limit)
	}
	if err != nil {
		return fmt.Errorf("set quota of %s: %w", namespace, err)
	}
	return nil
}

func (o *ops) Quota(ctx context.Context, namespace string) (int64, error) {
	var n int64
	err := o.q.QueryRowContext(ctx, `SELECT max_bytes FROM namespace_quotas WHERE namespace = $1`, strings.ToLower(namespace)).Scan(&n)
	if err != nil {
		return 0, notFound(err, "quota of "+namespace)
	}
	return n, nil
}

func (o *ops) ListQuotas(ctx context.Context) (map[string]int64, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT namespace, max_bytes FROM namespace_quotas`)
	if err != nil {
		return nil, fmt.Errorf("list quotas: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var ns string
		var n int64
		if err := rows.Scan(&ns, &n); err != nil {
			return nil, fmt.Errorf("list quotas: %w", err)
		}
		out[ns] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list quotas: %w", err)
	}
	return out, nil
}

func (o *ops) NamespaceUsage(ctx context.Context, namespace string) (meta.Usage, error) {
	// lower(r.namespace) is spelled exactly as the repos_namespace index
	// is, so both engines use it. Names are ASCII: SQLite's ASCII-only
	// lower() agrees with ToLower.
	ns := strings.ToLower(namespace)
	var u meta.Usage
	// The casts: PostgreSQL sums BIGINT into NUMERIC.
	if err := o.q.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(l.size), 0) AS BIGINT) FROM repo_lfs l
		JOIN repos r ON r.id = l.repo_id WHERE lower(r.namespace) = $1`, ns).Scan(&u.LFS); err != nil {
		return u, fmt.Errorf("usage of %s: %w", namespace, err)
	}
	if err := o.q.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(o.size), 0) AS BIGINT) FROM objects o
		JOIN repos r ON r.id = o.repo_id WHERE lower(r.namespace) = $1`, ns).Scan(&u.Git); err != nil {
		return u, fmt.Errorf("usage of %s: %w", namespace, err)
	}
	return u, nil
}

func (o *ops) NamespaceRepoUsage(ctx context.Context, namespace string) ([]meta.RepoUsage, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+repoCols+`,
		CAST(COALESCE((SELECT SUM(l.size) FROM repo_lfs l WHERE l.repo_id = r.id), 0) AS BIGINT),
		CAST(COALESCE((SELECT SUM(o.size) FROM objects o WHERE o.repo_id = r.id), 0) AS BIGINT)
		FROM repos r WHERE lower(r.namespace) = $1 ORDER BY r.type, r.lname`, strings.ToLower(namespace))
	if err != nil {
		return nil, fmt.Errorf("repository usage of %s: %w", namespace, err)
	}
	defer rows.Close()
	var out []meta.RepoUsage
	for rows.Next() {
		var s repoScan
		var u meta.Usage
		if err := rows.Scan(append(s.dest(), &u.LFS, &u.Git)...); err != nil {
			return nil, fmt.Errorf("repository usage of %s: %w", namespace, err)
		}
		out = append(out, meta.RepoUsage{Repo: s.repo(), Usage: u})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository usage of %s: %w", namespace, err)
	}
	return out, nil
}
