package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAccessMatrix asks every route family of a real `agora serve`, as
// every kind of caller, about repositories in every state, and checks two
// things per cell: the status (and the Hub's X-Error-Code) a small rule
// table below predicts, and that no protected byte or name reaches a
// caller who may not have it: the names of private repositories, the
// content of their files and of gated files, the LFS ids of files the
// caller may not download, and signed transfer URLs. The rules are
// written from the Hub's semantics (PROTOCOL.md §1.5, the issue's
// statement of who may do what), not by calling internal/access, so that
// the test does not check the policy against itself.
func TestAccessMatrix(t *testing.T) {
	m := newMatrix(t)
	cells, leaks, repoFams := 0, 0, 0
	start := time.Now()
	fams := m.families()
	for _, fam := range fams {
		var targets []*mrepo
		if fam.repoScoped {
			targets = m.repos
			repoFams++
		} else {
			targets = []*mrepo{nil}
		}
		for _, rp := range targets {
			for _, a := range m.actors {
				m.cellRepo = rp
				want := m.expect(fam, a, rp)
				req := fam.build(m, a, rp, want)
				got := m.send(a, req)
				cells++
				label := fam.name + " / " + a.name
				if rp != nil {
					label += " / " + rp.label
				}
				if got.status != want.status || got.hdr.Get("X-Error-Code") != want.code {
					t.Errorf("%s: %d %q, want %d %q (%s %s; body %.160q)", label, got.status, got.hdr.Get("X-Error-Code"),
						want.status, want.code, req.method, req.path, got.body)
				}
				if leak := m.leak(fam, a, rp, req, got); leak != "" {
					leaks++
					t.Errorf("%s: leaks %s (%s %s)", label, leak, req.method, req.path)
				}
				if fam.after != nil && got.status == want.status && want.status == 200 {
					fam.after(m, a, rp, got)
				}
			}
		}
	}
	t.Logf("access matrix: %d cells: %d repository route families × %d actors × %d repository states, and %d account and organisation routes × %d actors; %d leaks; %v",
		cells, repoFams, len(m.actors), len(m.repos), len(fams)-repoFams, len(m.actors), leaks, time.Since(start).Round(time.Millisecond))
	// Commits, pushes and uploads the matrix let through must be git's.
	var ids []string
	for _, r := range m.repos {
		ids = append(ids, r.id())
	}
	gitCheck(t, m.h.URL, m.own, ids)
}

// ---- the world: accounts, tokens and repositories

// mrepo is a repository of the matrix and what it must keep to itself.
type mrepo struct {
	label   string // its state, e.g. "user private"
	ns      string // "own" or "acme"
	name    string
	private bool
	gated   string // "", "auto" or "manual"
	// secret is in secret.txt; lfsSecret in weights.bin (an LFS file,
	// whose id is lfsOID).
	secret, lfsSecret, lfsOID string
	// fgWrite and fgRead are own's fine-grained tokens scoped to this
	// repository: repo.write, and repo.content.read only.
	fgWrite, fgRead string
	// gate is each gated-actor's request state here ("" none).
	gate map[string]string
}

func (r *mrepo) id() string { return r.ns + "/" + r.name }

// mactor is a caller.
type mactor struct {
	name string
	user string // "" anonymous
	// token is sent as a bearer token; tokenOf picks a per-repository
	// one (own's fine-grained tokens); session is a web session cookie.
	token   string
	tokenOf func(*mrepo) string
	session string
	kind    string // anon, session, write, read, fgWrite, fgRead, fgOther, bad
	admin   bool
	orgRole string // role in acme ("" not a member)
}

type matrix struct {
	t      *testing.T
	h      *Hub
	client *http.Client
	own    string // own's write token
	repos  []*mrepo
	actors []*mactor
	seq    int
	// cellRepo is the repository of the cell being sent (a disposable
	// copy for deletions and moves), for per-repository tokens.
	cellRepo *mrepo
	// hidden are the protected names: private repositories' names.
	hidden []string
}

// rnd is a short random suffix, so that protected names and contents
// cannot appear by chance.
func rnd() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newMatrix(t *testing.T) *matrix {
	h := StartHub(t, HubOptions{ServeArgs: []string{"--rate-limit-anon", "off", "--rate-limit-user", "off"}})
	m := &matrix{t: t, h: h, client: &http.Client{Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	m.own = h.Admin(t, "user", "add", "own", "--password", "own-password-123", "--email", "own@example.org")
	stranger := h.Admin(t, "user", "add", "stranger")
	root := h.Admin(t, "user", "add", "root", "--admin")
	h.Admin(t, "org", "add", "acme", "--owner", "own")
	members := map[string]string{}
	for _, role := range []string{"no_access", "read", "contributor", "write", "admin"} {
		name := "m-" + strings.ReplaceAll(role, "_", "")
		members[role] = h.Admin(t, "user", "add", name)
		h.Admin(t, "org", "member", "acme", name, "--role", role)
	}
	h.Admin(t, "user", "add", "dummy")
	h.Admin(t, "org", "member", "acme", "dummy", "--role", "read")
	h.Admin(t, "user", "add", "applicant")
	gPend := h.Admin(t, "user", "add", "g-pending")
	gAppr := h.Admin(t, "user", "add", "g-approved")
	gRej := h.Admin(t, "user", "add", "g-rejected")
	ownRead := h.Admin(t, "token", "add", "own", "--read", "--name", "ro")
	h.Admin(t, "token", "add", "own", "--name", "revoked")
	revoked := h.Admin(t, "token", "add", "own", "--name", "gone")
	h.Admin(t, "token", "revoke", "own", "gone")
	expired := h.Admin(t, "token", "add", "own", "--name", "old", "--expires", "1s")

	// Repositories: every state, owned by a user and by an organisation.
	for _, ns := range []string{"own", "acme"} {
		owner := map[string]string{"own": "user", "acme": "org"}[ns]
		for _, st := range []struct {
			label, name string
			private     bool
			gated       string
		}{
			{"public", "pub", false, ""},
			{"private", "hid-" + rnd(), true, ""},
			{"gated auto", "gauto", false, "auto"},
			{"gated manual", "gman", false, "manual"},
		} {
			r := &mrepo{label: owner + " " + st.label, ns: ns, name: st.name, private: st.private, gated: st.gated,
				secret: "SECRET-" + rnd(), lfsSecret: "LFSSECRET-" + rnd(), gate: map[string]string{}}
			m.createRepo(r)
			m.repos = append(m.repos, r)
			if r.private {
				m.hidden = append(m.hidden, r.name)
			}
		}
	}
	m.createRepo(&mrepo{ns: "own", name: "elsewhere", secret: "x", lfsSecret: "y"})
	for _, r := range m.repos {
		r.fgWrite = h.Admin(t, "token", "add", "own", "--name", "fgw-"+r.ns+"-"+r.name, "--scope", "model:"+r.id()+"=repo.write")
		r.fgRead = h.Admin(t, "token", "add", "own", "--name", "fgr-"+r.ns+"-"+r.name, "--scope", "model:"+r.id()+"=repo.content.read")
	}
	fgOther := h.Admin(t, "token", "add", "own", "--name", "fg-other", "--scope", "model:own/elsewhere=repo.write")

	// Gated states: g-approved was granted access everywhere; on manual
	// repositories g-pending asked and waits, g-rejected asked and was
	// refused. (On auto repositories a request is accepted at once.)
	for _, r := range m.repos {
		if r.gated == "" {
			continue
		}
		m.mustStatus(200, "POST", "/api/models/"+r.id()+"/user-access-request/grant", m.own, map[string]any{"user": "g-approved"})
		r.gate["g-approved"] = "accepted"
		if r.gated == "manual" {
			for _, u := range []struct{ name, token string }{{"g-pending", gPend}, {"g-rejected", gRej}} {
				m.mustStatus(303, "POST", "/"+r.id()+"/ask-access", u.token, map[string]any{})
				r.gate[u.name] = "pending"
			}
			m.mustStatus(200, "POST", "/api/models/"+r.id()+"/user-access-request/handle", m.own, map[string]any{"user": "g-rejected", "status": "rejected"})
			r.gate["g-rejected"] = "rejected"
		}
	}
	session := m.signIn("own", "own-password-123")
	time.Sleep(time.Until(time.Now().Add(1100 * time.Millisecond))) // let "old" expire

	m.actors = []*mactor{
		{name: "anonymous", kind: "anon"},
		{name: "other user", user: "stranger", token: stranger, kind: "write"},
		{name: "owner, web session", user: "own", session: session, kind: "session", orgRole: "admin"},
		{name: "owner, write token", user: "own", token: m.own, kind: "write", orgRole: "admin"},
		{name: "owner, read token", user: "own", token: ownRead, kind: "read", orgRole: "admin"},
		{name: "owner, fine-grained write on the repo", user: "own", tokenOf: func(r *mrepo) string {
			if r == nil {
				return m.repos[0].fgWrite
			}
			return r.fgWrite
		}, kind: "fgWrite", orgRole: "admin"},
		{name: "owner, fine-grained read on the repo", user: "own", tokenOf: func(r *mrepo) string {
			if r == nil {
				return m.repos[0].fgRead
			}
			return r.fgRead
		}, kind: "fgRead", orgRole: "admin"},
		{name: "owner, fine-grained on another repo", user: "own", token: fgOther, kind: "fgOther", orgRole: "admin"},
		{name: "site admin", user: "root", token: root, kind: "write", admin: true},
		{name: "revoked token", user: "own", token: revoked, kind: "bad"},
		{name: "expired token", user: "own", token: expired, kind: "bad"},
		{name: "gated: pending", user: "g-pending", token: gPend, kind: "write"},
		{name: "gated: approved", user: "g-approved", token: gAppr, kind: "write"},
		{name: "gated: rejected", user: "g-rejected", token: gRej, kind: "write"},
	}
	for _, role := range []string{"no_access", "read", "contributor", "write", "admin"} {
		m.actors = append(m.actors, &mactor{name: "org " + role, user: "m-" + strings.ReplaceAll(role, "_", ""), token: members[role], kind: "write", orgRole: role})
	}
	return m
}

// createRepo creates r with README.md, secret.txt and the LFS file
// weights.bin, then sets its visibility and gating.
func (m *matrix) createRepo(r *mrepo) {
	m.t.Helper()
	m.mustStatus(200, "POST", "/api/repos/create", m.own, map[string]any{"name": r.name, "organization": r.ns})
	content := []byte(r.lfsSecret + "\n" + strings.Repeat("padding ", 200))
	r.lfsOID = sha256hex(content)
	var b batchReply
	resp := m.do("POST", "/"+r.id()+".git/info/lfs/objects/batch", m.own, "", jsonBody(map[string]any{"operation": "upload", "transfers": []string{"basic"},
		"objects": []map[string]any{{"oid": r.lfsOID, "size": len(content)}}}))
	if resp.status != 200 || json.Unmarshal(resp.body, &b) != nil {
		m.t.Fatalf("batch for %s: %d %s", r.id(), resp.status, resp.body)
	}
	if href := b.href("upload"); href != "" {
		if up := m.do("PUT", href, "", "", content); up.status != 200 {
			m.t.Fatalf("upload: %d", up.status)
		}
	}
	body := ndjson(header("seed"), hfile("README.md", "# "+r.name+"\n"), hfile("secret.txt", r.secret+"\n"), lfsOp("weights.bin", r.lfsOID, int64(len(content))))
	if c := m.do("POST", "/api/models/"+r.id()+"/commit/main", m.own, "", body); c.status != 200 {
		m.t.Fatalf("commit to %s: %d %s", r.id(), c.status, c.body)
	}
	settings := map[string]any{"private": r.private}
	if r.gated != "" {
		settings["gated"] = r.gated
	}
	m.mustStatus(200, "PUT", "/api/models/"+r.id()+"/settings", m.own, settings)
}

// signIn signs in through the web form and returns the session cookie.
func (m *matrix) signIn(user, password string) string {
	m.t.Helper()
	page := m.do("GET", "/login", "", "", nil)
	var nonce string
	for _, c := range page.cookies {
		if c.Name == "agora_csrf" {
			nonce = c.Value
		}
	}
	match := regexp.MustCompile(`name="csrf" value="([^"]*)"`).FindSubmatch(page.body)
	if nonce == "" || match == nil {
		m.t.Fatalf("sign-in form: %d %v %.300s", page.status, page.cookies, page.body)
	}
	form := url.Values{"username": {user}, "password": {password}, "csrf": {string(match[1])}, "next": {"/"}}
	req, _ := http.NewRequest("POST", m.h.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "agora_csrf", Value: nonce})
	resp, err := m.client.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "agora_session" && c.Value != "" {
			return c.Value
		}
	}
	m.t.Fatalf("sign-in: %d, no session cookie", resp.StatusCode)
	return ""
}

// ---- requests

type mreply struct {
	status  int
	hdr     http.Header
	body    []byte
	cookies []*http.Cookie
}

// mreq is one cell's request.
type mreq struct {
	method, path string
	body         []byte
	ctype        string
	// noAuth sends no credentials whatever the actor (signed transfer
	// URLs authorise themselves).
	noAuth bool
}

func (m *matrix) do(method, path, token, cookie string, body []byte, hdr ...string) mreply {
	m.t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = m.h.URL + path
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(m.t.Context(), method, u, rd)
	if err != nil {
		m.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "agora_session", Value: cookie})
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := m.client.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return mreply{status: resp.StatusCode, hdr: resp.Header, body: b, cookies: resp.Cookies()}
}

func (m *matrix) mustStatus(status int, method, path, token string, body any) mreply {
	m.t.Helper()
	var b []byte
	if body != nil {
		b = jsonBody(body)
	}
	r := m.do(method, path, token, "", b)
	if r.status != status {
		m.t.Fatalf("%s %s: %d, want %d: %.300s", method, path, r.status, status, r.body)
	}
	return r
}

func (m *matrix) send(a *mactor, q mreq) mreply {
	m.t.Helper()
	token := a.token
	if a.tokenOf != nil {
		token = a.tokenOf(m.cellRepo)
	}
	cookie := a.session
	if q.noAuth {
		token, cookie = "", ""
	}
	var hdr []string
	if q.ctype != "" {
		hdr = []string{"Content-Type", q.ctype}
	}
	return m.do(q.method, q.path, token, cookie, q.body, hdr...)
}

func (m *matrix) next() int { m.seq++; return m.seq }
