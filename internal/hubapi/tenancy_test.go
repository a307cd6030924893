package hubapi_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/gitobj"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/wire"
)

// userToken makes user name (if new) and a token with spec.
func (e *env) userToken(name string, spec hub.TokenSpec) string {
	e.t.Helper()
	ctx := e.t.Context()
	u, err := e.store.UserByName(ctx, name)
	if err != nil {
		u = &meta.User{Name: name, Email: name + "@example.com"}
		if err := e.store.CreateUser(ctx, u); err != nil {
			e.t.Fatal(err)
		}
	}
	if spec.Name == "" {
		spec.Name = fmt.Sprintf("t%d", len(spec.Scopes)+int(e.seq()))
	}
	if spec.Role == "" {
		spec.Role = meta.RoleWrite
	}
	_, secret, err := hub.NewToken(ctx, e.store, u, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(secret)
}

var tokSeq int64

func (e *env) seq() int64 { tokSeq++; return tokSeq }

func (e *env) org(name, owner string) {
	e.t.Helper()
	u, err := e.store.UserByName(e.t.Context(), owner)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := hub.CreateOrg(e.t.Context(), e.store, name, strings.ToUpper(name), u); err != nil {
		e.t.Fatal(err)
	}
}

func TestWhoamiOrgsAndFineGrained(t *testing.T) {
	e := newEnv(t)
	e.org("acme", "alice")
	var who struct {
		Orgs []struct {
			Name      string `json:"name"`
			Type      string `json:"type"`
			RoleInOrg string `json:"roleInOrg"`
			AvatarURL string `json:"avatarUrl"`
		} `json:"orgs"`
		Auth struct {
			AccessToken struct {
				DisplayName string `json:"displayName"`
				Role        string `json:"role"`
				FineGrained *struct {
					CanReadGatedRepos bool     `json:"canReadGatedRepos"`
					Global            []string `json:"global"`
					Scoped            []struct {
						Entity struct {
							ID   string `json:"_id"`
							Type string `json:"type"`
							Name string `json:"name"`
						} `json:"entity"`
						Permissions []string `json:"permissions"`
					} `json:"scoped"`
				} `json:"fineGrained"`
			} `json:"accessToken"`
		} `json:"auth"`
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/whoami-v2", e.alice, nil)).body, &who)
	if len(who.Orgs) != 1 || who.Orgs[0].Name != "acme" || who.Orgs[0].Type != "org" || who.Orgs[0].RoleInOrg != "admin" ||
		!strings.HasPrefix(who.Orgs[0].AvatarURL, "http") {
		t.Fatalf("orgs %+v", who.Orgs)
	}
	fg := e.userToken("alice", hub.TokenSpec{Name: "ci", Role: meta.RoleFineGrained, CanReadGatedRepos: true,
		Scopes: []hub.ScopeSpec{{Entity: "org:acme", Permissions: []string{"repo.write"}}}})
	json.Unmarshal(e.mustOK(e.do("GET", "/api/whoami-v2", fg, nil)).body, &who)
	at := who.Auth.AccessToken
	if at.Role != "fineGrained" || at.DisplayName != "ci" || at.FineGrained == nil || !at.FineGrained.CanReadGatedRepos ||
		at.FineGrained.Global == nil || len(at.FineGrained.Scoped) != 1 {
		t.Fatalf("access token %+v", at)
	}
	sc := at.FineGrained.Scoped[0]
	if sc.Entity.Type != "org" || sc.Entity.Name != "acme" || len(sc.Entity.ID) != 24 || sc.Permissions[0] != "repo.write" {
		t.Fatalf("scope %+v", sc)
	}
}

func TestOrgRoutes(t *testing.T) {
	e := newEnv(t)
	e.org("acme", "alice")
	carol := e.userToken("carol", hub.TokenSpec{})
	// Members page with Link.
	for i := range 5 {
		e.userToken(fmt.Sprintf("u%d", i), hub.TokenSpec{})
		e.mustOK(e.do("PUT", fmt.Sprintf("/api/organizations/acme/members/u%d/role", i), e.alice, map[string]any{"role": "read"}))
	}
	_ = carol
	r := e.do("PUT", "/api/organizations/acme/members/u0/role", e.alice, map[string]any{"role": "boss"})
	if r.status != 400 {
		t.Fatalf("bad role: %d", r.status)
	}
	if r := e.do("PUT", "/api/organizations/acme/members/carol/role", e.bob, map[string]any{"role": "admin"}); r.status != 403 {
		t.Fatalf("non-admin sets role: %d %s", r.status, r.body)
	}
	e.mustOK(e.do("PUT", "/api/organizations/acme/members/carol/role", e.alice, map[string]any{"role": "contributor"}))
	var names []string
	next := "/api/organizations/acme/members?limit=3"
	for pages := 0; next != ""; pages++ {
		r := e.mustOK(e.do("GET", next, "", nil))
		var items []struct{ User, Fullname, Type string }
		json.Unmarshal(r.body, &items)
		for _, it := range items {
			if it.Type != "user" {
				t.Fatalf("item %+v", it)
			}
			names = append(names, it.User)
		}
		next = ""
		if l := r.h.Get("Link"); l != "" {
			next = strings.TrimPrefix(l[1:strings.Index(l, ">")], e.url)
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if len(names) != 7 || names[0] != "alice" {
		t.Fatalf("members %v", names)
	}
	var ov struct {
		Name     string `json:"name"`
		NumUsers int    `json:"numUsers"`
		Fullname string `json:"fullname"`
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/organizations/acme/overview", "", nil)).body, &ov)
	if ov.Name != "acme" || ov.NumUsers != 7 || ov.Fullname != "ACME" {
		t.Fatalf("overview %+v", ov)
	}
	var uov struct {
		User string `json:"user"`
		Orgs []struct{ Name string }
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/users/carol/overview", "", nil)).body, &uov)
	if uov.User != "carol" || len(uov.Orgs) != 1 {
		t.Fatalf("user overview %+v", uov)
	}
	if r := e.do("GET", "/api/organizations/carol/overview", "", nil); r.status != 404 {
		t.Fatalf("a user as an org: %d", r.status)
	}
	e.mustOK(e.do("GET", "/api/users/carol/followers", "", nil))
	// A contributor creates under the org and writes only its own repos.
	e.mustOK(e.do("POST", "/api/repos/create", carol, map[string]any{"name": "mine", "organization": "acme"}))
	u0 := e.userToken("u0", hub.TokenSpec{Name: "w"})
	if r := e.do("POST", "/api/repos/create", u0, map[string]any{"name": "nope", "organization": "acme"}); r.status != 403 {
		t.Fatalf("read member creates: %d %s", r.status, r.body)
	}
	e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "admins", "organization": "acme"}))
	e.mustOK(e.do("POST", "/api/models/acme/mine/commit/main", carol, ndjson(header("x", ""), file("a.txt", "a"))))
	if r := e.do("POST", "/api/models/acme/admins/commit/main", carol, ndjson(header("x", ""), file("a.txt", "a"))); r.status != 403 {
		t.Fatalf("contributor writes another's repo: %d", r.status)
	}
	// Audit: org admins read their org's events.
	var evs []struct{ Action, Target string }
	json.Unmarshal(e.mustOK(e.do("GET", "/api/organizations/acme/audit-log", e.alice, nil)).body, &evs)
	if len(evs) == 0 || evs[0].Action != "org.member.role" {
		t.Fatalf("audit %+v", evs)
	}
	if r := e.do("GET", "/api/organizations/acme/audit-log", carol, nil); r.status != 403 {
		t.Fatalf("non-admin reads audit: %d", r.status)
	}
}

func TestGatedAccessFlow(t *testing.T) {
	e := newEnv(t)
	e.createModel("g")
	e.mustOK(e.do("POST", "/api/models/alice/g/commit/main", e.alice, ndjson(header("add", ""), file("weights.bin", "secret bytes"))))
	e.mustOK(e.do("PUT", "/api/models/alice/g/settings", e.alice, map[string]any{"gated": "manual"}))
	check := func(token string, status int, code, msgPart string) {
		t.Helper()
		for _, p := range []struct{ method, path string }{
			{"HEAD", "/alice/g/resolve/main/weights.bin"},
			{"GET", "/alice/g/resolve/main/weights.bin"},
			{"GET", "/alice/g/resolve/main/no-such-file"},
			{"GET", "/api/models/alice/g/auth-check"},
		} {
			r := e.do(p.method, p.path, token, nil)
			if r.status != status || r.h.Get("X-Error-Code") != code || !strings.Contains(r.h.Get("X-Error-Message"), msgPart) {
				t.Errorf("%s %s: %d %q %q", p.method, p.path, r.status, r.h.Get("X-Error-Code"), r.h.Get("X-Error-Message"))
			}
		}
	}
	check("", 401, "GatedRepo", "Please log in")
	check(e.bob, 403, "GatedRepo", "not in the authorized list")
	// Metadata stays public.
	e.mustOK(e.do("GET", "/api/models/alice/g", "", nil))
	e.mustOK(e.do("GET", "/api/models/alice/g/tree/main", "", nil))
	// The LFS batch API hands no signed download URL to outsiders.
	batch := map[string]any{"operation": "download", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": strings.Repeat("a", 64), "size": 1}}}
	for _, tok := range []string{"", e.bob} {
		r := e.do("POST", "/alice/g.git/info/lfs/objects/batch", tok, batch, "Accept", "application/vnd.git-lfs+json")
		if r.status != 401 && r.status != 403 || strings.Contains(string(r.body), "href") {
			t.Errorf("batch by %q: %d %s", tok, r.status, r.body)
		}
	}
	// Requests are reviewed by the owner.
	carol := e.userToken("carol", hub.TokenSpec{})
	if r := e.do("GET", "/api/models/alice/g/user-access-request/pending", e.bob, nil); r.status != 403 {
		t.Fatalf("bob lists requests: %d", r.status)
	}
	e.mustOK(e.do("POST", "/api/models/alice/g/user-access-request/grant", e.alice, map[string]any{"user": "bob"}))
	if r := e.do("POST", "/api/models/alice/g/user-access-request/grant", e.alice, map[string]any{"user": "bob"}); r.status != 400 {
		t.Fatalf("grant twice: %d", r.status)
	}
	if r := e.do("POST", "/api/models/alice/g/user-access-request/grant", e.alice, map[string]any{"user": "bob", "userId": "x"}); r.status != 400 {
		t.Fatalf("user and userId: %d", r.status)
	}
	if r := e.mustOK(e.do("GET", "/alice/g/resolve/main/weights.bin", e.bob, nil)); string(r.body) != "secret bytes" {
		t.Fatalf("granted download %q", r.body)
	}
	var acc []struct {
		User struct {
			User     string `json:"user"`
			Fullname string `json:"fullname"`
		} `json:"user"`
		Status    string `json:"status"`
		Timestamp string `json:"timestamp"`
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models/alice/g/user-access-request/accepted", e.alice, nil)).body, &acc)
	if len(acc) != 1 || acc[0].User.User != "bob" || acc[0].Status != "accepted" || acc[0].Timestamp == "" {
		t.Fatalf("accepted %+v", acc)
	}
	e.mustOK(e.do("POST", "/api/models/alice/g/user-access-request/handle", e.alice, map[string]any{"user": "bob", "status": "rejected", "rejectionReason": "no"}))
	check(e.bob, 403, "GatedRepo", "rejected")
	if r := e.do("POST", "/api/models/alice/g/user-access-request/handle", e.alice, map[string]any{"user": "carol", "status": "accepted"}); r.status != 404 {
		t.Fatalf("handle without request: %d", r.status)
	}
	_ = carol
	// Not gated: 400 RepoNotGated.
	e.createModel("plain")
	r := e.do("POST", "/api/models/alice/plain/user-access-request/grant", e.alice, map[string]any{"user": "bob"})
	if r.status != 400 || r.h.Get("X-Error-Code") != "RepoNotGated" {
		t.Fatalf("not gated: %d %q", r.status, r.h.Get("X-Error-Code"))
	}
}

func TestFineGrainedTokenReadsOneRepo(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"one", "two"} {
		e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": n, "organization": "alice", "private": true}))
		e.mustOK(e.do("POST", "/api/models/alice/"+n+"/commit/main", e.alice, ndjson(header("add", ""), file("a.txt", n))))
	}
	e.mustOK(e.do("POST", "/api/repos/create", e.bob, map[string]any{"name": "pub", "organization": "bob"}))
	fg := e.userToken("alice", hub.TokenSpec{Name: "one-reader", Role: meta.RoleFineGrained,
		Scopes: []hub.ScopeSpec{{Entity: "model:alice/one", Permissions: []string{"repo.content.read"}}}})
	if r := e.mustOK(e.do("GET", "/alice/one/resolve/main/a.txt", fg, nil)); string(r.body) != "one" {
		t.Fatalf("scoped read %q", r.body)
	}
	for _, c := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"GET", "/alice/two/resolve/main/a.txt", nil, 403},
		{"GET", "/api/models/alice/two", nil, 403},
		{"POST", "/api/models/alice/one/commit/main", ndjson(header("x", ""), file("b.txt", "b")), 403},
		{"POST", "/api/repos/create", map[string]any{"name": "three", "organization": "alice"}, 401},
		{"POST", "/api/models/bob/pub/commit/main", ndjson(header("x", ""), file("b.txt", "b")), 403},
		{"GET", "/api/models/bob/pub", nil, 200}, // public content stays public
	} {
		r := e.do(c.method, c.path, fg, c.body)
		if r.status != c.status {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, r.status, c.status, r.body)
		}
	}
	// Listings show only what the token covers.
	var rows []struct{ ID string }
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models?author=alice", fg, nil)).body, &rows)
	if len(rows) != 0 {
		t.Fatalf("fine-grained listing shows %v", rows)
	}
}

func TestReadTokensChangeNothing(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	read := e.userToken("alice", hub.TokenSpec{Name: "r", Role: meta.RoleRead})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/settings/signing-keys", map[string]any{"name": "k", "key": "x"}},
		{"DELETE", "/api/settings/signing-keys/1", nil},
		{"POST", "/api/models/alice/m/commit/main", ndjson(header("x", ""), file("b.txt", "b"))},
		{"PUT", "/api/models/alice/m/settings", map[string]any{"private": true}},
		{"DELETE", "/api/repos/delete", map[string]any{"name": "alice/m"}},
		{"POST", "/api/models/alice/m/like", nil},
		{"POST", "/api/models/alice/m/branch/dev", map[string]any{}},
	} {
		r := e.do(c.method, c.path, read, c.body)
		if r.status != 403 {
			t.Errorf("%s %s with a read token: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	// Expired tokens are unknown.
	ctx := t.Context()
	u, _ := e.store.UserByName(ctx, "alice")
	s := auth.NewTokenSecret()
	tok := &meta.Token{UserID: u.ID, Name: "old", Hash: auth.HashToken(s), Role: meta.RoleWrite}
	tok.ExpiresAt = time.Now().Add(-time.Hour)
	if err := e.store.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/whoami-v2", string(s), nil); r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}
}

// TestDownloadURLRechecked: a signed LFS download URL stops working when
// the repository turns private, gated or the user loses access.
func TestDownloadURLRechecked(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	data := strings.Repeat("x", 4096) // over the test's LFS threshold
	oid := fmt.Sprintf("%x", sha256.Sum256([]byte(data)))
	batch := func(op string) map[string]any {
		return map[string]any{"operation": op, "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": oid, "size": len(data)}}}
	}
	var up struct {
		Objects []struct {
			Actions map[string]struct {
				Href string `json:"href"`
			} `json:"actions"`
		} `json:"objects"`
	}
	json.Unmarshal(e.mustOK(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice, batch("upload"), "Accept", "application/vnd.git-lfs+json")).body, &up)
	e.mustOK(e.do("PUT", strings.TrimPrefix(up.Objects[0].Actions["upload"].Href, e.url), "", data))
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("lfs", ""),
		map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)}})))
	var dl struct {
		Objects []struct {
			Actions map[string]struct {
				Href string `json:"href"`
			} `json:"actions"`
		} `json:"objects"`
	}
	json.Unmarshal(e.mustOK(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.bob, batch("download"), "Accept", "application/vnd.git-lfs+json")).body, &dl)
	href := strings.TrimPrefix(dl.Objects[0].Actions["download"].Href, e.url)
	if r := e.mustOK(e.do("GET", href, "", nil)); string(r.body) != data {
		t.Fatal("download differs")
	}
	e.mustOK(e.do("PUT", "/api/models/alice/m/settings", e.alice, map[string]any{"private": true}))
	if r := e.do("GET", href, "", nil); r.status != 403 {
		t.Fatalf("URL of a now private repo: %d", r.status)
	}
	e.mustOK(e.do("PUT", "/api/models/alice/m/settings", e.alice, map[string]any{"private": false, "gated": "manual"}))
	if r := e.do("GET", href, "", nil); r.status != 403 {
		t.Fatalf("URL of a now gated repo: %d", r.status)
	}
}

// TestCommitFilesStoredAsTheyArrive: a commit's regular files are written
// to the repository while the body is still being read, one by one, so a
// large commit never sits in memory whole.
func TestCommitFilesStoredAsTheyArrive(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	pr, pw := io.Pipe()
	done := make(chan resp, 1)
	go func() { done <- e.do("POST", "/api/models/alice/m/commit/main", e.alice, pr) }()
	first := "first file, sent before the rest of the body"
	io.WriteString(pw, ndjson(header("streamed", ""), file("a.txt", first)))
	ctx := t.Context()
	repo, err := e.store.RepoByName(ctx, meta.TypeModel, "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	id := gitBlobID([]byte(first))
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.store.StatObjects(ctx, repo.ID, []gitobj.ID{id})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st[id]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first file was not stored while the body was open")
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(pw, ndjson(file("b.txt", "second")))
	pw.Close()
	e.mustOK(<-done)
	if r := e.mustOK(e.do("GET", "/alice/m/resolve/main/b.txt", "", nil)); string(r.body) != "second" {
		t.Fatalf("b.txt = %q", r.body)
	}
}

func gitBlobID(data []byte) gitobj.ID { return gitobj.Hash(gitobj.KindBlob, data) }

// TestRepoStorage: /api/settings/repositories lists the caller's
// repositories, and /api/organizations/{org}/settings/repositories an
// organisation's, private ones included, with storage shares that add
// up; only the account, its members and administrators may list them, a
// fine-grained token only where its scopes reach.
func TestRepoStorage(t *testing.T) {
	e := newEnv(t)
	e.org("acme", "alice")
	e.createModel("m")
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("add", ""), file("a.txt", strings.Repeat("x", 900)))))
	e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "secret", "organization": "acme", "private": true, "type": "dataset"}))
	fgAlice := e.userToken("alice", hub.TokenSpec{Role: meta.RoleFineGrained,
		Scopes: []hub.ScopeSpec{{Entity: "user:alice", Permissions: []string{"repo.content.read"}}}})
	for _, tc := range []struct {
		name, path, token string
		status            int
		ids               []string
	}{
		{"own", "/api/settings/repositories", e.alice, 200, []string{"alice/m"}},
		{"own, empty", "/api/settings/repositories", e.bob, 200, []string{}},
		{"anonymous", "/api/settings/repositories", "", 401, nil},
		{"org member", "/api/organizations/acme/settings/repositories", e.alice, 200, []string{"acme/secret"}},
		{"not a member", "/api/organizations/acme/settings/repositories", e.bob, 403, nil},
		{"scoped to the user only", "/api/organizations/acme/settings/repositories", fgAlice, 403, nil},
		{"scoped token, own", "/api/settings/repositories", fgAlice, 200, []string{"alice/m"}},
		{"no such org", "/api/organizations/nope/settings/repositories", e.alice, 404, nil},
		{"a user is not an org", "/api/organizations/bob/settings/repositories", e.alice, 404, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.token, nil)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status != 200 {
				return
			}
			var rows []wire.RepoStorage
			if err := json.Unmarshal(r.body, &rows); err != nil {
				t.Fatalf("%v: %s", err, r.body)
			}
			ids := []string{}
			var pct float64
			for _, x := range rows {
				ids = append(ids, x.ID)
				pct += x.StoragePercent
				if _, err := time.Parse(time.RFC3339, x.UpdatedAt); err != nil || x.Storage <= 0 {
					t.Errorf("row %+v", x)
				}
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.ids) || len(rows) > 0 && (pct < 99.9 || pct > 100.1) {
				t.Fatalf("rows %+v, want ids %v with shares adding to 100", rows, tc.ids)
			}
			if len(rows) == 0 {
				return
			}
			if tc.ids[0] == "acme/secret" && (rows[0].Visibility != "private" || rows[0].Type != "dataset") {
				t.Errorf("row %+v: want a private dataset", rows[0])
			}
			if tc.ids[0] == "alice/m" && (rows[0].Visibility != "public" || rows[0].Storage < 900) {
				t.Errorf("row %+v: want a public model holding at least the 900-byte file", rows[0])
			}
		})
	}
}

// TestTagsByType: get_model_tags and get_dataset_tags get each tag type
// with its tags as {id, label, type}, the id being a listing filter.
func TestTagsByType(t *testing.T) {
	e := newEnv(t)
	type tag struct{ ID, Label, Type string }
	for _, tc := range []struct {
		path, typ string
		want      tag
	}{
		{"/api/models-tags-by-type", "pipeline_tag", tag{"text-classification", "Text Classification", "pipeline_tag"}},
		{"/api/models-tags-by-type", "license", tag{"license:apache-2.0", "apache-2.0", "license"}},
		{"/api/datasets-tags-by-type", "format", tag{"format:parquet", "parquet", "format"}},
		{"/api/datasets-tags-by-type", "size_categories", tag{"size_categories:n<1K", "n<1K", "size_categories"}},
		{"/api/datasets-tags-by-type", "modality", tag{"modality:text", "Text", "modality"}},
	} {
		var got map[string][]tag
		if err := json.Unmarshal(e.mustOK(e.do("GET", tc.path, "", nil)).body, &got); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, g := range got[tc.typ] {
			found = found || g == tc.want
		}
		if !found {
			t.Errorf("%s: %s lacks %+v: %+v", tc.path, tc.typ, tc.want, got[tc.typ])
		}
	}
}
