package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agorahub/agora/internal/access"
	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/meta"
)

// Member is a user's membership of an organisation.
type Member = meta.Member

// Organisation roles.
const (
	OrgNoAccess    = meta.OrgNoAccess
	OrgRead        = meta.OrgRead
	OrgContributor = meta.OrgContributor
	OrgWrite       = meta.OrgWrite
	OrgAdmin       = meta.OrgAdmin
)

// ValidOrgRole reports whether role is one of the Hub's five.
func ValidOrgRole(role string) bool {
	switch role {
	case OrgNoAccess, OrgRead, OrgContributor, OrgWrite, OrgAdmin:
		return true
	}
	return false
}

// Overview is a user's or organisation's public profile with counts.
type Overview struct {
	Account     *User
	NumModels   int64
	NumDatasets int64
	NumUsers    int64    // organisations: members
	Orgs        []Member // users: their organisations
	// Role is the caller's role in the organisation ("" if none).
	Role string
}

// account finds a user or organisation by name; kind "" accepts either.
func (s *Service) account(ctx context.Context, name, kind string) (*User, error) {
	u, err := s.meta.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) || err == nil && kind != "" && (u.IsOrg() != (kind == meta.KindOrg)) {
		if kind == meta.KindOrg {
			return nil, errorf(ErrNotFound, "Organization not found")
		}
		return nil, errorf(ErrNotFound, "User not found")
	}
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", name, err)
	}
	return u, nil
}

// roleIn returns who's role in org ("" if none).
func (s *Service) roleIn(ctx context.Context, who *auth.Identity, org *User) (string, error) {
	if who == nil {
		return "", nil
	}
	role, err := s.meta.OrgRole(ctx, org.ID, who.User.ID)
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	return role, err
}

// AccountOverview returns the profile of a user or organisation (kind
// meta.KindUser, meta.KindOrg, or "" for either) with the repositories
// the caller may see counted.
func (s *Service) AccountOverview(ctx context.Context, who *auth.Identity, name, kind string) (*Overview, error) {
	u, err := s.account(ctx, name, kind)
	if err != nil {
		return nil, err
	}
	ov := &Overview{Account: u}
	for _, typ := range []string{TypeModel, TypeDataset} {
		n, err := s.CountRepos(ctx, who, ListQuery{Type: typ, Author: u.Name})
		if err != nil {
			return nil, err
		}
		if typ == TypeModel {
			ov.NumModels = n
		} else {
			ov.NumDatasets = n
		}
	}
	if u.IsOrg() {
		if ov.NumUsers, err = s.meta.CountOrgMembers(ctx, u.ID); err != nil {
			return nil, err
		}
		if ov.Role, err = s.roleIn(ctx, who, u); err != nil {
			return nil, err
		}
	} else if ov.Orgs, err = s.meta.UserOrgs(ctx, u.ID); err != nil {
		return nil, err
	}
	return ov, nil
}

// UserOrgs lists the organisations a user belongs to, with their role.
func (s *Service) UserOrgs(ctx context.Context, userID int64) ([]Member, error) {
	return s.meta.UserOrgs(ctx, userID)
}

// OrgMembers lists an organisation's members by name after after. Roles
// are shown only to members (and site admins).
func (s *Service) OrgMembers(ctx context.Context, who *auth.Identity, org, after string, limit int) ([]Member, error) {
	o, err := s.account(ctx, org, meta.KindOrg)
	if err != nil {
		return nil, err
	}
	ms, err := s.meta.OrgMembers(ctx, o.ID, after, limit)
	if err != nil {
		return nil, err
	}
	role, err := s.roleIn(ctx, who, o)
	if err != nil {
		return nil, err
	}
	if role == "" && (who == nil || !who.User.IsAdmin) {
		for i := range ms {
			ms[i].Role = ""
		}
	}
	return ms, nil
}

// orgCaller describes who for a decision on organisation org.
func (s *Service) orgCaller(ctx context.Context, who *auth.Identity, org *User) (*access.Caller, error) {
	if who == nil {
		return nil, nil
	}
	role, err := s.roleIn(ctx, who, org)
	if err != nil {
		return nil, err
	}
	return &access.Caller{UserID: who.User.ID, Name: who.User.Name, Admin: who.User.IsAdmin, Token: who.Token, OrgRole: role}, nil
}

// SetMemberRole adds user to org with role, or changes the role (org
// admins and site admins). An organisation always keeps an admin.
func (s *Service) SetMemberRole(ctx context.Context, who *auth.Identity, org, user, role string) error {
	o, err := s.account(ctx, org, meta.KindOrg)
	if err != nil {
		return err
	}
	c, err := s.orgCaller(ctx, who, o)
	if err != nil {
		return err
	}
	if err := decisionError(access.DecideOrg(c, o.ID, access.OrgManage)); err != nil {
		return err
	}
	if !ValidOrgRole(role) {
		return errorf(ErrInvalid, "Invalid role %q: one of no_access, read, contributor, write, admin", role)
	}
	u, err := s.account(ctx, user, meta.KindUser)
	if err != nil {
		return err
	}
	if role != OrgAdmin {
		if err := s.keepAnAdmin(ctx, o, u.ID); err != nil {
			return err
		}
	}
	if err := s.meta.SetOrgMember(ctx, o.ID, u.ID, role); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	s.audit(ctx, who, "org.member.role", o.Name, u.Name, map[string]any{"role": role})
	return nil
}

// RemoveMember removes user from org (org admins and site admins; a user
// may also leave).
func (s *Service) RemoveMember(ctx context.Context, who *auth.Identity, org, user string) error {
	o, err := s.account(ctx, org, meta.KindOrg)
	if err != nil {
		return err
	}
	u, err := s.account(ctx, user, meta.KindUser)
	if err != nil {
		return err
	}
	if who == nil || who.User.ID != u.ID {
		c, err := s.orgCaller(ctx, who, o)
		if err != nil {
			return err
		}
		if err := decisionError(access.DecideOrg(c, o.ID, access.OrgManage)); err != nil {
			return err
		}
	}
	if err := s.keepAnAdmin(ctx, o, u.ID); err != nil {
		return err
	}
	if err := s.meta.RemoveOrgMember(ctx, o.ID, u.ID); errors.Is(err, meta.ErrNotFound) {
		return errorf(ErrNotFound, "%s is not a member of %s", u.Name, o.Name)
	} else if err != nil {
		return err
	}
	s.audit(ctx, who, "org.member.remove", o.Name, u.Name, nil)
	return nil
}

// keepAnAdmin refuses a change that would leave org without an admin
// because userID is its last one.
func (s *Service) keepAnAdmin(ctx context.Context, o *User, userID int64) error {
	role, err := s.meta.OrgRole(ctx, o.ID, userID)
	if errors.Is(err, meta.ErrNotFound) || err == nil && role != OrgAdmin {
		return nil
	}
	if err != nil {
		return err
	}
	admins := 0
	after := ""
	for {
		page, err := s.meta.OrgMembers(ctx, o.ID, after, 500)
		if err != nil {
			return err
		}
		for _, m := range page {
			if m.Role == OrgAdmin {
				admins++
			}
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].User.Name
	}
	if admins <= 1 {
		return errorf(ErrConflict, "%s must keep at least one admin", o.Name)
	}
	return nil
}

// CreateOrg creates an organisation with owner as its first admin. Any
// signed-in user may (as on the Hub) unless adminOnly; the name shares the
// namespace of users.
func (s *Service) CreateOrg(ctx context.Context, who *auth.Identity, name, fullName string) (*User, error) {
	if err := requireAccountChange(who); err != nil {
		return nil, err
	}
	o, err := CreateOrg(ctx, s.meta, name, fullName, who.User)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, who, "org.create", o.Name, o.Name, nil)
	return o, nil
}

// orgStore is what creating an organisation writes.
type orgStore interface {
	InTx(ctx context.Context, fn func(tx meta.Tx) error) error
}

// CreateOrg creates organisation name with owner as admin (shared by the
// API and the admin CLI).
func CreateOrg(ctx context.Context, st orgStore, name, fullName string, owner *User) (*User, error) {
	if !ValidNamespace(name) {
		return nil, errorf(ErrInvalid, "Invalid organization name %q: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, not a reserved word", name)
	}
	if owner.IsOrg() {
		return nil, errorf(ErrInvalid, "%s is an organization", owner.Name)
	}
	o := &meta.User{Name: name, Kind: meta.KindOrg, FullName: strings.TrimSpace(fullName)}
	err := st.InTx(ctx, func(tx meta.Tx) error {
		if err := tx.CreateUser(ctx, o); err != nil {
			return err
		}
		return tx.SetOrgMember(ctx, o.ID, owner.ID, OrgAdmin)
	})
	if errors.Is(err, meta.ErrConflict) {
		return nil, errorf(ErrConflict, "The name %s is already taken", name)
	}
	if err != nil {
		return nil, fmt.Errorf("create org %s: %w", name, err)
	}
	return o, nil
}

// OrgSettings are an organisation's changeable settings; nil = unchanged.
type OrgSettings struct {
	FullName       *string
	Details        *string
	DefaultPrivate *bool
}

// UpdateOrg changes an organisation's profile and defaults (its admins).
func (s *Service) UpdateOrg(ctx context.Context, who *auth.Identity, org string, set OrgSettings) (*User, error) {
	o, err := s.account(ctx, org, meta.KindOrg)
	if err != nil {
		return nil, err
	}
	c, err := s.orgCaller(ctx, who, o)
	if err != nil {
		return nil, err
	}
	if err := decisionError(access.DecideOrg(c, o.ID, access.OrgManage)); err != nil {
		return nil, err
	}
	if set.FullName != nil {
		o.FullName = strings.TrimSpace(*set.FullName)
	}
	if set.Details != nil {
		o.Details = strings.TrimSpace(*set.Details)
	}
	if set.DefaultPrivate != nil {
		o.DefaultPrivate = *set.DefaultPrivate
	}
	if len(o.FullName) > 200 || len(o.Details) > 2000 {
		return nil, errorf(ErrInvalid, "Name or description too long")
	}
	if err := s.meta.UpdateOrg(ctx, o); err != nil {
		return nil, err
	}
	s.audit(ctx, who, "org.update", o.Name, o.Name, map[string]any{"defaultPrivate": o.DefaultPrivate})
	return o, nil
}

// TokenEntityName returns the current name of a fine-grained scope's
// entity (renames keep the id), or the name recorded at grant time.
func (s *Service) TokenEntityName(ctx context.Context, sc meta.TokenScope) string {
	switch sc.Type {
	case meta.KindUser, meta.KindOrg:
		if u, err := s.meta.UserByID(ctx, sc.ID); err == nil {
			return u.Name
		}
	case meta.TypeModel, meta.TypeDataset:
		if r, err := s.meta.RepoByID(ctx, sc.ID); err == nil {
			return r.FullName()
		}
	}
	return sc.Name
}

// AuditLog returns audit events newest first: every event for site
// admins (namespace ""), an organisation's events for its admins.
func (s *Service) AuditLog(ctx context.Context, who *auth.Identity, namespace string, before int64, limit int) ([]meta.AuditEvent, error) {
	if who == nil {
		return nil, errorf(ErrUnauthenticated, "You must be signed in")
	}
	if namespace == "" {
		if !who.User.IsAdmin {
			return nil, errorf(ErrForbidden, "Only administrators can read the whole audit log")
		}
	} else if !who.User.IsAdmin {
		// Reading needs the admin role, not a write credential.
		o, err := s.account(ctx, namespace, meta.KindOrg)
		if err != nil {
			return nil, err
		}
		if role, err := s.roleIn(ctx, who, o); err != nil {
			return nil, err
		} else if role != OrgAdmin {
			return nil, errorf(ErrForbidden, "Only admins of %s can read its audit log", o.Name)
		}
	}
	return s.meta.ListAudit(ctx, namespace, before, limit)
}

// AuditEvent is one recorded event.
type AuditEvent = meta.AuditEvent
