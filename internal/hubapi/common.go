package hubapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// isoTime formats a time the way the Python client parses it (UTC, "Z").
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 8 << 20

// decodeJSON reads a bounded JSON body into v; an empty body leaves v as is.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	// The body is read whole and then decoded: a json.Decoder on the
	// stream was a sixth of paths-info's handler for a two-path body.
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodyBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxJSONBody)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return err
		}
		return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid JSON body: " + err.Error()}
	}
	b := bytes.TrimLeft(buf.Bytes(), " \t\r\n")
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		// One value only: a body that goes on after it ({"name":"a"}{"name":
		// "b"}) is malformed, not the first value's request.
		if _, ok := errors.AsType[*json.SyntaxError](err); ok && strings.Contains(err.Error(), "after top-level value") {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid JSON body: data after the JSON value"}
		}
		return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid JSON body: " + err.Error()}
	}
	return nil
}

// bodyBufs holds request-body buffers for decodeJSON; one grown past
// maxPooledBody (a commit's body) is left to the collector.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 64 << 10

// boolParam reads a boolean query parameter the way clients send them
// (true/false, 1/0).
func boolParam(q url.Values, names ...string) bool {
	for _, n := range names {
		switch strings.ToLower(q.Get(n)) {
		case "1", "true", "yes":
			return true
		}
	}
	return false
}

// listParam reads a list parameter sent as repeated keys, with or without
// brackets, possibly comma-joined.
func listParam(q url.Values, name string) []string {
	var out []string
	for _, key := range []string{name, name + "[]"} {
		for _, v := range q[key] {
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// repoURL is the repository's web address, as commitUrl and create answers
// give it.
func (h *Handler) repoURL(r *http.Request, ref hub.RepoRef) string {
	return h.srv.BaseURL(r) + webPrefix(ref.Type) + "/" + ref.FullName()
}

// authorizeFirst runs the authorisation decision for action a on q's
// repository before fn, which reads the body.
func (h *Handler) authorizeFirst(q *req, a hub.Action, fn server.HandlerFunc) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, err := h.hub.Authorize(r.Context(), server.Identity(r.Context()), q.ref, a); err != nil {
			return err
		}
		return fn(w, r)
	}
}

// withMoved wraps a repository route: when the repository was renamed, a
// GET or HEAD is answered with a relative redirect to the same path under
// the new name (the Python client re-issues HEADs on relative Locations).
func (h *Handler) withMoved(q *req, fn server.HandlerFunc) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := fn(w, r)
		m, ok := errors.AsType[*hub.MovedError](err)
		if !ok {
			return err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}
		}
		loc, ok := server.MovedPath(r, q.nsIndex, q.idSegs, m.Namespace, m.Name)
		if !ok {
			return err
		}
		w.Header().Set("Location", loc)
		server.WriteJSON(w, r, http.StatusTemporaryRedirect, map[string]any{"error": m.Msg})
		return nil
	}
}

// contentType guesses a download's type from its name.
func contentType(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i >= 0 {
		if t := mime.TypeByExtension(name[i:]); t != "" {
			return t
		}
		switch strings.ToLower(name[i:]) {
		case ".md", ".txt", ".py", ".yaml", ".yml", ".jinja", ".cfg", ".toml":
			return "text/plain; charset=utf-8"
		}
	}
	return "application/octet-stream"
}

// contentDisposition names the file for browsers (RFC 6266 with an ASCII
// fallback).
func contentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`inline; filename*=UTF-8''%s; filename="%s";`, url.PathEscape(name), ascii)
}

// nextLink sets the Link header of a paginated answer: the same request
// URL with one parameter changed.
func (h *Handler) nextLink(w http.ResponseWriter, r *http.Request, key, value string) {
	q := r.URL.Query()
	q.Set(key, value)
	u := h.srv.BaseURL(r) + r.URL.EscapedPath() + "?" + q.Encode()
	w.Header().Set("Link", "<"+u+`>; rel="next"`)
}

// intParam reads a non-negative integer parameter with a default and cap.
func intParam(q url.Values, name string, def, max int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &hub.Error{Kind: hub.ErrInvalid, Msg: fmt.Sprintf("Invalid %s %q", name, s)}
	}
	if max > 0 && n > max {
		n = max
	}
	return n, nil
}
