package metatest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/meta"
)

func testOrgs(t *testing.T, s meta.Store) {
	ctx := t.Context()
	alice, bob := mkUser(t, s, "alice"), mkUser(t, s, "bob")
	org := &meta.User{Name: "Acme", Kind: meta.KindOrg, FullName: "Acme Lab", DefaultPrivate: true}
	must(t, s.CreateUser(ctx, org))
	// One namespace: a user cannot take an organisation's name.
	wantErr(t, s.CreateUser(ctx, &meta.User{Name: "acme"}), meta.ErrConflict)
	got, err := s.UserByName(ctx, "ACME")
	must(t, err)
	if !got.IsOrg() || !got.DefaultPrivate || got.FullName != "Acme Lab" {
		t.Fatalf("org read back as %+v", got)
	}
	if u, _ := s.UserByName(ctx, "alice"); u.IsOrg() || u.Kind != meta.KindUser {
		t.Fatalf("user kind %q", u.Kind)
	}
	must(t, s.SetOrgMember(ctx, org.ID, alice.ID, meta.OrgAdmin))
	must(t, s.SetOrgMember(ctx, org.ID, bob.ID, meta.OrgRead))
	must(t, s.SetOrgMember(ctx, org.ID, bob.ID, meta.OrgWrite)) // changes the role
	role, err := s.OrgRole(ctx, org.ID, bob.ID)
	must(t, err)
	if role != meta.OrgWrite {
		t.Fatalf("role %q", role)
	}
	members, err := s.OrgMembers(ctx, org.ID, "", 1)
	must(t, err)
	if len(members) != 1 || members[0].User.Name != "alice" || members[0].Role != meta.OrgAdmin || members[0].Org.Name != "Acme" {
		t.Fatalf("first page %+v", members)
	}
	members, err = s.OrgMembers(ctx, org.ID, members[0].User.Name, 10)
	must(t, err)
	if len(members) != 1 || members[0].User.Name != "bob" {
		t.Fatalf("second page %+v", members)
	}
	if n, err := s.CountOrgMembers(ctx, org.ID); err != nil || n != 2 {
		t.Fatalf("count %d %v", n, err)
	}
	orgs, err := s.UserOrgs(ctx, bob.ID)
	must(t, err)
	if len(orgs) != 1 || orgs[0].Org.ID != org.ID || orgs[0].Role != meta.OrgWrite {
		t.Fatalf("user orgs %+v", orgs)
	}
	must(t, s.RemoveOrgMember(ctx, org.ID, bob.ID))
	wantErr(t, s.RemoveOrgMember(ctx, org.ID, bob.ID), meta.ErrNotFound)
	_, err = s.OrgRole(ctx, org.ID, bob.ID)
	wantErr(t, err, meta.ErrNotFound)
	org.Details, org.DefaultPrivate = "We build things", false
	must(t, s.UpdateOrg(ctx, org))
	got, _ = s.UserByID(ctx, org.ID)
	if got.Details != "We build things" || got.DefaultPrivate {
		t.Fatalf("after update %+v", got)
	}
	wantErr(t, s.UpdateOrg(ctx, alice), meta.ErrNotFound) // not an org
	// Repositories remember who created them.
	r := &meta.Repo{PublicID: "0000000000000000000000aa", Type: meta.TypeModel, Namespace: "Acme", Name: "m", CreatorID: bob.ID}
	must(t, s.CreateRepo(ctx, r))
	back, err := s.RepoByID(ctx, r.ID)
	must(t, err)
	if back.CreatorID != bob.ID {
		t.Fatalf("creator %d", back.CreatorID)
	}
}

func testTokenScopes(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "tok")
	exp := time.UnixMilli(time.Now().Add(time.Hour).UnixMilli()).UTC()
	sc := &meta.TokenScopes{CanReadGatedRepos: true, Global: []string{"discussion.write"},
		Scoped: []meta.TokenScope{{Type: "model", ID: 7, Name: "tok/m", Permissions: []string{"repo.content.read"}}}}
	tok := &meta.Token{UserID: u.ID, Name: "ci", Hash: []byte("hash-ci-0000000000000000000000000"), Role: meta.RoleFineGrained, ExpiresAt: exp, Scopes: sc}
	must(t, s.CreateToken(ctx, tok))
	got, gu, err := s.TokenByHash(ctx, tok.Hash)
	must(t, err)
	if gu.ID != u.ID || got.Role != meta.RoleFineGrained || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("token %+v", got)
	}
	if diff := cmp.Diff(sc, got.Scopes); diff != "" {
		t.Fatalf("scopes (-want +got):\n%s", diff)
	}
	if got.Expired(time.Now()) || !got.Expired(exp) {
		t.Fatal("Expired")
	}
	must(t, s.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "ci", Hash: []byte("hash-ci-1111111111111111111111111"), Role: meta.RoleRead}))
	must(t, s.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "keep", Hash: []byte("hash-keep-11111111111111111111111"), Role: meta.RoleWrite}))
	list, err := s.ListTokens(ctx, u.ID)
	must(t, err)
	if len(list) != 3 || list[0].Scopes == nil || list[1].Scopes != nil || !list[1].ExpiresAt.IsZero() {
		t.Fatalf("list %+v", list)
	}
	n, err := s.DeleteTokensNamed(ctx, u.ID, "ci")
	must(t, err)
	if n != 2 {
		t.Fatalf("deleted %d", n)
	}
	list, _ = s.ListTokens(ctx, u.ID)
	if len(list) != 1 || list[0].Name != "keep" {
		t.Fatalf("after delete %+v", list)
	}
}

func testAccessRequests(t *testing.T, s meta.Store) {
	ctx := t.Context()
	owner, a, b := mkUser(t, s, "own"), mkUser(t, s, "ra"), mkUser(t, s, "rb")
	r := mkRepo(t, s, meta.TypeModel, "own", "gated", false)
	t0 := time.UnixMilli(time.Now().UnixMilli()).UTC()
	must(t, s.PutAccessRequest(ctx, &meta.AccessRequest{RepoID: r.ID, User: *a, Status: meta.AccessPending, CreatedAt: t0,
		Fields: map[string]string{"Company": "ACME"}}))
	must(t, s.PutAccessRequest(ctx, &meta.AccessRequest{RepoID: r.ID, User: *b, Status: meta.AccessPending, CreatedAt: t0}))
	_, err := s.GetAccessRequest(ctx, r.ID, owner.ID)
	wantErr(t, err, meta.ErrNotFound)
	got, err := s.GetAccessRequest(ctx, r.ID, a.ID)
	must(t, err)
	if got.Status != meta.AccessPending || got.Fields["Company"] != "ACME" || got.User.Name != "ra" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("request %+v", got)
	}
	page, err := s.ListAccessRequests(ctx, r.ID, meta.AccessPending, meta.AccessCursor{}, 1)
	must(t, err)
	if len(page) != 1 || page[0].User.ID != a.ID {
		t.Fatalf("page 1 %+v", page)
	}
	page, err = s.ListAccessRequests(ctx, r.ID, meta.AccessPending, meta.AccessCursor{CreatedAt: page[0].CreatedAt, UserID: page[0].User.ID}, 10)
	must(t, err)
	if len(page) != 1 || page[0].User.ID != b.ID {
		t.Fatalf("page 2 %+v", page)
	}
	// Reviewing replaces the request.
	got.Status, got.ReviewedAt, got.ReviewedBy, got.Reason = meta.AccessRejected, t0.Add(time.Second), owner.ID, "no"
	must(t, s.PutAccessRequest(ctx, got))
	back, _ := s.GetAccessRequest(ctx, r.ID, a.ID)
	if back.Status != meta.AccessRejected || back.ReviewedBy != owner.ID || back.Reason != "no" || back.Fields["Company"] != "ACME" {
		t.Fatalf("reviewed %+v", back)
	}
	if page, _ := s.ListAccessRequests(ctx, r.ID, meta.AccessRejected, meta.AccessCursor{}, 10); len(page) != 1 {
		t.Fatalf("rejected %+v", page)
	}
	must(t, s.DeleteAccessRequest(ctx, r.ID, a.ID))
	wantErr(t, s.DeleteAccessRequest(ctx, r.ID, a.ID), meta.ErrNotFound)
	// Requests go with their repository.
	must(t, s.DeleteRepo(ctx, r.ID))
	_, err = s.GetAccessRequest(ctx, r.ID, b.ID)
	wantErr(t, err, meta.ErrNotFound)
}

func testAudit(t *testing.T, s meta.Store) {
	ctx := t.Context()
	for i, ns := range []string{"Acme", "bob", "acme"} {
		e := &meta.AuditEvent{ActorID: int64(i + 1), Actor: "x", Action: "org.member.role", Namespace: ns, Target: "t", Detail: `{"role":"read"}`, IP: "192.0.2.1"}
		must(t, s.AddAudit(ctx, e))
		if e.ID == 0 {
			t.Fatal("no id")
		}
	}
	all, err := s.ListAudit(ctx, "", 0, 10)
	must(t, err)
	if len(all) != 3 || all[0].ID < all[1].ID || all[0].Namespace != "acme" {
		t.Fatalf("all %+v", all)
	}
	acme, err := s.ListAudit(ctx, "ACME", 0, 10)
	must(t, err)
	if len(acme) != 2 {
		t.Fatalf("acme %+v", acme)
	}
	older, err := s.ListAudit(ctx, "acme", acme[0].ID, 10)
	must(t, err)
	if len(older) != 1 || older[0].ID != acme[1].ID || older[0].Detail != `{"role":"read"}` || older[0].IP != "192.0.2.1" {
		t.Fatalf("older %+v", older)
	}
}

func testExternalIdentities(t *testing.T, s meta.Store) {
	ctx := t.Context()
	u := mkUser(t, s, "sso")
	must(t, s.LinkExternalIdentity(ctx, "https://idp.example", "sub-1", u.ID))
	wantErr(t, s.LinkExternalIdentity(ctx, "https://idp.example", "sub-1", u.ID), meta.ErrConflict)
	got, err := s.UserByExternalIdentity(ctx, "https://idp.example", "sub-1")
	must(t, err)
	if got.ID != u.ID {
		t.Fatalf("user %+v", got)
	}
	_, err = s.UserByExternalIdentity(ctx, "https://other.example", "sub-1")
	wantErr(t, err, meta.ErrNotFound)
}
