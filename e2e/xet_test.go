package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/xettest"
)

// TestJSClientXet runs js/xet.test.mjs: uploads and downloads through Xet
// with the unmodified @huggingface/hub client (its default), on the
// embedded default and, when the test servers run, on PostgreSQL + S3
// with xorb ranges fetched from presigned S3 URLs.
func TestJSClientXet(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		h := StartHub(t, HubOptions{})
		RunNode(t, "js/xet.test.mjs", h.Users(t)...)
	})
	t.Run("postgres+s3", func(t *testing.T) {
		h := StartHub(t, HubOptions{StoreArgs: scaleOutStore(t)})
		RunNode(t, "js/xet.test.mjs", append(h.Users(t), "E2E_PREFIX=xets3")...)
	})
}

// xetUpload sends a file through the CAS as a client would (xorbs, shard)
// with a write token of repo, and commits its LFS pointer.
func (a hubClient) xetUpload(repo, path string, u *xettest.Upload) {
	a.t.Helper()
	var tok struct{ AccessToken, CasURL string }
	if code := a.json("GET", "/api/models/"+repo+"/xet-write-token/main", nil, &tok); code != 200 {
		a.t.Fatalf("write token: %d", code)
	}
	post := func(url string, body []byte) {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			a.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			a.t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
		}
	}
	for h, b := range u.Xorbs {
		post(tok.CasURL+"/v1/xorbs/default/"+h.String(), b)
	}
	post(tok.CasURL+"/v1/shards", u.Shard(a.t))
	sum := sha256.Sum256(u.Data)
	lines := fmt.Sprintf(`{"key":"header","value":{"summary":"xet"}}`+"\n"+`{"key":"lfsFile","value":{"path":%q,"algo":"sha256","oid":%q,"size":%d}}`,
		path, hex.EncodeToString(sum[:]), len(u.Data))
	if code, b, _ := a.do("POST", "/api/models/"+repo+"/commit/main", strings.NewReader(lines)); code != 200 {
		a.t.Fatalf("commit: %d %s", code, b)
	}
}

// TestXetMigrateStore moves a hub holding files uploaded through Xet from
// the embedded default to PostgreSQL + S3: the xorbs are copied (and
// rehashed) with the blobs, the Xet tables with the metadata, and the files
// still download through the CAS (now from presigned S3 ranges) and by
// plain resolve.
func TestXetMigrateStore(t *testing.T) {
	target := scaleOutStore(t)
	dir := t.TempDir()
	h := StartHub(t, HubOptions{StoreArgs: []string{"--data", dir}})
	tok := tokenOf(h.Users(t), "TOKEN_ALICE")
	a := hubClient{t, h.URL, tok}
	a.json("POST", "/api/repos/create", map[string]any{"name": "xmove", "organization": "alice", "private": true}, nil)
	c := xettest.NewClient(xet.SchemeLZ4)
	c.MaxChunks = 20
	u := c.Upload(t, append(xettest.Compressible(1, 3<<20), xettest.RandomData(2, 2<<20)...))
	a.xetUpload("alice/xmove", "w.bin", u)
	h.Stop(t)

	out, err := runCmd(h.bin, "migrate-store", "--from-db", "sqlite:"+dir+"/agora.db", "--from-blobs", "file:"+dir+"/blobs",
		"--to-db", target[1], "--to-blobs", target[3])
	if err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	if want := fmt.Sprintf("xorbs: %d copied and verified", len(u.Xorbs)); !strings.Contains(out, want) {
		t.Fatalf("migrate-store output lacks %q:\n%s", want, out)
	}
	h2 := StartHub(t, HubOptions{StoreArgs: target})
	b := hubClient{t, h2.URL, tok}
	code, got, hd := b.do("GET", "/alice/xmove/resolve/main/w.bin", nil)
	if code != 200 || !bytes.Equal(got, u.Data) || hd.Get("X-Xet-Hash") != u.File.Hash.String() {
		t.Fatalf("plain resolve after migration: %d, %d bytes, X-Xet-Hash %q", code, len(got), hd.Get("X-Xet-Hash"))
	}
	var rt struct{ AccessToken, CasURL string }
	if code := b.json("GET", "/api/models/alice/xmove/xet-read-token/main", nil, &rt); code != 200 {
		t.Fatalf("read token: %d", code)
	}
	req, _ := http.NewRequest("GET", rt.CasURL+"/v2/reconstructions/"+u.File.Hash.String(), nil)
	req.Header.Set("Authorization", "Bearer "+rt.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rec xet.ReconstructionResponseV2
	json.NewDecoder(resp.Body).Decode(&rec)
	resp.Body.Close()
	var rebuilt []byte
	for _, term := range rec.Terms {
		for _, f := range rec.Xorbs[term.Hash] {
			r := f.Ranges[0]
			if r.Chunks.Start > term.Range.Start || term.Range.End > r.Chunks.End {
				continue
			}
			dreq, _ := http.NewRequest("GET", f.URL, nil)
			dreq.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Bytes.Start, r.Bytes.End))
			dresp, err := http.DefaultClient.Do(dreq)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(dresp.Body)
			dresp.Body.Close()
			if dresp.StatusCode != http.StatusPartialContent || !strings.Contains(f.URL, "X-Amz-Signature") {
				t.Fatalf("xorb range %s: %d", f.URL, dresp.StatusCode)
			}
			cr := xet.NewChunkReader(bytes.NewReader(body))
			for i := r.Chunks.Start; i < r.Chunks.End; i++ {
				raw, err := cr.Next()
				if err != nil {
					t.Fatal(err)
				}
				if i >= term.Range.Start && i < term.Range.End {
					rebuilt = append(rebuilt, raw...)
				}
			}
			break
		}
	}
	if !bytes.Equal(rebuilt, u.Data) {
		t.Fatalf("reconstruction after migration: %d bytes, want %d", len(rebuilt), len(u.Data))
	}
}
