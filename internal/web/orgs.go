package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// userPage is the body of the user template.
type userPage struct {
	Name     string
	FullName string
	Models   []repoCard
	Datasets []repoCard
	Likes    []hub.Repo
	Orgs     []hub.Member
	Self     bool
}

// orgPage is the body of the org template.
type orgPage struct {
	Org      *hub.User
	Role     string // the viewer's role, "" if none
	Manage   bool   // the viewer may manage the organisation
	Create   bool   // the viewer may create repositories in it
	Models   []repoCard
	Datasets []repoCard
	Members  []hub.Member
	NumUsers int64
	// MoreMembers: not every member is listed.
	MoreMembers bool
}

// userReposShown bounds each list of a user or organisation page.
const userReposShown = 100

// userPage shows the account named by the first path segment: a user's
// profile or an organisation's, as on the Hub where both live at /{name}.
func (h *Handler) userPage(name string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		ctx, who := r.Context(), server.Identity(r.Context())
		ov, err := h.hub.AccountOverview(ctx, who, name, "")
		switch {
		case err == nil && ov.Account.IsOrg():
			return h.orgPage(w, r, v, ov)
		case err != nil && !errors.Is(err, hub.ErrNotFound):
			return err
		}
		body := userPage{Name: name}
		if ov != nil {
			u := ov.Account
			body.Name, body.FullName, body.Orgs = u.Name, u.FullName, ov.Orgs
			body.Self = v.user != nil && v.user.ID == u.ID
		}
		if err := h.accountRepos(r, body.Name, &body.Models, &body.Datasets); err != nil {
			return err
		}
		if ov == nil && len(body.Models) == 0 && len(body.Datasets) == 0 {
			// No such account, and nothing the viewer may see under that
			// name: the same answer either way.
			return &hub.Error{Kind: hub.ErrNotFound, Msg: "Page not found"}
		}
		if ov != nil {
			likes, err := h.hub.LikedBy(ctx, who, ov.Account.Name)
			if err != nil {
				return err
			}
			for _, l := range likes[:min(len(likes), userReposShown)] {
				body.Likes = append(body.Likes, l.Repo)
			}
		}
		return h.render(w, r, v, http.StatusOK, "user", &page{Title: body.Name, Body: body})
	}
}

// accountRepos lists the repositories of a namespace that the viewer may
// see: private ones only for its owner and an organisation's members.
func (h *Handler) accountRepos(r *http.Request, namespace string, models, datasets *[]repoCard) error {
	for _, l := range []struct {
		typ string
		dst *[]repoCard
	}{{hub.TypeModel, models}, {hub.TypeDataset, datasets}} {
		rows, _, err := h.hub.ListRepos(r.Context(), server.Identity(r.Context()),
			hub.ListQuery{Type: l.typ, Author: namespace, Sort: hub.SortLastModified, Desc: true, Limit: userReposShown})
		if err != nil {
			return err
		}
		*l.dst = cardsOf(rows)
	}
	return nil
}

// canManageOrg reports whether the viewer administers the organisation.
func canManageOrg(v *visit, ov *hub.Overview) bool {
	return v.user != nil && (ov.Role == hub.OrgAdmin || v.user.IsAdmin)
}

// membersShown bounds the members listed on a profile.
const membersShown = 100

func (h *Handler) orgPage(w http.ResponseWriter, r *http.Request, v *visit, ov *hub.Overview) error {
	body := orgPage{Org: ov.Account, Role: ov.Role, Manage: canManageOrg(v, ov), NumUsers: ov.NumUsers}
	switch ov.Role {
	case hub.OrgContributor, hub.OrgWrite, hub.OrgAdmin:
		body.Create = true
	}
	body.Create = body.Create || v.user != nil && v.user.IsAdmin
	if err := h.accountRepos(r, ov.Account.Name, &body.Models, &body.Datasets); err != nil {
		return err
	}
	ms, err := h.hub.OrgMembers(r.Context(), server.Identity(r.Context()), ov.Account.Name, "", membersShown)
	if err != nil {
		return err
	}
	body.Members, body.MoreMembers = ms, int64(len(ms)) < ov.NumUsers
	return h.render(w, r, v, http.StatusOK, "org", &page{Title: ov.Account.Name, Body: body})
}

// orgNewPage is the body of the org_new template.
type orgNewPage struct {
	Name     string
	FullName string
	Error    string
}

func (h *Handler) newOrgForm(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	return h.render(w, r, v, http.StatusOK, "org_new", &page{Title: "New organization", Body: orgNewPage{}})
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	body := orgNewPage{Name: strings.TrimSpace(r.PostFormValue("name")), FullName: strings.TrimSpace(r.PostFormValue("fullname"))}
	o, err := h.hub.CreateOrg(r.Context(), server.Identity(r.Context()), body.Name, body.FullName)
	if err != nil {
		if status, msg, ok := formProblem(err); ok {
			body.Error = msg
			return h.render(w, r, v, status, "org_new", &page{Title: "New organization", Body: body})
		}
		return err
	}
	http.Redirect(w, r, v.prefix+"/"+url.PathEscape(o.Name), http.StatusSeeOther)
	return nil
}

// managedOrg returns the overview of an organisation the viewer
// administers, else the refusal.
func (h *Handler) managedOrg(r *http.Request, v *visit, org string) (*hub.Overview, error) {
	ov, err := h.hub.AccountOverview(r.Context(), server.Identity(r.Context()), org, "org")
	if err != nil {
		return nil, err
	}
	if !canManageOrg(v, ov) {
		return nil, &hub.Error{Kind: hub.ErrForbidden, Msg: "Only admins of " + ov.Account.Name + " can manage it"}
	}
	return ov, nil
}

// orgSettingsPage is the body of the org_settings template.
type orgSettingsPage struct {
	Org   *hub.User
	Tab   string
	Error string
}

func (h *Handler) orgSettings(org string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		ov, err := h.managedOrg(r, v, org)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		return h.render(w, r, v, http.StatusOK, "org_settings", &page{Title: "Settings · " + ov.Account.Name,
			Body: orgSettingsPage{Org: ov.Account, Tab: "profile"}})
	}
}

func (h *Handler) updateOrg(org string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		full, details := r.PostFormValue("fullname"), r.PostFormValue("details")
		private := r.PostFormValue("default_private") != ""
		o, err := h.hub.UpdateOrg(r.Context(), server.Identity(r.Context()), org,
			hub.OrgSettings{FullName: &full, Details: &details, DefaultPrivate: &private})
		if err != nil {
			if status, msg, ok := formProblem(err); ok && status != http.StatusForbidden {
				ov, oerr := h.managedOrg(r, v, org)
				if oerr != nil {
					return oerr
				}
				ov.Account.FullName, ov.Account.Details, ov.Account.DefaultPrivate = full, details, private
				return h.render(w, r, v, status, "org_settings", &page{Title: "Settings · " + ov.Account.Name,
					Body: orgSettingsPage{Org: ov.Account, Tab: "profile", Error: msg}})
			}
			return err
		}
		http.Redirect(w, r, v.prefix+"/"+url.PathEscape(o.Name), http.StatusSeeOther)
		return nil
	}
}

// orgMembersPage is the body of the org_members template.
type orgMembersPage struct {
	Org     *hub.User
	Tab     string
	Members []hub.Member
	Roles   []string
	Next    string // the next page's address
	User    string // the add form's values
	Role    string
	Error   string
}

// orgRoles are the Hub's roles, weakest first, as the forms offer them.
var orgRoles = []string{hub.OrgNoAccess, hub.OrgRead, hub.OrgContributor, hub.OrgWrite, hub.OrgAdmin}

// membersPage is the page size of the members list.
const membersPage = 100

func (h *Handler) orgMembers(org string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		return h.renderMembers(w, r, v, org, http.StatusOK, orgMembersPage{Role: hub.OrgRead})
	}
}

func (h *Handler) renderMembers(w http.ResponseWriter, r *http.Request, v *visit, org string, status int, body orgMembersPage) error {
	ov, err := h.managedOrg(r, v, org)
	if err != nil {
		return err
	}
	after := r.URL.Query().Get("after")
	ms, err := h.hub.OrgMembers(r.Context(), server.Identity(r.Context()), ov.Account.Name, after, membersPage+1)
	if err != nil {
		return err
	}
	if len(ms) > membersPage {
		ms = ms[:membersPage]
		body.Next = "/organizations/" + url.PathEscape(ov.Account.Name) + "/settings/members?after=" + url.QueryEscape(ms[len(ms)-1].User.Name)
	}
	body.Org, body.Tab, body.Members, body.Roles = ov.Account, "members", ms, orgRoles
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, status, "org_members", &page{Title: "Members · " + ov.Account.Name, Body: body})
}

// changeMembers adds a member, changes a role or removes a member.
func (h *Handler) changeMembers(org string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		ctx, who := r.Context(), server.Identity(r.Context())
		user, role := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("role")
		var err error
		switch r.PostFormValue("action") {
		case "add", "role":
			err = h.hub.SetMemberRole(ctx, who, org, user, role)
		case "remove":
			err = h.hub.RemoveMember(ctx, who, org, user)
		default:
			err = &hub.Error{Kind: hub.ErrInvalid, Msg: "Unknown action"}
		}
		if err != nil {
			status, msg, ok := formProblem(err)
			if !ok && errors.Is(err, hub.ErrNotFound) {
				// A user name typed in the form that matches nobody.
				status, msg, ok = http.StatusNotFound, server.Classify(err).Msg, true
			}
			if ok && status != http.StatusForbidden {
				body := orgMembersPage{Error: msg, Role: role}
				if r.PostFormValue("action") == "add" {
					body.User = user
				}
				return h.renderMembers(w, r, v, org, status, body)
			}
			return err
		}
		http.Redirect(w, r, v.prefix+"/organizations/"+url.PathEscape(org)+"/settings/members", http.StatusSeeOther)
		return nil
	}
}
