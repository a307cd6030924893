package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The access matrix's rule table. A caller has a level on a repository
// as a person, a credential may cap it, and each route needs a level;
// the refusals follow the Hub (PROTOCOL.md §1.5):
//
//	invalid credentials (revoked, expired)    401, everywhere
//	cannot see the repository                 404 RepoNotFound (it does not exist for them;
//	                                          git answers an anonymous caller 401 to ask for credentials)
//	anonymous, and the route needs an account 401
//	can see it but may not do this            403
//	gated file, not approved                  401 GatedRepo anonymous, 403 GatedRepo signed in
//
// Levels as a person: the owner and site admins manage; in an
// organisation, admin and write manage all repositories, contributor and
// read read them (contributors manage only what they created), no_access
// is an outsider; anyone reads what is public. Members and the owner are
// never gated. Credentials: a web session carries the person's rights
// but only for GET and HEAD (writes need a token or the pages' forms); a
// read token reads; a fine-grained token acts where a scope allows
// (repo.write: write and manage; repo.content.read: read) and elsewhere
// reads only what is public.

type level int

const (
	lvNone level = iota
	lvRead
	lvWrite
	lvManage
)

type action int

const (
	aReadMeta    action = iota // what a repository's page shows
	aReadContent               // file bytes: resolve, raw, LFS download, git fetch
	aWrite                     // commits, uploads, branches, tags
	aManage                    // settings, deletion, moves, access reviews
	aRequests                  // list access requests (write level)
	aSignedIn                  // any signed-in user (likes, withdrawing one's own request)
	aOrgManage                 // change an organisation's members
	aAccount                   // change one's own account security (signing keys)
	aWhoami                    // who am I: any valid credential
	aPublic                    // anyone
)

type want struct {
	status int
	code   string
}

// family is one route family of the matrix.
type family struct {
	name       string
	repoScoped bool
	action     action
	// post: not a GET or HEAD, which a web session does not authenticate.
	post bool
	git  bool // git smart HTTP (an anonymous caller gets 401 to ask for credentials)
	web  bool // an HTML page (no X-Error-Code; signed-out visitors are sent to sign in)
	// sessionOnly: an account page that only a browser session may see.
	sessionOnly bool
	// signInFirst: the route asks an anonymous caller to sign in before
	// it looks the repository up (which reveals nothing: missing and
	// private repositories answer alike).
	signInFirst bool
	// namespaceWrite: the route creates a name in the namespace (a move),
	// which a token scoped to the repository alone may not.
	namespaceWrite bool
	// listing: a metadata route that lists LFS ids, as the Hub does for
	// gated repositories to everyone.
	listing bool
	// ok is the answer when the caller is allowed (default 200).
	ok    func(m *matrix, a *mactor, r *mrepo) want
	build func(m *matrix, a *mactor, r *mrepo, w want) mreq
	after func(m *matrix, a *mactor, r *mrepo, got mreply)
}

// anonymousFor reports whether a is anonymous for f's requests.
func anonymousFor(f *family, a *mactor) bool {
	return a.kind == "anon" || a.kind == "session" && f.post
}

// personLevel is a's level on r as a person (anonymous when anon), and
// whether it comes from ownership or membership (never gated).
func personLevel(a *mactor, r *mrepo, anon bool) (level, bool) {
	public := map[bool]level{true: lvNone, false: lvRead}[r.private]
	switch {
	case anon:
		return public, false
	case a.admin:
		return lvManage, true
	case r.ns == "own" && a.user == "own":
		return lvManage, true
	case r.ns == "acme":
		switch a.orgRole {
		case "admin", "write":
			return lvManage, true
		case "contributor", "read":
			return lvRead, true
		}
	}
	return public, false
}

// tokenCap is the most a's credential allows on r, and whether a scope
// covers r (a fine-grained token outside its scopes reads public
// repositories only).
func tokenCap(a *mactor, r *mrepo, post bool) level {
	switch a.kind {
	case "read", "fgRead":
		return lvRead
	case "fgOther":
		if r != nil && r.private {
			return lvNone
		}
		return lvRead
	}
	return lvManage
}

func needs(act action) level {
	switch act {
	case aReadMeta, aReadContent:
		return lvRead
	case aWrite, aRequests:
		return lvWrite
	}
	return lvManage
}

// allowed is the rule for repository actions, without the route's
// rendering: whether a may do act to r, and the refusal otherwise.
func allowed(f *family, a *mactor, r *mrepo, act action) (bool, want) {
	if a.kind == "bad" {
		return false, want{401, ""}
	}
	anon := anonymousFor(f, a)
	lv, member := personLevel(a, r, anon)
	hidden := want{404, "RepoNotFound"}
	if anon && f.git {
		hidden = want{401, ""}
	}
	if lv == lvNone {
		return false, hidden
	}
	if anon {
		if act == aReadContent && r.gated != "" {
			return false, want{401, "GatedRepo"}
		}
		if needs(act) > lvRead {
			return false, want{401, ""}
		}
		return true, want{}
	}
	if lv < needs(act) {
		return false, want{403, ""}
	}
	tc := tokenCap(a, r, f.post)
	if tc == lvNone || tc < needs(act) {
		return false, want{403, ""}
	}
	if act == aRequests && a.kind == "fgRead" {
		return false, want{403, ""} // repo.content.read does not cover access requests
	}
	if act == aReadContent && r.gated != "" && !member && r.gate[a.user] != "accepted" {
		return false, want{403, "GatedRepo"}
	}
	return true, want{}
}

// expect is the answer the rule table predicts for a cell.
func (m *matrix) expect(f *family, a *mactor, r *mrepo) want {
	if f.web && anonymousFor(f, a) && needs(f.action) > lvRead {
		return want{303, ""} // sign in first, whatever the repository
	}
	w := m.expectAPI(f, a, r)
	if f.web {
		if w.status == 401 && a.kind != "bad" {
			w.status = 303 // the pages send signed-out visitors to sign in
		}
		w.code = ""
	}
	return w
}

func (m *matrix) expectAPI(f *family, a *mactor, r *mrepo) want {
	if a.kind == "bad" {
		return want{401, ""}
	}
	if f.sessionOnly {
		switch {
		case a.kind == "anon":
			return want{401, ""}
		case a.kind != "session":
			return want{403, ""}
		}
		return m.okOf(f, a, r)
	}
	anon := anonymousFor(f, a)
	if f.signInFirst && anon {
		return want{401, ""}
	}
	switch f.action {
	case aPublic:
		return m.okOf(f, a, r)
	case aWhoami, aAccount, aOrgManage:
		if anon {
			return want{401, ""}
		}
	}
	switch f.action {
	case aWhoami:
		return m.okOf(f, a, r)
	case aAccount:
		// Account security changes need a full-rights credential.
		if a.kind != "write" {
			return want{403, ""}
		}
		return m.okOf(f, a, r)
	case aOrgManage:
		if !a.admin && a.orgRole != "admin" || a.kind != "write" {
			return want{403, ""}
		}
		return m.okOf(f, a, r)
	}
	if f.action == aSignedIn {
		// An act of the account on a repository it can see (a like, its
		// own access request): a session or a write token, never a read
		// token or one scoped to resources.
		if ok, w := allowed(f, a, r, aReadMeta); !ok {
			return w
		}
		if anon {
			return want{401, ""}
		}
		if a.kind != "write" && a.kind != "session" {
			return want{403, ""}
		}
		return m.okOf(f, a, r)
	}
	if ok, w := allowed(f, a, r, f.action); !ok {
		return w
	}
	if f.namespaceWrite && a.kind == "fgWrite" {
		return want{401, ""} // as at creation: the token lacks repo.write on the namespace
	}
	return m.okOf(f, a, r)
}

func (m *matrix) okOf(f *family, a *mactor, r *mrepo) want {
	if f.ok != nil {
		return f.ok(m, a, r)
	}
	return want{200, ""}
}

// notGated is the allowed answer of the access-request routes on a
// repository without gating.
func notGated(ok want) func(*matrix, *mactor, *mrepo) want {
	return func(_ *matrix, _ *mactor, r *mrepo) want {
		if r.gated == "" {
			return want{400, "RepoNotGated"}
		}
		return ok
	}
}

// leak returns what protected string of any repository got carries that
// a may not have: names of repositories it may not see, contents and LFS
// ids of files it may not read (LFS ids stay visible on listings, as on
// the Hub), signed transfer URLs. Strings the request itself carried do
// not count.
func (m *matrix) leak(f *family, a *mactor, cell *mrepo, q mreq, got mreply) string {
	var text strings.Builder
	text.Write(got.body)
	for k, vs := range got.hdr {
		text.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
	}
	s := text.String()
	sent := q.path + "\n" + string(q.body)
	found := func(p string) bool { return p != "" && strings.Contains(s, p) && !strings.Contains(sent, p) }
	for _, r := range m.repos {
		meta, _ := allowed(f, a, r, aReadMeta)
		content, _ := allowed(f, a, r, aReadContent)
		if !meta {
			for _, p := range []string{r.secret, r.lfsSecret, r.lfsOID} {
				if found(p) {
					return fmt.Sprintf("%s of hidden repository %s", p, r.label)
				}
			}
			if r.private && found(r.name) {
				return fmt.Sprintf("the name of hidden repository %s (%s)", r.label, r.name)
			}
			continue
		}
		if !content {
			for _, p := range []string{r.secret, r.lfsSecret} {
				if found(p) {
					return fmt.Sprintf("file content of %s", r.label)
				}
			}
			if found(r.lfsOID) && !(f.listing && r == cell) {
				return fmt.Sprintf("the LFS id of a file of %s", r.label)
			}
		}
	}
	if cell != nil {
		if content, _ := allowed(f, a, cell, aReadContent); !content {
			for _, p := range []string{"/api/lfs/download/", "/api/lfs/upload/", "X-Amz-Signature"} {
				if strings.Contains(s, p) {
					return "a signed transfer URL"
				}
			}
		}
	}
	return ""
}

// ---- route families

func apiOf(r *mrepo) string { return "/api/models/" + r.id() }

func (m *matrix) families() []*family {
	get := func(path func(r *mrepo) string) func(*matrix, *mactor, *mrepo, want) mreq {
		return func(_ *matrix, _ *mactor, r *mrepo, _ want) mreq { return mreq{method: "GET", path: path(r)} }
	}
	head := func(path func(r *mrepo) string) func(*matrix, *mactor, *mrepo, want) mreq {
		return func(_ *matrix, _ *mactor, r *mrepo, _ want) mreq { return mreq{method: "HEAD", path: path(r)} }
	}
	post := func(method string, path func(r *mrepo) string, body func(m *matrix, r *mrepo) any) func(*matrix, *mactor, *mrepo, want) mreq {
		return func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
			var b []byte
			if body != nil {
				b = jsonBody(body(m, r))
			}
			return mreq{method: method, path: path(r), body: b, ctype: "application/json"}
		}
	}
	fams := []*family{
		{name: "info", repoScoped: true, action: aReadMeta, listing: true, build: get(func(r *mrepo) string { return apiOf(r) + "?blobs=true" })},
		{name: "revision info", repoScoped: true, action: aReadMeta, listing: true, build: get(func(r *mrepo) string { return apiOf(r) + "/revision/main" })},
		{name: "tree", repoScoped: true, action: aReadMeta, listing: true, build: get(func(r *mrepo) string { return apiOf(r) + "/tree/main?recursive=true&expand=true" }),
			after: func(m *matrix, a *mactor, r *mrepo, got mreply) {
				if !strings.Contains(string(got.body), r.lfsOID) {
					m.t.Errorf("tree / %s / %s: no LFS id in the listing", a.name, r.label)
				}
			}},
		{name: "paths-info", repoScoped: true, action: aReadMeta, post: true, listing: true, build: func(_ *matrix, _ *mactor, r *mrepo, _ want) mreq {
			return mreq{method: "POST", path: apiOf(r) + "/paths-info/main", body: []byte("paths=secret.txt&paths=weights.bin&expand=true"), ctype: "application/x-www-form-urlencoded"}
		}},
		{name: "refs", repoScoped: true, action: aReadMeta, build: get(func(r *mrepo) string { return apiOf(r) + "/refs" })},
		{name: "commits", repoScoped: true, action: aReadMeta, build: get(func(r *mrepo) string { return apiOf(r) + "/commits/main" })},
		{name: "likers", repoScoped: true, action: aReadMeta, build: get(func(r *mrepo) string { return apiOf(r) + "/likers" })},
		{name: "resolve GET", repoScoped: true, action: aReadContent, build: get(func(r *mrepo) string { return "/" + r.id() + "/resolve/main/secret.txt" }),
			// The leak check is only as good as its markers: those allowed
			// must get them.
			after: func(m *matrix, a *mactor, r *mrepo, got mreply) {
				if !strings.Contains(string(got.body), r.secret) {
					m.t.Errorf("resolve / %s / %s: the content lacks its marker: %.100q", a.name, r.label, got.body)
				}
			}},
		{name: "resolve HEAD (LFS)", repoScoped: true, action: aReadContent, build: head(func(r *mrepo) string { return "/" + r.id() + "/resolve/main/weights.bin" })},
		{name: "resolve GET (LFS)", repoScoped: true, action: aReadContent, build: get(func(r *mrepo) string { return "/" + r.id() + "/resolve/main/weights.bin" })},
		{name: "raw GET (LFS pointer)", repoScoped: true, action: aReadContent, build: get(func(r *mrepo) string { return "/" + r.id() + "/raw/main/weights.bin" })},
		{name: "raw HEAD", repoScoped: true, action: aReadContent, build: head(func(r *mrepo) string { return "/" + r.id() + "/raw/main/secret.txt" })},
		{name: "auth-check", repoScoped: true, action: aReadContent, build: get(func(r *mrepo) string { return apiOf(r) + "/auth-check" })},
		{name: "auth-check write", repoScoped: true, action: aWrite, build: get(func(r *mrepo) string { return apiOf(r) + "/auth-check/write" })},
		{name: "LFS batch download + signed URL", repoScoped: true, action: aReadContent, post: true,
			build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
				return mreq{method: "POST", path: "/" + r.id() + ".git/info/lfs/objects/batch", ctype: "application/vnd.git-lfs+json",
					body: jsonBody(map[string]any{"operation": "download", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": r.lfsOID, "size": 1}}})}
			},
			after: func(m *matrix, a *mactor, r *mrepo, got mreply) {
				if got.status != 200 {
					return
				}
				var b batchReply
				json.Unmarshal(got.body, &b)
				href := b.href("download")
				if href == "" {
					m.t.Errorf("LFS batch download / %s / %s: no download URL: %s", a.name, r.label, got.body)
					return
				}
				// The URL authorises itself: no credentials.
				if d := m.do("GET", href, "", "", nil); d.status != 200 || !strings.Contains(string(d.body), r.lfsSecret) {
					m.t.Errorf("signed download / %s / %s: %d", a.name, r.label, d.status)
				}
			}},
		{name: "LFS batch upload + signed URL", repoScoped: true, action: aWrite, post: true,
			build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
				content := fmt.Sprintf("upload %d", m.next())
				return mreq{method: "POST", path: "/" + r.id() + ".git/info/lfs/objects/batch", ctype: "application/vnd.git-lfs+json",
					body: jsonBody(map[string]any{"operation": "upload", "transfers": []string{"basic"}, "objects": []map[string]any{{"oid": sha256hex([]byte(content)), "size": len(content)}}})}
			},
			after: func(m *matrix, a *mactor, r *mrepo, got mreply) {
				var b batchReply
				json.Unmarshal(got.body, &b)
				href := b.href("upload")
				if href == "" {
					m.t.Errorf("LFS batch upload / %s / %s: no upload URL: %s", a.name, r.label, got.body)
					return
				}
				if u := m.do("PUT", href, "", "", []byte(fmt.Sprintf("upload %d", m.seq))); u.status != 200 {
					m.t.Errorf("signed upload / %s / %s: %d", a.name, r.label, u.status)
				}
			}},
		{name: "git info/refs (fetch)", repoScoped: true, action: aReadContent, git: true,
			build: get(func(r *mrepo) string { return "/" + r.id() + ".git/info/refs?service=git-upload-pack" })},
		{name: "git upload-pack", repoScoped: true, action: aReadContent, git: true, post: true, build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
			return mreq{method: "POST", path: "/" + r.id() + ".git/git-upload-pack", ctype: "application/x-git-upload-pack-request",
				body: append(append(pkt("want "+m.head(r)+" no-progress\n"), flushPkt...), pkt("done\n")...)}
		}},
		{name: "git info/refs (push)", repoScoped: true, action: aWrite, git: true,
			build: get(func(r *mrepo) string { return "/" + r.id() + ".git/info/refs?service=git-receive-pack" })},
		{name: "git receive-pack", repoScoped: true, action: aWrite, git: true, post: true, build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
			return mreq{method: "POST", path: "/" + r.id() + ".git/git-receive-pack", ctype: "application/x-git-receive-pack-request",
				body: pushBody([]string{zeroID + " " + m.head(r) + fmt.Sprintf(" refs/heads/push-%d", m.next())}, rawPack(2, -1, false))}
		}},
		{name: "commit", repoScoped: true, action: aWrite, post: true, build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
			return mreq{method: "POST", path: apiOf(r) + "/commit/main", ctype: "application/x-ndjson",
				body: ndjson(header("matrix"), hfile(fmt.Sprintf("matrix/%d.txt", m.next()), "x"))}
		}},
		{name: "preupload", repoScoped: true, action: aWrite, post: true, build: post("POST", func(r *mrepo) string { return apiOf(r) + "/preupload/main" },
			func(*matrix, *mrepo) any {
				return map[string]any{"files": []map[string]any{{"path": "x.bin", "size": 5, "sample": "eA=="}}}
			})},
		{name: "branch create", repoScoped: true, action: aWrite, post: true, build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
			return mreq{method: "POST", path: apiOf(r) + fmt.Sprintf("/branch/b-%d", m.next()), body: []byte(`{}`), ctype: "application/json"}
		}},
		{name: "branch delete (missing)", repoScoped: true, action: aWrite, post: true,
			ok:    func(*matrix, *mactor, *mrepo) want { return want{404, "RevisionNotFound"} },
			build: post("DELETE", func(r *mrepo) string { return apiOf(r) + "/branch/no-such-branch" }, nil)},
		{name: "tag create", repoScoped: true, action: aWrite, post: true, build: func(m *matrix, _ *mactor, r *mrepo, _ want) mreq {
			return mreq{method: "POST", path: apiOf(r) + "/tag/main", body: jsonBody(map[string]any{"tag": fmt.Sprintf("t-%d", m.next())}), ctype: "application/json"}
		}},
		{name: "settings", repoScoped: true, action: aManage, post: true, build: post("PUT", func(r *mrepo) string { return apiOf(r) + "/settings" },
			func(_ *matrix, r *mrepo) any {
				// The current values: allowed cells change nothing.
				s := map[string]any{"private": r.private}
				if r.gated != "" {
					s["gated"] = r.gated
				}
				return s
			})},
		{name: "delete", repoScoped: true, action: aManage, post: true, build: func(m *matrix, a *mactor, r *mrepo, w want) mreq {
			target := m.disposable(a, r, w)
			return mreq{method: "DELETE", path: "/api/repos/delete", ctype: "application/json",
				body: jsonBody(map[string]any{"type": "model", "name": target.name, "organization": target.ns})}
		}},
		{name: "move", repoScoped: true, action: aManage, post: true, namespaceWrite: true, build: func(m *matrix, a *mactor, r *mrepo, w want) mreq {
			target := m.disposable(a, r, w)
			return mreq{method: "POST", path: "/api/repos/move", ctype: "application/json",
				body: jsonBody(map[string]any{"fromRepo": target.id(), "toRepo": target.ns + "/" + target.name + "-moved"})}
		}},
		{name: "like", repoScoped: true, action: aSignedIn, post: true, build: post("POST", func(r *mrepo) string { return apiOf(r) + "/like" }, nil)},
		{name: "unlike", repoScoped: true, action: aSignedIn, post: true, build: post("DELETE", func(r *mrepo) string { return apiOf(r) + "/like" }, nil)},
		{name: "access requests: list", repoScoped: true, action: aRequests, ok: notGated(want{200, ""}),
			build: get(func(r *mrepo) string { return apiOf(r) + "/user-access-request/pending" })},
		{name: "access requests: grant", repoScoped: true, action: aManage, post: true, ok: notGated(want{200, ""}),
			build: func(m *matrix, _ *mactor, r *mrepo, w want) mreq {
				// A fresh applicant for each grant that succeeds: granting
				// twice is refused.
				user := "applicant"
				if w.status == 200 {
					user = fmt.Sprintf("applicant-%d", m.next())
					m.h.Admin(m.t, "user", "add", user)
				}
				return mreq{method: "POST", path: apiOf(r) + "/user-access-request/grant", ctype: "application/json", body: jsonBody(map[string]any{"user": user})}
			}},
		{name: "access requests: handle (no such user)", repoScoped: true, action: aManage, post: true, ok: notGated(want{404, ""}),
			build: post("POST", func(r *mrepo) string { return apiOf(r) + "/user-access-request/handle" },
				func(*matrix, *mrepo) any { return map[string]any{"user": "nobody-at-all", "status": "accepted"} })},
		{name: "web: repository page", repoScoped: true, action: aReadMeta, web: true, build: get(func(r *mrepo) string { return "/" + r.id() })},
		{name: "web: tree page", repoScoped: true, action: aReadMeta, web: true, listing: true, build: get(func(r *mrepo) string { return "/" + r.id() + "/tree/main" })},
		{name: "web: file page", repoScoped: true, action: aReadContent, web: true, build: get(func(r *mrepo) string { return "/" + r.id() + "/blob/main/secret.txt" })},
		{name: "web: settings page", repoScoped: true, action: aManage, web: true, build: get(func(r *mrepo) string { return "/" + r.id() + "/settings" })},
		// Account and organisation routes, once per caller.
		{name: "whoami", action: aWhoami, build: get(func(*mrepo) string { return "/api/whoami-v2" })},
		{name: "listing: own's models", action: aPublic, build: get(func(*mrepo) string { return "/api/models?author=own&full=true" })},
		{name: "listing: acme's models", action: aPublic, build: get(func(*mrepo) string { return "/api/models?author=acme&full=true" })},
		{name: "listing: search hid", action: aPublic, build: get(func(*mrepo) string { return "/api/models?search=hid" })},
		{name: "org members", action: aPublic, build: get(func(*mrepo) string { return "/api/organizations/acme/members" })},
		{name: "org member role", action: aOrgManage, post: true, build: post("PUT", func(*mrepo) string { return "/api/organizations/acme/members/dummy/role" },
			func(*matrix, *mrepo) any { return map[string]any{"role": "read"} })},
		{name: "org member remove (not a member)", action: aOrgManage, post: true, ok: func(*matrix, *mactor, *mrepo) want { return want{404, ""} },
			build: post("DELETE", func(*mrepo) string { return "/api/organizations/acme/members/applicant" }, nil)},
		{name: "signing keys: list", action: aPublic, build: get(func(*mrepo) string { return "/api/users/own/signing-keys" })},
		{name: "signing keys: delete (missing)", action: aAccount, post: true, ok: func(*matrix, *mactor, *mrepo) want { return want{404, ""} },
			build: post("DELETE", func(*mrepo) string { return "/api/settings/signing-keys/999999" }, nil)},
		{name: "web: tokens page", action: aWhoami, web: true, sessionOnly: true, build: get(func(*mrepo) string { return "/settings/tokens" })},
		// Last: withdrawing one's own request changes the gated callers.
		{name: "access requests: cancel", repoScoped: true, action: aSignedIn, post: true, signInFirst: true,
			ok: func(m *matrix, a *mactor, r *mrepo) want {
				if r.gated == "" {
					return want{400, "RepoNotGated"}
				}
				if r.gate[a.user] == "pending" {
					return want{200, ""}
				}
				return want{404, ""}
			},
			build: post("POST", func(r *mrepo) string { return apiOf(r) + "/user-access-request/cancel" }, nil),
			after: func(_ *matrix, a *mactor, r *mrepo, got mreply) {
				if got.status == 200 {
					delete(r.gate, a.user)
				}
			}},
	}
	return fams
}

// head is r's main.
func (m *matrix) head(r *mrepo) string {
	resp := m.do("GET", apiOf(r)+"/refs", m.own, "", nil)
	var refs struct {
		Branches []struct {
			Name         string `json:"name"`
			TargetCommit string `json:"targetCommit"`
		} `json:"branches"`
	}
	json.Unmarshal(resp.body, &refs)
	for _, b := range refs.Branches {
		if b.Name == "main" {
			return b.TargetCommit
		}
	}
	m.t.Fatalf("no main in %s: %s", r.id(), resp.body)
	return ""
}

// disposable returns the repository a deletion or a move of a cell acts
// on: r itself when the rules refuse it (nothing changes), else a fresh
// copy of r's state (with a fine-grained token of its own for the caller
// whose token is scoped to the repository).
func (m *matrix) disposable(a *mactor, r *mrepo, w want) *mrepo {
	if w.status != 200 {
		return r
	}
	d := &mrepo{label: r.label, ns: r.ns, name: fmt.Sprintf("disp-%d-%s", m.next(), rnd()), private: r.private, gated: r.gated,
		secret: "SECRET-" + rnd(), lfsSecret: "LFSSECRET-" + rnd(), gate: r.gate}
	m.createRepo(d)
	if a.kind == "fgWrite" {
		d.fgWrite = m.h.Admin(m.t, "token", "add", "own", "--name", "fgw-"+d.ns+"-"+d.name, "--scope", "model:"+d.id()+"=repo.write")
	}
	d.fgRead = r.fgRead
	m.cellRepo = d
	return d
}
