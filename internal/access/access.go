// Package access makes the one authorisation decision every route asks
// for: given who is calling (user, site admin, organisation role, token
// kind and scopes, gated-access state), the repository's state
// (namespace, visibility, gating, creator) and the action, it answers
// allow, or how to refuse — 404 as if missing, 401, 403, or the gated
// answers the Hub's clients turn into GatedRepoError.
//
// It is a pure function over plain values: callers load what it needs
// (the hub service reads memberships and access requests from the store),
// so the rules can be tested exhaustively and every route family gets the
// same answer for the same inputs. It must not do I/O.
package access

import (
	"strings"

	"github.com/agorahub/agora/internal/meta"
)

// Action is what a request does to a repository.
type Action int

// Actions, from the weakest.
const (
	// ReadMeta reads what a repository page shows: info, card, file list,
	// refs, commits. Public gated repositories keep this public.
	ReadMeta Action = iota
	// ReadContent reads file bytes: resolve, raw, LFS downloads, git
	// fetch, Xet read tokens. Gating applies here.
	ReadContent
	// Write changes content: commits, uploads, branches, tags.
	Write
	// Manage changes the repository itself: settings, visibility, gating,
	// deletion, moves, and reviews of access requests.
	Manage
	// ReadRequests lists the access requests of a gated repository.
	ReadRequests
)

func (a Action) String() string {
	switch a {
	case ReadMeta:
		return "read"
	case ReadContent:
		return "read content"
	case Write:
		return "write"
	case Manage:
		return "manage"
	case ReadRequests:
		return "read access requests"
	}
	return "unknown"
}

// Repo is what the decision needs to know about a repository.
type Repo struct {
	ID          int64
	Type        string // meta.TypeModel or meta.TypeDataset
	FullName    string
	Namespace   string
	NamespaceID int64 // the owning user's or organisation's account id (0 if unknown)
	OrgOwned    bool  // the namespace is an organisation
	Private     bool
	Gated       string // "", "auto" or "manual"
	CreatorID   int64
}

// Caller is who asks. A nil *Caller is anonymous.
type Caller struct {
	UserID int64
	Name   string
	Admin  bool // site administrator
	// Token is the credential used; nil for a web session, which carries
	// the user's full rights.
	Token *meta.Token
	// OrgRole is the caller's role in the repository's organisation ("" if
	// not a member, or if the namespace is a user).
	OrgRole string
	// Request is the state of the caller's access request for a gated
	// repository ("" if none).
	Request string
}

// Outcome is how a decision ends.
type Outcome int

// Outcomes.
const (
	Allow Outcome = iota
	// Hidden: answer exactly as for a repository that does not exist.
	Hidden
	// SignIn: 401, the caller must authenticate.
	SignIn
	// Forbidden: 403 with Message.
	Forbidden
	// GatedSignIn: 401 with X-Error-Code GatedRepo (anonymous caller).
	GatedSignIn
	// Gated: 403 with X-Error-Code GatedRepo.
	Gated
)

// Decision is the answer, with the message the Hub gives for it.
type Decision struct {
	Outcome Outcome
	Message string
}

// Allowed reports whether the action may proceed.
func (d Decision) Allowed() bool { return d.Outcome == Allow }

// level is a caller's own right on a repository, before any token limit.
type level int

const (
	none level = iota
	read
	write
	manage
)

// userLevel is the right the caller holds as a person: ownership, site
// admin, organisation role. member reports whether that right comes from
// ownership or membership (which bypasses gating) rather than from the
// repository being public.
func userLevel(c *Caller, r Repo) (lv level, member bool) {
	if c == nil {
		if !r.Private {
			return read, false
		}
		return none, false
	}
	switch {
	case c.Admin:
		return manage, true
	case !r.OrgOwned && strings.EqualFold(c.Name, r.Namespace):
		return manage, true
	case r.OrgOwned:
		switch c.OrgRole {
		case meta.OrgAdmin, meta.OrgWrite:
			return manage, true
		case meta.OrgContributor:
			if r.CreatorID != 0 && r.CreatorID == c.UserID {
				return manage, true
			}
			return read, true
		case meta.OrgRead:
			return read, true
		}
	}
	if !r.Private {
		return read, false
	}
	return none, false
}

// needed is the level an action needs.
func needed(a Action) level {
	switch a {
	case ReadMeta, ReadContent:
		return read
	case Write:
		return write
	case ReadRequests:
		return write
	}
	return manage
}

// Hub messages that scripts and users recognise.
const (
	msgTokenLacks = "You have read access but not the required permissions for this operation"
	// msgReadToken keeps the Hub's sentence and says why, for git users
	// who see it after "remote:".
	msgReadToken      = msgTokenLacks + " (the token is read-only)"
	msgSignInToWrite  = "You must be authenticated to access this resource"
	msgEnableGatedFGT = "Please enable access to public gated repositories in your fine-grained token settings to view this repository."
)

// Decide answers whether caller c may do a to repository r.
func Decide(c *Caller, r Repo, a Action) Decision {
	lv, member := userLevel(c, r)
	if lv == none {
		// Private and not the caller's: indistinguishable from missing.
		return Decision{Outcome: Hidden, Message: "Repository not found"}
	}
	if c == nil {
		if a == ReadContent && r.Gated != "" {
			return Decision{Outcome: GatedSignIn, Message: "Access to " + r.Type + " " + r.FullName +
				" is restricted. You must have access to it and be authenticated to access it. Please log in."}
		}
		if needed(a) > read {
			return Decision{Outcome: SignIn, Message: msgSignInToWrite}
		}
		return Decision{Outcome: Allow}
	}
	if need := needed(a); lv < need {
		if a == ReadRequests || a == Manage || a == Write {
			return Decision{Outcome: Forbidden, Message: "You don't have the rights to " + a.String() + " " + r.FullName}
		}
	}
	if d := tokenAllows(c, r, a, member); !d.Allowed() {
		return d
	}
	if a == ReadContent && r.Gated != "" && !member && c.Request != meta.AccessAccepted {
		return gatedAnswer(c, r)
	}
	return Decision{Outcome: Allow}
}

// gatedAnswer is the Hub's 403 for each state of the caller's request.
func gatedAnswer(c *Caller, r Repo) Decision {
	what := r.Type + " " + r.FullName
	switch c.Request {
	case meta.AccessPending:
		return Decision{Outcome: Gated, Message: "Your request to access " + what + " is awaiting a review from the repo authors."}
	case meta.AccessRejected:
		return Decision{Outcome: Gated, Message: "Your request to access " + what + " has been rejected by the repo's authors."}
	}
	return Decision{Outcome: Gated, Message: "Access to " + what + " is restricted and you are not in the authorized list. Visit the repository's page to ask for access."}
}

// tokenAllows applies the credential's limits: a classic read token never
// changes anything; a fine-grained token acts only where a scope grants
// the permission, except that public content stays readable (as it is to
// anyone).
func tokenAllows(c *Caller, r Repo, a Action, member bool) Decision {
	t := c.Token
	if t == nil {
		return Decision{Outcome: Allow}
	}
	switch t.Role {
	case meta.RoleWrite:
		return Decision{Outcome: Allow}
	case meta.RoleRead:
		if needed(a) > read {
			return Decision{Outcome: Forbidden, Message: msgReadToken}
		}
		return Decision{Outcome: Allow}
	case meta.RoleFineGrained:
	default:
		return Decision{Outcome: Forbidden, Message: msgTokenLacks}
	}
	var perm string
	switch a {
	case ReadMeta, ReadContent:
		perm = PermContentRead
	case ReadRequests:
		perm = PermAccessRead
	default:
		perm = PermWrite
	}
	if ScopeGrants(t.Scopes, r, perm) {
		return Decision{Outcome: Allow}
	}
	if needed(a) == read && !r.Private {
		// Public repositories are readable without any permission; their
		// gated content needs the token's gated-repos switch unless the
		// scopes already cover the repository.
		if a == ReadContent && r.Gated != "" && !member && (t.Scopes == nil || !t.Scopes.CanReadGatedRepos) {
			return Decision{Outcome: Forbidden, Message: msgEnableGatedFGT}
		}
		return Decision{Outcome: Allow}
	}
	return Decision{Outcome: Forbidden, Message: msgTokenLacks}
}

// Fine-grained permission names, as the Hub spells them.
const (
	PermContentRead = "repo.content.read"
	PermAccessRead  = "repo.access.read"
	PermWrite       = "repo.write"
	PermOrgRead     = "org.read"
	PermOrgWrite    = "org.write"
)

// KnownPermissions are the permission names a token may be given.
var KnownPermissions = map[string]bool{
	PermContentRead: true, PermAccessRead: true, PermWrite: true, PermOrgRead: true, PermOrgWrite: true,
	"discussion.write": true, "collection.read": true, "collection.write": true,
	"user.webhooks.read": true, "user.webhooks.write": true, "inference.serverless.write": true,
}

// ScopeGrants reports whether scopes grant perm on repository r: a scope
// on the repository itself, or on the user or organisation that owns it.
// repo.write implies the read permissions.
func ScopeGrants(scopes *meta.TokenScopes, r Repo, perm string) bool {
	if scopes == nil {
		return false
	}
	for _, s := range scopes.Scoped {
		covers := false
		switch s.Type {
		case meta.TypeModel, meta.TypeDataset:
			covers = s.Type == r.Type && s.ID == r.ID && r.ID != 0
		case meta.KindUser, meta.KindOrg:
			covers = s.ID == r.NamespaceID && r.NamespaceID != 0
		}
		if covers && hasPerm(s.Permissions, perm) {
			return true
		}
	}
	return false
}

// NamespaceGrants reports whether scopes grant perm on a user's or an
// organisation's namespace as a whole (creating repositories there needs
// repo.write on it; managing an organisation needs org.write).
func NamespaceGrants(scopes *meta.TokenScopes, accountID int64, perm string) bool {
	if scopes == nil {
		return false
	}
	for _, s := range scopes.Scoped {
		if (s.Type == meta.KindUser || s.Type == meta.KindOrg) && s.ID == accountID && hasPerm(s.Permissions, perm) {
			return true
		}
	}
	return false
}

func hasPerm(perms []string, want string) bool {
	for _, p := range perms {
		if p == want {
			return true
		}
		if p == PermWrite && (want == PermContentRead || want == PermAccessRead) {
			return true
		}
		if p == PermOrgWrite && want == PermOrgRead {
			return true
		}
	}
	return false
}

// CanCreateIn reports whether c may create a repository in a namespace:
// its own, as an admin, or an organisation where its role is contributor
// or more; tokens must be write tokens or carry repo.write on the
// namespace.
func CanCreateIn(c *Caller, namespace string, namespaceID int64, orgOwned bool) Decision {
	if c == nil {
		return Decision{Outcome: SignIn, Message: "You must be authenticated to create a repository"}
	}
	ok := c.Admin || !orgOwned && strings.EqualFold(c.Name, namespace)
	if orgOwned {
		switch c.OrgRole {
		case meta.OrgAdmin, meta.OrgWrite, meta.OrgContributor:
			ok = true
		}
	}
	if !ok {
		return Decision{Outcome: Forbidden, Message: "You don't have the rights to create a repository under the namespace \"" + namespace + "\""}
	}
	if t := c.Token; t != nil {
		switch t.Role {
		case meta.RoleWrite:
		case meta.RoleFineGrained:
			if !NamespaceGrants(t.Scopes, namespaceID, PermWrite) {
				// The Hub answers 401 to a token without the create scope
				// (huggingface_hub create_repo's exist_ok fallback relies on it).
				return Decision{Outcome: SignIn, Message: "Your token does not allow creating repositories in " + namespace}
			}
		default:
			return Decision{Outcome: Forbidden, Message: msgTokenLacks}
		}
	}
	return Decision{Outcome: Allow}
}

// OrgAction is what a request does to an organisation.
type OrgAction int

// Organisation actions.
const (
	OrgReadMembers OrgAction = iota // list members (members may; the Hub lists them publicly too)
	OrgManage                       // change roles, members, profile
)

// DecideOrg answers whether c may act on an organisation where its role is
// c.OrgRole.
func DecideOrg(c *Caller, orgID int64, a OrgAction) Decision {
	if a == OrgReadMembers {
		return Decision{Outcome: Allow}
	}
	if c == nil {
		return Decision{Outcome: SignIn, Message: msgSignInToWrite}
	}
	if !c.Admin && c.OrgRole != meta.OrgAdmin {
		return Decision{Outcome: Forbidden, Message: "You must be an admin of this organization to do this"}
	}
	if t := c.Token; t != nil {
		switch t.Role {
		case meta.RoleWrite:
		case meta.RoleFineGrained:
			if !NamespaceGrants(t.Scopes, orgID, PermOrgWrite) {
				return Decision{Outcome: Forbidden, Message: msgTokenLacks}
			}
		default:
			return Decision{Outcome: Forbidden, Message: msgTokenLacks}
		}
	}
	return Decision{Outcome: Allow}
}

// AccountAction is a change to the caller's own account: tokens, signing
// keys, settings. Only a web session or a write token may do it; a
// fine-grained token never (it is scoped to resources, not to the
// account).
func AccountAction(c *Caller) Decision {
	if c == nil {
		return Decision{Outcome: SignIn, Message: msgSignInToWrite}
	}
	if c.Token != nil && c.Token.Role != meta.RoleWrite {
		if c.Token.Role == meta.RoleRead {
			return Decision{Outcome: Forbidden, Message: msgReadToken}
		}
		return Decision{Outcome: Forbidden, Message: msgTokenLacks}
	}
	return Decision{Outcome: Allow}
}
