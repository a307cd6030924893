// Package hub is Agora's domain: repositories, revisions, commits with
// compare-and-swap on refs, permissions, uploads and the metadata derived
// from a repository's files. Business rules live here only; handlers parse
// and encode, stores persist.
//
// It owns the error vocabulary (errors.go): store errors are translated at
// this boundary, and a private repository the caller may not see is always
// reported as ErrRepoNotFound.
package hub

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Config holds the domain's limits and policies.
type Config struct {
	// LFSThreshold: files larger than this must be LFS (the Hub uses 10 MiB).
	LFSThreshold int64
	// MaxRegularFile bounds a regular (non-LFS) file in a commit.
	MaxRegularFile int64
	// MaxCommitBytes bounds the regular-file content of one commit.
	MaxCommitBytes int64
	// MaxLFSFile bounds one LFS object.
	MaxLFSFile int64
	// MultipartThreshold: LFS uploads larger than this are offered the
	// multipart transfer, in parts of MultipartChunk bytes.
	MultipartThreshold int64
	MultipartChunk     int64
	// UploadURLTTL is how long signed upload/download URLs stay valid.
	UploadURLTTL time.Duration
	// DirectUploads lets clients upload multipart parts straight to the
	// blob store when it can presign URLs (S3); off when clients cannot
	// reach the store (--blobs-proxy).
	DirectUploads bool
	// ScanPolicy is PolicyFlag (default) or PolicyBlock.
	ScanPolicy string
	// SigningRoots are the CA roots certificate-based model signatures
	// must chain to (nil: only key-based signatures verify).
	SigningRoots *x509.CertPool
}

// DefaultConfig returns the defaults documented in the README.
func DefaultConfig() Config {
	return Config{
		LFSThreshold:       10 << 20,
		MaxRegularFile:     10 << 20,
		MaxCommitBytes:     1 << 30,
		MaxLFSFile:         500 << 30,
		MultipartThreshold: 1 << 30,
		MultipartChunk:     100 << 20,
		UploadURLTTL:       24 * time.Hour,
		ScanPolicy:         PolicyFlag,
	}
}

// Service is the hub. It is safe for concurrent use.
type Service struct {
	lg    *slog.Logger
	cfg   Config
	meta  meta.Store
	blobs blob.Store
	cache *objectCache

	// commitLocks serialises commits to one branch inside this process,
	// which saves compare-and-swap retries; correctness across replicas
	// comes from the compare-and-swap alone.
	commitLocks keyedMutex

	signingKey []byte
	counts     *counter
	scanWake   chan struct{}
	// stats and commits cache what follows from object ids
	// (commitcache.go).
	stats    *lru[commitKey, meta.ObjectInfo]
	commits  *lru[commitKey, *commitView]
	decoded  *lru[commitKey, *gitobj.Commit] // commits decoded (commitcache.go)
	children childCounts
	rows     *lru[int64, *cachedRow] // listing rows by change stamp (listing.go)
	refs     *lru[refKey, refEntry]  // refs by data version (refcache.go)
	settle   time.Duration           // how old a stamp must be for its row to be kept
	// index answers listings when set (UseIndex, listing.go).
	index atomic.Pointer[indexRef]
	// ns remembers which namespaces are organisations (authz.go).
	ns nsCache
	// repoRows keeps repository rows for reads for a second (authz.go).
	repoRows repoRowCache
	// scanStatus keeps scan statuses for a second (security.go).
	scanStatus scanStatusCache

	// Mirror answers for repositories mirrored from upstream hubs (see
	// mirror.go); nil when no upstream is configured. Set it before
	// serving.
	Mirror Mirror
}

// New builds the service. It reads (creating on first start) the secret
// that signs upload URLs, shared by every replica through the store.
func New(ctx context.Context, lg *slog.Logger, cfg Config, m meta.Store, b blob.Store) (*Service, error) {
	key, err := m.Secret(ctx, "upload-signing-key", func() []byte {
		k := make([]byte, 32)
		rand.Read(k)
		return k
	})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	return &Service{lg: lg, cfg: cfg, meta: m, blobs: b, cache: newObjectCache(64 << 20), signingKey: key,
		stats: newStatCache(), commits: newCommitCache(), rows: newLRU[int64](rowCacheBytes, rowSize), settle: settledStamp,
		refs:     newLRU[refKey](refCacheBytes, refSize),
		decoded:  newDecodedCache(),
		counts:   &counter{pending: map[int64]int64{}, recent: map[string]time.Time{}},
		scanWake: make(chan struct{}, 1)}, nil
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Ping checks both stores (for /readyz).
func (s *Service) Ping(ctx context.Context) error {
	if err := s.meta.Ping(ctx); err != nil {
		return fmt.Errorf("metadata store: %w", err)
	}
	if err := s.blobs.Ping(ctx); err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	return nil
}

// Authenticate resolves a token secret. Unknown tokens are ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, secret auth.Secret) (*auth.Identity, error) {
	id, err := auth.Authenticate(ctx, s.meta, secret)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		return nil, &Error{Kind: ErrUnauthenticated, Msg: "Invalid credentials in Authorization header"}
	}
	return id, err
}

func newPublicID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keyedMutex is a set of mutexes created on demand and dropped when idle.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedEntry{}
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// idString formats a commit id for messages.
func idString(id gitobj.ID) string { return id.String() }
