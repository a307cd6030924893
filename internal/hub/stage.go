package hub

import (
	"context"
	"fmt"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Stager stores the regular files of a commit one by one as the request
// body is read, so that a commit of many files never holds them all in
// memory: each file is checked (path, size, git's rules for special
// files), counted against the commit's limit and written to the
// repository's objects at once. Objects are content-addressed and
// immutable, so a commit that fails afterwards only leaves unreferenced
// blobs behind, which no clone or listing ever shows.
//
// A Stager is for one commit request; it is not safe for concurrent use.
type Stager struct {
	s     *Service
	r     *meta.Repo
	total int64
}

// NewStager opens repository ref for a commit by who (write access).
func (s *Service) NewStager(ctx context.Context, who *auth.Identity, ref RepoRef) (*Stager, error) {
	r, err := s.writableRepo(ctx, who, ref)
	if err != nil {
		return nil, err
	}
	return &Stager{s: s, r: r}, nil
}

// Stage stores the content of regular file path and returns the commit
// operation naming it. The root README.md keeps its content in the
// operation too: the commit checks its metadata.
func (st *Stager) Stage(ctx context.Context, path string, content []byte) (CommitOp, error) {
	cfg := st.s.cfg
	if err := gitobj.ValidatePath(path); err != nil {
		return CommitOp{}, invalidPath(path, err)
	}
	if int64(len(content)) > cfg.MaxRegularFile {
		return CommitOp{}, errorf(ErrTooLarge, "File %s is %d bytes: files larger than %d bytes must be uploaded with LFS", path, len(content), cfg.MaxRegularFile)
	}
	st.total += int64(len(content))
	if st.total > cfg.MaxCommitBytes {
		return CommitOp{}, errorf(ErrTooLarge, "The regular files of this commit exceed %d bytes", cfg.MaxCommitBytes)
	}
	b := gitobj.Object{Kind: gitobj.KindBlob, Data: content}
	if err := checkFileContent(path, b); err != nil {
		return CommitOp{}, err
	}
	if err := st.s.meta.PutObjects(ctx, st.r.ID, []gitobj.Object{b}); err != nil {
		return CommitOp{}, fmt.Errorf("stage %s: %w", path, err)
	}
	op := CommitOp{Kind: OpFile, Path: path, Staged: b.ID()}
	if path == readmePath {
		op.Content = content
	}
	return op, nil
}

// checkStaged confirms that every staged blob of ops is stored in r: a
// staged id is only ever made by a Stager of the same request, but a tree
// must never name an object its repository lacks.
func (s *Service) checkStaged(ctx context.Context, r *meta.Repo, ops []CommitOp) error {
	var ids []gitobj.ID
	for _, op := range ops {
		if op.Kind == OpFile && !op.Staged.IsZero() {
			ids = append(ids, op.Staged)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	st, err := s.meta.StatObjects(ctx, r.ID, ids)
	if err != nil {
		return fmt.Errorf("commit: staged files: %w", err)
	}
	for _, id := range ids {
		if info, ok := st[id]; !ok || info.Kind != gitobj.KindBlob {
			return errorf(ErrInvalid, "A staged file of this commit is missing: send the commit again")
		}
	}
	return nil
}
