package hub

import (
	"context"
	"encoding/json"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// audit records a security-relevant event. The event is already done, so
// a failure to record it is logged, not returned: refusing a completed
// change because its log line failed would leave the caller guessing.
func (s *Service) audit(ctx context.Context, who *auth.Identity, action, namespace, target string, detail map[string]any) {
	e := &meta.AuditEvent{Action: action, Namespace: namespace, Target: target, IP: ClientIP(ctx)}
	if who != nil {
		e.ActorID, e.Actor = who.User.ID, who.User.Name
	}
	if len(detail) > 0 {
		if b, err := json.Marshal(detail); err == nil {
			e.Detail = string(b)
		}
	}
	if err := s.meta.AddAudit(ctx, e); err != nil {
		s.lg.ErrorContext(ctx, "audit", "action", action, "err", err)
	}
}

type ipKey struct{}

// WithClientIP returns ctx carrying the caller's address, for the audit
// log (request-scoped data, set by the server's middleware).
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKey{}, ip)
}

// ClientIP is the address WithClientIP stored, or "".
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(ipKey{}).(string)
	return ip
}
