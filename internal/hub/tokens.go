package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/access"
	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// TokenSpec describes a token to create.
type TokenSpec struct {
	Name string
	Role string // RoleRead, RoleWrite or RoleFineGrained
	// ExpiresIn is the token's lifetime; 0 = no expiry.
	ExpiresIn time.Duration
	// Scopes and CanReadGatedRepos make a fine-grained token.
	Scopes            []ScopeSpec
	CanReadGatedRepos bool
}

// ScopeSpec grants permissions on one entity: "user:NAME", "org:NAME",
// "model:NS/NAME" or "dataset:NS/NAME".
type ScopeSpec struct {
	Entity      string
	Permissions []string
}

// ParseScope reads "ENTITY=PERM[,PERM…]" (the admin CLI's --scope).
func ParseScope(s string) (ScopeSpec, error) {
	ent, perms, ok := strings.Cut(s, "=")
	if !ok || ent == "" || perms == "" {
		return ScopeSpec{}, errorf(ErrInvalid, "scope %q: want ENTITY=PERM[,PERM…]", s)
	}
	return ScopeSpec{Entity: ent, Permissions: strings.Split(perms, ",")}, nil
}

// scopeStore is what resolving scope entities reads.
type scopeStore interface {
	UserByName(ctx context.Context, name string) (*meta.User, error)
	RepoByName(ctx context.Context, typ, namespace, name string) (*meta.Repo, error)
}

// ResolveScopes turns scope specs into stored scopes, naming entities by id
// so that renames keep the grant. Unknown entities and permissions are
// refused.
func ResolveScopes(ctx context.Context, st scopeStore, specs []ScopeSpec, canReadGated bool) (*meta.TokenScopes, error) {
	out := &meta.TokenScopes{CanReadGatedRepos: canReadGated, Global: []string{}, Scoped: []meta.TokenScope{}}
	for _, sp := range specs {
		kind, name, ok := strings.Cut(sp.Entity, ":")
		if !ok || name == "" {
			return nil, errorf(ErrInvalid, "scope entity %q: want user:NAME, org:NAME, model:ID or dataset:ID", sp.Entity)
		}
		for _, p := range sp.Permissions {
			if !access.KnownPermissions[p] {
				return nil, errorf(ErrInvalid, "unknown permission %q (known: repo.content.read, repo.access.read, repo.write, org.read, org.write, …)", p)
			}
		}
		sc := meta.TokenScope{Type: kind, Name: name, Permissions: slices.Clone(sp.Permissions)}
		switch kind {
		case meta.KindUser, meta.KindOrg:
			u, err := st.UserByName(ctx, name)
			if errors.Is(err, meta.ErrNotFound) || err == nil && (u.IsOrg() != (kind == meta.KindOrg)) {
				return nil, errorf(ErrInvalid, "scope entity %q: no such %s", sp.Entity, kind)
			}
			if err != nil {
				return nil, err
			}
			sc.ID, sc.Name = u.ID, u.Name
		case meta.TypeModel, meta.TypeDataset:
			ns, rn, _ := strings.Cut(name, "/")
			if rn == "" {
				ns, rn = "", name
			}
			r, err := st.RepoByName(ctx, kind, ns, rn)
			if errors.Is(err, meta.ErrNotFound) {
				return nil, errorf(ErrInvalid, "scope entity %q: no such repository", sp.Entity)
			}
			if err != nil {
				return nil, err
			}
			sc.ID, sc.Name = r.ID, r.FullName()
		default:
			return nil, errorf(ErrInvalid, "scope entity %q: want user:NAME, org:NAME, model:ID or dataset:ID", sp.Entity)
		}
		out.Scoped = append(out.Scoped, sc)
	}
	return out, nil
}

// ListTokens returns the caller's tokens.
func (s *Service) ListTokens(ctx context.Context, who *auth.Identity) ([]Token, error) {
	if err := requireUser(who); err != nil {
		return nil, err
	}
	return s.meta.ListTokens(ctx, who.User.ID)
}

// CreateToken creates a token for the caller and returns its secret, which
// is shown once and never stored. Only a web session or a write token may
// create tokens.
func (s *Service) CreateToken(ctx context.Context, who *auth.Identity, spec TokenSpec) (*Token, auth.Secret, error) {
	if err := requireAccountChange(who); err != nil {
		return nil, "", err
	}
	t, secret, err := NewToken(ctx, s.meta, who.User, spec)
	if err != nil {
		return nil, "", err
	}
	s.audit(ctx, who, "token.create", who.User.Name, t.Name, map[string]any{"role": t.Role})
	return t, secret, nil
}

// tokenStore is what NewToken needs.
type tokenStore interface {
	scopeStore
	ListTokens(ctx context.Context, userID int64) ([]meta.Token, error)
	CreateToken(ctx context.Context, t *meta.Token) error
}

// NewToken creates a token for user u (the web UI's and the admin CLI's
// shared rules: a name of at most 100 characters unique among u's tokens,
// a known role, scopes only for fine-grained tokens).
func NewToken(ctx context.Context, st tokenStore, u *meta.User, spec TokenSpec) (*Token, auth.Secret, error) {
	if u.IsOrg() {
		return nil, "", errorf(ErrInvalid, "%s is an organization: tokens belong to users", u.Name)
	}
	name := strings.TrimSpace(spec.Name)
	if name == "" || len(name) > 100 {
		return nil, "", errorf(ErrInvalid, "A token needs a name of at most 100 characters")
	}
	existing, err := st.ListTokens(ctx, u.ID)
	if err != nil {
		return nil, "", fmt.Errorf("create token: %w", err)
	}
	for _, t := range existing {
		if t.Name == name {
			return nil, "", errorf(ErrConflict, "A token named %q already exists", name)
		}
	}
	t := &meta.Token{UserID: u.ID, Name: name, Role: spec.Role}
	switch spec.Role {
	case meta.RoleRead, meta.RoleWrite:
		if len(spec.Scopes) > 0 {
			return nil, "", errorf(ErrInvalid, "Only fine-grained tokens have scopes")
		}
	case meta.RoleFineGrained:
		if t.Scopes, err = ResolveScopes(ctx, st, spec.Scopes, spec.CanReadGatedRepos); err != nil {
			return nil, "", err
		}
	default:
		return nil, "", errorf(ErrInvalid, "Token role must be read, write or fineGrained")
	}
	if spec.ExpiresIn < 0 {
		return nil, "", errorf(ErrInvalid, "A token cannot expire in the past")
	}
	if spec.ExpiresIn > 0 {
		t.ExpiresAt = time.Now().Add(spec.ExpiresIn)
	}
	secret := auth.NewTokenSecret()
	t.Hash = auth.HashToken(secret)
	if err := st.CreateToken(ctx, t); err != nil {
		return nil, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

// DeleteToken revokes one of the caller's tokens. Only a web session or a
// write token may revoke tokens.
func (s *Service) DeleteToken(ctx context.Context, who *auth.Identity, id int64) error {
	if err := requireAccountChange(who); err != nil {
		return err
	}
	err := s.meta.DeleteToken(ctx, who.User.ID, id)
	if errors.Is(err, meta.ErrNotFound) {
		return errorf(ErrNotFound, "No such token")
	}
	if err != nil {
		return err
	}
	s.audit(ctx, who, "token.revoke", who.User.Name, fmt.Sprint(id), nil)
	return nil
}
