package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Repo and RepoMeta are the store's records, re-exported as the domain's
// vocabulary so that handlers never import the store package.
type (
	Repo     = meta.Repo
	RepoMeta = meta.RepoMeta
)

// Repository types.
const (
	TypeModel   = meta.TypeModel
	TypeDataset = meta.TypeDataset
)

// GetRepo returns a repository the caller may see.
func (s *Service) GetRepo(ctx context.Context, who *auth.Identity, ref RepoRef) (*Repo, error) {
	return s.repo(ctx, who, ref)
}

// InitialFile is a file committed with a new repository.
type InitialFile struct {
	Path    string
	Content []byte
}

// CreateRepoOptions are the settings of a new repository.
type CreateRepoOptions struct {
	Private bool
	// VisibilityUnset: the request named no visibility, so an
	// organisation's default applies.
	VisibilityUnset bool
	Files           []InitialFile
}

// CreateRepo creates a repository with an initial commit on "main" that
// holds a .gitattributes like the Hub's (and any initial files).
func (s *Service) CreateRepo(ctx context.Context, who *auth.Identity, ref RepoRef, opts CreateRepoOptions) (*Repo, error) {
	if err := checkRepoRef(ref); err != nil {
		return nil, err
	}
	if err := s.checkCreate(ctx, who, ref.Namespace); err != nil {
		return nil, err
	}
	private := opts.Private
	if opts.VisibilityUnset {
		// New repositories of an organisation follow its default.
		if org, err := s.meta.UserByName(ctx, ref.Namespace); err == nil && org.IsOrg() {
			private = org.DefaultPrivate
		}
	}
	now := time.Now()
	r := &meta.Repo{PublicID: newPublicID(), Type: ref.Type, Namespace: ref.Namespace, Name: ref.Name,
		Private: private, DefaultBranch: "main", CreatedAt: now, UpdatedAt: now, CreatorID: who.User.ID}

	objs := s.objectsOf(0)
	ed := gitobj.NewEditor(objs.treeCopy, gitobj.ZeroID)
	files := append([]InitialFile{{Path: ".gitattributes", Content: []byte(DefaultGitAttributes(ref.Type))}}, opts.Files...)
	var total int64
	for _, f := range files {
		if err := gitobj.ValidatePath(f.Path); err != nil {
			return nil, invalidPath(f.Path, err)
		}
		if int64(len(f.Content)) > s.cfg.MaxRegularFile {
			return nil, errorf(ErrTooLarge, "File %s is larger than %d bytes: upload it with LFS after creating the repository", f.Path, s.cfg.MaxRegularFile)
		}
		total += int64(len(f.Content))
		b := gitobj.Object{Kind: gitobj.KindBlob, Data: f.Content}
		if err := checkFileContent(f.Path, b); err != nil {
			return nil, err
		}
		objs.add(b)
		if err := ed.Put(ctx, f.Path, gitobj.ModeFile, b.ID()); err != nil {
			return nil, errorf(ErrInvalid, "Invalid initial files: %v", err)
		}
	}
	if total > s.cfg.MaxCommitBytes {
		return nil, errorf(ErrTooLarge, "Initial files are larger than %d bytes", s.cfg.MaxCommitBytes)
	}
	root, trees, err := ed.Write()
	if err != nil {
		return nil, fmt.Errorf("create repo %s: %w", ref.FullName(), err)
	}
	objs.add(trees...)
	// The creator authors the first commit, as on the Hub.
	sig := signatureOf(who, now)
	c := gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: root, Author: sig, Committer: sig, Message: "initial commit\n"}).Encode()}
	objs.add(c)
	derived, err := s.derive(ctx, objs, r, c.ID())
	if err != nil {
		return nil, fmt.Errorf("create repo %s: %w", ref.FullName(), err)
	}
	jobs, err := s.scanJobs(ctx, objs, gitobj.EmptyTreeID, root)
	if err != nil {
		return nil, err
	}
	if err := s.checkScanPolicy(ctx, objs, jobs); err != nil {
		return nil, err
	}
	if jobs, err = s.pendingScans(ctx, jobs); err != nil {
		return nil, err
	}
	defer s.wrote()
	err = s.meta.InTx(ctx, func(tx meta.Tx) error {
		if err := tx.CreateRepo(ctx, r); err != nil {
			return err
		}
		all := make([]gitobj.Object, 0, len(objs.pending))
		for _, o := range objs.pending {
			all = append(all, o)
		}
		if err := tx.PutObjects(ctx, r.ID, all); err != nil {
			return err
		}
		if err := tx.UpdateRef(ctx, r.ID, "refs/heads/main", gitobj.ZeroID, c.ID()); err != nil {
			return err
		}
		for i := range jobs {
			jobs[i].RepoID = r.ID
		}
		if err := tx.EnqueueScans(ctx, jobs); err != nil {
			return err
		}
		return tx.PutRepoMeta(ctx, r.ID, derived)
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, errorf(ErrConflict, "You already created this %s repo", ref.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("create repo %s: %w", ref.FullName(), err)
	}
	s.lg.InfoContext(ctx, "repo created", "repo", ref.FullName(), "type", ref.Type, "user", who.User.Name)
	return r, nil
}

// DeleteRepo deletes a repository and its history. LFS content stays in
// the blob store until garbage collection, since other repositories may
// reference the same bytes.
func (s *Service) DeleteRepo(ctx context.Context, who *auth.Identity, ref RepoRef) error {
	r, err := s.managedRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	defer s.wrote()
	if err := s.meta.DeleteRepo(ctx, r.ID); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return repoNotFound()
		}
		return fmt.Errorf("delete repo %s: %w", ref.FullName(), err)
	}
	s.lg.InfoContext(ctx, "repo deleted", "repo", ref.FullName(), "type", ref.Type, "user", who.User.Name)
	s.audit(ctx, who, "repo.delete", r.Namespace, ref.Type+":"+ref.FullName(), nil)
	return nil
}

// MoveRepo renames a repository (possibly to another namespace the caller
// owns). The old name redirects to the new one.
func (s *Service) MoveRepo(ctx context.Context, who *auth.Identity, from, to RepoRef) error {
	if to.Type != from.Type {
		return errorf(ErrInvalid, "A repository cannot change type")
	}
	if err := checkRepoRef(to); err != nil {
		return err
	}
	r, err := s.managedRepo(ctx, who, from)
	if err != nil {
		return err
	}
	if err := s.checkMove(ctx, who, r, to); err != nil {
		return err
	}
	defer s.wrote()
	err = s.meta.RenameRepo(ctx, r.ID, to.Namespace, to.Name)
	if errors.Is(err, meta.ErrConflict) {
		return errorf(ErrConflict, "A %s repository called %s already exists", to.Type, to.FullName())
	}
	if err != nil {
		return fmt.Errorf("move repo %s: %w", from.FullName(), err)
	}
	s.lg.InfoContext(ctx, "repo moved", "from", from.FullName(), "to", to.FullName(), "user", who.User.Name)
	s.audit(ctx, who, "repo.move", r.Namespace, to.Type+":"+from.FullName(), map[string]any{"to": to.FullName()})
	if !strings.EqualFold(r.Namespace, to.Namespace) {
		s.audit(ctx, who, "repo.move", to.Namespace, to.Type+":"+from.FullName(), map[string]any{"to": to.FullName()})
	}
	return nil
}

// RepoSettings are the changeable settings; nil fields stay as they are.
type RepoSettings struct {
	Private        *bool
	Gated          *string // "", "auto" or "manual"
	AllowForcePush *bool
}

// UpdateSettings changes a repository's settings.
func (s *Service) UpdateSettings(ctx context.Context, who *auth.Identity, ref RepoRef, set RepoSettings) (*Repo, error) {
	r, err := s.managedRepo(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	if set.Private != nil {
		r.Private = *set.Private
	}
	if set.Gated != nil {
		switch *set.Gated {
		case "", "auto", "manual":
			r.Gated = *set.Gated
		default:
			return nil, errorf(ErrInvalid, "gated must be false, \"auto\" or \"manual\"")
		}
	}
	if set.AllowForcePush != nil {
		r.AllowForcePush = *set.AllowForcePush
	}
	r.UpdatedAt = time.Now()
	defer s.wrote()
	if err := s.meta.UpdateRepo(ctx, r); err != nil {
		return nil, fmt.Errorf("update settings of %s: %w", ref.FullName(), err)
	}
	return r, nil
}

// ListQuery selects repositories for a listing.
type ListQuery struct {
	Type        string
	Author      string
	Search      string
	Tags        []string
	PipelineTag string
	// MinParams, MaxParams bound the parameter count (0 = none).
	MinParams, MaxParams int64
	Gated                *bool
	Sort                 string // meta Sort* constants
	Desc                 bool
	Limit                int
	After                *meta.Cursor
}

// Listing is one row of a listing.
type Listing = meta.Listing

// Cursor is a listing position.
type Cursor = meta.Cursor

// Sort orders.
const (
	SortLastModified = meta.SortLastModified
	SortCreatedAt    = meta.SortCreatedAt
	SortDownloads    = meta.SortDownloads
	SortLikes        = meta.SortLikes
	SortTrending     = meta.SortTrending
	SortID           = meta.SortID
)

// ListRepos lists the repositories the caller may see. more reports
// whether another page follows (use [meta.CursorOf] on the last row).
func (s *Service) ListRepos(ctx context.Context, who *auth.Identity, q ListQuery) (rows []Listing, more bool, err error) {
	if rows, more, ok, err := s.listFromIndex(ctx, who, q); ok || err != nil {
		return rows, more, err
	}
	mq := meta.RepoQuery{Type: q.Type, Author: q.Author, Search: q.Search, Tags: q.Tags, PipelineTag: q.PipelineTag,
		MinParams: q.MinParams, MaxParams: q.MaxParams, Gated: q.Gated,
		Sort: q.Sort, Desc: q.Desc, Limit: q.Limit + 1, After: q.After}
	if mq.ViewerAll, mq.ViewerNamespaces, err = s.viewerNamespaces(ctx, who); err != nil {
		return nil, false, err
	}
	rows, err = s.meta.ListRepos(ctx, mq)
	if err != nil {
		return nil, false, fmt.Errorf("list repos: %w", err)
	}
	if len(rows) > q.Limit {
		return rows[:q.Limit], true, nil
	}
	return rows, false, nil
}

// CursorOf returns the cursor continuing after row l.
func CursorOf(sort string, l *Listing) Cursor { return meta.CursorOf(sort, l) }
