package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/testenv"
	"github.com/agorahub/agora/internal/wire"
)

// TestGitSmartHTTP runs the git suite against the embedded default
// (SQLite + files). Other stores run the same suite by starting the hub
// with their HubOptions.StoreArgs.
func TestGitSmartHTTP(t *testing.T) {
	testenv.MustHaveExecPath(t, "git")
	testenv.MustHaveExecPath(t, "git-lfs")
	h := StartHub(t, HubOptions{})
	runGitSuite(t, h)
}

// TestGitSmartHTTPScaleOut runs the same suite on PostgreSQL + S3, with
// LFS downloads redirected to presigned URLs.
func TestGitSmartHTTPScaleOut(t *testing.T) {
	testenv.MustHaveExecPath(t, "git")
	testenv.MustHaveExecPath(t, "git-lfs")
	h := StartHub(t, HubOptions{StoreArgs: scaleOutStore(t)})
	runGitSuite(t, h)
}

// gitEnv is an isolated git setup: its own HOME with git-lfs installed,
// no system config, no prompts.
type gitEnv struct {
	t    *testing.T
	home string
	hub  *Hub
}

func newGitEnv(t *testing.T, h *Hub) *gitEnv {
	home := t.TempDir()
	e := &gitEnv{t: t, home: home, hub: h}
	e.run(home, "", "config", "--global", "user.name", "Git Tester")
	e.run(home, "", "config", "--global", "user.email", "tester@example.org")
	e.run(home, "", "config", "--global", "init.defaultBranch", "main")
	e.run(home, "", "lfs", "install")
	return e
}

// cmd builds a git command in dir; a non-empty token is sent as HTTP
// Basic credentials (any user name, the token as password), the way a
// credential helper sends it.
func (e *gitEnv) cmd(dir, token string, args ...string) *exec.Cmd {
	var pre []string
	if token != "" {
		basic := base64.StdEncoding.EncodeToString([]byte("git:" + token))
		pre = append(pre, "-c", "http.extraHeader=Authorization: Basic "+basic)
	}
	ctx, cancel := context.WithTimeout(e.t.Context(), 5*time.Minute)
	e.t.Cleanup(cancel)
	c := exec.CommandContext(ctx, "git", append(pre, args...)...)
	c.Dir = dir
	c.Env = append(os.Environ(), "HOME="+e.home, "XDG_CONFIG_HOME="+filepath.Join(e.home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=", "GCM_INTERACTIVE=never",
		"GIT_LFS_SKIP_PUSH=0", "GIT_LFS_SKIP_SMUDGE=0")
	return c
}

// run runs git and fails the test on error, returning stdout.
func (e *gitEnv) run(dir, token string, args ...string) string {
	e.t.Helper()
	c := e.cmd(dir, token, args...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		e.t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// fail runs git, expects it to fail and returns its combined output.
func (e *gitEnv) fail(dir, token string, args ...string) string {
	e.t.Helper()
	out, err := e.cmd(dir, token, args...).CombinedOutput()
	if err == nil {
		e.t.Fatalf("git %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// api calls the hub's HTTP API.
func api(t *testing.T, method, url, token, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func mustAPI(t *testing.T, method, url, token, contentType string, body []byte) []byte {
	t.Helper()
	code, b := api(t, method, url, token, contentType, body)
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, url, code, b)
	}
	return b
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// uploadLFS stores content through the LFS batch API of repo.
func uploadLFS(t *testing.T, h *Hub, repo, token string, content []byte) string {
	t.Helper()
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])
	req, _ := json.Marshal(map[string]any{"operation": "upload", "transfers": []string{"basic"},
		"objects": []map[string]any{{"oid": oid, "size": len(content)}}})
	b := mustAPI(t, "POST", h.URL+"/"+repo+".git/info/lfs/objects/batch", token, "application/vnd.git-lfs+json", req)
	var resp wire.LFSBatchResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Objects) != 1 || resp.Objects[0].Error != nil {
		t.Fatalf("batch: %s", b)
	}
	if up := resp.Objects[0].Actions["upload"]; up != nil {
		mustAPI(t, "PUT", up.Href, "", "application/octet-stream", content)
	}
	return oid
}

// apiCommit commits NDJSON operations to main.
func apiCommit(t *testing.T, h *Hub, repo, token, summary string, ops ...map[string]any) {
	t.Helper()
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.Encode(map[string]any{"key": "header", "value": map[string]any{"summary": summary}})
	for _, op := range ops {
		enc.Encode(op)
	}
	mustAPI(t, "POST", h.URL+"/api/models/"+repo+"/commit/main", token, "application/x-ndjson", body.Bytes())
}

func fileOp(path string, content []byte) map[string]any {
	return map[string]any{"key": "file", "value": map[string]any{"path": path, "content": base64.StdEncoding.EncodeToString(content), "encoding": "base64"}}
}

func apiCommitIDs(t *testing.T, h *Hub, repo, token, rev string) []string {
	t.Helper()
	b := mustAPI(t, "GET", h.URL+"/api/models/"+repo+"/commits/"+rev, token, "", nil)
	var commits []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &commits); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range commits {
		ids = append(ids, c.ID)
	}
	return ids
}

func apiRefs(t *testing.T, h *Hub, repo, token string) wire.Refs {
	t.Helper()
	var refs wire.Refs
	if err := json.Unmarshal(mustAPI(t, "GET", h.URL+"/api/models/"+repo+"/refs", token, "", nil), &refs); err != nil {
		t.Fatal(err)
	}
	return refs
}

func refNames(rs []wire.Ref) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func createRepo(t *testing.T, h *Hub, ns, name, token string, private bool) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "organization": ns, "private": private})
	mustAPI(t, "POST", h.URL+"/api/repos/create", token, "application/json", body)
	return ns + "/" + name
}

// runGitSuite exercises clone, fetch and push with git and git-lfs
// against a running hub.
func runGitSuite(t *testing.T, h *Hub) {
	owner := uniqueName("gitowner")
	token := h.Admin(t, "user", "add", owner, "--email", owner+"@example.org")
	readToken := h.Admin(t, "token", "add", owner, "--read")
	other := uniqueName("gitother")
	otherToken := h.Admin(t, "user", "add", other)
	e := newGitEnv(t, h)
	work := t.TempDir()

	// A repository built through the API: regular files and an LFS file.
	repo := createRepo(t, h, owner, "model", token, false)
	weights := randomBytes(t, 300<<10)
	oid := uploadLFS(t, h, repo, token, weights)
	apiCommit(t, h, repo, token, "add files",
		fileOp("README.md", []byte("---\nlicense: mit\n---\n# Model\n")),
		fileOp("config.json", []byte(`{"model_type":"bert"}`)),
		fileOp("nested/dir/notes.txt", []byte("deep file\n")),
		map[string]any{"key": "lfsFile", "value": map[string]any{"path": "model.safetensors", "algo": "sha256", "oid": oid, "size": len(weights)}})
	apiCommit(t, h, repo, token, "second", fileOp("nested/dir/notes.txt", []byte("deep file, edited\n")))
	url := h.URL + "/" + repo

	for _, proto := range []string{"0", "2"} {
		t.Run("clone/v"+proto, func(t *testing.T) {
			dir := filepath.Join(work, "clone-v"+proto)
			e.run(work, "", "-c", "protocol.version="+proto, "clone", "-q", url, dir)
			got := strings.Fields(e.run(dir, "", "log", "--format=%H"))
			want := apiCommitIDs(t, h, repo, "", "main")
			if !slices.Equal(got, want) {
				t.Errorf("git log = %v, API commits = %v", got, want)
			}
			b, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			if err != nil || !bytes.Equal(b, weights) {
				t.Errorf("LFS file not checked out with its content (%d bytes, err %v)", len(b), err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "nested/dir/notes.txt")); string(b) != "deep file, edited\n" {
				t.Errorf("notes.txt = %q", b)
			}
			e.run(dir, "", "fsck", "--strict")
		})
	}
	t.Run("clone/dotgit-suffix", func(t *testing.T) {
		e.run(work, "", "clone", "-q", url+".git", filepath.Join(work, "clone-dotgit"))
	})

	t.Run("shallow", func(t *testing.T) {
		for _, proto := range []string{"0", "2"} {
			dir := filepath.Join(work, "shallow-v"+proto)
			e.run(work, "", "-c", "protocol.version="+proto, "clone", "-q", "--depth", "1", url, dir)
			if n := e.run(dir, "", "rev-list", "--count", "HEAD"); n != "1" {
				t.Errorf("v%s: shallow clone has %s commits, want 1", proto, n)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", "shallow")); err != nil {
				t.Errorf("v%s: no .git/shallow: %v", proto, err)
			}
			e.run(dir, "", "-c", "protocol.version="+proto, "fetch", "-q", "--unshallow")
			if n := e.run(dir, "", "rev-list", "--count", "HEAD"); n != "3" {
				t.Errorf("v%s: after --unshallow %s commits, want 3", proto, n)
			}
			e.run(dir, "", "fsck", "--strict")
		}
	})

	// Pushes work in a clone made with credentials.
	pusher := filepath.Join(work, "pusher")
	e.run(work, token, "clone", "-q", url, pusher)
	git := func(args ...string) string { return e.run(pusher, token, args...) }

	t.Run("push-lfs-and-small", func(t *testing.T) {
		git("lfs", "track", "*.dat")
		data := randomBytes(t, 200<<10)
		os.WriteFile(filepath.Join(pusher, "weights.dat"), data, 0o644)
		os.WriteFile(filepath.Join(pusher, "small.txt"), []byte("small file\n"), 0o644)
		git("add", ".gitattributes", "weights.dat", "small.txt")
		git("commit", "-q", "-m", "push lfs and small")
		// git-lfs asks locks/verify on a push: the hub's 501 turns
		// verification off quietly, instead of a hint on every push
		// that prints the remote's URL with its token.
		if out, err := e.cmd(pusher, token, "push", "-q", "origin", "main").CombinedOutput(); err != nil || strings.Contains(string(out), "ocking") {
			t.Fatalf("push: %v\n%s", err, out)
		}
		head := git("rev-parse", "HEAD")
		if ids := apiCommitIDs(t, h, repo, "", "main"); len(ids) == 0 || ids[0] != head {
			t.Errorf("API head = %v, want %s", ids, head)
		}
		if b := mustAPI(t, "GET", h.URL+"/"+repo+"/resolve/main/small.txt", "", "", nil); string(b) != "small file\n" {
			t.Errorf("resolve small.txt = %q", b)
		}
		if b := mustAPI(t, "GET", h.URL+"/"+repo+"/resolve/main/weights.dat", "", "", nil); !bytes.Equal(b, data) {
			t.Errorf("resolve weights.dat: %d bytes, want the pushed %d", len(b), len(data))
		}
		var tree []wire.TreeEntry
		if err := json.Unmarshal(mustAPI(t, "GET", h.URL+"/api/models/"+repo+"/tree/main", "", "", nil), &tree); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, te := range tree {
			if te.Path == "weights.dat" {
				found = te.LFS != nil && te.LFS.Size == int64(len(data))
			}
		}
		if !found {
			t.Errorf("tree/main has no LFS entry weights.dat: %+v", tree)
		}
		// A fetch in another clone gets the push.
		other := filepath.Join(work, "clone-v2")
		e.run(other, "", "pull", "-q", "--ff-only")
		if got := e.run(other, "", "rev-parse", "HEAD"); got != head {
			t.Errorf("pulled HEAD = %s, want %s", got, head)
		}
		if b, _ := os.ReadFile(filepath.Join(other, "weights.dat")); !bytes.Equal(b, data) {
			t.Error("pulled LFS file differs")
		}
	})

	t.Run("branch-and-tag", func(t *testing.T) {
		git("checkout", "-q", "-b", "feature")
		os.WriteFile(filepath.Join(pusher, "feature.txt"), []byte("feature\n"), 0o644)
		git("add", "feature.txt")
		git("commit", "-q", "-m", "feature work")
		git("tag", "-a", "v1.0", "-m", "release 1.0")
		git("tag", "light")
		git("push", "-q", "origin", "feature", "v1.0", "light")
		refs := apiRefs(t, h, repo, "")
		if !slices.Contains(refNames(refs.Branches), "feature") {
			t.Errorf("branches = %v, want feature", refNames(refs.Branches))
		}
		if tags := refNames(refs.Tags); !slices.Contains(tags, "v1.0") || !slices.Contains(tags, "light") {
			t.Errorf("tags = %v, want v1.0 and light", tags)
		}
		head := git("rev-parse", "HEAD")
		for _, tg := range refs.Tags {
			if tg.Name == "v1.0" && tg.TargetCommit != head {
				t.Errorf("tag v1.0 peels to %s, want %s", tg.TargetCommit, head)
			}
		}
		// The annotated tag comes back as a tag object.
		dir := filepath.Join(work, "tags-clone")
		e.run(work, "", "clone", "-q", url, dir)
		if k := e.run(dir, "", "cat-file", "-t", "v1.0"); k != "tag" {
			t.Errorf("v1.0 is a %s, want tag", k)
		}
		// Deleting the branch by push.
		git("checkout", "-q", "main")
		git("push", "-q", "origin", ":feature", ":light")
		refs = apiRefs(t, h, repo, "")
		if slices.Contains(refNames(refs.Branches), "feature") || slices.Contains(refNames(refs.Tags), "light") {
			t.Errorf("after deletion: branches %v, tags %v", refNames(refs.Branches), refNames(refs.Tags))
		}
		out := e.fail(pusher, token, "push", "origin", ":main")
		if !strings.Contains(out, "refusing to delete the default branch") {
			t.Errorf("deleting main: %s", out)
		}
	})

	t.Run("stale-push", func(t *testing.T) {
		a, b := filepath.Join(work, "stale-a"), filepath.Join(work, "stale-b")
		e.run(work, token, "clone", "-q", url, a)
		e.run(work, token, "clone", "-q", url, b)
		os.WriteFile(filepath.Join(a, "a.txt"), []byte("a\n"), 0o644)
		e.run(a, "", "add", "a.txt")
		e.run(a, "", "commit", "-q", "-m", "from a")
		e.run(a, token, "push", "-q", "origin", "main")
		os.WriteFile(filepath.Join(b, "b.txt"), []byte("b\n"), 0o644)
		e.run(b, "", "add", "b.txt")
		e.run(b, "", "commit", "-q", "-m", "from b")
		out := e.fail(b, token, "push", "origin", "main")
		if !strings.Contains(out, "fetch first") && !strings.Contains(out, "non-fast-forward") {
			t.Errorf("stale push: %s", out)
		}
		if ids := apiCommitIDs(t, h, repo, "", "main"); ids[0] != e.run(a, "", "rev-parse", "HEAD") {
			t.Errorf("head moved to %s after a refused push", ids[0])
		}
		// Forcing it is refused too: the repository does not allow it.
		out = e.fail(b, token, "push", "--force", "origin", "main")
		if !strings.Contains(out, "force-pushes are disabled") {
			t.Errorf("force push: %s", out)
		}
		// Once allowed, a force push goes through.
		mustAPI(t, "PUT", h.URL+"/api/models/"+repo+"/settings", token, "application/json", []byte(`{"allowForcePush":true}`))
		e.run(b, token, "push", "-q", "--force", "origin", "main")
		if ids := apiCommitIDs(t, h, repo, "", "main"); ids[0] != e.run(b, "", "rev-parse", "HEAD") {
			t.Errorf("force push did not move main")
		}
		mustAPI(t, "PUT", h.URL+"/api/models/"+repo+"/settings", token, "application/json", []byte(`{"allowForcePush":false}`))
		e.run(pusher, token, "pull", "-q", "--rebase")
	})

	t.Run("large-regular-file", func(t *testing.T) {
		before := apiCommitIDs(t, h, repo, "", "main")[0]
		os.WriteFile(filepath.Join(pusher, "big.txt"), randomBytes(t, 11<<20), 0o644)
		git("add", "big.txt")
		git("commit", "-q", "-m", "big regular file")
		out := e.fail(pusher, token, "push", "origin", "main")
		if !strings.Contains(out, `git lfs track "*.txt"`) {
			t.Errorf("large file push: %s", out)
		}
		if after := apiCommitIDs(t, h, repo, "", "main")[0]; after != before {
			t.Errorf("a refused push moved main to %s", after)
		}
		git("reset", "-q", "--hard", "HEAD~1")
	})

	t.Run("auth", func(t *testing.T) {
		os.WriteFile(filepath.Join(pusher, "anon.txt"), []byte("anon\n"), 0o644)
		git("add", "anon.txt")
		git("commit", "-q", "-m", "anonymous attempt")
		out := e.fail(pusher, "", "-c", "credential.helper=", "push", url, "main")
		if !strings.Contains(out, "could not read Username") && !strings.Contains(out, "Authentication") {
			t.Errorf("anonymous push: %s", out)
		}
		out = e.fail(pusher, readToken, "push", url, "main")
		if !strings.Contains(out, "read-only") {
			t.Errorf("read-only token push: %s", out)
		}
		out = e.fail(pusher, otherToken, "push", url, "main")
		if !strings.Contains(out, "403") && !strings.Contains(out, "rights") {
			t.Errorf("push by a non-owner: %s", out)
		}
		git("reset", "-q", "--hard", "HEAD~1")

		private := createRepo(t, h, owner, "secret", token, true)
		purl := h.URL + "/" + private
		out = e.fail(work, "", "clone", purl, filepath.Join(work, "p-anon"))
		if !strings.Contains(out, "could not read Username") {
			t.Errorf("anonymous clone of a private repo: %s", out)
		}
		missing := e.fail(work, "", "clone", h.URL+"/"+owner+"/does-not-exist", filepath.Join(work, "p-missing"))
		if !strings.Contains(missing, "could not read Username") {
			t.Errorf("anonymous clone of a missing repo: %s", missing)
		}
		out = e.fail(work, otherToken, "clone", purl, filepath.Join(work, "p-other"))
		if !strings.Contains(out, "Repository not found") && !strings.Contains(out, "404") {
			t.Errorf("clone of a private repo by another user: %s", out)
		}
		e.run(work, token, "clone", "-q", purl, filepath.Join(work, "p-owner"))
		e.run(work, readToken, "clone", "-q", purl, filepath.Join(work, "p-read"))
	})

	t.Run("dataset", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"name": "data", "organization": owner, "type": "dataset"})
		mustAPI(t, "POST", h.URL+"/api/repos/create", token, "application/json", body)
		dir := filepath.Join(work, "dataset")
		e.run(work, token, "clone", "-q", h.URL+"/datasets/"+owner+"/data.git", dir)
		os.WriteFile(filepath.Join(dir, "train.csv"), []byte("a,b\n1,2\n"), 0o644)
		e.run(dir, "", "add", "train.csv")
		e.run(dir, "", "commit", "-q", "-m", "data")
		e.run(dir, token, "push", "-q", "origin", "main")
		code, b := api(t, "GET", h.URL+"/datasets/"+owner+"/data/resolve/main/train.csv", "", "", nil)
		if code != 200 || string(b) != "a,b\n1,2\n" {
			t.Errorf("dataset file: %d %q", code, b)
		}
	})
}
