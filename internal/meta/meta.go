// Package meta defines the metadata store: users, tokens, repositories,
// refs, git objects (commits, trees and regular blobs) and the derived
// metadata used for search. Large file content is not here; it lives in
// the blob store, keyed by SHA-256 (DESIGN.md decision 2).
//
// The interface is built from small roles that consumers pick from; every
// implementation (sqlitemeta, pgmeta) must pass the conformance suite in
// metatest against a real database. Stores never know about HTTP, and their
// driver errors never escape: callers see the sentinels below.
//
// Concurrency: a Store is safe for concurrent use by many goroutines and by
// many processes sharing one database. Nothing mutable is cached inside a
// store, so replicas stay consistent without coordination.
package meta

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/gitobj"
)

// Sentinel errors. Implementations wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the named record does not exist.
	ErrNotFound = errors.New("meta: not found")
	// ErrConflict: a unique key is taken, or a compare-and-swap lost.
	ErrConflict = errors.New("meta: conflict")
	// ErrNoSpace: the database cannot grow (disk full, quota reached).
	// It is the operator's problem, not the caller's, but it must reach
	// the client as "storage is full" rather than a bare internal error.
	ErrNoSpace = errors.New("meta: storage is full")
	// ErrCorrupt: a record exists but what is stored cannot be decoded (an
	// object whose stored compressed form does not inflate to its size).
	ErrCorrupt = errors.New("meta: stored data is corrupt")
)

// User is an account, or an organisation (Kind KindOrg): the two share one
// table so that a name is never both.
type User struct {
	ID           int64
	Kind         string // KindUser ("" reads as a user) or KindOrg
	Name         string
	FullName     string
	Email        string
	IsAdmin      bool
	PasswordHash string // empty: the user cannot sign in with a password
	// DefaultPrivate is an organisation's default visibility for new
	// repositories.
	DefaultPrivate bool
	Details        string // a short profile text
	CreatedAt      time.Time
}

// Account kinds.
const (
	KindUser = "user"
	KindOrg  = "org"
)

// IsOrg reports whether the account is an organisation.
func (u *User) IsOrg() bool { return u.Kind == KindOrg }

// Token roles.
const (
	RoleRead  = "read"
	RoleWrite = "write"
	// RoleFineGrained tokens hold only the permissions of their Scopes.
	RoleFineGrained = "fineGrained"
)

// Token is an access token. Only the SHA-256 of its secret is stored.
type Token struct {
	ID        int64
	UserID    int64
	Name      string
	Hash      []byte
	Role      string // RoleRead, RoleWrite or RoleFineGrained
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	// Scopes are a fine-grained token's permissions.
	Scopes *TokenScopes
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// TokenScopes are the permissions of a fine-grained token, in the Hub's
// vocabulary (whoami-v2's auth.accessToken.fineGrained).
type TokenScopes struct {
	CanReadGatedRepos bool         `json:"canReadGatedRepos"`
	Global            []string     `json:"global"`
	Scoped            []TokenScope `json:"scoped"`
}

// TokenScope grants permissions on one entity: a user's or an
// organisation's repositories (Type "user"/"org", ID the account's), or one
// repository (Type "model"/"dataset", ID the repository's). Entities are
// held by id, so renames keep the grant; Name is the name at grant time,
// for display.
type TokenScope struct {
	Type        string   `json:"type"`
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"`
}

// Repo types as stored and as the API's "type" field spells them.
const (
	TypeModel   = "model"
	TypeDataset = "dataset"
)

// Repo is a repository's identity and settings.
type Repo struct {
	ID             int64
	PublicID       string // opaque 24-hex id shown as "_id"
	Type           string // TypeModel or TypeDataset
	Namespace      string
	Name           string
	Private        bool
	Gated          string // "", "auto" or "manual"
	DefaultBranch  string
	AllowForcePush bool
	CreatedAt      time.Time
	UpdatedAt      time.Time // last commit on any branch or settings change
	Downloads      int64     // last 30 days
	// DownloadsAllTime counts every download; Trending scores recent
	// downloads (see [Stats]).
	DownloadsAllTime int64
	Trending         int64
	Likes            int64
	// CreatorID is the user who created the repository (0 if unknown).
	CreatorID int64
}

// FullName returns "namespace/name", or the name alone for a canonical
// repository without a namespace.
func (r *Repo) FullName() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Ref is a git ref of a repository ("refs/heads/main", "refs/tags/v1",
// "refs/pr/1"…) and the object it points at.
type Ref struct {
	Name   string
	Target gitobj.ID
}

// ObjectInfo describes a stored git object without its content.
type ObjectInfo struct {
	Kind gitobj.Kind
	Size int64
	// LFS is set when the object is a blob that is a valid git-lfs pointer.
	LFS *gitobj.Pointer
}

// PackedObject is an object as [Objects.PackedObjects] returns it: its
// kind and content size, and either the zlib stream of its content
// (Zlib, what a pack entry holds after its header) or the content itself
// (Data, when it is not stored compressed).
type PackedObject struct {
	Kind gitobj.Kind
	Size int
	Zlib []byte
	Data []byte
}

// RepoMeta is the metadata derived from the default branch's files at
// commit Sha (DESIGN.md decision 5). It is rebuildable from the objects.
type RepoMeta struct {
	Sha           gitobj.ID
	CardData      []byte // JSON object, nil when the README has no valid front matter
	CardError     string // why the front matter was not understood, if it was not
	PipelineTag   string
	LibraryName   string
	Tags          []string
	NumParameters int64  // from safetensors/GGUF headers, 0 if unknown
	Info          []byte // JSON object of further derived fields (config, safetensors, gguf…)
	// Bases are the base models the card names, with their relation.
	Bases []Edge
}

// Lineage relations.
const (
	RelFinetune  = "finetune"
	RelAdapter   = "adapter"
	RelQuantized = "quantized"
	RelMerge     = "merge"
)

// Edge names a base model of a repository.
type Edge struct {
	Base     string // "namespace/name" as the card writes it
	Relation string // one of the Rel* constants
}

// Users stores accounts.
type Users interface {
	// CreateUser inserts u and sets u.ID. ErrConflict if the name is taken
	// (names compare case-insensitively).
	CreateUser(ctx context.Context, u *User) error
	// UserByName looks a user up case-insensitively. ErrNotFound if absent.
	UserByName(ctx context.Context, name string) (*User, error)
	// UserByID returns the user. ErrNotFound if absent.
	UserByID(ctx context.Context, id int64) (*User, error)
	// UpdateUser saves FullName, Email, IsAdmin and PasswordHash.
	UpdateUser(ctx context.Context, u *User) error
}

// Tokens stores access tokens.
type Tokens interface {
	// CreateToken inserts t and sets t.ID.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token with that secret hash and its user.
	// ErrNotFound if absent.
	TokenByHash(ctx context.Context, hash []byte) (*Token, *User, error)
	// ListTokens returns a user's tokens, oldest first.
	ListTokens(ctx context.Context, userID int64) ([]Token, error)
	// DeleteToken removes one of a user's tokens. ErrNotFound if absent.
	DeleteToken(ctx context.Context, userID, tokenID int64) error
	// DeleteTokensNamed removes a user's tokens of that name and reports
	// how many there were.
	DeleteTokensNamed(ctx context.Context, userID int64, name string) (int, error)
}

// Sort orders for [RepoQuery].
const (
	SortLastModified = "lastModified"
	SortCreatedAt    = "createdAt"
	SortDownloads    = "downloads"
	SortLikes        = "likes"
	SortTrending     = "trending"
	SortID           = "id"
)

// RepoQuery selects repositories for listing.
type RepoQuery struct {
	Type string
	// Visibility: private repos are returned only when ViewerAll is set or
	// their namespace is one of ViewerNamespaces.
	ViewerAll        bool
	ViewerNamespaces []string
	Author           string   // exact namespace (case-insensitive), "" = any
	Search           string   // case-insensitive substring of "namespace/name"
	Tags             []string // every one must be present
	PipelineTag      string
	// MinParams and MaxParams bound the parameter count (0 = no bound).
	MinParams, MaxParams int64
	// Gated, if set, keeps only gated (true) or ungated (false) repos.
	Gated *bool
	Sort  string // one of the Sort constants; "" = SortID
	Desc  bool
	Limit int
	// After continues a listing after the last row of the previous page
	// (see [CursorOf]).
	After *Cursor
}

// Cursor is a keyset position in a sorted listing: the last row's sort
// value and id (for SortID, its lower-case full name).
type Cursor struct {
	Value int64
	ID    int64
	Name  string
}

// Listing is one row of a repository listing.
type Listing struct {
	Repo Repo
	Meta *RepoMeta // nil when nothing was derived yet
	// ChangedAt is the repository's change stamp (Unix ms, see
	// SearchDocs) as of the read, which a cache of rows compares.
	ChangedAt int64
}

// CursorOf returns the cursor that continues a listing sorted by sort
// after row l.
func CursorOf(sort string, l *Listing) Cursor {
	c := Cursor{ID: l.Repo.ID, Name: LowerName(l.Repo.Namespace, l.Repo.Name)}
	switch sort {
	case SortLastModified:
		c.Value = l.Repo.UpdatedAt.UnixMilli()
	case SortCreatedAt:
		c.Value = l.Repo.CreatedAt.UnixMilli()
	case SortDownloads:
		c.Value = l.Repo.Downloads
	case SortLikes:
		c.Value = l.Repo.Likes
	case SortTrending:
		c.Value = l.Repo.Trending
	}
	return c
}

// LowerName is the case-insensitive key of a full repository name.
func LowerName(namespace, name string) string {
	return strings.ToLower(namespace + "/" + name)
}

// SearchDoc is what a search index keeps of a repository.
type SearchDoc struct {
	Repo          Repo
	PipelineTag   string
	NumParameters int64
	Tags          []string
	ChangedAt     int64 // Unix ms of the last write to the repository or its metadata
	// Deleted marks a repository deleted at ChangedAt; only Repo.ID is set.
	Deleted bool
}

// DocCursor is a position in SearchDocs' order.
type DocCursor struct {
	ChangedAt, ID int64
}

// Repos stores repositories and their settings.
type Repos interface {
	// CreateRepo inserts r and sets r.ID. ErrConflict if a repo of the same
	// type and case-insensitive full name exists.
	CreateRepo(ctx context.Context, r *Repo) error
	// RepoByName finds a repository case-insensitively. ErrNotFound if absent.
	RepoByName(ctx context.Context, typ, namespace, name string) (*Repo, error)
	// RepoWithHead is RepoByName and GetRef of the default branch in one
	// read, for the requests that nearly always address the default
	// branch: the repository and the target of refs/heads/{DefaultBranch},
	// ZeroID when that branch does not exist. ErrNotFound if the
	// repository is absent.
	RepoWithHead(ctx context.Context, typ, namespace, name string) (*Repo, gitobj.ID, error)
	// RepoByID returns the repository. ErrNotFound if absent.
	RepoByID(ctx context.Context, id int64) (*Repo, error)
	// UpdateRepo saves Private, Gated, DefaultBranch, AllowForcePush and
	// UpdatedAt. ErrNotFound if absent.
	UpdateRepo(ctx context.Context, r *Repo) error
	// RenameRepo moves a repository to a new full name and records the old
	// one as a redirect. ErrConflict if the new name is taken.
	RenameRepo(ctx context.Context, id int64, namespace, name string) error
	// DeleteRepo removes the repository and everything that belongs to it
	// (refs, objects, LFS links, metadata, redirects). ErrNotFound if absent.
	DeleteRepo(ctx context.Context, id int64) error
	// Redirect returns the repository that used to be called
	// namespace/name. ErrNotFound if none.
	Redirect(ctx context.Context, typ, namespace, name string) (int64, error)
	// ListRepos returns one page of repositories with their metadata.
	ListRepos(ctx context.Context, q RepoQuery) ([]Listing, error)
	// CountRepos counts the repositories a query matches (ignoring Limit
	// and After).
	CountRepos(ctx context.Context, q RepoQuery) (int64, error)
	// SearchDocs returns up to limit repositories that changed at or
	// after since (Unix ms; 0 = every repository), in (ChangedAt, id)
	// order after the position after, for building and refreshing search
	// indexes.
	SearchDocs(ctx context.Context, since int64, after DocCursor, limit int) ([]SearchDoc, error)
	// ReposByIDs returns the listings of the repositories among ids that
	// exist and that the viewer may see, in no particular order.
	ReposByIDs(ctx context.Context, ids []int64, viewerAll bool, viewerNamespaces []string) ([]Listing, error)
}

// Objects stores git objects per repository. Objects are immutable and
// content-addressed, so writing one that exists is a no-op.
type Objects interface {
	// PutObjects stores objects in repository repoID (idempotent).
	// ErrNotFound if the repository does not exist (deleted meanwhile).
	PutObjects(ctx context.Context, repoID int64, objs []gitobj.Object) error
	// GetObject returns an object's content. ErrNotFound if absent.
	GetObject(ctx context.Context, repoID int64, id gitobj.ID) (gitobj.Object, error)
	// StatObjects describes the objects among ids that exist; missing ones
	// are absent from the map.
	StatObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]ObjectInfo, error)
	// PackedObjects returns the objects among ids that repository repoID
	// stores, in the form a git pack carries them when they are stored so
	// (Zlib), else whole (Data), for packs that copy stored bytes rather
	// than compress each object again. Missing ones are absent from the
	// map. The slices belong to the caller.
	PackedObjects(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]PackedObject, error)
	// ObjectsByPrefix returns the ids of up to limit objects of kind in
	// repository repoID whose hex id starts with prefix (1 to 40 lowercase
	// hex digits), in id order; abbreviated commit ids resolve through it.
	ObjectsByPrefix(ctx context.Context, repoID int64, kind gitobj.Kind, prefix string, limit int) ([]gitobj.ID, error)
}

// Refs stores refs with compare-and-swap updates.
type Refs interface {
	// ListRefs returns every ref of a repository, sorted by name.
	ListRefs(ctx context.Context, repoID int64) ([]Ref, error)
	// GetRef returns a ref's target. ErrNotFound if absent.
	GetRef(ctx context.Context, repoID int64, name string) (gitobj.ID, error)
	// UpdateRef moves ref name from old to new atomically: old zero means
	// "must not exist" (create), new zero means delete. ErrConflict if the
	// current value is not old; ErrNotFound if the repository itself does
	// not exist (deleted meanwhile), so that a writer racing a deletion
	// stops instead of retrying.
	UpdateRef(ctx context.Context, repoID int64, name string, old, new gitobj.ID) error
}

// LFSObjects records which verified LFS objects a repository may reference.
// Links are per repository so that knowing a hash never grants access to
// content uploaded elsewhere.
type LFSObjects interface {
	// AddLFSObject links a verified object to a repository (idempotent;
	// linking again refreshes the link's use time, see [Maintenance]).
	// ErrNotFound if the repository does not exist.
	AddLFSObject(ctx context.Context, repoID int64, oid string, size int64) error
	// LFSObject returns the size of a linked object. ErrNotFound if absent.
	LFSObject(ctx context.Context, repoID int64, oid string) (int64, error)
}

// Derived stores metadata derived from a repository's files.
type Derived interface {
	// PutRepoMeta replaces a repository's derived metadata.
	PutRepoMeta(ctx context.Context, repoID int64, m *RepoMeta) error
	// GetRepoMeta returns it. ErrNotFound if nothing was derived yet.
	GetRepoMeta(ctx context.Context, repoID int64) (*RepoMeta, error)
}

// Stats records downloads. Counts are kept per repository and UTC day
// (days since the Unix epoch); the repository's Downloads (last 30 days),
// DownloadsAllTime and Trending follow from them.
type Stats interface {
	// RecordDownloads adds counts (repository id → downloads) to day and
	// refreshes those repositories' counters.
	RecordDownloads(ctx context.Context, day int64, counts map[int64]int64) error
	// RefreshDownloads recomputes the counters of every repository with
	// counts that leave the 30-day (or 7-day trending) window at today.
	RefreshDownloads(ctx context.Context, today int64) error
}

// Like is a repository liked by a user.
type Like struct {
	Repo      Repo
	CreatedAt time.Time
}

// Likes stores likes.
type Likes interface {
	// SetLike likes (on) or unlikes a repository and keeps Repo.Likes in
	// step. It reports whether anything changed.
	SetLike(ctx context.Context, userID, repoID int64, on bool) (bool, error)
	// LikedBy lists the repositories a user likes, newest first.
	LikedBy(ctx context.Context, userID int64, limit int) ([]Like, error)
	// Likers lists the users who like a repository, newest first.
	Likers(ctx context.Context, repoID int64, limit int) ([]User, error)
	// HasLiked reports whether the user likes the repository.
	HasLiked(ctx context.Context, userID, repoID int64) (bool, error)
}

// Child is a repository derived from another.
type Child struct {
	Repo     Repo
	Relation string
}

// Lineage answers model-tree questions from the edges PutRepoMeta
// records.
type Lineage interface {
	// Parents returns a repository's base models as its card names them.
	Parents(ctx context.Context, repoID int64) ([]Edge, error)
	// Children returns repositories of type typ whose card names any of
	// bases (lower-case full names: the repository's name and its old
	// names), optionally of one relation, that the viewer may see.
	Children(ctx context.Context, q ChildQuery) ([]Child, error)
	// ChildCounts counts those children per relation.
	ChildCounts(ctx context.Context, q ChildQuery) (map[string]int64, error)
}

// ChildQuery selects children of a base model.
type ChildQuery struct {
	Type  string
	Bases []string // lower-case full names
	// FormerNamesOf, if not 0, is a repository whose former names (its
	// redirects, from renames) are bases too.
	FormerNamesOf    int64
	Relation         string // "" = any
	ViewerAll        bool
	ViewerNamespaces []string
	Limit            int
}

// ScanRecord is the stored verdict on one content.
type ScanRecord struct {
	Key       string // "lfs:<sha256>" or "git:<sha1>"
	RepoID    int64  // a repository holding the content
	Version   int    // scanner version
	Level     string // safe, suspicious, unsafe, unscanned or error
	Result    []byte // the scanner's JSON result
	ScannedAt time.Time
}

// ScanJob is a content waiting to be scanned.
type ScanJob struct {
	Key    string
	RepoID int64
	Path   string // a path it was committed under (a hint for the report)
	Size   int64
}

// Scans stores scan results and the queue of pending scans.
type Scans interface {
	// PutScan stores (replaces) a result.
	PutScan(ctx context.Context, r *ScanRecord) error
	// GetScans returns the results among keys that exist.
	GetScans(ctx context.Context, keys []string) (map[string]ScanRecord, error)
	// EnqueueScans adds jobs; a key already queued is left as is.
	EnqueueScans(ctx context.Context, jobs []ScanJob) error
	// ClaimScans leases up to n queued jobs not leased by another worker
	// (or whose lease expired), oldest first.
	ClaimScans(ctx context.Context, n int, lease time.Duration) ([]ScanJob, error)
	// FinishScan removes a job from the queue.
	FinishScan(ctx context.Context, key string) error
	// RescanJobs lists, after key (paging), contents whose result is older
	// than version, and LFS objects never scanned.
	RescanJobs(ctx context.Context, version int, after string, limit int) ([]ScanJob, error)
}

// SigningKey is a public key a user registered for model signing.
type SigningKey struct {
	ID        int64
	UserID    int64
	User      string // owner's name (filled by AllSigningKeys)
	Name      string
	PEM       string
	CreatedAt time.Time
}

// SigningKeys stores model-signing public keys.
type SigningKeys interface {
	// AddSigningKey stores k and sets k.ID.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns a user's keys, oldest first.
	ListSigningKeys(ctx context.Context, userID int64) ([]SigningKey, error)
	// AllSigningKeys returns every key with its owner's name.
	AllSigningKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteSigningKey removes one of a user's keys. ErrNotFound if absent.
	DeleteSigningKey(ctx context.Context, userID, id int64) error
}

// Secrets stores server-wide secrets (such as the key that signs upload
// URLs) so that every replica uses the same ones.
type Secrets interface {
	// Secret returns the named secret, creating it from gen on first use.
	// Concurrent first uses agree on one value.
	Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error)
}

// RateCount is one rate-limit counter: the requests of a caller (Subject,
// such as "user:42" or "ip:192.0.2.1") in a bucket ("api", "resolvers",
// "pages") during the fixed window that starts at Window (Unix seconds).
type RateCount struct {
	Subject string
	Bucket  string
	Window  int64
	N       int64
}

// RateCounters stores rate-limit counters shared by every replica. The
// counters are transient: losing them (a crash, a copy to another store)
// only resets the current window.
type RateCounters interface {
	// AddRateCounts adds each element's N to its counter (a missing
	// counter starts at 0) and returns the totals after the additions, in
	// the order given. Each counter is updated atomically; the elements
	// are not one transaction. Elements must name distinct counters.
	AddRateCounts(ctx context.Context, counts []RateCount) ([]int64, error)
	// PruneRateCounts deletes the counters of windows that started before
	// before (Unix seconds).
	PruneRateCounts(ctx context.Context, before int64) error
}

// Usage is what a namespace's repositories store, in bytes.
type Usage struct {
	// LFS sums the LFS objects linked to each repository (an object
	// linked to two repositories counts twice, as each holds it).
	LFS int64
	// Git sums the git objects (commits, trees, regular files, LFS
	// pointers) of each repository, uncompressed.
	Git int64
}

// Quotas stores per-namespace storage limits. Namespaces compare
// case-insensitively; they are user names now and organisation names
// later, so nothing ties a quota to an account.
type Quotas interface {
	// SetQuota sets namespace's limit in bytes; a negative limit removes
	// it (unlimited).
	SetQuota(ctx context.Context, namespace string, limit int64) error
	// Quota returns namespace's limit. ErrNotFound if none is set.
	Quota(ctx context.Context, namespace string) (int64, error)
	// ListQuotas returns every limit, keyed by lower-case namespace.
	ListQuotas(ctx context.Context) (map[string]int64, error)
	// NamespaceUsage measures what namespace's repositories store. It
	// reads every LFS link and git object of the namespace: cheap for a
	// user, not something to call per request of a large namespace.
	NamespaceUsage(ctx context.Context, namespace string) (Usage, error)
	// NamespaceRepoUsage lists namespace's repositories, each with what
	// it stores, by type then name. It reads what NamespaceUsage reads.
	NamespaceRepoUsage(ctx context.Context, namespace string) ([]RepoUsage, error)
}

// RepoUsage is a repository and what it stores.
type RepoUsage struct {
	Repo Repo
	Usage
}

// Tx is everything a unit of work can touch.
type Tx interface {
	Users
	Tokens
	Repos
	Objects
	Refs
	LFSObjects
	Derived
	Secrets
	Stats
	Likes
	Lineage
	Scans
	SigningKeys
	RateCounters
	Quotas
	Orgs
	AccessRequests
	Audit
	ExternalIdentities
	Maintenance
	Xet
	Mirrors
	// ListAllRepoIDs pages through every repository id (for reindexing).
	ListAllRepoIDs(ctx context.Context, after int64, limit int) ([]int64, error)
}

// Store is a metadata store. Its methods outside InTx each run in their own
// short transaction.
type Store interface {
	Tx
	// InTx runs fn in one transaction: all of its writes land or none do.
	// If fn returns an error the transaction is rolled back and the error
	// returned unchanged. Implementations may retry fn when the database
	// reports a serialisation failure, so fn must not have side effects
	// outside tx.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Ping checks that the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
