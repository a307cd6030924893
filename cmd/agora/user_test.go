package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestAccountCommandsTakeFlagsAnywhere: the account commands take their
// names before, between or after the flags, as operators type them
// ("agora user add --data DIR carol --admin"), and refuse a missing or
// extra name.
func TestAccountCommandsTakeFlagsAnywhere(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
		out  string // in the output when ok
	}{
		{"user: name first", []string{"user", "add", "alice", "--data", data}, true, "created user alice (admin: false)"},
		{"user: flags first", []string{"user", "add", "--data", data, "carol", "--admin"}, true, "created user carol (admin: true)"},
		{"user: no name", []string{"user", "add", "--data", data, "--admin"}, false, ""},
		{"user: two names", []string{"user", "add", "--data", data, "dave", "erin"}, false, ""},
		{"token: flags around the name", []string{"token", "add", "--data", data, "alice", "--read", "--name", "ci"}, true, `read token "ci" for alice`},
		{"token revoke: flags first", []string{"token", "revoke", "--data", data, "alice", "ci"}, true, ""},
		{"token revoke: one name", []string{"token", "revoke", "alice", "--data", data}, false, ""},
		{"org: flags first", []string{"org", "add", "--data", data, "acme", "--owner", "alice"}, true, ""},
		{"org member: flags between", []string{"org", "member", "acme", "--data", data, "carol", "--role", "read"}, true, ""},
		{"org member: no user", []string{"org", "member", "--data", data, "acme", "--role", "read"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			run := map[string]func() error{
				"user":  func() error { return cmdUser(t.Context(), tc.args[1:], &out, &errOut) },
				"token": func() error { return cmdToken(t.Context(), tc.args[1:], &out, &errOut) },
				"org":   func() error { return cmdOrg(t.Context(), tc.args[1:], &out, &errOut) },
			}[tc.args[0]]
			err := run()
			if (err == nil) != tc.ok {
				t.Fatalf("agora %s: %v (stderr %q), want ok=%v", strings.Join(tc.args, " "), err, errOut.String(), tc.ok)
			}
			if tc.ok && !strings.Contains(out.String(), tc.out) {
				t.Fatalf("output %q lacks %q", out.String(), tc.out)
			}
		})
	}
}
