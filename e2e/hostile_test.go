package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/testenv"
)

// TestHostileInputs sends a real `agora serve` several hundred malformed,
// oversized, forged and abusive requests, one class of the hardening issue
// (#11) per table: path and name rules, broken NDJSON, JSON and YAML
// bodies, card metadata bombs, malformed packs and pkt-lines, LFS batch
// abuse, forged and reused signed URLs, Range abuse, slow and stalled
// connections and decompression bombs. Each case expects one answer (a
// status, the Hub's X-Error-Code where it defines one, and for git the
// in-band refusal); after every case the server must be healthy (healthz,
// a normal read), no ref may have moved and no LFS object appeared unless
// the case is one that succeeds, and no partial upload may be left in the
// blob store. At the end every repository is cloned by the real git with
// transfer.fsckObjects and checked with `git fsck --strict`: whatever the
// suite got accepted must be something git accepts.
func TestHostileInputs(t *testing.T) {
	e := newHostile(t)
	var cases []hostile
	for _, gen := range []func(*hx) []hostile{
		pathCases, ndjsonCases, preuploadCases, repoNameCases, refNameCases, jsonBodyCases, cardCases,
		gitCases, lfsBatchCases, signedURLCases, rangeCases, slowCases, bombCases,
	} {
		cases = append(cases, gen(e)...)
	}
	start := time.Now()
	classes := map[string]int{}
	base := e.state()
	for _, c := range cases {
		classes[c.class]++
		ok := t.Run(c.class+"/"+c.name, func(t *testing.T) {
			e.t = t
			var r reply
			if c.run != nil {
				r = c.run(e)
			} else {
				r = e.do(c.call)
			}
			if r.err != nil && c.status != 0 {
				t.Fatalf("request failed: %v", r.err)
			}
			if c.status != 0 && r.status != c.status {
				t.Errorf("status %d, want %d; X-Error-Code %q; body %.300q", r.status, c.status, r.hdr.Get("X-Error-Code"), r.body)
			}
			if c.status != 0 && r.hdr.Get("X-Error-Code") != c.code {
				t.Errorf("X-Error-Code %q, want %q (status %d, body %.200q)", r.hdr.Get("X-Error-Code"), c.code, r.status, r.body)
			}
			if c.want != "" && !bytes.Contains(r.body, []byte(c.want)) {
				t.Errorf("body does not contain %q: %.400q", c.want, r.body)
			}
			for k, v := range c.hdrs {
				if got := r.hdr.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			e.healthy()
			now := e.state()
			if c.changes {
				base = now
			} else if diff := base.diff(now); diff != "" {
				t.Errorf("state changed by a refused request:\n%s", diff)
				base = now
			}
			e.noLeftovers()
		})
		e.t = t
		if !ok && testing.Short() {
			break
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range classes {
			if !yield(k) {
				return
			}
		}
	})
	var summary strings.Builder
	for _, k := range names {
		fmt.Fprintf(&summary, " %s=%d", k, classes[k])
	}
	t.Logf("hostile inputs: %d cases in %v:%s", len(cases), time.Since(start).Round(time.Millisecond), summary.String())
	if len(cases) < 300 {
		t.Errorf("only %d cases: the issue asks for at least 300", len(cases))
	}
	e.oracle()
}

// hostile is one case: a request (or several, with run) and the answer
// it must get.
type hostile struct {
	class, name string
	call        call
	run         func(e *hx) reply // instead of call, for multi-step cases
	status      int               // 0: any answer, even none (the connection may be cut)
	code        string            // X-Error-Code ("" must be absent)
	want        string            // a substring of the body
	hdrs        map[string]string // headers the answer must carry
	changes     bool              // the request succeeds and may move refs or add LFS objects
}

// call is an HTTP request of a case.
type call struct {
	method, path string
	token        string   // bearer token
	basic        string   // token sent as HTTP Basic password (git)
	hdr          []string // header pairs
	body         []byte
	stream       io.Reader // body when set (no Content-Length)
	length       int64     // Content-Length to declare with stream (0: chunked)
}

type reply struct {
	status int
	hdr    http.Header
	body   []byte
	err    error
}

// hx is the suite's view of the hub it attacks.
type hx struct {
	t    *testing.T
	h    *Hub
	data string
	// Tokens: alice owns the repositories; aliceRead is her read token;
	// bob is another user.
	alice, aliceRead, bob string
	// head is alice/target's main at the start; readme its README.md.
	head, readme string
	// lfsData is the content of alice/target's weights.bin, an LFS file.
	lfsData []byte
	client  *http.Client
}

const (
	hostileReadme = "---\nlicense: mit\n---\n# target\n\nThe repository the hostile suite attacks.\n"
	// hostileHealth is health.txt, the file the health check reads and
	// no case writes.
	hostileHealth = "healthy\n"
	// hostileRange is range.txt, the regular file of the Range cases.
	hostileRange = "0123456789abcdefghijklmnopqrstuvwxyz\n"
)

func newHostile(t *testing.T) *hx {
	data := t.TempDir()
	h := StartHub(t, HubOptions{StoreArgs: []string{"--data", data}, ServeArgs: []string{
		"--rate-limit-anon", "off", "--rate-limit-user", "off",
		"--read-header-timeout", "2s", "--body-idle-timeout", "2s", "--write-idle-timeout", "5s",
		"--multipart-threshold", "5MiB", "--multipart-chunk", "5MiB", "--max-lfs-file", "64MiB",
		"--max-regular-file", "1MiB", "--lfs-threshold", "1MiB", "--max-commit-bytes", "4MiB",
		"--max-push-size", "16MiB",
	}})
	e := &hx{t: t, h: h, data: data, client: &http.Client{Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	e.alice = h.Admin(t, "user", "add", "alice", "--email", "alice@example.org")
	e.aliceRead = h.Admin(t, "token", "add", "alice", "--read")
	e.bob = h.Admin(t, "user", "add", "bob")
	for _, repo := range []struct {
		name    string
		private bool
	}{{"target", false}, {"locked", true}} {
		e.mustOK(call{method: "POST", path: "/api/repos/create", token: e.alice,
			body: jsonBody(map[string]any{"name": repo.name, "organization": "alice", "private": repo.private})})
	}
	e.lfsData = bytes.Repeat([]byte("hostile lfs content\n"), 4000)
	oid := e.uploadLFS("alice/target", e.lfsData)
	e.mustOK(call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.alice, body: ndjson(
		header("seed"), hfile("README.md", hostileReadme), hfile("dir/a.txt", "a\n"), hfile("dir/sub/b.txt", "b\n"),
		hfile("health.txt", hostileHealth), hfile("range.txt", hostileRange),
		lfsOp("weights.bin", oid, int64(len(e.lfsData))))})
	e.mustOK(call{method: "POST", path: "/api/models/alice/locked/commit/main", token: e.alice, body: ndjson(
		header("seed"), hfile("secret.txt", "locked secret\n"))})
	e.head = e.headOf("alice/target")
	e.readme = hostileReadme
	return e
}

func (e *hx) do(c call) reply {
	e.t.Helper()
	var body io.Reader
	switch {
	case c.stream != nil:
		body = c.stream
	case c.body != nil:
		body = bytes.NewReader(c.body)
	}
	u := c.path
	if !strings.HasPrefix(u, "http") {
		u = e.h.URL + c.path
	}
	req, err := http.NewRequestWithContext(e.t.Context(), c.method, u, body)
	if err != nil {
		return reply{err: err}
	}
	if c.stream != nil && c.length > 0 {
		req.ContentLength = c.length
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.basic != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("git:"+c.basic)))
	}
	for i := 0; i+1 < len(c.hdr); i += 2 {
		if strings.EqualFold(c.hdr[i], "Host") {
			req.Host = c.hdr[i+1]
			continue
		}
		req.Header.Set(c.hdr[i], c.hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return reply{status: resp.StatusCode, hdr: resp.Header, body: b, err: err}
}

func (e *hx) mustOK(c call) reply {
	e.t.Helper()
	r := e.do(c)
	if r.err != nil || r.status != http.StatusOK {
		e.t.Fatalf("%s %s: %d %v %s", c.method, c.path, r.status, r.err, r.body)
	}
	return r
}

func (e *hx) headOf(repo string) string {
	e.t.Helper()
	var refs struct {
		Branches []struct {
			Name         string `json:"name"`
			TargetCommit string `json:"targetCommit"`
		} `json:"branches"`
	}
	r := e.mustOK(call{method: "GET", path: "/api/models/" + repo + "/refs", token: e.alice})
	if err := json.Unmarshal(r.body, &refs); err != nil {
		e.t.Fatal(err)
	}
	for _, b := range refs.Branches {
		if b.Name == "main" {
			return b.TargetCommit
		}
	}
	e.t.Fatalf("%s has no main: %s", repo, r.body)
	return ""
}

// uploadLFS uploads content to repo through the batch API (basic
// transfer) and returns its oid.
func (e *hx) uploadLFS(repo string, content []byte) string {
	e.t.Helper()
	oid := sha256hex(content)
	b := e.batch(repo, e.alice, "upload", []string{"basic"}, oid, int64(len(content)))
	if href := b.href("upload"); href != "" {
		e.mustOK(call{method: "PUT", path: href, body: content})
	}
	return oid
}

// batchReply is the part of an LFS batch answer the suite reads.
type batchReply struct {
	Objects []struct {
		OID     string `json:"oid"`
		Actions map[string]struct {
			Href   string            `json:"href"`
			Header map[string]string `json:"header"`
		} `json:"actions"`
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	} `json:"objects"`
}

func (b batchReply) href(action string) string {
	if len(b.Objects) == 0 {
		return ""
	}
	return b.Objects[0].Actions[action].Href
}

func (e *hx) batch(repo, token, op string, transfers []string, oid string, size int64) batchReply {
	e.t.Helper()
	r := e.mustOK(e.batchCall(repo, token, op, transfers, oid, size))
	var b batchReply
	if err := json.Unmarshal(r.body, &b); err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *hx) batchCall(repo, token, op string, transfers []string, oid string, size int64) call {
	return call{method: "POST", path: "/" + repo + ".git/info/lfs/objects/batch", token: token,
		hdr:  []string{"Accept", "application/vnd.git-lfs+json", "Content-Type", "application/vnd.git-lfs+json"},
		body: jsonBody(map[string]any{"operation": op, "transfers": transfers, "objects": []map[string]any{{"oid": oid, "size": size}}})}
}

// healthy checks the server answers its health check and a normal read.
func (e *hx) healthy() {
	e.t.Helper()
	if r := e.do(call{method: "GET", path: "/healthz"}); r.err != nil || r.status != 200 {
		e.t.Fatalf("healthz: %d %v", r.status, r.err)
	}
	r := e.do(call{method: "GET", path: "/alice/target/resolve/main/health.txt"})
	if r.err != nil || r.status != 200 || string(r.body) != hostileHealth {
		e.t.Fatalf("normal read: %d %v %.200q", r.status, r.err, r.body)
	}
}

// hubState is what a refused request must not change: the refs of the
// suite's repositories and the set of stored LFS objects.
type hubState struct {
	refs map[string]string
	lfs  []string
}

func (e *hx) state() hubState {
	e.t.Helper()
	s := hubState{refs: map[string]string{}}
	for _, repo := range []string{"alice/target", "alice/locked"} {
		r := e.do(call{method: "GET", path: "/api/models/" + repo + "/refs?include_prs=1", token: e.alice})
		if r.err != nil || r.status != 200 {
			e.t.Fatalf("refs of %s: %d %v", repo, r.status, r.err)
		}
		s.refs[repo] = string(r.body)
	}
	fs.WalkDir(os.DirFS(e.data), "blobs/objects", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			s.lfs = append(s.lfs, d.Name())
		}
		return nil
	})
	slices.Sort(s.lfs)
	return s
}

func (s hubState) diff(now hubState) string {
	var b strings.Builder
	for repo, refs := range s.refs {
		if now.refs[repo] != refs {
			fmt.Fprintf(&b, "refs of %s: %s\n  now %s\n", repo, refs, now.refs[repo])
		}
	}
	if !slices.Equal(s.lfs, now.lfs) {
		fmt.Fprintf(&b, "LFS objects: %v\n  now %v\n", s.lfs, now.lfs)
	}
	return b.String()
}

// noLeftovers checks nothing half-written stays in the blob store: no
// temporary object and no partial part of a multipart upload.
func (e *hx) noLeftovers() {
	e.t.Helper()
	// The server may still be cleaning up after a client that went away:
	// give it a moment before calling it a leftover.
	deadline := time.Now().Add(3 * time.Second)
	for {
		tmp, _ := os.ReadDir(filepath.Join(e.data, "blobs", "tmp"))
		parts, _ := fs.Glob(os.DirFS(e.data), "blobs/uploads/*/.*")
		if len(tmp) == 0 && len(parts) == 0 {
			return
		}
		if time.Now().After(deadline) {
			var names []string
			for _, d := range tmp {
				names = append(names, d.Name())
			}
			e.t.Errorf("left in the blob store: tmp %v, partial parts %v", names, parts)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oracle clones every repository of alice with the real git.
func (e *hx) oracle() {
	gitOracle(e.t, e.h.URL, e.alice, "alice")
}

// gitOracle clones every model of the namespaces the token may see with
// the real git, refusing bad objects on the way in
// (transfer.fsckObjects), and runs git fsck --strict on each clone:
// whatever the hub accepted must be something git accepts.
func gitOracle(t *testing.T, hubURL, token string, namespaces ...string) {
	t.Helper()
	var repos []string
	for _, ns := range namespaces {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", hubURL+"/api/models?author="+ns+"&limit=1000", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var list []struct {
			ID string `json:"id"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("listing %s: %d %v", ns, resp.StatusCode, err)
		}
		for _, m := range list {
			repos = append(repos, m.ID)
		}
	}
	if len(repos) == 0 {
		t.Fatal("no repository to check")
	}
	gitCheck(t, hubURL, token, repos)
}

// gitCheck clones repos with transfer.fsckObjects and runs git fsck
// --strict on each clone.
func gitCheck(t *testing.T, hubURL, token string, repos []string) {
	t.Helper()
	git := testenv.MustHaveExecPath(t, "git")
	dir := t.TempDir()
	basic := base64.StdEncoding.EncodeToString([]byte("git:" + token))
	for i, repo := range repos {
		dst := filepath.Join(dir, fmt.Sprint(i))
		run := func(args ...string) {
			t.Helper()
			cmd := exec.CommandContext(t.Context(), git, args...)
			cmd.Env = append(os.Environ(), "HOME="+dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
				"GIT_TERMINAL_PROMPT=0", "GIT_LFS_SKIP_SMUDGE=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("git %s (%s): %v\n%s", strings.Join(args[len(args)-3:], " "), repo, err, out)
			}
		}
		run("-c", "http.extraHeader=Authorization: Basic "+basic, "-c", "transfer.fsckObjects=true",
			"clone", "--mirror", "--quiet", hubURL+"/"+repo+".git", dst)
		run("-C", dst, "fsck", "--strict", "--no-dangling")
	}
	t.Logf("git fsck --strict oracle: %d repositories cloned with transfer.fsckObjects and checked", len(repos))
}

// ---- request bodies

func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// ndjson joins commit lines; a line given as string or []byte is sent
// as is (for malformed lines).
func ndjson(lines ...any) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		switch v := l.(type) {
		case string:
			b.WriteString(v)
		case []byte:
			b.Write(v)
		default:
			b.Write(jsonBody(v))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func header(summary string) map[string]any {
	return map[string]any{"key": "header", "value": map[string]any{"summary": summary}}
}

func hfile(path, content string) map[string]any {
	return map[string]any{"key": "file", "value": map[string]any{"path": path, "content": base64.StdEncoding.EncodeToString([]byte(content)), "encoding": "base64"}}
}

func lfsOp(path, oid string, size int64) map[string]any {
	return map[string]any{"key": "lfsFile", "value": map[string]any{"path": path, "algo": "sha256", "oid": oid, "size": size}}
}

func deleteOp(path string) map[string]any {
	return map[string]any{"key": "deletedFile", "value": map[string]any{"path": path}}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// commitCall commits lines to alice/target's main with alice's token.
func (e *hx) commitCall(lines ...any) call {
	return call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.alice,
		hdr: []string{"Content-Type", "application/x-ndjson"}, body: ndjson(lines...)}
}
