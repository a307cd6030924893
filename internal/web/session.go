package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// Cookie names.
const (
	sessionCookie = server.SessionCookie
	// nonceCookie holds a random value that binds the sign-in form's CSRF
	// token before there is a session (against login CSRF).
	nonceCookie = "agora_csrf"
	// preSession separates pre-session CSRF tokens from session-bound ones.
	preSession = "pre-session\x00"
)

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// errCSRF refuses a form without a valid token.
var errCSRF = &hub.Error{Kind: hub.ErrForbidden, Msg: "This form has expired or did not come from this site: reload the page and try again"}

// withSession turns a valid session cookie into the request's identity.
// A bearer token, already resolved by the server middleware, wins over
// the cookie. A cookie that no longer checks out (expired, signed with
// another key, password changed) is dropped.
func (h *Handler) withSession(w http.ResponseWriter, r *http.Request) *http.Request {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || server.Identity(r.Context()) != nil {
		return r
	}
	id, err := h.hub.Session(r.Context(), c.Value)
	if err != nil {
		if server.Classify(err).Internal {
			// The store failed: serve the page signed out, but keep
			// the cookie for the next request.
			h.lg.WarnContext(r.Context(), "session check failed", "req", server.RequestID(r.Context()), "err", err)
			return r
		}
		http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
		return r
	}
	return r.WithContext(server.WithIdentity(r.Context(), id))
}

// visitOf gathers what the pages need to know about r's visitor.
func (h *Handler) visitOf(r *http.Request) *visit {
	v := &visit{base: h.srv.BaseURL(r)}
	if u, err := url.Parse(v.base); err == nil {
		v.prefix = strings.TrimRight(u.EscapedPath(), "/")
	}
	if id := server.Identity(r.Context()); id != nil {
		v.user = id.User
		if id.Token == nil {
			if c, err := r.Cookie(sessionCookie); err == nil {
				v.session = c.Value
			}
		}
	}
	if v.session == "" {
		if c, err := r.Cookie(nonceCookie); err == nil {
			v.nonce = c.Value
		}
	}
	return v
}

// errNeedSession refuses a form posted with a token: tokens are for the
// API, git and the clients, and one that leaks (a read token in a CI log)
// must not be able to revoke tokens or change settings through the pages.
var errNeedSession = &hub.Error{Kind: hub.ErrForbidden, Msg: "This form needs a browser session: sign in on the web page, not with a token"}

// checkPost admits a POST: a bounded form body whose CSRF token is bound
// to the visitor's session (or, signed out, to the pre-session cookie of
// the sign-in form). On a bearer route a request authenticated by a token
// passes without a form token; its handler reads the body itself.
func (h *Handler) checkPost(w http.ResponseWriter, r *http.Request, v *visit, bearer bool) error {
	if id := server.Identity(r.Context()); id != nil && id.Token != nil {
		if bearer {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			return nil
		}
		return errNeedSession
	}
	return h.checkForm(w, r, v)
}

// checkForm parses a bounded form body and checks its CSRF token.
func (h *Handler) checkForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return err
		}
		return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid form"}
	}
	token := r.PostFormValue("csrf")
	switch {
	case v.session != "" && h.hub.CheckCSRF(v.session, token):
		return nil
	case v.user == nil && v.nonce != "" && h.hub.CheckCSRF(preSession+v.nonce, token):
		return nil
	}
	return errCSRF
}

// cookie builds one of our cookies; maxAge < 0 deletes it.
func (h *Handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	p := h.prefix(r)
	if p == "" {
		p = "/"
	}
	return &http.Cookie{
		Name: name, Value: value, Path: p, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(h.srv.BaseURL(r), "https://"),
	}
}

// sessionMaxAge matches the hub's session lifetime closely enough: the
// value itself carries the real expiry.
const sessionMaxAge = int(30 * 24 * time.Hour / time.Second)

// loginPage is the body of the login template.
type loginPage struct {
	Next  string
	User  string
	Error string
	SSO   bool // offer single sign-on
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	next := safeNext(r.URL.Query().Get("next"))
	if v.user != nil {
		http.Redirect(w, r, v.prefix+next, http.StatusSeeOther)
		return nil
	}
	h.ensureNonce(w, r, v)
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, http.StatusOK, "login", &page{Title: "Sign in", Body: loginPage{Next: next, SSO: h.cfg.SSO != nil}})
}

// ensureNonce gives a signed-out visitor the pre-session cookie that the
// sign-in form's token is bound to.
func (h *Handler) ensureNonce(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.nonce != "" {
		return
	}
	var b [18]byte
	rand.Read(b[:])
	v.nonce = base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, h.cookie(r, nonceCookie, v.nonce, 0))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request, v *visit) error {
	name := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	id, err := h.hub.SignIn(r.Context(), name, r.PostFormValue("password"))
	if errors.Is(err, hub.ErrUnauthenticated) {
		w.Header().Set("Cache-Control", "no-store")
		return h.render(w, r, v, http.StatusUnauthorized, "login", &page{Title: "Sign in",
			Body: loginPage{Next: next, User: name, Error: "Wrong user name or password.", SSO: h.cfg.SSO != nil}})
	}
	if err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, h.hub.NewSession(id), sessionMaxAge))
	h.hub.RecordSignIn(r.Context(), id)
	h.lg.InfoContext(r.Context(), "signed in", "user", id.User.Name)
	http.Redirect(w, r, v.prefix+next, http.StatusSeeOther)
	return nil
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, v *visit) error {
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, v.prefix+"/", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-sign-in destination on this site: a path, never
// another origin ("//host", "/\host") or a scheme.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// requireUser sends signed-out visitors to the sign-in page. It reports
// whether the handler may go on.
func (h *Handler) requireUser(w http.ResponseWriter, r *http.Request, v *visit) bool {
	if v.user != nil {
		return true
	}
	if isGet(r) {
		h.redirectToLogin(w, r, v)
		return false
	}
	h.renderProblem(w, r, server.Problem{Status: http.StatusUnauthorized, Msg: "You must be signed in"})
	return false
}
