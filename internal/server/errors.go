package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
)

// Problem is an error classified for HTTP: the status, the HF error code
// (X-Error-Code) and a message safe to show the user.
type Problem struct {
	Status int
	Code   string
	Msg    string
	// Commit is the resolved commit to report with EntryNotFound.
	Commit string
	// Internal is set for 5xx: the error must be logged.
	Internal bool
	// RetryAfter, when positive, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
}

// errorTable maps domain kinds to statuses, most specific first. It is the
// only place where errors become HTTP.
var errorTable = []struct {
	kind   error
	status int
	code   string
}{
	{hub.ErrRepoNotFound, http.StatusNotFound, "RepoNotFound"},
	{hub.ErrRevisionNotFound, http.StatusNotFound, "RevisionNotFound"},
	{hub.ErrEntryNotFound, http.StatusNotFound, "EntryNotFound"},
	{hub.ErrNotFound, http.StatusNotFound, ""},
	{hub.ErrMoved, http.StatusTemporaryRedirect, ""},
	{hub.ErrGatedSignIn, http.StatusUnauthorized, "GatedRepo"},
	{hub.ErrGated, http.StatusForbidden, "GatedRepo"},
	{hub.ErrInvalidPath, http.StatusUnprocessableEntity, ""},
	{hub.ErrNotGated, http.StatusBadRequest, "RepoNotGated"},
	{hub.ErrInvalid, http.StatusBadRequest, ""},
	{hub.ErrUnauthenticated, http.StatusUnauthorized, ""},
	{hub.ErrQuotaExceeded, http.StatusForbidden, "StorageQuotaExceeded"},
	{hub.ErrForbidden, http.StatusForbidden, ""},
	{hub.ErrConflict, http.StatusConflict, ""},
	{hub.ErrStaleParent, http.StatusPreconditionFailed, ""},
	{hub.ErrTooLarge, http.StatusRequestEntityTooLarge, ""},
	{hub.ErrUnsupported, http.StatusNotImplemented, ""},
	{hub.ErrNoSpace, http.StatusInsufficientStorage, ""},
	// Upstream hubs of mirrored repositories (issue 14): a failure is a
	// 5xx, never a 404 a client would cache as the file's absence.
	{hub.ErrUpstreamBusy, http.StatusTooManyRequests, ""},
	{hub.ErrUpstreamTimeout, http.StatusGatewayTimeout, ""},
	{hub.ErrUpstreamUnavailable, http.StatusServiceUnavailable, ""},
	{hub.ErrUpstreamInvalid, http.StatusBadGateway, ""},
}

// Classify turns any error into a Problem.
func Classify(err error) Problem {
	err = hub.Domain(err)
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		_ = mbe
		return Problem{Status: http.StatusRequestEntityTooLarge, Msg: "Request body too large"}
	}
	if errors.Is(err, errSlowBody) {
		return Problem{Status: http.StatusRequestTimeout, Msg: "Request body timed out: the client stopped sending"}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads the answer.
		return Problem{Status: 499, Msg: "Client closed request"}
	}
	for _, row := range errorTable {
		if errors.Is(err, row.kind) {
			p := Problem{Status: row.status, Code: row.code, Msg: http.StatusText(row.status)}
			if he, ok := hub.AsError(err); ok {
				p.Msg, p.Commit = he.Msg, he.Commit
			}
			if be, ok := errors.AsType[*hub.BusyError](err); ok {
				p.RetryAfter = be.RetryAfter
			}
			return p
		}
	}
	return Problem{Status: http.StatusInternalServerError, Msg: "Internal error", Internal: true}
}

// headerSafe makes a message fit in one HTTP header line.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// SetErrorHeaders writes the X-Error-* headers the HF clients read.
func SetErrorHeaders(w http.ResponseWriter, p Problem) {
	h := w.Header()
	if p.Code != "" {
		h.Set("X-Error-Code", p.Code)
	}
	h.Set("X-Error-Message", headerSafe(p.Msg))
	if p.Commit != "" {
		h.Set("X-Repo-Commit", p.Commit)
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((p.RetryAfter+time.Second-1)/time.Second), 10))
	}
}

// Message is the text shown to the client: an internal error's cause
// stays in the log, the client gets the request id to quote instead.
func (p Problem) Message(r *http.Request) string {
	if p.Internal {
		return "Internal error (request " + RequestID(r.Context()) + ")"
	}
	return p.Msg
}

// WriteJSONError renders a Problem the way the Hub does: status, X-Error-*
// headers and {"error": message}.
func WriteJSONError(w http.ResponseWriter, r *http.Request, p Problem) {
	SetErrorHeaders(w, p)
	if p.Status == 499 {
		return
	}
	msg := p.Message(r)
	if p.Internal {
		w.Header().Set("X-Error-Message", msg)
	}
	WriteJSON(w, r, p.Status, map[string]any{"error": msg})
}
