package hubapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/modelsig"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
)

type env struct {
	t     *testing.T
	url   string
	alice string // write token
	bob   string
	store meta.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m, b := storetest.Local(t)
	lg := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := hub.DefaultConfig()
	cfg.LFSThreshold, cfg.MaxRegularFile = 1<<10, 1<<20
	svc, err := hub.New(t.Context(), lg, cfg, m, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(hubapi.New(lg, srv, svc, hubapi.Config{}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, url: ts.URL, store: m}
	tok := func(name string) string {
		u := &meta.User{Name: name}
		if err := m.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		s := auth.NewTokenSecret()
		if err := m.CreateToken(t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(s), Role: meta.RoleWrite}); err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	e.alice, e.bob = tok("alice"), tok("bob")
	return e
}

type resp struct {
	status int
	h      http.Header
	body   []byte
}

func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, data}
}

func (e *env) mustOK(r resp) resp {
	e.t.Helper()
	if r.status != 200 {
		e.t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r
}

func ndjson(lines ...any) string {
	var b strings.Builder
	for _, l := range lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func header(summary, parent string) map[string]any {
	v := map[string]any{"summary": summary, "description": ""}
	if parent != "" {
		v["parentCommit"] = parent
	}
	return map[string]any{"key": "header", "value": v}
}

func file(path, content string) map[string]any {
	return map[string]any{"key": "file", "value": map[string]any{"path": path, "content": base64.StdEncoding.EncodeToString([]byte(content)), "encoding": "base64"}}
}

func (e *env) createModel(name string) string {
	e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": name, "organization": "alice"}))
	var info struct{ Sha string }
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models/alice/"+name, "", nil)).body, &info)
	return info.Sha
}

func TestErrorHeaders(t *testing.T) {
	e := newEnv(t)
	sha := e.createModel("m")
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("add", ""), file("a.txt", "hello"))))
	_ = sha
	cases := []struct {
		name, method, path, token string
		status                    int
		code                      string
	}{
		{"missing repo info", "GET", "/api/models/alice/nope", "", 404, "RepoNotFound"},
		{"missing repo resolve HEAD", "HEAD", "/alice/nope/resolve/main/a.txt", "", 404, "RepoNotFound"},
		{"missing revision", "HEAD", "/alice/m/resolve/nope/a.txt", "", 404, "RevisionNotFound"},
		{"missing file", "HEAD", "/alice/m/resolve/main/b.txt", "", 404, "EntryNotFound"},
		{"folder is not a file", "GET", "/alice/m/resolve/main/", "", 404, "EntryNotFound"},
		{"missing tree path", "GET", "/api/models/alice/m/tree/main/nodir", "", 404, "EntryNotFound"},
		{"tree of a file", "GET", "/api/models/alice/m/tree/main/a.txt", "", 404, "EntryNotFound"},
		{"missing revision info", "GET", "/api/models/alice/m/revision/nope", "", 404, "RevisionNotFound"},
		{"bad token", "GET", "/api/models/alice/m", "hf_bogusbogusbogusbogusbogusbogusbogus", 401, ""},
		{"whoami anonymous", "GET", "/api/whoami-v2", "", 401, ""},
		{"commit by other user", "POST", "/api/models/alice/m/commit/main", "bob", 403, ""},
		{"unknown route", "GET", "/api/nothing-here", "", 404, ""},
		{"spaces", "GET", "/api/spaces", "", 501, ""},
		{"xet", "GET", "/api/models/alice/m/xet-write-token/main", "alice", 501, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token
			switch tok {
			case "alice":
				tok = e.alice
			case "bob":
				tok = e.bob
			}
			var body any
			if tc.method == "POST" {
				body = ndjson(header("x", ""), file("z.txt", "z"))
			}
			r := e.do(tc.method, tc.path, tok, body)
			if r.status != tc.status || r.h.Get("X-Error-Code") != tc.code {
				t.Fatalf("got %d %q, want %d %q (%s)", r.status, r.h.Get("X-Error-Code"), tc.status, tc.code, r.body)
			}
			if r.h.Get("X-Error-Message") == "" {
				t.Fatal("no X-Error-Message")
			}
			if tc.method != "HEAD" && !strings.HasPrefix(r.h.Get("Content-Type"), "application/json") {
				t.Fatalf("error body is %q", r.h.Get("Content-Type"))
			}
		})
	}
	// EntryNotFound carries the commit it was looked up in.
	r := e.do("HEAD", "/alice/m/resolve/main/b.txt", "", nil)
	if len(r.h.Get("X-Repo-Commit")) != 40 {
		t.Fatalf("EntryNotFound without X-Repo-Commit: %v", r.h)
	}
}

func TestResolveHeadersAndRanges(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	content := "0123456789"
	c := e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("add", ""), file("dir/f.txt", content), file("empty.txt", ""))))
	var cr struct{ CommitOid string }
	json.Unmarshal(c.body, &cr)
	blobID := gitBlob([]byte(content))

	h := e.do("HEAD", "/alice/m/resolve/main/dir/f.txt", "", nil, "Accept-Encoding", "identity")
	if h.status != 200 || h.h.Get("X-Repo-Commit") != cr.CommitOid || h.h.Get("ETag") != `"`+blobID+`"` ||
		h.h.Get("Content-Length") != "10" || h.h.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("HEAD headers: %d %v", h.status, h.h)
	}
	// The revision may come encoded, with slashes in the path encoded too.
	if r := e.do("GET", "/alice/m/resolve/"+cr.CommitOid+"/dir%2Ff.txt", "", nil); r.status != 200 || string(r.body) != content {
		t.Fatalf("by commit: %d %q", r.status, r.body)
	}
	ranges := []struct {
		rng, want, cr string
		status        int
	}{
		{"bytes=0-0", "0", "bytes 0-0/10", 206},
		{"bytes=2-4", "234", "bytes 2-4/10", 206},
		{"bytes=7-", "789", "bytes 7-9/10", 206},
		{"bytes=-3", "789", "bytes 7-9/10", 206},
		{"bytes=8-100", "89", "bytes 8-9/10", 206},
		{"bytes=20-30", "", "bytes */10", 416},
	}
	for _, rg := range ranges {
		r := e.do("GET", "/alice/m/resolve/main/dir/f.txt", "", nil, "Range", rg.rng)
		if r.status != rg.status || string(r.body) != rg.want && rg.status == 206 || r.h.Get("Content-Range") != rg.cr {
			t.Errorf("Range %s: %d %q %q", rg.rng, r.status, r.body, r.h.Get("Content-Range"))
		}
	}
	if r := e.do("GET", "/alice/m/resolve/main/dir/f.txt", "", nil, "If-None-Match", `"`+blobID+`"`); r.status != 304 {
		t.Errorf("If-None-Match: %d", r.status)
	}
	// Empty files answer the JS client's probe with a size of 0.
	r := e.do("GET", "/alice/m/resolve/main/empty.txt", "", nil, "Range", "bytes=0-0")
	if r.status != 200 || r.h.Get("Content-Range") != "bytes */0" || len(r.body) != 0 {
		t.Errorf("empty file: %d %v", r.status, r.h)
	}
	// Datasets live under /datasets.
	e.mustOK(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": "d", "organization": "alice", "type": "dataset"}))
	e.mustOK(e.do("POST", "/api/datasets/alice/d/commit/main", e.alice, ndjson(header("add", ""), file("x.csv", "a,b\n"))))
	if r := e.do("GET", "/datasets/alice/d/resolve/main/x.csv", "", nil); r.status != 200 || string(r.body) != "a,b\n" {
		t.Errorf("dataset resolve: %d %q", r.status, r.body)
	}
	if r := e.do("GET", "/alice/d/resolve/main/x.csv", "", nil); r.status != 404 {
		t.Errorf("a dataset found as a model: %d", r.status)
	}
}

func gitBlob(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func TestCommitBadInput(t *testing.T) {
	e := newEnv(t)
	sha := e.createModel("m")
	cases := []struct {
		name   string
		body   string
		status int
	}{
		{"not json", "nope\n", 400},
		{"no header", ndjson(file("a", "b")), 400},
		{"two headers", ndjson(header("a", ""), header("b", ""), file("a", "b")), 400},
		{"unknown key", ndjson(header("a", ""), map[string]any{"key": "copy", "value": map[string]any{}}), 400},
		{"bad base64", ndjson(header("a", ""), map[string]any{"key": "file", "value": map[string]any{"path": "a", "content": "!!!", "encoding": "base64"}}), 400},
		{"dotdot path", ndjson(header("a", ""), file("../etc/passwd", "x")), 422},
		{"git path", ndjson(header("a", ""), file(".git/hooks/pre-commit", "x")), 422},
		{"stale parent", ndjson(header("a", strings.Repeat("0", 40)), file("a", "b")), 412},
		{"bad parent", ndjson(header("a", "zz"), file("a", "b")), 400},
		{"lfs not uploaded", ndjson(header("a", ""), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": strings.Repeat("a", 64), "size": 3}}), 400},
		{"delete missing", ndjson(header("a", ""), map[string]any{"key": "deletedFile", "value": map[string]any{"path": "nope"}}), 404},
		{"too large line", ndjson(header("a", ""), file("big", strings.Repeat("x", 2<<20))), 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/models/alice/m/commit/main", e.alice, tc.body, "Content-Type", "application/x-ndjson")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	var info struct{ Sha string }
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models/alice/m", "", nil)).body, &info)
	if info.Sha != sha {
		t.Fatal("a rejected commit changed the repository")
	}
	// The JS client joins lines without a trailing newline; utf-8 encoding.
	body := `{"key":"header","value":{"summary":"js"}}` + "\n" + `{"key":"file","value":{"path":"t.txt","content":"plain","encoding":"utf-8"}}`
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, body))
	if r := e.do("GET", "/alice/m/raw/main/t.txt", "", nil); string(r.body) != "plain" {
		t.Fatalf("utf-8 content: %q", r.body)
	}
}

func TestLFSBatchShapes(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	data := bytes.Repeat([]byte("w"), 5000)
	sum := sha256.Sum256(data)
	oid := hex.EncodeToString(sum[:])
	req := map[string]any{"operation": "upload", "transfers": []string{"basic", "multipart"}, "hash_algo": "sha_256",
		"objects": []map[string]any{{"oid": oid, "size": len(data)}, {"oid": "bad", "size": 1}}}
	r := e.mustOK(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice, req, "Content-Type", "application/vnd.git-lfs+json"))
	var out struct {
		Transfer string
		Objects  []struct {
			OID     string
			Size    int64
			Actions map[string]struct{ Href string }
			Error   *struct{ Code int }
		}
	}
	json.Unmarshal(r.body, &out)
	if out.Transfer != "basic" || len(out.Objects) != 2 || out.Objects[0].OID != oid || out.Objects[1].Error == nil {
		t.Fatalf("batch answer %s", r.body)
	}
	href := out.Objects[0].Actions["upload"].Href
	if !strings.HasPrefix(href, e.url+"/api/lfs/upload/") {
		t.Fatalf("upload href %q", href)
	}
	// The PUT needs no credentials: the URL is signed.
	put := e.do("PUT", strings.TrimPrefix(href, e.url), "", data)
	if put.status != 200 {
		t.Fatalf("PUT: %d %s", put.status, put.body)
	}
	// Already stored: no "actions" key at all.
	r = e.mustOK(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice, req))
	var raw struct{ Objects []map[string]json.RawMessage }
	json.Unmarshal(r.body, &raw)
	if _, has := raw.Objects[0]["actions"]; has {
		t.Fatalf("stored object still has actions: %s", r.body)
	}
	// Anonymous upload batch is refused; a tampered URL too.
	if r := e.do("POST", "/alice/m.git/info/lfs/objects/batch", "", req); r.status != 401 {
		t.Fatalf("anonymous batch: %d", r.status)
	}
	if r := e.do("PUT", strings.TrimPrefix(href, e.url)+"x", "", data); r.status != 403 {
		t.Fatalf("tampered PUT: %d", r.status)
	}
	lfs := map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)}}
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("w", ""), lfs)))
	g := e.do("GET", "/alice/m/resolve/main/w.bin", "", nil, "Range", "bytes=0-0")
	if g.status != 206 || g.h.Get("Content-Range") != "bytes 0-0/5000" || g.h.Get("X-Linked-Etag") != `"`+oid+`"` || g.h.Get("X-Linked-Size") != "5000" {
		t.Fatalf("LFS resolve: %d %v", g.status, g.h)
	}
}

func TestRenamedRepoRedirects(t *testing.T) {
	e := newEnv(t)
	e.createModel("old")
	e.mustOK(e.do("POST", "/api/repos/move", e.alice, map[string]any{"fromRepo": "alice/old", "toRepo": "alice/new", "type": "model"}))
	r := e.do("HEAD", "/alice/old/resolve/main/.gitattributes", "", nil)
	if r.status != 307 || r.h.Get("Location") != "/alice/new/resolve/main/.gitattributes" {
		t.Fatalf("resolve redirect: %d %q", r.status, r.h.Get("Location"))
	}
	r = e.do("GET", "/api/models/alice/old?blobs=true", "", nil)
	if r.status != 307 || r.h.Get("Location") != "/api/models/alice/new?blobs=true" {
		t.Fatalf("info redirect: %d %q", r.status, r.h.Get("Location"))
	}
}

func TestPathsInfoFormAndJSON(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("a", ""), file("a/b.txt", "x"))))
	form := e.mustOK(e.do("POST", "/api/models/alice/m/paths-info/main", "", "paths=a%2Fb.txt&paths=a&paths=missing&expand=true",
		"Content-Type", "application/x-www-form-urlencoded"))
	js := e.mustOK(e.do("POST", "/api/models/alice/m/paths-info/main", "", map[string]any{"paths": []string{"a/b.txt", "a", "missing"}, "expand": true},
		"Content-Type", "application/json"))
	for _, r := range []resp{form, js} {
		var ents []struct {
			Type, Path, OID string
			LastCommit      *struct{ ID string }
		}
		json.Unmarshal(r.body, &ents)
		if len(ents) != 2 || ents[0].Type != "file" || ents[1].Type != "directory" || ents[0].LastCommit == nil || ents[1].OID == "" {
			t.Fatalf("paths-info: %s", r.body)
		}
	}
}

// TestDownloadsCannotRunScript: user files are served with a sandboxing
// CSP so that an uploaded page never runs on the hub's origin.
func TestDownloadsCannotRunScript(t *testing.T) {
	e := newEnv(t)
	e.createModel("m")
	e.mustOK(e.do("POST", "/api/models/alice/m/commit/main", e.alice, ndjson(header("x", ""), file("evil.html", "<script>alert(1)</script>"))))
	for _, p := range []string{"/alice/m/resolve/main/evil.html", "/alice/m/raw/main/evil.html"} {
		r := e.do("GET", p, "", nil)
		if r.h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" || r.h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %v", p, r.h)
		}
	}
}

// TestSignatureInModelInfo registers a key through the API, commits a
// signed model and reads the Agora "signature" field of model info.
func TestSignatureInModelInfo(t *testing.T) {
	e := newEnv(t)
	e.createModel("signed")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	e.mustOK(e.do("POST", "/api/settings/signing-keys", e.alice, map[string]any{"name": "ci", "key": pemKey}))
	if r := e.do("POST", "/api/settings/signing-keys", "", map[string]any{"name": "ci", "key": pemKey}); r.status != 401 {
		t.Fatalf("anonymous key registration: %d", r.status)
	}
	var keys []map[string]any
	json.Unmarshal(e.mustOK(e.do("GET", "/api/users/alice/signing-keys", "", nil)).body, &keys)
	if len(keys) != 1 || keys[0]["name"] != "ci" || keys[0]["hint"] == "" {
		t.Fatalf("keys %v", keys)
	}
	sum := sha256.Sum256([]byte("weights"))
	sig, err := modelsig.Sign(map[string]string{"w.txt": hex.EncodeToString(sum[:])}, "signed", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.mustOK(e.do("POST", "/api/models/alice/signed/commit/main", e.alice, ndjson(header("sign", ""), file("w.txt", "weights"), file("model.sig", string(sig)))))
	var info struct {
		Signature map[string]any
		Tags      []string
	}
	json.Unmarshal(e.mustOK(e.do("GET", "/api/models/alice/signed", "", nil)).body, &info)
	if info.Signature["status"] != "verified" || info.Signature["signer"] != "user:alice" || !slices.Contains(info.Tags, "signed") {
		t.Fatalf("signature %v tags %v", info.Signature, info.Tags)
	}
}
