package meta

import (
	"context"
	"time"
)

// LFSLink is a repository's link to a verified LFS object (see
// [LFSObjects]), or, from [Maintenance.LFSPointers], an object a stored
// pointer names.
type LFSLink struct {
	OID  string
	Size int64
	// UsedAt is when the link was made or last used by an upload, a batch
	// answer or a commit (zero from LFSPointers).
	UsedAt time.Time
}

// Maintenance is what consistency checks (fsck), garbage collection and
// backups need beyond the everyday roles.
//
// The garbage collector's safety rests on one rule that every writer
// follows through UseLFSObject: an LFS object enters a commit only through
// a link whose use time is refreshed, in the same statement that checks it,
// when the commit is prepared. UnlinkLFSObject is conditional on that time,
// so a collector and a committer racing on one link cannot both win (see
// hub's gc.go for the whole argument).
type Maintenance interface {
	// LFSPointers returns the distinct LFS objects named by the pointer
	// blobs stored in repository repoID, whether a ref reaches them or
	// not: every stored commit is a revision (it resolves by id).
	LFSPointers(ctx context.Context, repoID int64) ([]LFSLink, error)
	// LFSLinks returns the links of repository repoID, in oid order.
	LFSLinks(ctx context.Context, repoID int64) ([]LFSLink, error)
	// UseLFSObject checks that repository repoID links oid and, in the same
	// statement, sets the link's use time to now. It returns the object's
	// size, or ErrNotFound if there is no link.
	UseLFSObject(ctx context.Context, repoID int64, oid string) (int64, error)
	// UnlinkLFSObject removes repoID's link to oid if its use time is
	// before before (zero: whatever its time), reporting whether it did.
	UnlinkLFSObject(ctx context.Context, repoID int64, oid string, before time.Time) (bool, error)
	// LFSLinkers returns the repositories that link oid, in id order.
	LFSLinkers(ctx context.Context, oid string) ([]int64, error)
	// QueuedScans returns the keys among keys that wait in the scan queue.
	QueuedScans(ctx context.Context, keys []string) (map[string]bool, error)
}
