package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/fsck"
	"github.com/agorahub/agora/internal/meta"
)

// Problem codes of [FsckProblem], stable for scripts.
const (
	// A ref or object names an object the repository does not store.
	FsckMissingObject = "missing-object"
	// A stored object does not hash to its id, does not decode, or is not
	// of the kind that names it.
	FsckCorruptObject = "corrupt-object"
	// An object breaks a rule of `git fsck --strict`; clones with
	// transfer.fsckObjects would refuse it.
	FsckBadObject = "bad-object"
	// An LFS pointer names content the blob store does not hold.
	FsckMissingLFS = "missing-lfs"
	// The stored content's size (or, with Rehash, SHA-256) is not the
	// pointer's.
	FsckLFSSize = "lfs-size"
	FsckLFSHash = "lfs-hash"
	// A reachable pointer's object is not linked to its repository, so LFS
	// batch downloads of it fail. Repaired by linking it.
	FsckMissingLink = "missing-lfs-link"
	// A link names content the blob store does not hold: LFS clients are
	// told it is uploaded and never send it. Repaired by removing the link
	// (clients then upload it again).
	FsckDanglingLink = "dangling-lfs-link"
	// The default branch's derived metadata is missing or was derived
	// from another tree. Repaired by deriving it again.
	FsckMetadata = "stale-metadata"
	// A file at a ref has no scan result and is not queued. Repaired by
	// queueing it.
	FsckUnscanned = "unscanned"
	// A stored blob does not hash to its name (with Rehash, for every
	// blob of the store, referenced or not).
	FsckCorruptBlob = "corrupt-blob"
)

// FsckOptions select what [Service.Fsck] checks.
type FsckOptions struct {
	// Repos limits the check to these repositories (nil: every one, and
	// then the blob store as a whole).
	Repos []RepoRef
	// Rehash reads LFS content back and checks its SHA-256, not only its
	// size; with every repository, every blob of the store is read.
	Rehash bool
	// Repair fixes what can be fixed without losing anything: it links,
	// unlinks, derives metadata again and queues scans.
	Repair bool
}

// FsckProblem is one inconsistency.
type FsckProblem struct {
	Repo     string // as in URLs ("alice/m", "datasets/alice/d"); "" for the blob store
	Code     string // one of the Fsck* codes
	Detail   string
	Repaired bool
}

func (p FsckProblem) String() string {
	where := p.Repo
	if where == "" {
		where = "blob store"
	}
	s := where + ": " + p.Code + ": " + p.Detail
	if p.Repaired {
		s += " (repaired)"
	}
	return s
}

// FsckStats counts what a check saw.
type FsckStats struct {
	Repos, Refs, Objects int
	LFSObjects           int // distinct LFS objects referenced
	Blobs                int // blobs read back (Rehash)
	Problems, Repaired   int
}

// repoLabel names a repository as URLs do.
func repoLabel(r *meta.Repo) string {
	if r.Type == TypeDataset {
		return "datasets/" + r.FullName()
	}
	return r.FullName()
}

// ParseRepoArg reads a repository named on a command line: "ns/name" or
// "name" for a model, "models/…" or "datasets/…" for either type.
func ParseRepoArg(s string) (RepoRef, error) {
	typ := TypeModel
	if rest, ok := strings.CutPrefix(s, "datasets/"); ok {
		typ, s = TypeDataset, rest
	} else if rest, ok := strings.CutPrefix(s, "models/"); ok {
		s = rest
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		ns, name = "", s
	}
	if name == "" || strings.Contains(name, "/") {
		return RepoRef{}, fmt.Errorf("%q is not a repository (namespace/name, datasets/namespace/name)", s)
	}
	return RepoRef{Type: typ, Namespace: ns, Name: name}, nil
}

// Fsck checks that every ref of every repository (or of opts.Repos)
// reaches a complete graph of well-formed git objects, that every LFS
// object a reachable pointer names is stored with its size (and SHA-256
// with Rehash) and linked, that links name stored content, that the
// default branch's derived metadata is current and that every file at a
// ref was scanned or is queued. It reports each problem to report and
// keeps going; the error is for failures of the stores themselves. It is
// safe while the hub serves: it reads refs once per repository and
// objects are immutable.
func (s *Service) Fsck(ctx context.Context, opts FsckOptions, report func(FsckProblem)) (FsckStats, error) {
	f := &fscker{s: s, opts: opts, report: report, lfs: map[string]*lfsUse{}, infos: map[string]*blob.Info{}}
	if len(opts.Repos) == 0 {
		// One listing answers every existence and size question.
		for info, err := range s.blobs.List(ctx) {
			if err != nil {
				return f.st, fmt.Errorf("fsck: %w", err)
			}
			f.infos[info.OID] = &info
		}
		f.listed = true
		var after int64
		for {
			ids, err := s.meta.ListAllRepoIDs(ctx, after, 500)
			if err != nil {
				return f.st, fmt.Errorf("fsck: %w", err)
			}
			if len(ids) == 0 {
				break
			}
			for _, id := range ids {
				after = id
				r, err := s.meta.RepoByID(ctx, id)
				if errors.Is(err, meta.ErrNotFound) {
					continue // deleted meanwhile
				}
				if err != nil {
					return f.st, fmt.Errorf("fsck: %w", err)
				}
				if err := f.repo(ctx, r); err != nil {
					return f.st, err
				}
			}
		}
	} else {
		for _, ref := range opts.Repos {
			r, err := s.meta.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name)
			if errors.Is(err, meta.ErrNotFound) {
				return f.st, fmt.Errorf("fsck: %s %s: %w", ref.Type, ref.FullName(), ErrRepoNotFound)
			}
			if err != nil {
				return f.st, fmt.Errorf("fsck: %w", err)
			}
			if err := f.repo(ctx, r); err != nil {
				return f.st, err
			}
		}
	}
	if err := f.content(ctx); err != nil {
		return f.st, err
	}
	return f.st, nil
}

type fscker struct {
	s      *Service
	opts   FsckOptions
	report func(FsckProblem)
	st     FsckStats
	// lfs holds every LFS object a reachable pointer names.
	lfs map[string]*lfsUse
	// infos caches the blob store's answers (nil: missing); listed says
	// it holds the whole store.
	infos  map[string]*blob.Info
	listed bool
	hashed map[string]bool
	// mirror is set while checking a mirrored repository, whose LFS
	// content is fetched on demand (issue 14): only its git graph is
	// checked.
	mirror bool
}

// lfsUse is where an LFS object was first met.
type lfsUse struct {
	size  int64 // the pointer's
	repo  string
	where string
}

func (f *fscker) problem(repo, code string, repaired bool, format string, args ...any) {
	f.st.Problems++
	if repaired {
		f.st.Repaired++
	}
	if f.report != nil {
		f.report(FsckProblem{Repo: repo, Code: code, Detail: fmt.Sprintf(format, args...), Repaired: repaired})
	}
}

// stat returns the store's info on oid, nil when it holds none.
func (f *fscker) stat(ctx context.Context, oid string) (*blob.Info, error) {
	if info, ok := f.infos[oid]; ok || f.listed {
		return info, nil
	}
	info, err := f.s.blobs.Stat(ctx, oid)
	if errors.Is(err, blob.ErrNotFound) {
		f.infos[oid] = nil
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fsck: %w", err)
	}
	f.infos[oid] = &info
	return &info, nil
}

// fsckItem is an object to check and how it was reached.
type fsckItem struct {
	id   gitobj.ID
	kind gitobj.Kind // 0: a ref's target, a commit or a tag
	ref  string
	path string // in the ref's tree, "" for commits and trees at the root
}

func (w fsckItem) where() string {
	if w.path == "" {
		return w.ref
	}
	return w.ref + ":" + w.path
}

// repo checks one repository.
func (f *fscker) repo(ctx context.Context, r *meta.Repo) error {
	f.st.Repos++
	label := repoLabel(r)
	refs, err := f.s.meta.ListRefs(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("fsck %s: %w", label, err)
	}
	f.st.Refs += len(refs)
	pointers := map[string]int64{}  // oid → pointer size, of reachable pointers
	broken := map[gitobj.ID]bool{}  // ref targets whose graph is incomplete or corrupt
	heads := map[gitobj.ID]string{} // peeled commit → a ref naming it
	kinds := map[gitobj.ID]gitobj.Kind{}
	ms, err := f.s.MirrorStatus(ctx, r)
	if err != nil {
		return err
	}
	f.mirror = ms != nil
	for _, rf := range refs {
		ok, err := f.walk(ctx, r, label, rf, kinds, pointers)
		if err != nil {
			return err
		}
		if !ok {
			broken[rf.Target] = true
			continue
		}
		c, err := f.s.peel(ctx, r.ID, rf.Target)
		if err != nil {
			broken[rf.Target] = true
			continue
		}
		if _, seen := heads[c]; !seen {
			heads[c] = rf.Name
		}
	}
	if f.mirror {
		return nil
	}
	if err := f.links(ctx, r, label, pointers); err != nil {
		return err
	}
	if err := f.derived(ctx, r, label, refs, broken); err != nil {
		return err
	}
	return f.scans(ctx, r, label, heads)
}

// walk checks the graph a ref reaches, depth first, each object once per
// repository. It reports whether the graph is complete and sound.
func (f *fscker) walk(ctx context.Context, r *meta.Repo, label string, rf meta.Ref, kinds map[gitobj.ID]gitobj.Kind, pointers map[string]int64) (bool, error) {
	ok := true
	bad := func(code, format string, args ...any) {
		ok = false
		f.problem(label, code, false, format, args...)
	}
	stack := []fsckItem{{id: rf.Target, ref: rf.Name}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if k, seen := kinds[it.id]; seen {
			if k == 0 {
				ok = false // met before, and broken then
			} else if it.kind != 0 && k != it.kind {
				bad(FsckCorruptObject, "%s is a %s, %s names a %s", it.id, k, it.where(), it.kind)
			}
			continue
		}
		kinds[it.id] = 0
		ob, err := f.s.meta.GetObject(ctx, r.ID, it.id)
		if errors.Is(err, meta.ErrNotFound) {
			bad(FsckMissingObject, "%s %s is missing (%s)", kindOr(it.kind, "object"), it.id, it.where())
			continue
		}
		if errors.Is(err, meta.ErrCorrupt) {
			bad(FsckCorruptObject, "%s %s does not decode (%s): %v", kindOr(it.kind, "object"), it.id, it.where(), err)
			continue
		}
		if err != nil {
			return false, fmt.Errorf("fsck %s: %w", label, err)
		}
		f.st.Objects++
		if got := ob.ID(); got != it.id {
			bad(FsckCorruptObject, "%s %s holds content of %s (%s)", ob.Kind, it.id, got, it.where())
			continue
		}
		switch {
		case it.kind == 0 && ob.Kind != gitobj.KindCommit && ob.Kind != gitobj.KindTag:
			bad(FsckCorruptObject, "ref %s points at a %s, not a commit or tag", rf.Name, ob.Kind)
			continue
		case it.kind != 0 && ob.Kind != it.kind:
			bad(FsckCorruptObject, "%s is a %s, %s names a %s", it.id, ob.Kind, it.where(), it.kind)
			continue
		}
		// git's own rules, as `git fsck --strict` and transfer.fsckObjects
		// apply them.
		// git's rules do not make the graph incomplete: the ref still
		// serves, only strict clients refuse it.
		specials, err := fsck.CheckObject(ob)
		if err != nil {
			f.problem(label, FsckBadObject, false, "%s %s (%s): %v", ob.Kind, it.id, it.where(), err)
		}
		for _, sp := range specials {
			so, err := f.s.meta.GetObject(ctx, r.ID, sp.ID)
			if err != nil {
				continue // reported as missing when the walk reaches it
			}
			if err := sp.Check(so); err != nil {
				f.problem(label, FsckBadObject, false, "%s %s (%s): %v", so.Kind, sp.ID, joinPath(it.path, sp.Name), err)
			}
		}
		kinds[it.id] = ob.Kind
		switch ob.Kind {
		case gitobj.KindCommit:
			c, err := gitobj.DecodeCommit(ob.Data)
			if err != nil {
				kinds[it.id] = 0
				bad(FsckCorruptObject, "commit %s does not decode (%s): %v", it.id, it.where(), err)
				continue
			}
			ref := it.ref
			stack = append(stack, fsckItem{id: c.Tree, kind: gitobj.KindTree, ref: ref})
			for _, p := range c.Parents {
				stack = append(stack, fsckItem{id: p, kind: gitobj.KindCommit, ref: ref})
			}
		case gitobj.KindTag:
			t, err := gitobj.DecodeTag(ob.Data)
			if err != nil {
				kinds[it.id] = 0
				bad(FsckCorruptObject, "tag %s does not decode (%s): %v", it.id, it.where(), err)
				continue
			}
			stack = append(stack, fsckItem{id: t.Object, kind: t.Type, ref: it.ref})
		case gitobj.KindTree:
			ents, err := gitobj.DecodeTree(ob.Data)
			if err != nil {
				kinds[it.id] = 0
				bad(FsckCorruptObject, "tree %s does not decode (%s): %v", it.id, it.where(), err)
				continue
			}
			for _, e := range ents {
				p := joinPath(it.path, e.Name)
				switch {
				case e.Mode.IsTree():
					stack = append(stack, fsckItem{id: e.ID, kind: gitobj.KindTree, ref: it.ref, path: p})
				case e.Mode.IsBlob():
					stack = append(stack, fsckItem{id: e.ID, kind: gitobj.KindBlob, ref: it.ref, path: p})
				}
				// Submodule commits (ModeGitlink) live in other repositories.
			}
		case gitobj.KindBlob:
			if ptr, isPtr := gitobj.ParsePointer(ob.Data); isPtr {
				pointers[ptr.OID] = ptr.Size
				if _, seen := f.lfs[ptr.OID]; !seen && !f.mirror {
					f.lfs[ptr.OID] = &lfsUse{size: ptr.Size, repo: label, where: it.where()}
				}
			}
		}
	}
	return ok, nil
}

func kindOr(k gitobj.Kind, s string) string {
	if k == 0 {
		return s
	}
	return k.String()
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// links checks the repository's LFS links against its reachable pointers
// and the blob store.
func (f *fscker) links(ctx context.Context, r *meta.Repo, label string, pointers map[string]int64) error {
	links, err := f.s.meta.LFSLinks(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("fsck %s: %w", label, err)
	}
	linked := make(map[string]bool, len(links))
	for _, l := range links {
		linked[l.OID] = true
		info, err := f.stat(ctx, l.OID)
		if err != nil {
			return err
		}
		if info != nil {
			continue
		}
		repaired := false
		if f.opts.Repair {
			// Only if still missing: an upload may have stored it since.
			if _, err := f.s.blobs.Stat(ctx, l.OID); errors.Is(err, blob.ErrNotFound) {
				if _, err := f.s.meta.UnlinkLFSObject(ctx, r.ID, l.OID, time.Time{}); err != nil {
					return fmt.Errorf("fsck %s: %w", label, err)
				}
				repaired = true
			}
		}
		f.problem(label, FsckDanglingLink, repaired, "link to LFS object %s, which the blob store does not hold", l.OID)
	}
	oids := make([]string, 0, len(pointers))
	for oid := range pointers {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	for _, oid := range oids {
		if linked[oid] {
			continue
		}
		info, err := f.stat(ctx, oid)
		if err != nil {
			return err
		}
		if info == nil {
			continue // missing-lfs; uploading it again links it
		}
		repaired := false
		if f.opts.Repair && info.Size == pointers[oid] {
			// The repository already serves the content through a
			// pointer; the link only lets LFS clients fetch it.
			if err := f.s.meta.AddLFSObject(ctx, r.ID, oid, info.Size); err != nil {
				return fmt.Errorf("fsck %s: %w", label, err)
			}
			repaired = true
		}
		f.problem(label, FsckMissingLink, repaired, "LFS object %s is referenced but not linked to the repository", oid)
	}
	return nil
}

// derived checks the default branch's derived metadata. A commit landing
// meanwhile moves both the head and the metadata, so a mismatch is only
// reported when the head held still around the check.
func (f *fscker) derived(ctx context.Context, r *meta.Repo, label string, refs []meta.Ref, broken map[gitobj.ID]bool) error {
	name := branchPrefix + r.DefaultBranch
	i := slices.IndexFunc(refs, func(rf meta.Ref) bool { return rf.Name == name })
	if i < 0 || broken[refs[i].Target] {
		return nil
	}
	head := refs[i].Target
	for range 3 {
		m, err := f.s.meta.GetRepoMeta(ctx, r.ID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("fsck %s: %w", label, err)
		}
		why := ""
		switch {
		case m == nil:
			why = "no derived metadata for the default branch"
		case m.Sha != head:
			same, err := f.sameTree(ctx, r.ID, m.Sha, head)
			if err != nil {
				return err
			}
			if !same {
				why = fmt.Sprintf("derived metadata is of commit %s, %s is at %s", m.Sha, name, head)
			}
		}
		if why == "" {
			return nil
		}
		now, err := f.s.meta.GetRef(ctx, r.ID, name)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("fsck %s: %w", label, err)
		}
		if now != head {
			head = now // a commit landed: look again
			continue
		}
		repaired := false
		if f.opts.Repair {
			done, err := f.s.rederive(ctx, r, name, head)
			if err != nil {
				return fmt.Errorf("fsck %s: derive metadata: %w", label, err)
			}
			repaired = done
		}
		f.problem(label, FsckMetadata, repaired, "%s", why)
		return nil
	}
	return nil
}

// sameTree reports whether two commits hold the same tree (a squash keeps
// the files and so the metadata).
func (f *fscker) sameTree(ctx context.Context, repoID int64, a, b gitobj.ID) (bool, error) {
	objs := f.s.objectsOf(repoID)
	ca, err := objs.commit(ctx, a)
	if errors.Is(err, errCorrupt) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("fsck: %w", err)
	}
	cb, err := objs.commit(ctx, b)
	if err != nil {
		return false, fmt.Errorf("fsck: %w", err)
	}
	return ca.Tree == cb.Tree, nil
}

// rederive derives the metadata of head and stores it if the branch is
// still there; it reports whether it stored it.
func (s *Service) rederive(ctx context.Context, r *meta.Repo, refName string, head gitobj.ID) (bool, error) {
	m, err := s.derive(ctx, s.objectsOf(r.ID), r, head)
	if err != nil {
		return false, err
	}
	defer s.wrote()
	err = s.meta.InTx(ctx, func(tx meta.Tx) error {
		// Rewriting the ref with its own value locks it: a commit moving
		// it waits for this transaction, then lands its own metadata.
		if err := tx.UpdateRef(ctx, r.ID, refName, head, head); err != nil {
			return err
		}
		return tx.PutRepoMeta(ctx, r.ID, m)
	})
	if errors.Is(err, meta.ErrConflict) {
		return false, nil // moved: the commit that moved it derived its own
	}
	return err == nil, err
}

// scans checks that every file at every ref has a scan result or a
// queued job.
func (f *fscker) scans(ctx context.Context, r *meta.Repo, label string, heads map[gitobj.ID]string) error {
	objs := f.s.objectsOf(r.ID)
	jobs := map[string]meta.ScanJob{}
	commits := make([]gitobj.ID, 0, len(heads))
	for c := range heads {
		commits = append(commits, c)
	}
	slices.SortFunc(commits, func(a, b gitobj.ID) int { return strings.Compare(heads[a], heads[b]) })
	for _, id := range commits {
		c, err := objs.commit(ctx, id)
		if err != nil {
			continue // reported by the walk
		}
		ents, err := f.s.listEntries(ctx, objs, c.Tree, "", true, id)
		if err != nil {
			continue
		}
		for i := range ents {
			e := &ents[i]
			if e.IsDir() {
				continue
			}
			k := scanKey(e)
			if _, ok := jobs[k]; !ok {
				jobs[k] = meta.ScanJob{Key: k, RepoID: r.ID, Path: heads[id] + ":" + e.Path, Size: e.Size}
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(jobs))
	for k := range jobs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	done, err := f.s.meta.GetScans(ctx, keys)
	if err != nil {
		return fmt.Errorf("fsck %s: %w", label, err)
	}
	queued, err := f.s.meta.QueuedScans(ctx, keys)
	if err != nil {
		return fmt.Errorf("fsck %s: %w", label, err)
	}
	for _, k := range keys {
		if _, ok := done[k]; ok || queued[k] {
			continue
		}
		j := jobs[k]
		repaired := false
		if f.opts.Repair {
			q := j
			_, q.Path, _ = strings.Cut(j.Path, ":")
			if err := f.s.meta.EnqueueScans(ctx, []meta.ScanJob{q}); err != nil {
				return fmt.Errorf("fsck %s: %w", label, err)
			}
			repaired = true
		}
		f.problem(label, FsckUnscanned, repaired, "%s (%s) was never scanned and is not queued", j.Path, k)
	}
	return nil
}

// content checks the LFS objects the walked pointers name and, with
// Rehash over the whole hub, every other blob of the store.
func (f *fscker) content(ctx context.Context) error {
	oids := make([]string, 0, len(f.lfs))
	for oid := range f.lfs {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	f.st.LFSObjects = len(oids)
	f.hashed = map[string]bool{}
	for _, oid := range oids {
		u := f.lfs[oid]
		info, err := f.stat(ctx, oid)
		if err != nil {
			return err
		}
		switch {
		case info == nil:
			f.problem(u.repo, FsckMissingLFS, false, "LFS object %s of %s is not in the blob store", oid, u.where)
		case info.Size != u.size:
			f.problem(u.repo, FsckLFSSize, false, "LFS object %s of %s has %d bytes, the pointer says %d", oid, u.where, info.Size, u.size)
		case f.opts.Rehash:
			if err := f.rehash(ctx, oid, func(got string) {
				f.problem(u.repo, FsckLFSHash, false, "LFS object %s of %s hashes to %s", oid, u.where, got)
			}); err != nil {
				return err
			}
		}
	}
	if !f.opts.Rehash || !f.listed {
		return nil
	}
	// No partially written or damaged object may be visible, referenced
	// or not.
	rest := make([]string, 0, len(f.infos))
	for oid, info := range f.infos {
		if info != nil && !f.hashed[oid] {
			rest = append(rest, oid)
		}
	}
	slices.Sort(rest)
	for _, oid := range rest {
		if err := f.rehash(ctx, oid, func(got string) {
			f.problem("", FsckCorruptBlob, false, "object %s hashes to %s", oid, got)
		}); err != nil {
			return err
		}
	}
	return nil
}

// rehash reads oid back and calls bad with the digest it got when that is
// not oid.
func (f *fscker) rehash(ctx context.Context, oid string, bad func(got string)) error {
	f.hashed[oid] = true
	r, _, err := f.s.blobs.Open(ctx, oid)
	if errors.Is(err, blob.ErrNotFound) {
		return nil // deleted since the listing (gc): nothing to check
	}
	if err != nil {
		return fmt.Errorf("fsck: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, make([]byte, 1<<20)); err != nil {
		return fmt.Errorf("fsck: read %s: %w", oid, err)
	}
	f.st.Blobs++
	if got := hex.EncodeToString(h.Sum(nil)); got != oid {
		bad(got)
	}
	return nil
}
