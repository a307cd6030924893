package mirror_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/blob"
	"github.com/agorahub/agora/internal/gitproto"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/mirror"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
	"github.com/agorahub/agora/internal/web"
)

// testLogger sends logs to t.Log, so they show only for failing tests.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// agora is one hub on loopback.
type agora struct {
	t     *testing.T
	URL   string
	svc   *hub.Service
	meta  meta.Store
	blobs blob.Store
	srv   *httptest.Server
	// contentGets counts GETs of LFS content (signed download URLs).
	contentGets atomic.Int64
}

// users of a test hub: their write tokens.
type users struct{ admin, alice, bob string }

func newHubConfig() hub.Config {
	cfg := hub.DefaultConfig()
	cfg.LFSThreshold, cfg.MaxRegularFile = 1<<10, 1<<20
	return cfg
}

// startAgora starts a hub over m and b, with mr (if not nil) as its mirror.
func startAgora(t *testing.T, m meta.Store, b blob.Store, withMirror func(*hub.Service) hub.Mirror) *agora {
	t.Helper()
	lg := testLogger(t)
	svc, err := hub.New(t.Context(), lg, newHubConfig(), m, b)
	if err != nil {
		t.Fatal(err)
	}
	if withMirror != nil {
		svc.Mirror = withMirror(svc)
	}
	srv, err := server.New(lg, server.Config{}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(hubapi.New(lg, srv, svc, hubapi.Config{ProxyDownloads: true}))
	srv.Mount(gitproto.New(lg, srv, svc, gitproto.Config{}))
	srv.Mount(web.New(lg, srv, svc, web.Config{}))
	a := &agora{t: t, svc: svc, meta: m, blobs: b}
	h := srv.Handler()
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/lfs/download/") {
			a.contentGets.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	a.URL = a.srv.URL
	return a
}

// addUser creates a user and returns a write token.
func (a *agora) addUser(name string, admin bool) string {
	a.t.Helper()
	u := &meta.User{Name: name, IsAdmin: admin}
	if err := a.meta.CreateUser(a.t.Context(), u); err != nil {
		a.t.Fatal(err)
	}
	s := auth.NewTokenSecret()
	if err := a.meta.CreateToken(a.t.Context(), &meta.Token{UserID: u.ID, Name: "t", Hash: auth.HashToken(s), Role: meta.RoleWrite}); err != nil {
		a.t.Fatal(err)
	}
	return string(s)
}

func (a *agora) who(token string) *auth.Identity {
	a.t.Helper()
	id, err := auth.Authenticate(a.t.Context(), a.meta, auth.Secret(token))
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}

// putLFS stores content in the blob store and links it to the repository.
func (a *agora) putLFS(ref hub.RepoRef, data []byte) string {
	a.t.Helper()
	ctx := a.t.Context()
	sum := sha256.Sum256(data)
	oid := hex.EncodeToString(sum[:])
	w, err := a.blobs.Create(ctx, oid, int64(len(data)))
	if err != nil {
		a.t.Fatal(err)
	}
	w.Write(data)
	if _, err := w.Commit(ctx); err != nil {
		a.t.Fatal(err)
	}
	r, err := a.meta.RepoByName(ctx, ref.Type, ref.Namespace, ref.Name)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.meta.AddLFSObject(ctx, r.ID, oid, int64(len(data))); err != nil {
		a.t.Fatal(err)
	}
	return oid
}

// file is one file of a test commit: regular unless lfs.
type file struct {
	path string
	data []byte
	lfs  bool
}

// commit commits files to branch of ref as token's user.
func (a *agora) commit(token string, ref hub.RepoRef, branch string, files ...file) string {
	a.t.Helper()
	var ops []hub.CommitOp
	for _, f := range files {
		if f.lfs {
			oid := a.putLFS(ref, f.data)
			ops = append(ops, hub.CommitOp{Kind: hub.OpLFSFile, Path: f.path, OID: oid, Size: int64(len(f.data))})
		} else {
			ops = append(ops, hub.CommitOp{Kind: hub.OpFile, Path: f.path, Content: f.data})
		}
	}
	res, err := a.svc.Commit(a.t.Context(), a.who(token), ref, hub.CommitRequest{Revision: branch, Summary: "update " + files[0].path, Ops: ops})
	if err != nil {
		a.t.Fatal(err)
	}
	return res.Commit.String()
}

// response is an HTTP answer read whole.
type response struct {
	status int
	h      http.Header
	body   []byte
}

func (a *agora) do(method, path, token string, hdr ...string) response {
	a.t.Helper()
	return doURL(a.t, method, a.URL+path, token, nil, hdr...)
}

func doURL(t testing.TB, method, u, token string, body []byte, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
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
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return response{status: -1, h: res.Header, body: data}
	}
	return response{res.StatusCode, res.Header, data}
}

// jsonOf decodes a JSON answer into a generic value for comparisons.
func jsonOf(t testing.TB, r response) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("status %d: %v: %s", r.status, err, r.body)
	}
	return v
}

// fixture is an upstream Agora with repositories of every kind.
type fixture struct {
	up     *agora
	tokens users
	// the upstream's repositories
	public, private, gated, dataset hub.RepoRef
	weights                         []byte // LFS file of public/main
	big                             []byte // a larger LFS file of public/main
}

var (
	publicRef  = hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "model"}
	privateRef = hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "secret"}
	gatedRef   = hub.RepoRef{Type: hub.TypeModel, Namespace: "alice", Name: "gated"}
	datasetRef = hub.RepoRef{Type: hub.TypeDataset, Namespace: "alice", Name: "data"}
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m, b := storetest.Local(t)
	up := startAgora(t, m, b, nil)
	f := &fixture{up: up, public: publicRef, private: privateRef, gated: gatedRef, dataset: datasetRef,
		weights: pattern(5000, 1), big: pattern(3<<20, 2)}
	f.tokens.admin = up.addUser("root", true)
	f.tokens.alice = up.addUser("alice", false)
	f.tokens.bob = up.addUser("bob", false)
	ctx := t.Context()
	alice := up.who(f.tokens.alice)
	for _, ref := range []hub.RepoRef{f.public, f.private, f.gated, f.dataset} {
		if _, err := up.svc.CreateRepo(ctx, alice, ref, hub.CreateRepoOptions{Private: ref == f.private}); err != nil {
			t.Fatal(err)
		}
	}
	gated := "manual"
	if _, err := up.svc.UpdateSettings(ctx, alice, f.gated, hub.RepoSettings{Gated: &gated}); err != nil {
		t.Fatal(err)
	}
	card := "---\nlicense: apache-2.0\npipeline_tag: text-generation\ntags:\n- mirrored\n---\n# A model\n"
	up.commit(f.tokens.alice, f.public, "main",
		file{path: "README.md", data: []byte(card)},
		file{path: "config.json", data: []byte(`{"model_type":"llama","architectures":["LlamaForCausalLM"]}`)},
		file{path: "weights.bin", data: f.weights, lfs: true},
		file{path: "sub/dir/notes.txt", data: []byte("notes\n")})
	if err := up.svc.CreateBranch(ctx, alice, f.public, "dev", hub.BranchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := up.svc.CreateTag(ctx, alice, f.public, "main", "v1", ""); err != nil {
		t.Fatal(err)
	}
	if err := up.svc.CreateTag(ctx, alice, f.public, "main", "v1-annotated", "release one"); err != nil {
		t.Fatal(err)
	}
	up.commit(f.tokens.alice, f.public, "main", file{path: "big.bin", data: f.big, lfs: true})
	up.commit(f.tokens.alice, f.public, "dev", file{path: "dev.txt", data: []byte("dev only\n")})
	up.commit(f.tokens.alice, f.private, "main", file{path: "secret.bin", data: pattern(2000, 3), lfs: true})
	up.commit(f.tokens.alice, f.gated, "main", file{path: "gated.bin", data: pattern(2000, 4), lfs: true})
	up.commit(f.tokens.alice, f.dataset, "main", file{path: "data/train.csv", data: []byte("a,b\n1,2\n")})
	return f
}

// mirrorHub is a mirror Agora.
type mirrorHub struct {
	*agora
	mirror *mirror.Mirror
	admin  string
	user   string
}

type mirrorOpts struct {
	token     string
	policy    string
	ttl       time.Duration
	cacheSize int64
	offline   bool
	now       func() time.Time
	timeout   time.Duration
	metrics   mirror.Metrics
	chunkSize int64
	m         meta.Store
	b         blob.Store
}

func startMirror(t *testing.T, upstreamURL string, o mirrorOpts) *mirrorHub {
	t.Helper()
	m, b := o.m, o.b
	if m == nil {
		m, b = storetest.Local(t)
	}
	pol, err := mirror.ParsePolicy(o.policy)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mirror.Config{
		Upstreams: []mirror.Upstream{{Name: "up", URL: upstreamURL, Token: mirror.Secret(o.token), Policy: pol}},
		TTL:       o.ttl, CacheSize: o.cacheSize, Offline: o.offline, Now: o.now, Timeout: o.timeout,
		Metrics: o.metrics, SpoolDir: t.TempDir(), Poll: 20 * time.Millisecond, ChunkSize: o.chunkSize,
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	mh := &mirrorHub{}
	a := startAgora(t, m, b, func(svc *hub.Service) hub.Mirror {
		mr, err := mirror.New(testLogger(t), cfg, m, b, svc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(mr.Close)
		mh.mirror = mr
		return mr
	})
	if err := mirror.SaveUpstreams(t.Context(), m, bytes.Repeat([]byte{7}, 32), cfg.Upstreams); err != nil {
		t.Fatal(err)
	}
	mh.agora = a
	mh.admin = a.addUser(fmt.Sprintf("admin%d", time.Now().UnixNano()%1e6), true)
	mh.user = a.addUser(fmt.Sprintf("user%d", time.Now().UnixNano()%1e6), false)
	return mh
}

// faultProxy forwards to an upstream and can break its LFS content
// answers.
type faultProxy struct {
	URL string
	mu  sync.Mutex
	// mode: "", "truncate", "corrupt", "429", "500", "hang", "gate"
	mode string
	// gate: content answers send gateAt bytes, then wait for release.
	gateAt  int64
	release chan struct{}
	sent    atomic.Int64 // content bytes sent
	stop    chan struct{}
	srv     *httptest.Server
}

// srvClose stops the proxy: the upstream is unreachable from then on.
func (p *faultProxy) srvClose() { p.srv.Close() }

func oidOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func newFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	target, _ := url.Parse(upstream)
	p := &faultProxy{release: make(chan struct{}), stop: make(chan struct{})}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host // the upstream signs URLs for the proxy's host
		},
		FlushInterval: -1,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		content := r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/lfs/download/")
		if !content || mode == "" {
			rp.ServeHTTP(w, r)
			return
		}
		switch mode {
		case "429":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			return
		case "hang":
			select {
			case <-r.Context().Done():
			case <-p.stop:
			}
			return
		}
		rp.ServeHTTP(&breakingWriter{ResponseWriter: w, p: p, mode: mode}, r)
	}))
	t.Cleanup(func() { close(p.stop); srv.Close() })
	p.URL, p.srv = srv.URL, srv
	return p
}

func (p *faultProxy) set(mode string) {
	p.mu.Lock()
	p.mode = mode
	p.mu.Unlock()
}

// breakingWriter damages a content answer on its way.
type breakingWriter struct {
	http.ResponseWriter
	p    *faultProxy
	mode string
	n    int64
}

func (w *breakingWriter) Write(b []byte) (int, error) {
	switch w.mode {
	case "truncate":
		w.ResponseWriter.Write(b[:len(b)/2])
		w.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "corrupt":
		if w.n == 0 && len(b) > 0 {
			b = append([]byte{b[0] ^ 0xff}, b[1:]...)
		}
	case "gate":
		if w.n+int64(len(b)) > w.p.gateAt {
			k := max(0, w.p.gateAt-w.n)
			if k > 0 {
				w.ResponseWriter.Write(b[:k])
				w.n += k
				w.p.sent.Add(k)
				w.ResponseWriter.(http.Flusher).Flush()
			}
			select {
			case <-w.p.release:
			case <-w.p.stop:
				panic(http.ErrAbortHandler)
			}
			n, err := w.ResponseWriter.Write(b[k:])
			w.n += int64(n)
			w.p.sent.Add(int64(n))
			return int(k) + n, err
		}
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	w.p.sent.Add(int64(n))
	return n, err
}

func (w *breakingWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }
