package access

import (
	"fmt"
	"testing"

	"github.com/agorahub/agora/internal/meta"
)

const (
	aliceID = 1
	bobID   = 2
	orgID   = 10
	repoID  = 100
)

func tok(role string, scopes ...meta.TokenScope) *meta.Token {
	t := &meta.Token{Role: role}
	if role == meta.RoleFineGrained {
		t.Scopes = &meta.TokenScopes{Scoped: scopes}
	}
	return t
}

func userRepo(private bool, gated string) Repo {
	return Repo{ID: repoID, Type: meta.TypeModel, FullName: "alice/m", Namespace: "alice", NamespaceID: aliceID, Private: private, Gated: gated, CreatorID: aliceID}
}

func orgRepo(private bool, gated string, creator int64) Repo {
	return Repo{ID: repoID, Type: meta.TypeModel, FullName: "acme/m", Namespace: "acme", NamespaceID: orgID, OrgOwned: true, Private: private, Gated: gated, CreatorID: creator}
}

func alice(t *meta.Token) *Caller { return &Caller{UserID: aliceID, Name: "alice", Token: t} }
func bob(t *meta.Token) *Caller   { return &Caller{UserID: bobID, Name: "bob", Token: t} }
func member(role string, t *meta.Token) *Caller {
	return &Caller{UserID: bobID, Name: "bob", OrgRole: role, Token: t}
}

func TestDecide(t *testing.T) {
	write, read := tok(meta.RoleWrite), tok(meta.RoleRead)
	tests := []struct {
		name string
		c    *Caller
		r    Repo
		a    Action
		want Outcome
	}{
		// Public and private, by owner, stranger and anonymous.
		{"anon reads public", nil, userRepo(false, ""), ReadContent, Allow},
		{"anon writes public", nil, userRepo(false, ""), Write, SignIn},
		{"anon private is missing", nil, userRepo(true, ""), ReadMeta, Hidden},
		{"anon private write is missing", nil, userRepo(true, ""), Write, Hidden},
		{"stranger private is missing", bob(write), userRepo(true, ""), ReadContent, Hidden},
		{"stranger writes public", bob(write), userRepo(false, ""), Write, Forbidden},
		{"stranger manages public", bob(write), userRepo(false, ""), Manage, Forbidden},
		{"owner writes", alice(write), userRepo(true, ""), Write, Allow},
		{"owner manages", alice(write), userRepo(true, ""), Manage, Allow},
		{"owner read token reads", alice(read), userRepo(true, ""), ReadContent, Allow},
		{"owner read token writes", alice(read), userRepo(true, ""), Write, Forbidden},
		{"owner read token manages", alice(read), userRepo(false, ""), Manage, Forbidden},
		{"owner session manages", alice(nil), userRepo(true, ""), Manage, Allow},
		{"site admin", &Caller{UserID: 99, Name: "root", Admin: true, Token: write}, userRepo(true, "manual"), ReadContent, Allow},
		{"site admin read token writes", &Caller{UserID: 99, Name: "root", Admin: true, Token: read}, userRepo(true, ""), Write, Forbidden},
		// Gating: metadata stays public, content needs an accepted request.
		{"anon gated meta", nil, userRepo(false, "manual"), ReadMeta, Allow},
		{"anon gated content", nil, userRepo(false, "auto"), ReadContent, GatedSignIn},
		{"stranger gated no request", bob(write), userRepo(false, "auto"), ReadContent, Gated},
		{"stranger gated pending", &Caller{UserID: bobID, Name: "bob", Request: meta.AccessPending}, userRepo(false, "manual"), ReadContent, Gated},
		{"stranger gated rejected", &Caller{UserID: bobID, Name: "bob", Request: meta.AccessRejected}, userRepo(false, "manual"), ReadContent, Gated},
		{"stranger gated accepted", &Caller{UserID: bobID, Name: "bob", Request: meta.AccessAccepted, Token: read}, userRepo(false, "manual"), ReadContent, Allow},
		{"owner gated", alice(read), userRepo(false, "manual"), ReadContent, Allow},
		{"stranger lists requests", bob(write), userRepo(false, "manual"), ReadRequests, Forbidden},
		{"owner lists requests", alice(write), userRepo(false, "manual"), ReadRequests, Allow},
		// Organisation roles.
		{"org non-member private", bob(write), orgRepo(true, "", aliceID), ReadMeta, Hidden},
		{"org no_access private", member(meta.OrgNoAccess, write), orgRepo(true, "", aliceID), ReadMeta, Hidden},
		{"org read private", member(meta.OrgRead, write), orgRepo(true, "", aliceID), ReadContent, Allow},
		{"org read writes", member(meta.OrgRead, write), orgRepo(true, "", aliceID), Write, Forbidden},
		{"org contributor other's repo", member(meta.OrgContributor, write), orgRepo(true, "", aliceID), Write, Forbidden},
		{"org contributor own repo", member(meta.OrgContributor, write), orgRepo(true, "", bobID), Write, Allow},
		{"org contributor own repo manage", member(meta.OrgContributor, write), orgRepo(true, "", bobID), Manage, Allow},
		{"org write any repo", member(meta.OrgWrite, write), orgRepo(true, "", aliceID), Manage, Allow},
		{"org admin", member(meta.OrgAdmin, write), orgRepo(true, "", aliceID), Manage, Allow},
		{"org member bypasses gate", member(meta.OrgRead, read), orgRepo(false, "manual", aliceID), ReadContent, Allow},
		{"org admin read token", member(meta.OrgAdmin, read), orgRepo(false, "", aliceID), Write, Forbidden},
		// Fine-grained tokens.
		{"fg repo read scope reads", alice(tok(meta.RoleFineGrained, meta.TokenScope{Type: "model", ID: repoID, Permissions: []string{PermContentRead}})), userRepo(true, ""), ReadContent, Allow},
		{"fg repo read scope writes", alice(tok(meta.RoleFineGrained, meta.TokenScope{Type: "model", ID: repoID, Permissions: []string{PermContentRead}})), userRepo(true, ""), Write, Forbidden},
		{"fg other repo private", alice(tok(meta.RoleFineGrained, meta.TokenScope{Type: "model", ID: 5, Permissions: []string{PermWrite}})), userRepo(true, ""), ReadMeta, Forbidden},
		{"fg dataset scope does not cover model", alice(tok(meta.RoleFineGrained, meta.TokenScope{Type: "dataset", ID: repoID, Permissions: []string{PermWrite}})), userRepo(true, ""), ReadMeta, Forbidden},
		{"fg no scope public read", alice(tok(meta.RoleFineGrained)), userRepo(false, ""), ReadContent, Allow},
		{"fg no scope public write", alice(tok(meta.RoleFineGrained)), userRepo(false, ""), Write, Forbidden},
		{"fg user scope writes", alice(tok(meta.RoleFineGrained, meta.TokenScope{Type: "user", ID: aliceID, Permissions: []string{PermWrite}})), userRepo(true, ""), Write, Allow},
		{"fg org scope writes org repo", member(meta.OrgWrite, tok(meta.RoleFineGrained, meta.TokenScope{Type: "org", ID: orgID, Permissions: []string{PermWrite}})), orgRepo(true, "", aliceID), Write, Allow},
		{"fg org scope cannot exceed role", member(meta.OrgRead, tok(meta.RoleFineGrained, meta.TokenScope{Type: "org", ID: orgID, Permissions: []string{PermWrite}})), orgRepo(true, "", aliceID), Write, Forbidden},
		{"fg scope on a private repo of a stranger", bob(tok(meta.RoleFineGrained, meta.TokenScope{Type: "model", ID: repoID, Permissions: []string{PermWrite}})), userRepo(true, ""), ReadMeta, Hidden},
		{"fg gated without switch", &Caller{UserID: bobID, Name: "bob", Request: meta.AccessAccepted, Token: tok(meta.RoleFineGrained)}, userRepo(false, "manual"), ReadContent, Forbidden},
		{"fg gated with switch", &Caller{UserID: bobID, Name: "bob", Request: meta.AccessAccepted, Token: &meta.Token{Role: meta.RoleFineGrained, Scopes: &meta.TokenScopes{CanReadGatedRepos: true}}}, userRepo(false, "manual"), ReadContent, Allow},
		{"fg gated with switch but no request", &Caller{UserID: bobID, Name: "bob", Token: &meta.Token{Role: meta.RoleFineGrained, Scopes: &meta.TokenScopes{CanReadGatedRepos: true}}}, userRepo(false, "manual"), ReadContent, Gated},
		{"fg access read lists requests", alice(tok(meta.RoleFineGrained, meta.TokenScope{Type: "model", ID: repoID, Permissions: []string{PermAccessRead}})), userRepo(false, "manual"), ReadRequests, Allow},
		{"unknown token role", alice(&meta.Token{Role: "god"}), userRepo(false, ""), ReadMeta, Forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.c, tc.r, tc.a)
			if d.Outcome != tc.want {
				t.Fatalf("Decide = %v %q, want %v", d.Outcome, d.Message, tc.want)
			}
			if d.Outcome != Allow && d.Message == "" {
				t.Fatal("a refusal without a message")
			}
		})
	}
}

// TestNeverMoreThanUser checks, over every combination, that a token
// never grants more than its user holds without it, and that a private
// repository is never shown to someone with no right on it.
func TestNeverMoreThanUser(t *testing.T) {
	tokens := []*meta.Token{nil, tok(meta.RoleRead), tok(meta.RoleWrite),
		tok(meta.RoleFineGrained), tok(meta.RoleFineGrained, meta.TokenScope{Type: "user", ID: aliceID, Permissions: []string{PermWrite}}),
		tok(meta.RoleFineGrained, meta.TokenScope{Type: "org", ID: orgID, Permissions: []string{PermWrite}}),
		tok(meta.RoleFineGrained, meta.TokenScope{Type: "model", ID: repoID, Permissions: []string{PermWrite}})}
	roles := []string{"", meta.OrgNoAccess, meta.OrgRead, meta.OrgContributor, meta.OrgWrite, meta.OrgAdmin}
	requests := []string{"", meta.AccessPending, meta.AccessAccepted, meta.AccessRejected}
	cells := 0
	for _, org := range []bool{false, true} {
		for _, private := range []bool{false, true} {
			for _, gated := range []string{"", "auto", "manual"} {
				for _, creator := range []int64{aliceID, bobID} {
					r := userRepo(private, gated)
					if org {
						r = orgRepo(private, gated, creator)
					}
					for _, name := range []string{"alice", "bob"} {
						for _, role := range roles {
							for _, req := range requests {
								session := &Caller{UserID: map[string]int64{"alice": aliceID, "bob": bobID}[name], Name: name, OrgRole: role, Request: req}
								for _, tk := range tokens {
									c := *session
									c.Token = tk
									for a := ReadMeta; a <= ReadRequests; a++ {
										cells++
										got, base := Decide(&c, r, a), Decide(session, r, a)
										if got.Allowed() && !base.Allowed() {
											t.Fatalf("token %v grants %v on %+v to %+v that the session lacks", tk, a, r, c)
										}
										if base.Outcome == Hidden && got.Outcome != Hidden {
											t.Fatalf("hidden repo answered %v to %+v", got.Outcome, c)
										}
									}
								}
							}
						}
					}
					// Anonymous never writes, and never sees private repositories.
					for a := ReadMeta; a <= ReadRequests; a++ {
						cells++
						d := Decide(nil, r, a)
						if a >= Write && d.Allowed() || private && d.Outcome != Hidden {
							t.Fatalf("anonymous %v on %+v: %v", a, r, d.Outcome)
						}
					}
				}
			}
		}
	}
	t.Logf("%d cells", cells)
}

func TestCanCreateIn(t *testing.T) {
	tests := []struct {
		c       *Caller
		ns      string
		org     bool
		nsID    int64
		allowed bool
		out     Outcome
	}{
		{nil, "alice", false, aliceID, false, SignIn},
		{alice(tok(meta.RoleWrite)), "alice", false, aliceID, true, Allow},
		{alice(tok(meta.RoleRead)), "alice", false, aliceID, false, Forbidden},
		{alice(tok(meta.RoleWrite)), "bob", false, bobID, false, Forbidden},
		{member(meta.OrgContributor, tok(meta.RoleWrite)), "acme", true, orgID, true, Allow},
		{member(meta.OrgRead, tok(meta.RoleWrite)), "acme", true, orgID, false, Forbidden},
		{member(meta.OrgWrite, tok(meta.RoleFineGrained)), "acme", true, orgID, false, SignIn},
		{member(meta.OrgWrite, tok(meta.RoleFineGrained, meta.TokenScope{Type: "org", ID: orgID, Permissions: []string{PermWrite}})), "acme", true, orgID, true, Allow},
		{&Caller{UserID: 99, Name: "root", Admin: true}, "", false, 0, true, Allow},
	}
	for i, tc := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			d := CanCreateIn(tc.c, tc.ns, tc.nsID, tc.org)
			if d.Allowed() != tc.allowed || d.Outcome != tc.out {
				t.Fatalf("got %v %q", d.Outcome, d.Message)
			}
		})
	}
}

func TestAccountAndOrgActions(t *testing.T) {
	if AccountAction(alice(tok(meta.RoleRead))).Allowed() || AccountAction(alice(tok(meta.RoleFineGrained))).Allowed() || AccountAction(nil).Allowed() {
		t.Fatal("read, fine-grained or anonymous callers changed an account")
	}
	if !AccountAction(alice(nil)).Allowed() || !AccountAction(alice(tok(meta.RoleWrite))).Allowed() {
		t.Fatal("session or write token refused")
	}
	if DecideOrg(member(meta.OrgWrite, tok(meta.RoleWrite)), orgID, OrgManage).Allowed() {
		t.Fatal("org write member managed the org")
	}
	if !DecideOrg(member(meta.OrgAdmin, tok(meta.RoleWrite)), orgID, OrgManage).Allowed() {
		t.Fatal("org admin refused")
	}
	if DecideOrg(member(meta.OrgAdmin, tok(meta.RoleRead)), orgID, OrgManage).Allowed() {
		t.Fatal("read token managed the org")
	}
	fg := tok(meta.RoleFineGrained, meta.TokenScope{Type: "org", ID: orgID, Permissions: []string{PermOrgWrite}})
	if !DecideOrg(member(meta.OrgAdmin, fg), orgID, OrgManage).Allowed() {
		t.Fatal("org.write token refused")
	}
}
