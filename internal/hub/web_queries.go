package hub

import (
	"context"
	"fmt"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// CountRepos counts the repositories a listing query matches that the
// caller may see, ignoring Limit and After (for the web UI's pager).
func (s *Service) CountRepos(ctx context.Context, who *auth.Identity, q ListQuery) (int64, error) {
	if n, ok, err := s.countFromIndex(ctx, who, q); ok || err != nil {
		return n, err
	}
	mq := meta.RepoQuery{Type: q.Type, Author: q.Author, Search: q.Search, Tags: q.Tags, PipelineTag: q.PipelineTag,
		MinParams: q.MinParams, MaxParams: q.MaxParams, Gated: q.Gated}
	var err error
	if mq.ViewerAll, mq.ViewerNamespaces, err = s.viewerNamespaces(ctx, who); err != nil {
		return 0, err
	}
	n, err := s.meta.CountRepos(ctx, mq)
	if err != nil {
		return 0, fmt.Errorf("count repos: %w", err)
	}
	return n, nil
}

// RepoHome is what a repository's main page shows: [RepoInfo] at the
// default branch without the list of every file (whose sizes cost a
// metadata lookup per file), the root folder's entries instead, and the
// number of files.
type RepoHome struct {
	Repo     *Repo
	Revision Revision
	Commit   *gitobj.Commit
	Meta     *RepoMeta
	Root     []Entry // the root folder, with sizes
	Files    int     // files in the whole tree
}

// GetRepoHome returns a repository's home at its default branch. Its
// cost does not grow with the number of files beyond reading the trees.
func (s *Service) GetRepoHome(ctx context.Context, who *auth.Identity, ref RepoRef) (*RepoHome, error) {
	r, rv, err := s.ResolveRevision(ctx, who, ref, "")
	if err != nil {
		return nil, err
	}
	objs := s.objectsOf(r.ID)
	c, err := objs.commit(ctx, rv.Commit)
	if err != nil {
		return nil, err
	}
	root, err := s.listEntries(ctx, objs, c.Tree, "", false, rv.Commit)
	if err != nil {
		return nil, err
	}
	n := 0
	var count func(id gitobj.ID) error
	count = func(id gitobj.ID) error {
		ents, err := objs.tree(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range ents {
			switch {
			case e.Mode.IsTree():
				if err := count(e.ID); err != nil {
					return err
				}
			case e.Mode.IsBlob():
				n++
			}
		}
		return nil
	}
	if err := count(c.Tree); err != nil {
		return nil, err
	}
	m, err := s.metaAt(ctx, objs, r, rv.Commit)
	if err != nil {
		return nil, err
	}
	return &RepoHome{Repo: r, Revision: rv, Commit: c, Meta: m, Root: root, Files: n}, nil
}
