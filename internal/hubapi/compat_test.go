package hubapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// These tests pin answers that the Hub's clients depend on word for word
// (issue 10): statuses, X-Error-Code and messages that scripts match on.

func (e *env) commitID(path string) string {
	e.t.Helper()
	var info struct{ Sha string }
	json.Unmarshal(e.mustOK(e.do("GET", path, e.alice, nil)).body, &info)
	return info.Sha
}

func TestCreateExistingRepoCarriesURL(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	r := e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "m", "organization": "alice"})
	if r.status != 409 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var body struct{ Error, URL string }
	json.Unmarshal(r.body, &body)
	if body.Error != "You already created this model repo" || body.URL != e.url+"/alice/m" {
		t.Fatalf("body %s", r.body)
	}
	// The same for a dataset, by "namespace/name".
	e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "alice/d", "type": "dataset"}))
	r = e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "alice/d", "type": "dataset"})
	json.Unmarshal(r.body, &body)
	if r.status != 409 || body.URL != e.url+"/datasets/alice/d" || body.Error != "You already created this dataset repo" {
		t.Fatalf("dataset: %d %s", r.status, r.body)
	}
}

func TestCommitOntoPullRequest(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	r := e.mustOK(e.do("POST", "/api/models/alice/m/commit/main?create_pr=1", e.alice, ndjson(header("open", ""), file("a.txt", "1"))))
	var res struct {
		CommitOid      string `json:"commitOid"`
		PullRequestURL string `json:"pullRequestUrl"`
	}
	json.Unmarshal(r.body, &res)
	if !strings.HasSuffix(res.PullRequestURL, "/discussions/1") {
		t.Fatalf("pr url %q", res.PullRequestURL)
	}
	// Appending to refs/pr/1 moves it and only it.
	mainBefore := e.commitID("/api/models/alice/m")
	r = e.mustOK(e.do("POST", "/api/models/alice/m/commit/refs%2Fpr%2F1", e.alice, ndjson(header("more", res.CommitOid), file("b.txt", "2"))))
	var res2 struct {
		CommitOid string `json:"commitOid"`
	}
	json.Unmarshal(r.body, &res2)
	if got := e.commitID("/api/models/alice/m/revision/refs%2Fpr%2F1"); got != res2.CommitOid {
		t.Fatalf("refs/pr/1 at %s, want %s", got, res2.CommitOid)
	}
	if got := e.commitID("/api/models/alice/m"); got != mainBefore {
		t.Fatal("main moved")
	}
	e.mustOK(e.do("HEAD", "/alice/m/resolve/refs%2Fpr%2F1/b.txt", "", nil))
	// Compare-and-swap: a stale parent is refused with the Hub's message.
	r = e.do("POST", "/api/models/alice/m/commit/refs%2Fpr%2F1", e.alice, ndjson(header("stale", res.CommitOid), file("c.txt", "3")))
	if r.status != 412 || r.h.Get("X-Error-Message") != "The branch was updated since you opened this page. Please refresh and try again." {
		t.Fatalf("stale: %d %q", r.status, r.h.Get("X-Error-Message"))
	}
	// A PR that does not exist is a missing revision.
	r = e.do("POST", "/api/models/alice/m/commit/refs%2Fpr%2F9", e.alice, ndjson(header("x", ""), file("c.txt", "3")))
	if r.status != 404 || r.h.Get("X-Error-Code") != "RevisionNotFound" {
		t.Fatalf("missing pr: %d %s", r.status, r.body)
	}
	// super-squash on the PR.
	r = e.mustOK(e.do("POST", "/api/models/alice/m/super-squash/refs%2Fpr%2F1", e.alice, map[string]any{"message": "squash"}))
	var sq struct {
		CommitID string `json:"commitId"`
	}
	json.Unmarshal(r.body, &sq)
	if got := e.commitID("/api/models/alice/m/revision/refs%2Fpr%2F1"); got != sq.CommitID {
		t.Fatalf("squashed pr at %s, want %s", got, sq.CommitID)
	}
	// create_pr onto a commit id is refused: a PR's base is a branch.
	r = e.do("POST", "/api/models/alice/m/commit/"+mainBefore+"?create_pr=1", e.alice, ndjson(header("x", ""), file("c.txt", "3")))
	if r.status != 404 || r.h.Get("X-Error-Code") != "RevisionNotFound" {
		t.Fatalf("create_pr on commit id: %d %s", r.status, r.body)
	}
}

func TestCanonicalRepoIDs(t *testing.T) {
	e := newEnv(t)
	cases := []struct{ method, path string }{
		{"GET", "/api/models/gpt2"},
		{"GET", "/api/models/gpt2/revision/main"},
		{"GET", "/api/models/gpt2/tree/main"},
		{"GET", "/api/models/gpt2/refs"},
		{"GET", "/api/datasets/squad"},
		{"GET", "/api/datasets/squad/revision/main"},
		{"HEAD", "/gpt2/resolve/main/config.json"},
		{"GET", "/gpt2/raw/main/config.json"},
		{"HEAD", "/datasets/squad/resolve/main/data.csv"},
		{"POST", "/api/models/bert-base-uncased/paths-info/main"},
		{"GET", "/api/models/bert-base-uncased/commits/main"},
	}
	for _, tc := range cases {
		for _, tok := range []string{"", e.alice} {
			r := e.do(tc.method, tc.path, tok, nil)
			if r.status != 404 || r.h.Get("X-Error-Code") != "RepoNotFound" {
				t.Errorf("%s %s (token %v): %d %q", tc.method, tc.path, tok != "", r.status, r.h.Get("X-Error-Code"))
			}
		}
	}
	// Only admins create canonical repositories; then every route works.
	r := e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "gpt2", "organization": ""})
	if r.status != 403 {
		t.Fatalf("non-admin canonical create: %d %s", r.status, r.body)
	}
	admin := e.admin("root")
	e.mustOK(e.do("POST", "/api/repos/create", admin, map[string]any{"name": "gpt2", "organization": ""}))
	var info struct {
		ID  string `json:"id"`
		Sha string `json:"sha"`
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models/gpt2", "", nil)).body, &info)
	if info.ID != "gpt2" || len(info.Sha) != 40 {
		t.Fatalf("info %+v", info)
	}
	e.mustOK(e.do("POST", "/api/models/gpt2/commit/main", admin, ndjson(header("cfg", ""), file("config.json", `{"model_type":"gpt2"}`))))
	if r := e.mustOK(e.do("GET", "/gpt2/resolve/main/config.json", "", nil)); string(r.body) != `{"model_type":"gpt2"}` {
		t.Fatalf("resolve: %s", r.body)
	}
	e.mustOK(e.do("GET", "/api/models/gpt2/refs", "", nil))
	e.mustOK(e.do("GET", "/api/models/gpt2/tree/main", "", nil))
	// Names that are route words are refused for every repository.
	r = e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "alice/refs"})
	if r.status != 400 {
		t.Fatalf("keyword name: %d %s", r.status, r.body)
	}
}

func TestAbbreviatedCommitIDs(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	r := e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("add", ""), file("a.txt", "v1"))))
	var c struct {
		CommitOid string `json:"commitOid"`
	}
	json.Unmarshal(r.body, &c)
	for _, n := range []int{7, 8, 12, 39} {
		short := c.CommitOid[:n]
		if got := e.commitID("/api/models/alice/m/revision/" + short); got != c.CommitOid {
			t.Fatalf("revision %s = %s", short, got)
		}
		if r := e.mustOK(e.do("GET", "/alice/m/resolve/"+strings.ToUpper(short)+"/a.txt", "", nil)); string(r.body) != "v1" {
			t.Fatalf("resolve at %s: %q", short, r.body)
		}
		e.mustOK(e.do("GET", "/api/models/alice/m/tree/"+short, "", nil))
	}
	for _, bad := range []string{c.CommitOid[:6], "0000000", strings.Repeat("f", 39)} {
		r := e.do("GET", "/api/models/alice/m/revision/"+bad, "", nil)
		if r.status != 404 || r.h.Get("X-Error-Code") != "RevisionNotFound" {
			t.Fatalf("revision %s: %d %s", bad, r.status, r.body)
		}
	}
	// A branch named like a prefix wins, as in git.
	e.mustOK(e.do("POST", "/api/models/alice/m/branch/"+c.CommitOid[:7], e.alice, map[string]any{}))
}

func TestDeletedFileOnAFolder(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("add", ""), file("dir/a.txt", "1"), file("dir/sub/b.txt", "2"), file("keep.txt", "3"))))
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("rm", ""),
		map[string]any{"key": "deletedFile", "value": map[string]any{"path": "dir"}})))
	r := e.do("GET", "/api/models/alice/m/tree/main/dir", "", nil)
	if r.status != 404 {
		t.Fatalf("dir still there: %d %s", r.status, r.body)
	}
	e.mustOK(e.do("HEAD", "/alice/m/resolve/main/keep.txt", "", nil))
}

func TestInitialCommitAuthor(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	var commits []struct {
		Authors []struct{ User string } `json:"authors"`
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models/alice/m/commits/main", "", nil)).body, &commits)
	if len(commits) != 1 || len(commits[0].Authors) != 1 || commits[0].Authors[0].User != "alice" {
		t.Fatalf("commits %+v", commits)
	}
}

func TestInvalidPathsAre422(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	for _, p := range []string{"../x", "a/../b", ".git/config", "a//b", `..\x`, `folder/..\..\file`, "/abs", "a/./b"} {
		r := e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("bad", ""), file(p, "x")))
		if r.status != 422 {
			t.Errorf("commit path %q: %d %s", p, r.status, r.body)
		}
		r = e.do("POST", "/api/models/alice/m/preupload/main", e.alice, map[string]any{"files": []map[string]any{{"path": p, "size": 1, "sample": ""}}})
		if r.status != 422 {
			t.Errorf("preupload path %q: %d %s", p, r.status, r.body)
		}
	}
}

func TestRefMessages(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	e.mustOK(e.do("POST", "/api/models/alice/m/branch/dev", e.alice, map[string]any{}))
	cases := []struct {
		name, method, path string
		body               any
		status             int
		msg                string
	}{
		{"branch exists", "POST", "/api/models/alice/m/branch/dev", map[string]any{}, 409, "Reference refs/heads/dev already exists"},
		{"delete main", "DELETE", "/api/models/alice/m/branch/main", nil, 403, "Cannot delete refs/heads/main"},
		{"tag on missing revision first", "POST", "/api/models/alice/m/tag/nope", map[string]any{"tag": "bad tag"}, 404, ""},
		{"bad tag name", "POST", "/api/models/alice/m/tag/main", map[string]any{"tag": "bad tag"}, 400, ""},
	}
	for _, tc := range cases {
		r := e.do(tc.method, tc.path, e.alice, tc.body)
		if r.status != tc.status || tc.msg != "" && r.h.Get("X-Error-Message") != tc.msg {
			t.Errorf("%s: %d %q", tc.name, r.status, r.h.Get("X-Error-Message"))
		}
	}
	e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "alice/other"}))
	r := e.do("POST", "/api/repos/move", e.alice, map[string]any{"fromRepo": "alice/other", "toRepo": "alice/m"})
	if r.status != 409 || r.h.Get("X-Error-Message") != "A model repository called alice/m already exists" {
		t.Fatalf("move: %d %q", r.status, r.h.Get("X-Error-Message"))
	}
}

func TestNotYetImplementedAre501(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	for _, p := range []string{
		"/api/collections", "/api/collections/alice/c-123", "/api/settings/webhooks",
		"/api/models/alice/m/discussions", "/api/models/alice/m/discussions/1",
		"/api/models/alice/m/lfs-files", "/api/papers/search",
	} {
		r := e.do("GET", p, e.alice, nil)
		if r.status != 501 || r.h.Get("X-Error-Message") == "" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

// admin creates an admin user and returns a write token.
func (e *env) admin(name string) string {
	e.t.Helper()
	m := e.store
	u := &meta.User{Name: name, IsAdmin: true}
	if err := m.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	s := auth.NewTokenSecret()
	if err := m.CreateToken(e.t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(s), Role: meta.RoleWrite}); err != nil {
		e.t.Fatal(err)
	}
	return string(s)
}
