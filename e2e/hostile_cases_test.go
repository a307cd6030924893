package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
)

// The cases of TestHostileInputs, one generator per class. Expected
// answers follow the Hub (PROTOCOL.md §1.5): 400 for a malformed request,
// 422 for a path a repository cannot hold, 404 with the Hub's
// X-Error-Code for missing revisions and entries, 409 for names taken,
// 412 for a stale parent, 413 for what exceeds a limit.

// pathCases: file paths of the commit API, for files, deletions and LFS
// files. Everything git (or a checkout on Windows or macOS) would read as
// .git, escape the work tree or not store is 422; unusual but valid paths
// are committed, and the final git fsck --strict checks they were right
// to be.
func pathCases(e *hx) []hostile {
	bad := []struct{ name, path string }{
		{"empty", ""},
		{"dot", "."},
		{"dotdot", ".."},
		{"parent escape", "../escape.txt"},
		{"deep parent escape", "dir/../../escape.txt"},
		{"inner dotdot", "dir/../x.txt"},
		{"inner dot", "dir/./x.txt"},
		{"leading dot slash", "./x.txt"},
		{"absolute", "/etc/passwd"},
		{"double slash", "dir//x.txt"},
		{"trailing slash", "dir/x.txt/"},
		{".git", ".git"},
		{".git/config", ".git/config"},
		{".GIT/config", ".GIT/config"},
		{".Git/hooks/post-checkout", ".Git/hooks/post-checkout"},
		{"nested .git", "dir/.git/config"},
		{"NTFS short name git~1", "git~1/config"},
		{"NTFS short name GIT~1", "GIT~1/config"},
		{"NTFS trailing dot", ".git./config"},
		{"NTFS trailing dots", ".git.../config"},
		{"NTFS trailing space", ".git /config"},
		{"NTFS trailing space dot", ".git . /config"},
		{"NTFS stream", ".git::$INDEX_ALLOCATION/config"},
		{"NTFS stream short name", "git~1::$INDEX_ALLOCATION/config"},
		{"HFS ZWNJ", ".g\u200cit/config"},
		{"HFS ZWJ", ".gi\u200dt/config"},
		{"HFS BOM", ".gi\ufefft/config"},
		{"HFS trailing ZWNJ", ".git\u200c/config"},
		{"HFS leading ZWNJ", "\u200c.git/config"},
		{"HFS LRM", ".g\u200eit/config"},
		{"HFS upper ZWJ", ".GI\u200dT/config"},
		{"backslash", "dir\\x.txt"},
		{"backslash .git", "dir\\.git\\config"},
		{"NUL", "x\x00y.txt"},
		{"newline", "x\ny.txt"},
		{"carriage return", "x\ry.txt"},
		{"tab", "x\ty.txt"},
		{"DEL", "x\x7fy.txt"},
		{"escape", "x\x1b[31m.txt"},
		{"component of 256 bytes", strings.Repeat("c", 256)},
		{"path of 5000 bytes", strings.Repeat("d/", 2500) + "x"},
		{".gitmodules as folder", ".gitmodules/x"},
		{".GITMODULES as folder", ".GITMODULES/x"},
		{"NTFS .gitmodules as folder", "gitmod~1/x"},
		{".gitattributes as folder", ".gitattributes/x"},
		{"HFS .gitattributes as folder", ".gitattribute\u200cs/x"},
	}
	var out []hostile
	for _, b := range bad {
		out = append(out,
			hostile{class: "path", name: "file " + b.name, call: e.commitCall(header("bad path"), hfile(b.path, "x\n")), status: 422},
			hostile{class: "path", name: "delete " + b.name, call: e.commitCall(header("bad path"), deleteOp(b.path)), status: 422},
		)
	}
	for _, b := range bad[:20] {
		out = append(out, hostile{class: "path", name: "lfs " + b.name, call: e.commitCall(header("bad path"),
			lfsOp(b.path, sha256hex(e.lfsData), int64(len(e.lfsData)))), status: 422})
	}
	// Invalid UTF-8 cannot travel in JSON (the decoder replaces it), but
	// a raw line can carry it.
	out = append(out, hostile{class: "path", name: "file invalid UTF-8",
		call:   e.commitCall(header("bad path"), []byte(`{"key":"file","value":{"path":"x`+"\xff\xfe"+`.txt","content":"eAo=","encoding":"base64"}}`)),
		status: 200, changes: true})
	good := []string{
		"with space/file name.txt", "naïve-é.txt", "日本語/ファイル.txt", "emoji-🚀.txt", ".gitignore", "git~2/x.txt",
		".gitx/y.txt", "..dots.txt", "a..b.txt", "-leading-dash.txt", "con.txt", "trailing.dot.", "x.git/readme.txt",
		".github/workflows/ci.yml", "%2e%2e/percent.txt", "question?.txt", "colon:name.txt", strings.Repeat("e", 255),
	}
	for _, p := range good {
		out = append(out, hostile{class: "path", name: "valid " + p, call: e.commitCall(header("odd but valid path"), hfile(p, "ok\n")),
			status: 200, changes: true})
	}
	// Paths that clash with what the tree holds.
	out = append(out,
		hostile{class: "path", name: "file over a folder", call: e.commitCall(header("clash"), hfile("dir", "x")), status: 400},
		hostile{class: "path", name: "folder over a file", call: e.commitCall(header("clash"), hfile("dir/a.txt/x", "x")), status: 400},
		hostile{class: "path", name: "file and folder in one commit", call: e.commitCall(header("clash"), hfile("new", "x"), hfile("new/x", "y")), status: 400},
	)
	return out
}

// ndjsonCases: malformed commit bodies.
func ndjsonCases(e *hx) []hostile {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	raw := func(name string, status int, code string, lines ...any) hostile {
		return hostile{class: "ndjson", name: name, call: e.commitCall(lines...), status: status, code: code}
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []hostile{
		{class: "ndjson", name: "empty body", call: call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.alice, body: []byte{}}, status: 400},
		raw("only a header", 400, "", header("nothing")),
		raw("no header", 400, "", hfile("x.txt", "x")),
		raw("not JSON", 400, "", "hello world"),
		raw("truncated JSON", 400, "", `{"key":"header","value":{"summary":"x"`),
		raw("JSON array", 400, "", `[1,2,3]`),
		raw("JSON string", 400, "", `"header"`),
		raw("JSON null", 400, "", `null`, header("x")),
		raw("unknown key", 400, "", header("x"), `{"key":"frobnicate","value":{"path":"x"}}`),
		raw("missing key", 400, "", header("x"), `{"value":{"path":"x"}}`),
		raw("missing value", 400, "", header("x"), `{"key":"file"}`),
		raw("header value a string", 400, "", `{"key":"header","value":"summary"}`, hfile("x.txt", "x")),
		raw("summary a number", 400, "", `{"key":"header","value":{"summary":42}}`, hfile("x.txt", "x")),
		raw("path a number", 400, "", header("x"), `{"key":"file","value":{"path":42,"content":"eA==","encoding":"base64"}}`),
		raw("content an object", 400, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":{"a":1},"encoding":"base64"}}`),
		raw("size a string", 400, "", header("x"), `{"key":"lfsFile","value":{"path":"x.bin","oid":"`+sha256hex(e.lfsData)+`","size":"big","algo":"sha256"}}`),
		raw("base64 garbage", 400, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":"!!!!","encoding":"base64"}}`),
		raw("base64 missing padding", 400, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":"eA","encoding":"base64"}}`),
		// Line breaks inside base64 are ignored, as by Python's decoder.
		{class: "ndjson", name: "base64 with newline", call: e.commitCall(header("x"), `{"key":"file","value":{"path":"b64nl.txt","content":"eA==\n","encoding":"base64"}}`), status: 200, changes: true},
		raw("base64 url alphabet", 400, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":"-_-_","encoding":"base64"}}`),
		raw("unknown encoding", 400, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":"x","encoding":"rot13"}}`),
		raw("two headers", 400, "", header("x"), header("y"), hfile("x.txt", "x")),
		raw("NUL in summary", 400, "", map[string]any{"key": "header", "value": map[string]any{"summary": "a\x00b"}}, hfile("x.txt", "x")),
		raw("NUL byte in the line", 400, "", header("x"), "{\"key\":\"file\",\x00\"value\":{}}"),
		raw("byte order mark", 400, "", "\ufeff"+string(jsonBody(header("x"))), hfile("x.txt", "x")),
		raw("nesting 100000 deep", 400, "", `{"key":"header","value":{"summary":"x","extra":`+deep(100000)+`}}`, hfile("x.txt", "x")),
		raw("nesting 10001 deep in an op", 400, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":"eA==","more":`+deep(10001)+`}}`),
		raw("delete of a missing file", 404, "EntryNotFound", header("x"), deleteOp("no/such/file.txt")),
		raw("delete of a missing folder", 404, "EntryNotFound", header("x"), map[string]any{"key": "deletedFolder", "value": map[string]any{"path": "no-such-folder/"}}),
		raw("lfs oid not hex", 400, "", header("x"), lfsOp("x.bin", strings.Repeat("z", 64), 10)),
		raw("lfs oid upper case", 400, "", header("x"), lfsOp("x.bin", strings.ToUpper(sha256hex(e.lfsData)), int64(len(e.lfsData)))),
		raw("lfs oid short", 400, "", header("x"), lfsOp("x.bin", "abc", 10)),
		raw("lfs object never uploaded", 400, "", header("x"), lfsOp("x.bin", sha256hex([]byte("never uploaded")), 14)),
		raw("lfs wrong size", 400, "", header("x"), lfsOp("x.bin", sha256hex(e.lfsData), 5)),
		raw("lfs negative size", 400, "", header("x"), lfsOp("x.bin", sha256hex(e.lfsData), -5)),
		raw("lfs md5", 400, "", header("x"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "x.bin", "algo": "md5", "oid": sha256hex(e.lfsData), "size": len(e.lfsData)}}),
		raw("regular file over the limit", 413, "", header("x"), hfile("big.txt", strings.Repeat("x", 1<<20+1))),
		raw("line over the limit", 413, "", header("x"), `{"key":"file","value":{"path":"x.txt","content":"`+strings.Repeat("A", 2<<20)+`"}}`),
		raw("invalid parentCommit", 400, "", map[string]any{"key": "header", "value": map[string]any{"summary": "x", "parentCommit": "zzzz"}}, hfile("x.txt", "x")),
		raw("stale parentCommit", 412, "", map[string]any{"key": "header", "value": map[string]any{"summary": "x", "parentCommit": strings.Repeat("0", 40)}}, hfile("x.txt", "x")),
		raw("20000 deletes of missing files", 404, "EntryNotFound", append([]any{header("x")}, repeatOps(20000, func(i int) any { return deleteOp(fmt.Sprintf("missing-%d", i)) })...)...),
		{class: "ndjson", name: "summary of 100 KB", call: e.commitCall(map[string]any{"key": "header", "value": map[string]any{"summary": strings.Repeat("s", 100<<10)}}, hfile("long-summary.txt", "x")), status: 200, changes: true},
		raw("summary of 2 MB", 413, "", map[string]any{"key": "header", "value": map[string]any{"summary": strings.Repeat("s", 2<<20)}}, hfile("x.txt", "x")),
		{class: "ndjson", name: "body over the commit limit", call: call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.alice,
			stream: bytes.NewReader(append(ndjson(header("x")), bytes.Repeat(append(bytes.Repeat([]byte(" "), 60<<10), '\n'), 1200)...))}, status: 413},
		{class: "ndjson", name: "commit to a tag", call: call{method: "POST", path: "/api/models/alice/target/commit/v-hostile", token: e.alice, body: ndjson(header("x"), hfile("x.txt", "x"))},
			run: func(e *hx) reply {
				e.mustOK(call{method: "POST", path: "/api/models/alice/target/tag/main", token: e.alice, body: jsonBody(map[string]any{"tag": "v-hostile"})})
				return e.do(call{method: "POST", path: "/api/models/alice/target/commit/v-hostile", token: e.alice, body: ndjson(header("x"), hfile("x.txt", "x"))})
			}, status: 400, changes: true},
		{class: "ndjson", name: "commit to a commit id", call: call{}, run: func(e *hx) reply {
			return e.do(call{method: "POST", path: "/api/models/alice/target/commit/" + e.head, token: e.alice, body: ndjson(header("x"), hfile("x.txt", "x"))})
		}, status: 400},
		{class: "ndjson", name: "commit to a missing branch", call: call{method: "POST", path: "/api/models/alice/target/commit/no-such-branch", token: e.alice,
			body: ndjson(header("x"), hfile("x.txt", "x"))}, status: 404, code: "RevisionNotFound"},
		{class: "ndjson", name: "commit with a read token", call: call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.aliceRead,
			body: ndjson(header("x"), hfile("x.txt", "x"))}, status: 403},
		{class: "ndjson", name: "commit by another user", call: call{method: "POST", path: "/api/models/alice/target/commit/main", token: e.bob,
			body: ndjson(header("x"), hfile("x.txt", "x"))}, status: 403},
		{class: "ndjson", name: "commit to a private repository by another user", call: call{method: "POST", path: "/api/models/alice/locked/commit/main", token: e.bob,
			body: ndjson(header("x"), hfile("x.txt", "x"))}, status: 404, code: "RepoNotFound"},
		{class: "ndjson", name: "anonymous commit", call: call{method: "POST", path: "/api/models/alice/target/commit/main",
			body: ndjson(header("x"), hfile("x.txt", "x"))}, status: 401},
		// What the suite expects to succeed, with unusual but valid input.
		// Operations apply in order, as on the Hub (huggingface_hub only
		// warns about a path written twice, or written then deleted).
		{class: "ndjson", name: "unknown header fields", call: e.commitCall(map[string]any{"key": "header", "value": map[string]any{"summary": "x", "frobnicate": []int{1}}}, hfile("unknown-header.txt", "x")),
			status: 200, changes: true},
		{class: "ndjson", name: "blank lines and CRLF", call: e.commitCall("", "\r", string(jsonBody(header("crlf")))+"\r", "", string(jsonBody(hfile("crlf.txt", "x")))+"\r"),
			status: 200, changes: true},
		{class: "ndjson", name: "utf-8 encoding", call: e.commitCall(header("utf8"), map[string]any{"key": "file", "value": map[string]any{"path": "utf8.txt", "content": "héllo", "encoding": "utf-8"}}),
			status: 200, changes: true},
		{class: "ndjson", name: "duplicate path, same content", call: e.commitCall(header("dup"), hfile("dup.txt", "same"), hfile("dup.txt", "same")),
			status: 200, changes: true},
		{class: "ndjson", name: "duplicate path, different content", call: e.commitCall(header("dup"), hfile("dup2.txt", "one"), hfile("dup2.txt", "two")),
			status: 200, changes: true},
		{class: "ndjson", name: "write then delete one path", call: e.commitCall(header("dup"), hfile("gone.txt", "x"), deleteOp("gone.txt")),
			status: 200, changes: true},
		{class: "ndjson", name: "pull request", call: call{method: "POST", path: "/api/models/alice/target/commit/main?create_pr=1", token: e.alice,
			body: ndjson(header("pr"), hfile("pr.txt", b64("x")))}, status: 200, changes: true},
	}
	return cases
}

func repeatOps(n int, f func(int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// preuploadCases: the preupload JSON body.
func preuploadCases(e *hx) []hostile {
	pre := func(name string, status int, body []byte) hostile {
		return hostile{class: "preupload", name: name, call: call{method: "POST", path: "/api/models/alice/target/preupload/main", token: e.alice,
			hdr: []string{"Content-Type", "application/json"}, body: body}, status: status}
	}
	file := func(path string, size int64, sample string) map[string]any {
		return map[string]any{"path": path, "size": size, "sample": sample}
	}
	files := func(fs ...map[string]any) []byte { return jsonBody(map[string]any{"files": fs}) }
	many := make([]map[string]any, 20000)
	for i := range many {
		many[i] = file(fmt.Sprintf("f%d.txt", i), 1, "eA==")
	}
	return []hostile{
		pre("not JSON", 400, []byte("files")),
		pre("truncated", 400, []byte(`{"files":[{"path":"a"`)),
		pre("files an object", 400, []byte(`{"files":{"path":"a"}}`)),
		pre("size a string", 400, []byte(`{"files":[{"path":"a","size":"1","sample":""}]}`)),
		pre("sample not base64", 400, files(file("a.txt", 1, "!!"))),
		pre("path .git/config", 422, files(file(".git/config", 1, "eA=="))),
		pre("path NTFS alias", 422, files(file("GIT~1/hooks/x", 1, "eA=="))),
		pre("path absolute", 422, files(file("/abs", 1, "eA=="))),
		pre("path dotdot", 422, files(file("../x", 1, "eA=="))),
		pre("negative size", 400, files(file("a.txt", -1, "eA=="))),
		pre("nesting 100000 deep", 400, []byte(`{"files":[],"x":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`)),
		pre("20000 files", 413, files(many...)),
		pre("body over 16 MiB", 413, append([]byte(`{"files":[],"pad":"`), bytes.Repeat([]byte("p"), 17<<20)...)),
		{class: "preupload", name: "missing branch", call: call{method: "POST", path: "/api/models/alice/target/preupload/no-such-branch", token: e.alice,
			body: files(file("a.txt", 1, "eA=="))}, status: 404, code: "RevisionNotFound"},
		{class: "preupload", name: "read token", call: call{method: "POST", path: "/api/models/alice/target/preupload/main", token: e.aliceRead,
			body: files(file("a.txt", 1, "eA=="))}, status: 403},
	}
}

// repoNameCases: names at repository creation.
func repoNameCases(e *hx) []hostile {
	create := func(name, org string, extra map[string]any) call {
		body := map[string]any{"name": name, "organization": org}
		for k, v := range extra {
			body[k] = v
		}
		return call{method: "POST", path: "/api/repos/create", token: e.alice, body: jsonBody(body)}
	}
	bad := []string{
		"", ".", "..", "-x", "x-", ".x", "x.", "a--b", "a..b", "x.git", "X.GIT", "a/b/c", "a b", "a\tb", "a\x00b", "ümlaut",
		"日本", "a@b", "a:b", "a?b", "a#b", "a%2Fb", strings.Repeat("n", 97), "resolve", "tree", "blob", "settings", "commits",
		"\u200cmodel", "model\u200b",
	}
	var out []hostile
	for _, n := range bad {
		out = append(out, hostile{class: "repo-name", name: fmt.Sprintf("%q", n), call: create(n, "alice", nil), status: 400})
	}
	out = append(out,
		// A name with a slash is a full id: its namespace is not alice's.
		hostile{class: "repo-name", name: "name with a slash", call: create("bob/x", "", nil), status: 403},
		hostile{class: "repo-name", name: "bad namespace", call: create("ok-name", "a..b", nil), status: 400},
		hostile{class: "repo-name", name: "reserved namespace", call: create("ok-name", "api", nil), status: 400},
		hostile{class: "repo-name", name: "someone else's namespace", call: create("ok-name", "bob", nil), status: 403},
		hostile{class: "repo-name", name: "taken", call: create("target", "alice", nil), status: 409},
		hostile{class: "repo-name", name: "taken, other case", call: create("TARGET", "alice", nil), status: 409},
		hostile{class: "repo-name", name: "space type", call: create("ok-space", "alice", map[string]any{"type": "space"}), status: 501},
		hostile{class: "repo-name", name: "kernel type", call: create("ok-type", "alice", map[string]any{"type": "kernel"}), status: 501},
		hostile{class: "repo-name", name: "unknown type", call: create("ok-type", "alice", map[string]any{"type": "frobnicate"}), status: 400},
		hostile{class: "repo-name", name: "private a string", call: create("ok-private", "alice", map[string]any{"private": "yes"}), status: 400},
		hostile{class: "repo-name", name: "valid odd name", call: create("A_b.c-9", "alice", nil), status: 200, changes: true},
	)
	return out
}

// refNameCases: branch and tag names.
func refNameCases(e *hx) []hostile {
	bad := []string{
		"", "HEAD", "@", "a..b", "a.lock", "dir/x.lock", "a@{b", "a~1", "a^", "a:b", "a?b", "a*b", "a[b", "a\\b", "a b",
		"a\tb", "a\x7fb", "-leading", "trailing.", "trailing/", "/leading", "a//b", ".hidden", "dir/.hidden",
		"refs/heads/x", strings.Repeat("b", 256), strings.Repeat("a", 40),
	}
	var out []hostile
	for _, n := range bad {
		if n == "" {
			// No name: no branch route at all.
			out = append(out, hostile{class: "ref-name", name: "branch without a name",
				call: call{method: "POST", path: "/api/models/alice/target/branch/", token: e.alice, body: []byte(`{}`)}, status: 404})
			out = append(out, hostile{class: "ref-name", name: "tag without a name",
				call: call{method: "POST", path: "/api/models/alice/target/tag/main", token: e.alice, body: jsonBody(map[string]any{"tag": ""})}, status: 400})
			continue
		}
		out = append(out,
			hostile{class: "ref-name", name: fmt.Sprintf("branch %q", n),
				call: call{method: "POST", path: "/api/models/alice/target/branch/" + url.PathEscape(n), token: e.alice, body: jsonBody(map[string]any{})}, status: 400},
			hostile{class: "ref-name", name: fmt.Sprintf("tag %q", n),
				call: call{method: "POST", path: "/api/models/alice/target/tag/main", token: e.alice, body: jsonBody(map[string]any{"tag": n})}, status: 400},
		)
	}
	out = append(out,
		hostile{class: "ref-name", name: "branch exists", call: call{method: "POST", path: "/api/models/alice/target/branch/main", token: e.alice, body: []byte(`{}`)}, status: 409},
		hostile{class: "ref-name", name: "branch from a missing revision", call: call{method: "POST", path: "/api/models/alice/target/branch/new-one", token: e.alice,
			body: jsonBody(map[string]any{"startingPoint": "no-such-rev"})}, status: 404, code: "RevisionNotFound"},
		hostile{class: "ref-name", name: "tag of a missing revision", call: call{method: "POST", path: "/api/models/alice/target/tag/no-such-rev", token: e.alice,
			body: jsonBody(map[string]any{"tag": "t1"})}, status: 404, code: "RevisionNotFound"},
		hostile{class: "ref-name", name: "delete the default branch", call: call{method: "DELETE", path: "/api/models/alice/target/branch/main", token: e.alice}, status: 403},
		hostile{class: "ref-name", name: "delete a missing branch", call: call{method: "DELETE", path: "/api/models/alice/target/branch/no-such-branch", token: e.alice}, status: 404, code: "RevisionNotFound"},
		hostile{class: "ref-name", name: "branch under an existing one", call: call{method: "POST", path: "/api/models/alice/target/branch/" + url.PathEscape("main/sub"), token: e.alice, body: []byte(`{}`)}, status: 409},
		hostile{class: "ref-name", name: "valid unicode branch", call: call{method: "POST", path: "/api/models/alice/target/branch/" + url.PathEscape("feature/naïve-ünïcode"), token: e.alice, body: []byte(`{}`)},
			status: 200, changes: true},
	)
	return out
}
