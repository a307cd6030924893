package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
)

// Download windows, in days.
const (
	downloadWindow = 30
	trendingWindow = 7
)

// refreshSQL recomputes one repository's ($1) 30-day downloads and its
// trending score on day $2, stamping the row ($3) only when either value
// moved: an hourly refresh of unchanged rows would otherwise make every
// replica's search index re-read them all. Trending scores the last 7
// days, newest weighing most: a download d days ago counts (7-d)/7, times
// 1000 to stay an integer.
const refreshSQL = `UPDATE repos SET changed_at = $3, downloads = v.downloads, trending = v.trending
	FROM (SELECT
		COALESCE((SELECT SUM(n) FROM downloads_daily d WHERE d.repo_id = $1 AND day > $2 - 30 AND day <= $2), 0) AS downloads,
		COALESCE((SELECT SUM(n * (7 - ($2 - day)) * 1000 / 7) FROM downloads_daily d
			WHERE d.repo_id = $1 AND day > $2 - 7 AND day <= $2), 0) AS trending) v
	WHERE repos.id = $1 AND (repos.downloads <> v.downloads OR repos.trending <> v.trending)`

func (o *ops) RecordDownloads(ctx context.Context, day int64, counts map[int64]int64) error {
	if len(counts) == 0 {
		return nil
	}
	return o.inTx(ctx, func(o *ops) error {
		for id, n := range counts {
			// The EXISTS skips repositories deleted since the download.
			if _, err := o.q.ExecContext(ctx, `INSERT INTO downloads_daily (repo_id, day, n)
				SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM repos WHERE id = $1)
				ON CONFLICT (repo_id, day) DO UPDATE SET n = downloads_daily.n + excluded.n`, id, day, n); err != nil {
				return fmt.Errorf("record downloads: %w", err)
			}
			if _, err := o.q.ExecContext(ctx, `UPDATE repos SET downloads_all_time = downloads_all_time + $2 WHERE id = $1`, id, n); err != nil {
				return fmt.Errorf("record downloads: %w", err)
			}
			if _, err := o.q.ExecContext(ctx, refreshSQL, id, day, ms(time.Now())); err != nil {
				return fmt.Errorf("record downloads: %w", err)
			}
		}
		return nil
	})
}

func (o *ops) RefreshDownloads(ctx context.Context, today int64) error {
	// Repositories whose oldest counted day just left a window, or whose
	// trending score decays (any count in the last 7 days), and whose
	// counts differ from what refreshSQL computes: found in one grouped
	// read, with refreshSQL's arithmetic, so that a refresh with nothing
	// to change (every start of a replica, and every hour of a day
	// already refreshed) costs one scan of the window, not two lookups
	// per counted repository (minutes of a core at a million).
	rows, err := o.q.QueryContext(ctx, `SELECT r.id FROM repos r JOIN (SELECT repo_id,
			SUM(CASE WHEN day > $1 - 30 AND day <= $1 THEN n ELSE 0 END) AS downloads,
			SUM(CASE WHEN day > $1 - 7 AND day <= $1 THEN n * (7 - ($1 - day)) * 1000 / 7 ELSE 0 END) AS trending,
			SUM(CASE WHEN day = $1 - 30 OR day > $1 - 8 THEN 1 ELSE 0 END) AS moving
		FROM downloads_daily WHERE day >= $1 - 30 GROUP BY repo_id) v ON v.repo_id = r.id
		WHERE v.moving > 0 AND (r.downloads <> v.downloads OR r.trending <> v.trending)`, today)
	if err != nil {
		return fmt.Errorf("refresh downloads: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("refresh downloads: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("refresh downloads: %w", err)
	}
	// A few hundred per transaction: one commit each was most of the
	// refresh's time at a million repositories, and every commit makes
	// the readers' caches that follow the data version read again.
	const batch = 500
	for start := 0; start < len(ids); start += batch {
		chunk := ids[start:min(start+batch, len(ids))]
		err := o.inTx(ctx, func(o *ops) error {
			for _, id := range chunk {
				if _, err := o.q.ExecContext(ctx, refreshSQL, id, today, ms(time.Now())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("refresh downloads: %w", err)
		}
	}
	// Old daily rows are only needed for the 30-day window.
	if _, err := o.q.ExecContext(ctx, `DELETE FROM downloads_daily WHERE day < $1 - 60`, today); err != nil {
		return fmt.Errorf("refresh downloads: %w", err)
	}
	// Search indexes read deletions within seconds; a day covers any
	// replica that was merely slow.
	if _, err := o.q.ExecContext(ctx, `DELETE FROM repo_tombstones WHERE changed_at < $1`, ms(time.Now().Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("refresh downloads: tombstones: %w", err)
	}
	return nil
}

func (o *ops) SetLike(ctx context.Context, userID, repoID int64, on bool) (bool, error) {
	changed := false
	err := o.inTx(ctx, func(o *ops) error {
		var n int64
		if on {
			res, err := o.q.ExecContext(ctx, `INSERT INTO likes (user_id, repo_id, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (user_id, repo_id) DO NOTHING`, userID, repoID, ms(time.Now()))
			if err != nil {
				return fmt.Errorf("like: %w", err)
			}
			n, _ = res.RowsAffected()
		} else {
			res, err := o.q.ExecContext(ctx, `DELETE FROM likes WHERE user_id = $1 AND repo_id = $2`, userID, repoID)
			if err != nil {
				return fmt.Errorf("unlike: %w", err)
			}
			n, _ = res.RowsAffected()
		}
		if n == 0 {
			return nil
		}
		changed = true
		_, err := o.q.ExecContext(ctx, `UPDATE repos SET likes = (SELECT COUNT(*) FROM likes WHERE repo_id = $1), changed_at = $2 WHERE id = $1`, repoID, ms(time.Now()))
		if err != nil {
			return fmt.Errorf("count likes: %w", err)
		}
		return nil
	})
	return changed, err
}

func (o *ops) LikedBy(ctx context.Context, userID int64, limit int) ([]meta.Like, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+repoCols+`, l.created_at FROM likes l JOIN repos r ON r.id = l.repo_id
		WHERE l.user_id = $1 ORDER BY l.created_at DESC, r.id DESC LIMIT `+strconv.Itoa(limit), userID)
	if err != nil {
		return nil, fmt.Errorf("liked by: %w", err)
	}
	defer rows.Close()
	var out []meta.Like
	for rows.Next() {
		var s repoScan
		var c int64
		if err := rows.Scan(append(s.dest(), &c)...); err != nil {
			return nil, fmt.Errorf("liked by: %w", err)
		}
		out = append(out, meta.Like{Repo: s.repo(), CreatedAt: fromMS(c)})
	}
	return out, rows.Err()
}

func (o *ops) Likers(ctx context.Context, repoID int64, limit int) ([]meta.User, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+userColsOf("u")+`
		FROM likes l JOIN users u ON u.id = l.user_id WHERE l.repo_id = $1 ORDER BY l.created_at DESC, u.id DESC LIMIT `+strconv.Itoa(limit), repoID)
	if err != nil {
		return nil, fmt.Errorf("likers: %w", err)
	}
	defer rows.Close()
	var out []meta.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("likers: %w", err)
		}
		out = append(out, *u)
	}
	return out, rows.Err()
}

func (o *ops) HasLiked(ctx context.Context, userID, repoID int64) (bool, error) {
	var n int
	if err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM likes WHERE user_id = $1 AND repo_id = $2`, userID, repoID).Scan(&n); err != nil {
		return false, fmt.Errorf("has liked: %w", err)
	}
	return n > 0, nil
}

func (o *ops) Parents(ctx context.Context, repoID int64) ([]meta.Edge, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT base_name, relation FROM repo_lineage WHERE repo_id = $1 ORDER BY pos`, repoID)
	if err != nil {
		return nil, fmt.Errorf("parents: %w", err)
	}
	defer rows.Close()
	var out []meta.Edge
	for rows.Next() {
		var e meta.Edge
		if err := rows.Scan(&e.Base, &e.Relation); err != nil {
			return nil, fmt.Errorf("parents: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// childFilter builds the WHERE clause shared by Children and ChildCounts.
func childFilter(q meta.ChildQuery) *where {
	w := &where{}
	ph := make([]string, len(q.Bases))
	for i, b := range q.Bases {
		w.args = append(w.args, b)
		ph[i] = "$" + strconv.Itoa(len(w.args))
	}
	names := strings.Join(ph, ",")
	if q.FormerNamesOf != 0 {
		// As one list, not an OR: both planners then look the edges up
		// by base name for each name in it.
		w.args = append(w.args, q.FormerNamesOf)
		names = "SELECT lname FROM repo_redirects WHERE repo_id = $" + strconv.Itoa(len(w.args))
		for _, p := range ph {
			names += " UNION ALL SELECT CAST(" + p + " AS TEXT)"
		}
	}
	w.conds = append(w.conds, "e.base_lname IN ("+names+")")
	if q.Type != "" {
		// Children are found through repo_lineage_base only. Written as an
		// expression, the type term cannot be matched to a repos index, so
		// SQLite's planner does not consult its sampled statistics for the
		// bound value, which would re-plan the statement on every run.
		w.add("r.type || '' = ?", q.Type)
	}
	if q.Relation != "" {
		w.add("e.relation = ?", q.Relation)
	}
	w.visible(q.ViewerAll, q.ViewerNamespaces)
	return w
}

func (o *ops) Children(ctx context.Context, q meta.ChildQuery) ([]meta.Child, error) {
	if len(q.Bases) == 0 && q.FormerNamesOf == 0 {
		return nil, nil
	}
	w := childFilter(q)
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+repoCols+`, e.relation FROM repo_lineage e JOIN repos r ON r.id = e.repo_id
		WHERE `+w.sql()+` ORDER BY r.downloads DESC, r.id LIMIT `+strconv.Itoa(limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("children: %w", err)
	}
	defer rows.Close()
	var out []meta.Child
	seen := map[int64]bool{}
	for rows.Next() {
		var s repoScan
		var rel string
		if err := rows.Scan(append(s.dest(), &rel)...); err != nil {
			return nil, fmt.Errorf("children: %w", err)
		}
		if !seen[s.r.ID] {
			seen[s.r.ID] = true
			out = append(out, meta.Child{Repo: s.repo(), Relation: rel})
		}
	}
	return out, rows.Err()
}

func (o *ops) ChildCounts(ctx context.Context, q meta.ChildQuery) (map[string]int64, error) {
	out := map[string]int64{}
	if len(q.Bases) == 0 && q.FormerNamesOf == 0 {
		return out, nil
	}
	w := childFilter(q)
	rows, err := o.q.QueryContext(ctx, `SELECT e.relation, COUNT(DISTINCT r.id) FROM repo_lineage e JOIN repos r ON r.id = e.repo_id
		WHERE `+w.sql()+` GROUP BY e.relation`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("child counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rel string
		var n int64
		if err := rows.Scan(&rel, &n); err != nil {
			return nil, fmt.Errorf("child counts: %w", err)
		}
		out[rel] = n
	}
	return out, rows.Err()
}

func (o *ops) ListAllRepoIDs(ctx context.Context, after int64, limit int) ([]int64, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT id FROM repos WHERE id > $1 ORDER BY id LIMIT `+strconv.Itoa(limit), after)
	if err != nil {
		return nil, fmt.Errorf("list repo ids: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list repo ids: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
