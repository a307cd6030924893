package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

// TestPrivateVisibility checks that a private repository appears on no
// page for those who may not see it, and that its pages answer exactly
// like those of a repository that does not exist.
func TestPrivateVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("alice", "", false)
	bobID := e.user("bob", "", false)
	root := e.user("root", "", true)
	e.repo(alice, hub.TypeModel, "alice", "public-base", false, "README.md", "# Base\n")
	e.repo(alice, hub.TypeModel, "alice", "hidden-gem", true,
		"README.md", "---\nbase_model: alice/public-base\nbase_model_relation: finetune\nlicense: mit\n---\n# Hidden gem\n",
		"config.json", "{}\n")
	e.repo(alice, hub.TypeDataset, "alice", "hidden-data", true, "README.md", "# Hidden data\n")
	_, list, _, _ := mustCommits(t, e, "alice", "hidden-gem")
	commit := list[0].ID.String()

	anon := e.browser()
	bob := e.browser()
	bob.as(bobID)
	owner := e.browser()
	owner.as(alice)
	admin := e.browser()
	admin.as(root)

	lists := []string{
		"/", "/models", "/models?search=hidden", "/models?author=alice", "/models?license=mit",
		"/models?base_model=alice/public-base", "/models?sort=updated", "/datasets", "/datasets?search=hidden",
		"/alice", "/alice/public-base",
	}
	pages := []string{
		"/alice/hidden-gem", "/alice/hidden-gem/tree/main", "/alice/hidden-gem/tree/main/config.json",
		"/alice/hidden-gem/blob/main/README.md", "/alice/hidden-gem/commits/main",
		"/alice/hidden-gem/commit/" + commit, "/alice/hidden-gem/settings", "/datasets/alice/hidden-data",
		"/datasets/alice/hidden-data/tree/main",
	}
	for _, who := range []struct {
		name string
		b    *browser
	}{{"anonymous", anon}, {"bob", bob}} {
		for _, p := range lists {
			body := who.b.page(p)
			if strings.Contains(body, "hidden-gem") || strings.Contains(body, "hidden-data") || strings.Contains(body, "Hidden") {
				t.Errorf("%s sees a private repository on %s", who.name, p)
			}
		}
		for _, p := range pages {
			r := who.b.get(p)
			if r.status == http.StatusSeeOther && who.name == "anonymous" && strings.HasSuffix(p, "/settings") {
				continue // settings asks to sign in first, whatever the repository
			}
			missing := who.b.get(strings.Replace(strings.Replace(p, "hidden-gem", "no-such-model", 1), "hidden-data", "no-such-data", 1))
			if r.status != http.StatusNotFound {
				t.Errorf("%s: GET %s = %d, want 404", who.name, p, r.status)
			}
			if mask(r.body) != mask(missing.body) || r.status != missing.status {
				t.Errorf("%s: GET %s differs from the answer for a missing repository", who.name, p)
			}
			if strings.Contains(r.body, "Hidden") {
				t.Errorf("%s: GET %s shows the private content", who.name, p)
			}
		}
	}
	// The owner and an administrator see everything.
	for _, who := range []struct {
		name string
		b    *browser
	}{{"owner", owner}, {"admin", admin}} {
		for _, p := range []string{"/models?search=hidden", "/alice", "/datasets"} {
			if body := who.b.page(p); !strings.Contains(body, "hidden-") {
				t.Errorf("%s does not see the private repositories on %s", who.name, p)
			}
		}
		if body := who.b.page("/alice/public-base"); !strings.Contains(body, "alice/hidden-gem") {
			t.Errorf("%s does not see the private finetune in the base model's tree", who.name)
		}
		for _, p := range pages {
			if r := who.b.get(p); r.status != http.StatusOK && !(r.status == http.StatusFound && strings.HasSuffix(p, "config.json")) {
				t.Errorf("%s: GET %s = %d, want 200", who.name, p, r.status)
			}
		}
	}
	// Bob cannot change alice's public repository either, and the form
	// refusal does not depend on whether it exists.
	if r := bob.post("/", "/alice/public-base/settings", url.Values{"action": {"visibility"}}); r.status != http.StatusForbidden {
		t.Errorf("bob changing alice's settings: %d, want 403", r.status)
	}
	if r := bob.post("/", "/alice/hidden-gem/settings", url.Values{"action": {"delete"}, "confirm": {"alice/hidden-gem"}}); r.status != http.StatusNotFound {
		t.Errorf("bob deleting alice's private repo: %d, want 404", r.status)
	}
}

// TestRepoManagement drives the account pages: create a repository,
// make it private, rename it, delete it.
func TestRepoManagement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.as(e.user("alice", "", false))
	if r := b.post("/new", "/new", url.Values{"type": {"dataset"}, "owner": {"alice"}, "name": {"bad name"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Invalid repository name") {
		t.Errorf("invalid name: %d", r.status)
	}
	if r := b.post("/new", "/new", url.Values{"type": {"dataset"}, "owner": {"bob"}, "name": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("another owner: %d", r.status)
	}
	r := b.post("/new", "/new", url.Values{"type": {"dataset"}, "owner": {"alice"}, "name": {"web-data"}, "private": {"on"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/datasets/alice/web-data" {
		t.Fatalf("create: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := b.post("/new", "/new", url.Values{"type": {"dataset"}, "owner": {"alice"}, "name": {"web-data"}}); r.status != http.StatusConflict {
		t.Errorf("duplicate: %d", r.status)
	}
	if body := b.page("/datasets/alice/web-data"); !strings.Contains(body, "private") {
		t.Error("new private dataset page does not say private")
	}
	if r := e.browser().get("/datasets/alice/web-data"); r.status != http.StatusNotFound {
		t.Errorf("private dataset seen signed out: %d", r.status)
	}
	settings := "/datasets/alice/web-data/settings"
	if r := b.post(settings, settings, url.Values{"action": {"visibility"}}); r.status != http.StatusSeeOther {
		t.Fatalf("make public: %d\n%s", r.status, r.body)
	}
	if r := e.browser().get("/datasets/alice/web-data"); r.status != http.StatusOK {
		t.Errorf("public dataset not seen signed out: %d", r.status)
	}
	r = b.post(settings, settings, url.Values{"action": {"rename"}, "new_name": {"alice/renamed-data"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/datasets/alice/renamed-data/settings" {
		t.Fatalf("rename: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	// The old address redirects.
	if r := e.browser().get("/datasets/alice/web-data/tree/main"); r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "/datasets/alice/renamed-data/tree/main" {
		t.Errorf("old name: %d %q", r.status, r.header.Get("Location"))
	}
	settings = "/datasets/alice/renamed-data/settings"
	if r := b.post(settings, settings, url.Values{"action": {"delete"}, "confirm": {"alice/wrong"}}); r.status != http.StatusBadRequest {
		t.Errorf("delete with a wrong confirmation: %d", r.status)
	}
	if r := b.post(settings, settings, url.Values{"action": {"delete"}, "confirm": {"alice/renamed-data"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/alice" {
		t.Fatalf("delete: %d %q", r.status, r.header.Get("Location"))
	}
	if r := b.get("/datasets/alice/renamed-data"); r.status != http.StatusNotFound {
		t.Errorf("deleted dataset: %d", r.status)
	}
	// Tokens: create and revoke.
	b.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"t1"}, "role": {"write"}})
	toks, err := e.svc.ListTokens(t.Context(), e.ids["alice"])
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %v %+v", err, toks)
	}
	if r := b.post("/settings/tokens", "/settings/tokens/"+itoa(toks[0].ID)+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("revoke: %d", r.status)
	}
	if toks, _ := e.svc.ListTokens(t.Context(), e.ids["alice"]); len(toks) != 0 {
		t.Errorf("token not revoked: %+v", toks)
	}
	// Signed out, the account pages ask to sign in and come back.
	if r := e.browser().get("/settings/tokens"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fsettings%2Ftokens" {
		t.Errorf("tokens signed out: %d %q", r.status, r.header.Get("Location"))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
