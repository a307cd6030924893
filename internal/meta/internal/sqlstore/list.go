package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/meta"
)

// sortColumn maps a sort order to its column; SortID sorts by lname.
var sortColumn = map[string]string{
	meta.SortLastModified: "r.updated_at",
	meta.SortCreatedAt:    "r.created_at",
	meta.SortDownloads:    "r.downloads",
	meta.SortLikes:        "r.likes",
	meta.SortTrending:     "r.trending",
}

type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	// Conditions are written with ? for readability and numbered here.
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// visible restricts rows of repos r to those a viewer may see: public
// ones, and private ones in the viewer's namespaces, unless all is set.
func (w *where) visible(all bool, namespaces []string) {
	if all {
		return
	}
	vis := []string{"r.private = 0"}
	for _, ns := range namespaces {
		// Escaped: a namespace may hold _, which LIKE would take as a
		// wildcard and so show another namespace's private repos.
		w.args = append(w.args, likeEscape(strings.ToLower(ns))+"/%")
		vis = append(vis, "r.lname LIKE $"+strconv.Itoa(len(w.args))+` ESCAPE '\'`)
	}
	w.conds = append(w.conds, "("+strings.Join(vis, " OR ")+")")
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

func (o *ops) filterRepos(q meta.RepoQuery) *where {
	w := &where{}
	if q.Type != "" {
		w.add("r.type = ?", q.Type)
	}
	w.visible(q.ViewerAll, q.ViewerNamespaces)
	if q.Author != "" {
		w.add(`r.lname LIKE ? ESCAPE '\'`, likeEscape(strings.ToLower(q.Author))+"/%")
	}
	if q.Search != "" {
		term := strings.ToLower(q.Search)
		indexable := len(term) >= 3 && !strings.ContainsAny(term, `%_\`)
		w.args = append(w.args, "%"+likeEscape(term)+"%")
		w.conds = append(w.conds, o.d.Search("$"+strconv.Itoa(len(w.args)), indexable))
	}
	if q.MinParams > 0 {
		w.add("m.num_parameters >= ?", q.MinParams)
	}
	if q.MaxParams > 0 {
		w.add("m.num_parameters <= ?", q.MaxParams)
	}
	if q.Gated != nil {
		if *q.Gated {
			w.add("r.gated <> ?", "")
		} else {
			w.add("r.gated = ?", "")
		}
	}
	for _, t := range q.Tags {
		w.add("EXISTS (SELECT 1 FROM repo_tags t WHERE t.repo_id = r.id AND t.tag = ?)", t)
	}
	if q.PipelineTag != "" {
		w.add("m.pipeline_tag = ?", q.PipelineTag)
	}
	return w
}

func (o *ops) CountRepos(ctx context.Context, q meta.RepoQuery) (int64, error) {
	w := o.filterRepos(q)
	var n int64
	err := o.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM repos r LEFT JOIN repo_meta m ON m.repo_id = r.id WHERE `+w.sql(), w.args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count repos: %w", err)
	}
	return n, nil
}

func (o *ops) ListRepos(ctx context.Context, q meta.RepoQuery) ([]meta.Listing, error) {
	w := o.filterRepos(q)
	col, byValue := sortColumn[q.Sort]
	dir, cmp := "ASC", ">"
	if q.Desc {
		dir, cmp = "DESC", "<"
	}
	var order string
	if byValue {
		if q.After != nil {
			w.add("("+col+" "+cmp+" ? OR ("+col+" = ? AND r.id "+cmp+" ?))", q.After.Value, q.After.Value, q.After.ID)
		}
		order = col + " " + dir + ", r.id " + dir
	} else {
		if q.After != nil {
			w.add("r.lname "+cmp+" ?", q.After.Name)
		}
		order = "r.lname " + dir
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	return o.listings(ctx, w.sql()+` ORDER BY `+order+` LIMIT `+strconv.Itoa(limit), w.args...)
}

// listings runs a listing query (the WHERE clause and what follows) and
// attaches each row's metadata and tags. The tags come in the same query
// (a JSON array per row): a second query for them cost a quarter of a
// listing's time.
func (o *ops) listings(ctx context.Context, tail string, args ...any) ([]meta.Listing, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+repoCols+`, m.repo_id, m.sha, m.card_data, m.card_error, m.pipeline_tag,
		m.library_name, m.num_parameters, m.info, m.tags, r.changed_at
		FROM repos r LEFT JOIN repo_meta m ON m.repo_id = r.id
		WHERE `+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list repos: %w", err)
	}
	defer rows.Close()
	var out []meta.Listing
	for rows.Next() {
		var s repoScan
		var metaID sql.NullInt64
		var sha []byte
		var card, info, cardErr, pipe, lib, tags sql.NullString
		var params sql.NullInt64
		var changed int64
		dest := append(s.dest(), &metaID, &sha, &card, &cardErr, &pipe, &lib, &params, &info, &tags, &changed)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list repos: %w", err)
		}
		l := meta.Listing{Repo: s.repo(), ChangedAt: changed}
		if metaID.Valid {
			m := &meta.RepoMeta{CardError: cardErr.String, PipelineTag: pipe.String, LibraryName: lib.String, NumParameters: params.Int64}
			copy(m.Sha[:], sha)
			if card.Valid {
				m.CardData = []byte(card.String)
			}
			if info.Valid {
				m.Info = []byte(info.String)
			}
			if m.Tags, err = decodeTags(tags); err != nil {
				return nil, fmt.Errorf("list repos: %d: %w", l.Repo.ID, err)
			}
			l.Meta = m
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list repos: %w", err)
	}
	return out, nil
}

func (o *ops) ReposByIDs(ctx context.Context, ids []int64, viewerAll bool, viewerNamespaces []string) ([]meta.Listing, error) {
	var out []meta.Listing
	for start := 0; start < len(ids); start += statBatch {
		w := o.filterRepos(meta.RepoQuery{ViewerAll: viewerAll, ViewerNamespaces: viewerNamespaces})
		chunk := ids[start:min(start+statBatch, len(ids))]
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			w.args = append(w.args, id)
			ph[i] = "$" + strconv.Itoa(len(w.args))
		}
		w.conds = append(w.conds, "r.id IN ("+strings.Join(ph, ",")+")")
		ls, err := o.listings(ctx, w.sql(), w.args...)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

func (o *ops) SearchDocs(ctx context.Context, since int64, after meta.DocCursor, limit int) ([]meta.SearchDoc, error) {
	// The (changed_at, id) order follows the repos_changed index, so a
	// refresh reads only the rows that changed.
	from := max(since, after.ChangedAt)
	rows, err := o.q.QueryContext(ctx, `SELECT `+repoCols+`, r.changed_at, COALESCE(m.pipeline_tag, ''), COALESCE(m.num_parameters, 0),
		m.tags
		FROM repos r LEFT JOIN repo_meta m ON m.repo_id = r.id
		WHERE r.changed_at >= $1 AND (r.changed_at > $2 OR r.id > $3)
		ORDER BY r.changed_at, r.id LIMIT `+strconv.Itoa(limit), from, after.ChangedAt, after.ID)
	if err != nil {
		return nil, fmt.Errorf("search docs: %w", err)
	}
	defer rows.Close()
	var out []meta.SearchDoc
	for rows.Next() {
		var s repoScan
		var d meta.SearchDoc
		var tags sql.NullString
		if err := rows.Scan(append(s.dest(), &d.ChangedAt, &d.PipelineTag, &d.NumParameters, &tags)...); err != nil {
			return nil, fmt.Errorf("search docs: %w", err)
		}
		d.Repo = s.repo()
		if d.Tags, err = decodeTags(tags); err != nil {
			return nil, fmt.Errorf("search docs: %d: %w", d.Repo.ID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search docs: %w", err)
	}
	rows.Close()
	gone, err := o.tombstones(ctx, from, after, limit)
	if err != nil {
		return nil, err
	}
	if len(gone) == 0 {
		return out, nil
	}
	// Both lists are in (changed_at, id) order and hold the first limit of
	// their kind after the cursor, so the first limit of the merge are the
	// first limit of all.
	out = append(out, gone...)
	slices.SortStableFunc(out, func(a, b meta.SearchDoc) int {
		if c := cmp.Compare(a.ChangedAt, b.ChangedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.Repo.ID, b.Repo.ID)
	})
	return out[:min(len(out), limit)], nil
}

// tombstones returns the deletions in SearchDocs' window and order.
func (o *ops) tombstones(ctx context.Context, from int64, after meta.DocCursor, limit int) ([]meta.SearchDoc, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT repo_id, changed_at FROM repo_tombstones
		WHERE changed_at >= $1 AND (changed_at > $2 OR repo_id > $3)
		ORDER BY changed_at, repo_id LIMIT `+strconv.Itoa(limit), from, after.ChangedAt, after.ID)
	if err != nil {
		return nil, fmt.Errorf("search docs: tombstones: %w", err)
	}
	defer rows.Close()
	var out []meta.SearchDoc
	for rows.Next() {
		d := meta.SearchDoc{Deleted: true}
		if err := rows.Scan(&d.Repo.ID, &d.ChangedAt); err != nil {
			return nil, fmt.Errorf("search docs: tombstones: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search docs: tombstones: %w", err)
	}
	return out, nil
}
