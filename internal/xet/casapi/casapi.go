// Package casapi serves the Xet CAS API (package cas) over HTTP, on the
// hub's own port under a path prefix: the casUrl the token endpoints hand
// out is the hub's public URL plus that prefix. It answers every route
// variant that released hf_xet versions and huggingface.js send (see
// routes.go), checking the CAS token of every request but the xorb data
// URLs, which carry their own signature.
package casapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/route"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/xet/cas"
)

// DefaultPrefix is where the CAS routes live under the hub's URL.
const DefaultPrefix = "/" + route.CASPrefix

// Config holds the API's settings.
type Config struct {
	// Prefix is the path of the CAS under the hub's public URL: one
	// segment, starting with a slash (DefaultPrefix if empty).
	Prefix string
}

// Handler serves the CAS API.
type Handler struct {
	lg     *slog.Logger
	srv    *server.Server
	cas    *cas.Service
	prefix string // without the slash
}

// New returns the handler.
func New(lg *slog.Logger, srv *server.Server, svc *cas.Service, cfg Config) *Handler {
	p := strings.Trim(cfg.Prefix, "/")
	if p == "" {
		p = strings.Trim(DefaultPrefix, "/")
	}
	return &Handler{lg: lg, srv: srv, cas: svc, prefix: p}
}

// URL returns the CAS URL (casUrl) for a request to the hub: absolute, no
// trailing slash.
func (h *Handler) URL(r *http.Request) string {
	return h.srv.BaseURL(r) + "/" + h.prefix
}

// Authenticator wraps the hub's authenticator for the server's identity
// middleware, which reads every Authorization header: a CAS token there
// is the CAS routes' business, checked by them, so it authenticates
// nobody rather than failing as an unknown hub token.
func Authenticator(inner server.Authenticator) server.Authenticator {
	return authenticator{inner}
}

type authenticator struct{ inner server.Authenticator }

// Session forwards web session checks: wrapping must not hide the inner
// authenticator's optional capability (server.SessionAuthenticator), or
// signed-in browsers stop being recognised on downloads and the API.
func (a authenticator) Session(ctx context.Context, value string) (*auth.Identity, error) {
	sa, ok := a.inner.(server.SessionAuthenticator)
	if !ok {
		return nil, errNoSessions
	}
	return sa.Session(ctx, value)
}

var errNoSessions = errors.New("casapi: the authenticator has no web sessions")

func (a authenticator) Authenticate(ctx context.Context, secret auth.Secret) (*auth.Identity, error) {
	if strings.HasPrefix(string(secret), cas.TokenPrefix) {
		return nil, nil
	}
	return a.inner.Authenticate(ctx, secret)
}

// handlerFunc is a CAS handler; its error is rendered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (h *Handler) adapt(route string, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.SetRoute(r, route)
		if sid := r.Header.Get("X-Xet-Session-Id"); sid != "" {
			h.lg.DebugContext(r.Context(), "xet request", "req", server.RequestID(r.Context()), "route", route,
				"session", sid, "agent", r.UserAgent())
		}
		if err := fn(w, r); err != nil {
			h.fail(w, r, err)
		}
	})
}

// problem classifies an error of the service: the client's mistakes carry
// a cas.Error; anything else is ours.
func problem(err error) server.Problem {
	var e *cas.Error
	if errors.As(err, &e) {
		p := server.Problem{Msg: e.Msg}
		switch {
		case errors.Is(e.Kind, cas.ErrUnauthorized):
			p.Status = http.StatusUnauthorized
		case errors.Is(e.Kind, cas.ErrForbidden):
			p.Status = http.StatusForbidden
		case errors.Is(e.Kind, cas.ErrNotFound):
			p.Status = http.StatusNotFound
		case errors.Is(e.Kind, cas.ErrTooLarge):
			p.Status = http.StatusRequestEntityTooLarge
		case errors.Is(e.Kind, cas.ErrRange):
			p.Status = http.StatusRequestedRangeNotSatisfiable
		default:
			p.Status = http.StatusBadRequest
		}
		return p
	}
	// Body limits, slow clients and cancellations are the server's
	// classification.
	return server.Classify(err)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problem(err)
	if p.Internal {
		h.lg.ErrorContext(r.Context(), "cas request failed", "req", server.RequestID(r.Context()), "method", r.Method,
			"path", r.URL.EscapedPath(), "err", err)
	} else {
		h.lg.DebugContext(r.Context(), "cas request refused", "req", server.RequestID(r.Context()), "status", p.Status, "err", err)
	}
	server.WriteJSONError(w, r, p)
}

// token checks the request's CAS token.
func (h *Handler) token(r *http.Request) (*cas.Token, error) {
	v := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "bearer") {
		tok = ""
	}
	return h.cas.ParseToken(strings.TrimSpace(tok))
}
