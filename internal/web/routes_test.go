package web_test

import (
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

// TestRoutes checks what the pages claim and what they leave to the API
// and git: browsers get HTML, machines get their own formats.
func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.user("alice", "", false)
	e.repo(alice, hub.TypeModel, "alice", "m", false, "README.md", "# m\n", "dir/a.txt", "a\n")
	b := e.browser()
	for _, tc := range []struct {
		method, path, accept string
		status               int
		contentType          string
	}{
		{"GET", "/", "text/html", 200, "text/html"},
		{"HEAD", "/alice/m", "text/html", 200, "text/html"},
		{"GET", "/alice/m/tree/main/dir/a.txt", "text/html", 302, ""},
		{"GET", "/alice/m/blob/main/dir", "text/html", 404, "text/html"},
		{"GET", "/alice/m/discussions", "text/html", 404, "text/html"},
		{"GET", "/no/such/deep/path", "text/html", 404, "text/html"},
		{"GET", "/no/such/deep/path", "application/json", 404, "application/json"},
		{"GET", "/nobody", "text/html", 404, "text/html"},
		// Team pages send signed-out visitors to the sign-in page; the
		// access request is a form of the repository's page.
		{"GET", "/organizations/new", "text/html", 303, ""},
		{"GET", "/organizations/nobody/settings/members", "text/html", 303, ""},
		{"GET", "/admin/audit-log", "text/html", 303, ""},
		{"GET", "/alice/m/settings/access-requests", "text/html", 303, ""},
		{"POST", "/alice/m/ask-access", "text/html", 403, "text/html"},
		{"POST", "/datasets/alice/m/ask-access", "text/html", 403, "text/html"},
		{"GET", "/login/oidc", "text/html", 404, "text/html"},
		{"GET", "/static/style.css", "text/css", 200, "text/css"},
		{"GET", "/static/nope.css", "text/css", 404, ""},
		// The API, downloads and git are other packages' (here: not
		// mounted, so the server's JSON 404).
		{"GET", "/api/models/alice/m", "text/html", 200, "application/json"},
		{"GET", "/api/nope", "text/html", 404, "application/json"},
		{"GET", "/alice/m/resolve/main/README.md", "text/html", 200, "text/markdown"},
		{"GET", "/alice/m/info/refs", "text/html", 404, "application/json"},
		{"GET", "/alice/m.git/info/refs", "text/html", 404, "application/json"},
		{"POST", "/alice/m/git-upload-pack", "text/html", 404, "application/json"},
		{"POST", "/alice/m", "text/html", 404, "application/json"},
	} {
		r := b.do(tc.method, tc.path, nil, "Accept", tc.accept)
		if r.status != tc.status || !strings.HasPrefix(r.header.Get("Content-Type"), tc.contentType) {
			t.Errorf("%s %s (Accept %s) = %d %q, want %d %q", tc.method, tc.path, tc.accept, r.status, r.header.Get("Content-Type"), tc.status, tc.contentType)
		}
		if tc.method == "HEAD" && r.body != "" {
			t.Errorf("HEAD %s has a body", tc.path)
		}
	}
}
