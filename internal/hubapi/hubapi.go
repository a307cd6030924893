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
	"github.com/agorahub/agora/internal/route"
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

// apiRoute is a matched request: its handler, the route name for metrics, and
// the repository it addresses (if any) with the index of the repository's
// namespace segment, so that a renamed repository can be redirected.
type apiRoute struct {
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

func (h *Handler) handler(rt apiRoute) http.Handler {
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

// Owner implements server.AddrRouter: the rows of the route table this
// package answers.
func (h *Handler) Owner() route.Owner { return route.HubAPI }

// RouteAddr implements server.AddrRouter.
func (h *Handler) RouteAddr(r *http.Request, a *route.Addr) http.Handler {
	if len(a.Segs) == 0 {
		return nil
	}
	var rt *apiRoute
	switch {
	case a.Segs[0] == "api":
		rt = h.routeAPI(r, a)
	case a.Segs[0] == "uploads":
		rt = unsupported("Discussion attachments are not supported by this hub yet")
	case a.Segs[0] == "papers":
		rt = unsupported("Papers are not supported by this hub yet")
	case a.Segs[0] == ".well-known":
		rt = unsupported("This hub is not an OAuth or OpenID provider: sign in to it with a token, or through its own single sign-on")
	case a.Repo != nil:
		rt = h.routeFile(r, a.Repo)
	}
	if rt == nil {
		return nil
	}
	return h.handler(*rt)
}

// Route implements server.Router for the requests the route table gives
// this package (servers dispatch through RouteAddr).
func (h *Handler) Route(r *http.Request, segs []string) http.Handler {
	a := route.Parse(r.Method, r.URL.EscapedPath())
	if a.Owner != route.HubAPI {
		return nil
	}
	return h.RouteAddr(r, &a)
}

// reqOf is the repository a route addresses, as the route table parsed it.
func reqOf(rp *route.Repo) *req {
	return &req{ref: rp.Ref, rest: rp.Rest, nsIndex: rp.Index, idSegs: rp.N}
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

func (h *Handler) routeAPI(r *http.Request, a *route.Addr) *apiRoute {
	m := r.Method
	s := a.Segs[1:]
	if len(s) == 0 {
		return nil
	}
	switch s[0] {
	case "whoami-v2":
		return &apiRoute{name: "whoami", fn: h.whoami}
	case "repos":
		if len(s) == 2 {
			switch {
			case s[1] == "create" && m == http.MethodPost:
				return &apiRoute{name: "repo-create", fn: h.createRepo}
			case s[1] == "delete" && m == http.MethodDelete:
				return &apiRoute{name: "repo-delete", fn: h.deleteRepo}
			case s[1] == "move" && m == http.MethodPost:
				return &apiRoute{name: "repo-move", fn: h.moveRepo}
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
				return &apiRoute{name: "user-likes", fn: h.userLikes(user)}
			case "signing-keys":
				return &apiRoute{name: "signing-keys", fn: h.userKeys(user)}
			}
		}
		return h.routeAccounts(r, s)
	case "organizations":
		return h.routeAccounts(r, s)
	case "admin":
		if len(s) == 2 && s[1] == "audit-log" && (m == http.MethodGet || m == http.MethodHead) {
			return &apiRoute{name: "audit-log", fn: h.auditLog("")}
		}
		return nil
	case "settings":
		if len(s) >= 2 && s[1] == "signing-keys" {
			switch {
			case len(s) == 2 && m == http.MethodPost:
				return &apiRoute{name: "signing-keys", fn: h.addKey}
			case len(s) == 3 && m == http.MethodDelete:
				return &apiRoute{name: "signing-keys", fn: h.deleteKey(s[2])}
			}
		}
		if len(s) == 2 && s[1] == "repositories" && (m == http.MethodGet || m == http.MethodHead) {
			return &apiRoute{name: "repo-storage", fn: h.repoStorage("")}
		}
		if len(s) >= 2 && (s[1] == "webhooks" || s[1] == "billing" || s[1] == "notifications") {
			return unsupported("This hub does not implement /api/settings/" + s[1] + " yet")
		}
		return nil
	case "models-tags-by-type", "datasets-tags-by-type":
		if len(s) == 1 && (m == http.MethodGet || m == http.MethodHead) {
			return &apiRoute{name: "tags-by-type", fn: h.tagsByType(strings.TrimSuffix(s[0], "s-tags-by-type"))}
		}
		return nil
	case "validate-yaml":
		return &apiRoute{name: "validate-yaml", fn: h.validateYAML}
	case "agent-harnesses":
		return &apiRoute{name: "agent-harnesses", fn: func(w http.ResponseWriter, r *http.Request) error {
			server.WriteJSON(w, r, http.StatusOK, map[string]any{"standardEnvVars": []string{}, "harnesses": map[string]any{}})
			return nil
		}}
	case "telemetry":
		return &apiRoute{name: "telemetry", fn: func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}}
	case "lfs":
		return h.routeLFSTransfer(r, s[1:])
	case "spaces", "kernels":
		return &apiRoute{name: "unsupported", fn: func(http.ResponseWriter, *http.Request) error {
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
			return &apiRoute{name: "list", fn: h.listRepos(typ)}
		}
		return nil
	}
	if a.Repo == nil {
		return nil
	}
	q := reqOf(a.Repo)
	rt := h.routeRepoAPI(r, q)
	if rt == nil && hub.IsRouteKeyword(firstOr(q.rest, "")) {
		// A known route word with a method or arguments it does not take:
		// the Hub's clients read JSON errors, not a bare router 404.
		rt = &apiRoute{name: "notfound", fn: func(http.ResponseWriter, *http.Request) error {
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

func unsupported(msg string) *apiRoute {
	return &apiRoute{name: "unsupported", fn: func(http.ResponseWriter, *http.Request) error {
		return &hub.Error{Kind: hub.ErrUnsupported, Msg: msg}
	}}
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

func (h *Handler) routeRepoAPI(r *http.Request, q *req) *apiRoute {
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	if len(q.rest) == 0 {
		if get {
			return &apiRoute{name: "info", fn: h.info(q, "")}
		}
		return nil
	}
	kw, rest := q.rest[0], q.rest[1:]
	switch {
	case kw == "revision" && get && len(rest) >= 1:
		return &apiRoute{name: "info", fn: h.info(q, joinRev(rest))}
	case kw == "tree" && get && len(rest) >= 1:
		return &apiRoute{name: "tree", fn: h.tree(q, rest)}
	case kw == "paths-info" && m == http.MethodPost && len(rest) >= 1:
		// Authorised by the handler before the body, with the revision.
		return &apiRoute{name: "paths-info", fn: h.pathsInfo(q, joinRev(rest))}
	case kw == "refs" && get && len(rest) == 0:
		return &apiRoute{name: "refs", fn: h.refs(q)}
	case kw == "commits" && get && len(rest) >= 1:
		return &apiRoute{name: "commits", fn: h.commits(q, rest)}
	case kw == "preupload" && m == http.MethodPost && len(rest) >= 1:
		return &apiRoute{name: "preupload", fn: h.preupload(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "commit" && m == http.MethodPost && len(rest) >= 1:
		return &apiRoute{name: "commit", fn: h.commit(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "branch" && len(rest) >= 1 && (m == http.MethodPost || m == http.MethodDelete):
		return &apiRoute{name: "branch", fn: h.branch(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "tag" && len(rest) >= 1 && (m == http.MethodPost || m == http.MethodDelete):
		return &apiRoute{name: "tag", fn: h.tag(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "settings" && m == http.MethodPut && len(rest) == 0:
		return &apiRoute{name: "settings", fn: h.settings(q), first: act(hub.Manage)}
	case kw == "auth-check" && get && len(rest) <= 1:
		write := len(rest) == 1 && rest[0] == "write"
		return &apiRoute{name: "auth-check", fn: h.authCheck(q, write)}
	case kw == "super-squash" && m == http.MethodPost && len(rest) >= 1:
		return &apiRoute{name: "super-squash", fn: h.superSquash(q, joinRev(rest)), first: act(hub.WriteContent)}
	case kw == "like" && len(rest) == 0 && (m == http.MethodPost || m == http.MethodDelete):
		return &apiRoute{name: "like", fn: h.like(q, m == http.MethodPost), first: act(hub.ReadMeta)}
	case kw == "likers" && get && len(rest) == 0:
		return &apiRoute{name: "likers", fn: h.likers(q)}
	case kw == "safetensors-metadata" && get && len(rest) >= 1 && q.ref.Type == hub.TypeModel:
		return &apiRoute{name: "safetensors-metadata", fn: h.safetensorsMetadata(q, rest)}
	case kw == "lineage" && get && len(rest) == 0:
		return &apiRoute{name: "lineage", fn: h.lineage(q)}
	case (kw == "xet-read-token" || kw == "xet-write-token") && get:
		return &apiRoute{name: kw, fn: h.xetToken(q, rest, kw == "xet-write-token")}
	case kw == "discussions":
		return unsupported("Discussions and pull-request pages are not supported by this hub yet (commits with create_pr=1 do create refs/pr/N)")
	case kw == "user-access-request":
		return h.routeAccessRequests(r, q, rest)
	case kw == "duplicate":
		return unsupported("Duplicating a repository is not supported by this hub yet: clone it with git and push it to a new repository")
	case kw == "lfs-files":
		return unsupported("Listing and deleting LFS files is not supported by this hub yet")
	case kw == "resource-group" || kw == "scan" || kw == "treesize" || kw == "compare" || kw == "jwt" ||
		kw == "parquet" || kw == "croissant" || kw == "notebook" || kw == "sql-console" || kw == "leaderboard":
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

// routeFile matches the non-/api routes of this package: downloads and
// the LFS endpoints, for models (/ns/name/…) and datasets
// (/datasets/ns/name/…), as the route table gave them.
func (h *Handler) routeFile(r *http.Request, rp *route.Repo) *apiRoute {
	q := reqOf(rp)
	if len(q.rest) >= 3 && q.rest[0] == "info" && q.rest[1] == "lfs" {
		return h.routeLFS(r, q, q.rest[2:])
	}
	if rp.Git || len(q.rest) < 2 {
		return nil
	}
	switch q.rest[0] {
	case "resolve", "raw":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return nil
		}
		return &apiRoute{name: q.rest[0], fn: h.resolve(q, q.rest[0] == "raw"), q: q}
	}
	return nil
}
