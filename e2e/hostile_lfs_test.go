package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
)

// jsonBodyCases: JSON bodies of the management API that are malformed,
// huge or deeply nested, or that name what they may not.
func jsonBodyCases(e *hx) []hostile {
	j := func(name, method, path string, status int, body []byte) hostile {
		return hostile{class: "json", name: name, call: call{method: method, path: path, token: e.alice,
			hdr: []string{"Content-Type", "application/json"}, body: body}, status: status}
	}
	deep := []byte(`{"name":"deep","x":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`)
	huge := append([]byte(`{"name":"huge","pad":"`), bytes.Repeat([]byte("h"), 9<<20)...)
	return []hostile{
		j("create: not JSON", "POST", "/api/repos/create", 400, []byte("name=x")),
		j("create: truncated", "POST", "/api/repos/create", 400, []byte(`{"name":"x"`)),
		j("create: name a number", "POST", "/api/repos/create", 400, []byte(`{"name":5}`)),
		j("create: name an array", "POST", "/api/repos/create", 400, []byte(`{"name":["a"]}`)),
		j("create: nesting 200000 deep", "POST", "/api/repos/create", 400, deep),
		j("create: body of 9 MiB", "POST", "/api/repos/create", 413, huge),
		j("create: trailing garbage", "POST", "/api/repos/create", 400, []byte(`{"name":"trailing-garbage"} {"name":"second"}`)),
		j("create: files with a bad path", "POST", "/api/repos/create", 422, jsonBody(map[string]any{"name": "with-files", "files": []map[string]any{{"path": ".git/config", "content": "x", "encoding": "utf-8"}}})),
		j("settings: private a string", "PUT", "/api/models/alice/target/settings", 400, []byte(`{"private":"yes"}`)),
		j("settings: gated sometimes", "PUT", "/api/models/alice/target/settings", 400, []byte(`{"gated":"sometimes"}`)),
		j("settings: gated a number", "PUT", "/api/models/alice/target/settings", 400, []byte(`{"gated":5}`)),
		j("settings: gated true", "PUT", "/api/models/alice/target/settings", 400, []byte(`{"gated":true}`)),
		j("settings: visibility unknown", "PUT", "/api/models/alice/target/settings", 400, []byte(`{"visibility":"secret"}`)),
		j("settings: nesting 200000 deep", "PUT", "/api/models/alice/target/settings", 400, deep),
		j("settings: not JSON", "PUT", "/api/models/alice/target/settings", 400, []byte("private")),
		j("branch: not JSON", "POST", "/api/models/alice/target/branch/json-branch", 400, []byte("{")),
		j("branch: startingPoint a number", "POST", "/api/models/alice/target/branch/json-branch", 400, []byte(`{"startingPoint":5}`)),
		j("tag: tag a number", "POST", "/api/models/alice/target/tag/main", 400, []byte(`{"tag":5}`)),
		j("tag: no tag", "POST", "/api/models/alice/target/tag/main", 400, []byte(`{}`)),
		j("paths-info: paths a number", "POST", "/api/models/alice/target/paths-info/main", 400, []byte(`{"paths":5}`)),
		j("paths-info: 1001 paths", "POST", "/api/models/alice/target/paths-info/main", 413, jsonBody(map[string]any{"paths": make([]string, 1001)})),
		j("move: to a bad name", "POST", "/api/repos/move", 400, jsonBody(map[string]any{"fromRepo": "alice/target", "toRepo": "alice/../x"})),
		j("move: to another user", "POST", "/api/repos/move", 403, jsonBody(map[string]any{"fromRepo": "alice/target", "toRepo": "bob/target"})),
		{class: "json", name: "move: from a missing repository", call: call{method: "POST", path: "/api/repos/move", token: e.alice,
			body: jsonBody(map[string]any{"fromRepo": "alice/no-such", "toRepo": "alice/other"})}, status: 404, code: "RepoNotFound"},
		j("move: onto an existing repository", "POST", "/api/repos/move", 409, jsonBody(map[string]any{"fromRepo": "alice/target", "toRepo": "alice/locked"})),
		{class: "json", name: "delete: no name", call: call{method: "DELETE", path: "/api/repos/delete", token: e.alice, body: []byte(`{}`)}, status: 404, code: "RepoNotFound"},
		{class: "json", name: "delete: a missing repository", call: call{method: "DELETE", path: "/api/repos/delete", token: e.alice,
			body: jsonBody(map[string]any{"name": "no-such", "organization": "alice"})}, status: 404, code: "RepoNotFound"},
		{class: "json", name: "delete: another user's", call: call{method: "DELETE", path: "/api/repos/delete", token: e.bob,
			body: jsonBody(map[string]any{"name": "target", "organization": "alice"})}, status: 403},
		{class: "json", name: "delete: another user's private", call: call{method: "DELETE", path: "/api/repos/delete", token: e.bob,
			body: jsonBody(map[string]any{"name": "locked", "organization": "alice"})}, status: 404, code: "RepoNotFound"},
		j("signing key: not JSON", "POST", "/api/settings/signing-keys", 400, []byte("ssh-ed25519")),
		j("signing key: garbage key", "POST", "/api/settings/signing-keys", 400, jsonBody(map[string]any{"key": "not a key", "title": "x"})),
		j("signing key: delete a missing one", "DELETE", "/api/settings/signing-keys/999999", 404, nil),
		j("signing key: delete with a bad id", "DELETE", "/api/settings/signing-keys/abc", 404, nil),
		j("validate-yaml: not JSON", "POST", "/api/validate-yaml", 400, []byte("{")),
		j("access request: bad body", "POST", "/api/models/alice/target/user-access-request/handle", 400, []byte("{")),
		{class: "json", name: "access request: on a repository not gated", call: call{method: "POST", path: "/api/models/alice/target/user-access-request/grant", token: e.alice,
			body: jsonBody(map[string]any{"user": "bob"})}, status: 400, code: "RepoNotGated"},
	}
}

// cardCases: README metadata bombs, at commit time and through
// validate-yaml (the YAML parser is the one decompression-like expansion
// the hub runs on user text).
func cardCases(e *hx) []hostile {
	laughs := "---\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		laughs += n + ": &" + n + " [" + strings.Repeat("*"+prev+",", 8) + "*" + prev + "]\n"
		prev = n
	}
	laughs += "---\n# bomb\n"
	nested := "---\nx: " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n---\n"
	indented := "---\n"
	for i := range 5000 {
		indented += strings.Repeat(" ", i%200) + "k:\n"
	}
	indented += "---\n"
	// validate-yaml refuses what does not parse and what breaks the
	// Hub's schema; a commit refuses only the latter and keeps a README
	// whose front matter is not YAML at all (hub.checkCardMetadata: the
	// README of an imported repository must not be lost), showing the
	// error on its page. Either way the bomb must not hurt the server.
	cards := []struct {
		name, content      string
		status, commitWant int
	}{
		{"billion laughs", laughs, 400, 200},
		{"flow nesting 100000 deep", nested, 400, 200},
		{"invalid YAML", "---\nlicense: [mit\n---\n", 400, 200},
		{"front matter a list", "---\n- a\n- b\n---\n", 400, 200},
		{"license a number", "---\nlicense: 5\n---\n", 400, 400},
		{"tags a mapping", "---\ntags: {a: b}\n---\n", 400, 400},
		{"unterminated front matter", "---\nlicense: mit\n", 200, 200},
		{"keys repeated", "---\nlicense: mit\nlicense: mit\n---\n", 400, 200},
		{"900 KB of front matter", "---\nlicense: mit\ndescription: \"" + strings.Repeat("d", 900<<10) + "\"\n---\n", 200, 200},
		{"deep block indentation", indented, 400, 200},
		{"anchor cycle", "---\na: &a\n  b: *a\n---\n", 400, 200},
		{"tab indentation", "---\nlicense:\n\t- mit\n---\n", 400, 200},
	}
	var out []hostile
	for _, c := range cards {
		out = append(out, hostile{class: "card", name: "validate-yaml " + c.name, call: call{method: "POST", path: "/api/validate-yaml", token: e.alice,
			hdr: []string{"Content-Type", "application/json"}, body: jsonBody(map[string]any{"content": c.content, "repoType": "model"})}, status: c.status})
		// The root README is the repository's card: checked at commit,
		// and parsed again for the repository's info.
		out = append(out, hostile{class: "card", name: "commit " + c.name, run: func(e *hx) reply {
			r := e.do(e.commitCall(header("card"), hfile("README.md", c.content)))
			if info := e.do(call{method: "GET", path: "/api/models/alice/target", token: e.alice}); info.status != 200 {
				e.t.Errorf("model info after the commit: %d %.200s", info.status, info.body)
			}
			return r
		}, status: c.commitWant, changes: c.commitWant == 200})
	}
	return out
}

// lfsBatchCases: the batch API given what no client sends.
func lfsBatchCases(e *hx) []hostile {
	b := func(name string, status int, want string, body []byte, token string) hostile {
		return hostile{class: "lfs-batch", name: name, call: call{method: "POST", path: "/alice/target.git/info/lfs/objects/batch", token: token,
			hdr: []string{"Accept", "application/vnd.git-lfs+json", "Content-Type", "application/vnd.git-lfs+json"}, body: body}, status: status, want: want}
	}
	obj := func(oid string, size any) map[string]any { return map[string]any{"oid": oid, "size": size} }
	req := func(op string, objs ...map[string]any) []byte {
		return jsonBody(map[string]any{"operation": op, "transfers": []string{"basic"}, "objects": objs})
	}
	okOID := sha256hex([]byte("a new object"))
	many := make([]map[string]any, 10001)
	for i := range many {
		many[i] = obj(sha256hex([]byte(strconv.Itoa(i))), 1)
	}
	tenK := make([]map[string]any, 10000)
	for i := range tenK {
		tenK[i] = obj(strings.Repeat("z", 64), 1)
	}
	return []hostile{
		b("not JSON", 400, "", []byte("operation=upload"), e.alice),
		b("nesting 200000 deep", 400, "", []byte(`{"operation":"upload","objects":`+strings.Repeat("[", 200000)+strings.Repeat("]", 200000)+`}`), e.alice),
		b("unknown operation", 400, "", req("frobnicate", obj(okOID, 1)), e.alice),
		b("no operation", 400, "", jsonBody(map[string]any{"objects": []any{obj(okOID, 1)}}), e.alice),
		b("objects an object", 400, "", []byte(`{"operation":"upload","objects":{"oid":"x"}}`), e.alice),
		b("size a string", 400, "", []byte(`{"operation":"upload","objects":[{"oid":"`+okOID+`","size":"1"}]}`), e.alice),
		b("size a float", 400, "", []byte(`{"operation":"upload","objects":[{"oid":"`+okOID+`","size":1.5}]}`), e.alice),
		b("size past int64", 400, "", []byte(`{"operation":"upload","objects":[{"oid":"`+okOID+`","size":99999999999999999999}]}`), e.alice),
		b("md5", 400, "", jsonBody(map[string]any{"operation": "upload", "hash_algo": "md5", "objects": []any{obj(okOID, 1)}}), e.alice),
		b("oid upper case", 200, `"code":422`, req("upload", obj(strings.ToUpper(okOID), 1)), e.alice),
		b("oid short", 200, `"code":422`, req("upload", obj("abc", 1)), e.alice),
		b("oid with a slash", 200, `"code":422`, req("upload", obj("../../../../etc/passwd"+strings.Repeat("a", 43), 1)), e.alice),
		b("oid empty", 200, `"code":422`, req("upload", obj("", 1)), e.alice),
		b("negative size", 200, `"code":422`, req("upload", obj(okOID, -1)), e.alice),
		b("size over the hub's limit", 200, `"code":422`, req("upload", obj(okOID, 1<<40)), e.alice),
		b("size at int64's end", 200, `"code":422`, req("upload", obj(okOID, int64(1<<63-1))), e.alice),
		b("stored object with another size", 200, `"code":422`, req("upload", obj(sha256hex(e.lfsData), 3)), e.alice),
		b("10001 objects", 413, "", req("upload", many...), e.alice),
		b("10000 bad objects", 200, `"code":422`, req("upload", tenK...), e.alice),
		b("no objects", 200, `"objects":[]`, req("upload"), e.alice),
		b("unknown transfer only", 200, `"transfer":"basic"`, jsonBody(map[string]any{"operation": "upload", "transfers": []string{"carrier-pigeon"}, "objects": []any{obj(okOID, 12)}}), e.alice),
		b("download of a missing object", 200, `"code":404`, req("download", obj(okOID, 12)), e.alice),
		b("download of an object only another repository has", 200, `"code":404`, req("download", obj(sha256hex([]byte("locked lfs")), 10)), e.alice),
		b("upload, anonymous", 401, "", req("upload", obj(okOID, 12)), ""),
		b("upload, read token", 403, "", req("upload", obj(okOID, 12)), e.aliceRead),
		b("upload, other user", 403, "", req("upload", obj(okOID, 12)), e.bob),
		b("upload, bad token", 401, "", req("upload", obj(okOID, 12)), "hf_forged"),
		{class: "lfs-batch", name: "private repository, other user", call: call{method: "POST", path: "/alice/locked.git/info/lfs/objects/batch", token: e.bob,
			body: req("download", obj(okOID, 12))}, status: 404, code: "RepoNotFound"},
		{class: "lfs-batch", name: "private repository, anonymous", call: call{method: "POST", path: "/alice/locked.git/info/lfs/objects/batch",
			body: req("download", obj(okOID, 12))}, status: 404, code: "RepoNotFound"},
		{class: "lfs-batch", name: "missing repository", call: call{method: "POST", path: "/alice/no-such.git/info/lfs/objects/batch", token: e.alice,
			body: req("download", obj(okOID, 12))}, status: 404, code: "RepoNotFound"},
		{class: "lfs-batch", name: "verify of an object never sent", call: call{method: "POST", path: "/alice/target.git/info/lfs/verify", token: e.alice,
			body: jsonBody(obj(okOID, 12))}, status: 404, code: "EntryNotFound"},
		{class: "lfs-batch", name: "verify with a wrong size", call: call{method: "POST", path: "/alice/target.git/info/lfs/verify", token: e.alice,
			body: jsonBody(obj(sha256hex(e.lfsData), 1))}, status: 400},
		{class: "lfs-batch", name: "locks", call: call{method: "POST", path: "/alice/target.git/info/lfs/locks", token: e.alice,
			body: jsonBody(map[string]any{"path": "weights.bin"})}, status: 501},
	}
}

// forge signs a grant with the hub's own key (read from its database),
// for the cases a client cannot produce by tampering: expired URLs.
func (e *hx) forge(g map[string]any) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := sqlitemeta.Open(ctx, filepath.Join(e.data, "agora.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer m.Close()
	key, err := m.Secret(ctx, "upload-signing-key", func() []byte { panic("the hub has no signing key") })
	if err != nil {
		e.t.Fatal(err)
	}
	if r, ok := g["repo"].(string); ok {
		ns, name, _ := strings.Cut(r, "/")
		rp, err := m.RepoByName(ctx, meta.TypeModel, ns, name)
		if err != nil {
			e.t.Fatal(err)
		}
		delete(g, "repo")
		g["r"] = rp.ID
	}
	payload, _ := json.Marshal(g)
	mac := hmac.New(sha256.New, key)
	mac.Write(payload)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(mac.Sum(nil))
}

// tokenOfURL is the signed token at the end of a transfer URL.
func tokenOfURL(href string) string { return href[strings.LastIndexByte(href, '/')+1:] }

// signedURLCases: forged, tampered, expired and reused transfer URLs.
func signedURLCases(e *hx) []hostile {
	lfsOID := sha256hex(e.lfsData)
	fresh := bytes.Repeat([]byte("fresh object for the signed URL cases\n"), 100)
	freshOID := sha256hex(fresh)
	big := bytes.Repeat([]byte("0123456789abcdef"), (6<<20)/16)
	bigOID := sha256hex(big)
	var dl, up string // prepared by the first case
	prepare := func(e *hx) {
		if dl == "" {
			dl = e.batch("alice/target", e.alice, "download", []string{"basic"}, lfsOID, int64(len(e.lfsData))).href("download")
			up = e.batch("alice/target", e.alice, "upload", []string{"basic"}, freshOID, int64(len(fresh))).href("upload")
			if dl == "" || up == "" {
				e.t.Fatalf("no transfer URLs: %q %q", dl, up)
			}
		}
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	get := func(name string, status int, mk func(e *hx) string) hostile {
		return hostile{class: "signed-url", name: name, run: func(e *hx) reply {
			prepare(e)
			return e.do(call{method: "GET", path: mk(e)})
		}, status: status}
	}
	put := func(name string, status int, body []byte, mk func(e *hx) string) hostile {
		return hostile{class: "signed-url", name: name, run: func(e *hx) reply {
			prepare(e)
			return e.do(call{method: "PUT", path: mk(e), body: body})
		}, status: status}
	}
	getCode := func(name string, status int, code string, mk func(e *hx) string) hostile {
		c := get(name, status, mk)
		c.code = code
		return c
	}
	base := func(path string) func(e *hx) string { return func(e *hx) string { return e.h.URL + path } }
	tok := func(u string) string { return tokenOfURL(u) }
	cases := []hostile{
		get("download, payload byte flipped", 403, func(e *hx) string { return e.h.URL + "/api/lfs/download/" + flip(tok(dl), 5) }),
		get("download, signature byte flipped", 403, func(e *hx) string { return e.h.URL + "/api/lfs/download/" + flip(tok(dl), len(tok(dl))-3) }),
		get("download, signature removed", 403, func(e *hx) string { p, _, _ := strings.Cut(tok(dl), "."); return e.h.URL + "/api/lfs/download/" + p }),
		get("download, signature of another token", 403, func(e *hx) string {
			p, _, _ := strings.Cut(tok(dl), ".")
			_, s, _ := strings.Cut(tok(up), ".")
			return e.h.URL + "/api/lfs/download/" + p + "." + s
		}),
		get("download, truncated", 403, func(e *hx) string { return e.h.URL + "/api/lfs/download/" + tok(dl)[:len(tok(dl))/2] }),
		get("download, padded base64", 403, func(e *hx) string { return e.h.URL + "/api/lfs/download/" + tok(dl) + "==" }),
		get("download, 3000-byte token", 403, base("/api/lfs/download/"+strings.Repeat("A", 1500)+"."+strings.Repeat("B", 1500))),
		get("download, empty payload", 403, base("/api/lfs/download/.x")),
		get("download, not base64", 403, base("/api/lfs/download/%25%25%25.%25%25")),
		get("download with the upload URL's token", 403, func(e *hx) string { return e.h.URL + "/api/lfs/download/" + tok(up) }),
		get("download, payload for another repository", 403, func(e *hx) string {
			p, s, _ := strings.Cut(tok(dl), ".")
			raw, _ := base64.RawURLEncoding.DecodeString(p)
			var g map[string]any
			json.Unmarshal(raw, &g)
			g["r"] = g["r"].(float64) + 1
			b, _ := json.Marshal(g)
			return e.h.URL + "/api/lfs/download/" + base64.RawURLEncoding.EncodeToString(b) + "." + s
		}),
		get("download, expired", 403, func(e *hx) string {
			return e.h.URL + "/api/lfs/download/" + e.forge(map[string]any{"k": "dl", "repo": "alice/target", "o": lfsOID, "s": len(e.lfsData), "e": time.Now().Add(-time.Minute).Unix()})
		}),
		get("download, kind of another grant", 403, func(e *hx) string {
			return e.h.URL + "/api/lfs/download/" + e.forge(map[string]any{"k": "up", "repo": "alice/target", "o": lfsOID, "s": len(e.lfsData), "e": time.Now().Add(time.Hour).Unix()})
		}),
		getCode("download, signed for an object the repository lacks", 404, "EntryNotFound", func(e *hx) string {
			return e.h.URL + "/api/lfs/download/" + e.forge(map[string]any{"k": "dl", "repo": "alice/target", "o": freshOID, "s": len(fresh), "e": time.Now().Add(time.Hour).Unix()})
		}),
		get("download, signed for a private repository's object, anonymous", 403, func(e *hx) string {
			return e.h.URL + "/api/lfs/download/" + e.forge(map[string]any{"k": "dl", "repo": "alice/locked", "o": lfsOID, "s": len(e.lfsData), "e": time.Now().Add(time.Hour).Unix()})
		}),
		put("upload with the download URL's token", 403, e.lfsData, func(e *hx) string { return e.h.URL + "/api/lfs/upload/" + tok(dl) }),
		put("upload, payload byte flipped", 403, fresh, func(e *hx) string { return e.h.URL + "/api/lfs/upload/" + flip(tok(up), 7) }),
		put("upload, expired", 403, fresh, func(e *hx) string {
			return e.h.URL + "/api/lfs/upload/" + e.forge(map[string]any{"k": "up", "repo": "alice/target", "o": freshOID, "s": len(fresh), "e": time.Now().Add(-time.Second).Unix()})
		}),
		put("upload of other content", 400, bytes.Repeat([]byte("X"), len(fresh)), func(*hx) string { return up }),
		put("upload of fewer bytes", 400, fresh[:10], func(*hx) string { return up }),
		put("upload of more bytes", 400, append(append([]byte{}, fresh...), 'x'), func(*hx) string { return up }),
		put("upload to a part URL", 403, fresh, func(e *hx) string { return strings.Replace(up, "/upload/", "/part/", 1) + "/1" }),
		put("upload to a completion URL", 404, fresh, func(e *hx) string { return strings.Replace(up, "/upload/", "/complete/", 1) }),
		func() hostile {
			c := put("upload, the right content", 200, fresh, func(*hx) string { return up })
			c.changes = true
			return c
		}(),
		{class: "signed-url", name: "upload again once stored", run: func(e *hx) reply {
			return e.do(call{method: "PUT", path: up, body: fresh})
		}, status: 200},
		{class: "signed-url", name: "upload, chunked with the right content", run: func(e *hx) reply {
			u := e.batch("alice/target", e.alice, "upload", []string{"basic"}, sha256hex([]byte("chunked!")), 8).href("upload")
			return e.do(call{method: "PUT", path: u, stream: strings.NewReader("chunked!")})
		}, status: 200, changes: true},
		{class: "signed-url", name: "download URL of a repository made private", run: func(e *hx) reply {
			e.mustOK(call{method: "POST", path: "/api/repos/create", token: e.alice, body: jsonBody(map[string]any{"name": "soon-private", "organization": "alice"})})
			content := []byte("public for a moment")
			oid := e.uploadLFS("alice/soon-private", content)
			u := e.batch("alice/soon-private", "", "download", []string{"basic"}, oid, int64(len(content))).href("download")
			if u == "" {
				e.t.Fatal("no download URL for a public repository")
			}
			if r := e.do(call{method: "GET", path: u}); r.status != 200 {
				e.t.Fatalf("download while public: %d", r.status)
			}
			e.mustOK(call{method: "PUT", path: "/api/models/alice/soon-private/settings", token: e.alice, body: jsonBody(map[string]any{"private": true})})
			return e.do(call{method: "GET", path: u})
		}, status: 403, changes: true},
	}
	// Multipart: parts and completions out of range or forged.
	var mp batchReply
	mpPrepare := func(e *hx) {
		if len(mp.Objects) == 0 {
			mp = e.batch("alice/target", e.alice, "upload", []string{"basic", "multipart"}, bigOID, int64(len(big)))
			if mp.Objects[0].Actions["upload"].Header["chunk_size"] == "" {
				e.t.Fatalf("no multipart upload: %+v", mp)
			}
		}
	}
	part := func(n int) string { return mp.Objects[0].Actions["upload"].Header[fmt.Sprintf("%05d", n)] }
	partURL := func(n int) string { p := part(1); return p[:strings.LastIndexByte(p, '/')+1] + strconv.Itoa(n) }
	complete := func(parts string) reply {
		return e.do(call{method: "POST", path: mp.Objects[0].Actions["upload"].Href, hdr: []string{"Content-Type", "application/vnd.git-lfs+json"},
			body: []byte(`{"oid":"` + bigOID + `","parts":` + parts + `}`)})
	}
	mpCase := func(name string, status int, fn func(e *hx) reply) hostile {
		return hostile{class: "signed-url", name: "multipart " + name, run: func(e *hx) reply { mpPrepare(e); return fn(e) }, status: status}
	}
	cases = append(cases,
		mpCase("part 0", 400, func(e *hx) reply { return e.do(call{method: "PUT", path: partURL(0), body: big[:5<<20]}) }),
		mpCase("part 3 of 2", 400, func(e *hx) reply { return e.do(call{method: "PUT", path: partURL(3), body: big[:5<<20]}) }),
		mpCase("part -1", 400, func(e *hx) reply { return e.do(call{method: "PUT", path: partURL(-1), body: big[:5<<20]}) }),
		mpCase("part of the wrong size", 400, func(e *hx) reply { return e.do(call{method: "PUT", path: part(1), body: big[:100]}) }),
		mpCase("part 2 with part 1's size", 400, func(e *hx) reply { return e.do(call{method: "PUT", path: part(2), body: big[:5<<20]}) }),
		mpCase("completion not JSON", 400, func(e *hx) reply {
			return e.do(call{method: "POST", path: mp.Objects[0].Actions["upload"].Href, body: []byte("parts")})
		}),
		mpCase("completion with a forged etag", 400, func(e *hx) reply {
			return complete(`[{"partNumber":1,"etag":"` + strings.Repeat("a", 32) + `"},{"partNumber":2,"etag":"` + strings.Repeat("b", 32) + `"}]`)
		}),
	)
	// The completions that fail after parts were sent must leave none.
	for _, bad := range []struct{ name, parts string }{
		{"missing a part", `[{"partNumber":1,"etag":"ETAG1"}]`},
		{"parts out of range", `[{"partNumber":1,"etag":"ETAG1"},{"partNumber":5,"etag":"ETAG2"}]`},
		{"duplicate parts", `[{"partNumber":1,"etag":"ETAG1"},{"partNumber":1,"etag":"ETAG1"}]`},
	} {
		cases = append(cases, hostile{class: "signed-url", name: "multipart completion " + bad.name + " discards the upload", run: func(e *hx) reply {
			m := e.batch("alice/target", e.alice, "upload", []string{"basic", "multipart"}, bigOID, int64(len(big)))
			a := m.Objects[0].Actions["upload"]
			var etags []string
			for n := 1; n <= 2; n++ {
				r := e.mustOK(call{method: "PUT", path: a.Header[fmt.Sprintf("%05d", n)], body: big[(n-1)*(5<<20) : min(n*(5<<20), len(big))]})
				etags = append(etags, strings.Trim(r.hdr.Get("ETag"), `"`))
			}
			parts := strings.NewReplacer("ETAG1", etags[0], "ETAG2", etags[1]).Replace(bad.parts)
			r := e.do(call{method: "POST", path: a.Href, body: []byte(`{"oid":"` + bigOID + `","parts":` + parts + `}`)})
			if ups, _ := os.ReadDir(filepath.Join(e.data, "blobs", "uploads")); len(ups) != 0 {
				var staged []string
				for _, u := range ups {
					if ps, _ := os.ReadDir(filepath.Join(e.data, "blobs", "uploads", u.Name())); len(ps) > 0 {
						staged = append(staged, u.Name())
					}
				}
				if len(staged) > 0 {
					e.t.Errorf("staging parts left behind: %v", staged)
				}
			}
			return r
		}, status: 400})
	}
	return cases
}

// rangeCases: Range headers on regular files (served from memory) and
// LFS files (served from the blob store), PROTOCOL.md §2.6.
func rangeCases(e *hx) []hostile {
	readmeLen := strconv.Itoa(len(hostileRange))
	lfsLen := strconv.Itoa(len(e.lfsData))
	var out []hostile
	for _, f := range []struct{ name, path, size string }{
		{"regular", "/alice/target/resolve/main/range.txt", readmeLen},
		{"lfs", "/alice/target/resolve/main/weights.bin", lfsLen},
	} {
		rng := func(name string, method, value string, status int, contentRange string) hostile {
			h := map[string]string{"Content-Range": contentRange}
			return hostile{class: "range", name: f.name + " " + name, call: call{method: method, path: f.path, hdr: []string{"Range", value}},
				status: status, hdrs: h}
		}
		n, _ := strconv.Atoi(f.size)
		out = append(out,
			rng("bytes=-0", "GET", "bytes=-0", 416, "bytes */"+f.size),
			rng("HEAD bytes=-0", "HEAD", "bytes=-0", 416, "bytes */"+f.size),
			rng("bytes=-00", "GET", "bytes=-00", 416, "bytes */"+f.size),
			rng("past the end", "GET", "bytes="+f.size+"-", 416, "bytes */"+f.size),
			rng("far past the end", "GET", "bytes=99999999999-", 416, "bytes */"+f.size),
			rng("reversed", "GET", "bytes=5-2", 416, "bytes */"+f.size),
			rng("garbage", "GET", "bytes=abc", 416, "bytes */"+f.size),
			rng("dash only", "GET", "bytes=-", 416, "bytes */"+f.size),
			rng("negative", "GET", "bytes=--5", 416, "bytes */"+f.size),
			rng("overflowing number", "GET", "bytes=0-99999999999999999999999", 416, "bytes */"+f.size),
			rng("unknown unit", "GET", "items=0-1", 200, ""),
			rng("unit without a range", "GET", "bytes", 200, ""),
			rng("upper-case unit", "GET", "BYTES=0-1", 206, "bytes 0-1/"+f.size),
			rng("end clamped", "GET", "bytes=1-99999999", 206, fmt.Sprintf("bytes 1-%d/%s", n-1, f.size)),
			rng("suffix longer than the file", "GET", "bytes=-99999999", 206, fmt.Sprintf("bytes 0-%d/%s", n-1, f.size)),
			rng("last byte", "GET", "bytes=-1", 206, fmt.Sprintf("bytes %d-%d/%s", n-1, n-1, f.size)),
			rng("-0 among others", "GET", "bytes=-0,0-0", 206, "bytes 0-0/"+f.size),
			rng("1000 overlapping ranges", "GET", "bytes="+strings.TrimSuffix(strings.Repeat("0-,", 1000), ","), 200, ""),
			hostile{class: "range", name: f.name + " If-Range mismatch", call: call{method: "GET", path: f.path, hdr: []string{"Range", "bytes=0-1", "If-Range", `"other"`}},
				status: 200, hdrs: map[string]string{"Content-Range": ""}},
		)
	}
	// The signed download URL serves ranges by the same rules.
	out = append(out, hostile{class: "range", name: "signed download bytes=-0", run: func(e *hx) reply {
		u := e.batch("alice/target", e.alice, "download", []string{"basic"}, sha256hex(e.lfsData), int64(len(e.lfsData))).href("download")
		return e.do(call{method: "GET", path: u, hdr: []string{"Range", "bytes=-0"}})
	}, status: 416, hdrs: map[string]string{"Content-Range": "bytes */" + lfsLen}})
	return out
}

// rawConn opens a TCP connection to the hub for requests net/http would
// not send.
func (e *hx) rawConn() net.Conn {
	e.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.h.URL, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// readStatus reads the status of an answer on c, or 0 if the server
// closed without one; within limit.
func readStatus(c net.Conn, limit time.Duration) (int, string) {
	c.SetReadDeadline(time.Now().Add(limit))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Status
}

// slowCases: slow and stalled clients (the server runs with 2 s header
// and body timeouts); e2e/slowclient_test.go has the thousands-of-
// connections version.
func slowCases(e *hx) []hostile {
	auth := "Authorization: Bearer " + e.alice + "\r\n"
	return []hostile{
		{class: "slow", name: "headers never finished", run: func(e *hx) reply {
			c := e.rawConn()
			fmt.Fprintf(c, "GET /api/models/alice/target HTTP/1.1\r\nHost: x\r\nX-Slow: ")
			start := time.Now()
			status, _ := readStatus(c, 10*time.Second)
			if d := time.Since(start); d > 8*time.Second {
				e.t.Errorf("connection held %v with unfinished headers", d)
			}
			return reply{status: max(status, 1)}
		}},
		{class: "slow", name: "commit body promised, never sent", run: func(e *hx) reply {
			c := e.rawConn()
			fmt.Fprintf(c, "POST /api/models/alice/target/commit/main HTTP/1.1\r\nHost: x\r\n%sContent-Length: 1000\r\n\r\n{\"key\":", auth)
			status, _ := readStatus(c, 10*time.Second)
			return reply{status: status, hdr: http.Header{}}
		}, status: 408},
		{class: "slow", name: "LFS upload stalled half-way", run: func(e *hx) reply {
			content := bytes.Repeat([]byte("stall"), 20000)
			u := e.batch("alice/target", e.alice, "upload", []string{"basic"}, sha256hex(content), int64(len(content))).href("upload")
			c := e.rawConn()
			fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", strings.TrimPrefix(u, e.h.URL), len(content))
			c.Write(content[:len(content)/2])
			status, _ := readStatus(c, 10*time.Second)
			return reply{status: status, hdr: http.Header{}}
		}, status: 408},
		{class: "slow", name: "LFS upload connection dropped half-way", run: func(e *hx) reply {
			content := bytes.Repeat([]byte("drop!"), 200000)
			u := e.batch("alice/target", e.alice, "upload", []string{"basic"}, sha256hex(content), int64(len(content))).href("upload")
			before := e.h.logText()
			c := e.rawConn()
			fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", strings.TrimPrefix(u, e.h.URL), len(content))
			c.Write(content[:len(content)/2])
			c.Close()
			// The access log line is written once the handler returned.
			var line string
			for deadline := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				for l := range strings.SplitSeq(strings.TrimPrefix(e.h.logText(), before), "\n") {
					if strings.Contains(l, "route=lfs-upload") {
						line = l
					}
				}
			}
			log := strings.TrimPrefix(e.h.logText(), before)
			if strings.Contains(log, "level=ERROR") {
				e.t.Errorf("a dropped upload was logged as an error:\n%s", log)
			}
			status := 0
			if _, s, ok := strings.Cut(line, " status="); ok {
				status, _ = strconv.Atoi(strings.Fields(s)[0])
			}
			return reply{status: status, hdr: http.Header{}}
		}, status: 400},
		{class: "slow", name: "Expect: 100-continue, anonymous commit to a private repository", run: func(e *hx) reply {
			c := e.rawConn()
			fmt.Fprintf(c, "POST /api/models/alice/locked/commit/main HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 300000000\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			line, _ := br.ReadString('\n')
			if strings.Contains(line, "100") {
				e.t.Errorf("100 Continue sent before the caller was checked: %q", line)
			}
			status, _ := strconv.Atoi(strings.Fields(line + " 0 0")[1])
			return reply{status: status, hdr: http.Header{"X-Error-Code": {"RepoNotFound"}}}
		}, status: 404, code: "RepoNotFound"},
		{class: "slow", name: "Expect: 100-continue, other user's commit", run: func(e *hx) reply {
			c := e.rawConn()
			fmt.Fprintf(c, "POST /api/models/alice/target/commit/main HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nExpect: 100-continue\r\nContent-Length: 300000000\r\n\r\n", e.bob)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			if strings.Contains(line, "100") {
				e.t.Errorf("100 Continue sent before the caller was checked: %q", line)
			}
			status, _ := strconv.Atoi(strings.Fields(line + " 0 0")[1])
			return reply{status: status, hdr: http.Header{}}
		}, status: 403},
		{class: "slow", name: "header block over the limit", call: call{method: "GET", path: "/api/models/alice/target", hdr: []string{"X-Big", strings.Repeat("b", 100<<10)}}, status: 431},
	}
}

// bombCases: compressed request bodies that inflate far past any limit.
func bombCases(e *hx) []hostile {
	gz := func(name, path string, status int, want string, body []byte) hostile {
		return hostile{class: "bomb", name: name, call: call{method: "POST", path: path, basic: e.alice,
			hdr: []string{"Content-Encoding", "gzip", "Content-Type", "application/x-git-upload-pack-request"}, body: body}, status: status, want: want}
	}
	// 9000 push commands of 64 KiB ref names: 590 MB inflated.
	cmds := gzipOf(pkt(zeroID + " " + e.head + " refs/heads/" + strings.Repeat("r", 65400) + "\x00report-status\n"))
	line := gzipOf(pkt(zeroID + " " + e.head + " refs/heads/" + strings.Repeat("r", 65400) + "\n"))
	for range 9000 {
		cmds = append(cmds, line...)
	}
	cmds = append(cmds, gzipOf([]byte(flushPkt))...)
	return []hostile{
		gz("upload-pack: 1 GiB of zeros", "/alice/target.git/git-upload-pack", 200, "ERR ", gzipStream(nil, 0, 1<<30)),
		gz("upload-pack: 1 GiB of flush packets", "/alice/target.git/git-upload-pack", 200, "", gzipStream(nil, '0', 1<<30)),
		gz("upload-pack: wants past the request limit", "/alice/target.git/git-upload-pack", 200, "ERR ", gzipStream(bytes.Repeat(pkt("want "+e.head+"\n"), 1), 'x', 0)),
		gz("upload-pack: not gzip", "/alice/target.git/git-upload-pack", 400, "", []byte("plain text")),
		gz("upload-pack: truncated gzip", "/alice/target.git/git-upload-pack", 200, "ERR ", gzipOf(append(pkt("want "+e.head+"\n"), flushPkt...))[:20]),
		gz("receive-pack: 600 MB of ref names", "/alice/target.git/git-receive-pack", 400, "", cmds),
		gz("receive-pack: 1 GiB pack", "/alice/target.git/git-receive-pack", 200, "unpack ", gzipStream(pushBody([]string{zeroID + " " + e.head + " refs/heads/bomb"}, []byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01")), 0, 1<<30)),
		{class: "bomb", name: "upload-pack: unknown encoding", call: call{method: "POST", path: "/alice/target.git/git-upload-pack", basic: e.alice,
			hdr: []string{"Content-Encoding", "br"}, body: []byte("x")}, status: 400},
		{class: "bomb", name: "commit: gzip body is not decoded", call: call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.alice,
			hdr: []string{"Content-Encoding", "gzip"}, body: gzipStream(ndjson(header("x")), '\n', 1<<30)}, status: 400},
		{class: "bomb", name: "LFS batch: gzip body is not decoded", call: call{method: "POST", path: "/alice/target.git/info/lfs/objects/batch", token: e.alice,
			hdr: []string{"Content-Encoding", "gzip"}, body: gzipStream([]byte(`{"operation":"upload","objects":[`), ' ', 1<<30)}, status: 400},
		{class: "bomb", name: "validate-yaml: gzip body is not decoded", call: call{method: "POST", path: "/api/validate-yaml", token: e.alice,
			hdr: []string{"Content-Encoding", "gzip", "Content-Type", "application/json"}, body: gzipStream(nil, ' ', 1<<30)}, status: 400},
	}
}
