package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// ErrQuotaExceeded: an upload would take a namespace past its storage
// quota. The Hub refuses such uploads with a 403 and a message
// ("Private repository storage limit reached, please upgrade your
// plan…", huggingface_hub issues #3048 and #3049), which the Python
// client shows as "403 Forbidden: <message>"; git-lfs shows the message
// of a refused batch.
var ErrQuotaExceeded = fmt.Errorf("%w: storage quota", ErrForbidden)

// Storage is a namespace's stored bytes and its quota.
type Storage struct {
	Namespace string
	meta.Usage
	// Limit is the quota in bytes, -1 when there is none.
	Limit int64
}

// Used is the total the quota is compared with.
func (st *Storage) Used() int64 { return st.LFS + st.Git }

// NamespaceStorage returns what namespace stores and its quota, for its
// owner or an administrator.
func (s *Service) NamespaceStorage(ctx context.Context, who *auth.Identity, namespace string) (*Storage, error) {
	if who == nil {
		return nil, errorf(ErrUnauthenticated, "Sign in to see storage usage")
	}
	if !who.User.IsAdmin && !strings.EqualFold(who.User.Name, namespace) {
		return nil, errorf(ErrForbidden, "Only %s and administrators may see its storage usage", namespace)
	}
	st := &Storage{Namespace: namespace, Limit: -1}
	limit, err := s.meta.Quota(ctx, namespace)
	switch {
	case err == nil:
		st.Limit = limit
	case !errors.Is(err, meta.ErrNotFound):
		return nil, fmt.Errorf("storage of %s: %w", namespace, err)
	}
	if st.Usage, err = s.meta.NamespaceUsage(ctx, namespace); err != nil {
		return nil, fmt.Errorf("storage of %s: %w", namespace, err)
	}
	return st, nil
}

// checkQuota refuses an upload of incoming bytes to repository r when its
// namespace has a quota that the upload would exceed. Namespaces without
// a quota cost one small query. The check is at the start of an upload,
// so concurrent uploads may together overshoot by what they carry.
func (s *Service) checkQuota(ctx context.Context, r *meta.Repo, incoming func() (int64, error)) error {
	if r.Namespace == "" {
		return nil // canonical repositories belong to the hub itself
	}
	limit, err := s.meta.Quota(ctx, r.Namespace)
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota of %s: %w", r.Namespace, err)
	}
	in, err := incoming()
	if err != nil || in == 0 {
		return err
	}
	u, err := s.meta.NamespaceUsage(ctx, r.Namespace)
	if err != nil {
		return fmt.Errorf("quota of %s: %w", r.Namespace, err)
	}
	if used := u.LFS + u.Git; used+in > limit {
		return errorf(ErrQuotaExceeded, "Storage quota of %s reached: %s of %s used, this upload needs %s more; delete repositories or ask an administrator for a larger quota",
			r.Namespace, humanSize(used), humanSize(limit), humanSize(in))
	}
	return nil
}

// preuploadQuota checks a preupload: the regular files it will carry (the
// LFS ones are counted by the batch that uploads them). Files that turn
// out unchanged still count, an over-estimate bounded by the regular-file
// limit per file.
func (s *Service) preuploadQuota(ctx context.Context, r *meta.Repo, files []PreuploadFile, res []PreuploadResult) error {
	return s.checkQuota(ctx, r, func() (int64, error) {
		var n int64
		for i, f := range files {
			if i < len(res) && !res[i].LFS && !res[i].ShouldIgnore {
				n += f.Size
			}
		}
		return n, nil
	})
}

// lfsUploadQuota checks an LFS upload batch: the objects the repository
// does not hold yet.
func (s *Service) lfsUploadQuota(ctx context.Context, r *meta.Repo, objects []LFSObject) error {
	return s.checkQuota(ctx, r, func() (int64, error) {
		var n int64
		seen := map[string]bool{}
		for _, o := range objects {
			if o.Size <= 0 || seen[o.OID] || !gitobj.ValidSHA256(o.OID) {
				continue
			}
			seen[o.OID] = true
			_, err := s.meta.LFSObject(ctx, r.ID, o.OID)
			switch {
			case errors.Is(err, meta.ErrNotFound):
				n += o.Size
			case err != nil:
				return 0, fmt.Errorf("quota: %w", err)
			}
		}
		return n, nil
	})
}

// NamespaceRepositories lists the repositories of an account (kind
// meta.KindUser or meta.KindOrg) with what each stores, for callers who
// may read every one of them: the user itself, the organisation's
// members, administrators, and a fine-grained token only where its
// scopes reach.
func (s *Service) NamespaceRepositories(ctx context.Context, who *auth.Identity, namespace, kind string) ([]meta.RepoUsage, error) {
	if who == nil {
		return nil, errorf(ErrUnauthenticated, "Sign in to list repositories with their storage")
	}
	u, err := s.account(ctx, namespace, kind)
	if err != nil {
		return nil, err
	}
	all, namespaces, err := s.viewerNamespaces(ctx, who)
	if err != nil {
		return nil, err
	}
	if !all && !slices.ContainsFunc(namespaces, func(ns string) bool { return strings.EqualFold(ns, u.Name) }) {
		return nil, errorf(ErrForbidden, "Only %s's members and administrators may list its repositories with their storage", u.Name)
	}
	repos, err := s.meta.NamespaceRepoUsage(ctx, u.Name)
	if err != nil {
		return nil, fmt.Errorf("repositories of %s: %w", u.Name, err)
	}
	return repos, nil
}
