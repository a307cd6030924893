package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/hubapi"
	"github.com/agorahub/agora/internal/meta"
	"github.com/agorahub/agora/internal/meta/sqlitemeta"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/testenv/storetest"
	"github.com/agorahub/agora/internal/web"
)

// env is a hub in-process over real stores (SQLite and the filesystem in
// a temporary directory), served with the API and the pages mounted as
// `agora serve` mounts them.
type env struct {
	t     testing.TB
	svc   *hub.Service
	store *sqlitemeta.Store
	srv   *server.Server
	h     http.Handler
	url   string
	ids   map[string]*auth.Identity
	// target is the test server that answers for url.
	target *url.URL
}

// testLogger sends logs to t.Log, so they show only for failing tests.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, "http://hub.test")
}

// newEnvWith serves the hub at public URL base.
func newEnvWith(t testing.TB, base string) *env {
	t.Helper()
	return newEnvConfig(t, base, web.Config{})
}

// newEnvConfig serves the hub at base with the web UI configured by wc.
func newEnvConfig(t testing.TB, base string, wc web.Config) *env {
	t.Helper()
	m, b := storetest.Local(t)
	lg := testLogger(t)
	cfg := hub.DefaultConfig()
	cfg.LFSThreshold = 1 << 10
	svc, err := hub.New(t.Context(), lg, cfg, m, b)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(lg, server.Config{PublicURL: base}, svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Mount(hubapi.New(lg, srv, svc, hubapi.Config{}))
	srv.Mount(web.New(lg, srv, svc, wc))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	target, _ := url.Parse(ts.URL)
	return &env{t: t, svc: svc, store: m, srv: srv, h: srv.Handler(), url: strings.TrimSuffix(base, "/hub"),
		ids: map[string]*auth.Identity{}, target: target}
}

// user creates an account with a password and returns its identity.
func (e *env) user(name, password string, admin bool) *auth.Identity {
	e.t.Helper()
	u := &meta.User{Name: name, IsAdmin: admin}
	if password != "" {
		h, err := auth.HashPassword(password)
		if err != nil {
			e.t.Fatal(err)
		}
		u.PasswordHash = h
	}
	if err := e.store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	id := &auth.Identity{User: u, Role: meta.RoleWrite}
	e.ids[name] = id
	return id
}

// repo creates a repository with files (path, content pairs).
func (e *env) repo(who *auth.Identity, typ, ns, name string, private bool, files ...string) hub.RepoRef {
	e.t.Helper()
	ref := hub.RepoRef{Type: typ, Namespace: ns, Name: name}
	if _, err := e.svc.CreateRepo(e.t.Context(), who, ref, hub.CreateRepoOptions{Private: private}); err != nil {
		e.t.Fatal(err)
	}
	if len(files) > 0 {
		e.commit(who, ref, "Add files", files...)
	}
	return ref
}

// commit commits regular files (path, content pairs) to main.
func (e *env) commit(who *auth.Identity, ref hub.RepoRef, title string, files ...string) {
	e.t.Helper()
	var ops []hub.CommitOp
	for i := 0; i+1 < len(files); i += 2 {
		ops = append(ops, hub.CommitOp{Kind: hub.OpFile, Path: files[i], Content: []byte(files[i+1])})
	}
	if _, err := e.svc.Commit(e.t.Context(), who, ref, hub.CommitRequest{Revision: "main", Summary: title, Ops: ops}); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a client with its own cookies, like one browser profile.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		Transport:     serverTransport{e.target},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// serverTransport sends requests for the public URL to the test server
// (the client, and its cookie jar, still see the public URL).
type serverTransport struct{ target *url.URL }

func (t serverTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = t.target.Scheme, t.target.Host
	return http.DefaultTransport.RoundTrip(r2)
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) response {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, res.Header, string(data)}
}

func (b *browser) get(path string) response {
	b.e.t.Helper()
	return b.do(http.MethodGet, path, nil)
}

// page GETs path and fails the test unless it answers 200.
func (b *browser) page(path string) string {
	b.e.t.Helper()
	r := b.get(path)
	if r.status != http.StatusOK {
		b.e.t.Fatalf("GET %s: status %d\n%s", path, r.status, r.body)
	}
	return r.body
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf returns the first form token of a page.
func csrf(t testing.TB, html string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", html)
	}
	return m[1]
}

// post submits a form with the token of the page at from.
func (b *browser) post(from, path string, form url.Values) response {
	b.e.t.Helper()
	form.Set("csrf", csrf(b.e.t, b.page(from)))
	return b.do(http.MethodPost, path, form)
}

// as gives the browser a session for id without going through the form
// (whose password hashing is slow under the race detector).
func (b *browser) as(id *auth.Identity) {
	u, _ := url.Parse(b.e.url)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "agora_session", Value: b.e.svc.NewSession(id), Path: "/"}})
}

// signIn signs the browser in through the login form.
func (b *browser) signIn(name, password string) {
	b.e.t.Helper()
	r := b.post("/login", "/login", url.Values{"username": {name}, "password": {password}, "next": {"/"}})
	if r.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in as %s: status %d\n%s", name, r.status, r.body)
	}
}
