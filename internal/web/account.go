package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// formProblem reports whether err is a refusal a form can show next to
// its fields (invalid input, a name taken, no rights), with its status
// and message. Anything else goes to the error page.
func formProblem(err error) (int, string, bool) {
	p := server.Classify(err)
	switch p.Status {
	case http.StatusBadRequest, http.StatusConflict, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		return p.Status, p.Msg, true
	}
	return 0, "", false
}

// newPage is the body of the new template.
type newPage struct {
	Type    string
	Owner   string
	Owners  []owner
	Name    string
	Private bool
	Admin   bool // may type any owner
	Error   string
}

// owner is a namespace the viewer may create repositories in, with the
// visibility its new repositories default to.
type owner struct {
	Name    string
	Private bool
}

// owners are the viewer's namespace and the organisations where the
// viewer may create repositories (contributor and up, as on the Hub).
func (h *Handler) owners(r *http.Request, v *visit) ([]owner, error) {
	out := []owner{{Name: v.user.Name}}
	orgs, err := h.hub.UserOrgs(r.Context(), v.user.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range orgs {
		switch m.Role {
		case hub.OrgContributor, hub.OrgWrite, hub.OrgAdmin:
			out = append(out, owner{Name: m.Org.Name, Private: m.Org.DefaultPrivate})
		}
	}
	return out, nil
}

func (h *Handler) newForm(dataset bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		owners, err := h.owners(r, v)
		if err != nil {
			return err
		}
		body := newPage{Type: hub.TypeModel, Owner: v.user.Name, Owners: owners, Admin: v.user.IsAdmin}
		if dataset || r.URL.Query().Get("type") == hub.TypeDataset {
			body.Type = hub.TypeDataset
		}
		// ?owner=ORG (the organisation page's link) preselects it, with
		// its default visibility.
		want := r.URL.Query().Get("owner")
		for _, o := range owners {
			if want != "" && strings.EqualFold(o.Name, want) {
				body.Owner, body.Private = o.Name, o.Private
			}
		}
		return h.render(w, r, v, http.StatusOK, "new", &page{Title: "New repository", Body: body})
	}
}

func (h *Handler) createRepo(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	owners, err := h.owners(r, v)
	if err != nil {
		return err
	}
	body := newPage{Type: r.PostFormValue("type"), Owner: strings.TrimSpace(r.PostFormValue("owner")),
		Owners: owners, Name: strings.TrimSpace(r.PostFormValue("name")),
		Private: r.PostFormValue("private") != "", Admin: v.user.IsAdmin}
	if body.Owner == "" {
		body.Owner = v.user.Name
	}
	if body.Type != hub.TypeDataset {
		body.Type = hub.TypeModel
	}
	ref := hub.RepoRef{Type: body.Type, Namespace: body.Owner, Name: body.Name}
	// The form always states the visibility, so the organisation's
	// default (which preselected the box) does not override it.
	repo, err := h.hub.CreateRepo(r.Context(), server.Identity(r.Context()), ref, hub.CreateRepoOptions{Private: body.Private})
	if err != nil {
		if status, msg, ok := formProblem(err); ok {
			body.Error = msg
			return h.render(w, r, v, status, "new", &page{Title: "New repository", Body: body})
		}
		return err
	}
	http.Redirect(w, r, v.prefix+repoPath(repo), http.StatusSeeOther)
	return nil
}

// settingsPage is the body of the settings template.
type settingsPage struct {
	H     repoHeader
	Error string
}

func (h *Handler) settingsPage(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		repo, err := h.writable(r, a)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		return h.render(w, r, v, http.StatusOK, "settings", &page{Title: "Settings · " + repo.FullName(),
			Body: settingsPage{H: h.header(r, repo, "settings", "")}})
	}
}

// writable returns the repository if the viewer may change it.
func (h *Handler) writable(r *http.Request, a *repoAddr) (*hub.Repo, error) {
	who := server.Identity(r.Context())
	repo, err := h.hub.GetRepo(r.Context(), who, a.ref)
	if err != nil {
		return nil, err
	}
	if !h.hub.Can(r.Context(), who, repo, hub.Manage) {
		return nil, &hub.Error{Kind: hub.ErrForbidden, Msg: "You don't have the rights to change the settings of " + repo.FullName()}
	}
	return repo, nil
}

func (h *Handler) updateSettings(a *repoAddr) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		repo, err := h.writable(r, a)
		if err != nil {
			return err
		}
		ctx, who := r.Context(), server.Identity(r.Context())
		dest := repoPath(repo) + "/settings"
		switch r.PostFormValue("action") {
		case "visibility":
			private := r.PostFormValue("private") != ""
			_, err = h.hub.UpdateSettings(ctx, who, a.ref, hub.RepoSettings{Private: &private})
		case "gating":
			gated := r.PostFormValue("gated")
			_, err = h.hub.UpdateSettings(ctx, who, a.ref, hub.RepoSettings{Gated: &gated})
		case "rename":
			to := hub.RepoRef{Type: repo.Type, Namespace: repo.Namespace, Name: strings.TrimSpace(r.PostFormValue("new_name"))}
			if ns, name, ok := strings.Cut(to.Name, "/"); ok {
				to.Namespace, to.Name = ns, name
			}
			if err = h.hub.MoveRepo(ctx, who, a.ref, to); err == nil {
				dest = refPath(to) + "/settings"
			}
		case "delete":
			if r.PostFormValue("confirm") != repo.FullName() {
				err = &hub.Error{Kind: hub.ErrInvalid, Msg: "Type " + repo.FullName() + " to confirm the deletion"}
				break
			}
			if err = h.hub.DeleteRepo(ctx, who, a.ref); err == nil {
				dest = "/" + url.PathEscape(repo.Namespace)
			}
		default:
			err = &hub.Error{Kind: hub.ErrInvalid, Msg: "Unknown action"}
		}
		if err != nil {
			if status, msg, ok := formProblem(err); ok {
				w.Header().Set("Cache-Control", "no-store")
				return h.render(w, r, v, status, "settings", &page{Title: "Settings · " + repo.FullName(),
					Body: settingsPage{H: h.header(r, repo, "settings", ""), Error: msg}})
			}
			return err
		}
		http.Redirect(w, r, v.prefix+dest, http.StatusSeeOther)
		return nil
	}
}
