package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// treePageSize is the number of entries per page of a folder.
const treePageSize = 500

// crumb is one step of a path's breadcrumb.
type crumb struct {
	Name string
	Link string // "" for the last step
}

// treeEntry is a row of the file browser.
type treeEntry struct {
	Name     string
	Dir      bool
	Size     int64
	LFS      bool
	Link     string // tree or blob page
	Download string // resolve URL, files only
}

// refMenu is the branch and tag switcher.
type refMenu struct {
	Current  string
	Branches []refLink
	Tags     []refLink
}

type refLink struct {
	Name    string
	Link    string
	Current bool
}

// treePage is the body of the tree template.
type treePage struct {
	H       repoHeader
	Rev     string
	Path    string
	Crumbs  []crumb
	Entries []treeEntry
	Refs    refMenu
	Commit  commitView
	Prev    string
	Next    string
}

// crumbs splits p into breadcrumb steps, each linking to its folder.
func crumbs(root, name, revSeg, p string) []crumb {
	out := []crumb{{Name: name, Link: root + "/tree/" + revSeg}}
	if p == "" {
		out[0].Link = ""
		return out
	}
	parts := strings.Split(p, "/")
	for i, s := range parts {
		c := crumb{Name: s}
		if i < len(parts)-1 {
			c.Link = root + "/tree/" + revSeg + "/" + escapePath(strings.Join(parts[:i+1], "/"))
		}
		out = append(out, c)
	}
	return out
}

func (h *Handler) treePage(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		rev, p, ok := splitRev(a.rest[1:])
		if !ok {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid path"}
		}
		ctx, who := r.Context(), server.Identity(r.Context())
		pg, _ := strconv.Atoi(r.URL.Query().Get("p"))
		pg = max(pg, 0)
		repo, rv, ents, more, err := h.hub.ListTree(ctx, who, a.ref, rev, hub.TreeOptions{Path: p, Offset: pg * treePageSize, Limit: treePageSize})
		if errors.Is(err, hub.ErrEntryNotFound) && p != "" {
			// A file's address under tree/: show it where it lives.
			if repo, _, e, ferr := h.hub.FileAt(ctx, who, a.ref, rev, p); ferr == nil {
				http.Redirect(w, r, v.prefix+repoPath(repo)+"/blob/"+url.PathEscape(rev)+"/"+escapePath(e.Path), http.StatusFound)
				return nil
			}
		}
		if err != nil {
			return err
		}
		if rev == "" {
			rev = repo.DefaultBranch
		}
		revSeg := url.PathEscape(rev)
		root := repoPath(repo)
		body := treePage{H: h.header(r, repo, "files", rev), Rev: rev, Path: p, Crumbs: crumbs(root, repo.Name, revSeg, p)}
		for _, e := range ents {
			te := treeEntry{Name: baseName(e.Path), Dir: e.IsDir(), Size: e.Size, LFS: e.LFS != nil}
			if te.Dir {
				te.Link = root + "/tree/" + revSeg + "/" + escapePath(e.Path)
			} else {
				te.Link = root + "/blob/" + revSeg + "/" + escapePath(e.Path)
				te.Download = root + "/resolve/" + revSeg + "/" + escapePath(e.Path) + "?download=true"
			}
			body.Entries = append(body.Entries, te)
		}
		// Folders first, as file browsers show them.
		slices.SortStableFunc(body.Entries, func(x, y treeEntry) int {
			switch {
			case x.Dir == y.Dir:
				return 0
			case x.Dir:
				return -1
			}
			return 1
		})
		refs, err := h.hub.ListRefs(ctx, who, a.ref)
		if err != nil {
			return err
		}
		body.Refs = refMenu{Current: rev}
		for _, b := range refs.Branches {
			body.Refs.Branches = append(body.Refs.Branches, refLink{Name: b.Name, Link: root + "/tree/" + url.PathEscape(b.Name), Current: b.Name == rev})
		}
		for _, t := range refs.Tags {
			body.Refs.Tags = append(body.Refs.Tags, refLink{Name: t.Name, Link: root + "/tree/" + url.PathEscape(t.Name), Current: t.Name == rev})
		}
		c, err := h.hub.CommitOf(ctx, repo, rv.Commit)
		if err != nil {
			return err
		}
		body.Commit = commitView{ID: rv.Commit.String(), Short: shortID(rv.Commit), Title: c.Title(), Author: c.Author.Name, Date: c.Committer.When}
		here := r.URL.EscapedPath()
		if pg > 0 {
			body.Prev = here + "?p=" + strconv.Itoa(pg-1)
		}
		if more {
			body.Next = here + "?p=" + strconv.Itoa(pg+1)
		}
		title := repo.FullName() + " at " + rev
		if p != "" {
			title = p + " · " + title
		}
		return h.render(w, r, v, http.StatusOK, "tree", &page{Title: title, Body: body})
	}
}

// blobPage is the body of the blob template.
type blobPage struct {
	H        repoHeader
	Rev      string
	Path     string
	Crumbs   []crumb
	Size     int64
	OID      string
	LFSOID   string
	Text     string
	Lines    int
	Image    bool
	Reason   string // why the content is not shown: "lfs", "large" or "binary"
	Download string
	Raw      string
}

// imageExts are shown inline as images (loaded from resolve).
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true}

func (h *Handler) blobPage(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		rev, p, ok := splitRev(a.rest[1:])
		if !ok || p == "" {
			return &hub.Error{Kind: hub.ErrEntryNotFound, Msg: "Entry not found"}
		}
		ctx, who := r.Context(), server.Identity(r.Context())
		repo, _, e, err := h.hub.FileAt(ctx, who, a.ref, rev, p)
		if err != nil {
			return err
		}
		revSeg := url.PathEscape(rev)
		root := repoPath(repo)
		body := blobPage{H: h.header(r, repo, "files", rev), Rev: rev, Path: e.Path, Crumbs: crumbs(root, repo.Name, revSeg, e.Path),
			Size: e.Size, OID: e.OID.String(),
			Download: root + "/resolve/" + revSeg + "/" + escapePath(e.Path) + "?download=true",
			Raw:      root + "/raw/" + revSeg + "/" + escapePath(e.Path)}
		switch {
		case imageExts[strings.ToLower(path.Ext(e.Path))]:
			body.Image = true
			body.Download = strings.TrimSuffix(body.Download, "?download=true")
			if e.LFS != nil {
				body.LFSOID = e.LFS.OID
			}
		case e.LFS != nil:
			body.Reason, body.LFSOID = "lfs", e.LFS.OID
		case e.Size > h.cfg.MaxBlobView:
			body.Reason = "large"
		default:
			data, err := h.hub.ReadBlob(ctx, repo, e)
			if err != nil {
				return err
			}
			if isBinary(data) {
				body.Reason = "binary"
				break
			}
			body.Text = string(data)
			body.Lines = strings.Count(body.Text, "\n")
			if !strings.HasSuffix(body.Text, "\n") && body.Text != "" {
				body.Lines++
			}
		}
		return h.render(w, r, v, http.StatusOK, "blob", &page{Title: e.Path + " · " + repo.FullName(), Body: body})
	}
}

// isBinary applies git's heuristic (a NUL in the first 8000 bytes) and
// refuses invalid UTF-8, which a page cannot show faithfully.
func isBinary(data []byte) bool {
	return bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 || !utf8.Valid(data)
}
