package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/route"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/sso"
)

// Config holds the web UI's settings.
type Config struct {
	// SiteName is shown in the header and page titles (default "Agora").
	SiteName string
	// MaxBlobView bounds the text files shown inline on blob pages
	// (default 512 KiB); larger files get a download link.
	MaxBlobView int64
	// SSO, when set, adds single sign-on through an OpenID Connect
	// provider to the sign-in page.
	SSO *sso.Client
}

// Handler serves the pages. It implements server.Router.
type Handler struct {
	lg     *slog.Logger
	srv    *server.Server
	hub    *hub.Service
	cfg    Config
	pages  map[string]*template.Template
	static map[string]staticFile
	cards  *cardRenderer
}

var _ server.Router = (*Handler)(nil)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the web handler. It panics if the embedded templates do not
// parse, which a test catches long before a release.
func New(lg *slog.Logger, srv *server.Server, h *hub.Service, cfg Config) *Handler {
	if cfg.SiteName == "" {
		cfg.SiteName = "Agora"
	}
	if cfg.MaxBlobView <= 0 {
		cfg.MaxBlobView = 512 << 10
	}
	wh := &Handler{lg: lg, srv: srv, hub: h, cfg: cfg, cards: newCardRenderer(16 << 20)}
	wh.static = loadStatic()
	wh.pages = parseTemplates(wh.staticURL)
	return wh
}

// pageNames are the templates in templates/, one per page; each defines
// "content" for the shared "layout".
var pageNames = []string{
	"home", "list", "repo", "tree", "blob", "commits", "commit", "user", "login",
	"tokens", "token_created", "new", "settings", "error",
	"org", "org_new", "org_settings", "org_members", "audit", "access_requests",
}

func parseTemplates(static func(string) string) map[string]*template.Template {
	funcs := templateFuncs()
	funcs["static"] = static
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		out[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return out
}

// visit is what a handler knows about the request beyond the request
// itself: who is signed in, the CSRF token for its forms, and the public
// URL. It is built once per request and passed explicitly.
type visit struct {
	user *hub.User // nil when signed out
	// session is the session cookie's value when the identity came from
	// it; forms are bound to it.
	session string
	// nonce is the pre-session cookie's value, which binds the sign-in
	// form when there is no session.
	nonce  string
	base   string // public base URL, no trailing slash
	prefix string // its path ("" or "/prefix")
}

// csrf returns the token the page's forms carry.
func (v *visit) csrf(h *Handler) string {
	switch {
	case v.session != "":
		return h.hub.SignCSRF(v.session)
	case v.nonce != "":
		return h.hub.SignCSRF(preSession + v.nonce)
	}
	return ""
}

// pageFunc is a page handler: parse, call the hub, render.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *visit) error

// webRoute is a matched request.
type webRoute struct {
	name string
	fn   pageFunc
	repo *repoAddr // the repository addressed, if any
	// bearer: a POST may be authenticated by a token instead of a
	// session and its CSRF token (the Hub's ask-access accepts both).
	// Every other form needs a browser session.
	bearer bool
}

// repoAddr is a repository route parsed from the URL.
type repoAddr struct {
	ref hub.RepoRef
	// nsIndex is the index of the namespace among the path segments, so
	// that a renamed repository can be redirected.
	nsIndex int
	rest    []string // escaped segments after the repository
}

// Owner implements server.AddrRouter: the rows of the route table this
// package answers (pages, static files, and what no other package
// answers).
func (h *Handler) Owner() route.Owner { return route.Web }

// RouteAddr implements server.AddrRouter.
func (h *Handler) RouteAddr(r *http.Request, a *route.Addr) http.Handler {
	segs := a.Segs
	if len(segs) == 2 && segs[0] == "static" && isGet(r) {
		return h.serveStatic(segs[1])
	}
	rt := h.match(r, a)
	if rt == nil {
		return nil
	}
	return h.handler(*rt)
}

// Route implements server.Router for the requests the route table gives
// this package (servers dispatch through RouteAddr).
func (h *Handler) Route(r *http.Request, segs []string) http.Handler {
	a := route.Parse(r.Method, r.URL.EscapedPath())
	if a.Owner != route.Web {
		return nil
	}
	return h.RouteAddr(r, &a)
}

func isGet(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

func unescape(seg string) (string, bool) {
	s, err := url.PathUnescape(seg)
	return s, err == nil
}

func (h *Handler) match(r *http.Request, addr *route.Addr) *webRoute {
	s := addr.Segs
	get, post := isGet(r), r.Method == http.MethodPost
	if len(s) == 0 {
		if get {
			return &webRoute{name: "home", fn: h.home}
		}
		return nil
	}
	switch s[0] {
	case "api", "static":
		return nil
	case "models", "datasets":
		if len(s) == 1 && get {
			typ := hub.TypeModel
			if s[0] == "datasets" {
				typ = hub.TypeDataset
			}
			return &webRoute{name: "list", fn: h.list(typ)}
		}
	case "login":
		if len(s) == 1 && get {
			return &webRoute{name: "login", fn: h.loginForm}
		}
		if len(s) == 1 && post {
			return &webRoute{name: "login", fn: h.login}
		}
		if len(s) == 2 && s[1] == "oidc" && get {
			return &webRoute{name: "sso", fn: h.ssoBegin}
		}
		if len(s) == 3 && s[1] == "oidc" && s[2] == "callback" && get {
			return &webRoute{name: "sso", fn: h.ssoCallback}
		}
	case "organizations":
		if rt := h.matchOrg(r, s[1:]); rt != nil {
			return rt
		}
	case "admin":
		if len(s) == 2 && s[1] == "audit-log" && get {
			return &webRoute{name: "audit", fn: h.siteAudit}
		}
	case "logout":
		if len(s) == 1 && post {
			return &webRoute{name: "logout", fn: h.logout}
		}
	case "new", "new-dataset":
		if len(s) == 1 && get {
			return &webRoute{name: "new", fn: h.newForm(s[0] == "new-dataset")}
		}
		if len(s) == 1 && post {
			return &webRoute{name: "new", fn: h.createRepo}
		}
	case "settings":
		switch {
		case len(s) == 2 && s[1] == "tokens" && get:
			return &webRoute{name: "tokens", fn: h.tokens}
		case len(s) == 2 && s[1] == "tokens" && post:
			return &webRoute{name: "tokens", fn: h.createToken}
		case len(s) == 4 && s[1] == "tokens" && s[3] == "delete" && post:
			id, err := strconv.ParseInt(s[2], 10, 64)
			if err == nil {
				return &webRoute{name: "tokens", fn: h.revokeToken(id)}
			}
		}
	}
	if len(s) == 1 && get {
		if name, ok := unescape(s[0]); ok && hub.ValidNamespace(name) {
			return &webRoute{name: "user", fn: h.userPage(name)}
		}
	}
	if rp := addr.Repo; rp != nil {
		a := &repoAddr{ref: rp.Ref, nsIndex: rp.Index, rest: rp.Rest}
		if rt := h.matchRepo(r, a); rt != nil {
			rt.repo = a
			return rt
		}
	}
	// Whatever else a browser asks for gets the HTML 404 page, except the
	// paths of git and the API, whose clients read other formats.
	if get && wantsHTML(r) && !machinePath(s) {
		return &webRoute{name: "notfound", fn: func(http.ResponseWriter, *http.Request, *visit) error {
			return &hub.Error{Kind: hub.ErrNotFound, Msg: "Page not found"}
		}}
	}
	return nil
}

func (h *Handler) matchRepo(r *http.Request, a *repoAddr) *webRoute {
	get, post := isGet(r), r.Method == http.MethodPost
	rest := a.rest
	if len(rest) == 0 {
		if get {
			return &webRoute{name: "repo", fn: h.repoPage(a)}
		}
		return nil
	}
	switch rest[0] {
	case "tree":
		if get {
			return &webRoute{name: "tree", fn: h.treePage(a)}
		}
	case "blob":
		if get && len(rest) >= 3 {
			return &webRoute{name: "blob", fn: h.blobPage(a)}
		}
	case "commits":
		if get && len(rest) <= 2 {
			return &webRoute{name: "commits", fn: h.commitsPage(a)}
		}
	case "commit":
		if get && len(rest) == 2 {
			return &webRoute{name: "commit", fn: h.commitPage(a)}
		}
	case "settings":
		if len(rest) == 1 && get {
			return &webRoute{name: "settings", fn: h.settingsPage(a)}
		}
		if len(rest) == 1 && post {
			return &webRoute{name: "settings", fn: h.updateSettings(a)}
		}
		if len(rest) == 2 && rest[1] == "access-requests" && get {
			return &webRoute{name: "access-requests", fn: h.accessRequests(a)}
		}
		if len(rest) == 2 && rest[1] == "access-requests" && post {
			return &webRoute{name: "access-requests", fn: h.handleAccessRequest(a)}
		}
	case "ask-access":
		if len(rest) == 1 && post {
			return &webRoute{name: "ask-access", fn: h.askAccess(a), bearer: true}
		}
	}
	return nil
}

// matchOrg matches the organisation pages under /organizations/.
func (h *Handler) matchOrg(r *http.Request, s []string) *webRoute {
	get, post := isGet(r), r.Method == http.MethodPost
	if len(s) == 1 && s[0] == "new" {
		switch {
		case get:
			return &webRoute{name: "org-new", fn: h.newOrgForm}
		case post:
			return &webRoute{name: "org-new", fn: h.createOrg}
		}
		return nil
	}
	if len(s) != 3 || s[1] != "settings" {
		return nil
	}
	org, ok := unescape(s[0])
	if !ok || !hub.ValidNamespace(org) {
		return nil
	}
	switch {
	case s[2] == "profile" && get:
		return &webRoute{name: "org-settings", fn: h.orgSettings(org)}
	case s[2] == "profile" && post:
		return &webRoute{name: "org-settings", fn: h.updateOrg(org)}
	case s[2] == "members" && get:
		return &webRoute{name: "org-members", fn: h.orgMembers(org)}
	case s[2] == "members" && post:
		return &webRoute{name: "org-members", fn: h.changeMembers(org)}
	case s[2] == "audit-log" && get:
		return &webRoute{name: "audit", fn: h.orgAudit(org)}
	}
	return nil
}

// splitRev takes the revision and the path segments that follow a
// "tree" or "blob" keyword. The revision is one encoded segment
// (feature%2Fx), except that refs/pr/N and refs/convert/X may come raw,
// as the Hub's own links write them.
func splitRev(segs []string) (rev string, path string, ok bool) {
	if len(segs) == 0 {
		return "", "", true
	}
	n := 1
	if segs[0] == "refs" && len(segs) >= 3 && (segs[1] == "pr" || segs[1] == "convert") {
		n = 3
	}
	if len(segs) < n {
		n = len(segs)
	}
	parts := make([]string, 0, len(segs))
	for _, s := range segs {
		d, ok := unescape(s)
		if !ok {
			return "", "", false
		}
		parts = append(parts, d)
	}
	return strings.Join(parts[:n], "/"), strings.Join(parts[n:], "/"), true
}

// wantsHTML reports whether the client is a browser asking for a page.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// machinePath reports whether s is a path of the API or git (smart HTTP
// and LFS), which other packages answer in their own formats.
func machinePath(s []string) bool {
	for i, seg := range s {
		if strings.HasSuffix(seg, ".git") || strings.HasPrefix(seg, "git-") {
			return true
		}
		if seg == "info" && i+1 < len(s) && (s[i+1] == "refs" || s[i+1] == "lfs") {
			return true
		}
	}
	return s[0] == "api"
}

// handler adapts a route: the session cookie becomes an identity, POSTs
// must carry a valid CSRF token, errors render as the HTML error page.
func (h *Handler) handler(rt webRoute) http.Handler {
	inner := h.srv.Adapt(h.renderProblem, func(w http.ResponseWriter, r *http.Request) error {
		v := h.visitOf(r)
		if r.Method == http.MethodPost {
			if err := h.checkPost(w, r, v, rt.bearer); err != nil {
				return err
			}
		}
		err := rt.fn(w, r, v)
		if rt.repo != nil && err != nil {
			err = h.followMove(w, r, rt.repo, err)
		}
		return err
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.SetRoute(r, "web-"+rt.name)
		setSecurityHeaders(w.Header())
		inner.ServeHTTP(w, h.withSession(w, r))
	})
}

// followMove answers a GET of a renamed repository's page with a
// redirect to the same page under the new name (temporary, as the API's:
// the old name may be taken again). Other methods get the
// 404 of a repository that no longer exists under that name.
func (h *Handler) followMove(w http.ResponseWriter, r *http.Request, a *repoAddr, err error) error {
	m, ok := errors.AsType[*hub.MovedError](err)
	if !ok {
		return err
	}
	if !isGet(r) {
		return &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
	}
	loc, ok := server.MovedPath(r, a.nsIndex, 2, m.Namespace, m.Name)
	if !ok {
		return err
	}
	http.Redirect(w, r, h.prefix(r)+loc, http.StatusTemporaryRedirect)
	return nil
}

// prefix is the path of the public URL, which every link starts with.
func (h *Handler) prefix(r *http.Request) string {
	u, err := url.Parse(h.srv.BaseURL(r))
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.EscapedPath(), "/")
}

// setSecurityHeaders forbids inline script, framing and content sniffing
// on every page: even if a card slipped past the sanitizer, the browser
// would not run what it injected.
func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' https: http:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
}

// page is what every template receives: the layout's fields and the
// page's own data in Body.
type page struct {
	Site   string
	Title  string
	Prefix string
	Viewer *hub.User
	CSRF   string
	// Query fills the header's search box; Nav marks the active section.
	Query string
	Nav   string
	Body  any
}

// URL returns the address of a path on this server.
func (p *page) URL(path string) string { return p.Prefix + path }

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render executes a page template into a buffer (so that a template
// error still yields a clean 500) and writes it with status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name string, p *page) error {
	t := h.pages[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	p.Site, p.Prefix, p.CSRF = h.cfg.SiteName, v.prefix, v.csrf(h)
	p.Viewer = v.user
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "private, no-cache")
	}
	hd.Set("Vary", "Cookie, Authorization")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
	return nil
}

// errorPage is the body of the error template.
type errorPage struct {
	Status  int
	Heading string
	Msg     string
	SignIn  bool // offer the sign-in link
}

// renderProblem is the server.Renderer of the pages: the classified error
// as an HTML page with its status. The message is the one written for the
// user; a 5xx shows only the request id.
func (h *Handler) renderProblem(w http.ResponseWriter, r *http.Request, p server.Problem) {
	if p.Status == 499 {
		return
	}
	v := h.visitOf(r)
	if id := server.Identity(r.Context()); id != nil && id.Token != nil && r.Method == http.MethodPost {
		// A machine with a token posted (to ask-access, or a form it
		// may not use): it reads the Hub's JSON errors, not a page.
		server.WriteJSONError(w, r, p)
		return
	}
	if p.Status == http.StatusUnauthorized && isGet(r) && v.user == nil {
		h.redirectToLogin(w, r, v)
		return
	}
	if p.Status == http.StatusTemporaryRedirect {
		// A rename seen by a non-GET: the old name is gone.
		p = server.Problem{Status: http.StatusNotFound, Msg: "Repository not found"}
	}
	ep := errorPage{Status: p.Status, Heading: http.StatusText(p.Status), Msg: p.Message(r), SignIn: v.user == nil}
	if p.Status == http.StatusNotFound {
		ep.Heading = "Not found"
	}
	if err := h.render(w, r, v, p.Status, "error", &page{Title: ep.Heading, Body: ep}); err != nil {
		h.lg.ErrorContext(r.Context(), "render error page", "req", server.RequestID(r.Context()), "err", err)
		http.Error(w, ep.Msg, p.Status)
	}
}

// redirectToLogin sends a signed-out visitor to the sign-in page, to
// come back to the page asked for.
func (h *Handler) redirectToLogin(w http.ResponseWriter, r *http.Request, v *visit) {
	next := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, v.prefix+"/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// staticFile is an embedded asset with its content hash.
type staticFile struct {
	data        []byte
	contentType string
	etag        string
}

func loadStatic() map[string]staticFile {
	out := map[string]staticFile{}
	ents, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range ents {
		data, err := fs.ReadFile(staticFS, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		ct := "application/octet-stream"
		switch {
		case strings.HasSuffix(e.Name(), ".css"):
			ct = "text/css; charset=utf-8"
		case strings.HasSuffix(e.Name(), ".js"):
			ct = "text/javascript; charset=utf-8"
		case strings.HasSuffix(e.Name(), ".svg"):
			ct = "image/svg+xml"
		}
		out[e.Name()] = staticFile{data: data, contentType: ct, etag: contentTag(data)}
	}
	return out
}

// staticURL is the address of an asset, versioned by its content so that
// it can be cached for good.
func (h *Handler) staticURL(name string) string {
	f, ok := h.static[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + f.etag
}

func (h *Handler) serveStatic(seg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.SetRoute(r, "web-static")
		f, ok := h.static[seg]
		if !ok {
			http.NotFound(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", f.contentType)
		hd.Set("ETag", `"`+f.etag+`"`)
		hd.Set("X-Content-Type-Options", "nosniff")
		// Opened on their own (an SVG in a tab), assets run nothing.
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		if r.URL.Query().Get("v") == f.etag {
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			hd.Set("Cache-Control", "public, no-cache")
		}
		http.ServeContent(w, r, seg, startTime, bytes.NewReader(f.data))
	})
}
