package hub

import (
	"context"
	"encoding/json"
	"time"

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

type requestKey struct{}

// requestInfo is what the server's middleware tells the domain about a
// request: where it came from (for the audit log) and when it arrived.
type requestInfo struct {
	ip      string
	arrived time.Time
}

// WithRequest returns ctx carrying the caller's address and the moment
// the request arrived. Reads kept with the store's data version are used
// only if nothing was committed since a moment after the arrival: every
// write acknowledged before the request was sent is then seen, whichever
// replica took it (refcache.go).
func WithRequest(ctx context.Context, ip string, arrived time.Time) context.Context {
	return context.WithValue(ctx, requestKey{}, &requestInfo{ip: ip, arrived: arrived})
}

// ClientIP is the address WithRequest stored, or "".
func ClientIP(ctx context.Context) string {
	if ri, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return ri.ip
	}
	return ""
}

// arrival is when the request of ctx arrived, or now outside one.
func arrival(ctx context.Context) time.Time {
	if ri, ok := ctx.Value(requestKey{}).(*requestInfo); ok && !ri.arrived.IsZero() {
		return ri.arrived
	}
	return time.Now()
}
