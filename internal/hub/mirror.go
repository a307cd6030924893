package hub

// This file is where the hub meets the pull-through mirror (package
// mirror, issue 14). The mirror owns its upstreams, bindings and fills;
// the hub only asks it, at the places marked "mirror hook", for a
// repository it does not hold, for a revision or the refs to be bound,
// and for LFS content it does not have yet. With no upstream configured Mirror is
// nil and none of the hooks costs anything.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agorahub/agora/internal/access"
	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Error kinds of an upstream hub, for mirrored repositories.
var (
	// ErrUpstreamUnavailable: the upstream could not be asked (unreachable,
	// 5xx, --offline) and nothing cached answers (503). Never a 404: a
	// client would cache the absence.
	ErrUpstreamUnavailable = errors.New("upstream unavailable")
	// ErrUpstreamTimeout: the upstream did not answer in time (504).
	ErrUpstreamTimeout = fmt.Errorf("%w: timed out", ErrUpstreamUnavailable)
	// ErrUpstreamInvalid: the upstream answered with something the mirror
	// refuses (wrong bytes, a truncated body, an incomplete pack) (502).
	ErrUpstreamInvalid = errors.New("invalid upstream answer")
	// ErrUpstreamBusy: the upstream rate-limits the mirror (429); the
	// error is a [*BusyError] that says when to retry.
	ErrUpstreamBusy = errors.New("upstream rate limit")
)

// BusyError is the kind of an upstream's rate-limit refusal.
type BusyError struct {
	// RetryAfter is how long every replica waits before asking again.
	RetryAfter time.Duration
}

func (e *BusyError) Error() string { return "upstream rate limit" }

// Unwrap makes errors.Is(err, ErrUpstreamBusy) true.
func (e *BusyError) Unwrap() error { return ErrUpstreamBusy }

// Mirror is the pull-through mirror as the hub consults it. Package mirror
// implements it; cmd/agora sets [Service.Mirror] when upstreams are
// configured. Errors are *Error values of this package's kinds, so that
// an upstream's answer keeps its meaning (GatedRepo, RepoNotFound,
// RevisionNotFound) and its failures are 429/502/503/504, never 404.
type Mirror interface {
	// Find returns the local repository that mirrors ref, creating and
	// binding it from the upstream whose policy claims ref on first use.
	// It is asked only when no local repository (or redirect) has that
	// name: local repositories win. ErrRepoNotFound when no upstream
	// claims the id.
	Find(ctx context.Context, ref RepoRef) (*meta.Repo, error)
	// Bind makes revision rev ("" for the default branch) of repository r
	// resolvable from local refs and objects: a branch or tag whose
	// binding is older than the mirror's TTL is bound again, a commit id
	// not held yet is fetched. When the upstream cannot be asked, the
	// last binding answers. It returns nil at once for a local
	// repository.
	Bind(ctx context.Context, r *meta.Repo, rev string) error
	// OpenLFS returns the LFS content p of repository r when it is not
	// cached, or (nil, nil) when the blob store holds it for r (the hub
	// then serves it as any LFS object). With stream, reading the file
	// from the start fills the cache as the bytes arrive: reads fail if
	// the transfer fails, and the last byte is released only once the
	// whole content was verified and stored. Without, the file is for a
	// few random reads (headers) and fills nothing.
	OpenLFS(ctx context.Context, r *meta.Repo, p gitobj.Pointer, stream bool) (blob.File, error)
}

// MirrorStatus describes a mirrored repository for pages.
type MirrorStatus struct {
	Upstream string
	SyncedAt time.Time // zero: never bound
	Pinned   bool
}

// MirrorStatus returns the mirror record of repository r, or nil for a
// local repository.
func (s *Service) MirrorStatus(ctx context.Context, r *Repo) (*MirrorStatus, error) {
	m, err := s.meta.MirrorRepo(ctx, r.ID)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mirror status of %s: %w", r.FullName(), err)
	}
	st := &MirrorStatus{Upstream: m.Upstream, Pinned: m.Pinned}
	if m.SyncedAt.UnixMilli() > 0 {
		st.SyncedAt = m.SyncedAt
	}
	return st, nil
}

// Rederive recomputes repository r's derived metadata from its default
// branch (after a mirror or an import brought new objects).
func (s *Service) Rederive(ctx context.Context, r *meta.Repo) error {
	return s.reindexOne(ctx, r)
}

// mirrorFor is the mirror hook of repoFor for a name no local repository
// holds: only reads reach upstreams.
func (s *Service) mirrorFor(ctx context.Context, who *auth.Identity, ref RepoRef, a access.Action) (*meta.Repo, error) {
	if s.Mirror == nil || (a != access.ReadMeta && a != access.ReadContent) {
		return nil, repoNotFound()
	}
	r, err := s.Mirror.Find(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, who, r, a); err != nil {
		return nil, err
	}
	return r, nil
}

// refuseMirrorWrite is the mirror hook of repoFor for writes: a mirror's
// content is the upstream's, so nobody commits to it (managing it, such
// as gating it locally or deleting it, stays possible). It holds whether
// or not upstreams are configured now.
func (s *Service) refuseMirrorWrite(ctx context.Context, r *meta.Repo) error {
	_, err := s.meta.MirrorRepo(ctx, r.ID)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("mirror of %s: %w", r.FullName(), err)
	}
	return errorf(ErrForbidden, "%s is a read-only mirror of an upstream repository", r.FullName())
}

// bindMirror is the mirror hook of resolve.
func (s *Service) bindMirror(ctx context.Context, r *meta.Repo, rev string) error {
	if s.Mirror == nil {
		return nil
	}
	return s.Mirror.Bind(ctx, r, rev)
}

// rebindMirror is the mirror hook of listings of every ref (the refs
// API, git's ref advertisement): a stale binding is refreshed, and when
// the upstream cannot be asked the stored refs answer as they are.
func (s *Service) rebindMirror(ctx context.Context, r *meta.Repo) {
	if s.Mirror != nil {
		_ = s.Mirror.Bind(ctx, r, "")
	}
}

// mirrorContent is the mirror hook of OpenContent: ok reports whether the
// mirror answered (a streaming file, or an error).
func (s *Service) mirrorContent(ctx context.Context, r *meta.Repo, e *Entry) (*Content, bool, error) {
	if s.Mirror == nil || e.LFS == nil {
		return nil, false, nil
	}
	f, err := s.Mirror.OpenLFS(ctx, r, *e.LFS, true)
	if err != nil {
		return nil, true, err
	}
	if f == nil {
		return nil, false, nil
	}
	return &Content{File: f}, true, nil
}

// mirrorOpenFile is the mirror hook of derive's openFile: the header of a
// mirrored weight file not cached yet is read from the upstream.
func (s *Service) mirrorOpenFile(ctx context.Context, repoID int64, p gitobj.Pointer) (blob.File, error) {
	if s.Mirror == nil {
		return nil, nil
	}
	r, err := s.meta.RepoByID(ctx, repoID)
	if err != nil {
		return nil, fmt.Errorf("repo %d: %w", repoID, err)
	}
	return s.Mirror.OpenLFS(ctx, r, p, false)
}
