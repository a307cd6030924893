package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
)

// reqState is what the outer middleware keeps about a request, in one
// context value: its id, the route the mux matched and the caller's name
// (for the access log and metrics). The inner layers fill it in: the
// identity they find lives in their copies of the request, which the
// outer one never sees.
type reqState struct {
	id    string
	route string
	user  string
}

// requestIDs numbers the requests that come without an id: a random
// prefix per process and a counter, unique without a read of the system's
// random source per request.
var requestIDs = func() func() string {
	var seed [4]byte
	rand.Read(seed[:])
	prefix := hex.EncodeToString(seed[:])
	var n atomic.Uint64
	return func() string {
		var b [16]byte
		copy(b[:], prefix)
		v := uint32(n.Add(1))
		const digits = "0123456789abcdef"
		for i := 15; i >= 8; i-- {
			b[i] = digits[v&15]
			v >>= 4
		}
		return string(b[:])
	}
}()

func withRecovery(lg *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				lg.ErrorContext(r.Context(), "panic", "req", RequestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
				WriteJSONError(w, r, Problem{Status: http.StatusInternalServerError, Msg: "Internal error", Internal: true})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// statusWriter records the status and size of a response. It keeps the
// io.ReaderFrom of the underlying writer so that http.ServeContent on an
// *os.File still uses sendfile.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	conn   net.Conn // for sendingFile, or nil
	tuned  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	uncork := func() {}
	if !w.tuned {
		w.tuned = true
		sendingFile(w.conn, r)
		uncork = corkFile(w.conn, r)
	}
	n, err := w.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
	uncork()
	w.bytes += n
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	// routes caches each route's series: looking them up by label values
	// hashes the values on every request.
	routes sync.Map // string → *routeMetrics
}

type routeMetrics struct {
	duration prometheus.Observer
	bytes    prometheus.Counter
	requests sync.Map // codeKey → prometheus.Counter
}

type codeKey struct {
	method string
	code   int
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agora_http_request_duration_seconds", Help: "Time to answer HTTP requests, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10, 60, 600},
		}, []string{"route"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_http_response_bytes_total", Help: "Bytes sent in response bodies, by route.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, m.bytes)
	return m
}

// observe counts one answered request. Routes are a fixed set of names
// and methods and codes few, so the caches stay small; a method outside
// the usual ones is counted without caching (clients choose it).
func (m *metrics) observe(route, method string, code int, dur time.Duration, bytes int64) {
	v, ok := m.routes.Load(route)
	if !ok {
		v, _ = m.routes.LoadOrStore(route, &routeMetrics{
			duration: m.duration.WithLabelValues(route), bytes: m.bytes.WithLabelValues(route)})
	}
	rm := v.(*routeMetrics)
	rm.duration.Observe(dur.Seconds())
	rm.bytes.Add(float64(bytes))
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions:
	default:
		m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
		return
	}
	k := codeKey{method, code}
	c, ok := rm.requests.Load(k)
	if !ok {
		c, _ = rm.requests.LoadOrStore(k, m.requests.WithLabelValues(route, method, strconv.Itoa(code)))
	}
	c.(prometheus.Counter).Inc()
}

// redactPath hides the signed tokens that upload and download URLs carry
// in their path.
func redactPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/api/lfs/"); ok {
		kind, _, _ := strings.Cut(rest, "/")
		return "/api/lfs/" + kind + "/…"
	}
	return p
}

// withRequest gives the request its id (the caller's, or a new one) and
// its client address, then logs and counts the answer. One context value
// and one copy of the request serve both.
func (s *Server) withRequest(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			id = r.Header.Get("X-Amzn-Trace-Id") // sent by huggingface_hub on every request
		}
		if id == "" || len(id) > 128 {
			id = requestIDs()
		}
		w.Header().Set("X-Request-Id", id)
		st := &reqState{id: id, route: "other"}
		// The audit log records where security events came from.
		ip := r.RemoteAddr
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		r = r.WithContext(hub.WithRequest(context.WithValue(r.Context(), keyRequest, st), ip, start))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		if s.cfg.WriteIdleTimeout <= 0 {
			// No write deadline to keep: any file response may have the
			// larger send buffer (with one, progressWriter waits until
			// the client proved fast).
			sw.conn = connOf(r.Context())
		}
		h.ServeHTTP(sw, r)
		dur := time.Since(start)
		s.metrics.observe(st.route, r.Method, sw.status, dur, sw.bytes)
		s.lg.LogAttrs(r.Context(), slog.LevelInfo, "http",
			slog.String("req", st.id), slog.String("method", r.Method),
			slog.String("path", redactPath(r.URL.EscapedPath())), slog.String("route", st.route),
			slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes), slog.Duration("dur", dur),
			slog.String("user", st.user), slog.String("remote", r.RemoteAddr))
	})
}

// credentials extracts a token from Authorization: "Bearer <token>", or
// HTTP Basic with the token as password (what git credential helpers send).
func credentials(r *http.Request) (auth.Secret, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return auth.Secret(strings.TrimSpace(rest)), true
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return "", true
		}
		_, pass, _ := strings.Cut(string(raw), ":")
		return auth.Secret(pass), true
	}
	return "", true
}

// SessionCookie is the web UI's session cookie. Reads (GET, HEAD) without
// credentials are identified by it too, so that a signed-in browser
// downloads private and gated files from the pages' links; writes need a
// token or the web UI's CSRF-checked forms.
const SessionCookie = "agora_session"

// SessionAuthenticator checks web session values (optional on an
// Authenticator).
type SessionAuthenticator interface {
	Session(ctx context.Context, value string) (*auth.Identity, error)
}

func (s *Server) withSessionCookie(r *http.Request) *http.Request {
	sa, ok := s.authn.(SessionAuthenticator)
	if !ok {
		return r
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return r
	}
	id, err := sa.Session(r.Context(), c.Value)
	if err != nil {
		// An expired or foreign cookie reads as signed out; the pages
		// clear it.
		return r
	}
	return r.WithContext(WithIdentity(r.Context(), id))
}

func (s *Server) withIdentity(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, present := credentials(r)
		if !present && s.authn != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			r = s.withSessionCookie(r)
		}
		if !present || s.authn == nil {
			h.ServeHTTP(w, r)
			return
		}
		id, err := s.authn.Authenticate(r.Context(), secret)
		if err != nil {
			p := Classify(err)
			if p.Internal {
				s.lg.ErrorContext(r.Context(), "authenticate", "req", RequestID(r.Context()), "err", err)
			}
			if p.Status == http.StatusUnauthorized {
				// A realm makes git ask for other credentials.
				w.Header().Set("WWW-Authenticate", `Basic realm="Agora"`)
				p.Msg = "Invalid credentials in Authorization header"
			}
			if errors.Is(err, context.Canceled) {
				return
			}
			WriteJSONError(w, r, p)
			return
		}
		h.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

// exposedHeaders are the response headers browser clients may read (the
// list the Hub sends, plus the linked size and etag; X-Xet-Hash and Link
// send the JS client to Xet downloads).
const exposedHeaders = "X-Repo-Commit, X-Request-Id, X-Error-Code, X-Error-Message, X-Total-Count, ETag, Link, " +
	"Accept-Ranges, Content-Range, X-Linked-Size, X-Linked-ETag, Content-Length, Content-Disposition, " +
	"RateLimit, RateLimit-Policy, Retry-After, X-Xet-Hash, X-Xet-Refresh-Route"

// withCORS lets browser code (the JS client in a page) call the API. A
// wildcard origin never covers credentialed (cookie) requests, so it
// grants other sites nothing a bearer token would not.
func withCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == "" {
			h.ServeHTTP(w, r)
			return
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Expose-Headers", exposedHeaders)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE, OPTIONS")
			hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Range, X-Request-Id, Accept, User-Agent")
			hd.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}
