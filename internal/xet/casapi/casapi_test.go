package casapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/xettest"
)

func TestTokenRoutes(t *testing.T) {
	e := newEnv(t, options{})
	e.createRepo("pub", false)
	e.createRepo("priv", true)
	e.createRepo("gated", false)
	e.ok(e.do("PUT", "/api/models/alice/gated/settings", e.alice, map[string]any{"gated": "manual"}))
	tests := []struct {
		name, path, token string
		status            int
		code              string
	}{
		{"anonymous read of a public repository", "/api/models/alice/pub/xet-read-token/main", "", 200, ""},
		{"read by a read token", "/api/models/alice/pub/xet-read-token/main", "aliceRead", 200, ""},
		{"write", "/api/models/alice/pub/xet-write-token/main", "alice", 200, ""},
		{"create_pr with revision None", "/api/models/alice/pub/xet-write-token/None?create_pr=1", "alice", 200, ""},
		{"encoded revision", "/api/models/alice/pub/xet-read-token/refs%2Fheads%2Fmain", "alice", 200, ""},
		{"anonymous write", "/api/models/alice/pub/xet-write-token/main", "", 401, ""},
		{"write with a read token", "/api/models/alice/pub/xet-write-token/main", "aliceRead", 403, ""},
		{"write to another's repository", "/api/models/alice/pub/xet-write-token/main", "bob", 403, ""},
		{"anonymous read of a private repository", "/api/models/alice/priv/xet-read-token/main", "", 401, "RepoNotFound"},
		{"another's private repository", "/api/models/alice/priv/xet-read-token/main", "bob", 404, "RepoNotFound"},
		{"unknown repository", "/api/models/alice/nope/xet-read-token/main", "alice", 404, "RepoNotFound"},
		{"unknown revision", "/api/models/alice/pub/xet-read-token/nope", "alice", 404, "RevisionNotFound"},
		{"None without create_pr", "/api/models/alice/pub/xet-write-token/None", "alice", 404, "RevisionNotFound"},
		{"gated, anonymous", "/api/models/alice/gated/xet-read-token/main", "", 401, "GatedRepo"},
		{"gated, not granted", "/api/models/alice/gated/xet-read-token/main", "bob", 403, "GatedRepo"},
		{"gated, owner", "/api/models/alice/gated/xet-read-token/main", "alice", 200, ""},
	}
	toks := map[string]string{"alice": e.alice, "aliceRead": e.aliceRead, "bob": e.bob}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, toks[tc.token], nil)
			if r.status != tc.status && !(tc.status == 401 && r.status == 404) {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" && r.h.Get("X-Error-Code") != tc.code && (r.status != 401 || tc.code == "GatedRepo") {
				t.Errorf("X-Error-Code %q, want %q", r.h.Get("X-Error-Code"), tc.code)
			}
			if r.status != 200 {
				return
			}
			var ct casToken
			if err := json.Unmarshal(r.body, &ct); err != nil {
				t.Fatal(err)
			}
			if ct.CasURL != e.url+"/cas" || ct.AccessToken == "" || time.Until(time.Unix(ct.Exp, 0)) < 5*time.Minute {
				t.Errorf("body %+v", ct)
			}
			exp, _ := strconv.ParseInt(r.h.Get("X-Xet-Token-Expiration"), 10, 64)
			if r.h.Get("X-Xet-Access-Token") != ct.AccessToken || r.h.Get("X-Xet-Cas-Url") != ct.CasURL || exp != ct.Exp {
				t.Errorf("headers %v disagree with the body %+v", r.h, ct)
			}
		})
	}
}

func TestXetOff(t *testing.T) {
	e := newEnv(t, options{xetOff: true})
	e.createRepo("m", false)
	r := e.do("GET", "/api/models/alice/m/xet-write-token/main", e.alice, nil)
	if r.status != http.StatusNotImplemented {
		t.Fatalf("token with Xet off: %d, want 501", r.status)
	}
	b := e.ok(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice, map[string]any{
		"operation": "upload", "transfers": []string{"basic", "xet"},
		"objects": []map[string]any{{"oid": strings.Repeat("a", 64), "size": 5}}}))
	if !strings.Contains(string(b.body), `"transfer":"basic"`) {
		t.Fatalf("batch with Xet off: %s", b.body)
	}
	if r := e.do("POST", "/cas/v1/shards", "", nil); r.status != 404 {
		t.Fatalf("CAS route with Xet off: %d", r.status)
	}
	// A file stored through Xet before Xet was turned off still
	// downloads, by plain resolve, announced as plain LFS.
	repo, err := e.meta.RepoByName(t.Context(), "model", "alice", "m")
	if err != nil {
		t.Fatal(err)
	}
	u := xettest.NewClient(xet.SchemeLZ4).Upload(t, xettest.Compressible(3, 500_000))
	raw, _ := e.cas.IssueToken(repo.ID, 1, true)
	tok, _ := e.cas.ParseToken(raw)
	for h, b := range u.Xorbs {
		if _, err := e.cas.UploadXorb(t.Context(), tok, h.String(), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.cas.UploadShard(t.Context(), tok, bytes.NewReader(u.Shard(t)), nil); err != nil {
		t.Fatal(err)
	}
	e.commitLFS("alice/m", "old.bin", u.Data)
	r = e.ok(e.do("GET", "/alice/m/resolve/main/old.bin", "", nil))
	if !bytes.Equal(r.body, u.Data) || r.h.Get("X-Xet-Hash") != "" || r.h.Get("Link") != "" {
		t.Fatalf("resolve with Xet off: %d bytes, X-Xet-Hash %q", len(r.body), r.h.Get("X-Xet-Hash"))
	}
	if tree := e.ok(e.do("GET", "/api/models/alice/m/tree/main", "", nil)); bytes.Contains(tree.body, []byte("xetHash")) {
		t.Fatalf("tree with Xet off: %s", tree.body)
	}
}

// TestUploadCommitDownload follows a file uploaded through Xet: committed
// as the usual LFS pointer, advertised to Xet clients, downloaded through
// the CAS (v1 and v2, whole and in ranges) and by plain resolve, and
// stored like the same file uploaded through LFS.
func TestUploadCommitDownload(t *testing.T) {
	e := newEnv(t, options{})
	e.createRepo("m", false)
	e.createRepo("lfs", false)
	c := xettest.NewClient(xet.SchemeLZ4)
	c.MaxChunks = 9
	data := append(xettest.Compressible(1, 1<<20), xettest.RandomData(2, 1<<20)...)
	u := c.Upload(t, data)
	commit := e.sendXet("alice/m", "w.bin", u)
	sum := sha256.Sum256(data)
	oid := hex.EncodeToString(sum[:])
	pointer := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", oid, len(data))

	t.Run("resolve headers", func(t *testing.T) {
		r := e.ok(e.do("HEAD", "/alice/m/resolve/main/w.bin", "", nil))
		h := r.h
		if h.Get("X-Xet-Hash") != u.File.Hash.String() || h.Get("X-Linked-Size") != strconv.Itoa(len(data)) || h.Get("ETag") != `"`+oid+`"` {
			t.Fatalf("headers %v", h)
		}
		refresh := e.url + "/api/models/alice/m/xet-read-token/" + commit
		wantLink := "<" + refresh + `>; rel="xet-auth", <` + e.url + "/cas/v1/reconstructions/" + u.File.Hash.String() + `>; rel="xet-reconstruction-info"`
		if h.Get("Link") != wantLink || h.Get("X-Xet-Refresh-Route") != refresh {
			t.Fatalf("Link %q\nwant %q\nrefresh %q", h.Get("Link"), wantLink, h.Get("X-Xet-Refresh-Route"))
		}
		probe := e.ok(e.do("GET", "/alice/m/resolve/main/w.bin", "", nil, "Range", "bytes=0-0", "Accept", "application/vnd.xet-fileinfo+json, */*"))
		if probe.h.Get("Content-Type") != "application/vnd.xet-fileinfo+json" || probe.h.Get("X-Xet-Hash") != u.File.Hash.String() {
			t.Fatalf("file-info probe: %v %s", probe.h, probe.body)
		}
	})

	t.Run("tree and paths-info", func(t *testing.T) {
		for _, r := range []resp{e.ok(e.do("GET", "/api/models/alice/m/tree/main", "", nil)),
			e.ok(e.do("POST", "/api/models/alice/m/paths-info/main", "", map[string]any{"paths": []string{"w.bin"}}, "Content-Type", "application/json"))} {
			var ents []struct {
				Path    string `json:"path"`
				OID     string `json:"oid"`
				XetHash string `json:"xetHash"`
				LFS     *struct {
					OID string `json:"oid"`
				} `json:"lfs"`
			}
			json.Unmarshal(r.body, &ents)
			var found bool
			for _, en := range ents {
				if en.Path == "w.bin" {
					found = en.XetHash == u.File.Hash.String() && en.LFS != nil && en.LFS.OID == oid && en.OID == gitBlobID([]byte(pointer))
				} else if en.XetHash != "" {
					t.Errorf("%s has xetHash", en.Path)
				}
			}
			if !found {
				t.Fatalf("no w.bin with xetHash and the pointer's blob id: %s", r.body)
			}
		}
	})

	t.Run("same objects as through LFS", func(t *testing.T) {
		// Upload the same file through LFS to another repository: the
		// pointer blobs and the trees are the same objects.
		b := e.ok(e.do("POST", "/alice/lfs.git/info/lfs/objects/batch", e.alice, map[string]any{
			"operation": "upload", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": oid, "size": len(data)}}}))
		var batch struct {
			Objects []struct {
				Actions map[string]struct {
					Href string `json:"href"`
				} `json:"actions"`
			} `json:"objects"`
		}
		json.Unmarshal(b.body, &batch)
		e.ok(e.do("PUT", batch.Objects[0].Actions["upload"].Href, "", data))
		e.commitLFS("alice/lfs", "w.bin", data)
		raw := func(repo string) string {
			return string(e.ok(e.do("GET", "/"+repo+"/raw/main/w.bin", "", nil)).body)
		}
		if raw("alice/m") != pointer || raw("alice/lfs") != pointer {
			t.Fatalf("pointers differ:\n%s\n%s", raw("alice/m"), raw("alice/lfs"))
		}
		tree := func(repo string) string {
			return string(e.ok(e.do("GET", "/api/models/"+repo+"/tree/main", "", nil)).body)
		}
		// Same pointer blob, same tree entry; the repository that got the
		// file through LFS advertises the Xet file too (any file of that
		// content will do: its SHA-256 was computed, not claimed).
		if tree("alice/m") != tree("alice/lfs") {
			t.Fatalf("trees differ:\n%s\n%s", tree("alice/m"), tree("alice/lfs"))
		}
	})

	t.Run("plain resolve", func(t *testing.T) {
		r := e.ok(e.do("GET", "/alice/m/resolve/main/w.bin", "", nil))
		if !bytes.Equal(r.body, data) {
			t.Fatalf("plain resolve: %d bytes", len(r.body))
		}
		for _, rg := range [][2]int{{0, 0}, {1, 99_999}, {1<<20 - 10, 1<<20 + 10}, {len(data) - 1, len(data) - 1}} {
			r := e.do("GET", "/alice/m/resolve/main/w.bin", "", nil, "Range", fmt.Sprintf("bytes=%d-%d", rg[0], rg[1]))
			if r.status != http.StatusPartialContent || !bytes.Equal(r.body, data[rg[0]:rg[1]+1]) {
				t.Fatalf("range %v: %d, %d bytes", rg, r.status, len(r.body))
			}
		}
		if r := e.do("GET", "/alice/m/resolve/main/w.bin", "", nil, "Range", fmt.Sprintf("bytes=%d-", len(data))); r.status != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("range past the end: %d", r.status)
		}
	})

	t.Run("git-lfs download", func(t *testing.T) {
		b := e.ok(e.do("POST", "/alice/m.git/info/lfs/objects/batch", "", map[string]any{
			"operation": "download", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": oid, "size": len(data)}}}))
		var batch struct {
			Objects []struct {
				Actions map[string]struct {
					Href string `json:"href"`
				} `json:"actions"`
			} `json:"objects"`
		}
		json.Unmarshal(b.body, &batch)
		r := e.ok(e.do("GET", batch.Objects[0].Actions["download"].Href, "", nil))
		if !bytes.Equal(r.body, data) {
			t.Fatal("git-lfs download differs")
		}
	})

	t.Run("reconstructions", func(t *testing.T) {
		ct := e.casToken("alice/m", "read", "")
		n := len(data)
		for _, version := range []int{1, 2} {
			for _, tc := range []struct {
				rng  string
				want []byte
			}{
				{"", data},
				{"bytes=0-" + strconv.Itoa(n-1), data},
				{"bytes=1000-1500000", data[1000:1500001]},
				{fmt.Sprintf("bytes=%d-%d", n-1, n+1000), data[n-1:]},
				{"bytes=5000-", data[5000:]},
				{"bytes=-100", data[n-100:]},
			} {
				got, r := e.download(ct.CasURL, ct.AccessToken, u.File.Hash.String(), version, tc.rng)
				if r.status != 200 {
					t.Fatalf("v%d %q: %d %s", version, tc.rng, r.status, r.body)
				}
				if len(got) > len(tc.want) {
					got = got[:len(tc.want)] // the client trims the last term
				}
				if !bytes.Equal(got, tc.want) {
					t.Fatalf("v%d %q: %d bytes differ", version, tc.rng, len(got))
				}
			}
			for _, rng := range []string{fmt.Sprintf("bytes=%d-%d", n, n+5), "bytes=999999999-1999999999"} {
				if _, r := e.download(ct.CasURL, ct.AccessToken, u.File.Hash.String(), version, rng); r.status != http.StatusRequestedRangeNotSatisfiable {
					t.Fatalf("v%d %q: %d, want 416", version, rng, r.status)
				}
			}
		}
	})
}

// TestLFSBatchXet: clients that offer "xet" get it for uploads; objects the
// repository has need nothing; downloads stay basic.
func TestLFSBatchXet(t *testing.T) {
	e := newEnv(t, options{})
	e.createRepo("m", false)
	data := xettest.RandomData(5, 300_000)
	u := xettest.NewClient(xet.SchemeNone).Upload(t, data)
	e.sendXet("alice/m", "a.bin", u)
	sum := sha256.Sum256(data)
	have := hex.EncodeToString(sum[:])
	missing := strings.Repeat("b", 64)
	batch := func(op string, transfers []string, ref string) map[string]any {
		body := map[string]any{"operation": op, "transfers": transfers, "hash_algo": "sha_256",
			"objects": []map[string]any{{"oid": have, "size": len(data)}, {"oid": missing, "size": 10}}}
		if ref != "" {
			body["ref"] = map[string]string{"name": ref}
		}
		var out map[string]any
		json.Unmarshal(e.ok(e.do("POST", "/alice/m.git/info/lfs/objects/batch", e.alice, body)).body, &out)
		return out
	}
	got := batch("upload", []string{"basic", "multipart", "xet"}, "main")
	if got["transfer"] != "xet" {
		t.Fatalf("transfer %v", got["transfer"])
	}
	objs := got["objects"].([]any)
	if _, ok := objs[0].(map[string]any)["actions"]; ok {
		t.Errorf("object the repository has got actions: %v", objs[0])
	}
	up := objs[1].(map[string]any)["actions"].(map[string]any)["upload"].(map[string]any)
	hd := up["header"].(map[string]any)
	if up["href"] != e.url+"/api/models/alice/m/xet-write-token/main" || hd["X-Xet-Cas-Url"] != e.url+"/cas" || hd["X-Xet-Access-Token"] == "" || hd["X-Xet-Token-Expiration"] == "" {
		t.Fatalf("upload action %v", up)
	}
	// The header token is a write token of this repository.
	r := e.do("POST", e.url+"/cas/v1/shards", hd["X-Xet-Access-Token"].(string), u.Shard(t))
	if r.status != 200 {
		t.Fatalf("shard with the batch's token: %d %s", r.status, r.body)
	}
	if got := batch("upload", []string{"basic"}, ""); got["transfer"] != "basic" {
		t.Fatalf("without xet offered: %v", got["transfer"])
	}
	if got := batch("download", []string{"basic", "xet"}, ""); got["transfer"] != "basic" {
		t.Fatalf("download: %v", got["transfer"])
	}
}

// TestRoutes: every route variant of released hf_xet versions reaches
// its handler; unknown paths, /v2/* included, are 404 (hf_xet probes v2
// and falls back only on 404 or 501).
func TestRoutes(t *testing.T) {
	e := newEnv(t, options{})
	e.createRepo("m", false)
	u := xettest.NewClient(xet.SchemeLZ4).Upload(t, xettest.RandomData(7, 200_000))
	ct := e.casToken("alice/m", "write", e.alice)
	var xorb xet.Hash
	var body []byte
	for h, b := range u.Xorbs {
		xorb, body = h, b
	}
	first := u.File.Terms[0]
	_ = first
	tests := []struct {
		method, path string
		body         []byte
		status       int
	}{
		{"POST", "/xorb/default/" + xorb.String(), body, 200},
		{"POST", "/xorbs/default/" + xorb.String(), body, 200},
		{"POST", "/v1/xorbs/default/" + xorb.String(), body, 200},
		{"POST", "/v1/xorbs/default-merkledb/" + xorb.String(), body, 200},
		{"HEAD", "/xorb/default/" + xorb.String(), nil, 200},
		{"HEAD", "/xorbs/default/" + xorb.String(), nil, 200},
		{"HEAD", "/v1/xorbs/default/" + strings.Repeat("0", 64), nil, 404},
		{"POST", "/v1/xorb-grants/default/" + xorb.String(), []byte("{}"), 404},
		{"POST", "/shard/default/" + strings.Repeat("1", 64), u.Shard(t), 200},
		{"PUT", "/shard/default/" + strings.Repeat("1", 64), u.Shard(t), 200},
		{"POST", "/shards", u.Shard(t), 200},
		{"POST", "/v1/shards", u.Shard(t), 200},
		{"POST", "/v2/shards", u.Shard(t), 200},
		{"GET", "/reconstruction/" + u.File.Hash.String(), nil, 200},
		{"GET", "/reconstructions/" + u.File.Hash.String(), nil, 200},
		{"GET", "/v1/reconstructions/" + u.File.Hash.String(), nil, 200},
		{"GET", "/v2/reconstructions/" + strings.ToUpper(u.File.Hash.String()), nil, 200},
		{"GET", "/chunk/default/" + strings.Repeat("2", 64), nil, 404},
		{"GET", "/chunks/default/" + strings.Repeat("2", 64), nil, 404},
		{"GET", "/v1/chunks/default/" + strings.Repeat("2", 64), nil, 404},
		{"POST", "/v1/telemetry", []byte("{}"), 200},
		{"GET", "/v2/chunks/default/" + strings.Repeat("2", 64), nil, 404},
		{"POST", "/v2/xorbs/default/" + xorb.String(), body, 404},
		{"GET", "/v2/file-chunk-hashes/" + u.File.Hash.String(), nil, 404},
		{"GET", "/v1/files/" + u.File.Hash.String(), nil, 404},
		{"GET", "/v1/xorbs/default/" + xorb.String(), nil, 404},
		{"GET", "/v1/shards", nil, 404},
		{"DELETE", "/v1/reconstructions/" + u.File.Hash.String(), nil, 404},
		{"GET", "/", nil, 404},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var b any
			if tc.body != nil {
				b = tc.body
			}
			r := e.do(tc.method, ct.CasURL+tc.path, ct.AccessToken, b)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	// xet-core joins /v1/telemetry to the host root.
	if r := e.do("POST", "/v1/telemetry", "", "{}"); r.status != 200 {
		t.Fatalf("root telemetry: %d", r.status)
	}
	// The v2 shard answer is NDJSON ending in a result frame.
	r := e.ok(e.do("POST", ct.CasURL+"/v2/shards", ct.AccessToken, u.Shard(t)))
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if r.h.Get("Content-Type") != "application/x-ndjson" || lines[len(lines)-1] != `{"type":"result"}` {
		t.Fatalf("v2 answer %q (%s)", r.body, r.h.Get("Content-Type"))
	}
}

// TestPrivateFiles: every CAS route needs a token; a token of another
// repository cannot read a private repository's file (not even knowing its
// hash), and data URLs serve their signed range only.
func TestPrivateFiles(t *testing.T) {
	e := newEnv(t, options{})
	e.createRepo("secret", true)
	e.createRepo("mine", false)
	data := xettest.RandomData(9, 400_000)
	u := xettest.NewClient(xet.SchemeLZ4).Upload(t, data)
	e.sendXet("alice/secret", "s.bin", u)
	casURL := e.url + "/cas"
	h := u.File.Hash.String()
	var xorb string
	for x := range u.Xorbs {
		xorb = x.String()
	}
	first := u.File.Terms[0]
	chunk := xettest.NewClient(xet.SchemeLZ4)
	_ = chunk
	routes := []struct{ method, path string }{
		{"GET", "/v1/reconstructions/" + h},
		{"GET", "/v2/reconstructions/" + h},
		{"GET", "/reconstructions/" + h},
		{"GET", "/v1/chunks/default/" + h},
		{"POST", "/v1/xorbs/default/" + xorb},
		{"HEAD", "/v1/xorbs/default/" + xorb},
		{"POST", "/v1/shards"},
		{"POST", "/v2/shards"},
	}
	for _, rt := range routes {
		for _, tok := range []string{"", "xet1.bogus.token", e.alice} {
			if r := e.do(rt.method, casURL+rt.path, tok, nil); r.status != http.StatusUnauthorized {
				t.Errorf("%s %s with %.8q: %d, want 401", rt.method, rt.path, tok, r.status)
			}
		}
	}
	// Bob's token of his own repository.
	e.ok(e.do("POST", "/api/repos/create", e.bob, map[string]any{"name": "b", "organization": "bob", "type": "model"}))
	bobTok := e.casToken("bob/b", "write", e.bob)
	for _, v := range []int{1, 2} {
		if r := e.do("GET", fmt.Sprintf("%s/v%d/reconstructions/%s", casURL, v, h), bobTok.AccessToken, nil); r.status != 404 {
			t.Errorf("v%d reconstruction with another repository's token: %d, want 404", v, r.status)
		}
	}
	// Nor can bob claim the file by registering its shard: he never
	// uploaded its chunks, but knowing the shard's content (hashes and
	// verification hashes) is knowing the content's chunk hashes; the
	// per-repository link then follows. What he cannot do is get a read
	// token of alice's repository.
	if r := e.do("GET", "/api/models/alice/secret/xet-read-token/main", e.bob, nil); r.status != 404 {
		t.Errorf("bob's read token for alice's private repository: %d", r.status)
	}
	// Alice's data URLs: the signed range only, no credentials needed.
	ct := e.casToken("alice/secret", "read", e.alice)
	var v2 xet.ReconstructionResponseV2
	json.Unmarshal(e.ok(e.do("GET", casURL+"/v2/reconstructions/"+h, ct.AccessToken, nil)).body, &v2)
	f := v2.Xorbs[first.Xorb][0]
	rng := f.Ranges[0].Bytes
	signed := fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End)
	if r := e.do("GET", f.URL, "", nil, "Range", signed); r.status != http.StatusPartialContent {
		t.Fatalf("signed range: %d %s", r.status, r.body)
	}
	pu, _ := url.Parse(f.URL)
	q := pu.Query()
	q.Set("r", fmt.Sprintf("0-%d", rng.End+2)) // widen the grant
	pu.RawQuery = q.Encode()
	past := strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	expired, _ := url.Parse(f.URL)
	eq := expired.Query()
	eq.Set("x", past)
	expired.RawQuery = eq.Encode()
	for name, tc := range map[string]struct{ url, rng string }{
		"range outside the grant": {f.URL, fmt.Sprintf("bytes=%d-%d", rng.Start, rng.End+1)},
		"multirange outside":      {f.URL, fmt.Sprintf("bytes=%d-%d,%d-%d", rng.Start, rng.Start, rng.End+1, rng.End+2)},
		"suffix range":            {f.URL, "bytes=-10"},
		"altered grant":           {pu.String(), signed},
		"altered expiry":          {expired.String(), signed},
		"no signature":            {casURL + "/v1/xorb-data/" + xorb + "?r=0-10&x=9999999999", "bytes=0-9"},
	} {
		if r := e.do("GET", tc.url, "", nil, "Range", tc.rng); r.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, r.status)
		}
	}
}
