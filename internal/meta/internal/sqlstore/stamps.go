package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/meta"
)

// RepoStamps returns the change stamps (changed_at, Unix ms) of the
// repositories among ids that exist and that the viewer may see. It reads
// the repos rows only, none of their metadata or tags: a listing checks
// visibility and freshness with it, then reads in full only the rows its
// cache lacks (hub's row cache).
func (o *ops) RepoStamps(ctx context.Context, ids []int64, viewerAll bool, viewerNamespaces []string) (map[int64]int64, error) {
	out := make(map[int64]int64, len(ids))
	for start := 0; start < len(ids); start += statBatch {
		w := o.filterRepos(meta.RepoQuery{ViewerAll: viewerAll, ViewerNamespaces: viewerNamespaces})
		chunk := ids[start:min(start+statBatch, len(ids))]
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			w.args = append(w.args, id)
			ph[i] = "$" + strconv.Itoa(len(w.args))
		}
		w.conds = append(w.conds, "r.id IN ("+strings.Join(ph, ",")+")")
		rows, err := o.q.QueryContext(ctx, `SELECT r.id, r.changed_at FROM repos r WHERE `+w.sql(), w.args...)
		if err != nil {
			return nil, fmt.Errorf("repo stamps: %w", err)
		}
		for rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("repo stamps: %w", err)
			}
			out[id] = at
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("repo stamps: %w", err)
		}
	}
	return out, nil
}
