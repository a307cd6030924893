package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// auditPage is the body of the audit template.
type auditPage struct {
	Org    *hub.User // nil for the whole hub's log
	Tab    string
	Events []hub.AuditEvent
	Next   string // the older page's address
	Newest string // the first page's address, when not on it
}

// auditPageSize is the number of events per page.
const auditPageSize = 50

// siteAudit is every event, for site administrators.
func (h *Handler) siteAudit(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	return h.renderAudit(w, r, v, nil, "/admin/audit-log")
}

// orgAudit is an organisation's events, for its admins.
func (h *Handler) orgAudit(org string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		ov, err := h.managedOrg(r, v, org)
		if err != nil {
			return err
		}
		return h.renderAudit(w, r, v, ov.Account, "/organizations/"+url.PathEscape(ov.Account.Name)+"/settings/audit-log")
	}
}

// renderAudit shows one page of events, newest first. Pages are keyed by
// event id ("before"), so new events never shift a page being read.
func (h *Handler) renderAudit(w http.ResponseWriter, r *http.Request, v *visit, org *hub.User, path string) error {
	var before int64
	if s := r.URL.Query().Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid page position"}
		}
		before = n
	}
	ns, title := "", "Audit log"
	if org != nil {
		ns, title = org.Name, "Audit log · "+org.Name
	}
	events, err := h.hub.AuditLog(r.Context(), server.Identity(r.Context()), ns, before, auditPageSize+1)
	if err != nil {
		return err
	}
	body := auditPage{Org: org, Tab: "audit"}
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		body.Next = path + "?before=" + strconv.FormatInt(events[len(events)-1].ID, 10)
	}
	if before != 0 {
		body.Newest = path
	}
	body.Events = events
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, http.StatusOK, "audit", &page{Title: title, Body: body})
}
