package cas

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agorahub/agora/internal/blob"
)

// DefaultXorbGrace is how long an unreferenced xorb is kept after it was
// last used. hf_xet keeps the shards it uploaded in a local cache for
// three weeks and deduplicates later uploads against their xorbs without
// uploading them again (MDB_SHARD_LOCAL_CACHE_EXPIRATION): deleting such a
// xorb sooner fails those uploads.
const DefaultXorbGrace = 21 * 24 * time.Hour

// XorbGCStats is what a collection of xorbs did.
type XorbGCStats struct {
	Xorbs      int   // xorbs recorded
	Bytes      int64 // their stored size
	Recent     int   // used within the grace period (or, with DryRun, unused but maybe named by a file)
	Deleted    int   // xorbs deleted (with DryRun: candidates)
	BytesFreed int64
	Orphans    int // stored objects without a record, deleted
}

// CollectXorbs deletes the xorbs no registered file names and nobody used
// for grace, then stored xorb objects that have no record and are older
// than grace (uploads that failed half-way). Files themselves are
// forgotten by the hub's garbage collection, which sees them through the
// Overlay as LFS objects: a file whose SHA-256 no repository links or
// stores is collected like an unreferenced LFS object, and its xorbs
// follow here once their grace has passed. grace must exceed the life of
// dedup answers (Config.DedupExpiry).
//
// Safety. A xorb's record is deleted only in a statement conditional on
// its use time being older than the cutoff and on no file naming it; an
// upload or a shard naming it refreshes that time first (meta.Xet). The
// object is deleted after its record. A client that uploads the same
// xorb again in the milliseconds between the two deletes has its record
// restored and its object deleted: that is detected, logged, and the
// record removed again, so the client's shard is refused (400) and it
// uploads the xorb anew, rather than a file being registered on a xorb
// that is gone.
func (s *Service) CollectXorbs(ctx context.Context, grace time.Duration, dryRun bool) (XorbGCStats, error) {
	var st XorbGCStats
	if grace < s.cfg.DedupExpiry {
		return st, fmt.Errorf("xorb gc: a grace period of %v is shorter than the life of dedup answers (%v)", grace, s.cfg.DedupExpiry)
	}
	cutoff := time.Now().Add(-grace)
	after := ""
	for {
		page, err := s.meta.XetXorbsAfter(ctx, after, 500)
		if err != nil {
			return st, fmt.Errorf("xorb gc: %w", err)
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].Hash
		for _, x := range page {
			st.Xorbs++
			st.Bytes += x.Size
			if !x.UsedAt.Before(cutoff) {
				st.Recent++
				continue
			}
			if dryRun {
				st.Deleted++
				st.BytesFreed += x.Size
				continue
			}
			gone, err := s.meta.DeleteXetXorb(ctx, x.Hash, cutoff)
			if err != nil {
				return st, fmt.Errorf("xorb gc: %w", err)
			}
			if !gone {
				st.Recent++
				continue
			}
			if err := s.xorbs.Delete(ctx, x.Hash); err != nil && !errors.Is(err, blob.ErrNotFound) {
				return st, fmt.Errorf("xorb gc: delete %s: %w", x.Hash, err)
			}
			st.Deleted++
			st.BytesFreed += x.Size
			s.lg.InfoContext(ctx, "xorb gc: xorb deleted", "xorb", x.Hash, "size", x.Size)
			if again, err := s.meta.XetXorbs(ctx, []string{x.Hash}); err == nil && again[x.Hash] != nil {
				s.lg.WarnContext(ctx, "xorb gc: a xorb was uploaded again while it was deleted; its record is removed and its client must upload it again", "xorb", x.Hash)
				if _, err := s.meta.DeleteXetXorb(ctx, x.Hash, farFuture()); err != nil {
					return st, fmt.Errorf("xorb gc: %w", err)
				}
			}
		}
	}
	// Objects without a record: an upload whose store write succeeded
	// but whose record was removed (see UploadXorb).
	var batch []blob.Info
	flush := func() error {
		names := make([]string, len(batch))
		for i, b := range batch {
			names[i] = b.OID
		}
		recs, err := s.meta.XetXorbs(ctx, names)
		if err != nil {
			return err
		}
		for _, b := range batch {
			if recs[b.OID] != nil || b.ModTime.IsZero() || !b.ModTime.Before(cutoff) {
				continue
			}
			if !dryRun {
				if err := s.xorbs.Delete(ctx, b.OID); err != nil && !errors.Is(err, blob.ErrNotFound) {
					return err
				}
			}
			st.Orphans++
			st.BytesFreed += b.Size
		}
		batch = batch[:0]
		return nil
	}
	for info, err := range s.xorbs.List(ctx) {
		if err != nil {
			return st, fmt.Errorf("xorb gc: %w", err)
		}
		if batch = append(batch, info); len(batch) == 100 {
			if err := flush(); err != nil {
				return st, fmt.Errorf("xorb gc: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return st, fmt.Errorf("xorb gc: %w", err)
	}
	return st, nil
}
