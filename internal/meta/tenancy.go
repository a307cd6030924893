package meta

import (
	"context"
	"time"
)

// Organisation roles, weakest first (the Hub's five).
const (
	OrgNoAccess    = "no_access"
	OrgRead        = "read"
	OrgContributor = "contributor"
	OrgWrite       = "write"
	OrgAdmin       = "admin"
)

// Member is a user's membership of an organisation.
type Member struct {
	User      User
	Org       User
	Role      string // one of the Org* roles
	CreatedAt time.Time
}

// Orgs stores organisation memberships. Organisations themselves are
// [User] rows of Kind [KindOrg], made with CreateUser.
type Orgs interface {
	// SetOrgMember adds userID to orgID with role, or changes the role.
	SetOrgMember(ctx context.Context, orgID, userID int64, role string) error
	// RemoveOrgMember removes a membership. ErrNotFound if absent.
	RemoveOrgMember(ctx context.Context, orgID, userID int64) error
	// OrgRole returns userID's role in orgID. ErrNotFound if not a member.
	OrgRole(ctx context.Context, orgID, userID int64) (string, error)
	// OrgMembers lists an organisation's members by lower-case name,
	// after the name after ("" = from the start).
	OrgMembers(ctx context.Context, orgID int64, after string, limit int) ([]Member, error)
	// CountOrgMembers counts an organisation's members.
	CountOrgMembers(ctx context.Context, orgID int64) (int64, error)
	// UserOrgs lists the organisations a user belongs to, by name.
	UserOrgs(ctx context.Context, userID int64) ([]Member, error)
	// UpdateOrg saves an organisation's FullName, Details and
	// DefaultPrivate. ErrNotFound if absent.
	UpdateOrg(ctx context.Context, org *User) error
}

// Access request states (the Hub's).
const (
	AccessPending  = "pending"
	AccessAccepted = "accepted"
	AccessRejected = "rejected"
)

// AccessRequest is a user's request for a gated repository.
type AccessRequest struct {
	RepoID     int64
	User       User // the requester (UserByID fields)
	Status     string
	Fields     map[string]string // the gating form's answers, by label
	CreatedAt  time.Time
	ReviewedAt time.Time // zero until reviewed
	ReviewedBy int64     // 0 until reviewed
	Reason     string    // rejection reason
}

// AccessRequests stores requests for gated repositories.
type AccessRequests interface {
	// PutAccessRequest creates or replaces the request of r.User.ID for
	// r.RepoID.
	PutAccessRequest(ctx context.Context, r *AccessRequest) error
	// DeleteAccessRequest forgets a user's request. ErrNotFound if none.
	DeleteAccessRequest(ctx context.Context, repoID, userID int64) error
	// GetAccessRequest returns a user's request. ErrNotFound if none.
	GetAccessRequest(ctx context.Context, repoID, userID int64) (*AccessRequest, error)
	// ListAccessRequests lists a repository's requests in a status, oldest
	// first, after the position (created, user id) of the previous page.
	ListAccessRequests(ctx context.Context, repoID int64, status string, after AccessCursor, limit int) ([]AccessRequest, error)
}

// AccessCursor is a position in ListAccessRequests' order.
type AccessCursor struct {
	CreatedAt time.Time
	UserID    int64
}

// AuditEvent is one security-relevant event.
type AuditEvent struct {
	ID      int64
	At      time.Time
	ActorID int64
	Actor   string // the actor's name at the time ("" for the system)
	Action  string // e.g. "token.create", "org.member.role", "repo.delete"
	// Namespace is the user or organisation the event concerns, so that
	// an organisation's admins can read their part of the log.
	Namespace string
	Target    string // what was acted on (a repository id, a user, a token name)
	Detail    string // a short JSON object of further facts
	IP        string
}

// Audit stores the audit log.
type Audit interface {
	// AddAudit appends e and sets e.ID.
	AddAudit(ctx context.Context, e *AuditEvent) error
	// ListAudit returns events newest first, before id before (0 = from
	// the newest), of namespace (lower-case; "" = every namespace).
	ListAudit(ctx context.Context, namespace string, before int64, limit int) ([]AuditEvent, error)
}

// ExternalIdentities maps single-sign-on identities to accounts.
type ExternalIdentities interface {
	// LinkExternalIdentity records that (issuer, subject) signs in as
	// userID. ErrConflict if the identity is linked already.
	LinkExternalIdentity(ctx context.Context, issuer, subject string, userID int64) error
	// UserByExternalIdentity returns the linked account. ErrNotFound if
	// none.
	UserByExternalIdentity(ctx context.Context, issuer, subject string) (*User, error)
}
