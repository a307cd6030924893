package hub

import (
	"errors"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

func TestAccessRequests(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.create(t, modelRef, false)
	carol := f.user(t, "carol")
	for _, mode := range []string{"auto", "manual"} {
		g := mode
		if _, err := f.s.UpdateSettings(ctx, f.alice, modelRef, RepoSettings{Gated: &g}); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := f.s.FileAt(ctx, carol, modelRef, "main", ".gitattributes")
		if !errors.Is(err, ErrGated) && mode == "manual" {
			t.Fatalf("%s before request: %v", mode, err)
		}
	}
	// Manual: the request waits, the owner accepts it.
	st, err := f.s.RequestAccess(ctx, f.bob, modelRef, map[string]string{"Company": "ACME"})
	if err != nil || st != AccessPending {
		t.Fatalf("request = %q, %v", st, err)
	}
	_, _, _, err = f.s.FileAt(ctx, f.bob, modelRef, "main", ".gitattributes")
	if he, _ := AsError(err); !errors.Is(err, ErrGated) || he.Msg != "Your request to access model alice/m is awaiting a review from the repo authors." {
		t.Fatalf("pending: %v", err)
	}
	// The card stays readable through the gate.
	if _, err := f.s.Commit(ctx, f.alice, modelRef, CommitRequest{Revision: "main", Summary: "card",
		Ops: []CommitOp{{Kind: OpFile, Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# M\n")}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.s.FileAt(ctx, f.bob, modelRef, "main", "README.md"); err != nil {
		t.Fatalf("README behind the gate: %v", err)
	}
	// Only those who manage the repository see and review requests.
	if _, err := f.s.ListAccessRequests(ctx, f.bob, modelRef, AccessPending, AccessCursor{}, 10); !errors.Is(err, ErrForbidden) {
		t.Fatalf("requester lists: %v", err)
	}
	pend, err := f.s.ListAccessRequests(ctx, f.alice, modelRef, AccessPending, AccessCursor{}, 10)
	if err != nil || len(pend) != 1 || pend[0].User.Name != "bob" || pend[0].Fields["Company"] != "ACME" {
		t.Fatalf("pending list %+v %v", pend, err)
	}
	if err := f.s.HandleAccessRequest(ctx, f.aliceRead, modelRef, "bob", "", AccessAccepted, ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("read token handles: %v", err)
	}
	if err := f.s.HandleAccessRequest(ctx, f.alice, modelRef, "bob", "", AccessAccepted, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.s.HandleAccessRequest(ctx, f.alice, modelRef, "bob", "", AccessAccepted, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("same status twice: %v", err)
	}
	if _, _, _, err := f.s.FileAt(ctx, f.bob, modelRef, "main", ".gitattributes"); err != nil {
		t.Fatalf("accepted: %v", err)
	}
	// Rejecting takes access away again.
	if err := f.s.HandleAccessRequest(ctx, f.alice, modelRef, "bob", "", AccessRejected, "no"); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = f.s.FileAt(ctx, f.bob, modelRef, "main", ".gitattributes")
	if he, _ := AsError(err); !errors.Is(err, ErrGated) || he.Msg != "Your request to access model alice/m has been rejected by the repo's authors." {
		t.Fatalf("rejected: %v", err)
	}
	if st, _ := f.s.RequestAccess(ctx, f.bob, modelRef, nil); st != AccessRejected {
		t.Fatalf("re-request after rejection = %q", st)
	}
	// Grants need no request; twice is an error.
	if err := f.s.GrantAccess(ctx, f.alice, modelRef, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.GrantAccess(ctx, f.alice, modelRef, "carol"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("grant twice: %v", err)
	}
	if err := f.s.GrantAccess(ctx, f.alice, modelRef, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("grant unknown: %v", err)
	}
	// Auto: accepted at once.
	auto := RepoRef{Type: TypeModel, Namespace: "alice", Name: "auto"}
	f.create(t, auto, false)
	g := "auto"
	if _, err := f.s.UpdateSettings(ctx, f.alice, auto, RepoSettings{Gated: &g}); err != nil {
		t.Fatal(err)
	}
	if st, err := f.s.RequestAccess(ctx, carol, auto, nil); err != nil || st != AccessAccepted {
		t.Fatalf("auto request = %q, %v", st, err)
	}
	if _, _, _, err := f.s.FileAt(ctx, carol, auto, "main", ".gitattributes"); err != nil {
		t.Fatalf("auto accepted: %v", err)
	}
	// Not gated: requests make no sense.
	plain := RepoRef{Type: TypeModel, Namespace: "alice", Name: "plain"}
	f.create(t, plain, false)
	if err := f.s.GrantAccess(ctx, f.alice, plain, "carol"); !errors.Is(err, ErrNotGated) {
		t.Fatalf("grant on plain: %v", err)
	}
}

func TestOrgRoles(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	org := &meta.User{Name: "acme", Kind: meta.KindOrg}
	if err := f.m.CreateUser(ctx, org); err != nil {
		t.Fatal(err)
	}
	roles := map[string]*auth.Identity{}
	for _, role := range []string{meta.OrgNoAccess, meta.OrgRead, meta.OrgContributor, meta.OrgWrite, meta.OrgAdmin} {
		who := f.user(t, "m-"+role)
		if err := f.m.SetOrgMember(ctx, org.ID, who.User.ID, role); err != nil {
			t.Fatal(err)
		}
		roles[role] = who
	}
	priv := RepoRef{Type: TypeModel, Namespace: "acme", Name: "secret"}
	if _, err := f.s.CreateRepo(ctx, roles[meta.OrgRead], priv, CreateRepoOptions{Private: true}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("read member creates: %v", err)
	}
	if _, err := f.s.CreateRepo(ctx, roles[meta.OrgAdmin], priv, CreateRepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	mine := RepoRef{Type: TypeModel, Namespace: "acme", Name: "mine"}
	if _, err := f.s.CreateRepo(ctx, roles[meta.OrgContributor], mine, CreateRepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		role   string
		ref    RepoRef
		read   error
		commit error
	}{
		{"", priv, ErrRepoNotFound, ErrRepoNotFound},
		{meta.OrgNoAccess, priv, ErrRepoNotFound, ErrRepoNotFound},
		{meta.OrgRead, priv, nil, ErrForbidden},
		{meta.OrgContributor, priv, nil, ErrForbidden},
		{meta.OrgContributor, mine, nil, nil},
		{meta.OrgWrite, priv, nil, nil},
		{meta.OrgAdmin, priv, nil, nil},
	} {
		who := f.bob
		if tc.role != "" {
			who = roles[tc.role]
		}
		_, err := f.s.GetRepo(ctx, who, tc.ref)
		if !errorsIs(err, tc.read) {
			t.Errorf("%s reads %s: %v, want %v", tc.role, tc.ref.Name, err, tc.read)
		}
		_, err = f.s.Commit(ctx, who, tc.ref, CommitRequest{Revision: "main", Summary: "x", Ops: []CommitOp{{Kind: OpFile, Path: "x.txt", Content: []byte("x")}}})
		if !errorsIs(err, tc.commit) {
			t.Errorf("%s commits to %s: %v, want %v", tc.role, tc.ref.Name, err, tc.commit)
		}
	}
	// Listings show private org repositories to members with a role.
	rows, _, err := f.s.ListRepos(ctx, roles[meta.OrgRead], ListQuery{Type: TypeModel, Author: "acme", Limit: 10})
	if err != nil || len(rows) != 2 {
		t.Fatalf("member listing %d %v", len(rows), err)
	}
	rows, _, err = f.s.ListRepos(ctx, roles[meta.OrgNoAccess], ListQuery{Type: TypeModel, Author: "acme", Limit: 10})
	if err != nil || len(rows) != 0 {
		t.Fatalf("no_access listing %d %v", len(rows), err)
	}
	// Moves: user → org needs contributor there; org → user needs org admin.
	bobs := RepoRef{Type: TypeModel, Namespace: "m-read", Name: "r"}
	if _, err := f.s.CreateRepo(ctx, roles[meta.OrgRead], bobs, CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.MoveRepo(ctx, roles[meta.OrgRead], bobs, RepoRef{Type: TypeModel, Namespace: "acme", Name: "r"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("read member moves into org: %v", err)
	}
	if err := f.s.MoveRepo(ctx, roles[meta.OrgWrite], priv, RepoRef{Type: TypeModel, Namespace: "m-write", Name: "secret"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("write member moves out of org: %v", err)
	}
	if err := f.s.MoveRepo(ctx, roles[meta.OrgAdmin], priv, RepoRef{Type: TypeModel, Namespace: "m-admin", Name: "secret"}); err != nil {
		t.Fatalf("admin moves out of org: %v", err)
	}
}

func errorsIs(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}

// user makes a signed-in user with a write token.
func (f *fixture) user(t *testing.T, name string) *auth.Identity {
	t.Helper()
	u := &meta.User{Name: name}
	if err := f.m.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	return &auth.Identity{User: u, Token: &meta.Token{Name: "t", Role: meta.RoleWrite}, Role: meta.RoleWrite}
}
