package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// ExternalProfile is what a single-sign-on provider asserts about the
// person signing in.
type ExternalProfile struct {
	// Issuer and Subject identify the person at the provider; an account
	// is linked to the pair, never to a name or an email, so that a
	// provider user named like a local account cannot take it over.
	Issuer, Subject string
	// Username is the provider's preferred name for a new account; it
	// is sanitised to the Hub's name rules and de-duplicated.
	Username string
	Email    string
	FullName string
	// Orgs maps organisations to the role the provider grants in them
	// (see OrgRolesFromGroups); nil leaves memberships alone.
	Orgs map[string]string
	// Admin, when not nil, sets whether the account is a site admin.
	Admin *bool
}

// SignInExternal signs in the person a provider vouched for: the linked
// account, or a new one (without a password) linked on first sign-in.
// Organisation memberships named in p.Orgs are set to the provider's
// role; other memberships are not touched, so that roles given in Agora
// survive. It reports whether the account was created.
func (s *Service) SignInExternal(ctx context.Context, p ExternalProfile) (*auth.Identity, bool, error) {
	if p.Issuer == "" || p.Subject == "" {
		return nil, false, errorf(ErrUnauthenticated, "The identity provider did not identify the user")
	}
	u, err := s.meta.UserByExternalIdentity(ctx, p.Issuer, p.Subject)
	created := false
	switch {
	case errors.Is(err, meta.ErrNotFound):
		if u, created, err = s.createExternal(ctx, p); err != nil {
			return nil, false, err
		}
	case err != nil:
		return nil, false, fmt.Errorf("sso sign in: %w", err)
	}
	if u.IsOrg() {
		return nil, false, errorf(ErrForbidden, "%s is an organization", u.Name)
	}
	who := &auth.Identity{User: u, Role: meta.RoleWrite}
	if p.Admin != nil && *p.Admin != u.IsAdmin {
		u.IsAdmin = *p.Admin
		if err := s.meta.UpdateUser(ctx, u); err != nil {
			return nil, false, fmt.Errorf("sso admin flag: %w", err)
		}
		s.audit(ctx, nil, "user.admin", u.Name, u.Name, map[string]any{"admin": u.IsAdmin, "via": "sso"})
	}
	for org, role := range p.Orgs {
		s.syncMembership(ctx, u, org, role)
	}
	s.audit(ctx, who, "auth.signin", u.Name, u.Name, map[string]any{"method": "sso", "issuer": p.Issuer, "created": created})
	return who, created, nil
}

// createExternal creates and links the account of a first sign-in. A
// concurrent first sign-in of the same person may win the link: its
// account is then the one.
func (s *Service) createExternal(ctx context.Context, p ExternalProfile) (*User, bool, error) {
	base := AccountName(p.Username, p.Email)
	for i := 0; i < 50; i++ {
		name := base
		switch {
		case i > 0 && i < 20:
			name = base + "-" + strconv.Itoa(i+1)
		case i >= 20:
			var b [3]byte
			rand.Read(b[:])
			name = base + "-" + hex.EncodeToString(b[:])
		}
		if !ValidNamespace(name) {
			continue
		}
		u := &meta.User{Name: name, Email: clip(p.Email, 320), FullName: clip(p.FullName, 200)}
		var linkErr error
		err := s.meta.InTx(ctx, func(tx meta.Tx) error {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			linkErr = tx.LinkExternalIdentity(ctx, p.Issuer, p.Subject, u.ID)
			return linkErr
		})
		switch {
		case err == nil:
			s.audit(ctx, nil, "user.create", u.Name, u.Name, map[string]any{"via": "sso", "issuer": p.Issuer})
			return u, true, nil
		case linkErr != nil && errors.Is(linkErr, meta.ErrConflict):
			existing, err := s.meta.UserByExternalIdentity(ctx, p.Issuer, p.Subject)
			if err != nil {
				return nil, false, fmt.Errorf("sso account: %w", err)
			}
			return existing, false, nil
		case errors.Is(err, meta.ErrConflict):
			continue // the name is taken: try the next
		default:
			return nil, false, fmt.Errorf("sso account: %w", err)
		}
	}
	return nil, false, errorf(ErrConflict, "No free account name for %q", base)
}

// clip bounds a provider's free text to n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// maxAccountName leaves room for a de-duplicating suffix.
const maxAccountName = 40

// AccountName turns a provider's preferred user name (or, without one,
// the email's local part) into a name that follows the Hub's rules:
// letters, digits, '-', '_' and '.', no "--" or "..", starting and ending
// with a letter, digit or '_', not a reserved word. Other characters
// become '-'. It never returns "", but the name may be taken.
func AccountName(preferred, email string) string {
	src := strings.TrimSpace(preferred)
	if src == "" {
		src, _, _ = strings.Cut(strings.TrimSpace(email), "@")
	}
	if at := strings.IndexByte(src, '@'); at > 0 {
		src = src[:at]
	}
	var b strings.Builder
	last := rune(0)
	for _, r := range src {
		if b.Len() > 4*maxAccountName {
			break // the rest would be cut anyway
		}
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
		if !ok {
			r = '-'
		}
		// "--", "..", ".-" and "-." all read as separators run together.
		if (r == '-' || r == '.') && (last == '-' || last == '.') {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	name := strings.Trim(b.String(), "-.")
	if len(name) > maxAccountName {
		name = strings.TrimRight(name[:maxAccountName], "-.")
	}
	if strings.HasSuffix(strings.ToLower(name), ".git") {
		name = name[:len(name)-4]
	}
	if name == "" {
		name = "user"
	}
	if !ValidNamespace(name) {
		name += "-user"
	}
	return name
}

// OrgRolesFromGroups reads a provider's group claim as organisation
// roles. Each entry is "ORG" (role read) or "ORG:ROLE" with one of the
// Hub's five roles; a leading '/' (Keycloak's group paths) is ignored.
// When an organisation appears more than once the strongest role wins.
// Entries that are not organisation names or roles are skipped: a
// directory holds many groups that are not organisations.
func OrgRolesFromGroups(groups []string) map[string]string {
	if groups == nil {
		return nil
	}
	out := map[string]string{}
	for _, g := range groups {
		org, role, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(g), "/"), ":")
		if !ok {
			role = OrgRead
		}
		if !ValidNamespace(org) || !ValidOrgRole(role) {
			continue
		}
		key := strings.ToLower(org)
		if cur, ok := out[key]; !ok || roleRank(role) > roleRank(cur) {
			out[key] = role
		}
	}
	return out
}

func roleRank(role string) int {
	switch role {
	case OrgRead:
		return 1
	case OrgContributor:
		return 2
	case OrgWrite:
		return 3
	case OrgAdmin:
		return 4
	}
	return 0
}

// syncMembership sets u's role in org to the provider's. Organisations
// that do not exist are not created (that is an admin's decision), and
// the last admin of an organisation is not demoted. Failures are logged:
// the sign-in itself succeeded.
func (s *Service) syncMembership(ctx context.Context, u *User, org, role string) {
	o, err := s.meta.UserByName(ctx, org)
	if err != nil || !o.IsOrg() {
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			s.lg.WarnContext(ctx, "sso membership", "org", org, "err", err)
		}
		return
	}
	cur, err := s.meta.OrgRole(ctx, o.ID, u.ID)
	if err == nil && cur == role {
		return
	}
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		s.lg.WarnContext(ctx, "sso membership", "org", o.Name, "err", err)
		return
	}
	if role != OrgAdmin {
		if err := s.keepAnAdmin(ctx, o, u.ID); err != nil {
			s.lg.WarnContext(ctx, "sso membership: role kept", "org", o.Name, "user", u.Name, "err", err)
			return
		}
	}
	if err := s.meta.SetOrgMember(ctx, o.ID, u.ID, role); err != nil {
		s.lg.WarnContext(ctx, "sso membership", "org", o.Name, "err", err)
		return
	}
	s.audit(ctx, nil, "org.member.role", o.Name, u.Name, map[string]any{"role": role, "via": "sso"})
}

// RecordSignIn adds a password sign-in to the audit log (single sign-on
// records its own in SignInExternal).
func (s *Service) RecordSignIn(ctx context.Context, who *auth.Identity) {
	s.audit(ctx, who, "auth.signin", who.User.Name, who.User.Name, map[string]any{"method": "password"})
}
