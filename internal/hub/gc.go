package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/agorahub/agora/internal/blob"
)

// DefaultGCGrace is how old an unreferenced LFS object (and an unused
// upload link) must be before garbage collection deletes it.
const DefaultGCGrace = 24 * time.Hour

// GCRoots is a source of live blob keys that another subsystem adds to the
// collector's mark: Live calls keep for every key of the blob store it
// still needs. Xet storage plugs in here: a CAS whose xorbs live in the
// same blob store as LFS content passes a GCRoots whose Live keeps every
// xorb a registered file reconstructs from; GC then never deletes them.
// Live must be safe to call while the hub runs and must not miss keys
// that existed when it started (keys published later are spared by the
// grace period, like fresh LFS uploads).
type GCRoots struct {
	Name string
	Live func(ctx context.Context, keep func(key string)) error
}

// GCOptions configure [Service.GC].
type GCOptions struct {
	// Grace spares what is younger: blobs published and links used less
	// than Grace ago. It must exceed the longest time between an upload
	// (or a batch answer) and the commit that uses it, and the time a
	// commit takes from its preparation to its landing.
	Grace time.Duration
	// DryRun reports what would be deleted and deletes nothing.
	DryRun bool
	// Roots add live keys of other subsystems (see [GCRoots]).
	Roots []GCRoots
	// Deleted, if set, is called for every object deleted (or, with
	// DryRun, that would be).
	Deleted func(oid string, size int64)
}

// GCStats is what a collection did.
type GCStats struct {
	Repos        int   // repositories marked
	Blobs        int   // objects in the blob store
	Bytes        int64 // their total size
	Live         int   // objects referenced or linked
	Recent       int   // unreferenced objects spared by the grace period
	Deleted      int   // objects deleted (or that would be, with DryRun)
	BytesFreed   int64
	LinksRemoved int // upload links dropped (or that would be)
}

// GC deletes the LFS objects no repository references: content of
// deleted repositories and of uploads never committed. It runs safely
// while uploads and commits continue, on every deployment, and from any
// number of processes at once.
//
// Mark. Every pointer blob stored in a repository counts, reachable from
// a ref or not: Agora keeps every git object it stored, and an old commit
// (of a squashed history, say) still resolves by id and can start a new
// branch, so its files are still a revision's. Links (repo_lfs) are
// per-repository permissions to use an object; a link whose repository
// stores no pointer to it and that nobody used for Grace is an abandoned
// upload, and is removed. Other links count as live.
//
// Sweep. An object of the blob store that is neither marked nor linked
// now, nor published less than Grace ago, is deleted.
//
// Why a commit in flight cannot lose its object. A commit (or push) puts
// an LFS object into a tree only after meta.Maintenance.UseLFSObject found
// the repository's link and, in the same statement, set its use time to
// the moment t0 of the commit's preparation; the commit lands at t2, and
// t2 - t0 < Grace by the definition of Grace. Suppose the sweep deletes the
// object at t3 after checking at tc < t3 that no link to it exists, and
// the commit lands after tc. If t0 < tc, the link existed at t0 with use
// time t0 > t2 - Grace > tc - Grace >= start - Grace, the cutoff, so the
// mark (whose UnlinkLFSObject is conditional on a use time before the
// cutoff, evaluated on the row the commit wrote) did not remove it and it
// still existed at tc: contradiction. If t0 > tc, the link was made after
// tc by an upload, which had published the object or found it present just
// before linking it. Had it published it, the sweep, which re-reads the
// object's time just before deleting it, would have found it younger than
// Grace and spared it. So the upload found the old object present and
// linked it after tc, and its client's commit was prepared before t3: all
// within the few milliseconds of three store calls (link check, stat,
// delete). That window is the one assumption left. A link to the object
// found after the delete is dropped if the object is still missing, so a
// client racing there uploads again instead of committing.
//
// Content-addressed objects make the rest simple: re-uploading an object
// gc deleted writes it again, and two collectors racing delete the same
// objects (the second Delete finds nothing).
func (s *Service) GC(ctx context.Context, o GCOptions) (GCStats, error) {
	var st GCStats
	if o.Grace < 0 {
		return st, errors.New("gc: negative grace period")
	}
	cutoff := time.Now().Add(-o.Grace)
	live := map[string]bool{}
	// A dry run removes no link, so it remembers which it would have.
	unlinked := map[string][]int64{}
	var after int64
	for {
		ids, err := s.meta.ListAllRepoIDs(ctx, after, 500)
		if err != nil {
			return st, fmt.Errorf("gc: list repositories: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			after = id
			if err := s.markRepo(ctx, id, cutoff, o.DryRun, live, unlinked, &st); err != nil {
				return st, err
			}
		}
	}
	for _, r := range o.Roots {
		if err := r.Live(ctx, func(key string) { live[key] = true }); err != nil {
			return st, fmt.Errorf("gc: roots of %s: %w", r.Name, err)
		}
	}
	for info, err := range s.blobs.List(ctx) {
		if err != nil {
			return st, fmt.Errorf("gc: %w", err)
		}
		st.Blobs++
		st.Bytes += info.Size
		if live[info.OID] {
			st.Live++
			continue
		}
		gone, err := s.sweepBlob(ctx, info, cutoff, o.DryRun, unlinked[info.OID], &st)
		if err != nil {
			return st, err
		}
		if gone {
			st.Deleted++
			st.BytesFreed += info.Size
			if o.Deleted != nil {
				o.Deleted(info.OID, info.Size)
			}
		}
	}
	return st, nil
}

// markRepo adds repository id's stored pointers and live links to live,
// and removes its links abandoned before cutoff.
func (s *Service) markRepo(ctx context.Context, id int64, cutoff time.Time, dryRun bool, live map[string]bool, unlinked map[string][]int64, st *GCStats) error {
	ptrs, err := s.meta.LFSPointers(ctx, id)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	links, err := s.meta.LFSLinks(ctx, id)
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	st.Repos++
	stored := make(map[string]bool, len(ptrs))
	for _, p := range ptrs {
		stored[p.OID] = true
		live[p.OID] = true
	}
	for _, l := range links {
		if stored[l.OID] || !l.UsedAt.Before(cutoff) {
			live[l.OID] = true
			continue
		}
		if dryRun {
			st.LinksRemoved++
			unlinked[l.OID] = append(unlinked[l.OID], id)
			continue
		}
		gone, err := s.meta.UnlinkLFSObject(ctx, id, l.OID, cutoff)
		if err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		if !gone {
			live[l.OID] = true // used meanwhile
			continue
		}
		st.LinksRemoved++
		s.lg.InfoContext(ctx, "gc: unused upload link removed", "repo_id", id, "oid", l.OID)
	}
	return nil
}

// sweepBlob deletes one unmarked object unless it is linked now or
// young; it reports whether it did (or, with dryRun, would: links of the
// repositories in unlinked then count as removed).
func (s *Service) sweepBlob(ctx context.Context, info blob.Info, cutoff time.Time, dryRun bool, unlinked []int64, st *GCStats) (bool, error) {
	if info.ModTime.IsZero() || !info.ModTime.Before(cutoff) {
		// A store that cannot tell an object's age never loses one.
		st.Recent++
		return false, nil
	}
	linkers, err := s.meta.LFSLinkers(ctx, info.OID)
	if err != nil {
		return false, fmt.Errorf("gc: %w", err)
	}
	if dryRun {
		linkers = slices.DeleteFunc(linkers, func(id int64) bool { return slices.Contains(unlinked, id) })
	}
	if len(linkers) > 0 {
		st.Live++ // linked by an upload since the mark
		return false, nil
	}
	if dryRun {
		return true, nil
	}
	cur, err := s.blobs.Stat(ctx, info.OID)
	if errors.Is(err, blob.ErrNotFound) {
		return false, nil // another collector was faster
	}
	if err != nil {
		return false, fmt.Errorf("gc: %w", err)
	}
	if cur.ModTime.IsZero() || !cur.ModTime.Before(cutoff) {
		st.Recent++
		return false, nil
	}
	if err := s.blobs.Delete(ctx, info.OID); err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("gc: delete %s: %w", info.OID, err)
	}
	s.lg.InfoContext(ctx, "gc: object deleted", "oid", info.OID, "size", info.Size)
	// An upload that found the object just before the delete links it
	// just after: drop that link, so its client uploads again rather than
	// commit a pointer to nothing.
	linkers, err = s.meta.LFSLinkers(ctx, info.OID)
	if err != nil {
		return true, fmt.Errorf("gc: %w", err)
	}
	if len(linkers) == 0 {
		return true, nil
	}
	if _, err := s.blobs.Stat(ctx, info.OID); err == nil {
		return true, nil // uploaded again since: the links are good
	}
	for _, id := range linkers {
		if _, err := s.meta.UnlinkLFSObject(ctx, id, info.OID, time.Time{}); err != nil {
			return true, fmt.Errorf("gc: %w", err)
		}
		s.lg.WarnContext(ctx, "gc: an upload linked an object while it was deleted; the client must upload it again", "repo_id", id, "oid", info.OID)
	}
	return true, nil
}

// useLFSObject is how a commit, a push or an upload batch takes an LFS
// object: it checks the repository's link and refreshes its use time in
// one statement, which the collector's safety argument (see GC) rests on.
func (s *Service) useLFSObject(ctx context.Context, repoID int64, oid string) (int64, error) {
	return s.meta.UseLFSObject(ctx, repoID, oid)
}
