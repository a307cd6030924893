package meta

import (
	"context"
	"time"
)

// XetXorb is a xorb the CAS stored in the blob store's xorb key space.
// Hashes here and below are Xet hashes in their text form (64 lowercase
// hex digits, package xet's Hash.String).
type XetXorb struct {
	Hash    string
	Size    int64 // serialized bytes stored
	RawSize int64 // content bytes
	Chunks  int
	// Index locates each chunk in the stored bytes, in the encoding of
	// package xet (Index.MarshalBinary); the store keeps it opaque.
	// Listings leave it nil.
	Index     []byte
	CreatedAt time.Time
	// UsedAt is when a shard or a dedup answer last named the xorb:
	// clients keep dedup shards for weeks and may reference the xorb
	// without uploading it again, so garbage collection spares xorbs used
	// recently even when no file needs them.
	UsedAt time.Time
}

// XetFile is a file registered through a Xet shard.
type XetFile struct {
	Hash string
	// SHA256 is the content's SHA-256 (the LFS oid), computed by the CAS
	// from the stored chunks before the file was registered: never a
	// client's claim.
	SHA256 string
	Size   int64
	// Layout is the file's terms with the positions of their chunks in
	// the xorbs, in the encoding of the CAS (opaque here), so that one
	// read answers a reconstruction. Listings leave it nil.
	Layout []byte
	// Xorbs are the xorbs the terms name. Only RegisterXetFiles and
	// XetFile use it.
	Xorbs []string
	// Provenance: the repository whose write token registered the file
	// first, and its user (0 when unknown).
	RepoID, UserID int64
	CreatedAt      time.Time
	// RegisteredAt is when a shard last registered the file; garbage
	// collection treats it as the file's age.
	RegisteredAt time.Time
}

// XetDedup is an entry of the global-dedup index: a chunk, the xorb that
// holds it and, for the first chunk of a file, that file.
type XetDedup struct {
	Chunk, Xorb string
	File        string // "" unless Chunk starts File
}

// Xet stores what the Xet CAS knows: xorbs, registered files with their
// layouts, and the global-dedup index. Which repositories may read a file
// is not here: a repository reads a Xet file when it links the file's
// SHA-256 like any LFS object (LFSObjects), and the CAS makes that link
// when a shard is uploaded with the repository's write token.
type Xet interface {
	// PutXetXorb records a stored xorb. A xorb already recorded keeps its
	// record and only has its use time refreshed; it reports whether the
	// record is new.
	PutXetXorb(ctx context.Context, x *XetXorb) (bool, error)
	// TouchXetXorbs sets the use time of the recorded xorbs among hashes
	// to now (a dedup answer named them); it never creates a record.
	TouchXetXorbs(ctx context.Context, hashes []string, now time.Time) error
	// XetXorbs returns the records, Index included, of the xorbs among
	// hashes that are recorded.
	XetXorbs(ctx context.Context, hashes []string) (map[string]*XetXorb, error)
	// RegisterXetFiles records files and dedup entries in one
	// transaction, refreshing the use time of every xorb the files name
	// (their Xorbs), which must all be recorded: otherwise it returns
	// ErrNotFound and writes nothing. A file already recorded keeps its
	// record and has its RegisteredAt refreshed. It returns how many files
	// were new.
	RegisterXetFiles(ctx context.Context, files []XetFile, dedup []XetDedup, now time.Time) (int, error)
	// XetFile returns a file with its Layout and Xorbs. ErrNotFound if
	// absent.
	XetFile(ctx context.Context, hash string) (*XetFile, error)
	// XetFileInRepo returns a file with its Layout if repository repoID
	// links its SHA-256, in one indexed read: what every reconstruction
	// asks. ErrNotFound if the file is absent or not linked.
	XetFileInRepo(ctx context.Context, repoID int64, hash string) (*XetFile, error)
	// XetFilesBySHA256 returns, for each of oids that a Xet file has, the
	// most recently registered such file, without Layout.
	XetFilesBySHA256(ctx context.Context, oids []string) (map[string]*XetFile, error)
	// XetFilesAfter returns up to limit files whose hash sorts after
	// after, in hash order, without Layout (for listings and fsck).
	XetFilesAfter(ctx context.Context, after string, limit int) ([]XetFile, error)
	// DeleteXetFiles removes the files of content sha256 and reports how
	// many there were.
	DeleteXetFiles(ctx context.Context, sha256 string) (int, error)
	// XetDedup returns the dedup entry of a chunk. ErrNotFound if absent.
	XetDedup(ctx context.Context, chunk string) (*XetDedup, error)
	// XetXorbsAfter returns up to limit xorbs whose hash sorts after
	// after, in hash order, without Index (for garbage collection).
	XetXorbsAfter(ctx context.Context, after string, limit int) ([]XetXorb, error)
	// DeleteXetXorb removes a xorb's record and its dedup entries if no
	// file names the xorb and it was last used before before; it reports
	// whether it did. A RegisterXetFiles racing with it either fails with
	// ErrNotFound or, having refreshed the use time to a time after
	// before, keeps the xorb: the use time, not the file rows, is what
	// decides a race.
	DeleteXetXorb(ctx context.Context, hash string, before time.Time) (bool, error)
}
