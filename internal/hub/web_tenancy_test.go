package hub

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/meta"
)

func TestAccountName(t *testing.T) {
	for _, tc := range []struct{ preferred, email, want string }{
		{"carol", "", "carol"},
		{"Carol.Smith", "", "Carol.Smith"},
		{"carol@example.org", "", "carol"},
		{"", "dave@example.org", "dave"},
		{"José Müller", "", "Jos-M-ller"},
		{"--a..b--", "", "a.b"},
		{"a.-b", "", "a.b"},
		{"model.git", "", "model"},
		{"admin", "", "admin-user"},
		{"settings", "", "settings-user"},
		{"", "", "user"},
		{"世界", "", "user"},
		{strings.Repeat("x", 60), "", strings.Repeat("x", 40)},
		{strings.Repeat("x", 39) + "-y", "", strings.Repeat("x", 39)},
		{"_svc_", "", "_svc_"},
	} {
		got := AccountName(tc.preferred, tc.email)
		if got != tc.want {
			t.Errorf("AccountName(%q, %q) = %q, want %q", tc.preferred, tc.email, got, tc.want)
		}
		if !ValidNamespace(got) {
			t.Errorf("AccountName(%q, %q) = %q, not a valid namespace", tc.preferred, tc.email, got)
		}
	}
}

func TestOrgRolesFromGroups(t *testing.T) {
	for _, tc := range []struct {
		groups []string
		want   map[string]string
	}{
		{nil, nil},
		{[]string{}, map[string]string{}},
		{[]string{"acme"}, map[string]string{"acme": OrgRead}},
		{[]string{"/acme", "lab:write", "Lab:contributor"}, map[string]string{"acme": OrgRead, "lab": OrgWrite}},
		{[]string{"acme:admin", "acme"}, map[string]string{"acme": OrgAdmin}},
		{[]string{"acme:owner", "not a name", "api", "x:no_access"}, map[string]string{"x": OrgNoAccess}},
	} {
		if diff := cmp.Diff(tc.want, OrgRolesFromGroups(tc.groups)); diff != "" {
			t.Errorf("OrgRolesFromGroups(%q) (-want +got):\n%s", tc.groups, diff)
		}
	}
}

func TestSignInExternal(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	acme, err := f.s.CreateOrg(ctx, f.alice, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://idp.example"
	yes := true

	// A provider user named like a local account gets a new account,
	// never alice's.
	id, created, err := f.s.SignInExternal(ctx, ExternalProfile{Issuer: iss, Subject: "s1", Username: "alice",
		Email: "alice2@example.org", FullName: "Alice Two", Orgs: map[string]string{"acme": OrgWrite, "nowhere": OrgRead}})
	if err != nil || !created || id.User.Name != "alice-2" || id.User.PasswordHash != "" || id.User.FullName != "Alice Two" {
		t.Fatalf("first sign-in: %+v created=%v %v", id, created, err)
	}
	if role, err := f.m.OrgRole(ctx, acme.ID, id.User.ID); err != nil || role != OrgWrite {
		t.Errorf("role in acme = %q, %v", role, err)
	}
	// The password sign-in of the new account is impossible.
	if _, err := f.s.SignIn(ctx, "alice-2", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("password sign-in of an SSO account: %v", err)
	}

	// Again: the same account, the role follows the provider, admin set.
	id2, created, err := f.s.SignInExternal(ctx, ExternalProfile{Issuer: iss, Subject: "s1", Username: "renamed",
		Orgs: map[string]string{"acme": OrgRead}, Admin: &yes})
	if err != nil || created || id2.User.ID != id.User.ID || !id2.User.IsAdmin {
		t.Fatalf("second sign-in: %+v created=%v %v", id2, created, err)
	}
	if role, _ := f.m.OrgRole(ctx, acme.ID, id.User.ID); role != OrgRead {
		t.Errorf("role after the claim changed = %q, want read", role)
	}
	// The same subject at another issuer is another person.
	id3, created, err := f.s.SignInExternal(ctx, ExternalProfile{Issuer: "https://other.example", Subject: "s1", Username: "alice"})
	if err != nil || !created || id3.User.ID == id.User.ID {
		t.Fatalf("other issuer: %+v %v", id3, err)
	}
	// The last admin is never demoted by a claim.
	aliceSSO, _, err := f.s.SignInExternal(ctx, ExternalProfile{Issuer: iss, Subject: "s-alice", Username: "al"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.RemoveMember(ctx, f.alice, "acme", "alice-2"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetMemberRole(ctx, f.alice, "acme", aliceSSO.User.Name, OrgAdmin); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RemoveMember(ctx, f.alice, "acme", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.SignInExternal(ctx, ExternalProfile{Issuer: iss, Subject: "s-alice", Orgs: map[string]string{"acme": OrgRead}}); err != nil {
		t.Fatal(err)
	}
	if role, _ := f.m.OrgRole(ctx, acme.ID, aliceSSO.User.ID); role != OrgAdmin {
		t.Errorf("last admin demoted to %q", role)
	}
	// Sign-ins are audited.
	events, err := f.m.ListAudit(ctx, "alice-2", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user.create", "auth.signin", "user.admin"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit of alice-2 lacks %s: %v", want, actions)
		}
	}
	if _, _, err := f.s.SignInExternal(ctx, ExternalProfile{Issuer: iss}); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("no subject: %v", err)
	}
}

// TestSignInExternalConcurrent: two first sign-ins of one person at once
// end with one account.
func TestSignInExternalConcurrent(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Go(func() {
			id, _, err := f.s.SignInExternal(t.Context(), ExternalProfile{Issuer: "https://idp", Subject: "same", Username: "erin"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = id.User.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("accounts %v, want one", ids)
		}
	}
	if u, err := f.m.UserByExternalIdentity(t.Context(), "https://idp", "same"); err != nil || u.ID != ids[0] {
		t.Fatalf("linked account %+v %v", u, err)
	}
	// The losers' accounts were rolled back with their link.
	for _, n := range []string{"erin-2", "erin-3"} {
		if _, err := f.m.UserByName(t.Context(), n); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("account %s left behind: %v", n, err)
		}
	}
}
