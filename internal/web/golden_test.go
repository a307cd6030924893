package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/formats/gguf"
	"github.com/agorahub/agora/internal/formats/safetensors"
	"github.com/agorahub/agora/internal/hub"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// lfsFile uploads content as an LFS object and commits it at path.
func (e *env) lfsFile(who *auth.Identity, ref hub.RepoRef, path string, content []byte) {
	e.t.Helper()
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])
	acts, err := e.svc.LFSBatch(e.t.Context(), who, ref, "upload", []hub.LFSObject{{OID: oid, Size: int64(len(content))}}, nil)
	if err != nil || len(acts) != 1 || acts[0].Upload == nil {
		e.t.Fatalf("lfs batch: %v %+v", err, acts)
	}
	if err := e.svc.UploadLFS(e.t.Context(), acts[0].Upload.Token, int64(len(content)), bytes.NewReader(content)); err != nil {
		e.t.Fatal(err)
	}
	_, err = e.svc.Commit(e.t.Context(), who, ref, hub.CommitRequest{Revision: "main", Summary: "Upload " + path,
		Ops: []hub.CommitOp{{Kind: hub.OpLFSFile, Path: path, OID: oid, Size: int64(len(content))}}})
	if err != nil {
		e.t.Fatal(err)
	}
}

const tinyCard = `---
license: apache-2.0
language:
- en
- fr
library_name: transformers
pipeline_tag: text-generation
tags:
- chat
datasets:
- alice/corpus
---
# Tiny Llama

A small model for **tests**. See the [license](LICENSE) and the
[upstream project](https://example.org/llama).

![architecture](images/arch.png)

| Benchmark | Score |
|-----------|------:|
| toy-qa    | 42.0  |

` + "```python\nprint(\"hello\")\n```\n"

// fixture fills a hub with deterministic content: alice's model (card,
// config, a nested image, an LFS weight file) and dataset, a private
// model, and bob's finetune of alice's model.
func fixture(t testing.TB) (*env, *auth.Identity, *auth.Identity) {
	e := newEnv(t)
	alice := e.user("alice", "", false)
	bob := e.user("bob", "", false)
	model := e.repo(alice, hub.TypeModel, "alice", "tiny-llama", false,
		"README.md", tinyCard,
		"config.json", `{"architectures":["LlamaForCausalLM"],"model_type":"llama"}`+"\n",
		"images/arch.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"LICENSE", "Apache License 2.0\n")
	e.lfsFile(alice, model, "weights.bin", bytes.Repeat([]byte("w"), 4096))
	// Weights whose headers the hub reads: parameters and tensor types
	// from safetensors, architecture and context length from GGUF.
	var st, gg bytes.Buffer
	if err := safetensors.Write(&st, []safetensors.TensorSpec{
		{Name: "embed.weight", Dtype: safetensors.F32, Shape: []int64{64, 32}},
		{Name: "norm.weight", Dtype: safetensors.BF16, Shape: []int64{32}},
	}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	e.lfsFile(alice, model, "model.safetensors", st.Bytes())
	if err := gguf.Write(&gg, []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "llama.context_length", Value: gguf.Uint32(4096)},
	}, []gguf.TensorInfo{{Name: "token_embd.weight", Shape: []uint64{16, 4}, Type: gguf.F32}}, nil); err != nil {
		t.Fatal(err)
	}
	e.lfsFile(alice, model, "tiny-llama-q4.gguf", gg.Bytes())
	e.repo(alice, hub.TypeDataset, "alice", "corpus", false,
		"README.md", "---\nlicense: cc-by-4.0\n---\n# Corpus\n\nSentences.\n",
		"data/train.csv", "text,label\nhello,1\n")
	e.repo(alice, hub.TypeModel, "alice", "secret-model", true, "README.md", "# Secret\n")
	e.repo(bob, hub.TypeModel, "bob", "tiny-llama-chat", false,
		"README.md", "---\nbase_model: alice/tiny-llama\nbase_model_relation: finetune\n---\n# Chat\n")
	return e, alice, bob
}

// masks hide what changes from run to run: times, commit ids (they
// include commit times), the form tokens (signed with a random key).
var masks = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`<time datetime="[^"]*" title="[^"]*">[^<]*</time>`), `<time>TIME</time>`},
	{regexp.MustCompile(`\b[0-9a-f]{40}\b`), `COMMIT`},
	{regexp.MustCompile(`<code class="oid">[0-9a-f]{7}</code>`), `<code class="oid">SHORT</code>`},
	{regexp.MustCompile(`name="csrf" value="[^"]*"`), `name="csrf" value="CSRF"`},
	{regexp.MustCompile(`\?v=[0-9a-f]{12}`), `?v=VERSION`},
}

func mask(s string) string {
	for _, m := range masks {
		s = m.re.ReplaceAllString(s, m.repl)
	}
	return s
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	got = mask(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got; run with -update if intended):\n%s", path, diff)
	}
}

func TestGoldenPages(t *testing.T) {
	t.Parallel()
	e, alice, _ := fixture(t)
	anon := e.browser()
	signedIn := e.browser()
	signedIn.as(alice)
	r := signedIn.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"ci"}, "role": {"write"}})
	if r.status != 200 {
		t.Fatalf("create token: %d\n%s", r.status, r.body)
	}
	for _, tc := range []struct {
		name string
		b    *browser
		path string
	}{
		{"home", anon, "/"},
		{"models", anon, "/models?sort=updated"},
		{"models_filtered", anon, "/models?library=transformers&license=apache-2.0&language=en&pipeline_tag=text-generation"},
		{"datasets", anon, "/datasets"},
		{"repo", anon, "/alice/tiny-llama"},
		{"repo_owner", signedIn, "/alice/tiny-llama"},
		{"repo_child", anon, "/bob/tiny-llama-chat"},
		{"dataset", anon, "/datasets/alice/corpus"},
		{"tree", anon, "/alice/tiny-llama/tree/main"},
		{"tree_dir", anon, "/alice/tiny-llama/tree/main/images"},
		{"blob", anon, "/alice/tiny-llama/blob/main/config.json"},
		{"blob_lfs", anon, "/alice/tiny-llama/blob/main/weights.bin"},
		{"commits", anon, "/alice/tiny-llama/commits/main"},
		{"user", anon, "/alice"},
		{"login", anon, "/login"},
		{"tokens", signedIn, "/settings/tokens"},
		{"new", signedIn, "/new"},
		{"settings", signedIn, "/alice/tiny-llama/settings"},
		{"notfound", anon, "/alice/no-such-model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.b.get(tc.path)
			want := 200
			if tc.name == "notfound" {
				want = 404
			}
			if res.status != want {
				t.Fatalf("GET %s: status %d, want %d\n%s", tc.path, res.status, want, res.body)
			}
			if n := len(res.body); n > 200<<10 {
				t.Errorf("GET %s: %d bytes, want < 200 KB", tc.path, n)
			}
			checkGolden(t, tc.name, res.body)
		})
	}
	// The commit page of the latest commit (the LFS upload).
	t.Run("commit", func(t *testing.T) {
		_, list, _, _ := mustCommits(t, e, "alice", "tiny-llama")
		checkGolden(t, "commit", anon.page("/alice/tiny-llama/commit/"+list[0].ID.String()))
	})
}

func mustCommits(t *testing.T, e *env, ns, name string) (*hub.Repo, []hub.CommitInfo, int, error) {
	t.Helper()
	r, _, list, n, err := e.svc.ListCommits(t.Context(), e.ids[ns], hub.RepoRef{Type: hub.TypeModel, Namespace: ns, Name: name}, "main", 0, 10)
	if err != nil || len(list) == 0 {
		t.Fatalf("list commits: %v", err)
	}
	return r, list, n, err
}

func TestGoldenTokenCreated(t *testing.T) {
	t.Parallel()
	e, alice, _ := fixture(t)
	b := e.browser()
	b.as(alice)
	r := b.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"laptop"}, "role": {"read"}})
	if r.status != 200 {
		t.Fatalf("create token: %d\n%s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token page Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
	secret := regexp.MustCompile(`hf_[A-Za-z0-9]+`).FindString(r.body)
	if secret == "" {
		t.Fatalf("no secret on the page:\n%s", r.body)
	}
	checkGolden(t, "token_created", strings.ReplaceAll(r.body, secret, "hf_SECRET"))
	// The secret works, and is never shown again.
	id, err := e.svc.Authenticate(t.Context(), auth.Secret(secret))
	if err != nil || id.User.Name != "alice" || id.Token.Role != "read" {
		t.Fatalf("new token: %v %+v", err, id)
	}
	if list := b.page("/settings/tokens"); strings.Contains(list, secret) {
		t.Error("the token list shows the secret again")
	}
}
