package casapi_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/blob/fsblob"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/xet"
	"github.com/agorahub/agora/internal/xet/cas"
	"github.com/agorahub/agora/internal/xet/casapi"
	"github.com/agorahub/agora/internal/xet/xettest"
)

// env is the whole stack in one process: hub, API and CAS on SQLite and
// files, as agora serve mounts them.
type env struct {
	t         *testing.T
	url       string
	meta      meta.Store
	xorbs     blob.Keyspace
	hub       *hub.Service
	cas       *cas.Service
	alice     string // hub write token
	aliceRead string // hub read token
	bob       string
}

type options struct {
	xetOff bool
}

func newEnv(t *testing.T, o options) *env {
	t.Helper()
	dir := t.TempDir()
	m, err := sqlitemeta.Open(t.Context(), filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	lg := slog.New(slog.NewTextHandler(io.Discard, nil))
	ks, err := blob.OpenKeyspace(b, cas.XorbSpace)
	if err != nil {
		t.Fatal(err)
	}
	xs, err := cas.New(t.Context(), lg, cas.DefaultConfig(), m, ks)
	if err != nil {
		t.Fatal(err)
	}
	cfg := hub.DefaultConfig()
	cfg.LFSThreshold, cfg.MaxRegularFile = 1<<10, 1<<20
	svc, err := hub.New(t.Context(), lg, cfg, m, xs.Overlay(b))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{}, casapi.Authenticator(svc), nil)
	if err != nil {
		t.Fatal(err)
	}
	apiCfg := hubapi.Config{}
	if !o.xetOff {
		h := casapi.New(lg, srv, xs, casapi.Config{})
		srv.Mount(h)
		apiCfg.Xet, apiCfg.CASURL = xs, h.URL
	}
	srv.Mount(hubapi.New(lg, srv, svc, apiCfg))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, url: ts.URL, meta: m, xorbs: ks, hub: svc, cas: xs}
	tok := func(name, role string) string {
		u, err := m.UserByName(t.Context(), name)
		if err != nil {
			u = &meta.User{Name: name}
			if err := m.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
		}
		s := auth.NewTokenSecret()
		if err := m.CreateToken(t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(s), Role: role}); err != nil {
			t.Fatal(err)
		}
		return string(s)
	}
	e.alice, e.aliceRead, e.bob = tok("alice", meta.RoleWrite), tok("alice", meta.RoleRead), tok("bob", meta.RoleWrite)
	return e
}

type resp struct {
	status int
	h      http.Header
	body   []byte
}

// do sends a request to the hub; path may be absolute (a CAS or data URL).
func (e *env) do(method, path, token string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.url + path
	}
	req, err := http.NewRequest(method, u, rd)
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

func (e *env) ok(r resp) resp {
	e.t.Helper()
	if r.status != 200 {
		e.t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r
}

func (e *env) createRepo(name string, private bool) {
	e.t.Helper()
	e.ok(e.do("POST", "/api/repos/create", e.alice, map[string]any{"name": name, "organization": "alice", "type": "model", "private": private}))
}

// casToken is what a token route answers.
type casToken struct {
	AccessToken string `json:"accessToken"`
	Exp         int64  `json:"exp"`
	CasURL      string `json:"casUrl"`
}

func (e *env) casToken(repo, kind, hubToken string) casToken {
	e.t.Helper()
	r := e.ok(e.do("GET", "/api/models/"+repo+"/xet-"+kind+"-token/main", hubToken, nil))
	var ct casToken
	if err := json.Unmarshal(r.body, &ct); err != nil {
		e.t.Fatal(err)
	}
	return ct
}

// sendXet uploads u through the CAS with a write token as a client does,
// and commits it under path with the LFS pointer, returning the commit.
func (e *env) sendXet(repo, path string, u *xettest.Upload) string {
	e.t.Helper()
	ct := e.casToken(repo, "write", e.alice)
	for h, b := range u.Xorbs {
		e.ok(e.do("POST", ct.CasURL+"/v1/xorbs/default/"+h.String(), ct.AccessToken, b))
	}
	e.ok(e.do("POST", ct.CasURL+"/v1/shards", ct.AccessToken, u.Shard(e.t)))
	return e.commitLFS(repo, path, u.Data)
}

func (e *env) commitLFS(repo, path string, data []byte) string {
	e.t.Helper()
	sum := sha256.Sum256(data)
	body := ndjson(map[string]any{"key": "header", "value": map[string]any{"summary": "add " + path, "description": ""}},
		map[string]any{"key": "lfsFile", "value": map[string]any{"path": path, "algo": "sha256", "oid": hex.EncodeToString(sum[:]), "size": len(data)}})
	r := e.ok(e.do("POST", "/api/models/"+repo+"/commit/main", e.alice, body))
	var c struct {
		CommitOID string `json:"commitOid"`
	}
	json.Unmarshal(r.body, &c)
	return c.CommitOID
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

// download reconstructs a file through the CAS as hf_xet does: the
// reconstruction (v1 or v2), then each fetch through its URL, without
// credentials, with exactly the range it names.
func (e *env) download(casURL, token string, h string, version int, rng string) ([]byte, resp) {
	e.t.Helper()
	var hdr []string
	if rng != "" {
		hdr = []string{"Range", rng}
	}
	r := e.do("GET", fmt.Sprintf("%s/v%d/reconstructions/%s", casURL, version, h), token, nil, hdr...)
	if r.status != 200 {
		return nil, r
	}
	type fetch struct {
		chunks xet.ChunkRange
		url    string
		from   uint64
		to     uint64
	}
	var offset uint64
	var terms []xet.ReconstructionTerm
	fetches := map[xet.Hash][]fetch{}
	if version == 1 {
		var v1 xet.ReconstructionResponse
		if err := json.Unmarshal(r.body, &v1); err != nil {
			e.t.Fatal(err)
		}
		offset, terms = v1.OffsetIntoFirstRange, v1.Terms
		for x, fs := range v1.FetchInfo {
			for _, f := range fs {
				fetches[x] = append(fetches[x], fetch{f.Range, f.URL, f.URLRange.Start, f.URLRange.End})
			}
		}
	} else {
		var v2 xet.ReconstructionResponseV2
		if err := json.Unmarshal(r.body, &v2); err != nil {
			e.t.Fatal(err)
		}
		offset, terms = v2.OffsetIntoFirstRange, v2.Terms
		for x, fs := range v2.Xorbs {
			for _, f := range fs {
				if len(f.Ranges) != 1 {
					e.t.Fatalf("v2 entry with %d ranges, want one per URL", len(f.Ranges))
				}
				fetches[x] = append(fetches[x], fetch{f.Ranges[0].Chunks, f.URL, f.Ranges[0].Bytes.Start, f.Ranges[0].Bytes.End})
			}
		}
	}
	var out []byte
	for _, t := range terms {
		var f *fetch
		for i := range fetches[t.Hash] {
			if c := fetches[t.Hash][i].chunks; c.Start <= t.Range.Start && t.Range.End <= c.End {
				f = &fetches[t.Hash][i]
			}
		}
		if f == nil {
			e.t.Fatalf("term %+v in no fetch", t)
		}
		d := e.do("GET", f.url, "", nil, "Range", fmt.Sprintf("bytes=%d-%d", f.from, f.to))
		if d.status != http.StatusPartialContent || uint64(len(d.body)) != f.to-f.from+1 {
			e.t.Fatalf("fetch %s: %d, %d bytes", f.url, d.status, len(d.body))
		}
		cr := xet.NewChunkReader(bytes.NewReader(d.body))
		var got []byte
		for i := f.chunks.Start; i < f.chunks.End; i++ {
			raw, err := cr.Next()
			if err != nil {
				e.t.Fatal(err)
			}
			if i >= t.Range.Start && i < t.Range.End {
				got = append(got, raw...)
			}
		}
		if len(got) != int(t.UnpackedLength) {
			e.t.Fatalf("term decodes to %d bytes, unpacked_length %d", len(got), t.UnpackedLength)
		}
		n := min(uint64(len(got)), offset)
		out = append(out, got[n:]...)
		offset -= n
	}
	return out, r
}

func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
