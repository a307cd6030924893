// Package server is the HTTP plumbing shared by the handler packages: the
// http.Server lifecycle with graceful shutdown, middleware (request id,
// recovery, access log, metrics, credentials), the error-returning handler
// adapter, the one error→HTTP table, and /healthz, /readyz and /metrics.
//
// It imports no handler package and no store: /readyz runs check
// functions handed in by cmd/agora.
package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/route"
)

// Config configures the HTTP server.
type Config struct {
	Addr string
	// PublicURL is the address clients use (scheme, host, optional path
	// prefix). Empty: derived from each request's Host header.
	PublicURL string
	// TrustProxy honours X-Forwarded-Proto/Host from a reverse proxy.
	TrustProxy      bool
	ShutdownTimeout time.Duration
	// Limits against slow and idle clients (timeouts.go). Zero takes the
	// Default* value for the first three and turns the others off.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	BodyIdleTimeout   time.Duration
	WriteIdleTimeout  time.Duration
	MaxConnsPerIP     int
}

// Authenticator resolves credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, secret auth.Secret) (*auth.Identity, error)
}

// Check is a readiness check (a store ping).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Server wraps http.Server with Agora's middleware.
type Server struct {
	lg      *slog.Logger
	cfg     Config
	public  *url.URL
	authn   Authenticator
	checks  []Check
	reg     *prometheus.Registry
	metrics *metrics
	mux     *http.ServeMux
	routers []Router
	owners  map[route.Owner]AddrRouter
	limiter RateLimiter
	limitM  *limitMetrics
}

// Router claims requests outside the route table (package route): the
// handlers tests mount. Routers that are also AddrRouters answer the rows
// of the table their owner holds instead.
type Router interface {
	// Route returns the handler for r, or nil if the router does not
	// serve it. segs are the escaped path segments.
	Route(r *http.Request, segs []string) http.Handler
}

// AddrRouter answers the rows of the route table that Owner holds: the
// server parses each request's path once through the table and asks the
// owner of the row that matched, and only it, with the parsed address
// (the repository id read once for every package).
type AddrRouter interface {
	Owner() route.Owner
	// RouteAddr returns the handler for r, or nil (a 404) when the owner
	// has no handler for it.
	RouteAddr(r *http.Request, a *route.Addr) http.Handler
}

// Mount adds routers. An AddrRouter answers its owner's rows of the
// route table; other routers are tried in order for what no mounted owner
// answers.
func (s *Server) Mount(rs ...Router) {
	for _, r := range rs {
		if ar, ok := r.(AddrRouter); ok {
			if s.owners == nil {
				s.owners = map[route.Owner]AddrRouter{}
			}
			s.owners[ar.Owner()] = ar
			continue
		}
		s.routers = append(s.routers, r)
	}
}

// Segments splits an escaped path into its non-empty segments (still
// escaped: decode each with url.PathUnescape).
func Segments(escapedPath string) []string { return route.Segments(escapedPath) }

// MovedPath is r's path and query with the repository segments (n of
// them from index: a namespace and a name, or a canonical name alone)
// replaced by a new id, for the redirects that follow a renamed
// repository; false when the path is too short to hold them.
func MovedPath(r *http.Request, index, n int, namespace, name string) (string, bool) {
	segs := Segments(r.URL.EscapedPath())
	if n < 1 || index+n > len(segs) {
		return "", false
	}
	id := []string{url.PathEscape(name)}
	if namespace != "" {
		id = []string{url.PathEscape(namespace), url.PathEscape(name)}
	}
	out := append(append(append([]string{}, segs[:index]...), id...), segs[index+n:]...)
	loc := "/" + strings.Join(out, "/")
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	return loc, true
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/metrics":
		SetRoute(r, strings.TrimPrefix(r.URL.Path, "/"))
		s.mux.ServeHTTP(w, r)
		return
	}
	a := route.Parse(r.Method, r.URL.EscapedPath())
	if ar, ok := s.owners[a.Owner]; ok {
		if h := ar.RouteAddr(r, &a); h != nil {
			h.ServeHTTP(w, r)
			return
		}
	} else {
		for _, rt := range s.routers {
			if h := rt.Route(r, a.Segs); h != nil {
				h.ServeHTTP(w, r)
				return
			}
		}
	}
	SetRoute(r, "notfound")
	WriteJSONError(w, r, Problem{Status: http.StatusNotFound, Msg: "Not found: " + headerSafe(r.URL.Path)})
}

// New builds a server; mount handlers on Mux() before Run.
func New(lg *slog.Logger, cfg Config, authn Authenticator, checks []Check) (*Server, error) {
	s := &Server{lg: lg, cfg: cfg, authn: authn, checks: checks, mux: http.NewServeMux()}
	if cfg.PublicURL != "" {
		u, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("public URL %q must be http(s)://host[:port][/prefix]", cfg.PublicURL)
		}
		s.public = u
	}
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg)
	s.limitM = newLimitMetrics(s.reg)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return s, nil
}

// Registry returns the Prometheus registry, for handler packages' metrics.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Mux returns the mux to mount handlers on.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.lg }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, c := range s.checks {
		if err := c.Fn(ctx); err != nil {
			s.lg.WarnContext(ctx, "not ready", "check", c.Name, "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			if errors.Is(err, hub.ErrNoSpace) {
				// The one cause worth naming to a prober: the operator's
				// fix is to free space, not to restart anything.
				fmt.Fprintf(w, "%s: not ready: storage is full\n", c.Name)
				return
			}
			fmt.Fprintf(w, "%s: not ready\n", c.Name)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// Handler returns the complete handler: middleware around the mux, with
// the public URL's path prefix stripped.
func (s *Server) Handler() http.Handler {
	var h http.Handler = http.HandlerFunc(s.dispatch)
	h = s.withRateLimit(h)
	h = s.withIdentity(h)
	h = withCORS(h)
	// Recovery inside the access log: a request that panicked is logged
	// and counted with the 500 it got.
	h = withRecovery(s.lg, h)
	h = s.withRequest(h)
	if s.public != nil && s.public.Path != "" {
		h = stripPrefix(s.public.Path, h)
	}
	return s.withProgressDeadlines(h)
}

func stripPrefix(prefix string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := strings.CutPrefix(r.URL.EscapedPath(), prefix)
		if !ok || (p != "" && p[0] != '/') {
			http.NotFound(w, r)
			return
		}
		if p == "" {
			p = "/"
		}
		r2 := r.Clone(r.Context())
		r2.URL.RawPath = p
		r2.URL.Path, _ = url.PathUnescape(p)
		h.ServeHTTP(w, r2)
	})
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: cmp.Or(s.cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		IdleTimeout:       cmp.Or(s.cfg.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    cmp.Or(s.cfg.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(s.lg.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnContext:       withConn,
		ConnState: func(_ net.Conn, st http.ConnState) {
			switch st {
			case http.StateNew:
				s.limitM.connsOpen.Inc()
			case http.StateClosed, http.StateHijacked:
				s.limitM.connsOpen.Dec()
			}
		},
	}
	if s.cfg.MaxConnsPerIP > 0 {
		ln = newCapListener(ln, s.lg, s.cfg.MaxConnsPerIP, s.limitM.connsRefused)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.lg.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.lg.Info("shutting down", "timeout", timeout)
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// BaseURL returns the public base URL for r (no trailing slash), which
// every absolute URL the server emits starts with.
func (s *Server) BaseURL(r *http.Request) string {
	if s.public != nil {
		return s.public.String()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if s.cfg.TrustProxy {
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			scheme = p
		}
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			host = h
		}
	}
	return scheme + "://" + host
}

// ClientIP returns the address of the client (the first X-Forwarded-For
// hop when the proxy is trusted).
func (s *Server) ClientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// WriteJSON writes v as JSON with the given status (no body for HEAD).
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
		w.Write([]byte("\n"))
	}
}

// HandlerFunc is a handler that returns its error for the adapter.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Renderer writes a classified error in a route family's format.
type Renderer func(w http.ResponseWriter, r *http.Request, p Problem)

// Adapt turns a HandlerFunc into an http.Handler: errors are classified,
// logged once (5xx only) and rendered.
func (s *Server) Adapt(render Renderer, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		s.RenderError(w, r, render, err)
	})
}

// RenderError classifies, logs and renders err.
func (s *Server) RenderError(w http.ResponseWriter, r *http.Request, render Renderer, err error) {
	p := Classify(err)
	if p.Internal || p.Status == http.StatusInsufficientStorage {
		// A full store is not the request's fault, but the operator must
		// hear of it as loudly as of a bug.
		s.lg.ErrorContext(r.Context(), "request failed", "req", RequestID(r.Context()), "method", r.Method,
			"path", redactPath(r.URL.EscapedPath()), "status", p.Status, "err", err)
	} else {
		s.lg.DebugContext(r.Context(), "request refused", "req", RequestID(r.Context()), "status", p.Status, "err", err)
	}
	if sw, ok := w.(*statusWriter); ok && sw.wrote {
		return // headers already sent: nothing sensible can be added
	}
	render(w, r, p)
}

type ctxKey int

const (
	keyRequest ctxKey = iota
	keyIdentity
	keyConn
)

// RequestID returns the request's id.
func RequestID(ctx context.Context) string {
	if st, ok := ctx.Value(keyRequest).(*reqState); ok {
		return st.id
	}
	return ""
}

// Identity returns the authenticated caller, or nil for anonymous.
func Identity(ctx context.Context) *auth.Identity {
	id, _ := ctx.Value(keyIdentity).(*auth.Identity)
	return id
}

// WithIdentity returns ctx carrying id (tokens, web sessions), and names
// the caller in the request's access-log line.
func WithIdentity(ctx context.Context, id *auth.Identity) context.Context {
	if st, ok := ctx.Value(keyRequest).(*reqState); ok && id != nil {
		st.user = id.User.Name
	}
	return context.WithValue(ctx, keyIdentity, id)
}

// SetRoute names the matched route for metrics and logs.
func SetRoute(r *http.Request, name string) {
	if st, ok := r.Context().Value(keyRequest).(*reqState); ok {
		st.route = name
	}
}
