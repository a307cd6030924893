package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/access"
	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/meta"
)

// Action re-exports the authorisation actions for handlers.
type Action = access.Action

// Authorisation actions (see package access).
const (
	ReadMeta     = access.ReadMeta
	ReadContent  = access.ReadContent
	WriteContent = access.Write
	Manage       = access.Manage
	ReadRequests = access.ReadRequests
)

// nsTTL bounds how long a namespace's account (its id and whether it is an
// organisation) is remembered. Accounts are renamed or replaced rarely;
// memberships and tokens are never cached.
const nsTTL = time.Second

type nsEntry struct {
	id   int64
	org  bool
	read readMark
}

// nsCache remembers namespace accounts for nsTTL, or while nothing was
// written (refcache.go).
type nsCache struct {
	mu sync.Mutex
	m  map[string]nsEntry
}

// namespaceAccount returns the account owning namespace: its id and
// whether it is an organisation (id 0 when no account has that name, as
// for canonical repositories).
func (s *Service) namespaceAccount(ctx context.Context, namespace string) (int64, bool, error) {
	if namespace == "" {
		return 0, false, nil
	}
	key := strings.ToLower(namespace)
	now := s.mark(ctx)
	s.ns.mu.Lock()
	e, ok := s.ns.m[key]
	s.ns.mu.Unlock()
	if ok && e.read.fresh(now, nsTTL) {
		return e.id, e.org, nil
	}
	u, err := s.meta.UserByName(ctx, namespace)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		e = nsEntry{read: now}
	case err != nil:
		return 0, false, fmt.Errorf("namespace %s: %w", namespace, err)
	default:
		e = nsEntry{id: u.ID, org: u.IsOrg(), read: now}
	}
	s.ns.mu.Lock()
	// Past the bound every entry goes: a hub of a million repositories has
	// tens of thousands of namespaces, and a bound below its working set
	// made model_info read the account on most requests.
	if s.ns.m == nil || len(s.ns.m) > 200_000 {
		s.ns.m = map[string]nsEntry{}
	}
	s.ns.m[key] = e
	s.ns.mu.Unlock()
	return e.id, e.org, nil
}

// accessRepo describes r for the decision.
func (s *Service) accessRepo(ctx context.Context, r *meta.Repo) (access.Repo, error) {
	id, org, err := s.namespaceAccount(ctx, r.Namespace)
	if err != nil {
		return access.Repo{}, err
	}
	return access.Repo{ID: r.ID, Type: r.Type, FullName: r.FullName(), Namespace: r.Namespace, NamespaceID: id,
		OrgOwned: org, Private: r.Private, Gated: r.Gated, CreatorID: r.CreatorID}, nil
}

// caller describes who for a decision on ar and action a: the role in the
// repository's organisation and, for gated content, the access request.
func (s *Service) caller(ctx context.Context, who *auth.Identity, ar access.Repo, a access.Action) (*access.Caller, error) {
	if who == nil {
		return nil, nil
	}
	c := &access.Caller{UserID: who.User.ID, Name: who.User.Name, Admin: who.User.IsAdmin, Token: who.Token}
	if ar.OrgOwned && !c.Admin {
		role, err := s.meta.OrgRole(ctx, ar.NamespaceID, c.UserID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return nil, fmt.Errorf("org role: %w", err)
		}
		c.OrgRole = role
	}
	if a == access.ReadContent && ar.Gated != "" {
		req, err := s.meta.GetAccessRequest(ctx, ar.ID, c.UserID)
		switch {
		case err == nil:
			c.Request = req.Status
		case !errors.Is(err, meta.ErrNotFound):
			return nil, fmt.Errorf("access request: %w", err)
		}
	}
	return c, nil
}

// decide runs the one authorisation decision for who, r and a.
func (s *Service) decide(ctx context.Context, who *auth.Identity, r *meta.Repo, a access.Action) (access.Decision, error) {
	ar, err := s.accessRepo(ctx, r)
	if err != nil {
		return access.Decision{}, err
	}
	c, err := s.caller(ctx, who, ar, a)
	if err != nil {
		return access.Decision{}, err
	}
	return access.Decide(c, ar, a), nil
}

// authorize returns nil when who may do a to r, else the domain error for
// the refusal.
func (s *Service) authorize(ctx context.Context, who *auth.Identity, r *meta.Repo, a access.Action) error {
	d, err := s.decide(ctx, who, r, a)
	if err != nil {
		return err
	}
	return decisionError(d)
}

// decisionError maps a refusal to the domain's error kinds.
func decisionError(d access.Decision) error {
	switch d.Outcome {
	case access.Allow:
		return nil
	case access.Hidden:
		return repoNotFound()
	case access.SignIn:
		return errorf(ErrUnauthenticated, "%s", d.Message)
	case access.GatedSignIn:
		return errorf(ErrGatedSignIn, "%s", d.Message)
	case access.Gated:
		return errorf(ErrGated, "%s", d.Message)
	}
	return errorf(ErrForbidden, "%s", d.Message)
}

// Can reports whether who may do a to r (for pages and answers that only
// show or hide something).
func (s *Service) Can(ctx context.Context, who *auth.Identity, r *Repo, a Action) bool {
	d, err := s.decide(ctx, who, r, a)
	return err == nil && d.Allowed()
}

// Authorize finds repository ref and checks that who may do a to it. Every
// handler that reads a request body calls it first, so that nothing of the
// body is read (and no "100 Continue" is sent) for a caller who may not
// act.
func (s *Service) Authorize(ctx context.Context, who *auth.Identity, ref RepoRef, a Action) (*Repo, error) {
	return s.repoFor(ctx, who, ref, a)
}

// repoFor finds a repository and authorises a on it. A renamed repository
// is a *MovedError for reads (when the caller may read the new one) and
// missing for everything else: writes do not follow renames.
func (s *Service) repoFor(ctx context.Context, who *auth.Identity, ref RepoRef, a access.Action) (*meta.Repo, error) {
	r, _, err := s.repoHeadFor(ctx, who, ref, a)
	return r, err
}

// branchHead is the target of a repository's default branch, read with its row
// (meta.RepoWithHead): most reads address the default branch, and one
// query instead of two is a quarter of what model_info costs the server.
// ok is false when it was not read with the row.
type branchHead struct {
	id gitobj.ID
	ok bool
	// read is when the repository was looked up: refs read after it may
	// be kept with it (refcache.go).
	read readMark
}

// repoHeadFor is repoFor that also returns the default branch's head as
// read with the row, when the row was read (not kept: see repoRowCache).
func (s *Service) repoHeadFor(ctx context.Context, who *auth.Identity, ref RepoRef, a access.Action) (*meta.Repo, branchHead, error) {
	if ref.Type != TypeModel && ref.Type != TypeDataset {
		return nil, branchHead{}, repoNotFound()
	}
	read := a == access.ReadMeta || a == access.ReadContent
	key := repoRowKey{ref.Type, meta.LowerName(ref.Namespace, ref.Name)}
	now := s.mark(ctx)
	if read {
		if r, ok := s.repoRows.get(key, now); ok {
			if err := s.authorize(ctx, who, r, a); err != nil {
				return nil, branchHead{}, err
			}
			return r, branchHead{read: now}, nil
		}
	}
	gen := s.repoRows.generation()
	r, h, err := s.meta.RepoWithHead(ctx, ref.Type, ref.Namespace, ref.Name)
	if err == nil && read {
		s.repoRows.put(key, r, gen, now)
	}
	if errors.Is(err, meta.ErrNotFound) {
		r, err := s.movedOrMirror(ctx, who, ref, a)
		return r, branchHead{}, err
	}
	if err != nil {
		return nil, branchHead{}, fmt.Errorf("find repo %s: %w", ref.FullName(), err)
	}
	if err := s.authorize(ctx, who, r, a); err != nil {
		return nil, branchHead{}, err
	}
	if a == access.Write {
		if err := s.refuseMirrorWrite(ctx, r); err != nil { // mirror hook (issue 14): mirrors are read-only
			return nil, branchHead{}, err
		}
	}
	return r, branchHead{id: h, ok: true, read: now}, nil
}

// repoRowTTL bounds how long a replica authorises reads from a repository
// row it read earlier: a change of visibility or gating made through
// another replica (or `agora` commands) applies here this much later at
// most, as the issue allows for per-replica state ("no per-replica cache
// that outlives a revoked token or a removed member by more than a
// second"); changes made through this process apply at once (forget).
// Refs are never kept: a read of the default branch still costs one
// query for its head, so every replica serves a commit as soon as it
// landed. Reading the row was a third of model_info's server CPU.
// With a store that has data versions (refcache.go), a row is kept while
// nothing at all was written, not for a time.
const repoRowTTL = time.Second

type repoRowKey struct{ typ, lname string }

// maxRepoRows bounds the rows kept (about 20 MB): past it they are all
// dropped, so it must hold a busy hub's working set.
const maxRepoRows = 50_000

type repoRowEntry struct {
	r    meta.Repo
	read readMark
}

// repoRowCache keeps repository rows by (type, lower-case full name) for
// repoRowTTL, for reads only: writes and settings changes always read the
// row they change. Safe for concurrent use.
type repoRowCache struct {
	mu  sync.Mutex
	gen uint64 // moves with every forget, so that a read racing a write is not kept
	m   map[repoRowKey]repoRowEntry
}

// get returns a copy of the kept row (callers may change theirs) if it is
// still fresh at now.
func (c *repoRowCache) get(k repoRowKey, now readMark) (*meta.Repo, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if !ok || !e.read.fresh(now, repoRowTTL) {
		return nil, false
	}
	r := e.r
	return &r, true
}

func (c *repoRowCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps a copy of r, read when the generation was gen, at read.
func (c *repoRowCache) put(k repoRowKey, r *meta.Repo, gen uint64, read readMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) > maxRepoRows {
		c.m = map[repoRowKey]repoRowEntry{}
	}
	c.m[k] = repoRowEntry{r: *r, read: read}
}

// forget drops every kept row: this process wrote to a repository (its
// settings, name, counters, modification time, or deleted it). Writes are
// rare next to reads, so dropping all is simpler than finding the keys a
// rename or deletion touched, and as cheap.
func (c *repoRowCache) forget() {
	c.mu.Lock()
	c.gen++
	c.m = nil
	c.mu.Unlock()
}

// wrote drops what this replica keeps of rows a write may have changed, so
// the writer reads its own write; other replicas see it within the caches'
// second.
func (s *Service) wrote() {
	s.repoRows.forget()
	s.children.forget()
}

// movedOrMirror answers for a name no repository holds: a redirect to the
// repository's new name, or the mirror's repository of that name.
func (s *Service) movedOrMirror(ctx context.Context, who *auth.Identity, ref RepoRef, a access.Action) (*meta.Repo, error) {
	id, err := s.meta.Redirect(ctx, ref.Type, ref.Namespace, ref.Name)
	if err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return s.mirrorFor(ctx, who, ref, a) // mirror hook (issue 14): upstream ids, local names first
		}
		return nil, err
	}
	to, err := s.meta.RepoByID(ctx, id)
	if err != nil {
		return nil, repoNotFound()
	}
	if a != access.ReadMeta && a != access.ReadContent {
		return nil, repoNotFound()
	}
	if d, derr := s.decide(ctx, who, to, access.ReadMeta); derr != nil || !d.Allowed() {
		return nil, repoNotFound()
	}
	return nil, &MovedError{Msg: "Repository moved to " + to.FullName(), Namespace: to.Namespace, Name: to.Name}
}

// repo finds a repository the caller may see.
func (s *Service) repo(ctx context.Context, who *auth.Identity, ref RepoRef) (*meta.Repo, error) {
	return s.repoFor(ctx, who, ref, access.ReadMeta)
}

// writableRepo finds a repository the caller may write to.
func (s *Service) writableRepo(ctx context.Context, who *auth.Identity, ref RepoRef) (*meta.Repo, error) {
	return s.repoFor(ctx, who, ref, access.Write)
}

// managedRepo finds a repository whose settings the caller may change.
func (s *Service) managedRepo(ctx context.Context, who *auth.Identity, ref RepoRef) (*meta.Repo, error) {
	return s.repoFor(ctx, who, ref, access.Manage)
}

// checkCreate checks that who may create a repository in namespace.
func (s *Service) checkCreate(ctx context.Context, who *auth.Identity, namespace string) error {
	if who == nil {
		return errorf(ErrUnauthenticated, "You must be authenticated to create a repository")
	}
	id, org, err := s.namespaceAccount(ctx, namespace)
	if err != nil {
		return err
	}
	c := &access.Caller{UserID: who.User.ID, Name: who.User.Name, Admin: who.User.IsAdmin, Token: who.Token}
	if org && !c.Admin {
		role, err := s.meta.OrgRole(ctx, id, c.UserID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("org role: %w", err)
		}
		c.OrgRole = role
	}
	if !org && id == 0 && namespace != "" && !c.Admin {
		// Nobody owns the name: only the user of that name could, and
		// that is not the caller.
		return errorf(ErrForbidden, "You don't have the rights to create a repository under the namespace %q", namespace)
	}
	return decisionError(access.CanCreateIn(c, namespace, id, org))
}

// requireAccountChange checks that who may change its own account (tokens,
// keys, settings): a web session or a write token, never a read or
// fine-grained token.
func requireAccountChange(who *auth.Identity) error {
	var c *access.Caller
	if who != nil {
		c = &access.Caller{UserID: who.User.ID, Name: who.User.Name, Admin: who.User.IsAdmin, Token: who.Token}
	}
	return decisionError(access.AccountAction(c))
}

// viewerNamespaces are the namespaces whose private repositories who may
// list: its own and those of organisations where it has a role, limited
// for a fine-grained token to the namespaces its scopes cover.
func (s *Service) viewerNamespaces(ctx context.Context, who *auth.Identity) (all bool, namespaces []string, err error) {
	if who == nil {
		return false, nil, nil
	}
	fine := who.Token != nil && who.Token.Role == meta.RoleFineGrained
	if who.User.IsAdmin && !fine {
		return true, nil, nil
	}
	covers := func(id int64) bool {
		return !fine || access.NamespaceGrants(who.Token.Scopes, id, access.PermContentRead)
	}
	if covers(who.User.ID) {
		namespaces = append(namespaces, who.User.Name)
	}
	orgs, err := s.meta.UserOrgs(ctx, who.User.ID)
	if err != nil {
		return false, nil, fmt.Errorf("viewer orgs: %w", err)
	}
	for _, m := range orgs {
		if m.Role != meta.OrgNoAccess && covers(m.Org.ID) {
			namespaces = append(namespaces, m.Org.Name)
		}
	}
	return false, namespaces, nil
}

// checkMove applies the Hub's rules for moving repository r to to (the
// caller may already manage r): within a namespace, managing r is enough;
// into a user namespace, only the caller's own, and out of an
// organisation only as its admin; into an organisation, the right to
// create repositories there. Site admins move anything anywhere.
func (s *Service) checkMove(ctx context.Context, who *auth.Identity, r *meta.Repo, to RepoRef) error {
	if strings.EqualFold(r.Namespace, to.Namespace) || who.User.IsAdmin {
		if who.User.IsAdmin {
			return nil
		}
		return s.checkCreate(ctx, who, to.Namespace)
	}
	fromID, fromOrg, err := s.namespaceAccount(ctx, r.Namespace)
	if err != nil {
		return err
	}
	if fromOrg {
		role, err := s.meta.OrgRole(ctx, fromID, who.User.ID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("org role: %w", err)
		}
		if role != meta.OrgAdmin {
			return errorf(ErrForbidden, "Only admins of %s can move its repositories out of it", r.Namespace)
		}
	}
	_, toOrg, err := s.namespaceAccount(ctx, to.Namespace)
	if err != nil {
		return err
	}
	if !toOrg && !strings.EqualFold(to.Namespace, who.User.Name) {
		return errorf(ErrForbidden, "A repository can only be moved to your own namespace or to an organization")
	}
	return s.checkCreate(ctx, who, to.Namespace)
}
