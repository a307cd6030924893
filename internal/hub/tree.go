package hub

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Entry is a file or folder at a revision.
type Entry struct {
	Type        string // "file" or "directory"
	Path        string
	Mode        gitobj.Mode
	OID         gitobj.ID // git blob or tree id
	Size        int64     // content size (the real size for LFS files); 0 for folders
	LFS         *gitobj.Pointer
	PointerSize int64 // size of the pointer blob, for LFS files
	LastCommit  *CommitSummary
}

// CommitSummary is the short form of a commit.
type CommitSummary struct {
	ID    gitobj.ID
	Title string
	Date  time.Time
}

// IsDir reports whether the entry is a folder.
func (e *Entry) IsDir() bool { return e.Type == "directory" }

// normPath cleans a path taken from a URL: no leading or trailing slash.
func normPath(p string) string { return strings.Trim(p, "/") }

// listEntries walks the tree at path (which must be a folder) and returns
// its entries in git order, depth first when recursive.
func (s *Service) listEntries(ctx context.Context, objs *objects, root gitobj.ID, path string, recursive bool, commit gitobj.ID) ([]Entry, error) {
	path = normPath(path)
	te, ok, err := objs.entryAt(ctx, root, path)
	if err != nil {
		return nil, err
	}
	if !ok || !te.Mode.IsTree() {
		return nil, &Error{Kind: ErrEntryNotFound, Msg: "Entry not found", Commit: commit.String()}
	}
	var out []Entry
	var walk func(id gitobj.ID, prefix string) error
	walk = func(id gitobj.ID, prefix string) error {
		ents, err := objs.tree(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range ents {
			p := e.Name
			if prefix != "" {
				p = prefix + "/" + e.Name
			}
			switch {
			case e.Mode.IsTree():
				out = append(out, Entry{Type: "directory", Path: p, Mode: e.Mode, OID: e.ID})
				if recursive {
					if err := walk(e.ID, p); err != nil {
						return err
					}
				}
			case e.Mode.IsBlob():
				out = append(out, Entry{Type: "file", Path: p, Mode: e.Mode, OID: e.ID})
			}
		}
		return nil
	}
	if err := walk(te.ID, path); err != nil {
		return nil, err
	}
	return out, s.fillSizes(ctx, objs, out)
}

// fillSizes sets Size and LFS of file entries from the stored (or
// pending) objects.
func (s *Service) fillSizes(ctx context.Context, objs *objects, ents []Entry) error {
	var ids []gitobj.ID
	st := map[gitobj.ID]meta.ObjectInfo{}
	for _, e := range ents {
		if e.Type != "file" {
			continue
		}
		if ob, ok := objs.pending[e.OID]; ok {
			info := meta.ObjectInfo{Kind: ob.Kind, Size: int64(len(ob.Data))}
			if p, ok := gitobj.ParsePointer(ob.Data); ok {
				info.LFS = &p
			}
			st[e.OID] = info
			continue
		}
		ids = append(ids, e.OID)
	}
	if len(ids) > 0 {
		stored, err := objs.statObjects(ctx, ids)
		if err != nil {
			return fmt.Errorf("stat blobs: %w", err)
		}
		for k, v := range stored {
			st[k] = v
		}
	}
	for i := range ents {
		e := &ents[i]
		if e.Type != "file" {
			continue
		}
		info, ok := st[e.OID]
		if !ok {
			return fmt.Errorf("blob %s of %s: %w", e.OID, e.Path, errCorrupt)
		}
		e.Size = info.Size
		if info.LFS != nil {
			e.LFS, e.PointerSize, e.Size = info.LFS, info.Size, info.LFS.Size
		}
	}
	return nil
}

// TreeOptions select a tree listing.
type TreeOptions struct {
	Path      string
	Recursive bool
	Expand    bool // add LastCommit to each returned entry
	Offset    int
	Limit     int
}

// ListTree lists a folder at a revision, one page at a time; more reports
// whether entries follow the page.
func (s *Service) ListTree(ctx context.Context, who *auth.Identity, ref RepoRef, rev string, o TreeOptions) (*Repo, Revision, []Entry, bool, error) {
	r, rv, err := s.ResolveRevision(ctx, who, ref, rev)
	if err != nil {
		return nil, Revision{}, nil, false, err
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, Revision{}, nil, false, err
	}
	all, err := s.listEntries(ctx, objs, c.Tree, o.Path, o.Recursive, rv.Commit)
	if err != nil {
		return nil, Revision{}, nil, false, err
	}
	if o.Offset > len(all) {
		o.Offset = len(all)
	}
	end := len(all)
	if o.Limit > 0 && o.Offset+o.Limit < end {
		end = o.Offset + o.Limit
	}
	page := all[o.Offset:end]
	if o.Expand {
		if err := s.addLastCommits(ctx, objs, rv.Commit, page); err != nil {
			return nil, Revision{}, nil, false, err
		}
	}
	return r, rv, page, end < len(all), nil
}

// PathsInfo describes the given paths at a revision; missing paths are
// left out.
func (s *Service) PathsInfo(ctx context.Context, who *auth.Identity, ref RepoRef, rev string, paths []string, expand bool) (*Repo, Revision, []Entry, error) {
	r, rv, err := s.ResolveRevision(ctx, who, ref, rev)
	if err != nil {
		return nil, Revision{}, nil, err
	}
	ents, err := s.PathsInfoAt(ctx, r, rv, paths, expand)
	if err != nil {
		return nil, Revision{}, nil, err
	}
	return r, rv, ents, nil
}

// PathsInfoAt is PathsInfo in repository r at revision rv, as
// ResolveRevision returned them to the caller: a handler that must
// authorise before reading the paths from a request body reads the
// repository once.
func (s *Service) PathsInfoAt(ctx context.Context, r *Repo, rv Revision, paths []string, expand bool) ([]Entry, error) {
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, err
	}
	out := []Entry{}
	seen := map[string]bool{}
	for _, p := range paths {
		p = normPath(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		te, ok, err := objs.entryAt(ctx, c.Tree, p)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
		case te.Mode.IsTree():
			out = append(out, Entry{Type: "directory", Path: p, Mode: te.Mode, OID: te.ID})
		case te.Mode.IsBlob():
			out = append(out, Entry{Type: "file", Path: p, Mode: te.Mode, OID: te.ID})
		}
	}
	if err := s.fillSizes(ctx, objs, out); err != nil {
		return nil, err
	}
	if expand {
		if err := s.addLastCommits(ctx, objs, rv.Commit, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FileAt returns the file at path in a revision, or EntryNotFound.
func (s *Service) FileAt(ctx context.Context, who *auth.Identity, ref RepoRef, rev, path string) (*Repo, Revision, *Entry, error) {
	// The gate is checked before the revision and the file, as on the
	// Hub: a missing file of a gated repository answers the gate.
	act := ReadContent
	if gateExempt(normPath(path)) {
		act = ReadMeta
	}
	r, rv, err := s.resolveFor(ctx, who, ref, rev, act)
	if err != nil {
		return nil, Revision{}, nil, err
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, Revision{}, nil, err
	}
	path = normPath(path)
	te, ok, err := objs.entryAt(ctx, c.Tree, path)
	if err != nil {
		return nil, Revision{}, nil, err
	}
	if !ok || !te.Mode.IsBlob() || path == "" {
		return r, rv, nil, &Error{Kind: ErrEntryNotFound, Msg: "Entry not found", Commit: rv.Commit.String()}
	}
	ents := []Entry{{Type: "file", Path: path, Mode: te.Mode, OID: te.ID}}
	if err := s.fillSizes(ctx, objs, ents); err != nil {
		return nil, Revision{}, nil, err
	}
	return r, rv, &ents[0], nil
}

// File is an open LFS object (an *os.File for the filesystem store).
type File = blob.File

// Content is how to deliver a file's bytes: Data for git blobs (small by
// construction), File for LFS content, or RedirectURL when the blob store
// serves the bytes itself.
type Content struct {
	Data        []byte
	File        File
	RedirectURL string
}

// ReadBlob returns the raw git blob of e (for an LFS file, its pointer).
func (s *Service) ReadBlob(ctx context.Context, r *Repo, e *Entry) ([]byte, error) {
	return s.objectsOf(r.ID).blobData(ctx, e.OID)
}

// OpenContent opens the content of file e of repository r. With
// redirect, a store that can hand out direct URLs does so.
func (s *Service) OpenContent(ctx context.Context, r *Repo, e *Entry, redirect bool, ttl time.Duration) (*Content, error) {
	if e.LFS == nil {
		data, err := s.ReadBlob(ctx, r, e)
		if err != nil {
			return nil, err
		}
		return &Content{Data: data}, nil
	}
	if c, ok, err := s.mirrorContent(ctx, r, e); ok { // mirror hook (issue 14): content not cached yet
		return c, err
	}
	if redirect {
		_, name := splitLast(e.Path)
		u, err := blob.RedirectURL(ctx, s.blobs, e.LFS.OID, ttl, name)
		if err != nil {
			return nil, fmt.Errorf("presign %s: %w", e.LFS.OID, err)
		}
		if u != "" {
			return &Content{RedirectURL: u}, nil
		}
	}
	f, info, err := s.blobs.Open(ctx, e.LFS.OID)
	if errors.Is(err, blob.ErrNotFound) {
		// The commit was accepted only with the object present: its
		// absence now is data loss, not a user error.
		return nil, fmt.Errorf("lfs object %s of %s/%s: %w", e.LFS.OID, r.FullName(), e.Path, errCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("open lfs object %s: %w", e.LFS.OID, err)
	}
	if info.Size != e.LFS.Size {
		f.Close()
		return nil, fmt.Errorf("lfs object %s has %d bytes, pointer says %d: %w", e.LFS.OID, info.Size, e.LFS.Size, errCorrupt)
	}
	return &Content{File: f}, nil
}

func splitLast(p string) (dir, base string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

// maxLastCommitWalk bounds the history walked to find when entries last
// changed; entries unchanged for longer get the oldest commit visited.
const maxLastCommitWalk = 5000

// addLastCommits sets LastCommit on each entry: the most recent commit on
// the first-parent chain from start where the entry's id changed.
func (s *Service) addLastCommits(ctx context.Context, objs *objects, start gitobj.ID, ents []Entry) error {
	if len(ents) == 0 {
		return nil
	}
	pending := map[int]bool{}
	for i := range ents {
		pending[i] = true
	}
	id := start
	var last *CommitSummary
	for n := 0; n < maxLastCommitWalk && len(pending) > 0; n++ {
		c, err := objs.commit(ctx, id)
		if err != nil {
			return err
		}
		sum := &CommitSummary{ID: id, Title: c.Title(), Date: c.Committer.When}
		last = sum
		parentTree := gitobj.EmptyTreeID
		var parent gitobj.ID
		if len(c.Parents) > 0 {
			parent = c.Parents[0]
			pc, err := objs.commit(ctx, parent)
			if err != nil {
				return err
			}
			parentTree = pc.Tree
		}
		for i := range pending {
			a, aok, err := objs.entryAt(ctx, c.Tree, ents[i].Path)
			if err != nil {
				return err
			}
			b, bok, err := objs.entryAt(ctx, parentTree, ents[i].Path)
			if err != nil {
				return err
			}
			if aok != bok || a.ID != b.ID || a.Mode != b.Mode {
				ents[i].LastCommit = sum
				delete(pending, i)
			}
		}
		if parent.IsZero() {
			break
		}
		id = parent
	}
	for i := range pending {
		ents[i].LastCommit = last
	}
	return nil
}

// CommitInfo is a commit in a history listing.
type CommitInfo struct {
	ID      gitobj.ID
	Parents []gitobj.ID
	Title   string
	Message string // the body after the title
	Authors []string
	Date    time.Time
}

// maxHistory bounds a history walk.
const maxHistory = 200_000

// ListCommits returns one page of the history of rev, newest first (by
// committer date, as git log), and the total number of commits.
func (s *Service) ListCommits(ctx context.Context, who *auth.Identity, ref RepoRef, rev string, offset, limit int) (*Repo, Revision, []CommitInfo, int, error) {
	r, rv, err := s.ResolveRevision(ctx, who, ref, rev)
	if err != nil {
		return nil, Revision{}, nil, 0, err
	}
	objs := s.objectsOf(r.ID)
	var out []CommitInfo
	total := 0
	seen := map[gitobj.ID]bool{rv.Commit: true}
	q := &commitHeap{}
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, Revision{}, nil, 0, err
	}
	heap.Push(q, heapItem{rv.Commit, c})
	for q.Len() > 0 && total < maxHistory {
		it := heap.Pop(q).(heapItem)
		if total >= offset && (limit <= 0 || len(out) < limit) {
			title, body := gitobj.SplitMessage(it.c.Message)
			authors := []string{it.c.Author.Name}
			out = append(out, CommitInfo{ID: it.id, Parents: it.c.Parents, Title: title, Message: body, Authors: authors, Date: it.c.Committer.When})
		}
		total++
		for _, p := range it.c.Parents {
			if seen[p] {
				continue
			}
			seen[p] = true
			pc, err := objs.commit(ctx, p)
			if err != nil {
				return nil, Revision{}, nil, 0, err
			}
			heap.Push(q, heapItem{p, pc})
		}
	}
	return r, rv, out, total, nil
}

type heapItem struct {
	id gitobj.ID
	c  *gitobj.Commit
}

type commitHeap []heapItem

func (h commitHeap) Len() int { return len(h) }
func (h commitHeap) Less(i, j int) bool {
	ti, tj := h[i].c.Committer.When, h[j].c.Committer.When
	if !ti.Equal(tj) {
		return ti.After(tj)
	}
	return h[i].id.String() > h[j].id.String()
}
func (h commitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *commitHeap) Push(x any)   { *h = append(*h, x.(heapItem)) }
func (h *commitHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// Siblings lists every file of a revision (for repo info).
// The list is cached by commit (commitcache.go): callers must not modify
// it.
func (s *Service) Siblings(ctx context.Context, r *Repo, commit gitobj.ID) ([]Entry, error) {
	if v := s.cachedView(r.ID, commit); v != nil && v.siblings != nil {
		return v.siblings, nil
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, commit)
	if err != nil {
		return nil, err
	}
	all, err := s.listEntries(ctx, objs, c.Tree, "", true, commit)
	if err != nil {
		return nil, err
	}
	files := all[:0]
	for _, e := range all {
		if e.Type == "file" {
			files = append(files, e)
		}
	}
	s.cacheSiblings(r.ID, commit, files)
	return files, nil
}

// CommitOf returns the decoded commit id of repository r.
func (s *Service) CommitOf(ctx context.Context, r *Repo, id gitobj.ID) (*gitobj.Commit, error) {
	return s.objectsOf(r.ID).commit(ctx, id)
}

// RepoInfo gathers what a repository info answer shows at a revision.
type RepoInfo struct {
	Repo     *Repo
	Revision Revision
	Commit   *gitobj.Commit
	Meta     *RepoMeta // derived metadata at that revision
	Siblings []Entry
}

// Info returns a repository's information at rev.
func (s *Service) Info(ctx context.Context, who *auth.Identity, ref RepoRef, rev string) (*RepoInfo, error) {
	r, rv, err := s.ResolveRevision(ctx, who, ref, rev)
	if err != nil {
		return nil, err
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, err
	}
	sib, err := s.Siblings(ctx, r, rv.Commit)
	if err != nil {
		return nil, err
	}
	m, err := s.metaAt(ctx, objs, r, rv.Commit)
	if err != nil {
		return nil, err
	}
	return &RepoInfo{Repo: r, Revision: rv, Commit: c, Meta: m, Siblings: sib}, nil
}

// Change is a file changed by a commit.
type Change struct {
	Path string
	Kind string // "added", "modified" or "deleted"
}

// maxChanges bounds a commit's change list.
const maxChanges = 10_000

// CommitDetail returns a commit of a repository and the files it changed
// against its first parent.
func (s *Service) CommitDetail(ctx context.Context, who *auth.Identity, ref RepoRef, rev string) (*Repo, CommitInfo, []Change, error) {
	r, rv, err := s.ResolveRevision(ctx, who, ref, rev)
	if err != nil {
		return nil, CommitInfo{}, nil, err
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, CommitInfo{}, nil, err
	}
	title, body := gitobj.SplitMessage(c.Message)
	info := CommitInfo{ID: rv.Commit, Parents: c.Parents, Title: title, Message: body, Authors: []string{c.Author.Name}, Date: c.Committer.When}
	parentTree := gitobj.EmptyTreeID
	if len(c.Parents) > 0 {
		pc, err := objs.commit(ctx, c.Parents[0])
		if err != nil {
			return nil, CommitInfo{}, nil, err
		}
		parentTree = pc.Tree
	}
	var out []Change
	err = objs.diffTrees(ctx, parentTree, c.Tree, "", func(p string, old, new *gitobj.TreeEntry) error {
		if len(out) >= maxChanges {
			return nil
		}
		kind := "modified"
		switch {
		case old == nil:
			kind = "added"
		case new == nil:
			kind = "deleted"
		}
		out = append(out, Change{Path: p, Kind: kind})
		return nil
	})
	if err != nil {
		return nil, CommitInfo{}, nil, err
	}
	return r, info, out, nil
}

// gateExempt reports whether a file of a gated repository is readable by
// everyone who may see the repository: its card and licence, which the
// request form shows (the Hub serves the root README.md and LICENSE files
// without the gate, case-sensitively).
func gateExempt(path string) bool {
	switch path {
	case "README.md", "LICENSE", "LICENSE.md", "LICENSE.txt":
		return true
	}
	return false
}
