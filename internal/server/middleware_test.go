package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/agorahub/agora/internal/hub"
)

// logRecorder keeps the JSON log lines a server writes.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecorder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// records returns the logged records with message msg.
func (l *logRecorder) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// newLoggedServer returns a server logging JSON to a recorder, with
// routers mounted in order.
func newLoggedServer(t *testing.T, rs ...Router) (http.Handler, *logRecorder, *Server) {
	t.Helper()
	rec := &logRecorder{}
	s, err := New(slog.New(slog.NewJSONHandler(rec, nil)), Config{}, tokens{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Mount(rs...)
	return s.Handler(), rec, s
}

// TestMiddleware checks what the middleware chain does around a
// handler, request by request: the order (request id, recovery, access
// log, identity, then the routers in mount order, the server's own
// endpoints before them), the mapping of returned errors to HTTP, the
// recovery of panics and the one access-log line per request, which
// names the caller found by the inner identity layer.
func TestMiddleware(t *testing.T) {
	var s *Server
	ok := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			SetRoute(r, name)
			who := "anonymous"
			if id := Identity(r.Context()); id != nil {
				who = id.User.Name
			}
			io.WriteString(w, name+" "+who+" "+RequestID(r.Context()))
		})
	}
	adapt := func(name string, err error) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			SetRoute(r, name)
			s.Adapt(WriteJSONError, func(http.ResponseWriter, *http.Request) error { return err }).ServeHTTP(w, r)
		})
	}
	first := routes{
		"/a":         ok("first-a"),
		"/both":      ok("first-both"),
		"/metrics":   ok("shadowed"), // the server's own endpoints come first
		"/gone":      adapt("gone", &hub.Error{Kind: hub.ErrRepoNotFound, Msg: "Repository not found"}),
		"/internal":  adapt("internal", errors.New("disk on fire at /var/secret")),
		"/forbidden": adapt("forbidden", &hub.Error{Kind: hub.ErrForbidden, Msg: "No"}),
		"/panic": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			panic("boom")
		}),
	}
	second := routes{"/both": ok("second-both"), "/b": ok("second-b")}
	h, logs, srv := newLoggedServer(t, first, second)
	s = srv

	tests := []struct {
		name, path, token string
		status            int
		body              string // a prefix of the body
		code              string // X-Error-Code
		route             string // as logged
	}{
		{"first router", "/a", "", 200, "first-a anonymous ", "", "first-a"},
		{"first claim wins", "/both", "", 200, "first-both", "", "first-both"},
		{"second router", "/b", "alice", 200, "second-b alice ", "", "second-b"},
		{"own endpoint first", "/healthz", "", 200, "ok", "", "healthz"},
		{"nobody claims it", "/nowhere", "", 404, `{"error":"Not found: /nowhere"}`, "", "notfound"},
		{"domain error", "/gone", "", 404, `{"error":"Repository not found"}`, "RepoNotFound", "gone"},
		{"forbidden", "/forbidden", "bob", 403, `{"error":"No"}`, "", "forbidden"},
		{"bad credentials stop before the router", "/a", "mallory", 401, `{"error":"Invalid credentials`, "", "other"},
		{"internal error hides its cause", "/internal", "", 500, `{"error":"Internal error (request `, "", "internal"},
		{"panic", "/panic", "", 500, `{"error":"Internal error (request `, "", "other"},
	}
	ids := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			before := len(logs.records(t, "http"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			body := w.Body.String()
			id := w.Header().Get("X-Request-Id")
			if w.Code != tt.status || !strings.HasPrefix(body, tt.body) || w.Header().Get("X-Error-Code") != tt.code {
				t.Fatalf("%d %q (code %q), want %d %q… (code %q)", w.Code, body, w.Header().Get("X-Error-Code"), tt.status, tt.body, tt.code)
			}
			if id == "" || ids[id] {
				t.Fatalf("X-Request-Id %q: missing or given before", id)
			}
			ids[id] = true
			if w.Code == 200 && tt.path != "/healthz" && !strings.HasSuffix(body, " "+id) {
				t.Fatalf("the handler saw request id %q, the client %q", body, id)
			}
			if w.Code == 500 && (!strings.Contains(body, id) || strings.Contains(body, "secret") || strings.Contains(body, "boom")) {
				t.Fatalf("500 body %q: must name request %s and hide the cause", body, id)
			}
			lines := logs.records(t, "http")
			if len(lines) != before+1 {
				t.Fatalf("%d access-log lines for one request", len(lines)-before)
			}
			l := lines[len(lines)-1]
			user := tt.token
			if w.Code == http.StatusUnauthorized {
				user = ""
			}
			if l["req"] != id || l["path"] != tt.path || l["route"] != tt.route || l["status"] != float64(tt.status) || l["method"] != "GET" || l["user"] != user {
				t.Fatalf("access log %v", l)
			}
		})
	}
	// Errors are logged once, with their cause, only when internal.
	if n := len(logs.records(t, "panic")); n != 1 {
		t.Errorf("%d panic records, want 1", n)
	}
	if !strings.Contains(logs.buf.String(), "disk on fire") {
		t.Error("the internal error's cause is not in the log")
	}
	if strings.Contains(logs.buf.String(), "Repository not found\",\"err") {
		t.Error("a 4xx was logged as an error")
	}

	// A caller's own id is kept; a method outside the usual ones is
	// counted too.
	req := httptest.NewRequest("PROPFIND", "/a", nil)
	req.Header.Set("X-Request-Id", "caller-chose-this")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if got := w.Header().Get("X-Request-Id"); got != "caller-chose-this" || !strings.HasSuffix(w.Body.String(), " caller-chose-this") {
		t.Errorf("request id %q, body %q: the caller's id was not kept", got, w.Body.String())
	}

	// Metrics count every request by route and status.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	metrics := w.Body.String()
	for _, want := range []string{
		`agora_http_requests_total{code="404",method="GET",route="gone"} 1`,
		`agora_http_requests_total{code="200",method="GET",route="first-both"} 1`,
		`agora_http_requests_total{code="500",method="GET",route="other"} 1`,
		`agora_http_request_duration_seconds_count{route="second-b"} 1`,
		`agora_http_requests_total{code="200",method="PROPFIND",route="first-a"} 1`,
		`agora_http_request_duration_seconds_count{route="first-a"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAccessLogRedactsSignedPaths: the signed tokens of upload and
// download URLs never reach the log.
func TestAccessLogRedactsSignedPaths(t *testing.T) {
	h, logs, _ := newLoggedServer(t, routes{"/api/lfs/upload/s3cr3t-t0ken": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/api/lfs/upload/s3cr3t-t0ken", nil))
	if strings.Contains(logs.buf.String(), "s3cr3t") {
		t.Fatalf("token in the log: %s", logs.buf.String())
	}
	if l := logs.records(t, "http"); len(l) != 1 || l[0]["path"] != "/api/lfs/upload/…" {
		t.Fatalf("access log %v", l)
	}
}
