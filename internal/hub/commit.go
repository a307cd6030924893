package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// OpKind is the kind of a commit operation.
type OpKind int

// Commit operations, as the NDJSON commit body names them.
const (
	OpFile         OpKind = iota + 1 // "file": regular content
	OpLFSFile                        // "lfsFile": an uploaded LFS object
	OpDeleteFile                     // "deletedFile"
	OpDeleteFolder                   // "deletedFolder"
)

// CommitOp is one operation of a commit.
type CommitOp struct {
	Kind    OpKind
	Path    string
	Content []byte // OpFile
	OID     string // OpLFSFile: SHA-256
	Size    int64  // OpLFSFile: declared size, or -1 to take the stored one
	// Staged is the blob of an OpFile a [Stager] stored already; Content
	// is then nil (or kept, for the root README.md).
	Staged gitobj.ID
}

// CommitRequest is an atomic set of operations on a branch.
type CommitRequest struct {
	Revision     string // the branch (or, with CreatePR, any revision)
	Summary      string
	Description  string
	ParentCommit string // if set, the branch head must be this commit (prefix)
	CreatePR     bool
	Ops          []CommitOp
}

// CommitResult is what a commit produced.
type CommitResult struct {
	Repo     *Repo
	Commit   gitobj.ID
	PRNumber int // >0 when the commit opened refs/pr/N
}

// maxCommitAttempts bounds the retries of a commit that keeps losing the
// compare-and-swap to other committers.
const maxCommitAttempts = 50

type preparedOp struct {
	CommitOp
	blob gitobj.Object // OpFile and OpLFSFile: the blob to put, unless staged
}

// blobID is the blob an OpFile or OpLFSFile puts at its path.
func (p *preparedOp) blobID() gitobj.ID {
	if !p.Staged.IsZero() {
		return p.Staged
	}
	return p.blob.ID()
}

// Commit applies all operations of req or none. Without ParentCommit,
// operations are applied to the current head, retrying when another
// commit lands first, so that concurrent committers never lose each
// other's changes. With ParentCommit, a moved head is ErrStaleParent.
func (s *Service) Commit(ctx context.Context, who *auth.Identity, ref RepoRef, req CommitRequest) (_ *CommitResult, err error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	defer s.goneRepo(ctx, r.ID, &err)
	ops, err := s.prepareOps(ctx, r, req.Ops)
	if err != nil {
		return nil, err
	}
	// The Hub checks a README's metadata on every commit that writes it,
	// on any branch or pull request, with the rules of /api/validate-yaml.
	if readme, ok := committedReadme(req.Ops); ok {
		if err := checkCardMetadata(r.Type, readme); err != nil {
			return nil, err
		}
	}
	if req.ParentCommit != "" {
		p := strings.ToLower(req.ParentCommit)
		if len(p) < 4 || len(p) > 40 || strings.Trim(p, "0123456789abcdef") != "" {
			return nil, errorf(ErrInvalid, "Invalid parentCommit %q", req.ParentCommit)
		}
		req.ParentCommit = p
	}
	summary := strings.TrimSpace(req.Summary)
	if summary == "" {
		summary = "Upload files with Agora"
	}
	msg := summary + "\n"
	if d := strings.TrimSpace(req.Description); d != "" {
		msg += "\n" + d + "\n"
	}
	if err := checkCommitMessage(msg); err != nil {
		return nil, err
	}
	if req.CreatePR {
		return s.commitPR(ctx, who, r, req, ops, msg)
	}
	if gitobj.IsFullHexID(req.Revision) {
		// No branch has such a name (ValidRefName): a commit id, which
		// commits cannot move, whether or not it exists.
		return nil, errorf(ErrInvalid, "Commits can only be made to a branch, not to commit %s", req.Revision)
	}
	refName, ok := commitTarget(req.Revision)
	if !ok {
		return nil, revisionNotFound(req.Revision)
	}
	unlock := s.commitLocks.lock(strconv.FormatInt(r.ID, 10) + "\x00" + refName)
	defer unlock()
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		head, err := s.meta.GetRef(ctx, r.ID, refName)
		if errors.Is(err, meta.ErrNotFound) {
			if gitobj.IsFullHexID(req.Revision) || isAbbrevID(req.Revision) {
				return nil, errorf(ErrInvalid, "Commits can only be made to a branch, not to commit %s", req.Revision)
			}
			if _, terr := s.meta.GetRef(ctx, r.ID, tagPrefix+req.Revision); terr == nil {
				return nil, errorf(ErrInvalid, "Commits can only be made to a branch, not to tag %s", req.Revision)
			}
			return nil, revisionNotFound(req.Revision)
		}
		if err != nil {
			return nil, fmt.Errorf("commit: read %s: %w", refName, err)
		}
		if req.ParentCommit != "" && !strings.HasPrefix(head.String(), req.ParentCommit) {
			return nil, &Error{Kind: ErrStaleParent, Msg: staleParentMsg, Commit: head.String()}
		}
		id, err := s.tryCommit(ctx, who, r, refName, head, head, ops, msg, refName == branchPrefix+r.DefaultBranch)
		if errors.Is(err, meta.ErrConflict) {
			if req.ParentCommit != "" {
				return nil, &Error{Kind: ErrStaleParent, Msg: staleParentMsg}
			}
			// Lost the race to another replica or process: back off a
			// little and rebuild on the new head.
			time.Sleep(time.Duration(rand.IntN(5*(attempt+1))) * time.Millisecond)
			continue
		}
		if err != nil {
			return nil, err
		}
		return &CommitResult{Repo: r, Commit: id}, nil
	}
	return nil, errorf(ErrConflict, "The branch %s is changing too fast: try again", req.Revision)
}

// staleParentMsg is the Hub's word-for-word answer to a commit whose
// parentCommit is no longer the head (scripts match on it).
const staleParentMsg = "The branch was updated since you opened this page. Please refresh and try again."

// commitTarget is the ref a commit to revision rev moves: a branch (by
// name or as refs/heads/…) or an existing pull request's refs/pr/N, which
// is how clients update a PR (upload_file(revision="refs/pr/1")).
func commitTarget(rev string) (string, bool) {
	if prNumber.MatchString(rev) {
		return rev, true
	}
	if b, ok := strings.CutPrefix(rev, branchPrefix); ok {
		rev = b
	}
	if !ValidRefName(rev) {
		return "", false
	}
	return branchPrefix + rev, true
}

// commitPR commits on top of branch req.Revision into a new refs/pr/N. A
// pull request's base is a branch, as on the Hub: a commit id, tag or
// another PR is not found.
func (s *Service) commitPR(ctx context.Context, who *auth.Identity, r *meta.Repo, req CommitRequest, ops []preparedOp, msg string) (*CommitResult, error) {
	base, err := s.resolve(ctx, r, req.Revision)
	if err != nil {
		return nil, err
	}
	if _, isBranch := base.Branch(); !isBranch {
		return nil, revisionNotFound(req.Revision)
	}
	if req.ParentCommit != "" && !strings.HasPrefix(base.Commit.String(), req.ParentCommit) {
		return nil, &Error{Kind: ErrStaleParent, Msg: staleParentMsg}
	}
	for attempt := 0; attempt < maxCommitAttempts; attempt++ {
		refs, err := s.meta.ListRefs(ctx, r.ID)
		if err != nil {
			return nil, fmt.Errorf("commit: list refs: %w", err)
		}
		n := 1
		for _, rf := range refs {
			if m := prNumber.FindStringSubmatch(rf.Name); m != nil {
				if v, _ := strconv.Atoi(m[1]); v >= n {
					n = v + 1
				}
			}
		}
		id, err := s.tryCommit(ctx, who, r, prPrefix+strconv.Itoa(n), gitobj.ZeroID, base.Commit, ops, msg, false)
		if errors.Is(err, meta.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &CommitResult{Repo: r, Commit: id, PRNumber: n}, nil
	}
	return nil, errorf(ErrConflict, "Could not allocate a pull request number: try again")
}

// prepareOps validates operations and builds their blobs.
func (s *Service) prepareOps(ctx context.Context, r *meta.Repo, in []CommitOp) ([]preparedOp, error) {
	if len(in) == 0 {
		return nil, errorf(ErrInvalid, "A commit needs at least one operation")
	}
	var total int64
	out := make([]preparedOp, 0, len(in))
	if err := s.checkStaged(ctx, r, in); err != nil {
		return nil, err
	}
	for _, op := range in {
		p := preparedOp{CommitOp: op}
		if op.Kind == OpDeleteFolder {
			p.Path = strings.TrimSuffix(op.Path, "/")
		}
		if err := gitobj.ValidatePath(p.Path); err != nil {
			return nil, invalidPath(op.Path, err)
		}
		switch op.Kind {
		case OpFile:
			if !op.Staged.IsZero() {
				break // checked, counted and stored by the Stager
			}
			if int64(len(op.Content)) > s.cfg.MaxRegularFile {
				return nil, errorf(ErrTooLarge, "File %s is %d bytes: files larger than %d bytes must be uploaded with LFS", op.Path, len(op.Content), s.cfg.MaxRegularFile)
			}
			total += int64(len(op.Content))
			if total > s.cfg.MaxCommitBytes {
				return nil, errorf(ErrTooLarge, "The regular files of this commit exceed %d bytes", s.cfg.MaxCommitBytes)
			}
			p.blob = gitobj.Object{Kind: gitobj.KindBlob, Data: op.Content}
		case OpLFSFile:
			if !gitobj.ValidSHA256(op.OID) {
				return nil, errorf(ErrInvalid, "Invalid LFS oid %q for %s: expected 64 lowercase hex digits", op.OID, op.Path)
			}
			size, err := s.useLFSObject(ctx, r.ID, op.OID)
			if errors.Is(err, meta.ErrNotFound) {
				return nil, errorf(ErrInvalid, "LFS object %s for %s was not uploaded to this repository: upload it first", op.OID, op.Path)
			}
			if err != nil {
				return nil, fmt.Errorf("commit: lfs object %s: %w", op.OID, err)
			}
			if op.Size >= 0 && op.Size != size {
				return nil, errorf(ErrInvalid, "LFS object %s for %s has %d bytes, not %d", op.OID, op.Path, size, op.Size)
			}
			if _, err := s.blobs.Stat(ctx, op.OID); err != nil {
				if errors.Is(err, blob.ErrNotFound) {
					return nil, errorf(ErrInvalid, "LFS object %s for %s is missing from storage: upload it again", op.OID, op.Path)
				}
				return nil, fmt.Errorf("commit: stat lfs object %s: %w", op.OID, err)
			}
			p.Size = size
			p.blob = gitobj.Object{Kind: gitobj.KindBlob, Data: gitobj.Pointer{OID: op.OID, Size: size}.Encode()}
		case OpDeleteFile, OpDeleteFolder:
		default:
			return nil, errorf(ErrInvalid, "Unknown commit operation")
		}
		if p.Staged.IsZero() {
			if err := checkFileContent(p.Path, p.blob); err != nil {
				return nil, err
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// tryCommit builds a commit of ops on parent and moves refName from old
// to it in one transaction. A lost race returns meta.ErrConflict.
func (s *Service) tryCommit(ctx context.Context, who *auth.Identity, r *meta.Repo, refName string, old, parent gitobj.ID,
	ops []preparedOp, msg string, isDefault bool) (gitobj.ID, error) {
	objs := s.objectsOf(r.ID)
	pc, err := objs.commit(ctx, parent)
	if err != nil {
		return gitobj.ZeroID, err
	}
	ed := gitobj.NewEditor(objs.treeCopy, pc.Tree)
	for _, op := range ops {
		var err error
		switch op.Kind {
		case OpFile, OpLFSFile:
			if op.Staged.IsZero() {
				objs.add(op.blob)
			}
			mode := gitobj.ModeFile
			if cur, ok, lerr := ed.Lookup(ctx, op.Path); lerr == nil && ok && cur.Mode == gitobj.ModeExec {
				mode = gitobj.ModeExec // keep the executable bit, as git would
			}
			err = ed.Put(ctx, op.Path, mode, op.blobID())
		case OpDeleteFile:
			err = ed.Delete(ctx, op.Path)
			if errors.Is(err, gitobj.ErrPathNotFound) {
				// The Hub deletes a folder named by a deletedFile operation
				// (CommitOperationDelete without a trailing slash sends one).
				err = ed.DeleteDir(ctx, op.Path)
			}
			if errors.Is(err, gitobj.ErrPathNotFound) {
				return gitobj.ZeroID, &Error{Kind: ErrEntryNotFound, Msg: fmt.Sprintf("A file with this name doesn't exist: %s", op.Path), Commit: parent.String()}
			}
		case OpDeleteFolder:
			err = ed.DeleteDir(ctx, op.Path)
			if errors.Is(err, gitobj.ErrPathNotFound) {
				return gitobj.ZeroID, &Error{Kind: ErrEntryNotFound, Msg: fmt.Sprintf("A folder with this name doesn't exist: %s", op.Path), Commit: parent.String()}
			}
		}
		if errors.Is(err, gitobj.ErrPathConflict) {
			return gitobj.ZeroID, errorf(ErrInvalid, "Cannot write %s: %s", op.Path, strings.TrimPrefix(err.Error(), gitobj.ErrPathConflict.Error()+": "))
		}
		if err != nil {
			return gitobj.ZeroID, fmt.Errorf("commit: edit %s: %w", op.Path, err)
		}
	}
	root, trees, err := ed.Write()
	if err != nil {
		return gitobj.ZeroID, fmt.Errorf("commit: write trees: %w", err)
	}
	objs.add(trees...)
	jobs, err := s.scanJobs(ctx, objs, pc.Tree, root)
	if err != nil {
		return gitobj.ZeroID, err
	}
	if err := s.checkScanPolicy(ctx, objs, jobs); err != nil {
		return gitobj.ZeroID, err
	}
	if jobs, err = s.pendingScans(ctx, jobs); err != nil {
		return gitobj.ZeroID, err
	}
	now := time.Now()
	sig := signatureOf(who, now)
	c := gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: root, Parents: []gitobj.ID{parent},
		Author: sig, Committer: sig, Message: msg}).Encode()}
	objs.add(c)
	var derived *meta.RepoMeta
	if isDefault {
		if derived, err = s.derive(ctx, objs, r, c.ID()); err != nil {
			return gitobj.ZeroID, err
		}
	}
	pending := make([]gitobj.Object, 0, len(objs.pending))
	for _, o := range objs.pending {
		pending = append(pending, o)
	}
	err = s.land(ctx, change{repo: r.ID, objects: pending, refs: []refMove{{refName, old, c.ID()}},
		derived: derived, scans: jobs, when: now})
	if err != nil {
		if errors.Is(err, meta.ErrConflict) {
			return gitobj.ZeroID, err
		}
		if errors.Is(err, meta.ErrNotFound) {
			return gitobj.ZeroID, repoNotFound() // deleted meanwhile
		}
		return gitobj.ZeroID, fmt.Errorf("commit to %s: %w", r.FullName(), err)
	}
	s.lg.InfoContext(ctx, "commit", "repo", r.FullName(), "ref", refName, "commit", c.ID().String(), "user", who.User.Name, "ops", len(ops))
	if len(jobs) > 0 {
		s.wakeScanners()
	}
	return c.ID(), nil
}

// SuperSquash replaces the history of a branch with one commit holding
// its current files.
func (s *Service) SuperSquash(ctx context.Context, who *auth.Identity, ref RepoRef, branch, message string) (_ gitobj.ID, err error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return gitobj.ZeroID, err
	}
	defer s.goneRepo(ctx, r.ID, &err)
	refName, ok := commitTarget(branch)
	if !ok {
		return gitobj.ZeroID, revisionNotFound(branch)
	}
	head, err := s.meta.GetRef(ctx, r.ID, refName)
	if errors.Is(err, meta.ErrNotFound) {
		if _, terr := s.meta.GetRef(ctx, r.ID, tagPrefix+branch); terr == nil {
			return gitobj.ZeroID, errorf(ErrInvalid, "Cannot squash a tag: %s", branch)
		}
		return gitobj.ZeroID, revisionNotFound(branch)
	}
	if err != nil {
		return gitobj.ZeroID, fmt.Errorf("super-squash: %w", err)
	}
	c, err := s.objectsOf(r.ID).commit(ctx, head)
	if err != nil {
		return gitobj.ZeroID, err
	}
	if strings.TrimSpace(message) == "" {
		message = "Super-squash branch '" + branch + "'"
	}
	if err := checkCommitMessage(message); err != nil {
		return gitobj.ZeroID, err
	}
	sig := signatureOf(who, time.Now())
	obj := gitobj.Object{Kind: gitobj.KindCommit, Data: (&gitobj.Commit{Tree: c.Tree, Author: sig, Committer: sig, Message: strings.TrimRight(message, "\n") + "\n"}).Encode()}
	err = s.meta.InTx(ctx, func(tx meta.Tx) error {
		if err := tx.PutObjects(ctx, r.ID, []gitobj.Object{obj}); err != nil {
			return err
		}
		return tx.UpdateRef(ctx, r.ID, refName, head, obj.ID())
	})
	if errors.Is(err, meta.ErrConflict) {
		return gitobj.ZeroID, &Error{Kind: ErrStaleParent, Msg: staleParentMsg}
	}
	if err != nil {
		return gitobj.ZeroID, fmt.Errorf("super-squash: %w", err)
	}
	return obj.ID(), s.touch(ctx, r)
}

// refMove moves one ref from Old to New (zero: create or delete).
type refMove struct {
	Name     string
	Old, New gitobj.ID
}

// change is everything one commit or push writes.
type change struct {
	repo    int64
	objects []gitobj.Object
	refs    []refMove // in the order their locks are taken
	derived *meta.RepoMeta
	scans   []meta.ScanJob
	when    time.Time
}

// land writes a change in one transaction: the objects, the refs by
// compare-and-swap (a lost race is meta.ErrConflict and nothing is
// written), the derived metadata of the default branch, the scan jobs and
// the repository's modification time.
func (s *Service) land(ctx context.Context, c change) error {
	defer s.wrote()
	return s.meta.InTx(ctx, func(tx meta.Tx) error {
		if err := tx.PutObjects(ctx, c.repo, c.objects); err != nil {
			return err
		}
		for _, m := range c.refs {
			if err := tx.UpdateRef(ctx, c.repo, m.Name, m.Old, m.New); err != nil {
				return err
			}
		}
		if c.derived != nil {
			if err := tx.PutRepoMeta(ctx, c.repo, c.derived); err != nil {
				return err
			}
		}
		if err := tx.EnqueueScans(ctx, c.scans); err != nil {
			return err
		}
		cur, err := tx.RepoByID(ctx, c.repo)
		if err != nil {
			return err
		}
		cur.UpdatedAt = c.when
		return tx.UpdateRepo(ctx, cur)
	})
}
