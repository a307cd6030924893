package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/testenv"
)

var storeSeq atomic.Int64

// scaleOutStore returns store flags for a fresh PostgreSQL schema and S3
// prefix on the test servers (scripts/services.sh), so that each hub of
// a test starts empty while sharing the servers.
func scaleOutStore(t *testing.T) []string {
	t.Helper()
	pg := testenv.MustHavePostgres(t)
	s3 := testenv.MustHaveS3(t)
	psql := testenv.MustHaveExecPath(t, "psql")
	name := fmt.Sprintf("e2e_%d_%d", time.Now().UnixNano()%1e9, storeSeq.Add(1))
	if out, err := exec.Command(psql, pg, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE SCHEMA "+name).CombinedOutput(); err != nil {
		t.Fatalf("create schema: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(psql, pg, "-qc", "DROP SCHEMA "+name+" CASCADE").Run() })
	u, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	blobs := "s3://agora-e2e/" + name + "?endpoint=" + url.QueryEscape(s3.Endpoint) + "&region=" + s3.Region
	return []string{"--db", u.String(), "--blobs", blobs}
}

func TestScaleOutJSCore(t *testing.T) {
	t.Run("proxied", func(t *testing.T) {
		h := StartHub(t, HubOptions{StoreArgs: scaleOutStore(t), ServeArgs: []string{"--blobs-proxy"}})
		RunNode(t, "js/core.test.mjs", append(h.Users(t), "E2E_PREFIX=s3proxy")...)
	})
	t.Run("presigned", func(t *testing.T) {
		// Downloads are 302s to presigned URLs and multipart parts go
		// straight to the store.
		h := StartHub(t, HubOptions{StoreArgs: scaleOutStore(t), ServeArgs: []string{"--multipart-threshold", "8MiB", "--multipart-chunk", "5MiB"}})
		RunNode(t, "js/core.test.mjs", append(h.Users(t), "E2E_PREFIX=s3direct", "LFS_ETAG_FROM_STORE=1")...)
	})
}

// hubClient is a small HTTP client for the hub's API.
type hubClient struct {
	t     *testing.T
	base  string
	token string
}

func (a hubClient) do(method, path string, body io.Reader, hdr ...string) (int, []byte, http.Header) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func (a hubClient) json(method, path string, in, out any) int {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	code, b, _ := a.do(method, path, body, "Content-Type", "application/json")
	if out != nil && code == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return code
}

// commitFile commits one regular file on main.
func (a hubClient) commitFile(repo, path, content string) (int, string) {
	lines := fmt.Sprintf(`{"key":"header","value":{"summary":"add %s"}}`+"\n"+`{"key":"file","value":{"path":%q,"content":%q,"encoding":"base64"}}`+"\n",
		path, path, base64.StdEncoding.EncodeToString([]byte(content)))
	code, b, _ := a.do("POST", "/api/models/"+repo+"/commit/main", strings.NewReader(lines), "Content-Type", "application/x-ndjson")
	return code, string(b)
}

// uploadLFS sends content through the LFS batch API and commits it.
func (a hubClient) uploadLFS(repo, path string, content []byte) {
	a.t.Helper()
	sum := sha256.Sum256(content)
	oid := hex.EncodeToString(sum[:])
	var batch struct {
		Objects []struct {
			Actions map[string]struct{ Href string }
		}
	}
	req := map[string]any{"operation": "upload", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": oid, "size": len(content)}}}
	if code := a.json("POST", "/"+repo+".git/info/lfs/objects/batch", req, &batch); code != 200 {
		a.t.Fatalf("batch: %d", code)
	}
	if up, ok := batch.Objects[0].Actions["upload"]; ok {
		r, _ := http.NewRequest("PUT", up.Href, bytes.NewReader(content))
		resp, err := http.DefaultClient.Do(r)
		if err != nil || resp.StatusCode != 200 {
			a.t.Fatalf("PUT: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	lines := fmt.Sprintf(`{"key":"header","value":{"summary":"lfs"}}`+"\n"+`{"key":"lfsFile","value":{"path":%q,"algo":"sha256","oid":%q,"size":%d}}`, path, oid, len(content))
	if code, b, _ := a.do("POST", "/api/models/"+repo+"/commit/main", strings.NewReader(lines)); code != 200 {
		a.t.Fatalf("commit: %d %s", code, b)
	}
}

func tokenOf(env []string, key string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	return ""
}

// TestTwoReplicas runs two agora processes on one database and bucket:
// what one commits the other serves at once, and concurrent commits
// through both lose nothing.
func TestTwoReplicas(t *testing.T) {
	store := scaleOutStore(t)
	h1 := StartHub(t, HubOptions{StoreArgs: store})
	h2 := StartHub(t, HubOptions{StoreArgs: store})
	tok := tokenOf(h1.Users(t), "TOKEN_ALICE")
	r1, r2 := hubClient{t, h1.URL, tok}, hubClient{t, h2.URL, tok}
	if code := r1.json("POST", "/api/repos/create", map[string]any{"name": "shared", "organization": "alice"}, nil); code != 200 {
		t.Fatalf("create: %d", code)
	}
	for i := range 5 {
		if code, body := r1.commitFile("alice/shared", fmt.Sprintf("r1-%d.txt", i), "x"); code != 200 {
			t.Fatalf("commit: %d %s", code, body)
		}
		var info struct{ Sha string }
		var info1 struct{ Sha string }
		r2.json("GET", "/api/models/alice/shared", nil, &info)
		r1.json("GET", "/api/models/alice/shared", nil, &info1)
		if info.Sha != info1.Sha {
			t.Fatalf("replica 2 serves %s, replica 1 committed %s", info.Sha, info1.Sha)
		}
	}
	data := make([]byte, 3<<20)
	rand.Read(data)
	r1.uploadLFS("alice/shared", "w.bin", data)
	code, got, _ := r2.do("GET", "/alice/shared/resolve/main/w.bin", nil)
	if code != 200 || !bytes.Equal(got, data) {
		t.Fatalf("LFS through replica 2: %d, %d bytes", code, len(got))
	}

	var wg sync.WaitGroup
	const each = 8
	errs := make(chan string, 2*each)
	for i := range 2 * each {
		a := r1
		if i%2 == 1 {
			a = r2
		}
		wg.Go(func() {
			if code, body := a.commitFile("alice/shared", fmt.Sprintf("c/%d.txt", i), "y"); code != 200 {
				errs <- fmt.Sprintf("%d %s", code, body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	var files []struct{ Path string }
	r2.json("GET", "/api/models/alice/shared/tree/main/c", nil, &files)
	if len(files) != 2*each {
		t.Fatalf("after concurrent commits through both replicas: %d files, want %d", len(files), 2*each)
	}
}

// TestMigrateStore moves a hub from the embedded default to PostgreSQL +
// S3 and checks that users, tokens, repositories and LFS content survive.
func TestMigrateStore(t *testing.T) {
	target := scaleOutStore(t)
	dir := t.TempDir()
	h := StartHub(t, HubOptions{StoreArgs: []string{"--data", dir}})
	tok := tokenOf(h.Users(t), "TOKEN_ALICE")
	a := hubClient{t, h.URL, tok}
	a.json("POST", "/api/repos/create", map[string]any{"name": "moving", "organization": "alice", "private": true}, nil)
	data := make([]byte, 1<<20)
	rand.Read(data)
	a.uploadLFS("alice/moving", "weights.bin", data)
	a.commitFile("alice/moving", "README.md", "---\nlicense: mit\n---\n")
	var before struct{ Sha string }
	a.json("GET", "/api/models/alice/moving", nil, &before)
	h.Stop(t)

	out, err := runCmd(h.bin, "migrate-store", "--from-db", "sqlite:"+dir+"/agora.db", "--from-blobs", "file:"+dir+"/blobs",
		"--to-db", target[1], "--to-blobs", target[3])
	if err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	if !strings.Contains(out, "blobs: 1 copied and verified") {
		t.Fatalf("migrate-store output:\n%s", out)
	}
	h2 := StartHub(t, HubOptions{StoreArgs: target})
	b := hubClient{t, h2.URL, tok}
	var after struct {
		Sha      string
		Private  bool
		CardData map[string]any
	}
	if code := b.json("GET", "/api/models/alice/moving", nil, &after); code != 200 || after.Sha != before.Sha || !after.Private || after.CardData["license"] != "mit" {
		t.Fatalf("after migration: %d %+v (before %s)", code, after, before.Sha)
	}
	code, got, _ := b.do("GET", "/alice/moving/resolve/main/weights.bin", nil)
	if code != 200 || !bytes.Equal(got, data) {
		t.Fatalf("LFS after migration: %d", code)
	}
	// Anonymous still sees nothing of the private repository.
	if code, _, _ := (hubClient{t, h2.URL, ""}).do("GET", "/api/models/alice/moving", nil); code != 404 {
		t.Fatalf("anonymous: %d", code)
	}
}
