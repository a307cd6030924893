package web_test

import (
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/sso"
	"github.com/agorahub/agora/internal/web"
)

// TestGoldenTenancy pins the pages of organisations, tokens, gating,
// the audit log and single sign-on.
func TestGoldenTenancy(t *testing.T) {
	t.Parallel()
	client, err := sso.New(sso.Config{Issuer: "http://127.0.0.1:1/", ClientID: "agora"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvConfig(t, "http://hub.test", web.Config{SSO: client})
	aliceID := e.user("alice", "", false)
	bobID := e.user("bob", "", false)
	ctx := t.Context()
	if _, err := e.svc.CreateOrg(ctx, aliceID, "acme", "Acme Lab"); err != nil {
		t.Fatal(err)
	}
	details, private := "Open models for everyone.", true
	if _, err := e.svc.UpdateOrg(ctx, aliceID, "acme", hub.OrgSettings{Details: &details, DefaultPrivate: &private}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetMemberRole(ctx, aliceID, "acme", "bob", hub.OrgRead); err != nil {
		t.Fatal(err)
	}
	e.repo(aliceID, hub.TypeModel, "acme", "internal", true, "README.md", "# Internal\n")
	ref := e.repo(aliceID, hub.TypeModel, "alice", "gated", false, "README.md", gatedCard)
	gated := "manual"
	if _, err := e.svc.UpdateSettings(ctx, aliceID, ref, hub.RepoSettings{Gated: &gated}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RequestAccess(ctx, bobID, ref, map[string]string{"Company": "ACME", "Country": "FR"}); err != nil {
		t.Fatal(err)
	}
	e.token(aliceID, hub.TokenSpec{Name: "ci", Role: hub.RoleFineGrained, ExpiresIn: 24 * time.Hour, CanReadGatedRepos: true,
		Scopes: []hub.ScopeSpec{{Entity: "model:alice/gated", Permissions: []string{"repo.content.read"}}, {Entity: "org:acme", Permissions: []string{"org.read", "repo.write"}}}})
	e.token(aliceID, hub.TokenSpec{Name: "laptop", Role: hub.RoleRead})

	alice, bob, carol, anon := e.browser(), e.browser(), e.browser(), e.browser()
	alice.as(aliceID)
	bob.as(bobID)
	carol.as(e.user("carol", "", false))
	for _, tc := range []struct {
		name string
		b    *browser
		path string
	}{
		{"org", alice, "/acme"},
		{"org_member", bob, "/acme"},
		{"org_new", alice, "/organizations/new"},
		{"org_settings", alice, "/organizations/acme/settings/profile"},
		{"org_members", alice, "/organizations/acme/settings/members"},
		{"org_audit", alice, "/organizations/acme/settings/audit-log"},
		{"tokens_fine", alice, "/settings/tokens"},
		{"new_org_owner", alice, "/new?owner=acme"},
		{"repo_gated_anon", anon, "/alice/gated"},
		{"repo_gated_form", carol, "/alice/gated"},
		{"repo_gated_pending", bob, "/alice/gated"},
		{"repo_gated_owner", alice, "/alice/gated"},
		{"access_requests", alice, "/alice/gated/settings/access-requests"},
		{"settings_gated", alice, "/alice/gated/settings"},
		{"login_sso", anon, "/login?next=/acme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.b.get(tc.path)
			if res.status != 200 {
				t.Fatalf("GET %s: status %d\n%s", tc.path, res.status, res.body)
			}
			checkGolden(t, tc.name, regexp.MustCompile(`name="csrf" value="[^"]*"`).ReplaceAllString(res.body, `name="csrf" value="CSRF"`))
		})
	}
	// The sign-in button goes to the provider through /login/oidc; an
	// unreachable provider is reported on the sign-in page.
	r := anon.get("/login/oidc?next=" + url.QueryEscape("/acme"))
	if r.status != 502 {
		t.Errorf("sign-in through an unreachable provider: %d", r.status)
	}
	checkGolden(t, "login_sso_down", r.body)
}
