package hub

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/access"
	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Ref name prefixes.
const (
	branchPrefix  = "refs/heads/"
	tagPrefix     = "refs/tags/"
	prPrefix      = "refs/pr/"
	convertPrefix = "refs/convert/"
)

// Revision is a resolved revision.
type Revision struct {
	Commit gitobj.ID
	// Ref is the full ref the revision named ("refs/heads/main"), or ""
	// when it was a commit id.
	Ref string
}

// Branch returns the branch name if the revision named a branch.
func (r Revision) Branch() (string, bool) {
	return strings.CutPrefix(r.Ref, branchPrefix)
}

// resolve turns a revision (branch, tag, full ref, "HEAD" or full commit
// id) into a commit of repository r.
func (s *Service) resolve(ctx context.Context, r *meta.Repo, rev string) (Revision, error) {
	return s.resolveHead(ctx, r, branchHead{}, rev)
}

// resolveHead is resolve with the default branch's head h as read with
// r's row, which answers for the default branch without another query.
func (s *Service) resolveHead(ctx context.Context, r *meta.Repo, h branchHead, rev string) (Revision, error) {
	if err := s.bindMirror(ctx, r, rev); err != nil { // mirror hook (issue 14)
		return Revision{}, err
	}
	if s.Mirror != nil {
		h = branchHead{} // a binding may have just moved the branch: read after it
	}
	if rev == "" || rev == "HEAD" {
		rev = r.DefaultBranch
	}
	if gitobj.IsFullHexID(rev) {
		id, _ := gitobj.ParseID(strings.ToLower(rev))
		st, err := s.objectsOf(r.ID).statObjects(ctx, []gitobj.ID{id}) // cached: objects are immutable
		if err != nil {
			return Revision{}, fmt.Errorf("resolve %s: %w", rev, err)
		}
		if info, ok := st[id]; ok && info.Kind == gitobj.KindCommit {
			return Revision{Commit: id}, nil
		}
		return Revision{}, revisionNotFound(rev)
	}
	var candidates []string
	if strings.HasPrefix(rev, "refs/") {
		candidates = []string{rev}
	} else {
		candidates = []string{branchPrefix + rev, tagPrefix + rev}
	}
	for _, name := range candidates {
		var target gitobj.ID
		var err error
		if h.ok && name == branchPrefix+r.DefaultBranch {
			if target = h.id; target.IsZero() {
				continue
			}
		} else if target, err = s.readRef(ctx, r.ID, name, h.read); errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return Revision{}, fmt.Errorf("resolve %s: %w", rev, err)
		}
		c, err := s.peel(ctx, r.ID, target)
		if err != nil {
			return Revision{}, err
		}
		return Revision{Commit: c, Ref: name}, nil
	}
	if isAbbrevID(rev) {
		// Like git rev-parse: a ref of that name wins (above), then exactly
		// one commit must carry the prefix; two or more is ambiguous and
		// answered as not found rather than guessed.
		ids, err := s.meta.ObjectsByPrefix(ctx, r.ID, gitobj.KindCommit, strings.ToLower(rev), 2)
		if err != nil {
			return Revision{}, fmt.Errorf("resolve %s: %w", rev, err)
		}
		if len(ids) == 1 {
			return Revision{Commit: ids[0]}, nil
		}
	}
	return Revision{}, revisionNotFound(rev)
}

// isAbbrevID reports whether rev is an abbreviated commit id: 7 to 39 hex
// digits (git's default abbreviation is 7).
func isAbbrevID(rev string) bool {
	if len(rev) < 7 || len(rev) >= 40 {
		return false
	}
	for i := 0; i < len(rev); i++ {
		c := rev[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// peel follows annotated tags to the commit they name.
func (s *Service) peel(ctx context.Context, repoID int64, id gitobj.ID) (gitobj.ID, error) {
	objs := s.objectsOf(repoID)
	for range 10 {
		ob, err := objs.get(ctx, id)
		if err != nil {
			return gitobj.ZeroID, err
		}
		switch ob.Kind {
		case gitobj.KindCommit:
			return id, nil
		case gitobj.KindTag:
			t, err := gitobj.DecodeTag(ob.Data)
			if err != nil {
				return gitobj.ZeroID, fmt.Errorf("peel %s: %w", id, err)
			}
			id = t.Object
		default:
			return gitobj.ZeroID, errorf(ErrInvalid, "ref points at a %s, not a commit", ob.Kind)
		}
	}
	return gitobj.ZeroID, fmt.Errorf("peel %s: tag chain too long: %w", id, errCorrupt)
}

// ResolveRevision resolves rev in a repository the caller may see.
func (s *Service) ResolveRevision(ctx context.Context, who *auth.Identity, ref RepoRef, rev string) (*Repo, Revision, error) {
	return s.resolveFor(ctx, who, ref, rev, access.ReadMeta)
}

// resolveFor finds a repository, authorises a on it and resolves rev in
// it: one query when rev is the default branch.
func (s *Service) resolveFor(ctx context.Context, who *auth.Identity, ref RepoRef, rev string, a access.Action) (*Repo, Revision, error) {
	r, h, err := s.repoHeadFor(ctx, who, ref, a)
	if err != nil {
		return nil, Revision{}, err
	}
	rv, err := s.resolveHead(ctx, r, h, rev)
	return r, rv, err
}

// RefInfo is one ref in a [Refs] listing.
type RefInfo struct {
	Name         string // short name ("main", "v1", "1" for refs/pr/1)
	Ref          string // full name
	TargetCommit gitobj.ID
}

// Refs is a repository's refs by kind.
type Refs struct {
	Branches, Tags, Converts, PullRequests []RefInfo
}

// ListRefs returns the refs of a repository, tags peeled to commits.
func (s *Service) ListRefs(ctx context.Context, who *auth.Identity, ref RepoRef) (*Refs, error) {
	r, err := s.repo(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	s.rebindMirror(ctx, r) // mirror hook (issue 14)
	all, err := s.meta.ListRefs(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("list refs of %s: %w", ref.FullName(), err)
	}
	out := &Refs{Branches: []RefInfo{}, Tags: []RefInfo{}, Converts: []RefInfo{}, PullRequests: []RefInfo{}}
	for _, rf := range all {
		target, err := s.peel(ctx, r.ID, rf.Target)
		if err != nil {
			return nil, err
		}
		info := RefInfo{Ref: rf.Name, TargetCommit: target}
		switch {
		case strings.HasPrefix(rf.Name, branchPrefix):
			info.Name = strings.TrimPrefix(rf.Name, branchPrefix)
			out.Branches = append(out.Branches, info)
		case strings.HasPrefix(rf.Name, tagPrefix):
			info.Name = strings.TrimPrefix(rf.Name, tagPrefix)
			out.Tags = append(out.Tags, info)
		case strings.HasPrefix(rf.Name, convertPrefix):
			info.Name = strings.TrimPrefix(rf.Name, convertPrefix)
			out.Converts = append(out.Converts, info)
		case strings.HasPrefix(rf.Name, prPrefix):
			info.Name = strings.TrimPrefix(rf.Name, prPrefix)
			out.PullRequests = append(out.PullRequests, info)
		}
	}
	sort.SliceStable(out.PullRequests, func(i, j int) bool {
		a, _ := strconv.Atoi(out.PullRequests[i].Name)
		b, _ := strconv.Atoi(out.PullRequests[j].Name)
		return a < b
	})
	return out, nil
}

// BranchOptions tune CreateBranch.
type BranchOptions struct {
	StartingPoint string // revision; "" = default branch
	Empty         bool   // start from an empty commit instead
	Overwrite     bool   // move the branch if it exists
}

// CreateBranch creates a branch.
func (s *Service) CreateBranch(ctx context.Context, who *auth.Identity, ref RepoRef, branch string, opts BranchOptions) (err error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	defer s.goneRepo(ctx, r.ID, &err)
	if !ValidRefName(branch) {
		return errorf(ErrInvalid, "Invalid branch name %q", branch)
	}
	var target gitobj.ID
	if opts.Empty {
		now := time.Now()
		sig := signatureOf(who, now)
		c := gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: gitobj.EmptyTreeID, Author: sig, Committer: sig, Message: "initial commit\n"}).Encode()}
		if err := s.meta.PutObjects(ctx, r.ID, []gitobj.Object{{Kind: gitobj.KindTree}, c}); err != nil {
			return fmt.Errorf("create branch %s: %w", branch, err)
		}
		target = c.ID()
	} else {
		rv, err := s.resolve(ctx, r, opts.StartingPoint)
		if err != nil {
			return err
		}
		target = rv.Commit
	}
	name := branchPrefix + branch
	if err := s.checkRefNamespace(ctx, r.ID, name); err != nil {
		return err
	}
	err = s.meta.UpdateRef(ctx, r.ID, name, gitobj.ZeroID, target)
	if errors.Is(err, meta.ErrConflict) && opts.Overwrite {
		cur, gerr := s.meta.GetRef(ctx, r.ID, name)
		if gerr == nil {
			err = s.meta.UpdateRef(ctx, r.ID, name, cur, target)
		}
	}
	if errors.Is(err, meta.ErrConflict) {
		return errorf(ErrConflict, "Reference %s already exists", name)
	}
	if err != nil {
		return fmt.Errorf("create branch %s: %w", branch, err)
	}
	return s.touch(ctx, r)
}

// checkRefNamespace refuses a ref that git could not store next to the
// existing ones: "a" and "a/b" cannot both exist.
func (s *Service) checkRefNamespace(ctx context.Context, repoID int64, name string) error {
	refs, err := s.meta.ListRefs(ctx, repoID)
	if err != nil {
		return fmt.Errorf("list refs: %w", err)
	}
	for _, rf := range refs {
		if strings.HasPrefix(rf.Name, name+"/") || strings.HasPrefix(name, rf.Name+"/") {
			return errorf(ErrConflict, "Reference %s conflicts with existing %s", name, rf.Name)
		}
	}
	return nil
}

func (s *Service) touch(ctx context.Context, r *meta.Repo) error {
	r.UpdatedAt = time.Now()
	defer s.wrote()
	if err := s.meta.UpdateRepo(ctx, r); err != nil {
		return fmt.Errorf("update repo %s: %w", r.FullName(), err)
	}
	return nil
}

// DeleteBranch deletes a branch other than the default one.
func (s *Service) DeleteBranch(ctx context.Context, who *auth.Identity, ref RepoRef, branch string) (err error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	defer s.goneRepo(ctx, r.ID, &err)
	if branch == r.DefaultBranch {
		return errorf(ErrForbidden, "Cannot delete %s%s", branchPrefix, branch)
	}
	return s.deleteRef(ctx, r, branchPrefix+branch, "branch "+branch)
}

func (s *Service) deleteRef(ctx context.Context, r *meta.Repo, name, what string) error {
	for range 10 {
		cur, err := s.meta.GetRef(ctx, r.ID, name)
		if errors.Is(err, meta.ErrNotFound) {
			return revisionNotFound(strings.TrimPrefix(strings.TrimPrefix(name, branchPrefix), tagPrefix))
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", what, err)
		}
		err = s.meta.UpdateRef(ctx, r.ID, name, cur, gitobj.ZeroID)
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", what, err)
		}
		return s.touch(ctx, r)
	}
	return errorf(ErrConflict, "Could not delete %s: it keeps changing", what)
}

// CreateTag tags revision rev. With a message the tag is an annotated
// tag object (as `git tag -a`), otherwise a lightweight tag.
func (s *Service) CreateTag(ctx context.Context, who *auth.Identity, ref RepoRef, rev, tag, message string) (err error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	defer s.goneRepo(ctx, r.ID, &err)
	// The revision first, as on the Hub: a missing revision is a 404 even
	// when the tag name is also bad.
	rv, err := s.resolve(ctx, r, rev)
	if err != nil {
		return err
	}
	if !ValidRefName(tag) {
		return errorf(ErrInvalid, "Invalid tag name %q", tag)
	}
	target := rv.Commit
	if message != "" {
		if !strings.HasSuffix(message, "\n") {
			message += "\n"
		}
		t := gitobj.Object{Kind: gitobj.KindTag, Data: (&gitobj.Tag{Object: rv.Commit, Type: gitobj.KindCommit, Name: tag,
			Tagger: signatureOf(who, time.Now()), Message: message}).Encode()}
		if err := s.meta.PutObjects(ctx, r.ID, []gitobj.Object{t}); err != nil {
			return fmt.Errorf("create tag %s: %w", tag, err)
		}
		target = t.ID()
	}
	name := tagPrefix + tag
	if err := s.checkRefNamespace(ctx, r.ID, name); err != nil {
		return err
	}
	err = s.meta.UpdateRef(ctx, r.ID, name, gitobj.ZeroID, target)
	if errors.Is(err, meta.ErrConflict) {
		return errorf(ErrConflict, "Reference %s already exists", name)
	}
	if err != nil {
		return fmt.Errorf("create tag %s: %w", tag, err)
	}
	return s.touch(ctx, r)
}

// DeleteTag deletes a tag.
func (s *Service) DeleteTag(ctx context.Context, who *auth.Identity, ref RepoRef, tag string) (err error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return err
	}
	defer s.goneRepo(ctx, r.ID, &err)
	return s.deleteRef(ctx, r, tagPrefix+tag, "tag "+tag)
}

// signatureOf is the git identity of a user.
func signatureOf(who *auth.Identity, when time.Time) gitobj.Signature {
	email := who.User.Email
	if email == "" {
		email = who.User.Name + "@users.agora.invalid"
	}
	// The user name, not the full name, so that a commit's author maps back
	// to an account (the API's authors[].user).
	return gitobj.Signature{Name: who.User.Name, Email: email, When: when.UTC()}
}

var prNumber = regexp.MustCompile(`^refs/pr/(\d+)$`)
