package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
)

// wantRedirect fails unless r is a 303 to location.
func wantRedirect(t *testing.T, what string, r response, location string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != location {
		t.Fatalf("%s: %d %q, want 303 to %s\n%s", what, r.status, r.header.Get("Location"), location, r.body)
	}
}

// token creates a token for who and returns its secret.
func (e *env) token(who *auth.Identity, spec hub.TokenSpec) string {
	e.t.Helper()
	_, secret, err := e.svc.CreateToken(e.t.Context(), who, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(secret)
}

func TestOrgPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceID := e.user("alice", "", false)
	bobID := e.user("bob", "", false)
	alice, bob := e.browser(), e.browser()
	alice.as(aliceID)
	bob.as(bobID)

	wantRedirect(t, "create org", alice.post("/organizations/new", "/organizations/new",
		url.Values{"name": {"acme"}, "fullname": {"Acme Lab"}}), "/acme")
	if r := alice.post("/organizations/new", "/organizations/new", url.Values{"name": {"bob"}}); r.status != http.StatusConflict || !strings.Contains(r.body, "already taken") {
		t.Errorf("org named like a user: %d", r.status)
	}
	wantRedirect(t, "create org repo", alice.post("/new", "/new",
		url.Values{"type": {"model"}, "owner": {"acme"}, "name": {"secret"}, "private": {"on"}}), "/acme/secret")

	profile := alice.page("/acme")
	for _, want := range []string{"Acme Lab", "organization", "acme/secret", "Manage members", "alice</a> <span class=\"badge\">admin"} {
		if !strings.Contains(profile, want) {
			t.Errorf("admin's org profile lacks %q", want)
		}
	}
	if p := bob.page("/acme"); strings.Contains(p, "acme/secret") || strings.Contains(p, "Manage members") {
		t.Error("a non-member sees the private repository or the admin links")
	}
	for _, p := range []string{"/organizations/acme/settings/members", "/organizations/acme/settings/profile", "/organizations/acme/settings/audit-log"} {
		if r := bob.get(p); r.status != http.StatusForbidden {
			t.Errorf("non-member GET %s: %d, want 403", p, r.status)
		}
	}

	members := "/organizations/acme/settings/members"
	wantRedirect(t, "add bob", alice.post(members, members, url.Values{"action": {"add"}, "user": {"bob"}, "role": {"read"}}), members)
	if p := bob.page("/acme"); !strings.Contains(p, "acme/secret") || !strings.Contains(p, "You are <strong>read</strong>") {
		t.Error("a read member does not see the private repository")
	}
	if p := bob.page("/new"); strings.Contains(p, "<option>acme</option>") {
		t.Error("a read member is offered the organization as owner")
	}
	wantRedirect(t, "change role", alice.post(members, members, url.Values{"action": {"role"}, "user": {"bob"}, "role": {"contributor"}}), members)
	if p := bob.page("/new"); !strings.Contains(p, "<option>acme</option>") {
		t.Error("a contributor is not offered the organization as owner")
	}
	ms, err := e.svc.OrgMembers(t.Context(), aliceID, "acme", "", 10)
	if err != nil || len(ms) != 2 || ms[1].User.Name != "bob" || ms[1].Role != hub.OrgContributor {
		t.Fatalf("members %+v %v", ms, err)
	}
	if p := alice.page(members); !strings.Contains(p, `aria-label="Role of bob"`) {
		t.Error("the members page has no role control for bob")
	}
	// Refusals come back on the form.
	if r := alice.post(members, members, url.Values{"action": {"add"}, "user": {"nobody"}, "role": {"read"}}); r.status != http.StatusNotFound || !strings.Contains(r.body, "User not found") || !strings.Contains(r.body, `value="nobody"`) {
		t.Errorf("add unknown user: %d", r.status)
	}
	if r := alice.post(members, members, url.Values{"action": {"role"}, "user": {"alice"}, "role": {"read"}}); r.status != http.StatusConflict || !strings.Contains(r.body, "at least one admin") {
		t.Errorf("demote the last admin: %d", r.status)
	}
	if r := bob.post("/", members, url.Values{"action": {"remove"}, "user": {"alice"}}); r.status != http.StatusForbidden {
		t.Errorf("contributor removes an admin: %d", r.status)
	}
	wantRedirect(t, "remove bob", alice.post(members, members, url.Values{"action": {"remove"}, "user": {"bob"}}), members)
	if p := bob.page("/acme"); strings.Contains(p, "acme/secret") {
		t.Error("a removed member still sees the private repository")
	}

	settings := "/organizations/acme/settings/profile"
	wantRedirect(t, "org settings", alice.post(settings, settings,
		url.Values{"fullname": {"Acme Research"}, "details": {"We <b>train</b> models."}, "default_private": {"on"}}), "/acme")
	if p := bob.page("/acme"); !strings.Contains(p, "Acme Research") || !strings.Contains(p, "We &lt;b&gt;train&lt;/b&gt; models.") {
		t.Error("the profile does not show the new description, escaped")
	}
	if p := alice.page("/new?owner=acme"); !regexp.MustCompile(`<option selected data-private>acme</option>`).MatchString(p) ||
		!strings.Contains(p, `name="private" id="private" checked`) {
		t.Error("the new-repository form does not follow the organization's default visibility")
	}
	// A user's profile lists their organizations.
	if p := bob.page("/alice"); !strings.Contains(p, `href="/acme">acme</a>`) {
		t.Error("alice's profile does not list acme")
	}
}

func TestTokenPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceID := e.user("alice", "", false)
	e.repo(aliceID, hub.TypeModel, "alice", "m", false, "README.md", "# m\n")
	if _, err := e.svc.CreateOrg(t.Context(), aliceID, "acme", ""); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.as(aliceID)
	page := b.page("/settings/tokens")
	for _, want := range []string{`value="user:alice=repo.content.read"`, `value="org:acme=org.write"`, `value="model:alice/m=repo.write"`} {
		if !strings.Contains(page, want) {
			t.Errorf("tokens page lacks the scope box %s", want)
		}
	}
	if strings.Contains(page, `value="user:alice=org.read"`) || strings.Contains(page, `value="model:alice/m=org.read"`) {
		t.Error("organization permissions offered on a user or a repository")
	}

	// Without a ticked permission a fine-grained token is refused, and the
	// form keeps what was typed.
	r := b.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"ci"}, "role": {"fineGrained"}, "expires_in": {"30d"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "at least one permission") || !strings.Contains(r.body, `value="ci"`) {
		t.Fatalf("fine-grained without scopes: %d", r.status)
	}
	r = b.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"ci"}, "role": {"fineGrained"}, "expires_in": {"30d"},
		"gated": {"on"}, "scope": {"model:alice/m=repo.content.read", "org:acme=org.read", "model:alice/m=repo.access.read"}})
	if r.status != http.StatusOK {
		t.Fatalf("create fine-grained: %d\n%s", r.status, r.body)
	}
	secret := regexp.MustCompile(`hf_[A-Za-z0-9]+`).FindString(r.body)
	id, err := e.svc.Authenticate(t.Context(), auth.Secret(secret))
	if err != nil {
		t.Fatal(err)
	}
	tok := id.Token
	if tok.Role != hub.RoleFineGrained || tok.Scopes == nil || !tok.Scopes.CanReadGatedRepos || len(tok.Scopes.Scoped) != 2 ||
		tok.Scopes.Scoped[0].Name != "alice/m" || strings.Join(tok.Scopes.Scoped[0].Permissions, ",") != "repo.content.read,repo.access.read" ||
		tok.Scopes.Scoped[1].Type != "org" {
		t.Fatalf("token = %+v scopes %+v", tok, tok.Scopes)
	}
	if d := time.Until(tok.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("expires in %v, want 30 days", d)
	}
	list := b.page("/settings/tokens")
	for _, want := range []string{"fine-grained", "<code>model:alice/m</code>: repo.content.read, repo.access.read", "<code>org:acme</code>: org.read", "read access to public gated repositories"} {
		if !strings.Contains(list, want) {
			t.Errorf("token list lacks %q", want)
		}
	}
	if strings.Contains(list, secret) {
		t.Error("the list shows the secret")
	}

	// No token of any kind revokes anything through the pages, not even
	// alongside the session cookie.
	read := e.token(aliceID, hub.TokenSpec{Name: "read", Role: hub.RoleRead})
	write := e.token(aliceID, hub.TokenSpec{Name: "write", Role: hub.RoleWrite})
	del := "/settings/tokens/" + strconv.FormatInt(tok.ID, 10) + "/delete"
	for _, s := range []string{read, write, secret} {
		for _, c := range []*browser{e.browser(), b} {
			if r := c.do(http.MethodPost, del, url.Values{"csrf": {csrf(t, b.page("/settings/tokens"))}}, "Authorization", "Bearer "+s); r.status != http.StatusForbidden {
				t.Errorf("revoke with a bearer token: %d, want 403", r.status)
			}
		}
	}
	if toks, _ := e.svc.ListTokens(t.Context(), aliceID); len(toks) != 3 {
		t.Fatalf("tokens after refused revocations: %d, want 3", len(toks))
	}
	wantRedirect(t, "revoke", b.post("/settings/tokens", del, url.Values{}), "/settings/tokens")
	if _, err := e.svc.Authenticate(t.Context(), auth.Secret(secret)); err == nil {
		t.Error("the revoked token still works")
	}
}

// gatedCard is a card with every kind of gating field, and a prompt that
// tries to run script.
const gatedCard = `---
license: other
extra_gated_heading: Request access to Gated Model
extra_gated_prompt: "You agree to the **terms** of use. <script>alert(1)</script>"
extra_gated_description: Requests are reviewed within a week.
extra_gated_fields:
  Company: text
  Country: country
  Purpose:
    type: select
    options:
      - Research
      - label: Commercial use
        value: commercial
  Date of birth: date_picker
  I agree to the licence: checkbox
extra_gated_button_content: Request access now
---
# Gated model
`

var gateAnswers = url.Values{
	"field:Company": {"ACME <i>Corp</i>"}, "field:Country": {"FR"}, "field:Purpose": {"commercial"},
	"field:Date of birth": {"1990-02-03"}, "field:I agree to the licence": {"true"},
}

func TestGatingPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceID := e.user("alice", "", false)
	bobID := e.user("bob", "", false)
	carolID := e.user("carol", "", false)
	e.user("erin", "", false)
	ref := e.repo(aliceID, hub.TypeModel, "alice", "gated", false, "README.md", gatedCard, "data.txt", "secret weights\n")
	alice, bob, anon := e.browser(), e.browser(), e.browser()
	alice.as(aliceID)
	bob.as(bobID)

	wantRedirect(t, "gate", alice.post("/alice/gated/settings", "/alice/gated/settings", url.Values{"action": {"gating"}, "gated": {"manual"}}), "/alice/gated/settings")
	if r, _ := e.svc.GetRepo(t.Context(), nil, ref); r.Gated != "manual" {
		t.Fatalf("gated = %q", r.Gated)
	}
	page := anon.page("/alice/gated")
	if !strings.Contains(page, "Request access to Gated Model") || !strings.Contains(page, "<strong>terms</strong>") ||
		!strings.Contains(page, `href="/login?next=%2Falice%2Fgated"`) || strings.Contains(page, "gate-form") || strings.Contains(page, "<script>alert") {
		t.Errorf("anonymous gate panel wrong:\n%s", page)
	}
	page = bob.page("/alice/gated")
	last := -1
	for _, field := range []string{`name="field:Company"`, `name="field:Country"`, `<option value="FR">France</option>`, `name="field:Purpose"`,
		`<option value="commercial">Commercial use</option>`, `type="date" name="field:Date of birth"`, `type="checkbox" name="field:I agree to the licence"`, "Request access now"} {
		i := strings.Index(page, field)
		if i < last {
			t.Errorf("gate form lacks %s, or out of the card's order", field)
		}
		last = i
	}
	// Downloads go through the API, which reads tokens, not sessions.
	bobTok := e.token(bobID, hub.TokenSpec{Name: "read", Role: hub.RoleRead})
	download := func() response {
		return e.browser().do(http.MethodGet, "/alice/gated/resolve/main/data.txt", nil, "Authorization", "Bearer "+bobTok)
	}
	if r := download(); r.status != http.StatusForbidden {
		t.Errorf("download before the request: %d", r.status)
	}

	// An incomplete form comes back with what was typed.
	partial := url.Values{"field:Company": {"ACME"}}
	r := bob.post("/alice/gated", "/alice/gated/ask-access", partial)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Fill in &#34;Country&#34;") || !strings.Contains(r.body, `value="ACME"`) {
		t.Fatalf("incomplete request: %d\n%s", r.status, r.body)
	}
	bad := url.Values{}
	for k, v := range gateAnswers {
		bad[k] = v
	}
	bad.Set("field:Purpose", "world domination")
	if r := bob.post("/alice/gated", "/alice/gated/ask-access", bad); r.status != http.StatusBadRequest {
		t.Errorf("request with an unknown option: %d", r.status)
	}
	form := url.Values{}
	for k, v := range gateAnswers {
		form[k] = v
	}
	wantRedirect(t, "ask access", bob.post("/alice/gated", "/alice/gated/ask-access", form), "/alice/gated")
	if p := bob.page("/alice/gated"); !strings.Contains(p, "awaiting a review") || strings.Contains(p, "gate-form") {
		t.Error("the pending request is not shown")
	}

	// Tokens may ask too, with JSON or a form, as on the Hub.
	carolTok := e.token(carolID, hub.TokenSpec{Name: "t", Role: hub.RoleWrite})
	json := `{"Company":"C","Country":"de","Purpose":"Research","Date of birth":"2000-01-01","I agree to the licence":true}`
	req := e.browser()
	res := req.do(http.MethodPost, "/alice/gated/ask-access", nil, "Authorization", "Bearer "+carolTok)
	if res.status != http.StatusBadRequest || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Errorf("token request without answers: %d %q", res.status, res.header.Get("Content-Type"))
	}
	res = postRaw(t, e, "/alice/gated/ask-access", "application/json", json, "Authorization", "Bearer "+carolTok)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/alice/gated" {
		t.Fatalf("token request (JSON): %d %q %s", res.status, res.header.Get("Location"), res.body)
	}

	reqs := "/alice/gated/settings/access-requests"
	list := alice.page(reqs)
	for _, want := range []string{"bob", "carol", "ACME &lt;i&gt;Corp&lt;/i&gt;", "<dd>FR</dd>", "<dd>DE</dd>", "<dd>commercial</dd>", "<dd>1990-02-03</dd>"} {
		if !strings.Contains(list, want) {
			t.Errorf("pending requests lack %q", want)
		}
	}
	if r := bob.get(reqs); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Errorf("requester reads the requests: %d", r.status)
	}
	wantRedirect(t, "accept", alice.post(reqs, reqs, url.Values{"action": {"accepted"}, "user": {"bob"}, "status": {"pending"}}), reqs+"?status=pending")
	if r := download(); r.status != http.StatusOK || r.body != "secret weights\n" {
		t.Errorf("download after acceptance: %d %q", r.status, r.body)
	}
	if p := bob.page("/alice/gated"); !strings.Contains(p, "you have access") {
		t.Error("the accepted user is not told so")
	}
	wantRedirect(t, "reject", alice.post(reqs, reqs, url.Values{"action": {"rejected"}, "user": {"carol"}, "reason": {"no <b>thanks</b>"}, "status": {"pending"}}), reqs+"?status=pending")
	if p := alice.page(reqs + "?status=rejected"); !strings.Contains(p, "carol") || !strings.Contains(p, "reason: no &lt;b&gt;thanks&lt;/b&gt;") {
		t.Error("the rejected list lacks carol and the reason")
	}
	carol := e.browser()
	carol.as(carolID)
	if p := carol.page("/alice/gated"); !strings.Contains(p, "has been rejected") {
		t.Error("the rejected user is not told so")
	}
	wantRedirect(t, "grant", alice.post(reqs, reqs, url.Values{"action": {"grant"}, "user": {"erin"}, "status": {"accepted"}}), reqs+"?status=accepted")
	if r := alice.post(reqs, reqs, url.Values{"action": {"grant"}, "user": {"erin"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "already has access") {
		t.Errorf("grant twice: %d", r.status)
	}
	if p := alice.page(reqs + "?status=accepted"); !strings.Contains(p, "erin") || !strings.Contains(p, "bob") {
		t.Error("the accepted list lacks erin or bob")
	}
	if r := bob.post("/alice/gated", reqs, url.Values{"action": {"accepted"}, "user": {"carol"}}); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
		t.Errorf("a requester accepts a request: %d", r.status)
	}

	// Datasets have their own address; a repository that is not gated
	// refuses requests.
	e.repo(aliceID, hub.TypeDataset, "alice", "open", false, "README.md", "# open\n")
	if r := bob.post("/datasets/alice/open", "/datasets/alice/open/ask-access", url.Values{}); r.status != http.StatusBadRequest {
		t.Errorf("ask access to a repository that is not gated: %d", r.status)
	}
}

// postRaw posts a body of any type through the public URL.
func postRaw(t *testing.T, e *env, path, contentType, body string, hdr ...string) response {
	t.Helper()
	b := e.browser()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{res.StatusCode, res.Header, sb.String()}
}

func TestAuditPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceID := e.user("alice", "", false)
	bobID := e.user("bob", "", false)
	rootID := e.user("root", "", true)
	if _, err := e.svc.CreateOrg(t.Context(), aliceID, "acme", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetMemberRole(t.Context(), aliceID, "acme", "bob", hub.OrgRead); err != nil {
		t.Fatal(err)
	}
	for i := range 55 {
		e.token(bobID, hub.TokenSpec{Name: "t" + strconv.Itoa(i), Role: hub.RoleRead})
	}
	alice, bob, root := e.browser(), e.browser(), e.browser()
	alice.as(aliceID)
	bob.as(bobID)
	root.as(rootID)

	if r := alice.get("/admin/audit-log"); r.status != http.StatusForbidden {
		t.Errorf("non-admin reads the site log: %d", r.status)
	}
	if r := bob.get("/organizations/acme/settings/audit-log"); r.status != http.StatusForbidden {
		t.Errorf("read member reads the org log: %d", r.status)
	}
	org := alice.page("/organizations/acme/settings/audit-log")
	if !strings.Contains(org, "org.create") || !strings.Contains(org, "org.member.role") || strings.Contains(org, "token.create") {
		t.Errorf("org log:\n%s", org)
	}
	first := root.page("/admin/audit-log")
	next := regexp.MustCompile(`href="(/admin/audit-log\?before=\d+)"`).FindStringSubmatch(first)
	if next == nil || strings.Count(first, "<tr>") != 51 || strings.Contains(first, "org.create") {
		t.Fatalf("first page: next %v, %d rows", next, strings.Count(first, "<tr>"))
	}
	second := root.page(next[1])
	if !strings.Contains(second, "org.create") || strings.Contains(second, `rel="next"`) || !strings.Contains(second, "Newest") {
		t.Errorf("second page:\n%s", second)
	}
	if r := root.get("/admin/audit-log?before=x"); r.status != http.StatusBadRequest {
		t.Errorf("bad position: %d", r.status)
	}
}

// TestTenancyForms checks that every new form refuses a POST without the
// session's CSRF token and any POST authenticated by a token, except the
// access request, which the Hub's clients send with a token.
func TestTenancyForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aliceID := e.user("alice", "", false)
	e.repo(aliceID, hub.TypeModel, "alice", "m", false, "README.md", "# m\n")
	if _, err := e.svc.CreateOrg(t.Context(), aliceID, "acme", ""); err != nil {
		t.Fatal(err)
	}
	gated := "auto"
	if _, err := e.svc.UpdateSettings(t.Context(), aliceID, hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "m"}, hub.RepoSettings{Gated: &gated}); err != nil {
		t.Fatal(err)
	}
	write := e.token(aliceID, hub.TokenSpec{Name: "w", Role: hub.RoleWrite})
	a := e.browser()
	a.as(aliceID)
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/organizations/new", url.Values{"name": {"csrf-org"}}},
		{"/organizations/acme/settings/profile", url.Values{"fullname": {"x"}}},
		{"/organizations/acme/settings/members", url.Values{"action": {"remove"}, "user": {"alice"}}},
		{"/alice/m/settings/access-requests", url.Values{"action": {"grant"}, "user": {"alice"}}},
		{"/alice/m/settings", url.Values{"action": {"gating"}, "gated": {""}}},
		{"/alice/m/ask-access", url.Values{}},
	} {
		if r := a.do(http.MethodPost, p.path, p.form); r.status != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d, want 403", p.path, r.status)
		}
		f := url.Values{"csrf": {csrf(t, a.page("/"))}}
		for k, v := range p.form {
			f[k] = v
		}
		r := e.browser().do(http.MethodPost, p.path, f, "Authorization", "Bearer "+write)
		if p.path == "/alice/m/ask-access" {
			if r.status != http.StatusSeeOther {
				t.Errorf("POST %s with a bearer token: %d, want 303", p.path, r.status)
			}
		} else if r.status != http.StatusForbidden {
			t.Errorf("POST %s with a bearer token: %d, want 403", p.path, r.status)
		}
	}
	if ov, err := e.svc.AccountOverview(t.Context(), aliceID, "acme", "org"); err != nil || ov.Account.FullName != "" || ov.NumUsers != 1 {
		t.Errorf("org changed by refused forms: %+v %v", ov, err)
	}
}
