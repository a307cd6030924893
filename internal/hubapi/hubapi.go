// Package hubapi serves the Hugging Face Hub HTTP API: repository info and
// listings, tree and paths-info, refs and commits, repository management,
// preupload and the NDJSON commit, the git-lfs batch API with its signed
// upload and download URLs, and file downloads (resolve/raw).
//
// Handlers parse, call the hub service and encode; the shapes come from
// PROTOCOL.md (the clients' source is the contract). Routing is by hand on
// the escaped path (see server.Router for why).
package hubapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// Config holds the API's settings.
type Config struct {
	// ProxyDownloads serves LFS content through the server even when the
	// blob store could redirect clients to it.
	ProxyDownloads bool
	// RedirectTTL is the validity of redirect URLs to the blob store.
	RedirectTTL time.Duration
	// Xet, when set with CASURL, turns Xet storage on (xet.go): token
	// routes, the xet transfer of LFS batches, Xet download headers.
	Xet Xet
	// CASURL returns the CAS URL clients are sent to for a request.
	CASURL func(r *http.Request) string
}

// Handler serves the API.
type Handler struct {
	lg  *slog.Logger
	srv *server.Server
	hub *hub.Service
	cfg Config
	// infos keeps the commit-bound part of model_info answers (infojson.go).
	infos infoCache
	// xetHashes keeps which LFS objects are Xet files for a second (xet.go).
	xetHashes xetHashCache
}

// New returns the API handler.
func New(lg *slog.Logger, srv *server.Server, h *hub.Service, cfg Config) *Handler {
	if cfg.RedirectTTL <= 0 {
		cfg.RedirectTTL = time.Hour
	}
	return &Handler{lg: lg, srv: srv, hub: h, cfg: cfg}
}

// repoTypes maps URL words to repository types: plural for /api/{T},
// and the web prefix for /{T}/ns/name.
var apiTypes = map[string]string{"models": hub.TypeModel, "datasets": hub.TypeDataset}

// webPrefix is the URL prefix of a repository type ("" for models).
func webPrefix(typ string) string {
	if typ == hub.TypeDataset {
		return "/datasets"
	}
	return ""
}

func unescape(seg string) (string, bool) {
	s, err := url.PathUnescape(seg)
	return s, err == nil
}

// route is a matched request: its handler, the route name for metrics, and
// the repository it addresses (if any) with the index of the repository's
// namespace segment, so that a renamed repository can be redirected.
type route struct {
	name   string
	fn     server.HandlerFunc
	render server.Renderer
	q      *req // the repository addressed, if any
	// first, when set, is the action the caller must be allowed on q's
	// repository before anything of the request body is read (and before
	// Go's server answers "Expect: 100-continue"): every route with a
	// body sets it.
	first *hub.Action
}

func act(a hub.Action) *hub.Action { return &a }

func (h *Handler) handler(rt route) http.Handler {
	render := rt.render
	if render == nil {
		render = server.WriteJSONError
	}
	fn := rt.fn
	if rt.q != nil && rt.first != nil {
		fn = h.authorizeFirst(rt.q, *rt.first, fn)
	}
	if rt.q != nil {
		fn = h.withMoved(rt.q, fn)
	}
	inner := h.srv.Adapt(render, fn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.SetRoute(r, rt.name)
		inner.ServeHTTP(w, r)
	})
}

// Route implements server.Router.
func (h *Handler) Route(r *http.Request, segs []string) http.Handler {
	if len(segs) == 0 {
		return nil
	}
	var rt *route
	if segs[0] == "api" {
		rt = h.routeAPI(r, segs[1:])
	} else {
		rt = h.routeWeb(r, segs)
	}
	if rt == nil {
		return nil
	}
	return h.handler(*rt)
}

// req bundles what a repository route parsed from the URL.
type req struct {
	ref  hub.RepoRef
	rest []string // escaped segments after the repository
	// nsIndex is the index of the repository id's first segment in the
	// full path, idSegs how many segments it has (2, or 1 for a
	// canonical id without a namespace).
	nsIndex, idSegs int
}

func (h *Handler) routeAPI(r *http.Request, s []string) *route {
	m := r.Method
	if len(s) == 0 {
		return nil
	}
	switch s[0] {
	case "whoami-v2":
		return &route{name: "whoami", fn: h.whoami}
	case "repos":
		if len(s) == 2 {
			switch {
			case s[1] == "create" && m == http.MethodPost:
				return &route{name: "repo-create", fn: h.createRepo}
			case s[1] == "delete" && m == http.MethodDelete:
				return &route{name: "repo-delete", fn: h.deleteRepo}
			case s[1] == "move" && m == http.MethodPost:
				return &route{name: "repo-move", fn: h.moveRepo}
			}
		}
		return nil
	case "users":
		if len(s) == 3 && (m == http.MethodGet || m == http.MethodHead) {
			user, ok := unescape(s[1])
			if !ok {
				return nil
			}
			switch s[2] {
			case "likes":
				return &route{name: "user-likes", fn: h.userLikes(user)}
			case "signing-keys":
				return &route{name: "signing-keys", fn: h.userKeys(user)}
			}
		}
		return h.routeAccounts(r, s)
	case "organizations":
		return h.routeAccounts(r, s)
	case "admin":
		if len(s) == 2 && s[1] == "audit-log" && (m == http.MethodGet || m == http.MethodHead) {
			return &route{name: "audit-log", fn: h.auditLog("")}
		}
		return nil
	case "settings":
		if len(s) >= 2 && s[1] == "signing-keys" {
			switch {
			case len(s) == 2 && m == http.MethodPost:
				return &route{name: "signing-keys", fn: h.addKey}
			case len(s) == 3 && m == http.MethodDelete:
				return &route{name: "signing-keys", fn: h.deleteKey(s[2])}
			}
		}
		if len(s) >= 2 && (s[1] == "webhooks" || s[1] == "billing" || s[1] == "notifications") {
			return unsupported("This hub does not implement /api/settings/" + s[1] + " yet")
		}
		return nil
	case "validate-yaml":
		return &route{name: "validate-yaml", fn: h.validateYAML}
	case "agent-harnesses":
		return &route{name: "agent-harnesses", fn: func(w http.ResponseWriter, r *http.Request) error {
			server.WriteJSON(w, r, http.StatusOK, map[string]any{"standardEnvVars": []string{}, "harnesses": map[string]any{}})
			return nil
		}}
	case "telemetry":
		return &route{name: "telemetry", fn: func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}}
	case "lfs":
		return h.routeLFSTransfer(r, s[1:])
	case "spaces", "kernels":
		return &route{name: "unsupported", fn: func(http.ResponseWriter, *http.Request) error {
			return &hub.Error{Kind: hub.ErrUnsupported, Msg: "Spaces and kernels are not supported by this hub"}
		}}
	}
	typ, ok := apiTypes[s[0]]
	if !ok {
		if notYet[s[0]] {
			return unsupported("This hub does not implement /api/" + s[0] + " yet")
		}
		return nil
	}
	if len(s) == 1 {
		if m == http.MethodGet || m == http.MethodHead {
			return &route{name: "list", fn: h.listRepos(typ)}
		}
		return nil
	}
	ns, name, n, ok := server.RepoSegments(s[1:], hub.IsRouteKeyword, true)
	if !ok {
		return nil
	}
	q := &req{ref: hub.RepoRef{Type: typ, Namespace: ns, Name: name}, rest: s[1+n:], nsIndex: 2, idSegs: n}
	rt := h.routeRepoAPI(r, q)
	if rt == nil && hub.IsRouteKeyword(firstOr(q.rest, "")) {
		// A known route word with a method or arguments it does not take:
		// the Hub's clients read JSON errors, not a bare router 404.
		rt = &route{name: "notfound", fn: func(http.ResponseWriter, *http.Request) error {
			return &hub.Error{Kind: hub.ErrNotFound, Msg: "Not found: " + r.Method + " " + r.URL.Path}
		}}
	}
	if rt != nil {
		rt.q = q
	}
	return rt
}

// notYet are the /api/{word} families the Hub's clients call that this hub
// does not implement: they answer 501 with a message, not a bare 404.
var notYet = map[string]bool{
	"collections": true, "papers": true, "daily_papers": true, "posts": true, "jobs": true,
	"scheduled-jobs": true, "notifications": true, "blog": true, "buckets": true,
	"inference-endpoints": true, "webhooks": true, "resolve-cache": true,
}

func unsupported(msg string) *route {
	return &route{name: "unsupported", fn: func(http.ResponseWriter, *http.Request) error {
		return &hub.Error{Kind: hub.ErrUnsupported, Msg: msg}
	}}
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func (h *Handler) routeRepoAPI(r *http.Request, q *req) *route {
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	if len(q.rest) == 0 {
		if get {
			return &route{name: "info", fn: h.info(q, "")}
		}
		return nil
	}
	kw, rest := q.rest[0], q.rest[1:]
	switch {
	case kw == "revision" && get && len(rest) >= 1:
		return &route{name: "info", fn: h.info(q, joinRev(rest))}
	case kw == "tree" && get && len(rest) >= 1:
		return &route{name: "tree", fn: h.tree(q, rest)}
	case kw == "paths-info" && m == http.MethodPost && len(rest) >= 1:
		// Authorised by the handler before the body, with the revision.
		return &route{name: "paths-info", fn: h.pathsInfo(q, joinRev(rest))}
	case kw == "refs" && get && len(rest) == 0:
		return &route{name: "refs", fn: h.refs(q)}
	case kw == "commits" && get && len(rest) >= 1:
		return &route{name: "commits", fn: h.commits(q, rest)}
	case kw == "preupload" && m == http.MethodPost && len(rest) >= 1:
		return &route{name: "preupload", fn: h.preupload(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "commit" && m == http.MethodPost && len(rest) >= 1:
		return &route{name: "commit", fn: h.commit(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "branch" && len(rest) >= 1 && (m == http.MethodPost || m == http.MethodDelete):
		return &route{name: "branch", fn: h.branch(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "tag" && len(rest) >= 1 && (m == http.MethodPost || m == http.MethodDelete):
		return &route{name: "tag", fn: h.tag(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "settings" && m == http.MethodPut && len(rest) == 0:
		return &route{name: "settings", fn: h.settings(q), first: act(hub.Manage)}
	case kw == "auth-check" && get && len(rest) <= 1:
		write := len(rest) == 1 && rest[0] == "write"
		return &route{name: "auth-check", fn: h.authCheck(q, write)}
	case kw == "super-squash" && m == http.MethodPost && len(rest) >= 1:
		return &route{name: "super-squash", fn: h.superSquash(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "like" && len(rest) == 0 && (m == http.MethodPost || m == http.MethodDelete):
		return &route{name: "like", fn: h.like(q, m == http.MethodPost), first: act(hub.ReadMeta)}
	case kw == "likers" && get && len(rest) == 0:
		return &route{name: "likers", fn: h.likers(q)}
	case kw == "lineage" && get && len(rest) == 0:
		return &route{name: "lineage", fn: h.lineage(q)}
	case (kw == "xet-read-token" || kw == "xet-write-token") && get:
		return &route{name: kw, fn: h.xetToken(q, rest, kw == "xet-write-token")}
	case kw == "discussions":
		return unsupported("Discussions and pull-request pages are not supported by this hub yet (commits with create_pr=1 do create refs/pr/N)")
	case kw == "user-access-request":
		return h.routeAccessRequests(r, q, rest)
	case kw == "lfs-files":
		return unsupported("Listing and deleting LFS files is not supported by this hub yet")
	case kw == "resource-group" || kw == "scan" || kw == "treesize" || kw == "compare" || kw == "jwt" ||
		kw == "parquet" || kw == "croissant" || kw == "notebook" || kw == "sql-console":
		return unsupported("This hub does not implement /" + kw + " yet")
	}
	return nil
}

// joinRev decodes a revision given as one encoded segment, or raw over
// several segments.
func joinRev(segs []string) string {
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		d, ok := unescape(s)
		if !ok {
			d = s
		}
		parts = append(parts, d)
	}
	return strings.Join(parts, "/")
}

// joinPath decodes path segments and joins them with '/'.
func joinPath(segs []string) (string, bool) {
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		d, ok := unescape(s)
		if !ok {
			return "", false
		}
		parts = append(parts, d)
	}
	return strings.Trim(strings.Join(parts, "/"), "/"), true
}

// routeWeb matches the non-/api routes of this package: downloads and the
// LFS batch endpoint, for models (/ns/name/…) and datasets
// (/datasets/ns/name/…).
func (h *Handler) routeWeb(r *http.Request, s []string) *route {
	typ := hub.TypeModel
	start := 0
	switch s[0] {
	case "datasets":
		typ, start = hub.TypeDataset, 1
	case "models":
		start = 1 // /models/ns/name is accepted as an alias
	case "spaces":
		return nil
	}
	s = s[start:]
	// A canonical id ("gpt2") is followed by a keyword: resolve, raw, or
	// info after "gpt2.git".
	ns, name, n, ok := server.RepoSegments(s, hub.IsRouteKeyword, false)
	if !ok || len(s) < n+1 {
		return nil
	}
	q := &req{ref: hub.RepoRef{Type: typ, Namespace: ns, Name: name}, rest: s[n:], nsIndex: start, idSegs: n}
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	if base, isGit := strings.CutSuffix(name, ".git"); isGit {
		q.ref.Name = base
		if len(q.rest) >= 3 && q.rest[0] == "info" && q.rest[1] == "lfs" {
			return h.routeLFS(r, q, q.rest[2:])
		}
		return nil
	}
	switch q.rest[0] {
	case "resolve", "raw":
		if !get || len(q.rest) < 2 {
			return nil
		}
		return &route{name: q.rest[0], fn: h.resolve(q, q.rest[0] == "raw"), q: q}
	case "info":
		if len(q.rest) >= 2 && q.rest[1] == "lfs" {
			return h.routeLFS(r, q, q.rest[2:])
		}
	}
	return nil
}
