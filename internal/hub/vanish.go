package hub

import (
	"context"
	"errors"

	"github.com/agorahub/agora/internal/meta"
)

// goneRepo rewrites *errp to "repository not found" when the write that
// failed was racing the deletion of its repository. Deleting a repository
// removes its refs, objects and links in one transaction; a writer that
// read the repository before and writes after then fails in whatever step
// met the hole first (a missing parent object, a missing head, a link
// refused by the store), and every one of those would otherwise surface
// as a 500 or a misleading RevisionNotFound. It is deferred by the
// entry points of writes; it costs one lookup, on failures only.
func (s *Service) goneRepo(ctx context.Context, repoID int64, errp *error) {
	err := *errp
	if err == nil || errors.Is(err, ErrRepoNotFound) {
		return
	}
	if he, ok := AsError(err); ok {
		// The client's own mistakes stand; only answers a vanished
		// repository can cause are reconsidered.
		switch {
		case errors.Is(he.Kind, ErrNotFound), errors.Is(he.Kind, ErrConflict), errors.Is(he.Kind, ErrStaleParent):
		default:
			return
		}
	}
	if _, rerr := s.meta.RepoByID(context.WithoutCancel(ctx), repoID); errors.Is(rerr, meta.ErrNotFound) {
		*errp = &Error{Kind: ErrRepoNotFound, Msg: "Repository not found", Err: err}
	}
}
