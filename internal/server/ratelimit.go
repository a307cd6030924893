package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agorahub/agora/internal/limits"
)

// RateLimiter decides whether a caller may make one more request in a
// bucket (*limits.Limiter is one).
type RateLimiter interface {
	Allow(subject string, anonymous bool, b limits.Bucket) limits.Decision
}

// SetRateLimiter turns rate limits on; call it before Handler or Run.
func (s *Server) SetRateLimiter(l RateLimiter) { s.limiter = l }

type limitMetrics struct {
	limited      *prometheus.CounterVec
	connsRefused prometheus.Counter
	connsOpen    prometheus.Gauge
}

func newLimitMetrics(reg *prometheus.Registry) *limitMetrics {
	m := &limitMetrics{
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agora_rate_limited_total", Help: "Requests refused with 429 by the rate limits, by bucket.",
		}, []string{"bucket"}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agora_connections_refused_total", Help: "Connections closed at accept because their address held too many.",
		}),
		connsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agora_connections_open", Help: "HTTP connections accepted and not yet closed (or handed over, as git's are not).",
		}),
	}
	reg.MustRegister(m.limited, m.connsRefused, m.connsOpen)
	return m
}

// withRateLimit counts each request against its caller's limit in the
// request's bucket: signed-in users by account, anonymous callers by
// address. It runs after withIdentity, which it needs; web sessions are
// read later by the web package, so signed-in browsing counts by address.
// Every limited response carries the RateLimit and RateLimit-Policy
// headers, as the Hub's do; a refusal is a 429 with Retry-After.
// Administrators are not limited.
func (s *Server) withRateLimit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limiter == nil || r.Method == http.MethodOptions {
			h.ServeHTTP(w, r)
			return
		}
		b := limits.Classify(r.URL.EscapedPath())
		id := Identity(r.Context())
		if b == "" || id != nil && id.User != nil && id.User.IsAdmin {
			h.ServeHTTP(w, r)
			return
		}
		subject, anonymous, who := limits.AddrSubject(s.limitAddr(r)), true, "this address"
		if id != nil && id.User != nil {
			subject, anonymous, who = limits.UserSubject(id.User.ID), false, "your account"
		}
		d := s.limiter.Allow(subject, anonymous, b)
		if d.Limit > 0 {
			w.Header().Set("RateLimit", d.RateLimit())
			w.Header().Set("RateLimit-Policy", d.Policy())
		}
		if d.Allowed {
			h.ServeHTTP(w, r)
			return
		}
		s.limitM.limited.WithLabelValues(string(b)).Inc()
		SetRoute(r, "ratelimited")
		w.Header().Set("Retry-After", d.RetryAfter())
		WriteJSONError(w, r, Problem{Status: http.StatusTooManyRequests, Msg: fmt.Sprintf(
			"Too many requests: %s reached the limit of %d %s requests per %v on this hub; retry in %s s",
			who, d.Limit, b, d.Window, d.RetryAfter())})
	})
}

// limitAddr is the address an anonymous request counts against: the
// connection's, or behind a trusted proxy the one the proxy appended last
// to X-Forwarded-For. Unlike ClientIP's first hop, which the client may
// have written itself, that one cannot be chosen to dodge a limit.
func (s *Server) limitAddr(r *http.Request) string {
	if s.cfg.TrustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if last = strings.TrimSpace(last); last != "" {
				return last
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
