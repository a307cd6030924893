package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/server"
)

// The permissions a fine-grained token may be given on each kind of
// entity, with the Hub's names: repository permissions everywhere,
// organisation permissions on organisations.
var (
	repoPerms = []string{"repo.content.read", "repo.access.read", "repo.write"}
	orgPerms  = []string{"repo.content.read", "repo.access.read", "repo.write", "org.read", "org.write"}
	allPerms  = orgPerms
)

// expiries are the lifetimes the form offers, by form value.
var expiries = []struct {
	Value string
	Label string
	d     time.Duration
}{
	{"", "Never", 0},
	{"7d", "7 days", 7 * 24 * time.Hour},
	{"30d", "30 days", 30 * 24 * time.Hour},
	{"90d", "90 days", 90 * 24 * time.Hour},
	{"365d", "1 year", 365 * 24 * time.Hour},
}

// tokensPage is the body of the tokens template.
type tokensPage struct {
	Tokens   []tokenRow
	Entities []scopeEntity
	Perms    []string // the columns of the scope table
	Expiries any
	// The form's values.
	Name      string
	Role      string
	ExpiresIn string
	Gated     bool
	Error     string
	Storage   *hub.Storage
}

// tokenRow is one token of the list.
type tokenRow struct {
	ID       int64
	Name     string
	Role     string
	Scopes   []scopeView
	Gated    bool // may read public gated repositories it was granted
	Created  time.Time
	Expires  time.Time // zero: never
	Expired  bool
	Fine     bool
	RoleText string
}

// scopeView is one entity of a fine-grained token, named as it is now.
type scopeView struct {
	Entity      string
	Permissions []string
}

// scopeEntity is one row of the scope table: an entity and a checkbox
// per permission (absent where the permission does not apply).
type scopeEntity struct {
	Key   string // "user:alice", "org:acme", "model:alice/bert"
	Label string
	Kind  string
	Cells []permCell
}

type permCell struct {
	Perm    string
	Value   string // the checkbox value: "ENTITY=PERM"
	Applies bool
	Checked bool
}

// scopeEntitiesShown bounds the repositories offered as scope entities;
// an organisation's or the user's whole namespace covers the rest.
const scopeEntitiesShown = 100

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	if v.session == "" {
		// Signed in by a token: the page lists every token of the
		// account with its scopes (names of private repositories), which
		// a read or resource-scoped token must not reveal.
		return errPageNeedsSession
	}
	return h.renderTokens(w, r, v, http.StatusOK, tokensPage{Role: hub.RoleRead}, nil)
}

// errPageNeedsSession refuses an account page to a visitor identified by
// a token rather than a browser session.
var errPageNeedsSession = &hub.Error{Kind: hub.ErrForbidden, Msg: "This page needs a browser session: sign in on the web page, not with a token"}

// renderTokens shows the list and the form; checked are the scope
// checkboxes to keep ticked after a refused submission.
func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, v *visit, status int, body tokensPage, checked map[string]bool) error {
	ctx, who := r.Context(), server.Identity(r.Context())
	list, err := h.hub.ListTokens(ctx, who)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, t := range list {
		row := tokenRow{ID: t.ID, Name: t.Name, Role: t.Role, Created: t.CreatedAt, Expires: t.ExpiresAt,
			Expired: t.Expired(now), Fine: t.Role == hub.RoleFineGrained, RoleText: t.Role}
		if row.Fine {
			row.RoleText = "fine-grained"
		}
		if t.Scopes != nil {
			row.Gated = t.Scopes.CanReadGatedRepos
			for _, sc := range t.Scopes.Scoped {
				row.Scopes = append(row.Scopes, scopeView{Entity: sc.Type + ":" + h.hub.TokenEntityName(ctx, sc), Permissions: sc.Permissions})
			}
		}
		body.Tokens = append(body.Tokens, row)
	}
	if body.Entities, err = h.scopeEntities(r, v, checked); err != nil {
		return err
	}
	body.Perms, body.Expiries = allPerms, expiries
	if body.Storage, err = h.hub.NamespaceStorage(ctx, who, v.user.Name); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, status, "tokens", &page{Title: "Access tokens", Body: body})
}

// scopeEntities are what a fine-grained token may be scoped to: the
// user's own namespace, the organisations the user belongs to, and the
// user's repositories.
func (h *Handler) scopeEntities(r *http.Request, v *visit, checked map[string]bool) ([]scopeEntity, error) {
	row := func(key, label, kind string, perms []string) scopeEntity {
		e := scopeEntity{Key: key, Label: label, Kind: kind}
		for _, p := range allPerms {
			val := key + "=" + p
			e.Cells = append(e.Cells, permCell{Perm: p, Value: val, Applies: slices.Contains(perms, p), Checked: checked[val]})
		}
		return e
	}
	out := []scopeEntity{row("user:"+v.user.Name, v.user.Name+" (your repositories)", "user", repoPerms)}
	orgs, err := h.hub.UserOrgs(r.Context(), v.user.ID)
	if err != nil {
		return nil, err
	}
	for _, m := range orgs {
		out = append(out, row("org:"+m.Org.Name, m.Org.Name+" (organization)", "org", orgPerms))
	}
	var models, datasets []repoCard
	if err := h.accountRepos(r, v.user.Name, &models, &datasets); err != nil {
		return nil, err
	}
	n := 0
	for _, list := range [][]repoCard{models, datasets} {
		for _, c := range list {
			if n == scopeEntitiesShown {
				break
			}
			n++
			out = append(out, row(c.Repo.Type+":"+c.Repo.FullName(), c.Repo.FullName()+" ("+c.Repo.Type+")", c.Repo.Type, repoPerms))
		}
	}
	return out, nil
}

// tokenCreated is the body of the token_created template: the only time
// the secret is shown.
type tokenCreated struct {
	Name    string
	Role    string
	Secret  string
	Expires time.Time
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !h.requireUser(w, r, v) {
		return nil
	}
	body := tokensPage{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"),
		ExpiresIn: r.PostFormValue("expires_in"), Gated: r.PostFormValue("gated") != ""}
	spec := hub.TokenSpec{Name: body.Name, Role: body.Role}
	checked := map[string]bool{}
	ok := false
	for _, e := range expiries {
		if e.Value == body.ExpiresIn {
			spec.ExpiresIn, ok = e.d, true
		}
	}
	var err error
	if !ok {
		err = &hub.Error{Kind: hub.ErrInvalid, Msg: "Unknown expiry"}
	}
	if body.Role == hub.RoleFineGrained && err == nil {
		spec.CanReadGatedRepos = body.Gated
		spec.Scopes, err = scopesOf(r.PostForm["scope"], checked)
	}
	var t *hub.Token
	var secret string
	if err == nil {
		var sec string
		t, sec, err = h.createTokenSecret(r, spec)
		secret = sec
	}
	if err != nil {
		if status, msg, ok := formProblem(err); ok {
			body.Error = msg
			return h.renderTokens(w, r, v, status, body, checked)
		}
		return err
	}
	h.lg.InfoContext(r.Context(), "token created", "user", v.user.Name, "token", t.Name, "role", t.Role)
	role := t.Role
	if role == hub.RoleFineGrained {
		role = "fine-grained"
	}
	w.Header().Set("Cache-Control", "no-store")
	return h.render(w, r, v, http.StatusOK, "token_created", &page{Title: "Token created",
		Body: tokenCreated{Name: t.Name, Role: role, Secret: secret, Expires: t.ExpiresAt}})
}

// scopesOf groups the ticked "ENTITY=PERM" boxes by entity, in the order
// first ticked, and records them in checked.
func scopesOf(values []string, checked map[string]bool) ([]hub.ScopeSpec, error) {
	var out []hub.ScopeSpec
	index := map[string]int{}
	for _, val := range values {
		ent, perm, ok := strings.Cut(val, "=")
		if !ok || ent == "" || perm == "" {
			return nil, &hub.Error{Kind: hub.ErrInvalid, Msg: "Invalid scope " + val}
		}
		checked[val] = true
		i, ok := index[ent]
		if !ok {
			i = len(out)
			index[ent] = i
			out = append(out, hub.ScopeSpec{Entity: ent})
		}
		if !slices.Contains(out[i].Permissions, perm) {
			out[i].Permissions = append(out[i].Permissions, perm)
		}
	}
	if len(out) == 0 {
		return nil, &hub.Error{Kind: hub.ErrInvalid, Msg: "A fine-grained token needs at least one permission: tick one in the table"}
	}
	return out, nil
}

func (h *Handler) revokeToken(id int64) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *visit) error {
		if !h.requireUser(w, r, v) {
			return nil
		}
		// checkPost already refused tokens; a session is what proves
		// that a person, not a leaked credential, asked for this.
		if v.session == "" {
			return errNeedSession
		}
		if err := h.hub.DeleteToken(r.Context(), server.Identity(r.Context()), id); err != nil {
			return err
		}
		http.Redirect(w, r, v.prefix+"/settings/tokens", http.StatusSeeOther)
		return nil
	}
}

// createTokenSecret creates the token and returns its secret as text.
func (h *Handler) createTokenSecret(r *http.Request, spec hub.TokenSpec) (*hub.Token, string, error) {
	t, sec, err := h.hub.CreateToken(r.Context(), server.Identity(r.Context()), spec)
	return t, string(sec), err
}
