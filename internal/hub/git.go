package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// This file holds the domain side of git smart-HTTP (package gitproto):
// the refs a clone sees, the objects a fetch needs, and the rules a push
// goes through. A push obeys the same rules as an API commit (path
// validation, LFS threshold, linked LFS objects, compare-and-swap of refs
// inside the transaction that inserts the objects, derived metadata for
// the default branch), plus git's own: fast-forward only unless the
// repository allows force-pushes, all refs or none.

// GitRepo is a repository opened for git access by one caller.
type GitRepo struct {
	s    *Service
	r    *meta.Repo
	who  *auth.Identity
	objs *objects
}

// OpenGitRepo opens a repository for fetching, or for pushing when write
// is set (which needs write access). A private repository the caller may
// not see is ErrRepoNotFound, like a missing one; a renamed repository is
// a *MovedError for reads; a gated one needs the access downloads need
// (ErrGated).
func (s *Service) OpenGitRepo(ctx context.Context, who *auth.Identity, ref RepoRef, write bool) (*GitRepo, error) {
	var r *meta.Repo
	var err error
	if write {
		r, err = s.writableRepo(ctx, who, ref)
	} else {
		// A clone is file content: gated repositories guard it as they
		// guard downloads.
		r, err = s.repoFor(ctx, who, ref, ReadContent)
	}
	if err != nil {
		return nil, err
	}
	if !write {
		s.rebindMirror(ctx, r) // mirror hook (issue 14)
	}
	return &GitRepo{s: s, r: r, who: who, objs: s.objectsOf(r.ID)}, nil
}

// Repo returns the repository.
func (g *GitRepo) Repo() *Repo { return g.r }

// GitRef is a ref as git advertises it.
type GitRef struct {
	Name string // full name: "refs/heads/main"
	ID   gitobj.ID
	// Peeled is what an annotated tag points at, after following tag
	// chains; zero for other refs.
	Peeled gitobj.ID
}

// Refs returns the branches and tags (and the hub's refs/pr/ and
// refs/convert/ refs), sorted by name, and the full name of the branch
// HEAD points at ("" when the default branch does not exist).
func (g *GitRepo) Refs(ctx context.Context) (head string, refs []GitRef, err error) {
	all, err := g.s.meta.ListRefs(ctx, g.r.ID)
	if err != nil {
		return "", nil, fmt.Errorf("list refs of %s: %w", g.r.FullName(), err)
	}
	var tagTargets []gitobj.ID
	for _, rf := range all {
		if strings.HasPrefix(rf.Name, tagPrefix) {
			tagTargets = append(tagTargets, rf.Target)
		}
		if rf.Name == branchPrefix+g.r.DefaultBranch {
			head = rf.Name
		}
	}
	kinds, err := g.s.meta.StatObjects(ctx, g.r.ID, tagTargets)
	if err != nil {
		return "", nil, fmt.Errorf("list refs of %s: %w", g.r.FullName(), err)
	}
	refs = make([]GitRef, 0, len(all))
	for _, rf := range all {
		gr := GitRef{Name: rf.Name, ID: rf.Target}
		if info, ok := kinds[rf.Target]; ok && info.Kind == gitobj.KindTag && strings.HasPrefix(rf.Name, tagPrefix) {
			if gr.Peeled, _, err = g.peelTag(ctx, rf.Target); err != nil {
				return "", nil, err
			}
		}
		refs = append(refs, gr)
	}
	slices.SortFunc(refs, func(a, b GitRef) int { return strings.Compare(a.Name, b.Name) })
	return head, refs, nil
}

// peelTag follows a chain of tag objects; it returns the final object and
// the tag objects passed.
func (g *GitRepo) peelTag(ctx context.Context, id gitobj.ID) (gitobj.ID, []gitobj.ID, error) {
	var chain []gitobj.ID
	for range 10 {
		ob, err := g.objs.get(ctx, id)
		if err != nil {
			return gitobj.ZeroID, nil, err
		}
		if ob.Kind != gitobj.KindTag {
			return id, chain, nil
		}
		t, err := gitobj.DecodeTag(ob.Data)
		if err != nil {
			return gitobj.ZeroID, nil, fmt.Errorf("peel %s: %w", id, err)
		}
		chain = append(chain, id)
		id = t.Object
	}
	return gitobj.ZeroID, nil, fmt.Errorf("peel %s: tag chain too long: %w", id, errCorrupt)
}

// Object reads an object of the repository. A missing one is
// ErrNotFound.
func (g *GitRepo) Object(ctx context.Context, id gitobj.ID) (gitobj.Object, error) {
	ob, err := g.objs.get(ctx, id)
	if errors.Is(err, errCorrupt) {
		return gitobj.Object{}, &Error{Kind: ErrNotFound, Msg: "Object " + id.String() + " not found", Err: err}
	}
	return ob, err
}

// Common returns, in order, the ids among haves that the repository
// stores as commits: the commits a fetching client and the hub share.
func (g *GitRepo) Common(ctx context.Context, haves []gitobj.ID) ([]gitobj.ID, error) {
	if len(haves) == 0 {
		return nil, nil
	}
	st, err := g.s.meta.StatObjects(ctx, g.r.ID, haves)
	if err != nil {
		return nil, fmt.Errorf("negotiate: %w", err)
	}
	var out []gitobj.ID
	for _, h := range haves {
		if info, ok := st[h]; ok && info.Kind == gitobj.KindCommit {
			out = append(out, h)
		}
	}
	return out, nil
}

// The plan of a fetch is package gitplan's; the hub gives it the
// repository's objects (gitfetch.go).

// ---- push

// RefUpdate is one command of a push: move Name from Old to New (zero Old
// creates, zero New deletes).
type RefUpdate struct {
	Name     string
	Old, New gitobj.ID
}

// OversizedObject is an object of a push too large to keep in memory:
// only its kind and size are known.
type OversizedObject struct {
	Kind gitobj.Kind
	Size int64
}

// PushPack is the content of a pushed pack.
type PushPack struct {
	Objects   map[gitobj.ID]gitobj.Object
	Oversized map[gitobj.ID]OversizedObject
}

// PushLimits returns the bounds a pushed pack must be read within: the
// largest object worth keeping in memory (anything larger is refused by
// the push rules: a regular file over the LFS threshold, or an absurd
// tree) and the inflated content of one push (the commit limit plus room
// for trees and commits).
func (s *Service) PushLimits() (maxObject, maxMemory int64) {
	maxObject = max(s.cfg.LFSThreshold, 16<<20)
	maxMemory = s.cfg.MaxCommitBytes + 256<<20
	return maxObject, maxMemory
}

// Reasons a ref update is refused, as report-status shows them.
const reasonAtomic = "atomic push failed: another ref was refused"

// pushError is a refusal attributed to one command.
type pushError struct {
	cmd    int
	reason string
}

// Push applies the ref updates of a push with the objects of its pack, all
// or nothing. It returns one reason per command ("" when applied): a
// refused push changes nothing and every command gets a reason. An error
// is returned only for failures of the hub itself.
func (g *GitRepo) Push(ctx context.Context, cmds []RefUpdate, pack *PushPack) ([]string, error) {
	if pack == nil {
		pack = &PushPack{}
	}
	reasons := make([]string, len(cmds))
	if len(cmds) == 0 {
		return reasons, nil
	}
	fail := func(errs []pushError) []string {
		for i := range reasons {
			reasons[i] = reasonAtomic
		}
		for _, e := range errs {
			reasons[e.cmd] = e.reason
		}
		return reasons
	}
	r := g.r
	var errs []pushError
	names := map[string]bool{}
	for i, c := range cmds {
		if reason := checkPushRef(r, c); reason != "" {
			errs = append(errs, pushError{i, reason})
		}
		if names[c.Name] {
			errs = append(errs, pushError{i, "ref given twice"})
		}
		names[c.Name] = true
	}
	if len(errs) > 0 {
		return fail(errs), nil
	}
	// Serialise with API commits on the same branches in this process.
	sorted := slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	})
	for _, n := range sorted {
		unlock := g.s.commitLocks.lock(strconv.FormatInt(r.ID, 10) + "\x00" + n)
		defer unlock()
	}

	current, err := g.s.meta.ListRefs(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("push to %s: %w", r.FullName(), err)
	}
	cur := map[string]gitobj.ID{}
	for _, rf := range current {
		cur[rf.Name] = rf.Target
	}
	for i, c := range cmds {
		if cur[c.Name] != c.Old {
			errs = append(errs, pushError{i, "fetch first: the ref changed since it was read"})
		}
	}
	if len(errs) > 0 {
		return fail(errs), nil
	}
	if e := refNameConflicts(cmds, cur); e != nil {
		return fail([]pushError{*e}), nil
	}

	objs := g.s.objectsOf(r.ID)
	objs.pending = pack.Objects
	v := &pushValidator{g: g, objs: objs, pack: pack, visited: map[gitobj.ID]bool{}, external: map[gitobj.ID]extRef{}}
	for i, c := range cmds {
		if c.New.IsZero() {
			continue
		}
		want := gitobj.KindCommit
		if strings.HasPrefix(c.Name, tagPrefix) {
			want = 0 // a commit or a tag object
		}
		if reason, err := v.walk(ctx, i, c.New, want); err != nil {
			return nil, err
		} else if reason != "" {
			errs = append(errs, pushError{i, reason})
		}
	}
	if len(errs) == 0 {
		e, err := v.checkExternal(ctx)
		if err != nil {
			return nil, err
		}
		errs = append(errs, e...)
	}
	if len(errs) > 0 {
		return fail(errs), nil
	}
	// A bad object refuses the whole pack, as git's receive.fsckObjects
	// does: no ref can move with it.
	if reason, err := checkPackObjects(ctx, objs, pack); err != nil {
		return nil, err
	} else if reason != "" {
		for i := range reasons {
			reasons[i] = reason
		}
		return reasons, nil
	}
	// Tags must end at commits; branches and tags move forward only.
	for i, c := range cmds {
		if c.New.IsZero() {
			continue
		}
		isTag := strings.HasPrefix(c.Name, tagPrefix)
		if isTag {
			peeled, err := g.peelWith(ctx, objs, c.New)
			if err != nil {
				return nil, err
			}
			if k, err := v.kind(ctx, peeled); err != nil {
				return nil, err
			} else if k != gitobj.KindCommit {
				errs = append(errs, pushError{i, "tags must point at commits"})
				continue
			}
		}
		if c.Old.IsZero() || r.AllowForcePush {
			continue
		}
		if isTag {
			errs = append(errs, pushError{i, "tag already exists: force-pushes are disabled for this repository"})
			continue
		}
		ff, err := g.isAncestor(ctx, objs, c.Old, c.New)
		if err != nil {
			return nil, err
		}
		if !ff {
			errs = append(errs, pushError{i, "non-fast-forward: force-pushes are disabled for this repository (pull and merge first)"})
		}
	}
	if len(errs) > 0 {
		return fail(errs), nil
	}

	// Files the push brings to a branch tip are scanned like those of API
	// commits; under the block policy a dangerous one refuses the push.
	var scanJobs []meta.ScanJob
	for i, c := range cmds {
		if c.New.IsZero() || !strings.HasPrefix(c.Name, branchPrefix) {
			continue
		}
		oldTree := gitobj.EmptyTreeID
		if !c.Old.IsZero() {
			oc, err := objs.commit(ctx, c.Old)
			if err != nil {
				return nil, err
			}
			oldTree = oc.Tree
		}
		nc, err := objs.commit(ctx, c.New)
		if err != nil {
			return nil, err
		}
		jobs, err := g.s.scanJobs(ctx, objs, oldTree, nc.Tree)
		if err != nil {
			return nil, err
		}
		if err := g.s.checkScanPolicy(ctx, objs, jobs); err != nil {
			if he, ok := AsError(err); ok && errors.Is(err, ErrForbidden) {
				errs = append(errs, pushError{i, he.Msg})
				continue
			}
			return nil, err
		}
		scanJobs = append(scanJobs, jobs...)
	}
	if len(errs) > 0 {
		return fail(errs), nil
	}
	if scanJobs, err = g.s.pendingScans(ctx, scanJobs); err != nil {
		return nil, err
	}

	var derived *meta.RepoMeta
	for _, c := range cmds {
		if c.Name == branchPrefix+r.DefaultBranch && !c.New.IsZero() {
			if derived, err = g.s.derive(ctx, objs, r, c.New); err != nil {
				return nil, err
			}
		}
	}
	keep := make([]gitobj.Object, 0, len(v.keep))
	for _, id := range v.keep {
		keep = append(keep, pack.Objects[id])
	}
	ordered := slices.Clone(cmds)
	slices.SortFunc(ordered, func(a, b RefUpdate) int { return strings.Compare(a.Name, b.Name) })
	moves := make([]refMove, 0, len(ordered))
	for _, c := range ordered {
		moves = append(moves, refMove{c.Name, c.Old, c.New})
	}
	err = g.s.land(ctx, change{repo: r.ID, objects: keep, refs: moves, derived: derived, scans: scanJobs, when: time.Now()})
	switch {
	case errors.Is(err, meta.ErrConflict):
		for i := range reasons {
			reasons[i] = "fetch first: a ref changed while pushing"
		}
		return reasons, nil
	case errors.Is(err, meta.ErrNotFound):
		return nil, repoNotFound()
	case err != nil:
		return nil, fmt.Errorf("push to %s: %w", r.FullName(), err)
	}
	for _, c := range cmds {
		g.s.lg.InfoContext(ctx, "push", "repo", r.FullName(), "ref", c.Name, "old", c.Old.String(), "new", c.New.String(),
			"user", g.who.User.Name, "objects", len(keep))
	}
	if len(scanJobs) > 0 {
		g.s.wakeScanners()
	}
	return reasons, nil
}

// checkPushRef checks the name and kind of one command.
func checkPushRef(r *meta.Repo, c RefUpdate) string {
	short, isBranch := strings.CutPrefix(c.Name, branchPrefix)
	if !isBranch {
		var isTag bool
		if short, isTag = strings.CutPrefix(c.Name, tagPrefix); !isTag {
			return "refusing to update refs outside refs/heads/ and refs/tags/"
		}
	}
	if !ValidRefName(short) {
		return "invalid ref name"
	}
	if c.Old.IsZero() && c.New.IsZero() {
		return "nothing to do"
	}
	if isBranch && c.New.IsZero() && short == r.DefaultBranch {
		return "refusing to delete the default branch " + short
	}
	return ""
}

// refNameConflicts refuses refs that git could not store next to each
// other ("a" and "a/b").
func refNameConflicts(cmds []RefUpdate, cur map[string]gitobj.ID) *pushError {
	final := map[string]bool{}
	for n := range cur {
		final[n] = true
	}
	for _, c := range cmds {
		final[c.Name] = !c.New.IsZero()
	}
	for i, c := range cmds {
		if c.New.IsZero() {
			continue
		}
		for n, exists := range final {
			if exists && n != c.Name && (strings.HasPrefix(n, c.Name+"/") || strings.HasPrefix(c.Name, n+"/")) {
				return &pushError{i, "ref conflicts with existing " + n}
			}
		}
	}
	return nil
}

// peelWith follows tag objects, looking at the pushed objects first.
func (g *GitRepo) peelWith(ctx context.Context, objs *objects, id gitobj.ID) (gitobj.ID, error) {
	for range 10 {
		ob, err := objs.get(ctx, id)
		if err != nil {
			return gitobj.ZeroID, err
		}
		if ob.Kind != gitobj.KindTag {
			return id, nil
		}
		t, err := gitobj.DecodeTag(ob.Data)
		if err != nil {
			return gitobj.ZeroID, fmt.Errorf("peel %s: %w", id, err)
		}
		id = t.Object
	}
	return gitobj.ZeroID, errorf(ErrInvalid, "tag chain too long")
}

// maxAncestryWalk bounds the commits read to decide a fast-forward.
const maxAncestryWalk = 1_000_000

// isAncestor reports whether old is an ancestor of (or equal to) new.
func (g *GitRepo) isAncestor(ctx context.Context, objs *objects, old, new gitobj.ID) (bool, error) {
	seen := map[gitobj.ID]bool{}
	stack := []gitobj.ID{new}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id == old {
			return true, nil
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		if len(seen) > maxAncestryWalk {
			return false, errorf(ErrTooLarge, "history too long to check for a fast-forward")
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		c, err := objs.commit(ctx, id)
		if err != nil {
			return false, err
		}
		stack = append(stack, c.Parents...)
	}
	return false, nil
}

// pushValidator walks the pushed objects reachable from the new ref
// targets: it checks each one (paths, file sizes, LFS pointers) and
// collects the objects outside the pack that they reference, which must
// already be stored.
type pushValidator struct {
	g        *GitRepo
	objs     *objects
	pack     *PushPack
	visited  map[gitobj.ID]bool
	external map[gitobj.ID]extRef
	keep     []gitobj.ID
	regular  int64 // bytes of new regular files
}

// extRef is an object outside the pack that a pushed object references.
type extRef struct {
	cmd  int
	kind gitobj.Kind // expected; 0 = commit or tag
	path string
}

type walkItem struct {
	id   gitobj.ID
	kind gitobj.Kind // expected; 0 = commit or tag
	path string      // for trees and blobs
}

// walk validates what id reaches. It returns a reason to refuse the
// command, or an internal error.
func (v *pushValidator) walk(ctx context.Context, cmd int, root gitobj.ID, kind gitobj.Kind) (string, error) {
	cfg := v.g.s.cfg
	stack := []walkItem{{id: root, kind: kind}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if v.visited[it.id] {
			continue
		}
		v.visited[it.id] = true
		where := ""
		if it.path != "" {
			where = " (" + it.path + ")"
		}
		if big, ok := v.pack.Oversized[it.id]; ok {
			if big.Kind == gitobj.KindBlob && (it.kind == gitobj.KindBlob || it.kind == 0) {
				return lfsMessage(it.path, big.Size, cfg.LFSThreshold), nil
			}
			return fmt.Sprintf("%s %s%s is too large (%d bytes)", big.Kind, it.id, where, big.Size), nil
		}
		ob, ok := v.pack.Objects[it.id]
		if !ok {
			if _, seen := v.external[it.id]; !seen {
				v.external[it.id] = extRef{cmd: cmd, kind: it.kind, path: it.path}
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if !kindMatches(ob.Kind, it.kind) {
			return fmt.Sprintf("object %s%s is a %s, expected %s", it.id, where, ob.Kind, kindName(it.kind)), nil
		}
		v.keep = append(v.keep, it.id)
		switch ob.Kind {
		case gitobj.KindCommit:
			c, err := gitobj.DecodeCommit(ob.Data)
			if err != nil {
				return fmt.Sprintf("invalid commit %s", it.id), nil
			}
			stack = append(stack, walkItem{id: c.Tree, kind: gitobj.KindTree})
			for _, p := range c.Parents {
				stack = append(stack, walkItem{id: p, kind: gitobj.KindCommit})
			}
		case gitobj.KindTag:
			t, err := gitobj.DecodeTag(ob.Data)
			if err != nil {
				return fmt.Sprintf("invalid tag %s", it.id), nil
			}
			stack = append(stack, walkItem{id: t.Object, kind: t.Type})
		case gitobj.KindTree:
			ents, err := gitobj.DecodeTree(ob.Data)
			if err != nil {
				return fmt.Sprintf("invalid tree %s%s: %s", it.id, where, trimInvalid(err)), nil
			}
			for _, e := range ents {
				p := e.Name
				if it.path != "" {
					p = it.path + "/" + e.Name
				}
				if err := gitobj.ValidatePath(p); err != nil {
					return "invalid path: " + trimInvalid(err), nil
				}
				switch {
				case e.Mode == gitobj.ModeGitlink:
					return fmt.Sprintf("submodules are not supported (%s)", p), nil
				case e.Mode.IsTree():
					stack = append(stack, walkItem{id: e.ID, kind: gitobj.KindTree, path: p})
				default:
					stack = append(stack, walkItem{id: e.ID, kind: gitobj.KindBlob, path: p})
				}
			}
		case gitobj.KindBlob:
			if reason, err := v.checkBlob(ctx, ob, it.path); err != nil || reason != "" {
				return reason, err
			}
		}
	}
	return "", nil
}

func kindMatches(got, want gitobj.Kind) bool {
	if want == 0 {
		return got == gitobj.KindCommit || got == gitobj.KindTag
	}
	return got == want
}

func kindName(k gitobj.Kind) string {
	if k == 0 {
		return "commit or tag"
	}
	return k.String()
}

func trimInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), gitobj.ErrInvalid.Error()+": ")
}

// lfsMessage tells the user how to push a large file.
func lfsMessage(path string, size, threshold int64) string {
	ext := "*" + pathExt(path)
	if ext == "*" {
		ext = path
	}
	return fmt.Sprintf("%s is %s, larger than %s: files this large must use Git LFS: run `git lfs track \"%s\"`, "+
		"`git add .gitattributes %s` and re-commit it (`git lfs migrate import --include=\"%s\"` converts commits already made)",
		path, humanSize(size), humanSize(threshold), ext, path, ext)
}

func pathExt(p string) string {
	base := p[strings.LastIndexByte(p, '/')+1:]
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		return base[i:]
	}
	return ""
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// checkBlob applies the file rules to a new blob: a pointer must name an
// LFS object uploaded to this repository, other content must be below the
// LFS threshold.
func (v *pushValidator) checkBlob(ctx context.Context, ob gitobj.Object, path string) (string, error) {
	s, r := v.g.s, v.g.r
	if p, ok := gitobj.ParsePointer(ob.Data); ok {
		size, err := s.useLFSObject(ctx, r.ID, p.OID)
		if errors.Is(err, meta.ErrNotFound) {
			return fmt.Sprintf("LFS object %s for %s was not uploaded to this repository: install git-lfs (`git lfs install`) and push again", p.OID, path), nil
		}
		if err != nil {
			return "", fmt.Errorf("push: lfs object %s: %w", p.OID, err)
		}
		if size != p.Size {
			return fmt.Sprintf("LFS pointer %s says %d bytes, the uploaded object has %d", path, p.Size, size), nil
		}
		if _, err := s.blobs.Stat(ctx, p.OID); err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				return fmt.Sprintf("LFS object %s for %s is missing from storage: push it again with `git lfs push --all`", p.OID, path), nil
			}
			return "", fmt.Errorf("push: stat lfs object %s: %w", p.OID, err)
		}
		return "", nil
	}
	size := int64(len(ob.Data))
	if size > s.cfg.LFSThreshold {
		return lfsMessage(path, size, s.cfg.LFSThreshold), nil
	}
	v.regular += size
	if v.regular > s.cfg.MaxCommitBytes {
		return fmt.Sprintf("the new regular files of this push exceed %s", humanSize(s.cfg.MaxCommitBytes)), nil
	}
	return "", nil
}

// checkExternal checks that the objects the pack references but does not
// hold are stored, with the expected kinds (the connectivity check).
func (v *pushValidator) checkExternal(ctx context.Context) ([]pushError, error) {
	ids := make([]gitobj.ID, 0, len(v.external))
	for id := range v.external {
		ids = append(ids, id)
	}
	var errs []pushError
	const chunk = 1000
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		st, err := v.g.s.meta.StatObjects(ctx, v.g.r.ID, part)
		if err != nil {
			return nil, fmt.Errorf("push: connectivity check: %w", err)
		}
		for _, id := range part {
			ref := v.external[id]
			info, ok := st[id]
			where := ""
			if ref.path != "" {
				where = " (" + ref.path + ")"
			}
			switch {
			case !ok:
				errs = append(errs, pushError{ref.cmd, fmt.Sprintf("missing object %s%s: the pack is incomplete", id, where)})
			case !kindMatches(info.Kind, ref.kind):
				errs = append(errs, pushError{ref.cmd, fmt.Sprintf("object %s%s is a %s, expected %s", id, where, info.Kind, kindName(ref.kind))})
			}
		}
	}
	slices.SortFunc(errs, func(a, b pushError) int { return a.cmd - b.cmd })
	return errs, nil
}

// kind returns the kind of an object of the push or of the repository.
func (v *pushValidator) kind(ctx context.Context, id gitobj.ID) (gitobj.Kind, error) {
	if o, ok := v.pack.Objects[id]; ok {
		return o.Kind, nil
	}
	st, err := v.g.s.meta.StatObjects(ctx, v.g.r.ID, []gitobj.ID{id})
	if err != nil {
		return 0, fmt.Errorf("push: %w", err)
	}
	return st[id].Kind, nil
}
