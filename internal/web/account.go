package web

import (
	"errors"
	"net/http"
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

// userPage is the body of the user template.
type userPage struct {
	Name     string
	FullName string
	Models   []repoCard
	Datasets []repoCard
	Likes    []hub.Repo
	Self     bool
}

// userReposShown bounds each list of a user page.
const userReposShown = 100

func (h *Handler) userPage(name string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		ctx, who := r.Context(), server.Identity(r.Context())
		body := userPage{Name: name}
		u, err := h.hub.UserProfile(ctx, name)
		switch {
		case err == nil:
			body.Name, body.FullName = u.Name, u.FullName
			body.Self = v.user != nil && v.user.ID == u.ID
		case !errors.Is(err, hub.ErrNotFound):
			return err
		}
		for _, l := range []struct {
			typ string
			dst *[]repoCard
		}{{hub.TypeModel, &body.Models}, {hub.TypeDataset, &body.Datasets}} {
			rows, _, err := h.hub.ListRepos(ctx, who, hub.ListQuery{Type: l.typ, Author: body.Name, Sort: hub.SortLastModified, Desc: true, Limit: userReposShown})
			if err != nil {
				return err
			}
			*l.dst = cardsOf(rows)
		}
		if u == nil && len(body.Models) == 0 && len(body.Datasets) == 0 {
			// No such account, and nothing the viewer may see under that
			// name: the same answer either way.
			return &hub.Error{Kind: hub.ErrNotFound, Msg: "Page not found"}
		}
		if u != nil {
			likes, err := h.hub.LikedBy(ctx, who, u.Name)
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

// tokensPage is the body of the tokens template.
type tokensPage struct {
	Tokens  []hub.Token
	Name    string
	Role    string
	Error   string
	Storage *hub.Storage
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	return h.renderTokens(w, r, v, http.StatusOK, tokensPage{Role: hub.RoleRead})
}

func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, v *visit, status int, body tokensPage) error {
	list, err := h.hub.ListTokens(r.Context(), server.Identity(r.Context()))
	if err != nil {
		return err
	}
	body.Tokens = list
	if body.Storage, err = h.hub.NamespaceStorage(r.Context(), server.Identity(r.Context()), v.user.Name); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, status, "tokens", &page{Title: "Access tokens", Body: body})
}

// tokenCreated is the body of the token_created template: the only time
// the secret is shown.
type tokenCreated struct {
	Name   string
	Role   string
	Secret string
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	name, role := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	t, secret, err := h.hub.CreateToken(r.Context(), server.Identity(r.Context()), hub.TokenSpec{Name: name, Role: role})
	if err != nil {
		if status, msg, ok := formProblem(err); ok {
			return h.renderTokens(w, r, v, status, tokensPage{Name: name, Role: role, Error: msg})
		}
		return err
	}
	h.lg.InfoContext(r.Context(), "token created", "user", v.user.Name, "token", t.Name, "role", t.Role)
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, http.StatusOK, "token_created", &page{Title: "Token created",
		Body: tokenCreated{Name: t.Name, Role: t.Role, Secret: string(secret)}})
}

func (h *Handler) revokeToken(id int64) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		if err := h.hub.DeleteToken(r.Context(), server.Identity(r.Context()), id); err != nil {
			return err
		}
		http.Redirect(w, r, v.prefix+"/settings/tokens", http.StatusSeeOther)
		return nil
	}
}

// newPage is the body of the new template.
type newPage struct {
	Type    string
	Owner   string
	Owners  []string
	Name    string
	Private bool
	Admin   bool // may type any owner
	Error   string
}

func (h *Handler) newForm(dataset bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		body := newPage{Type: hub.TypeModel, Owner: v.user.Name, Owners: []string{v.user.Name}, Admin: v.user.IsAdmin}
		if dataset || r.URL.Query().Get("type") == hub.TypeDataset {
			body.Type = hub.TypeDataset
		}
		return h.render(w, r, v, http.StatusOK, "new", &page{Title: "New repository", Body: body})
	}
}

func (h *Handler) createRepo(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	body := newPage{Type: r.PostFormValue("type"), Owner: strings.TrimSpace(r.PostFormValue("owner")),
		Owners: []string{v.user.Name}, Name: strings.TrimSpace(r.PostFormValue("name")),
		Private: r.PostFormValue("private") != "", Admin: v.user.IsAdmin}
	if body.Owner == "" {
		body.Owner = v.user.Name
	}
	if body.Type != hub.TypeDataset {
		body.Type = hub.TypeModel
	}
	ref := hub.RepoRef{Type: body.Type, Namespace: body.Owner, Name: body.Name}
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
				dest = "/" + v.user.Name
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
