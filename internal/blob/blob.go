// Package blob defines the content-addressed store of large file content
// (git-lfs objects), keyed by the SHA-256 of the bytes.
//
// Content is verified on the way in: a [Writer] hashes and counts what it
// receives and publishes the object in one atomic step only when the digest
// and size match what was declared; otherwise nothing is left behind
// (DESIGN.md decision 3). Readers never see a partial object.
//
// The interface is made of small roles; optional capabilities (presigned
// URLs) are separate interfaces found with the helpers at the bottom, like
// io/fs does. Every implementation passes the suite in blobtest against a
// real backend. The package imports nothing outside the standard library.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"time"
)

// Sentinel errors; implementations wrap them.
var (
	// ErrNotFound: no object with that oid.
	ErrNotFound = errors.New("blob: not found")
	// ErrDigestMismatch: the bytes written do not hash to the declared oid.
	ErrDigestMismatch = errors.New("blob: sha256 mismatch")
	// ErrSizeMismatch: more or fewer bytes than declared were written.
	ErrSizeMismatch = errors.New("blob: size mismatch")
	// ErrInvalid: a malformed oid, size or upload id.
	ErrInvalid = errors.New("blob: invalid argument")
	// ErrNoSpace: the backend is full (disk full, quota reached); nothing
	// of the failed write is kept.
	ErrNoSpace = errors.New("blob: storage is full")
)

// Info describes a stored object.
type Info struct {
	OID  string // SHA-256, 64 lowercase hex
	Size int64
	// ModTime is when the object was published, as the backend records
	// it; Stat and List set it (garbage collection spares recent
	// objects), other methods may leave it zero.
	ModTime time.Time
}

// File is an open object. For the filesystem store it is the *os.File
// itself, so that http.ServeContent can use sendfile.
type File interface {
	io.Reader
	io.Seeker
	io.ReaderAt
	io.Closer
}

// Statter reports whether an object exists.
type Statter interface {
	// Stat returns the object's info, or ErrNotFound.
	Stat(ctx context.Context, oid string) (Info, error)
}

// Opener reads objects.
type Opener interface {
	// Open returns the object for reading; the caller closes it.
	// ErrNotFound if absent. Cancelling ctx after Open returns does not
	// affect reads.
	Open(ctx context.Context, oid string) (File, Info, error)
}

// Writer receives an object's bytes. Exactly one of Commit or Abort must
// be called.
type Writer interface {
	io.Writer
	// Commit verifies the size and digest and publishes the object
	// atomically. On mismatch it returns ErrSizeMismatch or
	// ErrDigestMismatch and removes everything it wrote. Committing an
	// object that already exists succeeds without rewriting it.
	Commit(ctx context.Context) (Info, error)
	// Abort discards what was written. It is safe after a failed Commit.
	Abort() error
}

// Creator writes new objects.
type Creator interface {
	// Create starts writing the object oid of the declared size. Writes
	// past the declared size fail with ErrSizeMismatch at once.
	Create(ctx context.Context, oid string, size int64) (Writer, error)
}

// Part is one received part of a multipart upload.
type Part struct {
	Number int // 1-based
	ETag   string
}

// Multipart receives an object in independently uploaded parts (the HF
// multipart LFS transfer). Parts may arrive in any order and in parallel;
// the object becomes visible only after CompleteMultipart verified it.
type Multipart interface {
	// StartMultipart begins an upload and returns its id.
	StartMultipart(ctx context.Context, oid string, size int64) (uploadID string, err error)
	// UploadPart stores part n of the upload; re-uploading a part replaces
	// it. It returns the part's ETag.
	UploadPart(ctx context.Context, uploadID string, n int, r io.Reader, size int64) (etag string, err error)
	// CompleteMultipart assembles parts in order, verifies size and digest
	// against oid and publishes the object; on any failure nothing becomes
	// visible and the upload is discarded.
	CompleteMultipart(ctx context.Context, uploadID, oid string, size int64, parts []Part) (Info, error)
	// AbortMultipart discards an upload and its parts.
	AbortMultipart(ctx context.Context, uploadID string) error
}

// Deleter removes objects.
type Deleter interface {
	// Delete removes an object; ErrNotFound if absent.
	Delete(ctx context.Context, oid string) error
}

// Lister enumerates objects (for garbage collection and migration).
type Lister interface {
	// List yields every stored object. Objects written during the
	// iteration may or may not be yielded.
	List(ctx context.Context) iter.Seq2[Info, error]
}

// Store is a complete blob store. Implementations are safe for concurrent
// use, also by several processes sharing the same backend.
type Store interface {
	Statter
	Opener
	Creator
	Multipart
	Deleter
	Lister
	// Ping checks the backend answers (for /readyz).
	Ping(ctx context.Context) error
}

// Redirector is the optional capability of handing out a URL from which a
// client downloads an object directly (a presigned GET).
type Redirector interface {
	// RedirectURL returns a URL valid for ttl, or "" when the store cannot
	// give one for this object.
	RedirectURL(ctx context.Context, oid string, ttl time.Duration, filename string) (string, error)
}

// PartPresigner is the optional capability of handing out URLs to which
// a client uploads the parts of a multipart upload directly; the ETags it
// gets back are passed to CompleteMultipart, which still verifies.
type PartPresigner interface {
	// PresignPart returns a URL valid for ttl to PUT part n (1-based).
	PresignPart(ctx context.Context, uploadID string, n int, ttl time.Duration) (string, error)
}

// Keyspace holds a family of objects kept beside the LFS content but
// named by their caller rather than by their SHA-256: Xet xorbs, named by
// their Merkle hash, whose content only the caller can check. Its objects
// live under their own key prefix: the store's List, Stat and Delete
// never see them, so garbage collection of LFS content leaves them alone.
// Keys are 64 lowercase hex digits, like oids. A Keyspace is safe for
// concurrent use.
type Keyspace interface {
	Statter
	Opener
	Deleter
	Lister
	// Create starts writing object key of size bytes (a negative size:
	// not known in advance). The writer's Commit checks only the size and
	// publishes atomically: the caller checks the content as it streams
	// through and calls Abort when it is wrong. Committing an object that
	// already exists succeeds without rewriting it.
	Create(ctx context.Context, key string, size int64) (Writer, error)
}

// Keyspaces is the optional capability of a store to hold other families
// of objects, each in a key space of its own (see [OpenKeyspace]).
type Keyspaces interface {
	// Keyspace returns the key space called name (lowercase letters;
	// "objects", "tmp" and "uploads" are the store's own), creating it on
	// first use.
	Keyspace(name string) (Keyspace, error)
}

// RangeRedirector is the optional capability of a key space to hand out a
// URL from which a client downloads bytes [from, to) of an object directly
// (a presigned, range-bound GET). The client must send exactly the header
// "Range: bytes=from-(to-1)"; other ranges are refused.
type RangeRedirector interface {
	// RangeURL returns a URL valid for ttl, or "" when the space cannot
	// give one.
	RangeURL(ctx context.Context, key string, from, to int64, ttl time.Duration) (string, error)
}

// ErrUnsupported: the store lacks an optional capability.
var ErrUnsupported = errors.New("blob: not supported by this store")

// OpenKeyspace returns s's key space name, or an error wrapping
// ErrUnsupported when s cannot hold one.
func OpenKeyspace(s any, name string) (Keyspace, error) {
	ks, ok := s.(Keyspaces)
	if !ok {
		return nil, fmt.Errorf("key space %s: %w", name, ErrUnsupported)
	}
	return ks.Keyspace(name)
}

// CheckKeyspace validates a key space name for implementations.
func CheckKeyspace(name string) error {
	switch name {
	case "", "objects", "tmp", "uploads":
		return fmt.Errorf("%w: key space name %q", ErrInvalid, name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 'a' || name[i] > 'z' {
			return fmt.Errorf("%w: key space name %q", ErrInvalid, name)
		}
	}
	return nil
}

// RedirectURL returns s's direct URL for oid, or "" if s cannot give one.
func RedirectURL(ctx context.Context, s any, oid string, ttl time.Duration, filename string) (string, error) {
	r, ok := s.(Redirector)
	if !ok {
		return "", nil
	}
	return r.RedirectURL(ctx, oid, ttl, filename)
}

// CheckOID validates an oid (64 lowercase hex).
func CheckOID(oid string) error {
	if len(oid) != 64 {
		return fmt.Errorf("%w: oid %q is not 64 hex digits", ErrInvalid, oid)
	}
	for i := 0; i < len(oid); i++ {
		c := oid[i]
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			return fmt.Errorf("%w: oid %q is not lowercase hex", ErrInvalid, oid)
		}
	}
	return nil
}

// Verifier hashes and counts bytes as they are written and checks them
// against a declared oid and size.
type Verifier struct {
	oid  string
	size int64
	n    int64
	h    hash.Hash
}

// NewVerifier starts verifying content declared as oid and size.
func NewVerifier(oid string, size int64) *Verifier {
	return &Verifier{oid: oid, size: size, h: sha256.New()}
}

// NewSizeVerifier starts checking only the size of content whose name is
// not its SHA-256 (objects of a [Keyspace], whose caller checks the
// content); a negative size checks nothing.
func NewSizeVerifier(size int64) *Verifier {
	return &Verifier{size: size}
}

// Write hashes p. It fails with ErrSizeMismatch, writing nothing, if p
// would take the content past the declared size.
func (v *Verifier) Write(p []byte) (int, error) {
	if v.size >= 0 && v.n+int64(len(p)) > v.size {
		return 0, fmt.Errorf("%w: more than the declared %d bytes", ErrSizeMismatch, v.size)
	}
	v.n += int64(len(p))
	if v.h != nil {
		v.h.Write(p)
	}
	return len(p), nil
}

// Written returns the number of bytes seen.
func (v *Verifier) Written() int64 { return v.n }

// Check reports whether the content seen matches the declaration.
func (v *Verifier) Check() error {
	if v.size >= 0 && v.n != v.size {
		return fmt.Errorf("%w: got %d bytes, declared %d", ErrSizeMismatch, v.n, v.size)
	}
	if v.h == nil {
		return nil
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.oid {
		return fmt.Errorf("%w: got %s, declared %s", ErrDigestMismatch, got, v.oid)
	}
	return nil
}

// CopyBuffered copies r into w through a 1 MiB buffer. Writers use it to
// implement io.ReaderFrom, so that io.Copy hands them large writes (and
// hashing and storage work in big chunks) instead of 32 KiB ones.
func CopyBuffered(w io.Writer, r io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{w}, r, make([]byte, 1<<20))
}
