package mirror

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/gitobj/packfile"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

// Mirror is the pull-through mirror. It implements [hub.Mirror]; it is
// safe for concurrent use, and any number of processes may share one
// metadata and blob store (replicas, and the agora mirror commands).
type Mirror struct {
	lg     *slog.Logger
	cfg    Config
	meta   meta.Store
	blobs  blob.Store
	hub    *hub.Service
	ups    []*upstream
	byName map[string]*upstream
	// chunks is the blob store's key space for fills staged for other
	// replicas (nil when the store has none: readers elsewhere then wait
	// for the published object).
	chunks blob.Keyspace

	// bg is the lifetime of fills, which outlive the request that started
	// them (the work is worth finishing for the next reader); Close ends
	// it.
	bg     context.Context
	stopBG context.CancelFunc
	wg     sync.WaitGroup

	flight flightGroup

	mu       sync.Mutex
	fills    map[string]*fill // by oid, in this process
	states   map[int64]stateEntry
	misses   map[string]time.Time // upstream said "no such repository", until
	touched  map[string]time.Time // last use recorded, by upstream and oid
	evicting map[string]bool      // upstreams being evicted: whether to run again
}

var _ hub.Mirror = (*Mirror)(nil)

// stateEntry caches whether a repository is a mirror, for a second:
// resolve asks it for every repository, local ones included.
type stateEntry struct {
	m  *meta.MirrorRepo // nil: a local repository
	at time.Time
}

// New builds the mirror. h is the hub it serves (for recomputing derived
// metadata after a sync).
func New(lg *slog.Logger, cfg Config, m meta.Store, b blob.Store, h *hub.Service) (*Mirror, error) {
	cfg.withDefaults()
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomHex(4))
	}
	mr := &Mirror{lg: lg, cfg: cfg, meta: m, blobs: b, hub: h, byName: map[string]*upstream{},
		fills: map[string]*fill{}, states: map[int64]stateEntry{}, misses: map[string]time.Time{},
		touched: map[string]time.Time{}, evicting: map[string]bool{}}
	for _, u := range cfg.Upstreams {
		if err := CheckName(u.Name); err != nil {
			return nil, err
		}
		if mr.byName[u.Name] != nil {
			return nil, fmt.Errorf("upstream %s configured twice", u.Name)
		}
		up := &upstream{Upstream: u, m: mr}
		mr.ups = append(mr.ups, up)
		mr.byName[u.Name] = up
	}
	if ks, err := blob.OpenKeyspace(b, "mirrorfill"); err == nil {
		mr.chunks = ks
	} else if !errors.Is(err, blob.ErrUnsupported) {
		return nil, fmt.Errorf("mirror: %w", err)
	}
	mr.bg, mr.stopBG = context.WithCancel(context.Background())
	return mr, nil
}

// Close stops the fills in progress (nothing of them is kept) and waits
// for them.
func (m *Mirror) Close() {
	m.stopBG()
	m.wg.Wait()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// claim returns the upstream that serves ref, or nil.
func (m *Mirror) claim(ref hub.RepoRef) *upstream {
	for _, u := range m.ups {
		if u.Policy.Claims(ref) {
			return u
		}
	}
	return nil
}

func refOf(r *meta.Repo) hub.RepoRef {
	return hub.RepoRef{Type: r.Type, Namespace: r.Namespace, Name: r.Name}
}

// state returns repository id's mirror record (nil for a local one).
func (m *Mirror) state(ctx context.Context, id int64) (*meta.MirrorRepo, error) {
	now := time.Now()
	m.mu.Lock()
	e, ok := m.states[id]
	m.mu.Unlock()
	if ok && now.Sub(e.at) < time.Second {
		return e.m, nil
	}
	mr, err := m.meta.MirrorRepo(ctx, id)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		mr = nil
	case err != nil:
		return nil, err
	}
	m.mu.Lock()
	if len(m.states) > 100_000 {
		m.states = map[int64]stateEntry{}
	}
	m.states[id] = stateEntry{m: mr, at: now}
	m.mu.Unlock()
	return mr, nil
}

func (m *Mirror) forget(id int64) {
	m.mu.Lock()
	delete(m.states, id)
	m.mu.Unlock()
}

// upstreamOf returns the upstream of a mirror record; nil when the
// operator no longer configures it (the repository then serves what is
// cached).
func (m *Mirror) upstreamOf(mr *meta.MirrorRepo) *upstream { return m.byName[mr.Upstream] }

// Find implements hub.Mirror.
func (m *Mirror) Find(ctx context.Context, ref hub.RepoRef) (*meta.Repo, error) {
	up := m.claim(ref)
	if up == nil {
		return nil, &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
	}
	key := ref.Type + ":" + strings.ToLower(ref.FullName())
	v, err := m.flight.do(ctx, "find:"+key, func(ctx context.Context) (any, error) {
		if r, err := m.meta.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name); err == nil {
			return r, nil // another request, or replica, was faster
		}
		m.mu.Lock()
		until, missing := m.misses[key]
		m.mu.Unlock()
		if missing && m.cfg.Now().Before(until) {
			return nil, &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
		}
		info, err := up.info(ctx, ref, "")
		if err != nil {
			if errors.Is(err, hub.ErrRepoNotFound) {
				m.mu.Lock()
				if len(m.misses) > 100_000 {
					m.misses = map[string]time.Time{}
				}
				m.misses[key] = m.cfg.Now().Add(max(m.cfg.TTL, time.Second))
				m.mu.Unlock()
			}
			return nil, err
		}
		r, err := m.create(ctx, up, ref, info)
		if err != nil {
			return nil, err
		}
		// Bind at once: listings of refs read them without resolving. A
		// repository whose content the upstream refuses (gated for the
		// service token) is not kept as an empty shell.
		if err := m.refresh(ctx, r.ID, up); err != nil {
			if mr, merr := m.meta.MirrorRepo(ctx, r.ID); merr == nil && mr.SyncedAt.UnixMilli() <= 0 {
				m.meta.DeleteRepo(ctx, r.ID)
				m.forget(r.ID)
			}
			return nil, err
		}
		return m.meta.RepoByID(ctx, r.ID)
	})
	if err != nil {
		return nil, err
	}
	return v.(*meta.Repo), nil
}

// create makes the local repository row of a new mirror. Its visibility
// follows the rule in README: public upstream repositories are public,
// gated ones gated with manual approval, private ones private.
func (m *Mirror) create(ctx context.Context, up *upstream, ref hub.RepoRef, info *repoInfo) (*meta.Repo, error) {
	id := strings.ToLower(info.ID)
	if len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
		id = randomHex(12)
	}
	for attempt := 0; ; attempt++ {
		r := &meta.Repo{PublicID: id, Type: ref.Type, Namespace: ref.Namespace, Name: ref.Name,
			Private: info.Private, Gated: info.gated()}
		if r.Private {
			r.Gated = ""
		}
		mr := &meta.MirrorRepo{Upstream: up.Name, UpstreamPrivate: info.Private, UpstreamGated: info.gated()}
		err := m.meta.CreateMirrorRepo(ctx, r, mr)
		if err == nil {
			m.lg.InfoContext(ctx, "mirror: new mirrored repository", "repo", ref.FullName(), "type", ref.Type, "upstream", up.Name)
			return r, nil
		}
		if !errors.Is(err, meta.ErrConflict) || attempt > 0 {
			return nil, fmt.Errorf("mirror %s: %w", ref.FullName(), err)
		}
		if r, err := m.meta.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name); err == nil {
			return r, nil
		}
		id = randomHex(12) // the upstream's id is taken here
	}
}

// Bind implements hub.Mirror.
func (m *Mirror) Bind(ctx context.Context, r *meta.Repo, rev string) error {
	mr, err := m.state(ctx, r.ID)
	if err != nil || mr == nil {
		return err
	}
	if rev == "" || rev == "HEAD" {
		rev = r.DefaultBranch
	}
	up := m.upstreamOf(mr)
	if gitobj.IsFullHexID(rev) {
		id, _ := gitobj.ParseID(strings.ToLower(rev))
		if ok, err := m.hasCommit(ctx, r.ID, id); err != nil || ok {
			return err // under a commit id, everything is immutable
		}
		if up == nil {
			return m.unbound(up, mr)
		}
		return m.fetchCommit(ctx, r, up, mr, id)
	}
	if up == nil {
		if ok, _ := m.boundLocally(ctx, r, rev); ok {
			return nil
		}
		return m.unbound(up, mr)
	}
	if mr.SyncedAt.UnixMilli() > 0 && m.cfg.Now().Sub(mr.SyncedAt) < m.cfg.TTL {
		return nil
	}
	err = m.refresh(ctx, r.ID, up)
	if err == nil || ctx.Err() != nil {
		return err
	}
	// The upstream could not be asked (or no longer has the repository):
	// the last binding answers, as the sovereign copy it is.
	if ok, lerr := m.boundLocally(ctx, r, rev); lerr == nil && ok {
		m.lg.WarnContext(ctx, "mirror: serving the last binding", "repo", r.FullName(), "rev", rev, "err", err)
		inc(m.cfg.Metrics.StaleAnswers, 1)
		return nil
	}
	return err
}

func (m *Mirror) unbound(up *upstream, mr *meta.MirrorRepo) error {
	return &hub.Error{Kind: hub.ErrUpstreamUnavailable, Msg: "upstream " + mr.Upstream + " is not configured: only cached revisions are served"}
}

func (m *Mirror) hasCommit(ctx context.Context, repoID int64, id gitobj.ID) (bool, error) {
	st, err := m.meta.StatObjects(ctx, repoID, []gitobj.ID{id})
	if err != nil {
		return false, err
	}
	info, ok := st[id]
	return ok && info.Kind == gitobj.KindCommit, nil
}

// boundLocally reports whether rev resolves from what is stored.
func (m *Mirror) boundLocally(ctx context.Context, r *meta.Repo, rev string) (bool, error) {
	var names []string
	if strings.HasPrefix(rev, "refs/") {
		names = []string{rev}
	} else {
		names = []string{"refs/heads/" + rev, "refs/tags/" + rev}
	}
	for _, n := range names {
		_, err := m.meta.GetRef(ctx, r.ID, n)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, meta.ErrNotFound) {
			return false, err
		}
	}
	if len(rev) >= 7 && len(rev) < 40 && strings.Trim(strings.ToLower(rev), "0123456789abcdef") == "" {
		ids, err := m.meta.ObjectsByPrefix(ctx, r.ID, gitobj.KindCommit, strings.ToLower(rev), 2)
		return len(ids) == 1, err
	}
	return false, nil
}

// fetchCommit brings a commit that no bound ref reaches (an old branch
// tip, a commit id a client cached).
func (m *Mirror) fetchCommit(ctx context.Context, r *meta.Repo, up *upstream, mr *meta.MirrorRepo, id gitobj.ID) error {
	if mr.SyncedAt.UnixMilli() <= 0 || m.cfg.Now().Sub(mr.SyncedAt) >= m.cfg.TTL {
		if err := m.refresh(ctx, r.ID, up); err != nil {
			return err
		}
		if ok, err := m.hasCommit(ctx, r.ID, id); err != nil || ok {
			return err
		}
	}
	_, err := m.flight.do(ctx, fmt.Sprintf("commit:%d:%s", r.ID, id), func(ctx context.Context) (any, error) {
		if ok, err := m.hasCommit(ctx, r.ID, id); err != nil || ok {
			return nil, err
		}
		// The upstream's own answer says whether the commit exists
		// (RevisionNotFound keeps its meaning).
		if _, err := up.info(ctx, refOf(r), id.String()); err != nil {
			return nil, err
		}
		haves, err := m.localTips(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		pack, err := up.fetchPack(ctx, refOf(r), []gitobj.ID{id}, haves, m.baseFunc(ctx, r.ID))
		if err != nil {
			return nil, err
		}
		objs, err := m.closure(ctx, up, r.ID, pack, []gitobj.ID{id})
		if err != nil {
			return nil, err
		}
		if k, _ := pack.Kind(id); k != gitobj.KindCommit {
			return nil, up.errorf(hub.ErrUpstreamInvalid, "git: %s is not a commit", id)
		}
		return nil, m.meta.PutObjects(ctx, r.ID, objs)
	})
	return err
}

// localTips are the targets of the stored refs: what a fetch names as
// haves, so that only new objects come.
func (m *Mirror) localTips(ctx context.Context, repoID int64) ([]gitobj.ID, error) {
	refs, err := m.meta.ListRefs(ctx, repoID)
	if err != nil {
		return nil, err
	}
	seen := map[gitobj.ID]bool{}
	var out []gitobj.ID
	for _, rf := range refs {
		if !seen[rf.Target] {
			seen[rf.Target] = true
			out = append(out, rf.Target)
		}
	}
	return out, nil
}

// baseFunc resolves a delta base from the stored objects.
func (m *Mirror) baseFunc(ctx context.Context, repoID int64) packfile.BaseFunc {
	return func(id gitobj.ID) (gitobj.Object, error) {
		o, err := m.meta.GetObject(ctx, repoID, id)
		if errors.Is(err, meta.ErrNotFound) {
			return gitobj.Object{}, packfile.ErrBaseNotFound
		}
		return o, err
	}
}

// refresh binds repository id's refs to the upstream's, fetching what is
// missing; concurrent callers in this process share one refresh.
func (m *Mirror) refresh(ctx context.Context, id int64, up *upstream) error {
	_, err := m.flight.do(ctx, fmt.Sprintf("refresh:%d", id), func(ctx context.Context) (any, error) {
		return nil, m.doRefresh(ctx, id, up)
	})
	return err
}

func (m *Mirror) doRefresh(ctx context.Context, id int64, up *upstream) error {
	defer m.forget(id)
	r, err := m.meta.RepoByID(ctx, id)
	if err != nil {
		return err
	}
	ref := refOf(r)
	info, err := up.info(ctx, ref, "")
	if err != nil {
		return err
	}
	urefs, head, err := up.lsRefs(ctx, ref)
	if err != nil {
		return err
	}
	targets := make([]gitobj.ID, 0, len(urefs))
	for _, u := range urefs {
		targets = append(targets, u.Target)
	}
	have, err := m.statAll(ctx, r.ID, targets)
	if err != nil {
		return err
	}
	var wants []gitobj.ID
	seen := map[gitobj.ID]bool{}
	for _, t := range targets {
		if _, ok := have[t]; !ok && !seen[t] {
			seen[t] = true
			wants = append(wants, t)
		}
	}
	var objs []gitobj.Object
	if len(wants) > 0 {
		haves, err := m.localTips(ctx, r.ID)
		if err != nil {
			return err
		}
		pack, err := up.fetchPack(ctx, ref, wants, haves, m.baseFunc(ctx, r.ID))
		if err != nil {
			return err
		}
		if objs, err = m.closure(ctx, up, r.ID, pack, wants); err != nil {
			return err
		}
	}
	defBranch := r.DefaultBranch
	if b, ok := strings.CutPrefix(head, "refs/heads/"); ok {
		defBranch = b
	}
	var headTime time.Time
	for _, u := range urefs {
		if u.Name == "refs/heads/"+defBranch {
			if c, err := m.commitOf(ctx, r.ID, objs, u.Target); err == nil {
				headTime = c.Committer.When
			}
		}
	}
	now := m.cfg.Now()
	var headMoved bool
	err = m.meta.InTx(ctx, func(tx meta.Tx) error {
		headMoved = false
		if err := tx.PutObjects(ctx, r.ID, objs); err != nil {
			return err
		}
		cur, err := tx.ListRefs(ctx, r.ID)
		if err != nil {
			return err
		}
		old := map[string]gitobj.ID{}
		for _, rf := range cur {
			old[rf.Name] = rf.Target
		}
		upstreamHas := map[string]bool{}
		for _, u := range urefs {
			upstreamHas[u.Name] = true
			if old[u.Name] == u.Target {
				continue
			}
			if err := tx.UpdateRef(ctx, r.ID, u.Name, old[u.Name], u.Target); err != nil {
				return err
			}
			if u.Name == "refs/heads/"+defBranch {
				headMoved = true
			}
		}
		for name, target := range old {
			if !upstreamHas[name] {
				if err := tx.UpdateRef(ctx, r.ID, name, target, gitobj.ZeroID); err != nil {
					return err
				}
			}
		}
		mr, err := tx.MirrorRepo(ctx, r.ID)
		if err != nil {
			return err
		}
		cr, err := tx.RepoByID(ctx, r.ID)
		if err != nil {
			return err
		}
		changed := tighten(cr, mr, info)
		mr.UpstreamPrivate, mr.UpstreamGated, mr.SyncedAt = info.Private, info.gated(), now
		if err := tx.UpdateMirrorRepo(ctx, mr); err != nil {
			return err
		}
		if cr.DefaultBranch != defBranch {
			cr.DefaultBranch, changed, headMoved = defBranch, true, true
		}
		if headMoved && !headTime.IsZero() {
			cr.UpdatedAt, changed = headTime, true
		}
		if changed {
			return tx.UpdateRepo(ctx, cr)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mirror %s: bind refs: %w", r.FullName(), err)
	}
	if !headMoved {
		if _, err := m.meta.GetRepoMeta(ctx, r.ID); err == nil {
			return nil
		}
	}
	r, err = m.meta.RepoByID(ctx, r.ID)
	if err != nil {
		return err
	}
	if err := m.hub.Rederive(ctx, r); err != nil {
		// The refs are bound; only listings' metadata lags.
		m.lg.WarnContext(ctx, "mirror: derived metadata not updated", "repo", r.FullName(), "err", err)
	}
	return nil
}

// tighten applies an upstream that became private or gated since the last
// sync to the local settings (loosening them is the operator's choice, so
// only a change upstream does it). It reports whether r changed.
func tighten(r *meta.Repo, mr *meta.MirrorRepo, info *repoInfo) bool {
	changed := false
	if info.Private && !mr.UpstreamPrivate && !r.Private {
		r.Private, r.Gated, changed = true, "", true
	}
	if info.gated() != "" && mr.UpstreamGated == "" && r.Gated == "" && !r.Private {
		r.Gated, changed = "manual", true
	}
	return changed
}

func (m *Mirror) commitOf(ctx context.Context, repoID int64, objs []gitobj.Object, id gitobj.ID) (*gitobj.Commit, error) {
	for _, o := range objs {
		if o.Kind == gitobj.KindCommit && o.ID() == id {
			return gitobj.DecodeCommit(o.Data)
		}
	}
	o, err := m.meta.GetObject(ctx, repoID, id)
	if err != nil {
		return nil, err
	}
	if o.Kind != gitobj.KindCommit {
		return nil, fmt.Errorf("%s is a %s", id, o.Kind)
	}
	return gitobj.DecodeCommit(o.Data)
}

func (m *Mirror) statAll(ctx context.Context, repoID int64, ids []gitobj.ID) (map[gitobj.ID]meta.ObjectInfo, error) {
	out := map[gitobj.ID]meta.ObjectInfo{}
	for start := 0; start < len(ids); start += 500 {
		st, err := m.meta.StatObjects(ctx, repoID, ids[start:min(start+500, len(ids))])
		if err != nil {
			return nil, err
		}
		for k, v := range st {
			out[k] = v
		}
	}
	return out, nil
}

// closure checks that the pack and the stored objects together hold
// everything wants reach (a hub serves only complete histories) and
// returns the pack's objects they reach. Stored objects came from
// earlier checked fetches, so the walk stops at them.
func (m *Mirror) closure(ctx context.Context, up *upstream, repoID int64, pack *packfile.Pack, wants []gitobj.ID) ([]gitobj.Object, error) {
	bad := func(format string, args ...any) error {
		return up.errorf(hub.ErrUpstreamInvalid, "git: "+format, args...)
	}
	seen := map[gitobj.ID]bool{}
	queue := append([]gitobj.ID(nil), wants...)
	var out []gitobj.Object
	var outside []gitobj.ID
	for len(queue) > 0 {
		id := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		o, ok := pack.Objects[id]
		if !ok {
			outside = append(outside, id)
			continue
		}
		out = append(out, o)
		switch o.Kind {
		case gitobj.KindCommit:
			c, err := gitobj.DecodeCommit(o.Data)
			if err != nil {
				return nil, bad("commit %s: %v", id, err)
			}
			queue = append(queue, c.Tree)
			queue = append(queue, c.Parents...)
		case gitobj.KindTree:
			ents, err := gitobj.DecodeTree(o.Data)
			if err != nil {
				return nil, bad("tree %s: %v", id, err)
			}
			for _, e := range ents {
				if e.Mode != gitobj.ModeGitlink {
					queue = append(queue, e.ID)
				}
			}
		case gitobj.KindTag:
			t, err := gitobj.DecodeTag(o.Data)
			if err != nil {
				return nil, bad("tag %s: %v", id, err)
			}
			queue = append(queue, t.Object)
		}
	}
	st, err := m.statAll(ctx, repoID, outside)
	if err != nil {
		return nil, err
	}
	for _, id := range outside {
		if _, ok := st[id]; !ok {
			return nil, bad("incomplete pack: object %s is missing", id)
		}
	}
	return out, nil
}

// flightGroup runs one call per key at a time; concurrent callers of the
// same key share its result. The call runs detached from the first
// caller's cancellation (the others still want the result); each caller
// stops waiting when its own context ends.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	val  any
	err  error
}

func (g *flightGroup) do(ctx context.Context, key string, fn func(ctx context.Context) (any, error)) (any, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flightCall{}
	}
	c := g.m[key]
	if c == nil {
		c = &flightCall{done: make(chan struct{})}
		g.m[key] = c
		g.mu.Unlock()
		go func() {
			defer func() {
				g.mu.Lock()
				delete(g.m, key)
				g.mu.Unlock()
				close(c.done)
			}()
			c.val, c.err = fn(context.WithoutCancel(ctx))
		}()
	} else {
		g.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
