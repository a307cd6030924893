package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/agorahub/agora/internal/sso"
)

// oidcFlags configure single sign-on through an OpenID Connect provider.
type oidcFlags struct {
	issuer, clientID, clientSecret *string
	orgClaim, adminGroup, scopes   *string
}

func addOIDCFlags(f *flags) oidcFlags {
	return oidcFlags{
		issuer:       f.string("oidc-issuer", "", "single sign-on: issuer URL of an OpenID Connect provider, exactly as its discovery document states it (default: off)"),
		clientID:     f.string("oidc-client-id", "", "single sign-on: this hub's client id at the provider"),
		clientSecret: f.string("oidc-client-secret", "", "single sign-on: the client secret (prefer the environment variable: flags show in ps)"),
		orgClaim:     f.string("oidc-org-claim", "", "single sign-on: claim listing organisation memberships as ORG or ORG:ROLE (e.g. groups; default: memberships are not mapped)"),
		adminGroup:   f.string("oidc-admin-group", "", "single sign-on: members of this group (in --oidc-org-claim, else the groups claim) are site admins, others are not"),
		scopes:       f.string("oidc-scopes", "profile email", "single sign-on: scopes requested besides openid, space-separated (add groups for Dex or Keycloak)"),
	}
}

// client returns the configured relying party, or nil when single
// sign-on is off.
func (o oidcFlags) client() (*sso.Client, error) {
	if *o.issuer == "" {
		if *o.clientID != "" || *o.clientSecret != "" || *o.orgClaim != "" || *o.adminGroup != "" {
			return nil, errors.New("the --oidc-* flags need --oidc-issuer")
		}
		return nil, nil
	}
	if *o.clientID == "" {
		return nil, errors.New("--oidc-issuer needs --oidc-client-id")
	}
	c, err := sso.New(sso.Config{
		Issuer: *o.issuer, ClientID: *o.clientID, ClientSecret: *o.clientSecret,
		Scopes:      strings.FieldsFunc(*o.scopes, func(r rune) bool { return r == ' ' || r == ',' }),
		GroupsClaim: *o.orgClaim, AdminGroup: *o.adminGroup,
	})
	if err != nil {
		return nil, fmt.Errorf("--oidc-issuer: %w", err)
	}
	return c, nil
}
