package hubapi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
	"github.com/agorahub/agora/internal/wire"
)

// The routes of users, organisations and access requests. Their shapes
// follow what huggingface_hub parses (tenancy reference §A–C): member
// lists carry the name under "user", organisations in whoami carry
// "roleInOrg", long lists page with a Link header.

// accountID is the 24-hex form of an account id the Hub's clients expect
// in "_id" fields.
func accountID(id int64) string { return fmt.Sprintf("%024x", id) }

func (h *Handler) avatarURL(r *http.Request, name string) string {
	return h.srv.BaseURL(r) + "/avatars/" + name + ".svg"
}

func fullnameOf(u *hub.User) string {
	if u.FullName != "" {
		return u.FullName
	}
	return u.Name
}

// userItem is a user as member and follower lists write it.
func (h *Handler) userItem(r *http.Request, u *hub.User) map[string]any {
	return map[string]any{"_id": accountID(u.ID), "user": u.Name, "fullname": fullnameOf(u), "type": "user",
		"avatarUrl": h.avatarURL(r, u.Name), "isPro": false}
}

// orgItem is an organisation as whoami and user overviews write it.
func (h *Handler) orgItem(r *http.Request, m *hub.Member) map[string]any {
	o := &m.Org
	item := map[string]any{"type": "org", "id": accountID(o.ID), "name": o.Name, "fullname": fullnameOf(o),
		"email": nil, "canPay": false, "avatarUrl": h.avatarURL(r, o.Name), "periodEnd": nil,
		"isEnterprise": false, "resourceGroups": []any{}}
	if m.Role != "" {
		item["roleInOrg"] = m.Role
	}
	return item
}

func (h *Handler) routeAccounts(r *http.Request, s []string) *apiRoute {
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	if len(s) < 3 {
		return nil
	}
	name, ok := unescape(s[1])
	if !ok {
		return nil
	}
	rest := s[2:]
	if s[0] == "users" {
		switch {
		case get && len(rest) == 1 && rest[0] == "overview":
			return &apiRoute{name: "user-overview", fn: h.overview(name, false)}
		case get && len(rest) == 1 && (rest[0] == "followers" || rest[0] == "following"):
			return &apiRoute{name: "user-follows", fn: h.noFollows(name, false)}
		}
		return nil
	}
	switch {
	case get && len(rest) == 1 && rest[0] == "overview":
		return &apiRoute{name: "org-overview", fn: h.overview(name, true)}
	case get && len(rest) == 1 && rest[0] == "members":
		return &apiRoute{name: "org-members", fn: h.orgMembers(name)}
	case get && len(rest) == 1 && rest[0] == "followers":
		return &apiRoute{name: "org-follows", fn: h.noFollows(name, true)}
	case get && len(rest) == 1 && rest[0] == "audit-log":
		return &apiRoute{name: "audit-log", fn: h.auditLog(name)}
	case get && len(rest) == 2 && rest[0] == "settings" && rest[1] == "repositories":
		return &apiRoute{name: "repo-storage", fn: h.repoStorage(name)}
	case m == http.MethodPut && len(rest) == 3 && rest[0] == "members" && rest[2] == "role":
		user, ok := unescape(rest[1])
		if ok {
			return &apiRoute{name: "org-member-role", fn: h.setMemberRole(name, user)}
		}
	case m == http.MethodDelete && len(rest) == 2 && rest[0] == "members":
		user, ok := unescape(rest[1])
		if ok {
			return &apiRoute{name: "org-member-remove", fn: h.removeMember(name, user)}
		}
	}
	return unsupported("This hub does not implement /api/organizations/…/" + rest[0] + " yet")
}

func (h *Handler) overview(name string, org bool) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		kind := "user"
		if org {
			kind = "org"
		}
		ov, err := h.hub.AccountOverview(r.Context(), server.Identity(r.Context()), name, kind)
		if err != nil {
			return err
		}
		u := ov.Account
		out := map[string]any{"_id": accountID(u.ID), "avatarUrl": h.avatarURL(r, u.Name), "fullname": fullnameOf(u),
			"details": u.Details, "isFollowing": false, "numModels": ov.NumModels, "numDatasets": ov.NumDatasets,
			"numSpaces": 0, "numFollowers": 0, "numPapers": 0, "createdAt": isoTime(u.CreatedAt)}
		if org {
			out["name"], out["type"], out["numUsers"], out["isVerified"], out["plan"] = u.Name, "org", ov.NumUsers, false, "team"
			out["defaultVisibility"] = map[bool]string{true: "private", false: "public"}[u.DefaultPrivate]
			if ov.Role != "" {
				out["roleInOrg"] = ov.Role
			}
		} else {
			orgs := make([]any, 0, len(ov.Orgs))
			for i := range ov.Orgs {
				orgs = append(orgs, h.orgItem(r, &ov.Orgs[i]))
			}
			out["user"], out["type"], out["isPro"], out["orgs"] = u.Name, "user", false, orgs
			out["numDiscussions"], out["numUpvotes"], out["numLikes"], out["numFollowing"] = 0, 0, 0, 0
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// noFollows answers follower lists: following is not modelled, so the
// lists are empty for accounts that exist.
func (h *Handler) noFollows(name string, org bool) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		kind := "user"
		if org {
			kind = "org"
		}
		if _, err := h.hub.AccountOverview(r.Context(), nil, name, kind); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, []any{})
		return nil
	}
}

// membersPage is the page size of member lists (the client sends none).
const membersPage = 100

func (h *Handler) orgMembers(org string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit, err := intParam(r.URL.Query(), "limit", membersPage, 1000)
		if err != nil {
			return err
		}
		if limit == 0 {
			limit = membersPage
		}
		after := r.URL.Query().Get("cursor")
		ms, err := h.hub.OrgMembers(r.Context(), server.Identity(r.Context()), org, after, limit+1)
		if err != nil {
			return err
		}
		if len(ms) > limit {
			ms = ms[:limit]
			h.nextLink(w, r, "cursor", ms[len(ms)-1].User.Name)
		}
		out := make([]any, 0, len(ms))
		for i := range ms {
			item := h.userItem(r, &ms[i].User)
			if ms[i].Role != "" {
				item["role"] = ms[i].Role
			}
			out = append(out, item)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) setMemberRole(org, user string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		who := server.Identity(r.Context())
		var body struct {
			Role string `json:"role"`
		}
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		if err := h.hub.SetMemberRole(r.Context(), who, org, user, body.Role); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"success": true})
		return nil
	}
}

func (h *Handler) removeMember(org, user string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.hub.RemoveMember(r.Context(), server.Identity(r.Context()), org, user); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"success": true})
		return nil
	}
}

// auditLog answers GET /api/organizations/{o}/audit-log (org admins) and
// GET /api/admin/audit-log (site admins; org = "").
func (h *Handler) auditLog(org string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		limit, err := intParam(q, "limit", 100, 1000)
		if err != nil {
			return err
		}
		before, _ := strconv.ParseInt(q.Get("cursor"), 10, 64)
		evs, err := h.hub.AuditLog(r.Context(), server.Identity(r.Context()), org, before, limit)
		if err != nil {
			return err
		}
		if len(evs) == limit && limit > 0 {
			h.nextLink(w, r, "cursor", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		}
		out := make([]any, 0, len(evs))
		for _, e := range evs {
			item := map[string]any{"id": e.ID, "time": isoTime(e.At), "actor": e.Actor, "action": e.Action,
				"namespace": e.Namespace, "target": e.Target, "ip": e.IP}
			if e.Detail != "" {
				item["detail"] = jsonRaw(e.Detail)
			}
			out = append(out, item)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

// ---- access requests (gated repositories)

func (h *Handler) routeAccessRequests(r *http.Request, q *req, rest []string) *apiRoute {
	m := r.Method
	switch {
	case (m == http.MethodGet || m == http.MethodHead) && len(rest) == 1:
		switch rest[0] {
		case hub.AccessPending, hub.AccessAccepted, hub.AccessRejected:
			return &apiRoute{name: "access-requests", fn: h.listAccessRequests(q, rest[0])}
		}
	case m == http.MethodPost && len(rest) == 1 && rest[0] == "handle":
		return &apiRoute{name: "access-handle", fn: h.handleAccessRequest(q), first: act(hub.Manage)}
	case m == http.MethodPost && len(rest) == 1 && rest[0] == "grant":
		return &apiRoute{name: "access-grant", fn: h.grantAccess(q), first: act(hub.Manage)}
	case m == http.MethodPost && len(rest) == 1 && rest[0] == "cancel":
		return &apiRoute{name: "access-cancel", fn: h.withdrawAccess(q)}
	}
	return nil
}

func (h *Handler) listAccessRequests(q *req, status string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		limit, err := intParam(r.URL.Query(), "limit", membersPage, 1000)
		if err != nil {
			return err
		}
		if limit == 0 {
			limit = membersPage
		}
		var after hub.AccessCursor
		if c := r.URL.Query().Get("cursor"); c != "" {
			ms, uid, ok := parseAccessCursor(c)
			if !ok {
				return &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid cursor"}
			}
			after = hub.AccessCursor{CreatedAt: time.UnixMilli(ms), UserID: uid}
		}
		reqs, err := h.hub.ListAccessRequests(r.Context(), server.Identity(r.Context()), q.ref, status, after, limit+1)
		if err != nil {
			return err
		}
		if len(reqs) > limit {
			reqs = reqs[:limit]
			last := reqs[len(reqs)-1]
			h.nextLink(w, r, "cursor", strconv.FormatInt(last.CreatedAt.UnixMilli(), 10)+"-"+strconv.FormatInt(last.User.ID, 10))
		}
		out := make([]any, 0, len(reqs))
		for i := range reqs {
			a := &reqs[i]
			u := h.userItem(r, &a.User)
			if a.User.Email != "" {
				u["email"] = a.User.Email
			} else {
				u["email"] = nil
			}
			item := map[string]any{"user": u, "status": a.Status, "timestamp": isoTime(a.CreatedAt),
				"requestId": hub.AccessRequestID(a.RepoID, a.User.ID)}
			if a.Fields != nil {
				item["fields"] = a.Fields
			}
			if !a.ReviewedAt.IsZero() {
				item["reviewedAt"] = isoTime(a.ReviewedAt)
			}
			if a.Reason != "" {
				item["rejectionReason"] = a.Reason
			}
			out = append(out, item)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}

func parseAccessCursor(c string) (int64, int64, bool) {
	for i := 0; i < len(c); i++ {
		if c[i] == '-' {
			ms, err1 := strconv.ParseInt(c[:i], 10, 64)
			uid, err2 := strconv.ParseInt(c[i+1:], 10, 64)
			return ms, uid, err1 == nil && err2 == nil
		}
	}
	return 0, 0, false
}

// accessBody is the body of handle and grant: exactly one of user and
// userId (the Hub's rule).
type accessBody struct {
	User            string `json:"user"`
	UserID          string `json:"userId"`
	RequestID       string `json:"requestId"`
	Status          string `json:"status"`
	RejectionReason string `json:"rejectionReason"`
}

// target returns the user name or the request id the body names (exactly
// one of user, userId, requestId).
func (b *accessBody) target() (user, requestID string, err error) {
	n := 0
	for _, v := range []string{b.User, b.UserID, b.RequestID} {
		if v != "" {
			n++
		}
	}
	switch {
	case n != 1:
		return "", "", &hub.Error{Kind: hub.ErrInvalid, Msg: "Either userId or user must be provided, but not both"}
	case b.UserID != "":
		return "", "", &hub.Error{Kind: hub.ErrInvalid, Msg: "userId is not supported by this hub: send user"}
	}
	return b.User, b.RequestID, nil
}

// reviewAccess reads the body of handle and grant (the caller was
// authorised to manage the repository before, by the route's first
// action) and applies it.
func (h *Handler) reviewAccess(q *req, apply func(r *http.Request, body *accessBody, user, reqID string) error) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var body accessBody
		if err := decodeJSON(w, r, &body); err != nil {
			return err
		}
		user, reqID, err := body.target()
		if err != nil {
			return err
		}
		if err := apply(r, &body, user, reqID); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{})
		return nil
	}
}

func (h *Handler) handleAccessRequest(q *req) server.HandlerFunc {
	return h.reviewAccess(q, func(r *http.Request, body *accessBody, user, reqID string) error {
		return h.hub.HandleAccessRequest(r.Context(), server.Identity(r.Context()), q.ref, user, reqID, body.Status, body.RejectionReason)
	})
}

func (h *Handler) grantAccess(q *req) server.HandlerFunc {
	return h.reviewAccess(q, func(r *http.Request, _ *accessBody, user, reqID string) error {
		if reqID != "" {
			return &hub.Error{Kind: hub.ErrInvalid, Msg: "grant takes a user"}
		}
		return h.hub.GrantAccess(r.Context(), server.Identity(r.Context()), q.ref, user)
	})
}

func (h *Handler) withdrawAccess(q *req) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.hub.WithdrawAccessRequest(r.Context(), server.Identity(r.Context()), q.ref); err != nil {
			return err
		}
		server.WriteJSON(w, r, http.StatusOK, map[string]any{"ok": true})
		return nil
	}
}

// jsonRaw embeds stored JSON text as is.
func jsonRaw(s string) json.RawMessage { return json.RawMessage(s) }

// repoStorage lists an account's repositories with their storage
// (huggingface_hub's list_user_repos, "hf repos ls"): org is "" for the
// caller's own, from /api/settings/repositories. One page: the figures
// come from one query over the namespace.
func (h *Handler) repoStorage(org string) server.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		who := server.Identity(r.Context())
		name, kind := org, "org"
		if org == "" {
			kind = "user"
			if who != nil {
				name = who.User.Name
			}
		}
		repos, err := h.hub.NamespaceRepositories(r.Context(), who, name, kind)
		if err != nil {
			return err
		}
		var total int64
		for _, ru := range repos {
			total += ru.LFS + ru.Git
		}
		out := make([]wire.RepoStorage, 0, len(repos))
		for _, ru := range repos {
			used := ru.LFS + ru.Git
			rs := wire.RepoStorage{ID: ru.Repo.FullName(), Type: ru.Repo.Type, UpdatedAt: isoTime(ru.Repo.UpdatedAt),
				Visibility: "public", Storage: used}
			if ru.Repo.Private {
				rs.Visibility = "private"
			}
			if total > 0 {
				rs.StoragePercent = math.Round(float64(used)*10000/float64(total)) / 100
			}
			out = append(out, rs)
		}
		server.WriteJSON(w, r, http.StatusOK, out)
		return nil
	}
}
