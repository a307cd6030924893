package cas

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/meta"
)

// Store is what the service needs of the metadata store.
type Store interface {
	meta.Xet
	// AddLFSObject links an object to a repository (meta.LFSObjects):
	// registered files are linked to the repository of the write token.
	AddLFSObject(ctx context.Context, repoID int64, oid string, size int64) error
	// Secret returns a server-wide secret (meta.Secrets).
	Secret(ctx context.Context, name string, gen func() []byte) ([]byte, error)
}

// Config holds the service's limits and policies.
type Config struct {
	// TokenTTL is the life of CAS access tokens (Hugging Face: 15 min);
	// clients refresh them before they expire.
	TokenTTL time.Duration
	// DataURLTTL is the life of xorb data URLs; clients ask for a new
	// reconstruction when one has expired.
	DataURLTTL time.Duration
	// MaxXorbSize bounds a xorb upload (serialized, old clients' footer
	// included).
	MaxXorbSize int64
	// MaxShardSize bounds a shard upload.
	MaxShardSize int64
	// MaxFileSize bounds a file registered by a shard (0: no bound), as
	// the hub bounds LFS objects: registering one means reading it back.
	MaxFileSize int64
	// ProxyData serves xorb bytes through the CAS's own data route even
	// when the blob store could presign them (clients cannot reach it).
	ProxyData bool
	// DedupExpiry is how long clients may keep a global-dedup answer.
	// Garbage collection must spare xorbs for longer than that.
	DedupExpiry time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		TokenTTL:    15 * time.Minute,
		DataURLTTL:  time.Hour,
		MaxXorbSize: 72 << 20, // clients cut xorbs at 64 MiB of content
		// huggingface.js cuts shards at 64 MiB; hf_xet's are smaller.
		MaxShardSize: 64 << 20,
		DedupExpiry:  7 * 24 * time.Hour,
	}
}

// XorbSpace is the blob store key space of xorbs.
const XorbSpace = "xorbs"

// Service is the CAS. It is safe for concurrent use.
type Service struct {
	lg    *slog.Logger
	cfg   Config
	meta  Store
	xorbs blob.Keyspace
	key   []byte // signs tokens and data URLs
}

// New builds the service on the metadata store and the blob store's xorb
// key space. It reads (creating on first start) the key that signs tokens
// and data URLs, shared by every replica through the store.
func New(ctx context.Context, lg *slog.Logger, cfg Config, m Store, xorbs blob.Keyspace) (*Service, error) {
	def := DefaultConfig()
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = def.TokenTTL
	}
	if cfg.DataURLTTL <= 0 {
		cfg.DataURLTTL = def.DataURLTTL
	}
	if cfg.MaxXorbSize <= 0 {
		cfg.MaxXorbSize = def.MaxXorbSize
	}
	if cfg.MaxShardSize <= 0 {
		cfg.MaxShardSize = def.MaxShardSize
	}
	if cfg.DedupExpiry <= 0 {
		cfg.DedupExpiry = def.DedupExpiry
	}
	key, err := m.Secret(ctx, "xet-cas-key", func() []byte {
		k := make([]byte, 32)
		rand.Read(k)
		return k
	})
	if err != nil {
		return nil, fmt.Errorf("cas: %w", err)
	}
	return &Service{lg: lg, cfg: cfg, meta: m, xorbs: xorbs, key: key}, nil
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// Error kinds. Every error the service returns for a client's mistake
// wraps one of them, with a message fit for the client; other errors are
// internal.
var (
	ErrUnauthorized = errors.New("missing, malformed or expired CAS token") // 401
	ErrForbidden    = errors.New("forbidden")                               // 403
	ErrInvalid      = errors.New("invalid")                                 // 400
	ErrTooLarge     = errors.New("too large")                               // 413
	ErrNotFound     = errors.New("not found")                               // 404
	ErrRange        = errors.New("range not satisfiable")                   // 416
)

// Error is an error for the client: Kind says which, Msg what to tell
// the client, Err (optional) the detail for the log.
type Error struct {
	Kind error
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

// Unwrap lets errors.Is find the kind and the cause.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
