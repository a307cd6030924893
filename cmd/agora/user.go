package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/agorahub/agora/internal/auth"
	"github.com/agorahub/agora/internal/hub"
	"github.com/agorahub/agora/internal/meta"
)

func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: agora user add NAME [--admin] [--email E] [--password P] [--data DIR]")
		return errUsage
	}
	f := newFlags("user add", stderr)
	st := addStoreFlags(f)
	admin := f.bool("admin", false, "make the user an administrator")
	email := f.string("email", "", "e-mail address (used in commit authorship)")
	fullName := f.string("fullname", "", "display name")
	password := f.string("password", "", "password for web sign-in (default: none, tokens only)")
	pos, err := parseInterleaved(f, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one user NAME, got %d arguments %q", len(pos), pos)
	}
	name := pos[0]
	if !hub.ValidNamespace(name) {
		return fmt.Errorf("invalid user name %q: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit, not a reserved word", name)
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	u := &meta.User{Name: name, IsAdmin: *admin, Email: *email, FullName: *fullName}
	if *password != "" {
		if u.PasswordHash, err = auth.HashPassword(*password); err != nil {
			return err
		}
	}
	secret := auth.NewTokenSecret()
	err = ms.InTx(ctx, func(tx meta.Tx) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &meta.Token{UserID: u.ID, Name: "default", Hash: auth.HashToken(secret), Role: meta.RoleWrite})
	})
	if errors.Is(err, meta.ErrConflict) {
		return fmt.Errorf("a user named %q already exists", name)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (admin: %v); write token:\n%s\n", u.Name, u.IsAdmin, string(secret))
	return nil
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: agora token add USER [--read] [--name N] [--expires DURATION] [--scope ENTITY=PERM[,PERM…]]… [--gated] [--data DIR]\n" +
		"       agora token revoke USER NAME [--data DIR]\n" +
		"ENTITY is user:NAME, org:NAME, model:NS/NAME or dataset:NS/NAME; PERM is repo.content.read, repo.access.read,\n" +
		"repo.write, org.read or org.write. A token with --scope is fine-grained."
	if len(args) == 0 || args[0] != "add" && args[0] != "revoke" {
		fmt.Fprintln(stderr, use)
		return errUsage
	}
	if args[0] == "revoke" {
		return cmdTokenRevoke(ctx, args[1:], stdout, stderr)
	}
	f := newFlags("token add", stderr)
	st := addStoreFlags(f)
	read := f.FlagSet.Bool("read", false, "read-only token")
	tokName := f.FlagSet.String("name", "", "token name (shown by whoami; default cli, cli-2, …)")
	expires := f.FlagSet.String("expires", "", "lifetime, e.g. 90d, 12h (default: never)")
	gated := f.FlagSet.Bool("gated", false, "fine-grained: read public gated repositories the user was granted")
	var scopes multiFlag
	f.FlagSet.Var(&scopes, "scope", "fine-grained scope ENTITY=PERM[,PERM…] (repeatable)")
	pos, err := parseInterleaved(f, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("want one user NAME, got %d arguments %q", len(pos), pos)
	}
	name := pos[0]
	spec := hub.TokenSpec{Name: *tokName, Role: meta.RoleWrite, CanReadGatedRepos: *gated}
	if *read {
		spec.Role = meta.RoleRead
	}
	if len(scopes) > 0 {
		if *read {
			return fmt.Errorf("--read and --scope exclude each other: a scoped token has exactly its scopes")
		}
		spec.Role = meta.RoleFineGrained
		for _, sc := range scopes {
			sp, err := hub.ParseScope(sc)
			if err != nil {
				return err
			}
			spec.Scopes = append(spec.Scopes, sp)
		}
	} else if *gated {
		return fmt.Errorf("--gated applies to fine-grained tokens (give --scope)")
	}
	if *expires != "" {
		d, err := parseLifetime(*expires)
		if err != nil {
			return err
		}
		spec.ExpiresIn = d
	}
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	u, err := ms.UserByName(ctx, name)
	if errors.Is(err, meta.ErrNotFound) || err == nil && u.IsOrg() {
		return fmt.Errorf("no user named %q", name)
	}
	if err != nil {
		return err
	}
	if spec.Name == "" {
		spec.Name = freeTokenName(ctx, ms, u.ID, "cli")
	}
	t, secret, err := hub.NewToken(ctx, ms, u, spec)
	if err != nil {
		return err
	}
	if err := ms.AddAudit(ctx, &meta.AuditEvent{Actor: "agora token add", Action: "token.create", Namespace: u.Name, Target: t.Name,
		Detail: fmt.Sprintf(`{"role":%q}`, t.Role)}); err != nil {
		return err
	}
	exp := "never expires"
	if !t.ExpiresAt.IsZero() {
		exp = "expires " + t.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "%s token %q for %s (%s):\n%s\n", t.Role, t.Name, u.Name, exp, string(secret))
	return nil
}

func cmdTokenRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newFlags("token revoke", stderr)
	st := addStoreFlags(f)
	pos, err := parseInterleaved(f, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("usage: agora token revoke USER NAME")
	}
	user, tokName := pos[0], pos[1]
	ms, err := openMeta(ctx, st.dbURL())
	if err != nil {
		return err
	}
	defer ms.Close()
	u, err := ms.UserByName(ctx, user)
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("no user named %q", user)
	}
	if err != nil {
		return err
	}
	n, err := ms.DeleteTokensNamed(ctx, u.ID, tokName)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s has no token named %q", u.Name, tokName)
	}
	if err := ms.AddAudit(ctx, &meta.AuditEvent{Actor: "agora token revoke", Action: "token.revoke", Namespace: u.Name, Target: tokName}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "revoked %s's token %q\n", u.Name, tokName)
	return nil
}

// freeTokenName returns base, or base-2, base-3… whichever u has no token
// named yet (token names are unique per user).
func freeTokenName(ctx context.Context, ms meta.Store, userID int64, base string) string {
	toks, err := ms.ListTokens(ctx, userID)
	if err != nil {
		return base
	}
	taken := map[string]bool{}
	for _, t := range toks {
		taken[t.Name] = true
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// parseLifetime reads a token lifetime: a Go duration, or whole days
// ("90d").
func parseLifetime(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 || n > 3650 {
			return 0, fmt.Errorf("invalid --expires %q: want e.g. 90d or 12h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("invalid --expires %q: want e.g. 90d or 12h", s)
	}
	return v, nil
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
