package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// commitsPageSize is the number of commits per history page.
const commitsPageSize = 30

// commitRow is a commit in a history list.
type commitRow struct {
	ID      string
	Short   string
	Title   string
	Message string
	Authors string
	Date    time.Time
	Link    string // commit page
	Browse  string // the tree at this commit
}

func rowOf(root string, c hub.CommitInfo) commitRow {
	id := c.ID.String()
	return commitRow{ID: id, Short: shortID(c.ID), Title: c.Title, Message: c.Message, Authors: strings.Join(c.Authors, ", "),
		Date: c.Date, Link: root + "/commit/" + id, Browse: root + "/tree/" + id}
}

// commitsPage is the body of the commits template.
type commitsPage struct {
	H       repoHeader
	Rev     string
	Commits []commitRow
	Total   int
	Prev    string
	Next    string
}

func (h *Handler) commitsPage(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		rev := ""
		if len(a.rest) == 2 {
			var ok bool
			if rev, ok = unescape(a.rest[1]); !ok {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid revision"}
			}
		}
		pg, _ := strconv.Atoi(r.URL.Query().Get("p"))
		pg = max(pg, 0)
		ctx, who := r.Context(), server.Identity(r.Context())
		repo, _, list, total, err := h.hub.ListCommits(ctx, who, a.ref, rev, pg*commitsPageSize, commitsPageSize)
		if err != nil {
			return err
		}
		if rev == "" {
			rev = repo.DefaultBranch
		}
		root := repoPath(repo)
		body := commitsPage{H: h.header(r, repo, "commits", rev), Rev: rev, Total: total}
		for _, c := range list {
			body.Commits = append(body.Commits, rowOf(root, c))
		}
		here := root + "/commits/" + url.PathEscape(rev)
		if pg > 0 {
			body.Prev = here + "?p=" + strconv.Itoa(pg-1)
		}
		if (pg+1)*commitsPageSize < total {
			body.Next = here + "?p=" + strconv.Itoa(pg+1)
		}
		return h.render(w, r, v, http.StatusOK, "commits", &page{Title: "History of " + repo.FullName() + " at " + rev, Body: body})
	}
}

// changeRow is a file changed by a commit.
type changeRow struct {
	Path string
	Kind string
	Link string // the file at this commit, or before it when deleted
}

// commitPage is the body of the commit template.
type commitPage struct {
	H         repoHeader
	C         commitRow
	Parents   []commitRef
	Changes   []changeRow
	Truncated bool
}

type commitRef struct {
	Short string
	Link  string
}

// maxChangesShown matches the hub's bound on a commit's change list.
const maxChangesShown = 10_000

func (h *Handler) commitPage(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		rev, ok := unescape(a.rest[1])
		if !ok {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid revision"}
		}
		ctx, who := r.Context(), server.Identity(r.Context())
		repo, info, changes, err := h.hub.CommitDetail(ctx, who, a.ref, rev)
		if err != nil {
			return err
		}
		root := repoPath(repo)
		body := commitPage{H: h.header(r, repo, "commits", info.ID.String()), C: rowOf(root, info),
			Truncated: len(changes) >= maxChangesShown}
		for _, p := range info.Parents {
			body.Parents = append(body.Parents, commitRef{Short: shortID(p), Link: root + "/commit/" + p.String()})
		}
		for _, c := range changes {
			row := changeRow{Path: c.Path, Kind: c.Kind}
			switch {
			case c.Kind != "deleted":
				row.Link = root + "/blob/" + info.ID.String() + "/" + escapePath(c.Path)
			case len(info.Parents) > 0:
				row.Link = root + "/blob/" + info.Parents[0].String() + "/" + escapePath(c.Path)
			}
			body.Changes = append(body.Changes, row)
		}
		return h.render(w, r, v, http.StatusOK, "commit", &page{Title: info.Title + " · " + repo.FullName(), Body: body})
	}
}
