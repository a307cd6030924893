// Package sso signs users in through an OpenID Connect provider: the
// authorization-code flow with state, nonce and PKCE (S256), the ID token
// verified with the provider's published keys, and the claims Agora needs
// read from the ID token and the userinfo endpoint.
//
// It knows nothing of accounts or HTTP routing: the web handler keeps the
// flow's secrets in a cookie between Begin and Finish, and hands the
// verified Claims to the hub, which creates or finds the account.
//
// The provider's discovery document is fetched on the first sign-in, not
// at start-up, and again after a failure: the hub starts and serves
// everything else while the identity provider is down.
package sso

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures the relying party.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document states it.
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes requested besides "openid" (default: profile, email).
	Scopes []string
	// GroupsClaim names the claim read into Claims.Groups ("" = none).
	GroupsClaim string
	// AdminGroup, when set, is the group whose members are site
	// administrators (looked up in GroupsClaim, or "groups" when that is
	// empty); Claims.Admin is then set for every sign-in.
	AdminGroup string
	// HTTPClient talks to the provider (default: a client with a 30 s
	// timeout).
	HTTPClient *http.Client
}

// Claims are what the provider asserts about the user who signed in.
type Claims struct {
	Issuer  string
	Subject string
	// Username is preferred_username, else the email's local part,
	// else "" (the hub sanitises and de-duplicates it).
	Username      string
	Email         string
	EmailVerified bool
	Name          string
	// Groups are the entries of the configured groups claim; nil when no
	// claim is configured or the provider did not send it (so that
	// memberships are left alone rather than cleared).
	Groups []string
	// Admin says whether the user is in the admin group; nil when no
	// admin group is configured.
	Admin *bool
}

// Client is a configured relying party. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	failedAt time.Time
	lastErr  error
}

// ErrUnavailable wraps failures to reach the provider.
var ErrUnavailable = errors.New("sso: identity provider unavailable")

// ErrRejected wraps answers that do not check out: a wrong state or
// nonce, an invalid ID token, a code the provider refuses.
var ErrRejected = errors.New("sso: sign-in rejected")

// New checks cfg and returns a client. It does not contact the provider.
func New(cfg Config) (*Client, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("sso: an issuer URL and a client id are required")
	}
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		return nil, fmt.Errorf("sso: issuer %q is not an http(s) URL", cfg.Issuer)
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	return c, nil
}

// Issuer returns the configured issuer URL, the namespace of subjects.
func (c *Client) Issuer() string { return c.cfg.Issuer }

// retryAfter spaces discovery attempts after a failure, so that a dead
// provider is not asked on every click.
const retryAfter = 5 * time.Second

// discover returns the provider, fetching its discovery document once.
func (c *Client) discover(ctx context.Context) (*oidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	if c.lastErr != nil && time.Since(c.failedAt) < retryAfter {
		return nil, c.lastErr
	}
	// The provider keeps this context's HTTP client (not its deadline)
	// for the key fetches of later verifications.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.http), c.cfg.Issuer)
	if err != nil {
		c.failedAt, c.lastErr = time.Now(), fmt.Errorf("%w: discovery of %s: %v", ErrUnavailable, c.cfg.Issuer, err)
		return nil, c.lastErr
	}
	c.provider, c.lastErr = p, nil
	return p, nil
}

func (c *Client) oauth(p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: redirectURL,
		Scopes: append([]string{oidc.ScopeOpenID}, c.cfg.Scopes...),
	}
}

// Flow holds the secrets of one sign-in between Begin and Finish. They
// stay with the browser (in a cookie only this site reads) and bind the
// provider's answer to the browser that started the sign-in.
type Flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"` // the PKCE code verifier
}

func random() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Begin starts a sign-in: it returns the provider's authorization URL to
// send the browser to, and the flow's secrets to keep.
func (c *Client) Begin(ctx context.Context, redirectURL string) (string, Flow, error) {
	p, err := c.discover(ctx)
	if err != nil {
		return "", Flow{}, err
	}
	f := Flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier()}
	u := c.oauth(p, redirectURL).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return u, f, nil
}

// Finish completes a sign-in from the provider's answer (the callback's
// state and code) and the flow Begin returned: it exchanges the code,
// verifies the ID token and its nonce, and reads the claims.
func (c *Client) Finish(ctx context.Context, redirectURL, state, code string, f Flow) (*Claims, error) {
	if f.State == "" || state != f.State {
		return nil, fmt.Errorf("%w: the sign-in state does not match", ErrRejected)
	}
	if code == "" {
		return nil, fmt.Errorf("%w: no authorization code", ErrRejected)
	}
	p, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	hctx := context.WithValue(oidc.ClientContext(ctx, c.http), oauth2.HTTPClient, c.http)
	tok, err := c.oauth(p, redirectURL).Exchange(hctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		if _, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			return nil, fmt.Errorf("%w: code exchange: %v", ErrRejected, err)
		}
		return nil, fmt.Errorf("%w: code exchange: %v", ErrUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: no ID token in the token response", ErrRejected)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: c.cfg.ClientID}).Verify(hctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: ID token: %v", ErrRejected, err)
	}
	if idt.Nonce != f.Nonce {
		return nil, fmt.Errorf("%w: the ID token's nonce does not match", ErrRejected)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: access token hash: %v", ErrRejected, err)
		}
	}
	all := map[string]json.RawMessage{}
	if err := idt.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: ID token claims: %v", ErrRejected, err)
	}
	// Many providers put profile claims and groups only in the userinfo
	// answer when an access token is issued (OIDC Core §5.4); its own
	// claims fill what the ID token lacks, never overriding it.
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(hctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo: %v", ErrUnavailable, err)
		}
		if ui.Subject != idt.Subject {
			return nil, fmt.Errorf("%w: userinfo is about another subject", ErrRejected)
		}
		extra := map[string]json.RawMessage{}
		if err := ui.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := all[k]; !ok {
					all[k] = v
				}
			}
		}
	}
	return c.claims(idt.Issuer, idt.Subject, all), nil
}

// claims reads the claims Agora uses from the merged claim set.
func (c *Client) claims(issuer, subject string, all map[string]json.RawMessage) *Claims {
	str := func(k string) string {
		var s string
		json.Unmarshal(all[k], &s)
		return strings.TrimSpace(s)
	}
	cl := &Claims{Issuer: issuer, Subject: subject, Username: str("preferred_username"), Email: str("email"), Name: str("name")}
	var verified any
	json.Unmarshal(all["email_verified"], &verified)
	cl.EmailVerified = verified == true || verified == "true"
	if cl.Username == "" {
		cl.Username, _, _ = strings.Cut(cl.Email, "@")
	}
	if c.cfg.GroupsClaim != "" {
		cl.Groups = stringList(all[c.cfg.GroupsClaim])
	}
	if c.cfg.AdminGroup != "" {
		claim := c.cfg.GroupsClaim
		if claim == "" {
			claim = "groups"
		}
		admin := slices.ContainsFunc(stringList(all[claim]), func(g string) bool {
			return strings.TrimPrefix(g, "/") == c.cfg.AdminGroup
		})
		cl.Admin = &admin
	}
	return cl
}

// stringList reads a claim that is a list of strings, one string, or a
// string of names separated by spaces or commas (providers differ). A
// missing claim is nil; a present but empty one is an empty list.
func stringList(raw json.RawMessage) []string {
	if raw == nil {
		return nil
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err == nil {
		out := []string{}
		for _, x := range list {
			if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	}
	return nil
}
