package mirror_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

// TestAccess checks that Agora's own rules decide who reads mirrored
// content: private and gated upstream repositories fetched with a service
// token are not handed to everyone, a local repository wins over an
// upstream one of the same id, and nobody writes to a mirror.
func TestAccess(t *testing.T) {
	f := newFixture(t)
	anon := startMirror(t, f.up.URL, mirrorOpts{})
	svc := startMirror(t, f.up.URL, mirrorOpts{token: f.tokens.alice})
	// A local repository that shadows an upstream one.
	if _, err := svc.svc.CreateRepo(t.Context(), svc.who(svc.admin), hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "gated"},
		hub.CreateRepoOptions{}); err != nil {
		t.Fatal(err)
	}
	gated := startMirror(t, f.up.URL, mirrorOpts{token: f.tokens.alice})

	for _, tc := range []struct {
		name   string
		mh     *mirrorHub
		token  func(*mirrorHub) string
		method string
		path   string
		status int
		code   string
	}{
		// Without a service token the upstream hides its private
		// repository, and the mirror says so as the upstream would.
		{"private, no service token", anon, nobody, "GET", "/api/models/alice/secret", 404, "RepoNotFound"},
		// With one, the mirror holds it but keeps it private locally:
		// only administrators see it.
		{"private, anonymous", svc, nobody, "GET", "/api/models/alice/secret", 404, "RepoNotFound"},
		{"private, a user", svc, user, "GET", "/alice/secret/resolve/main/secret.bin", 404, "RepoNotFound"},
		{"private, the admin", svc, admin, "GET", "/alice/secret/resolve/main/secret.bin", 200, ""},
		// Without access to a gated upstream repository, the mirror has
		// nothing to serve: the upstream's answer keeps its meaning.
		{"gated, no access upstream", anon, nobody, "GET", "/api/models/alice/gated", 403, "GatedRepo"},
		{"gated, no access upstream, a file", anon, user, "GET", "/alice/gated/resolve/main/gated.bin", 403, "GatedRepo"},
		// With access, it is gated with manual approval locally: its
		// page is public, its files are not.
		{"gated, anonymous info", gated, nobody, "GET", "/api/models/alice/gated", 200, ""},
		{"gated, anonymous file", gated, nobody, "GET", "/alice/gated/resolve/main/gated.bin", 401, "GatedRepo"},
		{"gated, a user without approval", gated, user, "GET", "/alice/gated/resolve/main/gated.bin", 403, "GatedRepo"},
		{"gated, the admin", gated, admin, "GET", "/alice/gated/resolve/main/gated.bin", 200, ""},
		// Local repositories win: alice/gated here is the local one.
		{"local wins", svc, nobody, "GET", "/alice/gated/resolve/main/.gitattributes", 200, ""},
		{"local wins: upstream file absent", svc, nobody, "GET", "/alice/gated/resolve/main/gated.bin", 404, "EntryNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.mh.do(tc.method, tc.path, tc.token(tc.mh))
			if r.status != tc.status || r.h.Get("X-Error-Code") != tc.code {
				t.Fatalf("%s %s = %d %q, want %d %q: %s", tc.method, tc.path, r.status, r.h.Get("X-Error-Code"), tc.status, tc.code, r.body)
			}
		})
	}

	if ls, _ := anon.meta.ListMirrorRepos(t.Context(), ""); len(ls) != 0 {
		t.Errorf("a refused repository was kept: %+v", ls)
	}
	// The operator decides: ungated locally, the files are everyone's.
	gatedOff := ""
	if _, err := gated.svc.UpdateSettings(t.Context(), gated.who(gated.admin), gatedRef, hub.RepoSettings{Gated: &gatedOff}); err != nil {
		t.Fatal(err)
	}
	if r := gated.do("GET", "/alice/gated/resolve/main/gated.bin", ""); r.status != http.StatusOK {
		t.Fatalf("after the operator ungated the mirror: %d %s", r.status, r.body)
	}

	// Nobody commits to a mirror, not even an administrator.
	ndjson := `{"key":"header","value":{"summary":"x"}}` + "\n" + `{"key":"file","value":{"path":"x.txt","content":"eA==","encoding":"base64"}}` + "\n"
	if r := svc.do("GET", "/api/models/alice/model", ""); r.status != 200 {
		t.Fatalf("info: %d %s", r.status, r.body)
	}
	w := doURL(t, "POST", svc.URL+"/api/models/alice/model/commit/main", svc.admin, []byte(ndjson), "Content-Type", "application/x-ndjson")
	if w.status != http.StatusForbidden || !strings.Contains(w.h.Get("X-Error-Message"), "mirror") {
		t.Fatalf("commit to a mirror: %d %s", w.status, w.body)
	}
}

func nobody(*mirrorHub) string   { return "" }
func user(mh *mirrorHub) string  { return mh.user }
func admin(mh *mirrorHub) string { return mh.admin }
