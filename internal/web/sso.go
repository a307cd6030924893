package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/sso"
)

// ssoCookie carries a sign-in's state, nonce and PKCE verifier from
// /login/oidc to the provider's callback. It is signed with the hub's
// key and scoped to the callback's path; SameSite=Lax still sends it on
// the provider's top-level redirect back.
const ssoCookie = "agora_sso"

// ssoFlowTTL bounds how long a sign-in at the provider may take.
const ssoFlowTTL = 10 * time.Minute

// ssoState is what the cookie holds.
type ssoState struct {
	Flow    sso.Flow `json:"f"`
	Next    string   `json:"x"`
	Expires int64    `json:"e"`
}

func (h *Handler) ssoPath(v *visit) string { return v.prefix + "/login/oidc" }

func (h *Handler) ssoRedirectURL(v *visit) string { return v.base + "/login/oidc/callback" }

// sealSSO signs the state; the MAC is the hub's CSRF signature of a
// string no session value can equal (sessions never contain "sso\x00").
func (h *Handler) sealSSO(st ssoState) string {
	b, _ := json.Marshal(st)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + h.hub.SignCSRF("sso\x00"+payload)
}

func (h *Handler) openSSO(value string) (ssoState, bool) {
	payload, mac, ok := strings.Cut(value, ".")
	if !ok || !h.hub.CheckCSRF("sso\x00"+payload, mac) {
		return ssoState{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	var st ssoState
	if err != nil || json.Unmarshal(b, &st) != nil || time.Now().Unix() > st.Expires {
		return ssoState{}, false
	}
	return st, true
}

// ssoBegin sends the browser to the provider.
func (h *Handler) ssoBegin(w http.ResponseWriter, r *http.Request, v *visit) error {
	if h.cfg.SSO == nil {
		return &hub.Error{Kind: hub.ErrNotFound, Msg: "Single sign-on is not configured"}
	}
	next := safeNext(r.URL.Query().Get("next"))
	if v.user != nil {
		http.Redirect(w, r, v.prefix+next, http.StatusSeeOther)
		return nil
	}
	u, flow, err := h.cfg.SSO.Begin(r.Context(), h.ssoRedirectURL(v))
	if err != nil {
		return h.ssoFailed(w, r, v, next, err)
	}
	c := h.cookie(r, ssoCookie, h.sealSSO(ssoState{Flow: flow, Next: next, Expires: time.Now().Add(ssoFlowTTL).Unix()}), int(ssoFlowTTL/time.Second))
	c.Path = h.ssoPath(v)
	http.SetCookie(w, c)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

// ssoCallback finishes the sign-in: the provider's answer is checked
// against the cookie, the hub finds or creates the account, and the
// browser gets a session like a password sign-in's.
func (h *Handler) ssoCallback(w http.ResponseWriter, r *http.Request, v *visit) error {
	if h.cfg.SSO == nil {
		return &hub.Error{Kind: hub.ErrNotFound, Msg: "Single sign-on is not configured"}
	}
	w.Header().Set("Cache-Control", "no-store")
	var st ssoState
	c, err := r.Cookie(ssoCookie)
	if err == nil {
		st, _ = h.openSSO(c.Value)
	}
	// The flow is used once, whatever the outcome.
	gone := h.cookie(r, ssoCookie, "", -1)
	gone.Path = h.ssoPath(v)
	http.SetCookie(w, gone)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		msg := "The identity provider refused the sign-in (" + e + ")."
		if d := q.Get("error_description"); d != "" && len(d) < 300 {
			msg = "The identity provider refused the sign-in: " + d
		}
		return h.renderLogin(w, r, v, http.StatusUnauthorized, st.Next, msg)
	}
	claims, err := h.cfg.SSO.Finish(r.Context(), h.ssoRedirectURL(v), q.Get("state"), q.Get("code"), st.Flow)
	if err != nil {
		return h.ssoFailed(w, r, v, st.Next, err)
	}
	id, created, err := h.hub.SignInExternal(r.Context(), hub.ExternalProfile{
		Issuer: claims.Issuer, Subject: claims.Subject, Username: claims.Username,
		Email: claims.Email, FullName: claims.Name,
		Orgs: hub.OrgRolesFromGroups(claims.Groups), Admin: claims.Admin,
	})
	if err != nil {
		if p := server.Classify(err); !p.Internal {
			return h.renderLogin(w, r, v, p.Status, st.Next, p.Msg)
		}
		return err
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, h.hub.NewSession(id), sessionMaxAge))
	h.lg.InfoContext(r.Context(), "signed in", "user", id.User.Name, "method", "sso", "created", created)
	next := safeNext(st.Next)
	http.Redirect(w, r, v.prefix+next, http.StatusSeeOther)
	return nil
}

// ssoFailed shows the sign-in page with what went wrong; the details
// (which may name internal hosts) go to the log.
func (h *Handler) ssoFailed(w http.ResponseWriter, r *http.Request, v *visit, next string, err error) error {
	h.lg.WarnContext(r.Context(), "single sign-on failed", "req", server.RequestID(r.Context()), "err", err)
	switch {
	case errors.Is(err, sso.ErrRejected):
		return h.renderLogin(w, r, v, http.StatusBadRequest, next, "Single sign-on failed: the answer from the identity provider did not check out. Try again.")
	case errors.Is(err, sso.ErrUnavailable):
		return h.renderLogin(w, r, v, http.StatusBadGateway, next, "Single sign-on is unavailable: the identity provider could not be reached. Try again later.")
	}
	return err
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, v *visit, status int, next, msg string) error {
	h.ensureNonce(w, r, v)
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, status, "login", &page{Title: "Sign in",
		Body: loginPage{Next: safeNext(next), Error: msg, SSO: h.cfg.SSO != nil}})
}
