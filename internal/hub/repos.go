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

func isOwner(who *auth.Identity, namespace string) bool {
	return who != nil && (who.User.IsAdmin || strings.EqualFold(who.User.Name, namespace))
}

func canRead(who *auth.Identity, r *meta.Repo) bool {
	return !r.Private || isOwner(who, r.Namespace)
}

// requireWrite checks that who may write to r, which who can already see.
func requireWrite(who *auth.Identity, r *meta.Repo) error {
	if who == nil {
		return errorf(ErrUnauthenticated, "You must be authenticated to write to %s", r.FullName())
	}
	if !isOwner(who, r.Namespace) {
		return errorf(ErrForbidden, "You don't have the rights to write to %s", r.FullName())
	}
	if !who.CanWrite() {
		return errorf(ErrForbidden, "Your token is read-only: use a write token to change %s", r.FullName())
	}
	return nil
}

// repo finds a repository the caller may see. A renamed repository yields
// a *MovedError (when the caller may see the target).
func (s *Service) repo(ctx context.Context, who *auth.Identity, ref RepoRef) (*meta.Repo, error) {
	if ref.Type != TypeModel && ref.Type != TypeDataset {
		return nil, repoNotFound()
	}
	r, err := s.meta.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name)
	if errors.Is(err, meta.ErrNotFound) {
		id, rerr := s.meta.Redirect(ctx, ref.Type, ref.Namespace, ref.Name)
		if rerr != nil {
			if errors.Is(rerr, meta.ErrNotFound) {
				return nil, repoNotFound()
			}
			return nil, rerr
		}
		to, rerr := s.meta.RepoByID(ctx, id)
		if rerr != nil || !canRead(who, to) {
			return nil, repoNotFound()
		}
		return nil, &MovedError{Msg: "Repository moved to " + to.FullName(), Namespace: to.Namespace, Name: to.Name}
	}
	if err != nil {
		return nil, fmt.Errorf("find repo %s: %w", ref.FullName(), err)
	}
	if !canRead(who, r) {
		return nil, repoNotFound()
	}
	return r, nil
}

// writableRepo finds a repository the caller may write to.
func (s *Service) writableRepo(ctx context.Context, who *auth.Identity, ref RepoRef) (*meta.Repo, error) {
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		if errors.Is(err, ErrMoved) {
			// Writes do not follow renames: the old name is gone.
			return nil, repoNotFound()
		}
		return nil, err
	}
	if err := requireWrite(who, r); err != nil {
		return nil, err
	}
	return r, nil
}

// GetRepo returns a repository the caller may see.
func (s *Service) GetRepo(ctx context.Context, who *auth.Identity, ref RepoRef) (*Repo, error) {
	return s.repo(ctx, who, ref)
}

// CanWrite reports whether who may write to r.
func CanWrite(who *auth.Identity, r *Repo) bool { return requireWrite(who, r) == nil }

// InitialFile is a file committed with a new repository.
type InitialFile struct {
	Path    string
	Content []byte
}

// CreateRepoOptions are the settings of a new repository.
type CreateRepoOptions struct {
	Private bool
	Files   []InitialFile
}

func checkNamespaceWrite(who *auth.Identity, namespace string) error {
	if who == nil {
		return errorf(ErrUnauthenticated, "You must be authenticated to create a repository")
	}
	if !who.CanWrite() {
		return errorf(ErrForbidden, "Your token is read-only: use a write token to create a repository")
	}
	if !isOwner(who, namespace) {
		return errorf(ErrForbidden, "You don't have the rights to create a repository under the namespace %q", namespace)
	}
	return nil
}

// CreateRepo creates a repository with an initial commit on "main" that
// holds a .gitattributes like the Hub's (and any initial files).
func (s *Service) CreateRepo(ctx context.Context, who *auth.Identity, ref RepoRef, opts CreateRepoOptions) (*Repo, error) {
	if err := checkRepoRef(ref); err != nil {
		return nil, err
	}
	if err := checkNamespaceWrite(who, ref.Namespace); err != nil {
		return nil, err
	}
	now := time.Now()
	r := &meta.Repo{PublicID: newPublicID(), Type: ref.Type, Namespace: ref.Namespace, Name: ref.Name,
		Private: opts.Private, DefaultBranch: "main", CreatedAt: now, UpdatedAt: now}

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
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	if err := s.meta.DeleteRepo(ctx, r.ID); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return repoNotFound()
		}
		return fmt.Errorf("delete repo %s: %w", ref.FullName(), err)
	}
	s.lg.InfoContext(ctx, "repo deleted", "repo", ref.FullName(), "type", ref.Type, "user", who.User.Name)
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
	r, err := s.writableRepo(ctx, who, from)
	if err != nil {
		return err
	}
	if err := checkNamespaceWrite(who, to.Namespace); err != nil {
		return err
	}
	err = s.meta.RenameRepo(ctx, r.ID, to.Namespace, to.Name)
	if errors.Is(err, meta.ErrConflict) {
		return errorf(ErrConflict, "A %s repository called %s already exists", to.Type, to.FullName())
	}
	if err != nil {
		return fmt.Errorf("move repo %s: %w", from.FullName(), err)
	}
	s.lg.InfoContext(ctx, "repo moved", "from", from.FullName(), "to", to.FullName(), "user", who.User.Name)
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
	r, err := s.writableRepo(ctx, who, ref)
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
	if who != nil {
		mq.ViewerAll = who.User.IsAdmin
		mq.ViewerNamespaces = []string{who.User.Name}
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
