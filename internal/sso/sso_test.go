package sso

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Issuer: "https://idp.example", ClientID: "agora"}, true},
		{Config{Issuer: "http://127.0.0.1:5556/dex", ClientID: "agora"}, true},
		{Config{Issuer: "https://idp.example"}, false},
		{Config{ClientID: "agora"}, false},
		{Config{Issuer: "idp.example", ClientID: "agora"}, false},
	} {
		if _, err := New(tc.cfg); (err == nil) != tc.ok {
			t.Errorf("New(%+v) = %v, want ok %v", tc.cfg, err, tc.ok)
		}
	}
}

func TestClaims(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		cfg    Config
		claims string
		want   Claims
	}{
		{"profile", Config{}, `{"preferred_username":" carol ","email":"c@example.org","email_verified":true,"name":"Carol C"}`,
			Claims{Username: "carol", Email: "c@example.org", EmailVerified: true, Name: "Carol C"}},
		{"email as name", Config{}, `{"email":"dave@example.org","email_verified":"true"}`,
			Claims{Username: "dave", Email: "dave@example.org", EmailVerified: true}},
		{"groups list", Config{GroupsClaim: "groups"}, `{"groups":["acme","lab:write",""," x "]}`,
			Claims{Groups: []string{"acme", "lab:write", "x"}}},
		{"groups string", Config{GroupsClaim: "roles"}, `{"roles":"acme, lab:admin"}`,
			Claims{Groups: []string{"acme", "lab:admin"}}},
		{"groups absent", Config{GroupsClaim: "groups"}, `{}`, Claims{}},
		{"groups empty", Config{GroupsClaim: "groups"}, `{"groups":[]}`, Claims{Groups: []string{}}},
		{"groups not text", Config{GroupsClaim: "groups"}, `{"groups":42}`, Claims{}},
		{"admin in groups", Config{AdminGroup: "hub-admins"}, `{"groups":["/hub-admins"]}`, Claims{Admin: &yes}},
		{"admin in org claim", Config{GroupsClaim: "orgs", AdminGroup: "ops"}, `{"orgs":["ops"],"groups":["x"]}`,
			Claims{Groups: []string{"ops"}, Admin: &yes}},
		{"not admin", Config{AdminGroup: "ops"}, `{"groups":["dev"]}`, Claims{Admin: &no}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{Issuer: "https://idp", ClientID: "x", GroupsClaim: tc.cfg.GroupsClaim, AdminGroup: tc.cfg.AdminGroup})
			if err != nil {
				t.Fatal(err)
			}
			var all map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.claims), &all); err != nil {
				t.Fatal(err)
			}
			got := c.claims("https://idp", "sub", all)
			tc.want.Issuer, tc.want.Subject = "https://idp", "sub"
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFinishChecksState: an answer that does not carry the browser's own
// state is refused before anything is sent to the provider (whose
// address here would not answer).
func TestFinishChecksState(t *testing.T) {
	c, err := New(Config{Issuer: "http://127.0.0.1:1", ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ state, code string }{{"other", "code"}, {"", "code"}, {"s", ""}} {
		_, err := c.Finish(t.Context(), "http://hub/cb", tc.state, tc.code, Flow{State: "s", Nonce: "n", Verifier: "v"})
		if !errors.Is(err, ErrRejected) {
			t.Errorf("Finish(state %q, code %q) = %v, want ErrRejected", tc.state, tc.code, err)
		}
	}
	if _, err := c.Finish(t.Context(), "http://hub/cb", "s", "code", Flow{State: "s"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Finish with the provider down = %v, want ErrUnavailable", err)
	}
	// Discovery failures are remembered for a moment rather than
	// retried on every click.
	if _, _, err := c.Begin(t.Context(), "http://hub/cb"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Begin with the provider down = %v", err)
	}
}
