package meta

import (
	"context"
	"time"
)

// MirrorUpstream is another hub that local repositories mirror (package
// mirror). cmd/agora writes it from the serve flags at every start, so the
// admin commands (agora mirror …) and every replica see the same
// configuration.
type MirrorUpstream struct {
	Name   string // the operator's short name ("hf")
	URL    string // base URL of the upstream's API ("https://huggingface.co")
	Policy string // which repository ids it serves, in the syntax of package mirror
	// Token is the upstream service token sealed by package mirror (nil:
	// anonymous). The store never sees it in clear.
	Token []byte
	// BackoffUntil is when every replica may call the upstream again after
	// it refused a call with 429 (zero: no back-off).
	BackoffUntil time.Time
	UpdatedAt    time.Time
}

// MirrorRepo marks a repository as a mirror: its git objects and refs are
// copies of the upstream repository of the same type and id.
type MirrorRepo struct {
	RepoID   int64
	Upstream string // MirrorUpstream.Name
	// UpstreamPrivate and UpstreamGated are what the upstream said of the
	// repository at the last sync (local settings are the operator's).
	UpstreamPrivate bool
	UpstreamGated   string
	// SyncedAt is when the refs were last bound to the upstream's.
	SyncedAt time.Time
	// Pinned repositories keep their content through evictions.
	Pinned    bool
	CreatedAt time.Time
}

// MirrorListing is a mirrored repository with its mirror record.
type MirrorListing struct {
	Repo   Repo
	Mirror MirrorRepo
}

// MirrorObject is LFS content a mirror fetched from an upstream: what
// eviction accounts and orders by last use.
type MirrorObject struct {
	Upstream string
	OID      string
	Size     int64
	UsedAt   time.Time
}

// FillLease is the lease of an LFS object being fetched from an upstream:
// one holder at a time across every replica. Fence grows with each new
// holder (it comes from one counter for the whole store), so a holder that
// lost its lease cannot add chunks or release the lease of the next.
type FillLease struct {
	OID       string
	Fence     int64
	Holder    string
	ExpiresAt time.Time
	// WantedAt is when a reader on another replica last asked for the
	// fill's bytes as chunks (zero: never).
	WantedAt time.Time
}

// FillChunk is a piece of a fill in progress, stored in the blob store
// as an object of its own (named by its SHA-256) so that readers on other
// replicas can stream the fill before it is published.
type FillChunk struct {
	Index int    // 0-based
	OID   string // the chunk's SHA-256
	Size  int64
}

// Mirrors stores what pull-through mirrors know: upstreams, mirrored
// repositories, the accounting of cached content and the fill leases.
// Everything is safe for concurrent use by many replicas.
type Mirrors interface {
	// PutMirrorUpstream creates or replaces upstream u.Name's URL, policy
	// and token; its back-off is kept.
	PutMirrorUpstream(ctx context.Context, u *MirrorUpstream) error
	// MirrorUpstreams returns every upstream, by name.
	MirrorUpstreams(ctx context.Context) ([]MirrorUpstream, error)
	// BackOffMirrorUpstream sets upstream name's back-off to until unless
	// it already ends later. ErrNotFound if there is no such upstream.
	BackOffMirrorUpstream(ctx context.Context, name string, until time.Time) error

	// CreateMirrorRepo creates repository r (as CreateRepo does) and its
	// mirror record m in one transaction, setting r.ID and m.RepoID.
	// ErrConflict if the name is taken.
	CreateMirrorRepo(ctx context.Context, r *Repo, m *MirrorRepo) error
	// MirrorRepo returns the mirror record of a repository. ErrNotFound
	// for a local repository.
	MirrorRepo(ctx context.Context, repoID int64) (*MirrorRepo, error)
	// UpdateMirrorRepo saves UpstreamPrivate, UpstreamGated, SyncedAt and
	// Pinned. ErrNotFound if the repository is not a mirror.
	UpdateMirrorRepo(ctx context.Context, m *MirrorRepo) error
	// ListMirrorRepos returns the mirrored repositories of upstream (""
	// for every upstream), by full name.
	ListMirrorRepos(ctx context.Context, upstream string) ([]MirrorListing, error)
	// UnmirrorRepo turns a mirrored repository into a local one (its
	// objects, refs and content stay). ErrNotFound if it is not a mirror.
	UnmirrorRepo(ctx context.Context, repoID int64) error

	// TouchMirrorObject records that upstream's content oid of size bytes
	// is cached and was used at now (idempotent).
	TouchMirrorObject(ctx context.Context, upstream, oid string, size int64, now time.Time) error
	// UseMirrorObject sets the last use of upstream's cached oid to now
	// and returns its size. ErrNotFound if upstream has not cached it.
	UseMirrorObject(ctx context.Context, upstream, oid string, now time.Time) (int64, error)
	// MirrorCacheUsage returns the bytes and the number of objects
	// upstream's cached content takes.
	MirrorCacheUsage(ctx context.Context, upstream string) (bytes, objects int64, err error)
	// EvictionCandidates returns up to limit of upstream's cached objects,
	// least recently used first, leaving out those a local (not
	// mirrored) repository or a pinned mirror links.
	EvictionCandidates(ctx context.Context, upstream string, limit int) ([]MirrorObject, error)
	// DropMirrorObject forgets upstream's cached oid: its accounting and
	// the links of upstream's unpinned mirrors to it, in one transaction.
	// It reports whether nothing references oid any more (no repository
	// link, no other upstream's accounting), i.e. whether the caller may
	// delete the content.
	DropMirrorObject(ctx context.Context, upstream, oid string) (orphan bool, err error)

	// AcquireFill takes the lease of oid for holder until now+ttl if
	// nobody holds it or its holder's lease expired. It returns the lease
	// as it stands and whether the caller now holds it.
	AcquireFill(ctx context.Context, oid, holder string, ttl time.Duration, now time.Time) (FillLease, bool, error)
	// RenewFill extends the lease of oid held under fence to now+ttl and
	// returns it. ErrConflict if the lease is no longer fence's.
	RenewFill(ctx context.Context, oid string, fence int64, ttl time.Duration, now time.Time) (FillLease, error)
	// ReleaseFill ends the lease of oid held under fence and forgets its
	// chunks; a lease held under another fence is left alone.
	ReleaseFill(ctx context.Context, oid string, fence int64) error
	// WantFill records, at now, that a reader on another replica waits for
	// the chunks of oid's fill. ErrNotFound if no lease exists.
	WantFill(ctx context.Context, oid string, now time.Time) error
	// AddFillChunk records chunk c of oid's fill under fence. ErrConflict
	// if the lease is no longer fence's.
	AddFillChunk(ctx context.Context, oid string, fence int64, c FillChunk) error
	// FillChunks returns oid's lease and the chunks recorded under its
	// current fence, by index. ErrNotFound if no lease exists.
	FillChunks(ctx context.Context, oid string) (FillLease, []FillChunk, error)
}
